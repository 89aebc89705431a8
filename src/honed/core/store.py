"""The embedded SQLite store: datasets, runs, metrics, reports.

Schema changes are plain functions in MIGRATIONS, applied in order when the database opens; the applied
version lives in `PRAGMA user_version`, so opening an old database upgrades it and opening a current one does
nothing. `HONED_HOME` relocates the database (`$HONED_HOME/honed.db`).
"""
from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from honed.core.paths import honed_home


def _v1_core(db: sqlite3.Connection) -> None:
    db.executescript(
        """
        CREATE TABLE datasets (hash TEXT PRIMARY KEY, name TEXT, path TEXT, rows INTEGER, created REAL, meta TEXT);
        CREATE TABLE runs (id TEXT PRIMARY KEY, kind TEXT, project TEXT, dir TEXT, status TEXT,
                           dataset_hash TEXT REFERENCES datasets(hash), config TEXT, created REAL, finished REAL);
        CREATE TABLE metrics (run_id TEXT REFERENCES runs(id), step INTEGER, name TEXT, value REAL, time REAL);
        CREATE INDEX metrics_run ON metrics(run_id, name);
        """
    )


def _v2_reports(db: sqlite3.Connection) -> None:
    db.executescript(
        """
        CREATE TABLE reports (run_id TEXT REFERENCES runs(id), path TEXT, primary_metric TEXT,
                              best_candidate TEXT, value REAL, passed INTEGER, created REAL);
        """
    )


def _v3_request_log(db: sqlite3.Connection) -> None:
    """`honed serve`: every logged request/response, and feedback attached to one of them."""
    db.executescript(
        """
        CREATE TABLE requests (id TEXT PRIMARY KEY, time REAL, model TEXT, adapter TEXT, version TEXT,
                               endpoint TEXT, request TEXT, response TEXT, latency_s REAL,
                               prompt_tokens INTEGER, completion_tokens INTEGER, sampling TEXT);
        CREATE INDEX requests_time ON requests(time);
        CREATE TABLE feedback (request_id TEXT REFERENCES requests(id), rating INTEGER, correction TEXT,
                               comment TEXT, time REAL);
        CREATE INDEX feedback_request ON feedback(request_id);
        """
    )


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_v1_core, _v2_reports, _v3_request_log]


def migrate(db: sqlite3.Connection) -> int:
    """Apply the migrations this database has not seen; return the resulting schema version."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    for number, step in enumerate(MIGRATIONS[version:], start=version + 1):
        with db:
            step(db)
            db.execute(f"PRAGMA user_version = {number}")
    return len(MIGRATIONS)


class Store:
    def __init__(self, path: Path | None = None):
        self.path = Path(path) if path else honed_home() / "honed.db"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, timeout=30)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.version = migrate(self.db)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # datasets ---------------------------------------------------------------------------------------------
    def record_dataset(self, hash_: str, name: str, path: str, rows: int, meta: dict | None = None) -> None:
        with self.db:
            self.db.execute("INSERT OR IGNORE INTO datasets VALUES (?,?,?,?,?,?)",
                            (hash_, name, path, rows, time.time(), json.dumps(meta or {})))

    def dataset(self, hash_: str) -> sqlite3.Row | None:
        return self.db.execute("SELECT * FROM datasets WHERE hash=?", (hash_,)).fetchone()

    # runs -------------------------------------------------------------------------------------------------
    def start_run(self, run_id: str, kind: str, project: str, run_dir: str, config: dict,
                  dataset_hash: str | None = None) -> None:
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO runs VALUES (?,?,?,?,?,?,?,?,?)",
                            (run_id, kind, project, run_dir, "running", dataset_hash, json.dumps(config),
                             time.time(), None))

    def finish_run(self, run_id: str, status: str = "finished") -> None:
        with self.db:
            self.db.execute("UPDATE runs SET status=?, finished=? WHERE id=?", (status, time.time(), run_id))

    def run(self, run_id: str) -> sqlite3.Row | None:
        return self.db.execute("SELECT * FROM runs WHERE id=?", (run_id,)).fetchone()

    def runs(self, limit: int = 20) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM runs ORDER BY created DESC LIMIT ?", (limit,)).fetchall()

    # metrics and reports ----------------------------------------------------------------------------------
    def log_metrics(self, run_id: str, step: int, values: dict[str, float]) -> None:
        now = time.time()
        with self.db:
            self.db.executemany("INSERT INTO metrics VALUES (?,?,?,?,?)",
                                [(run_id, step, k, float(v), now) for k, v in values.items()])

    def metrics(self, run_id: str, name: str) -> list[tuple[int, float]]:
        rows = self.db.execute("SELECT step, value FROM metrics WHERE run_id=? AND name=? ORDER BY step",
                               (run_id, name)).fetchall()
        return [(r["step"], r["value"]) for r in rows]

    def record_report(self, run_id: str, path: str, primary_metric: str, best_candidate: str, value: float,
                      passed: bool) -> None:
        with self.db:
            self.db.execute("INSERT INTO reports VALUES (?,?,?,?,?,?,?)",
                            (run_id, path, primary_metric, best_candidate, value, int(passed), time.time()))

    # serving: request log and feedback ----------------------------------------------------------------------
    def log_request(self, request_id: str, *, model: str, adapter: str | None, version: str | None, endpoint: str,
                    request: dict, response: str, latency_s: float, prompt_tokens: int, completion_tokens: int,
                    sampling: dict) -> None:
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO requests VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                            (request_id, time.time(), model, adapter, version, endpoint, json.dumps(request),
                             response, latency_s, prompt_tokens, completion_tokens, json.dumps(sampling)))

    def request(self, request_id: str) -> sqlite3.Row | None:
        return self.db.execute("SELECT * FROM requests WHERE id=?", (request_id,)).fetchone()

    def requests(self, limit: int = 100) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM requests ORDER BY time DESC LIMIT ?", (limit,)).fetchall()

    def add_feedback(self, request_id: str, rating: int, correction: str | None = None,
                     comment: str | None = None) -> bool:
        """Attach feedback to a logged request; False (nothing written) when no such request was logged."""
        with self.db:
            if self.request(request_id) is None:
                return False
            self.db.execute("INSERT INTO feedback VALUES (?,?,?,?,?)",
                            (request_id, rating, correction, comment, time.time()))
        return True

    def feedback(self, request_id: str | None = None) -> list[sqlite3.Row]:
        """Feedback joined with its request (one request's, or all)."""
        sql = ("SELECT f.request_id, f.rating, f.correction, f.comment, f.time, r.model, r.request, r.response "
               "FROM feedback f JOIN requests r ON r.id = f.request_id")
        if request_id is None:
            return self.db.execute(sql + " ORDER BY f.time").fetchall()
        return self.db.execute(sql + " WHERE f.request_id=? ORDER BY f.time", (request_id,)).fetchall()
