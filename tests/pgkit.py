"""The store tests run on SQLite and on PostgreSQL: `store_target` yields a fresh SQLite path or a PostgreSQL URL
whose `search_path` is a new schema (dropped afterwards). PostgreSQL comes from `HONED_TEST_POSTGRES`
(`make test` installs and starts a loopback server and sets it); without it the PostgreSQL cases skip and say why."""
from __future__ import annotations

import os
import uuid
from urllib.parse import quote

import pytest

PG_ENV = "HONED_TEST_POSTGRES"


def postgres_url_or_skip() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"{PG_ENV} is unset: no PostgreSQL to test against (`make test` starts one on 127.0.0.1)")
    psycopg = pytest.importorskip("psycopg", reason="psycopg is not installed (pip install 'psycopg[binary]')")
    try:
        psycopg.connect(url, connect_timeout=3).close()
    except psycopg.OperationalError as error:
        pytest.skip(f"PostgreSQL at {url.split('@')[-1]} is unreachable: {str(error).splitlines()[0]}")
    return url


def schema_url(url: str, schema: str) -> str:
    """The same database, with every unqualified table in `schema`."""
    return f"{url}{'&' if '?' in url else '?'}options={quote(f'-csearch_path={schema}')}"


def fresh_postgres_schema():
    """A generator: create a schema, yield its URL, drop it with everything in it."""
    import psycopg

    url = postgres_url_or_skip()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    try:
        yield schema_url(url, schema)
    finally:
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", "postgresql"])
def store_target(request, tmp_path):
    """What to pass to `Store(...)`: a SQLite file, or a PostgreSQL URL with an empty schema."""
    if request.param == "sqlite":
        yield tmp_path / "h.db"
    else:
        yield from fresh_postgres_schema()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_backend(request, monkeypatch):
    """`Store()` with no argument opens SQLite under HONED_HOME, or PostgreSQL through HONED_STORE."""
    if request.param == "sqlite":
        monkeypatch.delenv("HONED_STORE", raising=False)
        yield "sqlite"
        return
    for url in fresh_postgres_schema():
        monkeypatch.setenv("HONED_STORE", url)
        yield "postgresql"
