"""`honed train`, `honed plan`, `honed sweep` end to end on tiny-random, through the CLI entry point."""
from __future__ import annotations

import importlib.util
import json
import sys

import pytest

from honed.cli import main
from honed.core.rundir import read_metrics


def test_help_lists_the_training_verbs(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert all(verb in out for verb in ("train", "plan", "sweep"))
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = capsys.readouterr().out
    assert "--resume" in out and "--gpus" in out and "zero3" in out


def test_train_writes_a_self_describing_run(tiny_project, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", str(tiny_project), "-o", str(out), "train.max_steps=3", "train.eval_every=3"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == str(out)
    for name in ("config.yaml", "meta.json", "metrics.jsonl", "adapter/adapter_config.json", "data/train.jsonl"):
        assert (out / name).is_file(), name
    meta = json.loads((out / "meta.json").read_text())
    assert meta["status"] == "finished" and meta["objective"] == "sft" and meta["method"] == "lora"
    assert 0 < meta["trainable_params"] < meta["total_params"]
    rows = read_metrics(out)
    assert [r["step"] for r in rows if "loss" in r] == [1, 2, 3]
    assert any("eval_perplexity" in r for r in rows) and any("num_input_tokens_seen" in r for r in rows)


def test_resume_without_checkpoint_is_a_clear_error(tiny_project, tmp_path, capsys):
    (tmp_path / "run").mkdir()
    assert main(["train", str(tiny_project), "--resume", str(tmp_path / "run")]) == 2
    assert "not a run directory" in capsys.readouterr().err


@pytest.mark.parametrize("tracker", ["tensorboard", "mlflow", "wandb"])
def test_trackers_are_optional_and_imported_only_when_asked(tracker, tiny_project, tmp_path, capsys):
    if importlib.util.find_spec(tracker) is not None:
        pytest.skip(f"{tracker} is installed here")
    code = main(["train", str(tiny_project), "-o", str(tmp_path / "r"), f"train.report_to=[{tracker}]"])
    assert code == 2 and f"pip install {tracker}" in capsys.readouterr().err
    assert tracker not in sys.modules


def test_plan_prints_a_table_and_a_recommendation(tiny_project, capsys):
    assert main(["plan", str(tiny_project), "model.base=llama-3.1-8b", "model.dtype=bfloat16", "model.max_length=512",
                 "train.batch_size=1", "method.dropout=0", "method.r=16", "--gpu-memory", "24"]) == 0
    out = capsys.readouterr()
    text = out.out + out.err
    assert "qlora" in text and "peak GB" in text
    assert "llama-3.1-8b full needs ~64 GB; LoRA ~20; QLoRA ~10; on 24 GB use LoRA." in out.out
    assert main(["plan", str(tiny_project), "model.base=mixtral-8x7b", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert [m["method"] for m in plan["methods"]] == ["full", "lora", "qlora"]


@pytest.mark.slow
def test_sweep_records_trials_and_writes_the_best_config(tiny_project, tmp_path, capsys):
    from honed.core.config import load_config
    from honed.core.store import Store

    out = tmp_path / "sweep"
    assert main(["sweep", str(tiny_project), "-o", str(out), "--trials", "2", "train.max_steps=2",
                 "train.sweep_r=[2,4]", "train.sweep_epochs=[1,2]"]) == 0
    trials = [json.loads(line) for line in (out / "trials.jsonl").read_text().splitlines()]
    assert len(trials) == 2 and all(t["eval_loss"] > 0 for t in trials)
    best = min(trials, key=lambda t: t["eval_loss"])
    cfg = load_config(out / "best.yaml")
    assert cfg.train.learning_rate == pytest.approx(best["params"]["learning_rate"])
    assert cfg.method.r == best["params"]["r"] and (out / "trial-1" / "metrics.jsonl").is_file()
    with Store() as store:
        kinds = [row["kind"] for row in store.runs(limit=50)]
    assert kinds.count("sweep-trial") >= 2
