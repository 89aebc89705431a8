"""The registry: versions, gated promote (refuses and names the metric), rollback, references, CLI shapes."""
from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from pgkit import store_backend  # noqa: F401 - a fixture

from honed.cli import main
from honed.core.errors import HonedError
from honed.core.store import Store
from honed.registry import promote, register_run, resolve_reference, rollback

BASE = {"accuracy": 0.90, "f1_macro": 0.88, "f1_micro": 0.90, "precision_macro": 0.87, "recall_macro": 0.89}


def fake_version(store: Store, tmp_path, name: str, values: dict | None) -> int:
    """A run directory with a report.json (or none), registered as the next version of `name`."""
    run_id = f"train-{uuid.uuid4().hex[:8]}"
    run_dir = tmp_path / run_id
    run_dir.mkdir()
    report = path = None
    if values is not None:
        report = {"task": "classification", "primary_metric": "accuracy",
                  "objective": {"metric": "accuracy", "target": 0.5}, "candidates": {"fine_tuned": values},
                  "gate": {"tolerance": 0.01}}
        path = run_dir / "report.json"
        path.write_text(json.dumps(report))
    return register_run(store, name, run_id, run_dir, report_path=path, report=report)


@pytest.fixture
def name(store_backend):  # noqa: F811 - every registry test runs on SQLite and on PostgreSQL
    return f"m-{uuid.uuid4().hex[:6]}"


def test_versions_number_up_and_a_run_registers_once(tmp_path, name):
    with Store() as store:
        assert fake_version(store, tmp_path, name, BASE) == 1
        assert fake_version(store, tmp_path, name, BASE) == 2
        row = store.model_version(name, 2)
        assert register_run(store, name, row["run_id"], tmp_path / row["run_id"]) == 2


def test_promote_refuses_a_candidate_below_production_and_names_the_metric(tmp_path, name, capsys):
    with Store() as store:
        fake_version(store, tmp_path, name, BASE)
        fake_version(store, tmp_path, name, {**BASE, "accuracy": BASE["accuracy"] - 0.02})
    assert main(["models", "promote", name, "1", "--alias", "production"]) == 0
    code = main(["models", "promote", name, "2", "--alias", "production"])
    err = capsys.readouterr().err
    assert code == 1
    assert "accuracy" in err and "f1_macro" not in err
    with Store() as store:
        assert store.aliases(name) == {"production": 1}


def test_force_moves_the_alias_and_records_it_as_forced(tmp_path, name, capsys):
    with Store() as store:
        fake_version(store, tmp_path, name, BASE)
        fake_version(store, tmp_path, name, {**BASE, "accuracy": 0.80})
    assert main(["models", "promote", name, "1", "--alias", "production"]) == 0
    assert main(["models", "promote", name, "2", "--alias", "production", "--force", "--reason", "hotfix"]) == 0
    capsys.readouterr()
    assert main(["models", "show", name, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["aliases"]["production"]["version"] == 2
    last = shown["history"][-1]
    assert last["forced"] is True and last["reason"] == "hotfix" and (last["from"], last["to"]) == (1, 2)


def test_promote_then_rollback_restores_the_alias_and_history_shows_both(tmp_path, name, capsys):
    with Store() as store:
        fake_version(store, tmp_path, name, BASE)
        fake_version(store, tmp_path, name, {**BASE, "accuracy": 0.93})
    assert main(["models", "promote", name, "1", "--alias", "production"]) == 0
    assert main(["models", "promote", name, "2", "--alias", "production", "--reason", "better"]) == 0
    assert main(["models", "rollback", name, "--alias", "production"]) == 0
    capsys.readouterr()
    assert main(["models", "show", name, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["aliases"] == {"production": {"version": 1, "run": shown["versions"][0]["run"],
                                               "run_dir": shown["versions"][0]["run_dir"]}}
    moves = [(h["alias"], h["from"], h["to"], h["action"]) for h in shown["history"]]
    assert moves == [("production", None, 1, "promote"), ("production", 1, 2, "promote"),
                     ("production", 2, 1, "rollback")]
    assert all(h["who"] and h["when"] for h in shown["history"])
    # nothing before version 1: a second rollback has nowhere to go
    assert main(["models", "rollback", name, "--alias", "production"]) == 2


def test_rollback_walks_back_through_promotions(tmp_path, name):
    with Store() as store:
        for accuracy in (0.90, 0.91, 0.92):
            fake_version(store, tmp_path, name, {**BASE, "accuracy": accuracy})
        for version in (1, 2, 3):
            promote(store, name, version, "production")
        assert rollback(store, name, "production")["to"] == 2
        assert rollback(store, name, "production")["to"] == 1
        assert store.aliases(name)["production"] == 1


def test_a_version_without_a_report_is_refused_unless_forced(tmp_path, name):
    with Store() as store:
        fake_version(store, tmp_path, name, None)
        with pytest.raises(HonedError, match="no report"):
            promote(store, name, 1, "production")
        assert promote(store, name, 1, "production", force=True)["forced"] is True


def test_references_resolve_to_run_directories(tmp_path, name):
    with Store() as store:
        fake_version(store, tmp_path, name, BASE)
        fake_version(store, tmp_path, name, BASE)
        promote(store, name, 2, "production", force=True)
        second = store.model_version(name, 2)["run_dir"]
        first = store.model_version(name, 1)["run_dir"]
    assert str(resolve_reference(f"{name}@production")) == second
    assert str(resolve_reference(f"{name}:1")) == first
    assert resolve_reference(tmp_path) == tmp_path  # a plain path passes through
    with pytest.raises(HonedError, match="no alias `staging`"):
        resolve_reference(f"{name}@staging")
    with pytest.raises(HonedError, match="no version 9"):
        resolve_reference(f"{name}:9")


def test_models_list_json_shape(tmp_path, name, capsys):
    with Store() as store:
        fake_version(store, tmp_path, name, BASE)
        promote(store, name, 1, "production")
    assert main(["models", "list", "--json"]) == 0
    listed = [m for m in json.loads(capsys.readouterr().out) if m["name"] == name]
    assert len(listed) == 1
    assert {"name", "version", "run", "created", "aliases", "metrics"} <= set(listed[0])
    assert listed[0]["aliases"] == ["production"] and listed[0]["metrics"]["accuracy"] == 0.90


def test_concurrent_registrations_get_distinct_versions(tmp_path, name):
    """Two processes registering at once (each with its own connection) never share a version number."""
    import threading

    numbers, errors = [], []

    def register(i):
        try:
            with Store() as store:
                run_dir = tmp_path / f"r{i}"
                run_dir.mkdir()
                numbers.append(register_run(store, name, f"run-{i}", run_dir))
        except Exception as exc:  # noqa: BLE001 - surfaced by the assert below
            errors.append(exc)

    threads = [threading.Thread(target=register, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and sorted(numbers) == [1, 2, 3, 4, 5, 6]


def test_serving_resolver_reads_the_alias_afresh_and_leaves_other_targets_alone(tmp_path, name):
    from honed.registry import serving_resolver

    with Store() as store:
        fake_version(store, tmp_path, name, BASE)
        fake_version(store, tmp_path, name, {**BASE, "accuracy": 0.93})
        promote(store, name, 1, "production")
        first, second = (store.model_version(name, v)["run_dir"] for v in (1, 2))
    resolve = serving_resolver()
    assert resolve(f"{name}@production") == (Path(first), f"{name}:1", True)  # an alias may move: follow it
    assert resolve(f"{name}:2") == (Path(second), f"{name}:2", False)  # a version never moves
    assert resolve("tiny-random") is None and resolve(str(tmp_path)) is None  # not a reference: not the registry's
    with Store() as store:
        promote(store, name, 2, "production")
    assert resolve(f"{name}@production") == (Path(second), f"{name}:2", True)  # each call reads the store again
    with pytest.raises(HonedError, match="no alias `canary`"):
        resolve(f"{name}@canary")
