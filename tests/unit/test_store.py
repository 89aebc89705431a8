"""The SQLite store: migrations apply on open, in order, once; records round-trip."""
from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

from honed.core.store import MIGRATIONS, Store, migrate

SRC = Path(__file__).resolve().parents[2] / "src"


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


# --- the same suite on SQLite and PostgreSQL (pgkit.store_target) -----------------------------------------

from pgkit import store_target  # noqa: F401 - a fixture


def test_schema_reaches_latest_version_once(store_target):  # noqa: F811
    with Store(store_target) as first:
        first.record_dataset("abc", "d", "/x", 3)
    with Store(store_target) as second:  # the second open migrates nothing and keeps the rows
        assert second.version == len(MIGRATIONS) and second.dataset("abc")["rows"] == 3
        from honed.core.db import schema_version

        assert schema_version(second.db) == len(MIGRATIONS)


def test_records_round_trip_and_rows_read_like_sqlite_rows(store_target):  # noqa: F811
    with Store(store_target) as store:
        store.start_run("r1", "train", "proj", "/tmp/r1", {"a": 1})
        store.start_run("r1", "train", "proj", "/tmp/r1-again", {"a": 2})  # INSERT OR REPLACE
        store.log_metrics("r1", 1, {"loss": 2.5})
        store.log_metrics("r1", 2, {"loss": 1.5})
        store.delete_metrics_after("r1", 1)
        store.finish_run("r1")
        run = store.run("r1")
        assert run["status"] == "finished" and run["dir"] == "/tmp/r1-again" and run[0] == "r1"
        assert dict(run)["config"] == '{"a": 2}' and len(store.runs()) == 1
        assert store.metrics("r1", "loss") == [(1, 2.5)]
        assert abs(run["finished"] - time.time()) < 60  # a unix time survives at full precision


def test_registry_versions_aliases_and_history(store_target):  # noqa: F811
    with Store(store_target) as store:
        assert store.register_model_version("m", "r1", "/r1") == 1
        assert store.register_model_version("m", "r2", "/r2") == 2
        assert store.register_model_version("m", "r1", "/r1") == 1  # a run registers once
        assert store.move_alias("m", "production", 1, who="a") is None
        assert store.move_alias("m", "production", 2, who="b", reason="better") == 1
        assert store.aliases("m") == {"production": 2}
        history = store.alias_history("m", "production")
        assert [(h["from_version"], h["to_version"], h["who"]) for h in history] == [(None, 1, "a"), (1, 2, "b")]
        assert history[0]["id"] < history[1]["id"]
        store.record_consumed_inputs("m", 2, {"k1": "sft", "k2": "heldout"})
        store.record_consumed_inputs("m", 2, {"k1": "sft"})  # INSERT OR IGNORE
        assert store.consumed_inputs("m") == {"k1", "k2"}


def test_request_log_and_feedback(store_target):  # noqa: F811
    from honed.monitor.traffic import logged_feedback, logged_requests

    with Store(store_target) as store:
        store.log_request("q1", model="m@production", adapter=None, version="2", endpoint="/v1/chat/completions",
                          request={"messages": [{"role": "user", "content": "hi"}]}, response="hello",
                          latency_s=0.25, prompt_tokens=3, completion_tokens=1, sampling={"temperature": 0})
        assert store.add_feedback("q1", 1, correction="hey") is True
        assert store.add_feedback("missing", -1) is False
        assert [f["correction"] for f in store.feedback()] == ["hey"]
        [exchange] = logged_requests(store, model="m")
        assert exchange.input == "hi" and exchange.rating == 1 and exchange.latency_ms == 250
        assert [f.correction for f in logged_feedback(store)] == ["hey"]
        assert [f.correction for f in logged_feedback(store.db)] == ["hey"]  # a bare connection still reads


def test_request_windows_and_latest_ratings(store_target):  # noqa: F811
    """The monitor's reads are Store methods: they must answer the same on SQLite and PostgreSQL."""
    with Store(store_target) as store:
        for rid, when in (("old", 1000.0), ("new", 2000.0), ("newer", 3000.0)):
            store.log_request(rid, model="m", adapter=None, version="m:1", endpoint="/v1/completions",
                              request={"prompt": rid}, response="x", latency_s=0.1, prompt_tokens=1,
                              completion_tokens=1, sampling={})
            with store.db:
                store.db.execute("UPDATE requests SET time=? WHERE id=?", (when, rid))
        assert [r["id"] for r in store.requests_since(1500)] == ["new", "newer"]
        assert [r["id"] for r in store.requests_since()] == ["old", "new", "newer"]
        assert store.latest_ratings() == {}
        store.add_feedback("new", -1)
        store.add_feedback("new", 1)  # the newest rating wins
        store.add_feedback("old", None, correction="no rating")
        assert store.latest_ratings() == {"new": 1}


def test_workbench_rows_get_their_ids(store_target):  # noqa: F811 - psycopg has no lastrowid
    with Store(store_target) as store:
        first = store.add_battle("p1", "a", "x", "b", "y", seed=0)
        second = store.add_battle("p2", "a", "x", "b", "y", seed=0)
        vote = store.add_vote({"battle_id": second, "reviewer": "rita", "prompt": "p2", "vote": "tie"})
        rating = store.add_expert_rating({"battle_id": first, "reviewer": "ed", "model": "a", "score": 4})
        assert second == first + 1 and store.battle(second)["prompt"] == "p2"
        assert store.vote(vote)["battle_id"] == second and store.expert_ratings()[0]["id"] == rating
        assert store.next_battle_for("rita")["id"] == first


def test_a_failed_transaction_leaves_nothing(store_target):  # noqa: F811
    with Store(store_target) as store:
        try:
            with store.db:
                store.db.execute("INSERT INTO datasets VALUES (?,?,?,?,?,?)", ("h", "d", "/x", 1, 0.0, "{}"))
                raise RuntimeError("boom")
        except RuntimeError:
            pass
        assert store.dataset("h") is None


def test_literal_percent_and_question_mark_placeholders(store_target):  # noqa: F811
    with Store(store_target) as store:
        store.record_dataset("h1", "50% off", "/x", 1)
        store.record_dataset("h2", "other", "/y", 2)
        rows = store.db.execute("SELECT hash FROM datasets WHERE name LIKE '50%' AND rows >= ?", (1,)).fetchall()
        assert [r["hash"] for r in rows] == ["h1"]


def test_opening_a_second_store_keeps_the_first_ones_locks(tmp_path):
    """`honed serve` keeps its request log open and opens the store again (alias checks) while other processes
    open and close it. A stray close of the file once dropped the log's locks: the next process to close took
    the database for unused and deleted its WAL under the log, whose later rows nobody else could see."""
    import subprocess
    import sys

    path = tmp_path / "h.db"
    env = {**os.environ, "PYTHONPATH": str(SRC)}

    def runs_seen_by_another_process() -> str:
        script = f"from honed.core.store import Store\nwith Store({str(path)!r}) as s: print(sorted(r['id'] for r in s.runs()))"
        return subprocess.run([sys.executable, "-c", script], check=True, env=env, capture_output=True,
                              text=True).stdout.strip()

    with Store(path) as long_lived:
        long_lived.start_run("r1", "train", "p", "/x", {})
        Store(path).close()  # a second opener in this process
        assert runs_seen_by_another_process() == "['r1']"
        assert (tmp_path / "h.db-wal").exists()  # still ours: the other process must not have removed it
        long_lived.start_run("r2", "train", "p", "/x", {})
        assert runs_seen_by_another_process() == "['r1', 'r2']"
