"""A held call in a real crew: waiting for the decision in the hook (``approval_wait``), or the request id to the agent.

The Operator's scripted model runs ``shell "ls"``, which the policy holds for
approval. A "human" decides from another thread, through a second runtime on
the same audit database (as ``capfence approvals approve`` in another process
would).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from crewai import Crew
from scripted import ScriptedLLM, build_crew, call, final, ran

from capfence.approvals.requests import ApprovalRequest
from capfence.call.runtime import ActionRuntime
from capfence.testing import audit_rows
from capfence_crewai import guard_crew

CAPABILITIES = {"shell": "shell.execute", "lookup": "docs.lookup"}
POLICY = """\
require_approval:
  - id: shell-needs-a-human
    capability: shell.execute
    reason: a human must approve shell
allow:
  - id: lookup-ok
    capability: docs.lookup
"""


@pytest.fixture
def policy(tmp_path: Path) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY)
    return path


@pytest.fixture
def runtime(policy: Path, tmp_path: Path) -> Iterator[ActionRuntime]:
    with ActionRuntime.from_policy(policy, audit_log=tmp_path / "audit.db") as rt:
        yield rt


def human(
    policy: Path, audit_log: str, decide: Callable[[ActionRuntime, ApprovalRequest], Any]
) -> threading.Thread:
    """A thread that waits for a pending request and decides it through its own runtime on the same audit log."""

    def watch() -> None:
        with ActionRuntime.from_policy(policy, audit_log=audit_log) as desk:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                pending = desk.approvals.list("pending")
                if pending:
                    decide(desk, pending[0])
                    return
                time.sleep(0.05)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def operator_crew(tmp_path: Path, native: bool, command: str = "ls") -> tuple[Crew, ScriptedLLM]:
    crew, operator, _ = build_crew(
        tmp_path, [call("shell", command=command), final()], [final()], native=native
    )
    return crew, operator


def kickoff(crew: Crew, how: str) -> Any:
    return crew.kickoff() if how == "kickoff" else asyncio.run(getattr(crew, how)())


def saw(llm: ScriptedLLM, *texts: str) -> bool:
    return any(all(text in request for text in texts) for request in llm.prompts)


def decisions(runtime: ActionRuntime) -> list[str]:
    return [r["decision"] for r in audit_rows(runtime.audit_log)]


def outcomes(runtime: ActionRuntime) -> list[str]:
    return [r["outcome"] for r in audit_rows(runtime.audit_log, "outcome")]


def approval_events(runtime: ActionRuntime) -> list[str]:
    return [json.loads(r["detail"])["status"] for r in audit_rows(runtime.audit_log, "approval")]


# --- approval_wait: the hook (or the gated tool) waits for the human ------------------------------


@pytest.mark.parametrize("how", ["kickoff", "kickoff_async", "akickoff"])
@pytest.mark.parametrize("native", [False, True], ids=["react", "native"])
@pytest.mark.parametrize("mode", ["hooks", "tools"])
def test_waiting_crew_runs_the_call_once_a_human_approves(
    runtime: ActionRuntime, policy: Path, tmp_path: Path, mode: str, native: bool, how: str
) -> None:
    crew, operator = operator_crew(tmp_path, native)
    guard_crew(crew, gate=runtime, capabilities=CAPABILITIES, mode=mode, approval_wait=20)  # type: ignore[arg-type]
    approver = human(
        policy, runtime.audit_log, lambda desk, request: desk.approvals.approve(request.id, by="ops-lead")
    )

    started = time.monotonic()
    result = kickoff(crew, how)
    approver.join(5)

    assert time.monotonic() - started < 15, "the wait ended when the human decided, not at the timeout"
    assert ran(tmp_path / "shell.log") == ["ls"], "approved: the body ran exactly once"
    assert saw(operator, "output of ls"), "the agent got the tool's real result"
    assert result.raw == "done"
    (request,) = runtime.approvals.list()
    assert (request.status, request.decided_by) == ("consumed", "ops-lead")
    assert decisions(runtime) == ["require_approval", "allow"]
    assert outcomes(runtime) == ["held", "ran"]
    assert approval_events(runtime) == ["pending", "approved", "consumed"]


@pytest.mark.parametrize("native", [False, True], ids=["react", "native"])
@pytest.mark.parametrize("mode", ["hooks", "tools"])
def test_waiting_crew_denied_never_runs_the_call(
    runtime: ActionRuntime, policy: Path, tmp_path: Path, mode: str, native: bool
) -> None:
    crew, operator = operator_crew(tmp_path, native)
    guard_crew(crew, gate=runtime, capabilities=CAPABILITIES, mode=mode, approval_wait=20)  # type: ignore[arg-type]
    approver = human(
        policy, runtime.audit_log, lambda desk, request: desk.approvals.deny(request.id, by="ops-lead")
    )

    result = crew.kickoff()
    approver.join(5)

    assert ran(tmp_path / "shell.log") == []
    (request,) = runtime.approvals.list()
    assert saw(operator, "CapFence deny:", f"approval request {request.id} was denied by ops-lead")
    assert result.raw == "done", "the crew carried on"
    assert decisions(runtime) == ["require_approval", "deny"]
    assert outcomes(runtime) == ["held", "blocked"]
    assert approval_events(runtime) == ["pending", "denied"]


def test_waiting_crew_gives_up_after_approval_wait(runtime: ActionRuntime, tmp_path: Path) -> None:
    crew, operator = operator_crew(tmp_path, native=True)
    guard_crew(crew, gate=runtime, capabilities=CAPABILITIES, approval_wait=0.3)

    started = time.monotonic()
    crew.kickoff()

    assert 0.3 <= time.monotonic() - started < 10
    (request,) = runtime.approvals.list()
    assert request.status == "pending", "a timeout never decides: the request stays for a human"
    assert saw(
        operator, "CapFence require_approval: a human must approve shell", f"[approval request {request.id}]"
    )
    assert ran(tmp_path / "shell.log") == []
    assert decisions(runtime) == ["require_approval"]
    assert outcomes(runtime) == ["held"], "recorded held once, before the wait"


# --- the default: the agent gets the request id at once -------------------------------------------


@pytest.mark.parametrize("native", [False, True], ids=["react", "native"])
@pytest.mark.parametrize("mode", ["hooks", "tools"])
def test_by_default_the_agent_gets_the_request_and_a_later_run_proceeds_once(
    runtime: ActionRuntime, tmp_path: Path, mode: str, native: bool
) -> None:
    crew, operator = operator_crew(tmp_path, native)
    guard_crew(crew, gate=runtime, capabilities=CAPABILITIES, mode=mode)  # type: ignore[arg-type]
    started = time.monotonic()
    crew.kickoff()

    assert time.monotonic() - started < 10
    (request,) = runtime.approvals.list("pending")
    assert saw(
        operator, "CapFence require_approval: a human must approve shell", f"[approval request {request.id}]"
    )
    assert ran(tmp_path / "shell.log") == []

    runtime.approvals.approve(request.id, by="ops-lead")
    # the same call in two later runs: the first runs, the second is held again (single use)
    for _ in range(2):
        again, _ = operator_crew(tmp_path, native)
        guard_crew(again, gate=runtime, capabilities=CAPABILITIES, mode=mode)  # type: ignore[arg-type]
        again.kickoff()

    assert ran(tmp_path / "shell.log") == ["ls"]
    assert [r.status for r in runtime.approvals.list()] == ["consumed", "pending"]
    assert decisions(runtime) == ["require_approval", "allow", "require_approval"]
    assert outcomes(runtime) == ["held", "ran", "held"]
