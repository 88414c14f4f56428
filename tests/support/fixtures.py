"""The core suite's pytest plugin: the fixtures every test module may ask for by name, registered once.

``tests/conftest.py`` lists this module in ``pytest_plugins`` (as tox's ``tox.pytest`` is registered), so no
test module imports a fixture. Everything here is real: policies are YAML files in ``tmp_path``, audit logs
are SQLite files next to them, plugin registries are CapFence's own, built fresh for tests that change what
is installed, and PostgreSQL is a real server (:mod:`tests.support.postgres_server`).

Without PostgreSQL binaries or psycopg the PostgreSQL fixtures skip with the reason spelled out (install
Debian's ``postgresql`` package and ``pip install -e '.[test,postgres]'``; ``.ci/run`` and the nox ``tests``
session do both). With ``CI`` set, a missing server fails instead of skipping.
"""

from __future__ import annotations

import importlib
import os
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from capfence.call.runtime import ActionRuntime
from capfence.plugins import Registry, build_registry
from capfence.policy.compiled import Policy
from capfence.policy.shell import shortcuts
from capfence.testing import capfence_runtime
from tests.support.audit import audit_rows
from tests.support.loading import load_policy
from tests.support.paths import SHELL_PACK
from tests.support.postgres_server import INSTALL_HINT, PostgresServer, find_binaries

__all__ = [
    "audit_key",
    "audit_location",
    "audit_rows_fixture",
    "capfence_runtime",
    "install_plugin",
    "own_pg_server",
    "pg_server",
    "pg_url",
    "plugins",
    "runtime",
    "shell_pack",
    "write_policy",
]

# --- policies and runtimes ------------------------------------------------------------------


@pytest.fixture(name="audit_rows")
def audit_rows_fixture() -> Callable[..., list[dict[str, Any]]]:
    """:func:`tests.support.audit.audit_rows` as a fixture: ``audit_rows(path, kind=None)``."""
    return audit_rows


@pytest.fixture
def write_policy(tmp_path: Path) -> Callable[..., Path]:
    """``write_policy(text, name="policy.yaml") -> Path``: write dedented YAML into ``tmp_path``."""

    def write(text: str, name: str = "policy.yaml") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return write


@pytest.fixture
def runtime(tmp_path: Path, write_policy: Callable[..., Path]) -> Iterator[Callable[..., ActionRuntime]]:
    """``runtime(policy_text, **kwargs) -> ActionRuntime`` with its audit log at ``tmp_path/audit.db``.

    Every runtime built is closed at the end of the test.
    """
    built: list[ActionRuntime] = []

    def make(policy_text: str, **kwargs: Any) -> ActionRuntime:
        kwargs.setdefault("audit_log", tmp_path / "audit.db")
        rt = ActionRuntime.from_policy(write_policy(policy_text), **kwargs)
        built.append(rt)
        return rt

    yield make
    for rt in built:
        rt.close()


@pytest.fixture(scope="module")
def shell_pack() -> Policy:
    """The hardened shell pack (``policies/packs/shell.yaml``), loaded once per test module."""
    return load_policy(SHELL_PACK)


@pytest.fixture(params=[None, "audit test key"], ids=["unkeyed", "keyed"])
def audit_key(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str | None:
    """Each test twice: without an audit key, and with ``$CAPFENCE_AUDIT_KEY`` set (the chain then HMAC-keyed)."""
    key: str | None = request.param
    if key:
        monkeypatch.setenv("CAPFENCE_AUDIT_KEY", key)
    else:
        monkeypatch.delenv("CAPFENCE_AUDIT_KEY", raising=False)
    return key


# --- plugins --------------------------------------------------------------------------------


@pytest.fixture
def plugins() -> Registry:
    """A fresh plugin registry (built-ins and installed entry points): ``runtime(policy, plugins=plugins)`` uses it.

    Without it, each runtime builds its own, as ``ActionRuntime.from_policy`` does.
    """
    return build_registry()


@pytest.fixture
def install_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str, str], None]]:
    """``install_plugin(name, source)``: a real installed distribution exposing module ``name`` in the ``capfence`` entry-point group.

    The module and a ``.dist-info`` with ``entry_points.txt`` are written to a
    directory put on ``sys.path``, exactly what ``pip install`` leaves behind;
    the next plugin registry built finds it through ``importlib.metadata``.
    """
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    installed: list[str] = []

    def install(name: str, source: str) -> None:
        (site / f"{name}.py").write_text(textwrap.dedent(source), encoding="utf-8")
        dist = site / f"{name}-1.0.dist-info"
        dist.mkdir()
        (dist / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n", encoding="utf-8"
        )
        (dist / "entry_points.txt").write_text(f"[capfence]\n{name} = {name}\n", encoding="utf-8")
        installed.append(name)
        importlib.invalidate_caches()

    yield install
    for name in installed:
        sys.modules.pop(name, None)


# --- PostgreSQL -----------------------------------------------------------------------------


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


@pytest.fixture(params=["sqlite", "postgres"])
def audit_location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test twice: an audit log in a SQLite file, then in a new PostgreSQL database (:func:`pg_url`)."""
    if request.param == "sqlite":
        return str(tmp_path / "audit.db")
    return str(request.getfixturevalue("pg_url"))


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


@pytest.fixture(autouse=True)
def _shortcuts_on_for_their_own_tests(request: pytest.FixtureRequest) -> Iterator[None]:
    """Tests marked ``shortcuts`` test a shortcut of the shell matcher itself (its cache, its budget, what it skips):
    they turn the shortcuts on for themselves when the suite runs with ``CAPFENCE_SHELL_SHORTCUTS=off``."""
    if shortcuts.ENABLED or request.node.get_closest_marker("shortcuts") is None:
        yield
        return
    shortcuts.set_enabled(True)
    try:
        yield
    finally:
        shortcuts.set_enabled(False)
