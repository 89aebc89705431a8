"""The quickstart on the embedded SmolLM2-135M, kept short: real model, real template, real flow."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from honed.cli import main

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "support-tickets" / "honed.yaml"


@pytest.mark.slow
def test_quickstart_on_the_embedded_model(tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["run", str(EXAMPLE), "--output", str(out), "train.max_train_examples=64",
                 "evaluation.max_test_examples=24", "evaluation.few_shot_k=3", "evaluation.label_scoring=false",
                 "train.balance_labels=false"])  # 64 rows of 12 skewed queues would be oversampled: keep 8 steps
    assert code == 0
    printed = capsys.readouterr().out.strip().splitlines()
    assert printed[-1] == str(out / "report.json")  # the report path is printed last
    report = json.loads((out / "report.json").read_text())
    assert set(report["candidates"]) == {"zero_shot", "few_shot", "classical", "fine_tuned"}
    assert report["n_test"] == 24 and report["base_model"] == "smollm2-135m-instruct"
    losses = [loss for _, loss in report["training"]["train_loss"]]
    assert len(losses) == 8 and min(losses[-3:]) < losses[0]
    # A real instruct model fine-tuned on routing answers with queue names, not free text.
    assert report["details"]["fine_tuned"]["by_decoding"]["greedy"]["unparsed_rate"] < 0.5
