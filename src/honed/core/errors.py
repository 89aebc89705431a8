"""Errors meant for humans: what went wrong and how to fix it.

The CLI prints a HonedError as one short paragraph and exits with its code (2 for usage errors); any other
exception is a bug and keeps its traceback.
"""
from __future__ import annotations

import difflib


class HonedError(Exception):
    """A problem the user can fix. `problem` says what is wrong, `fix` says what to do about it."""

    exit_code = 2

    def __init__(self, problem: str, fix: str = "", *, details: list[str] | None = None):
        self.problem = problem
        self.fix = fix
        self.details = details or []
        super().__init__(self.render())

    def render(self) -> str:
        lines = [f"error: {self.problem}"]
        lines += [f"  - {d}" for d in self.details]
        if self.fix:
            lines.append(f"fix: {self.fix}")
        return "\n".join(lines)


def did_you_mean(word: str, choices: list[str] | tuple[str, ...]) -> str:
    """' (did you mean `x`?)' when a close match exists, else ''."""
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean `{close[0]}`?)" if close else ""
