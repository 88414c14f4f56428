"""Fixtures for the LangChain adapter tests. No network, no real model: see lc_support.ScriptedChatModel."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from lc_support import POLICY

from capfence import ActionRuntime
from capfence.testing import capfence_runtime  # noqa: F401 - the contract suite's fixture


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """Where the test tools create files: a file's existence proves a body ran."""
    path = tmp_path / "work"
    path.mkdir()
    return path


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[ActionRuntime]:
    """A runtime on :data:`POLICY` (default deny) with its audit log in ``tmp_path``."""
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    rt = ActionRuntime.from_policy(policy, audit_log=tmp_path / "audit.db")
    yield rt
    rt.close()
