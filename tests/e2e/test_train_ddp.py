"""`honed train --gpus 2` on CPU (accelerate launch, gloo) equals one process with the same global batch."""
from __future__ import annotations

import subprocess
import sys

import pytest

from honed.core.rundir import read_metrics

pytestmark = pytest.mark.slow
COMMON = ["train.max_steps=3", "method.dropout=0", "train.eval_every=3"]


def losses(run) -> list[float]:
    return [r["loss"] for r in read_metrics(run) if "loss" in r]


def test_two_process_ddp_matches_one_process(tiny_project, tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    honed = [sys.executable, "-m", "honed", "train", str(tiny_project)]
    subprocess.run([*honed, "-o", str(one), "train.batch_size=4", *COMMON], check=True, capture_output=True,
                   timeout=300)
    done = subprocess.run([*honed, "--gpus", "2", "-o", str(two), "train.batch_size=2", *COMMON],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "launching 2 processes (ddp)" in done.stderr
    assert '"world_size": 2' in (two / "meta.json").read_text()
    single, ddp = losses(one), losses(two)
    assert len(single) == len(ddp) == 3
    assert ddp == pytest.approx(single, rel=1e-5)
    # Validation loss is a mean of per-batch means, and the validation rows batch differently over 2 processes
    # (2 per batch) than over one (4 per batch): close, not identical.
    assert [r["eval_loss"] for r in read_metrics(two) if "eval_loss" in r] == pytest.approx(
        [r["eval_loss"] for r in read_metrics(one) if "eval_loss" in r], rel=1e-3)
