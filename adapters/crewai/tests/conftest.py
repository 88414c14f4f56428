"""Shared set-up: CrewAI offline and quiet (set before CrewAI is imported), a policy, and hook hygiene."""

from __future__ import annotations

import os
import tempfile

for _key, _value in {
    "CREWAI_DISABLE_TELEMETRY": "true",
    "OTEL_SDK_DISABLED": "true",
    "CREWAI_TRACING_ENABLED": "false",
}.items():
    os.environ[_key] = _value
os.environ.setdefault("CREWAI_STORAGE_DIR", tempfile.mkdtemp(prefix="capfence-crewai-storage-"))

import textwrap  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from capfence.call.runtime import ActionRuntime  # noqa: E402
from capfence.testing import capfence_runtime  # noqa: E402, F401 - the contract suite's fixture

CREW_POLICY = """
deny:
  - id: no-rm
    capability: shell.execute
    contains: "rm -rf"
    reason: destructive command
  - id: researchers-no-shell
    capability: shell.execute
    agent: Researcher
    reason: researchers do not run commands
warn:
  - id: observe-shell
    capability: shell.execute
allow:
  - id: lookup-ok
    capability: docs.lookup
"""


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[ActionRuntime]:
    """A runtime on :data:`CREW_POLICY` with its audit log in ``tmp_path``."""
    policy = tmp_path / "policy.yaml"
    policy.write_text(textwrap.dedent(CREW_POLICY))
    with ActionRuntime.from_policy(policy, audit_log=tmp_path / "audit.db") as rt:
        yield rt


@pytest.fixture(autouse=True)
def _clean_crewai_hooks() -> Iterator[None]:
    """Every test starts and ends without CrewAI global hooks (ours included)."""
    from crewai.hooks import clear_all_global_hooks

    clear_all_global_hooks()
    yield
    clear_all_global_hooks()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("filterwarnings", "ignore::DeprecationWarning:crewai")
    config.addinivalue_line("filterwarnings", "ignore::DeprecationWarning:crewai.*")
