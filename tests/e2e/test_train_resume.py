"""SIGKILL a `honed train` mid-run, `--resume` it, and land on the same final loss as an uninterrupted run."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from honed.core.rundir import read_metrics

pytestmark = pytest.mark.slow
STEPS = ["train.max_steps=10", "train.save_every=2", "train.eval_every=5", "train.batch_size=4",
         "method.dropout=0.1"]  # dropout makes the RNG state matter


def honed(*args: str) -> list[str]:
    return [sys.executable, "-m", "honed", *args]


def final_losses(run: Path) -> tuple[float, float]:
    rows = read_metrics(run)
    train = [r["loss"] for r in rows if "loss" in r]
    evals = [r["eval_loss"] for r in rows if "eval_loss" in r]
    return train[-1], evals[-1]


def test_sigkill_then_resume_matches_uninterrupted(tiny_project, tmp_path):
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    subprocess.run(honed("train", str(tiny_project), "-o", str(straight), *STEPS), check=True,
                   capture_output=True, timeout=300)
    process = subprocess.Popen(honed("train", str(tiny_project), "-o", str(killed), *STEPS),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while not (killed / "checkpoints" / "checkpoint-4" / "trainer_state.json").is_file():
        assert process.poll() is None, "the run ended before it could be killed"
        assert time.time() < deadline, "no checkpoint-4 appeared"
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert not (killed / "adapter").exists(), "the run finished before SIGKILL; nothing was interrupted"
    done = subprocess.run(honed("train", str(tiny_project), "--resume", str(killed)), capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "resuming" in done.stderr
    meta = json.loads((killed / "meta.json").read_text())
    assert meta["status"] == "finished" and meta["resumed"][0]["from"].startswith("checkpoint-")
    steps = [r["step"] for r in read_metrics(killed) if "loss" in r]
    assert steps == list(range(1, 11)), "every step logged once, none twice"
    expected, got = final_losses(straight), final_losses(killed)
    assert got == pytest.approx(expected, rel=1e-4, abs=1e-5)


def test_resumed_steps_are_stored_once(tmp_path, tiny_project):
    """The store, like metrics.jsonl, holds each step once after a resume (the first attempt's rows are dropped)."""
    from honed.cli import main
    from honed.core.store import Store

    run = tmp_path / "run"
    assert main(["train", str(tiny_project), "-o", str(run), "train.max_steps=4", "train.save_every=2"]) == 0
    meta = json.loads((run / "meta.json").read_text())
    meta["status"] = "running"  # pretend it died after its last checkpoint
    (run / "meta.json").write_text(json.dumps(meta))
    for name in ("checkpoint-4",):
        import shutil

        shutil.rmtree(run / "checkpoints" / name, ignore_errors=True)
    assert main(["train", str(tiny_project), "--resume", str(run)]) == 0
    with Store() as store:
        steps = [step for step, _ in store.metrics(meta["run_id"], "loss")]
    assert steps == [1, 2, 3, 4]
