"""Real data: a subsampled banking77 run reports all three candidates with confidence intervals and deltas."""
from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pytest

from honed.cli import main

BANKING = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "banking77"  # as conftest.SHARED
pytestmark = [pytest.mark.slow, pytest.mark.skipif(not (BANKING / "train.csv").is_file(),
                                                   reason="shared/datasets/banking77 not present")]


def subsample(path, per_label: int, n_labels: int, seed: int = 0) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    labels = sorted({r["category"] for r in rows})[:n_labels]
    rng = random.Random(seed)
    chosen = []
    for label in labels:
        chosen += rng.sample([r for r in rows if r["category"] == label], per_label)
    rng.shuffle(chosen)
    return [{"text": r["text"], "label": r["category"]} for r in chosen]




def test_banking77_subsample_reports_three_candidates_with_cis(tmp_path, one_thread):
    rows = subsample(BANKING / "train.csv", per_label=15, n_labels=4)  # 60 rows, 4 intents
    (tmp_path / "data.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "honed.yaml").write_text("""\
project: banking77-sample
objective: {task: classification, metric: f1_macro, target: 0.5}
data: {train: [data.jsonl], instruction: "Classify the banking intent.", split: {train: 0.6, validation: 0.1, test: 0.3}}
model: {base: tiny-random, max_length: 96}
method: {kind: lora, r: 4, alpha: 8, dropout: 0.0}
train: {epochs: 1, learning_rate: 0.005, batch_size: 8, seed: 3}
evaluation: {few_shot_k: 2, max_new_tokens: 4, batch_size: 8, bootstrap_samples: 300, latency_samples: 2}
""")
    out = tmp_path / "out"
    assert main(["run", str(tmp_path / "honed.yaml"), "--output", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["primary_metric"] == "f1_macro" and report["n_test"] >= 12
    assert set(report["candidates"]) == {"zero_shot", "few_shot", "classical", "fine_tuned"}
    for name, values in report["candidates"].items():
        lo, hi = report["confidence_intervals"][name]["f1_macro"]
        assert 0 <= lo <= hi <= 1 and 0 <= values["f1_macro"] <= 1
        assert report["details"][name]["decoding"] in ("greedy", "label_scoring", "tfidf_svm")  # tfidf_svm: classical
    for baseline in ("zero_shot", "few_shot"):
        comparison = report["comparisons"][f"fine_tuned_vs_{baseline}"]["f1_macro"]
        assert 0 < comparison["p_value"] <= 1 and comparison["ci"][0] <= comparison["ci"][1]
    assert report["probes"]["forgetting"]["before"]["n_instructions"] > 0
    assert report["efficiency"]["candidates"]["fine_tuned"]["latency_samples"] == 2
    assert (out / "report.html").stat().st_size > 10_000
    # `honed eval --run` re-evaluates the saved adapter (data found beside run/) with the same numbers
    assert main(["eval", str(tmp_path / "honed.yaml"), "--run", str(out / "run"), "--output", str(out / "eval")]) == 0
    again = json.loads((out / "eval" / "report.json").read_text())
    assert set(again["candidates"]) == set(report["candidates"])
    assert again["candidates"]["zero_shot"] == pytest.approx(report["candidates"]["zero_shot"], rel=1e-4)
    assert again["candidates"]["fine_tuned"]["f1_macro"] == pytest.approx(report["candidates"]["fine_tuned"]["f1_macro"],
                                                                         abs=1e-6)
    # the gate reads the same report: against itself nothing regresses; the objective decides the exit code
    code = main(["gate", str(out), "--against", str(out)])
    assert code == (0 if report["candidates"]["fine_tuned"]["f1_macro"] >= 0.5 else 1)
