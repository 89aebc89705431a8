"""A run whose loss or gradients become NaN/inf stops with a clear error and is marked failed, never 'finished'."""
from __future__ import annotations

import json
import math
import sqlite3

from honed.cli import main
from honed.core.paths import honed_home
from honed.train.callbacks import non_finite


def test_non_finite_names_the_bad_values():
    found = non_finite({"loss": 1.0, "grad_norm": math.nan, "learning_rate": math.inf})
    assert list(found) == ["grad_norm"] and math.isnan(found["grad_norm"])  # the learning rate is not watched
    assert non_finite({"loss": math.inf, "grad_norm": 0.5}) == {"loss": math.inf}
    assert non_finite({"loss": 0.3, "grad_norm": 0.5, "epoch": 1}) == {}


def test_infinite_learning_rate_stops_training_with_a_message(tiny_project, tmp_path, capsys, one_thread):
    out = tmp_path / "run"
    code = main(["train", str(tiny_project), "--output", str(out), "train.learning_rate=inf", "train.max_steps=4"])
    err = capsys.readouterr().err
    assert code != 0
    assert "diverged" in err and "learning_rate" in err and "Traceback" not in err
    meta = json.loads((out / "meta.json").read_text(encoding="utf-8"))
    assert meta["status"] == "failed" and "diverged" in meta["error"]
    assert not (out / "adapter").exists()
    db = sqlite3.connect(honed_home() / "honed.db")
    status = db.execute("SELECT status FROM runs WHERE id=?", (meta["run_id"],)).fetchone()[0]
    assert status == "failed"
