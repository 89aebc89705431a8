"""`honed run` end to end on tiny-random: files written, LoRA weights changed, training loss fell."""
from __future__ import annotations

import json

import pytest

from honed.cli import main


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    from projectkit import tiny_config_text, write_ticket_rows

    root = tmp_path_factory.mktemp("project")
    write_ticket_rows(root / "data.jsonl", per_label=30)
    (root / "honed.yaml").write_text(tiny_config_text())
    out = root / "out"
    code = main(["run", str(root / "honed.yaml"), "--output", str(out), "train.epochs=3"])
    return code, out


def test_run_writes_the_report_and_run_directory(finished_run, capsys):
    code, out = finished_run
    assert code == 0
    for name in ("report.json", "report.html", "data/train.jsonl", "data/test.jsonl", "data/dropped.jsonl",
                 "run/config.yaml", "run/meta.json", "run/metrics.jsonl", "run/adapter/adapter_config.json"):
        assert (out / name).is_file(), name
    report = json.loads((out / "report.json").read_text())
    assert report["primary_metric"] == "accuracy"
    assert set(report["candidates"]) == {"zero_shot", "few_shot", "classical", "fine_tuned"}
    for values in report["candidates"].values():
        assert 0.0 <= values["accuracy"] <= 1.0
    assert isinstance(report["objective"]["passed"], bool)
    assert "<img" in (out / "report.html").read_text()
    meta = json.loads((out / "run" / "meta.json").read_text())
    assert meta["dataset_hash"] == report["dataset_hash"] and meta["versions"]["torch"]


def test_training_loss_fell(finished_run):
    _, out = finished_run
    losses = [json.loads(line)["loss"] for line in (out / "run" / "metrics.jsonl").read_text().splitlines()
              if "loss" in json.loads(line)]
    assert len(losses) >= 6
    first, last = sum(losses[:3]) / 3, sum(losses[-3:]) / 3
    assert last < first, (first, last)


def test_lora_weights_changed(finished_run):
    import torch
    from safetensors.torch import load_file

    _, out = finished_run
    weights = load_file(out / "run" / "adapter" / "adapter_model.safetensors")
    lora_b = [v for k, v in weights.items() if "lora_B" in k]
    assert lora_b, "no LoRA B matrices saved"
    # PEFT initialises every B to zero; after training they must have moved.
    assert all(torch.count_nonzero(v) > 0 for v in lora_b)


def test_run_is_recorded_in_the_store(finished_run):
    from honed.core.store import Store

    _, out = finished_run
    meta = json.loads((out / "run" / "meta.json").read_text())
    with Store() as store:
        row = store.run(meta["run_id"])
        assert row["status"] == "finished"
        assert store.metrics(meta["run_id"], "loss")


@pytest.mark.parametrize("setup, expected", [
    ("missing_data", "does not exist"),
    ("empty_data", "usable rows"),
    ("unknown_model", "unknown model reference"),
    ("label_outside_set", "label outside objective.labels"),
])
def test_bad_input_exit_2(tmp_path, capsys, setup, expected):
    from projectkit import tiny_config_text, write_ticket_rows

    (tmp_path / "honed.yaml").write_text(tiny_config_text())
    overrides = []
    if setup == "empty_data":
        (tmp_path / "data.jsonl").write_text("")
    elif setup == "label_outside_set":
        write_ticket_rows(tmp_path / "data.jsonl")
        with (tmp_path / "data.jsonl").open("a") as f:
            f.write('{"text": "is it sunny", "label": "weather"}\n')
    elif setup == "unknown_model":
        write_ticket_rows(tmp_path / "data.jsonl")
        overrides = ["model.base=no-such-model"]
    code = main(["run", str(tmp_path / "honed.yaml"), "--output", str(tmp_path / "out"), *overrides])
    err = capsys.readouterr().err
    assert code == 2 and expected in err and "Traceback" not in err
    assert not (tmp_path / "out" / "report.json").exists()
