"""The embedded SQLite store: datasets, runs, metrics, reports.

Schema changes are plain functions in MIGRATIONS, applied in order when the database opens; the applied
version lives in `PRAGMA user_version`, so opening an old database upgrades it and opening a current one does
nothing. `HONED_HOME` relocates the database (`$HONED_HOME/honed.db`).

Several honed processes may open the same store at once (a sweep, `honed serve` beside a training run): the
database runs in WAL mode with a busy timeout, and migrations run inside one `BEGIN IMMEDIATE` transaction that
re-reads the version once it holds the write lock, so the schema change and its `user_version` bump commit
together or not at all, and only one process applies them. A migration must therefore not commit: use
`run_script(db, sql)` (statement by statement), never `executescript`, which commits first.
The store holds request logs and feedback: the file (and its -wal/-shm) is 0600.

`HONED_STORE=postgresql://user:pass@host/db` puts the same schema in PostgreSQL instead (`pip install
honed[scale]`): the SQL below goes through the dialect shim in `honed.core.db`, migrations run in one transaction
under an advisory lock with the version in a `schema_version` table, and read-then-write sequences (versions,
alias moves) take a table lock where SQLite says `BEGIN IMMEDIATE`.
"""
from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Self

from honed.core import db as dialect
from honed.core.errors import HonedError
from honed.core.paths import honed_home

BUSY_TIMEOUT_SECONDS = 30


def run_script(db: sqlite3.Connection, sql: str) -> None:
    """Execute several `;`-separated statements inside the current transaction (unlike `executescript`)."""
    statement = ""
    for line in sql.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            db.execute(statement)
            statement = ""
    if statement.strip():
        db.execute(statement)


def _v1_core(db: sqlite3.Connection) -> None:
    run_script(db,
        """
        CREATE TABLE datasets (hash TEXT PRIMARY KEY, name TEXT, path TEXT, rows INTEGER, created REAL, meta TEXT);
        CREATE TABLE runs (id TEXT PRIMARY KEY, kind TEXT, project TEXT, dir TEXT, status TEXT,
                           dataset_hash TEXT REFERENCES datasets(hash), config TEXT, created REAL, finished REAL);
        CREATE TABLE metrics (run_id TEXT REFERENCES runs(id), step INTEGER, name TEXT, value REAL, time REAL);
        CREATE INDEX metrics_run ON metrics(run_id, name);
        """
    )


def _v2_reports(db: sqlite3.Connection) -> None:
    run_script(db,
        """
        CREATE TABLE reports (run_id TEXT REFERENCES runs(id), path TEXT, primary_metric TEXT,
                              best_candidate TEXT, value REAL, passed INTEGER, created REAL);
        """
    )


def _v3_registry(db: sqlite3.Connection) -> None:
    """Model versions (with lineage), aliases and every alias move; inputs consumed by `honed retrain`."""
    run_script(db,
        """
        CREATE TABLE model_versions (name TEXT, version INTEGER, run_id TEXT, run_dir TEXT, report_path TEXT,
                                     metrics TEXT, parent_name TEXT, parent_version INTEGER, kind TEXT,
                                     created REAL, meta TEXT, PRIMARY KEY (name, version));
        CREATE INDEX model_versions_run ON model_versions(run_id);
        CREATE TABLE model_aliases (name TEXT, alias TEXT, version INTEGER, updated REAL,
                                    PRIMARY KEY (name, alias));
        CREATE TABLE alias_history (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT, alias TEXT,
                                    from_version INTEGER, to_version INTEGER, time REAL, who TEXT, reason TEXT,
                                    forced INTEGER, action TEXT, undoes INTEGER);
        CREATE TABLE retrain_inputs (key TEXT, name TEXT, version INTEGER, kind TEXT, time REAL,
                                     PRIMARY KEY (key, name));
        """
    )


def _v4_request_log(db: sqlite3.Connection) -> None:
    """`honed serve`: every logged request/response, and feedback attached to one of them."""
    run_script(db,
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


def _v5_workbench(db: sqlite3.Connection) -> None:
    """`honed ui`: reviewer accounts, battles (one prompt, two answers), votes and expert ratings."""
    run_script(db,
        """
        CREATE TABLE web_users (name TEXT PRIMARY KEY, password_hash TEXT, role TEXT, created REAL);
        CREATE TABLE battles (id INTEGER PRIMARY KEY AUTOINCREMENT, prompt TEXT, model_a TEXT, answer_a TEXT,
                              model_b TEXT, answer_b TEXT, seed INTEGER, source TEXT, created REAL);
        CREATE TABLE votes (id INTEGER PRIMARY KEY AUTOINCREMENT, battle_id INTEGER REFERENCES battles(id),
                            reviewer TEXT, time REAL, prompt TEXT, left_model TEXT, left_answer TEXT,
                            right_model TEXT, right_answer TEXT, vote TEXT, winner TEXT, correction TEXT,
                            comment TEXT);
        CREATE INDEX votes_battle ON votes(battle_id);
        CREATE TABLE expert_ratings (id INTEGER PRIMARY KEY AUTOINCREMENT, battle_id INTEGER, reviewer TEXT,
                                     time REAL, prompt TEXT, model TEXT, answer TEXT, score INTEGER,
                                     correct INTEGER, correction TEXT, comment TEXT);
        """
    )


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_v1_core, _v2_reports, _v3_registry, _v4_request_log,
                                                    _v5_workbench]


def migrate(db: sqlite3.Connection) -> int:
    """Apply the migrations this database has not seen, all in one write transaction; return the schema version."""
    if _version(db) == len(MIGRATIONS):
        return len(MIGRATIONS)
    with dialect.migration_lock(db):  # concurrent openers wait here
        version = _version(db)  # another process may have migrated while we waited
        for number, step in enumerate(MIGRATIONS[version:], start=version + 1):
            step(db)
            dialect.set_schema_version(db, number)
    return len(MIGRATIONS)


def _version(db: sqlite3.Connection) -> int:
    version = dialect.schema_version(db)
    if version > len(MIGRATIONS):
        raise HonedError(f"the store was written by a newer honed (schema {version}, this one knows "
                         f"{len(MIGRATIONS)})", "upgrade honed, or point HONED_HOME at another directory")
    return version


class Store:
    def __init__(self, path: Path | str | None = None):
        """`path`: a SQLite file, or a `postgresql://` URL; default `$HONED_STORE`, else `$HONED_HOME/honed.db`."""
        target = path if path is not None else os.environ.get("HONED_STORE") or None
        if dialect.is_postgres_url(target):
            self.path, self.url = None, target
            self.db = _connect_postgres(target)
        else:
            self.path = Path(target) if target else honed_home() / "honed.db"
            self.url = None
            self.path.parent.mkdir(parents=True, exist_ok=True)
            _private_file(self.path)
            self.db = dialect.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS)
        self.version = migrate(self.db)

    @classmethod
    def on_connection(cls, db) -> Self:
        """A Store over another Store's open, migrated connection (`store.db`); closing it stays the owner's job."""
        store = cls.__new__(cls)
        store.path, store.url, store.db = None, None, db
        store.version = dialect.schema_version(db)
        return store

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Self:
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

    def delete_metrics_after(self, run_id: str, step: int) -> None:
        """A resumed run logs the steps after its checkpoint again: forget the first attempt's."""
        with self.db:
            self.db.execute("DELETE FROM metrics WHERE run_id=? AND step>?", (run_id, step))

    def metrics(self, run_id: str, name: str) -> list[tuple[int, float]]:
        rows = self.db.execute("SELECT step, value FROM metrics WHERE run_id=? AND name=? ORDER BY step",
                               (run_id, name)).fetchall()
        return [(r["step"], r["value"]) for r in rows]

    def record_report(self, run_id: str, path: str, report: dict) -> None:
        """A report written for a run (by `honed run` or `honed eval`): where it is and how its objective fared."""
        objective = report["objective"]
        with self.db:
            self.db.execute("INSERT INTO reports VALUES (?,?,?,?,?,?,?)",
                            (run_id, path, report["primary_metric"], objective.get("best_candidate"),
                             objective.get("value"), int(bool(objective.get("passed"))), time.time()))

    def latest_report_path(self, run_id: str) -> str | None:
        row = self.db.execute("SELECT path FROM reports WHERE run_id=? ORDER BY created DESC LIMIT 1",
                              (run_id,)).fetchone()
        return row["path"] if row else None

    # model registry -----------------------------------------------------------------------------------------
    def register_model_version(self, name: str, run_id: str, run_dir: str, *, kind: str = "train",
                               report_path: str | None = None, metrics: dict | None = None,
                               parent: tuple[str, int] | None = None, meta: dict | None = None) -> int:
        """A new version of `name` (the next number); a run already registered keeps its version."""
        with self.db:
            dialect.lock_for_write(self.db, "model_versions")  # read the last number, write the next, one lock
            known = self.db.execute("SELECT version FROM model_versions WHERE name=? AND run_id=?",
                                    (name, run_id)).fetchone()
            if known:
                return known["version"]
            version = self.db.execute("SELECT COALESCE(MAX(version), 0) + 1 FROM model_versions WHERE name=?",
                                      (name,)).fetchone()[0]
            parent_name, parent_version = parent or (None, None)
            self.db.execute("INSERT INTO model_versions VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                            (name, version, run_id, run_dir, report_path, json.dumps(metrics or {}), parent_name,
                             parent_version, kind, time.time(), json.dumps(meta or {})))
        return version

    def attach_version_report(self, run_id: str, report_path: str, metrics: dict) -> None:
        """A report written for a registered run becomes its version's report (the newest one wins)."""
        with self.db:
            self.db.execute("UPDATE model_versions SET report_path=?, metrics=? WHERE run_id=?",
                            (report_path, json.dumps(metrics), run_id))

    def update_version_meta(self, name: str, version: int, meta: dict) -> None:
        with self.db:
            self.db.execute("UPDATE model_versions SET meta=? WHERE name=? AND version=?",
                            (json.dumps(meta), name, version))

    def model_versions(self, name: str | None = None) -> list[sqlite3.Row]:
        if name is None:
            return self.db.execute("SELECT * FROM model_versions ORDER BY name, version").fetchall()
        return self.db.execute("SELECT * FROM model_versions WHERE name=? ORDER BY version", (name,)).fetchall()

    def model_version(self, name: str, version: int) -> sqlite3.Row | None:
        return self.db.execute("SELECT * FROM model_versions WHERE name=? AND version=?",
                               (name, version)).fetchone()

    def model_version_of_run(self, run_id: str) -> sqlite3.Row | None:
        return self.db.execute("SELECT * FROM model_versions WHERE run_id=?", (run_id,)).fetchone()

    def aliases(self, name: str) -> dict[str, int]:
        rows = self.db.execute("SELECT alias, version FROM model_aliases WHERE name=? ORDER BY alias", (name,))
        return {r["alias"]: r["version"] for r in rows}

    def move_alias(self, name: str, alias: str, version: int, *, who: str, reason: str = "", forced: bool = False,
                   action: str = "promote", undoes: int | None = None) -> int | None:
        """Point `alias` at `version` and record the move, in one transaction; returns the previous holder."""
        with self.db:
            dialect.lock_for_write(self.db, "model_aliases")  # two promoters must not read the same holder
            row = self.db.execute("SELECT version FROM model_aliases WHERE name=? AND alias=?",
                                  (name, alias)).fetchone()
            previous = row["version"] if row else None
            now = time.time()
            self.db.execute("INSERT OR REPLACE INTO model_aliases VALUES (?,?,?,?)", (name, alias, version, now))
            self.db.execute("INSERT INTO alias_history (name, alias, from_version, to_version, time, who, reason, "
                            "forced, action, undoes) VALUES (?,?,?,?,?,?,?,?,?,?)",
                            (name, alias, previous, version, now, who, reason, int(forced), action, undoes))
        return previous

    def alias_history(self, name: str, alias: str | None = None) -> list[sqlite3.Row]:
        """Every move of `name`'s aliases (or of one alias), oldest first."""
        if alias is None:
            return self.db.execute("SELECT * FROM alias_history WHERE name=? ORDER BY id", (name,)).fetchall()
        return self.db.execute("SELECT * FROM alias_history WHERE name=? AND alias=? ORDER BY id",
                               (name, alias)).fetchall()

    # inputs consumed by `honed retrain` ---------------------------------------------------------------------
    def consumed_inputs(self, name: str) -> set[str]:
        return {r["key"] for r in self.db.execute("SELECT key FROM retrain_inputs WHERE name=?", (name,))}

    def record_consumed_inputs(self, name: str, version: int, keys: dict[str, str]) -> None:
        """`keys` maps an input's key (e.g. a feedback row's) to its kind (sft, preference, heldout)."""
        now = time.time()
        with self.db:
            self.db.executemany("INSERT OR IGNORE INTO retrain_inputs VALUES (?,?,?,?,?)",
                                [(key, name, version, kind, now) for key, kind in keys.items()])

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

    def requests_since(self, since: float = 0) -> list[sqlite3.Row]:
        """Every logged request from the unix time `since` on, oldest first (the monitor's window)."""
        return self.db.execute("SELECT * FROM requests WHERE time >= ? ORDER BY time", (since,)).fetchall()

    def latest_ratings(self) -> dict[str, int]:
        """Each rated request's newest rating (feedback without a rating is left out)."""
        rows = self.db.execute("SELECT request_id, rating FROM feedback WHERE rating IS NOT NULL ORDER BY time")
        return {str(r["request_id"]): r["rating"] for r in rows}

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

    # workbench: reviewers, battles, votes, expert ratings -----------------------------------------------------
    def add_web_user(self, name: str, password_hash: str, role: str) -> None:
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO web_users VALUES (?,?,?,?)",
                            (name, password_hash, role, time.time()))

    def web_user(self, name: str) -> sqlite3.Row | None:
        return self.db.execute("SELECT * FROM web_users WHERE name=?", (name,)).fetchone()

    def add_battle(self, prompt: str, model_a: str, answer_a: str, model_b: str, answer_b: str, *, seed: int,
                   source: str = "import") -> int:
        with self.db:
            return self._insert_id("INSERT INTO battles (prompt, model_a, answer_a, model_b, answer_b, seed, "
                                   "source, created) VALUES (?,?,?,?,?,?,?,?)",
                                   (prompt, model_a, answer_a, model_b, answer_b, seed, source, time.time()))

    def battle(self, battle_id: int) -> sqlite3.Row | None:
        return self.db.execute("SELECT * FROM battles WHERE id=?", (battle_id,)).fetchone()

    def battles(self) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM battles ORDER BY id").fetchall()

    def next_battle_for(self, reviewer: str) -> sqlite3.Row | None:
        """The oldest battle this reviewer has not voted on yet."""
        return self.db.execute("SELECT * FROM battles WHERE id NOT IN (SELECT battle_id FROM votes WHERE "
                               "reviewer=?) ORDER BY id LIMIT 1", (reviewer,)).fetchone()

    def add_vote(self, row: dict) -> int:
        """One complete vote row: reviewer, prompt, both answers with their models, the vote, any correction."""
        columns = ("battle_id", "reviewer", "prompt", "left_model", "left_answer", "right_model", "right_answer",
                   "vote", "winner", "correction", "comment")
        with self.db:
            return self._insert_id(f"INSERT INTO votes ({', '.join(columns)}, time) VALUES "
                                   f"({', '.join('?' * len(columns))}, ?)",
                                   (*(row.get(c) for c in columns), time.time()))

    def votes(self) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM votes ORDER BY id").fetchall()

    def vote(self, vote_id: int) -> sqlite3.Row | None:
        return self.db.execute("SELECT * FROM votes WHERE id=?", (vote_id,)).fetchone()

    def add_expert_rating(self, row: dict) -> int:
        columns = ("battle_id", "reviewer", "prompt", "model", "answer", "score", "correct", "correction", "comment")
        with self.db:
            return self._insert_id(f"INSERT INTO expert_ratings ({', '.join(columns)}, time) VALUES "
                                   f"({', '.join('?' * len(columns))}, ?)",
                                   (*(row.get(c) for c in columns), time.time()))

    def _insert_id(self, sql: str, params: tuple) -> int:
        """The id of the row this INSERT adds (psycopg has no `lastrowid`: PostgreSQL says it with RETURNING)."""
        if dialect.is_postgres(self.db):
            return self.db.execute(sql + " RETURNING id", params).fetchone()[0]
        return self.db.execute(sql, params).lastrowid

    def expert_ratings(self) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM expert_ratings ORDER BY id").fetchall()

    def votes_on_model(self, name: str) -> list[sqlite3.Row]:
        """Votes on a battle where either answer came from `name` (NAME, NAME@ALIAS or NAME:VERSION), oldest first."""
        left, right = _model_of(name, "left_model"), _model_of(name, "right_model")
        return self.db.execute(f"SELECT * FROM votes WHERE ({left[0]}) OR ({right[0]}) ORDER BY id",
                               (*left[1], *right[1])).fetchall()

    def expert_ratings_on_model(self, name: str) -> list[sqlite3.Row]:
        """Expert ratings of answers from `name` (NAME, NAME@ALIAS or NAME:VERSION), oldest first."""
        where, params = _model_of(name, "model")
        return self.db.execute(f"SELECT * FROM expert_ratings WHERE {where} ORDER BY id", params).fetchall()

    def metric_names(self, run_id: str) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT DISTINCT name FROM metrics WHERE run_id=? ORDER BY name",
                                              (run_id,))]


def _model_of(name: str, column: str) -> tuple[str, tuple]:
    """SQL for "`column` names model `name` or one of its versions/aliases" (a prefix test, not LIKE: names may
    hold `_`, a LIKE wildcard)."""
    return (f"{column} = ? OR substr({column}, 1, ?) IN (?, ?)", (name, len(name) + 1, f"{name}@", f"{name}:"))


def _connect_postgres(url: str):
    try:
        return dialect.connect(url, timeout=BUSY_TIMEOUT_SECONDS)
    except ImportError:
        raise HonedError("HONED_STORE points at PostgreSQL but psycopg is not installed",
                         "pip install 'honed[scale]' (or psycopg[binary])") from None
    except Exception as error:  # noqa: BLE001 - psycopg.OperationalError: refused, bad password, no database
        host = url.split("@")[-1]  # never echo the password
        raise HonedError(f"cannot open the PostgreSQL store at {host}: {str(error).splitlines()[0]}",
                         "check HONED_STORE (postgresql://user:password@host:port/database) and that the "
                         "server is running") from None


def _private_file(path: Path) -> None:
    """Create the database file 0600 (SQLite gives its -wal/-shm files the same mode), and tighten an old one.

    An existing file is never opened here: closing any descriptor of it drops every POSIX lock this process
    holds on it, including those of Stores already open (e.g. `honed serve`'s request log), after which another
    process may take the database for unused and delete its WAL index under them ("disk I/O error")."""
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600))
    except FileExistsError:
        pass
    if os.stat(path).st_mode & 0o077:
        os.chmod(path, 0o600)
