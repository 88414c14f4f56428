"""Fixtures for the PostgreSQL store tests: a real server, started once per session, and a fresh database per test.

Import the fixtures you use into the test module::

    pytest_plugins = ["conftest_postgres"]

Without PostgreSQL binaries or psycopg the tests are skipped with the reason
spelled out (install Debian's ``postgresql`` package and
``pip install -e '.[test,postgres]'``; ``.ci/run`` and the nox ``tests``
session do both). With ``CI`` set, a missing server fails instead of skipping.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from capfence.audit.postgres_schema import CHAIN_LOCK, DEFAULT_PARTITIONS, PARTITION_LOCK
from postgres_server import INSTALL_HINT, PostgresServer, find_binaries


def _require_postgres() -> None:
    problems = []
    try:
        import psycopg  # noqa: F401
        import psycopg_pool  # noqa: F401
    except ImportError as exc:
        problems.append(f"{exc.name} is not installed (pip install -e '.[test,postgres]')")
    if find_binaries() is None:
        problems.append(f"no PostgreSQL server binaries ({INSTALL_HINT})")
    if problems:
        message = "PostgreSQL store tests NOT RUN: " + "; ".join(problems)
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the whole session (tests that stop a server start their own)."""
    _require_postgres()
    with PostgresServer() as server:
        yield server


@pytest.fixture
def pg_url(pg_server: PostgresServer) -> str:
    """The URL of a new, empty database on the session's server."""
    return pg_server.create_database()


@pytest.fixture
def own_pg_server() -> Iterator[PostgresServer]:
    """A server of this test's own, free to stop and restart."""
    _require_postgres()
    with PostgresServer() as server:
        yield server


def hold_every_chain_lock(conn: object, partitions: int = DEFAULT_PARTITIONS) -> None:
    """Take the lock of every chain (partition 0 and 1..``partitions``) in ``conn``'s open transaction: a writer stuck inside."""
    execute = conn.execute  # type: ignore[attr-defined]
    execute(CHAIN_LOCK)
    for part in range(1, partitions + 1):
        execute(PARTITION_LOCK.format(part=part))
