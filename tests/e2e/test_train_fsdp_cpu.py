"""`honed train --gpus 2 --strategy fsdp` on CPU: torch FSDP2 over gloo in honed's own loop (honed.train.fsdp_cpu)
trains what one process of the Trainer path trains with the same global batch, really sharded, and saves a model
honed can load."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from projectkit import tiny_config_text, write_ticket_rows

from honed.core.rundir import read_metrics

pytestmark = pytest.mark.slow
COMMON = ["train.max_steps=3", "method.dropout=0", "train.eval_every=3"]


def train(config: Path, output: Path, *extra: str) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "honed", "train", str(config), "-o", str(output), *extra],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


@pytest.fixture(scope="module")
def runs(tmp_path_factory, honed_home):
    """One project (the `tiny_project` rows and config), trained by one Trainer-path process with batch 4 and by
    two FSDP processes with batch 2 each: three steps, no dropout."""
    root = tmp_path_factory.mktemp("fsdp")
    write_ticket_rows(root / "data.jsonl")
    (root / "honed.yaml").write_text(tiny_config_text(), encoding="utf-8")
    one, two = root / "one", root / "two"
    train(root / "honed.yaml", one, "train.batch_size=4", *COMMON)
    launched = train(root / "honed.yaml", two, "--gpus", "2", "--strategy", "fsdp", "train.batch_size=2", *COMMON)
    return {"config": root / "honed.yaml", "one": one, "two": two, "stderr": launched.stderr}


def figures(run: Path, key: str) -> list[float]:
    return [r[key] for r in read_metrics(run) if "loss" in r]


def losses(run: Path) -> list[float]:
    return figures(run, "loss")


def test_two_fsdp_processes_match_one_trainer_process(runs):
    assert "launching 2 processes (fsdp2 on CPU, gloo)" in runs["stderr"]
    meta = json.loads((runs["two"] / "meta.json").read_text())
    assert (meta["world_size"], meta["strategy"], meta["status"]) == (2, "fsdp2-cpu", "finished")
    single, fsdp = losses(runs["one"]), losses(runs["two"])
    assert len(single) == len(fsdp) == 3
    assert fsdp == pytest.approx(single, rel=1e-4)
    # Adam hides a uniformly scaled gradient from the losses; the gradient norm shows it (the global count
    # normalisation and FSDP's averaging over ranks must cancel). The schedule is the Trainer's: warmup from 0 on
    # step 1, then cosine decay.
    for key in ("grad_norm", "learning_rate"):
        assert figures(runs["two"], key) == pytest.approx(figures(runs["one"], key), rel=1e-4)
    assert [r["step"] for r in read_metrics(runs["two"]) if "eval_loss" in r] == [3]


def test_each_rank_holds_half_of_every_decoder_weight(runs):
    """The run records each rank's local DTensor shape of a layer-0 weight (gathered from both ranks)."""
    sharding = json.loads((runs["two"] / "meta.json").read_text())["sharding"]
    assert sharding["layer_class"] == "LlamaDecoderLayer" and sharding["units"] == 3  # 2 layers + the root
    rows, cols = sharding["full_shape"]
    assert sharding["local_shapes"] == [[rows // 2, cols], [rows // 2, cols]]


def test_saved_adapter_loads_and_equals_the_single_process_one(runs):
    """The adapter in the run directory loads the way `honed eval` loads it, and gives the logits of the
    one-process fine-tune (and not the base model's)."""
    import torch

    from honed.models.load import load_model, load_trained

    def logits(adapter: Path | None):
        base, tokenizer = load_model("tiny-random", seed=3)  # the config's train.seed, as training loaded it
        model = (load_trained(base, adapter) if adapter else base).eval()
        ids = tokenizer("Route the ticket: my card was charged twice", return_tensors="pt").input_ids
        with torch.no_grad():
            return model(ids).logits

    assert sorted(p.name for p in (runs["two"] / "adapter").iterdir()) == sorted(
        p.name for p in (runs["one"] / "adapter").iterdir())
    fsdp, single, base = logits(runs["two"] / "adapter"), logits(runs["one"] / "adapter"), logits(None)
    assert torch.allclose(fsdp, single, atol=1e-4)
    assert (fsdp - base).abs().max() > 1e-2  # training moved the model: the comparison above is not vacuous


def test_full_fine_tune_is_sharded_and_saved_whole(runs, tmp_path):
    """Full fine-tuning: every parameter sharded and trained; the saved model is the whole unsharded one."""
    full = ["method.kind=full", "train.learning_rate=0.001", "train.max_steps=2", "train.eval_every=2"]
    train(runs["config"], tmp_path / "one", "train.batch_size=4", *full)
    train(runs["config"], tmp_path / "two", "--gpus", "2", "--strategy", "fsdp", "train.batch_size=2", *full)
    assert losses(tmp_path / "two") == pytest.approx(losses(tmp_path / "one"), rel=1e-4)
    from safetensors.torch import load_file

    single = load_file(tmp_path / "one" / "adapter" / "model.safetensors")
    fsdp = load_file(tmp_path / "two" / "adapter" / "model.safetensors")
    assert sorted(fsdp) == sorted(single)
    assert all(fsdp[k].shape == single[k].shape and (fsdp[k] - single[k]).abs().max() < 1e-4 for k in single)


def test_honed_eval_reads_the_fsdp_run_like_a_trainer_run(runs, tmp_path):
    """`honed eval --run` on the FSDP run: the fine-tune's test perplexity is the one-process run's, and the
    report carries the FSDP run's training figures from meta.json."""
    reports = {}
    for name in ("one", "two"):
        done = subprocess.run([sys.executable, "-m", "honed", "eval", str(runs["config"]), "--run", str(runs[name]),
                               "-o", str(tmp_path / name)], capture_output=True, text=True, timeout=300, check=False)
        assert done.returncode == 0, done.stderr[-3000:]
        reports[name] = json.loads((tmp_path / name / "report.json").read_text())
    tuned = {name: report["candidates"]["fine_tuned"] for name, report in reports.items()}
    assert tuned["two"]["perplexity"] == pytest.approx(tuned["one"]["perplexity"], rel=1e-4)
    assert [loss for _, loss in reports["two"]["training"]["train_loss"]] == pytest.approx(losses(runs["two"]))
