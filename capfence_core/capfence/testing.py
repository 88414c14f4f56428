"""Test helpers for adapter authors: fixtures and the adapter contract suite.

Subclass :class:`AdapterContract` in your adapter's tests and implement the
three hooks (``make_tool``, ``call``, ``describe``); every test below then
runs against your framework::

    class TestMyAdapter(AdapterContract):
        framework = "myframework"
        entry_points = ("run", "arun")

        def make_tool(self, body):
            return MyTool(name="probe", description="Probe tool.", fn=lambda command: body(command=command))

        def call(self, tool, entry_point, payload):
            return getattr(tool, entry_point)(**payload)

        def describe(self, tool):
            return {"name": tool.name, "description": tool.description, "schema": tool.schema()}

The suite checks that wrapping keeps the tool's kind, name, description and
argument schema; that the caller's tool is not modified; that a deny never
runs the body while warn does, through *every* entry point; that each call
leaves exactly one decision record carrying the framework and tool name;
that an exception inside the gate denies; and that copies of a gated tool
(``copy.copy``, ``copy.deepcopy``; override ``copies``) are still gated.
"""

from __future__ import annotations

import asyncio
import copy
import inspect
import sqlite3
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from capfence.errors import CapFenceError
from capfence.runtime import ActionRuntime
from capfence.tool import CapFenceTool

CONTRACT_POLICY = """
deny:
  - id: no-forbidden
    capability: probe.run
    contains: forbidden
warn:
  - id: observe-probe
    capability: probe.run
"""

Body = Callable[..., str]


def audit_rows(path: str | Path, kind: str = "decision") -> list[dict[str, Any]]:
    """Every audit record of ``kind`` in the SQLite log at ``path``, oldest first."""
    if not Path(path).exists():
        return []
    conn = sqlite3.connect(f"file:{Path(path).absolute()}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute("SELECT * FROM records WHERE kind = ? ORDER BY seq", (kind,))]
    except sqlite3.OperationalError:  # not created yet
        return []
    finally:
        conn.close()


@pytest.fixture
def capfence_runtime(tmp_path: Path) -> Iterator[ActionRuntime]:
    """A runtime on :data:`CONTRACT_POLICY` with its audit log in ``tmp_path``."""
    policy = tmp_path / "policy.yaml"
    policy.write_text(textwrap.dedent(CONTRACT_POLICY))
    runtime = ActionRuntime.from_policy(policy, audit_log=tmp_path / "audit.db")
    yield runtime
    runtime.close()


class _ExplodingGate:
    environment = None

    def decide(self, view: object) -> Any:
        raise RuntimeError("injected gate fault")

    def record_outcome(self, *args: object, **kwargs: object) -> None:
        return None


def resolve(value: Any) -> Any:
    """Run a coroutine to completion; pass anything else through."""
    if inspect.isawaitable(value):

        async def wait() -> Any:
            return await value

        return asyncio.run(wait())
    return value


class AdapterContract:
    """The behaviour every CapFence adapter must have. See the module docstring."""

    framework: str = ""
    entry_points: tuple[str, ...] = ()
    capability = "probe.run"

    # --- to implement -----------------------------------------------------------
    def make_tool(self, body: Body) -> Any:
        """A framework tool named ``probe`` taking one string argument ``command`` and returning ``body(command=...)``."""
        raise NotImplementedError

    def call(self, tool: Any, entry_point: str, payload: dict[str, Any]) -> Any:
        """Call ``tool`` through ``entry_point`` with ``payload``; may return an awaitable."""
        raise NotImplementedError

    def describe(self, tool: Any) -> dict[str, Any]:
        """What the model sees: name, description and argument schema."""
        raise NotImplementedError

    def copies(self, tool: Any) -> list[Any]:
        """Copies a framework may make of a gated tool; each must still be gated (override if one cannot be made)."""
        return [copy.copy(tool), copy.deepcopy(tool)]

    def is_block_result(self, result: Any) -> bool:
        """Whether a returned value is the framework's 'blocked' result (for entry points that do not raise)."""
        return "CapFence deny" in str(result) or "CapFence require_approval" in str(result)

    # --- helpers ----------------------------------------------------------------
    def wrap(self, tool: Any, gate: Any) -> Any:
        return CapFenceTool(tool=tool, agent_id="contract-agent", capability=self.capability, gate=gate)

    def invoke(self, tool: Any, entry_point: str, command: str) -> tuple[bool, Any]:
        """``(raised_block, result)`` for one call."""
        try:
            return False, resolve(self.call(tool, entry_point, {"command": command}))
        except (CapFenceError, PermissionError) as exc:
            return True, exc
        except Exception as exc:
            if "CapFence" in str(exc):
                return True, exc
            raise

    @staticmethod
    def recorder() -> tuple[list[str], Body]:
        ran: list[str] = []

        def body(command: str) -> str:
            ran.append(command)
            return f"ran {command}"

        return ran, body

    # --- the contract -------------------------------------------------------------
    def test_wrapping_preserves_kind_and_schema(self, capfence_runtime: ActionRuntime) -> None:
        _, body = self.recorder()
        tool = self.make_tool(body)
        wrapped = self.wrap(tool, capfence_runtime)
        assert isinstance(wrapped, type(tool))
        assert self.describe(wrapped) == self.describe(tool)

    def test_original_tool_is_not_modified(self, capfence_runtime: ActionRuntime) -> None:
        ran, body = self.recorder()
        tool = self.make_tool(body)
        before = type(tool)
        self.wrap(tool, capfence_runtime)
        assert type(tool) is before
        raised, _ = self.invoke(tool, self.entry_points[0], "forbidden thing")
        assert not raised and ran == ["forbidden thing"], "the caller's own tool must stay ungated"

    def test_deny_never_runs_the_body(self, capfence_runtime: ActionRuntime) -> None:
        for entry_point in self.entry_points:
            ran, body = self.recorder()
            wrapped = self.wrap(self.make_tool(body), capfence_runtime)
            raised, result = self.invoke(wrapped, entry_point, "forbidden thing")
            assert ran == [], f"{entry_point}: the body ran despite deny"
            assert raised or self.is_block_result(result), (
                f"{entry_point}: a blocked call must raise or return the block result, got {result!r}"
            )

    def test_warn_runs_the_body(self, capfence_runtime: ActionRuntime) -> None:
        for entry_point in self.entry_points:
            ran, body = self.recorder()
            wrapped = self.wrap(self.make_tool(body), capfence_runtime)
            raised, result = self.invoke(wrapped, entry_point, "ls")
            assert not raised, f"{entry_point}: warn must not block ({result!r})"
            assert ran == ["ls"], f"{entry_point}: warn must run the body exactly once"

    def test_every_entry_point_writes_one_decision(self, capfence_runtime: ActionRuntime) -> None:
        for entry_point in self.entry_points:
            _, body = self.recorder()
            wrapped = self.wrap(self.make_tool(body), capfence_runtime)
            before = len(audit_rows(capfence_runtime.audit_log))
            self.invoke(wrapped, entry_point, f"echo {entry_point}")
            rows = audit_rows(capfence_runtime.audit_log)[before:]
            assert len(rows) == 1, f"{entry_point}: expected one decision record, got {len(rows)}"
            assert rows[0]["framework"] == self.framework
            assert rows[0]["tool"] == self.describe(wrapped)["name"]
            assert rows[0]["agent_id"] == "contract-agent"
            assert rows[0]["decision"] == "warn"
            assert f"echo {entry_point}" in rows[0]["payload"]

    def test_gate_exception_denies(self) -> None:
        for entry_point in self.entry_points:
            ran, body = self.recorder()
            wrapped = self.wrap(self.make_tool(body), _ExplodingGate())
            raised, result = self.invoke(wrapped, entry_point, "ls")
            assert ran == [], f"{entry_point}: a failing gate must not run the body"
            assert raised or self.is_block_result(result)

    def test_copies_stay_gated(self, capfence_runtime: ActionRuntime) -> None:
        ran, body = self.recorder()
        wrapped = self.wrap(self.make_tool(body), capfence_runtime)
        for twin in self.copies(wrapped):
            raised, result = self.invoke(twin, self.entry_points[0], "forbidden thing")
            assert ran == [], "a copy of a gated tool ran a denied call"
            assert raised or self.is_block_result(result)
