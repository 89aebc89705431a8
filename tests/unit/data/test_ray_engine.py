"""The Ray Data engine and the local engine agree row for row: the same splits, the same dropped.jsonl (reasons
and order), the same audit counts — on two files with exact and near duplicates, near-duplicate groups, PII,
unreadable rows, an unknown label and a test file that contaminates training. A local Ray cluster, 2 workers."""
from __future__ import annotations

import json
import random

import pytest

ray = pytest.importorskip("ray", reason="ray is not installed (pip install 'honed[scale]')")
pytest.importorskip("ray.data")

from honed.core.config import validate_config
from honed.core.prepared import read_jsonl
from honed.data.prepare import run_prepare

LABELS = ("billing", "shipping", "login")
pytestmark = pytest.mark.slow  # ~80 s on the shared 2-core VM, most of it Ray start-up and shuffles


@pytest.fixture(scope="module")
def two_workers():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    yield
    ray.shutdown()


def _rows(rng: random.Random, n: int, prefix: str) -> list[dict]:
    vocab = [f"{prefix}{k}" for k in range(400)]
    rows = []
    for i in range(n):
        label = LABELS[i % 3]
        rows.append({"text": f"Ticket {prefix}{i} about {label}: " + " ".join(rng.choice(vocab) for _ in range(14)),
                     "label": label})
    return rows


def _project(tmp_path) -> object:
    rng = random.Random(7)
    first, second = _rows(rng, 150, "a"), _rows(rng, 120, "b")
    first[3]["text"] += " mail me at ann@example.com or call +1 415 555 0199"
    second[5]["text"] += " card 4111 1111 1111 1111"
    first += [dict(first[10]), {**first[11], "text": "  " + first[11]["text"].upper()}]  # exact duplicates
    first.append({**first[20], "text": first[20]["text"] + " thanks"})  # near duplicate (dropped)
    words = first[30]["text"].split()
    first.append({**first[30], "text": " ".join(words[:-4] + ["x1", "x2", "x3", "x4"])})  # kept, but grouped
    first.append({"text": "   ", "label": "billing"})  # empty after cleaning
    second.append({"text": "about the weather today", "label": "weather"})  # label not in the set
    second.append({**first[40]})  # exact duplicate across files
    test_rows = [second[60], {**first[50], "text": first[50]["text"] + " please"}]  # contaminate training
    for name, rows in (("a.jsonl", first), ("b.jsonl", second), ("test.jsonl", test_rows)):
        (tmp_path / name).write_text("".join(json.dumps(r) + "\n" for r in rows))
    with (tmp_path / "a.jsonl").open("a") as f:
        f.write("{broken\n")
    raw = {"project": "t", "objective": {"task": "classification", "labels": list(LABELS)},
           "data": {"train": ["a.jsonl", "b.jsonl"], "test": "test.jsonl", "audit_tokens": False,
                    "unknown_labels": "drop"}}
    return validate_config(raw, root=tmp_path)


def _outputs(directory) -> dict:
    audit = json.loads((directory / "audit.json").read_text())
    return {"files": {n: read_jsonl(directory / f"{n}.jsonl") for n in ("train", "validation", "test", "dropped")},
            "hash": json.loads((directory / "dataset.json").read_text())["hash"],
            "counts": {s["step"]: s["rows"] for s in audit["steps"]},
            "duplicates": audit["duplicates"], "pii": audit["pii"], "contamination": audit.get("contamination")}


def test_ray_and_local_give_identical_splits_and_drops(tmp_path, two_workers):
    cfg = _project(tmp_path)
    run_prepare(cfg, tmp_path / "local", engine="local")
    run_prepare(cfg, tmp_path / "ray", engine="ray")
    local, on_ray = _outputs(tmp_path / "local"), _outputs(tmp_path / "ray")
    reasons = {d["reason"].split(":")[0] for d in local["files"]["dropped"]}
    # The fixture exercises every kind of drop, and dedup found groups, PII and contamination.
    assert {"not_json", "empty", "label_not_in_set", "exact_duplicate", "near_duplicate",
            "contamination"} <= reasons, reasons
    assert local["duplicates"]["groups"] >= 1 and local["pii"] and local["contamination"]["dropped"] >= 1
    for name in ("train", "validation", "test", "dropped"):
        assert on_ray["files"][name] == local["files"][name], name
    assert on_ray["hash"] == local["hash"]
    assert on_ray["counts"] == local["counts"]
    assert on_ray["duplicates"] == local["duplicates"] and on_ray["pii"] == local["pii"]
    assert on_ray["contamination"] == local["contamination"]
