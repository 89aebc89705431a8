"""The SQLite store: migrations apply on open, in order, once; records round-trip."""
from __future__ import annotations

import sqlite3

from honed.core.store import MIGRATIONS, Store, migrate


def test_fresh_database_reaches_latest_version(tmp_path):
    store = Store(tmp_path / "h.db")
    assert store.version == len(MIGRATIONS)
    assert store.db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    tables = {r[0] for r in store.db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"datasets", "runs", "metrics", "reports"} <= tables


def test_old_database_is_upgraded_without_losing_rows(tmp_path):
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    MIGRATIONS[0](db)
    db.execute("PRAGMA user_version = 1")
    db.execute("INSERT INTO datasets VALUES ('abc', 'd', '/x', 3, 0, '{}')")
    db.commit()
    db.close()
    store = Store(path)
    assert store.version == len(MIGRATIONS)
    assert store.dataset("abc")["rows"] == 3
    assert store.db.execute("SELECT count(*) FROM reports").fetchone()[0] == 0


def test_migrate_is_idempotent(tmp_path):
    db = sqlite3.connect(tmp_path / "x.db")
    assert migrate(db) == len(MIGRATIONS)
    assert migrate(db) == len(MIGRATIONS)  # a second open changes nothing and does not fail


def test_runs_and_metrics_round_trip(tmp_path):
    with Store(tmp_path / "h.db") as store:
        store.start_run("r1", "train", "proj", "/tmp/r1", {"a": 1})
        store.log_metrics("r1", 1, {"loss": 2.5})
        store.log_metrics("r1", 2, {"loss": 1.5})
        store.finish_run("r1")
        assert store.metrics("r1", "loss") == [(1, 2.5), (2, 1.5)]
        assert store.run("r1")["status"] == "finished"


def test_honed_home_relocates_the_store(tmp_path, monkeypatch):
    monkeypatch.setenv("HONED_HOME", str(tmp_path / "elsewhere"))
    store = Store()
    assert store.path == tmp_path / "elsewhere" / "honed.db" and store.path.is_file()
