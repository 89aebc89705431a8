"""Several servers writing to one PostgreSQL store: no request-log row is lost, every first open migrates once,
and concurrent alias moves form one unbroken chain (each move saw the holder the previous move left)."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pgkit import fresh_postgres_schema

SRC = Path(__file__).resolve().parents[2] / "src"
WRITERS, REQUESTS_EACH = 4, 40

# Each process waits for the start file, then opens the (possibly unmigrated) store and writes.
WRITER = """
import os, sys, time
from pathlib import Path
start, writer, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
while not start.exists():
    time.sleep(0.002)
from honed.core.store import Store
with Store() as store:
    for i in range(count):
        store.log_request(f"{writer}-{i}", model="m", adapter=None, version=None, endpoint="/v1/completions",
                          request={"prompt": str(i)}, response="ok", latency_s=0.01, prompt_tokens=1,
                          completion_tokens=1, sampling={})
        if i % 10 == 0:
            store.add_feedback(f"{writer}-{i}", 1)
        if i % 8 == 0:
            store.move_alias("m", "production", i, who=writer)
"""


@pytest.fixture
def postgres_store():
    yield from fresh_postgres_schema()


def test_concurrent_writers_lose_no_row(postgres_store, tmp_path):
    start = tmp_path / "go"
    env = {**os.environ, "HONED_STORE": postgres_store, "PYTHONPATH": str(SRC)}
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(start), f"w{n}", str(REQUESTS_EACH)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for n in range(WRITERS)]
    time.sleep(1.0)  # every interpreter reaches the wait loop: the first opens race on the migration
    start.touch()
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err[-2000:]

    from honed.core.store import MIGRATIONS, Store

    with Store(postgres_store) as store:
        ids = {r["id"] for r in store.requests(limit=10_000)}
        assert ids == {f"w{n}-{i}" for n in range(WRITERS) for i in range(REQUESTS_EACH)}
        assert len(store.feedback()) == WRITERS * len(range(0, REQUESTS_EACH, 10))
        assert store.db.execute("SELECT count(*) FROM schema_version").fetchone()[0] == 1
        assert store.version == len(MIGRATIONS)
        moves = store.alias_history("m", "production")
        assert len(moves) == WRITERS * len(range(0, REQUESTS_EACH, 8))
        # Serialised moves: each one's `from` is the previous one's `to`.
        assert [m["from_version"] for m in moves[1:]] == [m["to_version"] for m in moves[:-1]]
        assert store.aliases("m") == {"production": moves[-1]["to_version"]}
