"""Fixtures for the console tests (``nox -s web``); skipped as a whole when the ``capfence[web]`` extra is missing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.web.web_support import POLICY, STRICT, TOKEN, populate

try:  # without the extra every test module here skips itself (web_support.require_web)
    from starlette.testclient import TestClient

    from capfence.web.app import create_app
    from capfence.web.console import Settings
except ImportError:
    TestClient = Any


@pytest.fixture
def policy_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "policies"
    directory.mkdir()
    (directory / "policy.yaml").write_text(POLICY.lstrip("\n"))
    (directory / "strict.yaml").write_text(STRICT)
    return directory


@pytest.fixture
def audit_log(tmp_path: Path, policy_dir: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    location = str(tmp_path / "audit.db")
    yield location, populate(policy_dir / "policy.yaml", location)


@pytest.fixture
def make_client(
    audit_log: tuple[str, dict[str, Any]], policy_dir: Path
) -> Iterator[Callable[..., TestClient]]:
    """``make_client(**settings) -> TestClient`` on the populated log (not signed in)."""
    apps: list[Any] = []

    def make(**overrides: Any) -> TestClient:
        settings = Settings(
            **{"audit_log": audit_log[0], "users": {"alice": TOKEN}, "policy_dir": policy_dir, **overrides}
        )
        app = create_app(settings, warm_up=False)
        apps.append(app)
        return TestClient(app, base_url="http://127.0.0.1")

    yield make
    for app in apps:
        app.state.console.close()
