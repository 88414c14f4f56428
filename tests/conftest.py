"""Shared fixtures for the core test suite.

Everything here is real: policies are YAML files in ``tmp_path``, audit logs
are SQLite files next to them, and the plugin manager is CapFence's own,
rebuilt for tests that change what is registered.
"""

from __future__ import annotations

import importlib
import sqlite3
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import capfence.plugins
from capfence.policy.shell import shortcuts
from capfence.runtime import ActionRuntime

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"


def audit_rows(path: str | Path, kind: str | None = None) -> list[dict[str, Any]]:
    """Every record in the SQLite audit log at ``path`` (of ``kind`` if given), in chain order."""
    conn = sqlite3.connect(f"file:{Path(path).absolute()}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        if kind is None:
            rows = conn.execute("SELECT * FROM records ORDER BY seq").fetchall()
        else:
            rows = conn.execute("SELECT * FROM records WHERE kind = ? ORDER BY seq", (kind,)).fetchall()
        return [dict(r) for r in rows]
    finally:
        conn.close()


@pytest.fixture(name="audit_rows")
def audit_rows_fixture() -> Callable[..., list[dict[str, Any]]]:
    """:func:`audit_rows` as a fixture: ``audit_rows(path, kind=None)``."""
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


@pytest.fixture
def fresh_plugins() -> Iterator[None]:
    """A fresh process-wide plugin manager for this test, and a fresh one again after it."""
    capfence.plugins.reset()
    yield
    capfence.plugins.reset()


@pytest.fixture
def install_plugin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_plugins: None
) -> Iterator[Callable[[str, str], None]]:
    """``install_plugin(name, source)``: a real installed distribution exposing module ``name`` in the ``capfence`` entry-point group.

    The module and a ``.dist-info`` with ``entry_points.txt`` are written to a
    directory put on ``sys.path``, exactly what ``pip install`` leaves behind;
    the next plugin manager built finds it through ``importlib.metadata``.
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
        capfence.plugins.reset()

    yield install
    for name in installed:
        sys.modules.pop(name, None)


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
