"""`honed gate CANDIDATE --against BASELINE`: exit 0 pass, 1 naming each failing metric, 2 for bad input."""
from __future__ import annotations

import json

import pytest

from honed.cli import main


def write_report(path, values: dict, target: float = 0.8, task: str = "classification", metric: str = "accuracy"):
    path.mkdir(parents=True, exist_ok=True)
    report = {"task": task, "primary_metric": metric, "objective": {"metric": metric, "target": target},
              "candidates": {"zero_shot": {metric: 0.3}, "fine_tuned": values}, "gate": {"tolerance": 0.01}}
    (path / "report.json").write_text(json.dumps(report))
    return path / "report.json"


BASE = {"accuracy": 0.90, "f1_macro": 0.88, "f1_micro": 0.90, "precision_macro": 0.87, "recall_macro": 0.89}


def test_gate_passes_within_tolerance(tmp_path, capsys):
    base = write_report(tmp_path / "base", BASE)
    write_report(tmp_path / "new", {**BASE, "accuracy": 0.895, "f1_macro": 0.93})
    assert main(["gate", str(tmp_path / "new"), "--against", str(base)]) == 0  # a directory or a file
    assert "gate passed" in capsys.readouterr().out


def test_gate_names_each_regressed_metric(tmp_path, capsys):
    base = write_report(tmp_path / "base", BASE)
    new = write_report(tmp_path / "new", {**BASE, "f1_macro": 0.80, "recall_macro": 0.70})
    assert main(["gate", str(new), "--against", str(base)]) == 1
    out = capsys.readouterr().out
    failing = [line for line in out.splitlines() if line.startswith("FAIL")]
    assert any("f1_macro" in line and "regresses" in line for line in failing)
    assert any("recall_macro" in line for line in failing)
    assert not any("accuracy" in line for line in failing)
    # a looser tolerance lets the same drop through
    assert main(["gate", str(new), "--against", str(base), "--tolerance", "0.2"]) == 0


def test_gate_fails_on_missed_objective_and_missing_metric(tmp_path, capsys):
    base = write_report(tmp_path / "base", BASE)
    without = {k: v for k, v in BASE.items() if k != "f1_macro"}
    new = write_report(tmp_path / "new", {**without, "accuracy": 0.91}, target=0.95)
    assert main(["gate", str(new), "--against", str(base), "--json"]) == 1
    result = json.loads(capsys.readouterr().out)
    assert not result["passed"]
    assert any("accuracy" in f and "objective" in f for f in result["failures"])
    assert any("f1_macro" in f and "missing" in f for f in result["failures"])


def test_gate_lower_is_better_metric(tmp_path, capsys):
    base = write_report(tmp_path / "base", {**BASE, "perplexity": 5.0})
    new = write_report(tmp_path / "new", {**BASE, "perplexity": 7.0})
    assert main(["gate", str(new), "--against", str(base), "--metric", "perplexity", "--tolerance", "1"]) == 1
    assert "perplexity" in capsys.readouterr().out
    assert main(["gate", str(new), "--against", str(base), "--metric", "perplexity", "--tolerance", "3"]) == 0


@pytest.mark.parametrize("setup", ["missing", "not_json", "no_candidates", "unknown_name"])
def test_gate_bad_input_exit_2(tmp_path, capsys, setup):
    base = write_report(tmp_path / "base", BASE)
    candidate = tmp_path / "new" / "report.json"
    args = []
    if setup == "not_json":
        candidate.parent.mkdir()
        candidate.write_text("{oops")
    elif setup == "no_candidates":
        candidate.parent.mkdir()
        candidate.write_text(json.dumps({"primary_metric": "accuracy"}))
    elif setup == "unknown_name":
        write_report(candidate.parent, BASE)
        args = ["--name", "nope"]
    code = main(["gate", str(candidate if setup != "missing" else tmp_path / "nowhere"), "--against", str(base), *args])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error:") and "Traceback" not in err
