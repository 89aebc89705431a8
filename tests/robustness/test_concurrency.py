"""Several processes opening one fresh store at the same moment: every one succeeds, the schema is applied once."""
from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
PROCESSES, ROUNDS = 6, 6

# Each process waits for the start file, then opens the store and writes to it.
OPENER = """
import os, sys, time
from pathlib import Path
start = Path(sys.argv[1])
while not start.exists():
    time.sleep(0.002)
from honed.core.store import Store
with Store() as store:
    store.record_dataset(f"h{os.getpid()}", "p", "/x", 1)
    store.start_run(f"r{os.getpid()}", "train", "p", "/x", {})
    store.log_metrics(f"r{os.getpid()}", 1, {"loss": 1.0})
"""


def _start_together(home: Path, script: str, count: int) -> list[subprocess.CompletedProcess]:
    start = home.parent / f"{home.name}.go"
    env = {**os.environ, "HONED_HOME": str(home), "PYTHONPATH": str(SRC)}
    procs = [subprocess.Popen([sys.executable, "-c", script, str(start)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(count)]
    time.sleep(0.5)  # let every interpreter start and reach the wait loop
    start.touch()
    results = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        results.append(subprocess.CompletedProcess(p.args, p.returncode, out, err))
    return results


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_processes_opening_a_fresh_store_at_once_all_succeed(tmp_path, round_):
    home = tmp_path / "home"
    results = _start_together(home, OPENER, PROCESSES)
    failures = [r.stderr[-500:] for r in results if r.returncode != 0]
    assert not failures, failures
    db = sqlite3.connect(home / "honed.db")
    from honed.core.store import MIGRATIONS

    assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert db.execute("SELECT count(*) FROM datasets").fetchone()[0] == PROCESSES
    assert db.execute("SELECT count(*) FROM metrics").fetchone()[0] == PROCESSES
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_store_files_are_private(tmp_path, monkeypatch):
    from honed.core.store import Store

    home = tmp_path / "fresh-home"
    monkeypatch.setenv("HONED_HOME", str(home))
    with Store() as store:
        store.record_dataset("h", "p", "/x", 1)
        assert stat.S_IMODE(home.stat().st_mode) == 0o700
        for name in ("honed.db", "honed.db-wal", "honed.db-shm"):
            path = home / name
            assert path.exists(), name
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, name


def test_an_old_world_readable_store_is_tightened(tmp_path):
    from honed.core.store import Store

    path = tmp_path / "h.db"
    sqlite3.connect(path).close()
    path.chmod(0o644)
    Store(path).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_failing_migration_leaves_the_version_and_schema_untouched(tmp_path, monkeypatch):
    from honed.core import store as store_module

    def broken(db):
        db.execute("CREATE TABLE half_done (x)")
        raise RuntimeError("migration bug")

    Store = store_module.Store
    Store(tmp_path / "h.db").close()
    monkeypatch.setattr(store_module, "MIGRATIONS", [*store_module.MIGRATIONS, broken])
    with pytest.raises(RuntimeError):
        Store(tmp_path / "h.db")
    db = sqlite3.connect(tmp_path / "h.db")
    assert db.execute("PRAGMA user_version").fetchone()[0] == len(store_module.MIGRATIONS) - 1
    assert not db.execute("SELECT name FROM sqlite_master WHERE name='half_done'").fetchall()


def test_several_honed_prepare_processes_share_one_fresh_store(tiny_project, tmp_path):
    """Real `honed data prepare` commands, started together on an empty HONED_HOME, each record their dataset."""
    home = tmp_path / "shared-home"
    config = tiny_project.read_text(encoding="utf-8").replace("data:\n", "data:\n  audit_tokens: false\n")
    tiny_project.write_text(config, encoding="utf-8")
    script = """
import sys, time
from pathlib import Path
start = Path(sys.argv[1])
while not start.exists():
    time.sleep(0.002)
from honed.cli import main
sys.exit(main(["data", "prepare", sys.argv[2], "-o", sys.argv[3], f"data.split.seed={sys.argv[4]}"]))
"""
    start = tmp_path / "go"
    env = {**os.environ, "HONED_HOME": str(home), "PYTHONPATH": str(SRC), "OMP_NUM_THREADS": "1"}
    procs = [subprocess.Popen([sys.executable, "-c", script, str(start), str(tiny_project), str(tmp_path / f"out{i}"),
                               str(i)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(3)]
    time.sleep(1.0)
    start.touch()
    results = [p.communicate(timeout=180) + (p.returncode,) for p in procs]
    assert all(code == 0 for _, _, code in results), [err[-800:] for _, err, _ in results]
    db = sqlite3.connect(home / "honed.db")
    assert db.execute("SELECT count(DISTINCT path) FROM datasets").fetchone()[0] == 3
