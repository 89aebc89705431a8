"""The gate never passes a NaN/inf metric and turns a report with non-numeric metrics into a clear exit-2 error."""
from __future__ import annotations

import json

import pytest

from honed.cli import main

BASE = {"accuracy": 0.90, "f1_macro": 0.88}


def write(path, values: dict, target=0.8):
    path.mkdir(parents=True, exist_ok=True)
    report = {"task": "classification", "primary_metric": "accuracy",
              "objective": {"metric": "accuracy", "target": target}, "candidates": {"fine_tuned": values}}
    # json.dumps writes NaN/Infinity for non-finite floats, as a diverged evaluation would
    (path / "report.json").write_text(json.dumps(report), encoding="utf-8")
    return path / "report.json"


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
@pytest.mark.parametrize("metric", ["accuracy", "f1_macro"])
def test_non_finite_candidate_metric_fails_and_is_named(tmp_path, capsys, bad, metric):
    base = write(tmp_path / "base", BASE)
    new = write(tmp_path / "new", {**BASE, metric: bad})
    assert main(["gate", str(new), "--against", str(base)]) == 1
    out = capsys.readouterr().out
    assert any(metric in line and "finite" in line for line in out.splitlines() if line.startswith("FAIL"))


def test_non_finite_baseline_metric_fails_too(tmp_path, capsys):
    base = write(tmp_path / "base", {**BASE, "f1_macro": float("nan")})
    new = write(tmp_path / "new", BASE)
    assert main(["gate", str(new), "--against", str(base)]) == 1
    assert "f1_macro" in capsys.readouterr().out


def test_json_output_stays_valid_json_with_nan(tmp_path, capsys):
    base = write(tmp_path / "base", BASE)
    new = write(tmp_path / "new", {**BASE, "accuracy": float("nan")})
    assert main(["gate", str(new), "--against", str(base), "--json"]) == 1
    parsed = json.loads(capsys.readouterr().out, parse_constant=lambda c: pytest.fail(f"non-standard {c}"))
    assert parsed["passed"] is False


@pytest.mark.parametrize("values,target", [({**BASE, "accuracy": "0.9"}, 0.8), ({**BASE, "f1_macro": [1]}, 0.8),
                                           ({**BASE, "accuracy": True}, 0.8), (BASE, "high"), ("oops", 0.8)])
def test_wrong_typed_values_are_exit_2_errors(tmp_path, capsys, values, target):
    base = write(tmp_path / "base", BASE)
    new = write(tmp_path / "new", values, target=target)
    assert main(["gate", str(new), "--against", str(base)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "Traceback" not in err
