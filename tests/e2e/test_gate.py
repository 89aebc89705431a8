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


def test_gate_takes_registry_references_on_either_side(tmp_path, capsys):
    """`--against NAME@ALIAS` and `NAME:VERSION` resolve to that version's report.json."""
    import uuid

    from honed.core.store import Store
    from honed.registry import promote, register_run

    name = f"gate-{uuid.uuid4().hex[:6]}"
    with Store() as store:
        for version, values in ((1, BASE), (2, {**BASE, "accuracy": BASE["accuracy"] - 0.02})):
            report = write_report(tmp_path / f"v{version}", values)
            register_run(store, name, f"run-{name}-{version}", tmp_path / f"v{version}", report_path=report,
                         report=json.loads(report.read_text()))
        promote(store, name, 1, "production")
    assert main(["gate", f"{name}:2", "--against", f"{name}@production", "--json"]) == 1
    verdict = json.loads(capsys.readouterr().out)
    assert verdict["failures"] and all("accuracy" in f for f in verdict["failures"])
    assert (verdict["candidate"], verdict["baseline"]) == (str(tmp_path / "v2" / "report.json"),
                                                         str(tmp_path / "v1" / "report.json"))
    assert main(["gate", str(tmp_path / "v1"), "--against", f"{name}:2"]) == 0  # a path against a version
    capsys.readouterr()


@pytest.mark.parametrize("reference, message", [("{name}@staging", "no alias `staging`"),
                                                ("{name}:7", "no version 7"),
                                                ("nobody-{name}@production", "no model named"),
                                                ("{name}:2", "has no report yet")])
def test_gate_reference_naming_nothing_is_a_clear_error(tmp_path, capsys, reference, message):
    import uuid

    from honed.core.store import Store
    from honed.registry import promote, register_run

    name = f"gate-{uuid.uuid4().hex[:6]}"
    report = write_report(tmp_path / "v1", BASE)
    with Store() as store:
        register_run(store, name, f"run-{name}-1", tmp_path / "v1", report_path=report)
        register_run(store, name, f"run-{name}-2", tmp_path / "v2")  # trained, never evaluated
        promote(store, name, 1, "production")
    assert main(["gate", str(report), "--against", reference.format(name=name)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and message in err and "Traceback" not in err
