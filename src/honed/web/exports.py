"""Votes and ratings as training data (preference pairs, SFT rows) and as Label Studio tasks.

Preference pairs use the explicit prompt/chosen/rejected shape and SFT rows the chat `messages` shape, both read
by `honed data check` and `honed data prepare`. What a review teaches is decided in `honed.monitor.reviews`, which
`honed retrain` uses too, so the files and the retrain agree.
"""
from __future__ import annotations

import json
from pathlib import Path

from honed.core.errors import HonedError
from honed.core.store import Store
from honed.monitor import reviews


def preference_pairs(votes: list, ratings: list = ()) -> list[dict]:
    """A decisive vote → (winner, loser); a correction beats every answer it replaced (honed.monitor.reviews)."""
    return reviews.preference_rows(reviews.reviews(votes, ratings))


def sft_rows(votes: list, ratings: list) -> list[dict]:
    """Corrections (from votes and expert ratings) and answers an expert rated correct with 4 or 5."""
    return reviews.sft_rows(reviews.reviews(votes, ratings))


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    from honed.core.io import atomic_write_text

    atomic_write_text(Path(path), "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return Path(path)


def label_studio_tasks(store: Store) -> list[dict]:
    """Every battle as a Label Studio task (pairwise template: data.prompt/answer_a/answer_b), with its votes as
    annotations whose `pairwise` result names the chosen side."""
    by_battle: dict[int, list] = {}
    for v in store.votes():
        by_battle.setdefault(v["battle_id"], []).append(v)
    tasks = []
    for b in store.battles():
        annotations = [_annotation(b, v) for v in by_battle.get(b["id"], []) if v["winner"]]
        tasks.append({"id": b["id"], "data": {"prompt": b["prompt"], "answer_a": b["answer_a"],
                                              "answer_b": b["answer_b"], "model_a": b["model_a"],
                                              "model_b": b["model_b"]},
                      "annotations": annotations})
    return tasks


def _annotation(battle, vote) -> dict:
    chosen = "left" if vote["winner"] == battle["model_a"] else "right"  # Label Studio: left = answer_a
    return {"completed_by": vote["reviewer"],
            "result": [{"from_name": "pairwise", "to_name": ["answer_a", "answer_b"], "type": "pairwise",
                        "value": {"selected": chosen}}]}


def import_label_studio(store: Store, path: Path, seed: int = 0) -> int:
    """Tasks exported from Label Studio (the pairwise template above) become battles; returns how many."""
    try:
        tasks = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise HonedError(f"{path} is not JSON ({err.msg})", "export the project from Label Studio as JSON") from None
    count = 0
    for task in tasks if isinstance(tasks, list) else []:
        data = task.get("data") or {}
        if not all(isinstance(data.get(k), str) for k in ("prompt", "answer_a", "answer_b")):
            raise HonedError(f"{path}: task {task.get('id')} lacks data.prompt/answer_a/answer_b",
                             "use the pairwise template: prompt, answer_a, answer_b (model_a/model_b optional)")
        store.add_battle(data["prompt"], data.get("model_a", "a"), data["answer_a"], data.get("model_b", "b"),
                         data["answer_b"], seed=seed, source=f"label-studio:{path}")
        count += 1
    return count
