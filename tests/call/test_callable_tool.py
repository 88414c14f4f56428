"""CapFenceTool on plain Python callables: same function to the caller, every call decided and audited first."""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from capfence import ActionRuntime, ApprovalRequired, CapFenceError, CapFenceTool, ToolCallDenied
from tests.support.audit import audit_rows

POLICY = """
deny:
  - id: no-rm
    capability: shell.execute
    contains: rm -rf
require_approval:
  - id: hold-systemctl
    capability: shell.execute
    contains: systemctl
warn:
  - id: watch-shell
    capability: shell.execute
allow:
  - id: reads
    capability: fs.read
"""


@pytest.fixture
def rt(runtime: Callable[..., ActionRuntime]) -> ActionRuntime:
    return runtime(POLICY)


def make_shell(marker: Path) -> Callable[..., str]:
    def run_shell(command: str, timeout: int = 30, **env: str) -> str:
        """Run a shell command (pretend)."""
        marker.write_text(command)
        return f"ran {command}"

    return run_shell


def make_async_shell(marker: Path) -> Callable[..., Any]:
    async def run_shell(command: str, timeout: int = 30, **env: str) -> str:
        """Run a shell command (pretend, async)."""
        await asyncio.sleep(0)
        marker.write_text(command)
        return f"ran {command}"

    return run_shell


def decisions(tmp_path: Path) -> list[dict[str, Any]]:
    return audit_rows(tmp_path / "audit.db", "decision")


# --- identity -------------------------------------------------------------------------


@pytest.mark.parametrize("factory", [make_shell, make_async_shell], ids=["sync", "async"])
def test_signature_and_metadata_preserved(
    factory: Callable[[Path], Callable[..., Any]], rt: ActionRuntime, tmp_path: Path
) -> None:
    fn = factory(tmp_path / "m")
    before = dict(vars(fn))
    safe = CapFenceTool(tool=fn, agent_id="a", capability="shell.execute", gate=rt)

    assert safe is not fn
    assert inspect.signature(safe) == inspect.signature(fn)
    assert str(inspect.signature(safe)) == "(command: 'str', timeout: 'int' = 30, **env: 'str') -> 'str'"
    assert (safe.__name__, safe.__qualname__, safe.__doc__, safe.__module__) == (
        fn.__name__,
        fn.__qualname__,
        fn.__doc__,
        fn.__module__,
    )
    assert inspect.iscoroutinefunction(safe) is inspect.iscoroutinefunction(fn)
    assert vars(fn) == before  # the caller's function object is unchanged
    assert "__signature__" not in vars(fn)


def test_caller_function_stays_ungated(rt: ActionRuntime, tmp_path: Path) -> None:
    marker = tmp_path / "m"
    fn = make_shell(marker)
    CapFenceTool(tool=fn, agent_id="a", capability="shell.execute", gate=rt)
    assert fn("rm -rf /tmp/x") == "ran rm -rf /tmp/x"
    assert marker.read_text() == "rm -rf /tmp/x"
    assert not (tmp_path / "audit.db").exists() or decisions(tmp_path) == []


# --- decisions ----------------------------------------------------------------------


def test_warn_runs_and_is_audited(rt: ActionRuntime, tmp_path: Path) -> None:
    marker = tmp_path / "m"
    safe = CapFenceTool(tool=make_shell(marker), agent_id="prod-agent", capability="shell.execute", gate=rt)
    assert safe("ls", EXTRA="1") == "ran ls"
    assert marker.read_text() == "ls"
    (row,) = decisions(tmp_path)
    assert (row["decision"], row["rule"], row["tool"], row["framework"], row["agent_id"]) == (
        "warn",
        "watch-shell",
        "run_shell",
        "python",
        "prod-agent",
    )
    # positional bound to its name, the default applied, **kwargs flattened into the top level
    assert json.loads(row["payload"]) == {"command": "ls", "timeout": 30, "EXTRA": "1"}


def test_allow_runs(rt: ActionRuntime, tmp_path: Path) -> None:
    def read_file(path: str) -> str:
        return f"contents of {path}"

    safe = CapFenceTool(tool=read_file, agent_id="a", capability="fs.read", gate=rt, name="reader")
    assert safe(path="/x") == "contents of /x"
    (row,) = decisions(tmp_path)
    assert (row["decision"], row["tool"]) == ("allow", "reader")


@pytest.mark.parametrize("factory", [make_shell, make_async_shell], ids=["sync", "async"])
def test_deny_raises_and_body_never_runs(
    factory: Callable[[Path], Callable[..., Any]], rt: ActionRuntime, tmp_path: Path
) -> None:
    marker = tmp_path / "m"
    safe = CapFenceTool(tool=factory(marker), agent_id="a", capability="shell.execute", gate=rt)
    with pytest.raises(ToolCallDenied) as caught:
        result = safe(command="rm -rf /tmp/x")
        if inspect.isawaitable(result):
            asyncio.run(result)  # type: ignore[arg-type]
    assert isinstance(caught.value, PermissionError)
    assert not isinstance(caught.value, ApprovalRequired)
    assert (caught.value.decision.action, caught.value.decision.rule) == ("deny", "no-rm")
    assert "no-rm" in str(caught.value)
    assert not marker.exists()
    rows = audit_rows(tmp_path / "audit.db")
    assert [(r["kind"], r["decision"], r["outcome"]) for r in rows] == [
        ("decision", "deny", None),
        ("outcome", "deny", "blocked"),
    ]
    assert rows[0]["tool"] == "run_shell" and rows[0]["framework"] == "python"


@pytest.mark.parametrize("factory", [make_shell, make_async_shell], ids=["sync", "async"])
def test_require_approval_raises_with_request_id(
    factory: Callable[[Path], Callable[..., Any]], rt: ActionRuntime, tmp_path: Path
) -> None:
    marker = tmp_path / "m"
    safe = CapFenceTool(tool=factory(marker), agent_id="a", capability="shell.execute", gate=rt)
    with pytest.raises(ApprovalRequired) as caught:
        result = safe(command="systemctl restart db")
        if inspect.isawaitable(result):
            asyncio.run(result)  # type: ignore[arg-type]
    assert isinstance(caught.value, ToolCallDenied) and isinstance(caught.value, PermissionError)
    assert caught.value.request_id
    assert caught.value.request_id == caught.value.decision.approval_id
    assert caught.value.decision.rule == "hold-systemctl"
    assert not marker.exists()
    (row,) = decisions(tmp_path)
    assert row["decision"] == "require_approval"


def test_async_warn_runs(rt: ActionRuntime, tmp_path: Path) -> None:
    marker = tmp_path / "m"
    safe = CapFenceTool(tool=make_async_shell(marker), agent_id="a", capability="shell.execute", gate=rt)

    async def main() -> list[str]:
        return list(await asyncio.gather(*(safe(f"echo {i}") for i in range(5))))

    assert asyncio.run(main()) == [f"ran echo {i}" for i in range(5)]
    rows = audit_rows(tmp_path / "audit.db")
    assert sorted(r["outcome"] for r in rows if r["kind"] == "outcome") == ["ran"] * 5
    assert {r["framework"] for r in rows if r["kind"] == "decision"} == {"python"}


def test_tool_exception_propagates_and_is_recorded(rt: ActionRuntime, tmp_path: Path) -> None:
    def flaky(command: str) -> str:
        raise OSError("disk on fire")

    safe = CapFenceTool(tool=flaky, agent_id="a", capability="shell.execute", gate=rt)
    with pytest.raises(OSError, match="disk on fire"):
        safe("ls")
    outcome = audit_rows(tmp_path / "audit.db", "outcome")[-1]
    assert outcome["outcome"] == "tool_error" and "disk on fire" in outcome["detail"]


def test_unbindable_call_is_still_decided(rt: ActionRuntime, tmp_path: Path) -> None:
    safe = CapFenceTool(tool=make_shell(tmp_path / "m"), agent_id="a", capability="shell.execute", gate=rt)
    with pytest.raises(ToolCallDenied):
        safe("ls", "rm -rf /", "too", "many")  # arguments the signature cannot bind are audited as given
    assert json.loads(decisions(tmp_path)[-1]["payload"]) == {"args": ["ls", "rm -rf /", "too", "many"]}


def test_recursive_call_is_gated_again(rt: ActionRuntime, tmp_path: Path) -> None:
    """A tool that calls its own gated self makes a new call: decided and audited, not waved through."""
    ran: list[str] = []

    def shell(command: str, depth: int = 0) -> str:
        ran.append(command)
        return safe(command="rm -rf /", depth=1) if depth == 0 else "inner"

    safe = CapFenceTool(tool=shell, agent_id="a", capability="shell.execute", gate=rt)
    with pytest.raises(ToolCallDenied):
        safe(command="ls")
    assert ran == ["ls"]
    assert [r["decision"] for r in decisions(tmp_path)] == ["warn", "deny"]


def test_callable_object(rt: ActionRuntime, tmp_path: Path) -> None:
    class Shell:
        """A callable object."""

        def __init__(self) -> None:
            self.calls: list[str] = []

        def __call__(self, command: str) -> str:
            self.calls.append(command)
            return "ok"

    obj = Shell()
    safe = CapFenceTool(tool=obj, agent_id="a", capability="shell.execute", gate=rt)
    assert safe(command="ls") == "ok"
    with pytest.raises(ToolCallDenied):
        safe(command="rm -rf /")
    assert obj.calls == ["ls"]
    assert str(inspect.signature(safe)) == "(command: 'str') -> 'str'"
    assert decisions(tmp_path)[0]["tool"] == "Shell"


def test_object_without_adapter(rt: ActionRuntime) -> None:
    with pytest.raises(CapFenceError, match=r"no CapFence adapter accepts builtins\.int"):
        CapFenceTool(tool=42, agent_id="a", capability="shell.execute", gate=rt)


@pytest.mark.parametrize(("agent_id", "capability"), [("", "shell.execute"), ("a", "")])
def test_identity_is_required(rt: ActionRuntime, agent_id: str, capability: str) -> None:
    with pytest.raises(CapFenceError, match="non-empty agent_id and capability"):
        CapFenceTool(tool=print, agent_id=agent_id, capability=capability, gate=rt)
