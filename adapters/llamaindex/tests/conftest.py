"""Fixtures for the LlamaIndex adapter tests. No network, no real model: see li_support.scripted_llm."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from capfence import ActionRuntime
from capfence.testing import capfence_runtime  # noqa: F401 - the contract suite's fixture

POLICY = """
deny:
  - id: no-secrets
    capability: "*"
    contains: secret
    reason: secrets are off limits
require_approval:
  - id: hold-deploys
    capability: deploy.production
    reason: production deploys need a human
warn:
  - id: observe-writes
    capability: filesystem.write
  - id: observe-tools
    capability: tool.*
allow:
  - id: reads
    capability: filesystem.read
"""


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
    policy.write_text(textwrap.dedent(POLICY))
    rt = ActionRuntime.from_policy(policy, audit_log=tmp_path / "audit.db")
    yield rt
    rt.close()


def pytest_configure(config: pytest.Config) -> None:
    # LlamaIndex's workflow step discovery walks agent attributes with inspect.getmembers, which
    # touches pydantic's deprecated class attributes: noise from the framework, not from CapFence.
    config.addinivalue_line("filterwarnings", "ignore::DeprecationWarning:inspect")
    config.addinivalue_line(
        "filterwarnings", "ignore:is_running called from within a step:DeprecationWarning"
    )
