"""Blind A/B battles: import them, decide which answer sits on the left, and turn a vote into a complete row.

Sides are randomised per battle yet balanced: battles come in consecutive pairs (ids 2k, 2k+1) and one seeded coin
decides the pair, the two battles taking opposite sides, so any run of battles is within one of half-and-half.
"""
from __future__ import annotations

import json
import random
from pathlib import Path

from honed.core.errors import HonedError
from honed.core.store import Store

VOTES = ("left", "right", "tie", "both_bad")


def import_battles(store: Store, path: Path, seed: int = 0) -> int:
    """Read JSONL rows {"prompt", "answers": {model: text, model: text}}; returns how many were stored."""
    rows = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            rows.append(_battle_row(line, number, path))
    for prompt, (model_a, answer_a), (model_b, answer_b) in rows:
        store.add_battle(prompt, model_a, answer_a, model_b, answer_b, seed=seed, source=str(path))
    return len(rows)


def _battle_row(line: str, number: int, path: Path):
    fix = 'write one JSON object a line: {"prompt": "...", "answers": {"model-a": "...", "model-b": "..."}}'
    try:
        row = json.loads(line)
    except json.JSONDecodeError as err:
        raise HonedError(f"{path}:{number} is not JSON ({err.msg})", fix) from None
    answers = row.get("answers") if isinstance(row, dict) else None
    if not isinstance(row.get("prompt"), str) or not isinstance(answers, dict) or len(answers) != 2 \
            or not all(isinstance(a, str) for a in answers.values()):
        raise HonedError(f"{path}:{number} needs a string `prompt` and exactly two string `answers`", fix)
    return row["prompt"], *sorted(answers.items())


def left_is_a(battle) -> bool:
    """Whether model A is shown on the left: one seeded coin per pair of battles, opposite within the pair."""
    coin = random.Random(f"{battle['seed']}:{battle['id'] // 2}").random() < 0.5
    return coin != bool(battle["id"] % 2)


def sides(battle) -> tuple[tuple[str, str], tuple[str, str]]:
    """((left model, left answer), (right model, right answer))."""
    a, b = (battle["model_a"], battle["answer_a"]), (battle["model_b"], battle["answer_b"])
    return (a, b) if left_is_a(battle) else (b, a)


def vote_row(battle, reviewer: str, vote: str, correction: str = "", comment: str = "") -> dict:
    """The stored row of one vote: everything needed to read it later without the battle."""
    if vote not in VOTES:
        raise HonedError(f"unknown vote `{vote}`", f"vote one of: {', '.join(VOTES)}")
    (left_model, left_answer), (right_model, right_answer) = sides(battle)
    winner = {"left": left_model, "right": right_model}.get(vote)
    return {"battle_id": battle["id"], "reviewer": reviewer, "prompt": battle["prompt"], "left_model": left_model,
            "left_answer": left_answer, "right_model": right_model, "right_answer": right_answer, "vote": vote,
            "winner": winner, "correction": correction.strip() or None, "comment": comment.strip() or None}
