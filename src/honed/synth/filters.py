"""Cheap checks a synthetic input must pass before it can join the training data.

Length: within half the shortest and twice the longest seed input (in characters).
Language: a script heuristic, not a language model. Over the letters of a text we take the share that are ASCII
(Latin without accents) and the share of letters among non-space characters. A synthetic input is kept when its
ASCII-letter share is within 0.3 of the seeds' mean and at least half its non-space characters are letters. It
catches a teacher answering in another script, code, markup or symbol soup; it cannot tell English from German.
"""
from __future__ import annotations

from dataclasses import dataclass

ASCII_TOLERANCE = 0.3
MIN_LETTER_SHARE = 0.5


@dataclass
class SeedProfile:
    min_chars: int
    max_chars: int
    ascii_share: float

    @classmethod
    def of(cls, texts: list[str]) -> SeedProfile:
        lengths = [len(t) for t in texts] or [1]
        shares = [ascii_letter_share(t) for t in texts] or [1.0]
        return cls(min(lengths), max(lengths), sum(shares) / len(shares))


def ascii_letter_share(text: str) -> float:
    letters = [c for c in text if c.isalpha()]
    return sum(c.isascii() for c in letters) / len(letters) if letters else 0.0


def letter_share(text: str) -> float:
    visible = [c for c in text if not c.isspace()]
    return sum(c.isalpha() for c in visible) / len(visible) if visible else 0.0


def problem_with(text: str, profile: SeedProfile) -> str | None:
    """Why `text` is not a usable input (a drop code), or None."""
    if not text.strip():
        return "empty"
    if not profile.min_chars // 2 <= len(text) <= 2 * profile.max_chars:
        return "length"
    if letter_share(text) < MIN_LETTER_SHARE or abs(ascii_letter_share(text) - profile.ascii_share) > ASCII_TOLERANCE:
        return "language"
    return None
