"""A run directory belongs to one run; a finished run is not resumed; a corrupt checkpoint is named; a run that
stops early is marked interrupted or failed in the store, never left `running` (issue 11, items 3–5)."""
from __future__ import annotations

import json
import shutil

import pytest

from honed.cli import main
from honed.core.rundir import read_metrics
from honed.core.store import Store

QUICK = ["train.max_steps=4", "train.save_every=2"]


def run_status(run_dir) -> str:
    run_id = json.loads((run_dir / "meta.json").read_text())["run_id"]
    with Store() as store:
        return store.run(run_id)["status"]


def mark_unfinished(run_dir, drop_last_checkpoint: bool = True) -> None:
    meta = json.loads((run_dir / "meta.json").read_text())
    meta["status"] = "running"
    (run_dir / "meta.json").write_text(json.dumps(meta))
    if drop_last_checkpoint:
        shutil.rmtree(run_dir / "checkpoints" / "checkpoint-4")


def test_a_non_empty_output_is_refused_unless_overwrite(tiny_project, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", str(tiny_project), "-o", str(out), *QUICK]) == 0
    first = read_metrics(out)
    assert main(["train", str(tiny_project), "-o", str(out), *QUICK]) == 2
    assert "already holds files" in capsys.readouterr().err
    assert read_metrics(out) == first, "a refused run must not touch the old one"
    assert main(["train", str(tiny_project), "-o", str(out), "--overwrite", *QUICK]) == 0
    steps = [r["step"] for r in read_metrics(out) if "loss" in r]
    assert steps == [1, 2, 3, 4], "the new run's metrics only, never appended to the old ones"


def test_resuming_a_finished_run_changes_nothing(tiny_project, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", str(tiny_project), "-o", str(out), *QUICK]) == 0
    before = (out / "metrics.jsonl").read_text()
    capsys.readouterr()
    assert main(["train", str(tiny_project), "--resume", str(out)]) == 0
    assert "is finished" in capsys.readouterr().err
    assert (out / "metrics.jsonl").read_text() == before


def test_a_corrupt_checkpoint_is_named_with_the_previous_good_one(tiny_project, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", str(tiny_project), "-o", str(out), *QUICK]) == 0
    mark_unfinished(out, drop_last_checkpoint=False)
    weights = next((out / "checkpoints" / "checkpoint-4").glob("*.safetensors"))
    weights.write_bytes(weights.read_bytes()[:100])  # truncated, as by a full disk
    assert main(["train", str(tiny_project), "--resume", str(out)]) == 2
    err = capsys.readouterr().err
    assert "error: checkpoint" in err and "checkpoint-4 is corrupt" in err and "checkpoint-2" in err


def test_a_run_made_by_honed_run_can_be_resumed(tiny_project, tmp_path):
    out = tmp_path / "flow"
    assert main(["run", str(tiny_project), "-o", str(out), *QUICK, "evaluation.probes=false",
                 "evaluation.max_test_examples=4", "evaluation.latency_samples=0"]) == 0
    mark_unfinished(out / "run")
    assert main(["train", str(tiny_project), "--resume", str(out / "run")]) == 0
    assert run_status(out / "run") == "finished"


@pytest.mark.parametrize("error, status", [(KeyboardInterrupt, "interrupted"), (RuntimeError, "failed")])
def test_a_run_that_stops_early_is_never_left_running(tiny_project, tmp_path, monkeypatch, error, status):
    def boom(*args, **kwargs):
        raise error("stopped in the middle")

    monkeypatch.setattr("honed.train.sft.train_sft", boom)
    out = tmp_path / "run"
    if error is KeyboardInterrupt:
        assert main(["train", str(tiny_project), "-o", str(out), *QUICK]) == 130
    else:
        with pytest.raises(RuntimeError):
            main(["train", str(tiny_project), "-o", str(out), *QUICK])
    assert run_status(out) == status
    meta = json.loads((out / "meta.json").read_text())
    assert meta["status"] == status and meta["reason"]
