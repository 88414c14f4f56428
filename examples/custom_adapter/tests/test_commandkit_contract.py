"""capfence-commandkit passes CapFence's adapter contract suite, plus commandkit-specific checks."""

from __future__ import annotations

import asyncio
from typing import Any

from capfence import ActionRuntime, CapFenceTool
from capfence.testing import AdapterContract, Body, audit_rows
from commandkit import Command, Result, Runner


class TestCommandkitContract(AdapterContract):
    framework = "commandkit"
    entry_points = ("execute", "aexecute")

    def make_tool(self, body: Body) -> Any:
        return Command("probe", "Probe tool.", {"command": "str"}, body)

    def call(self, tool: Any, entry_point: str, payload: dict[str, Any]) -> Any:
        return getattr(tool, entry_point)(**payload)

    def describe(self, tool: Any) -> dict[str, Any]:
        return tool.spec()


def test_the_runner_gets_an_error_result_and_carries_on(capfence_runtime: ActionRuntime) -> None:
    ran: list[str] = []
    probe = Command("probe", "Probe tool.", {"command": "str"}, lambda command: ran.append(command) or "ok")
    gated = CapFenceTool(tool=probe, agent_id="a", capability="probe.run", gate=capfence_runtime)

    results = Runner([gated]).run([("probe", {"command": "forbidden"}), ("probe", {"command": "ls"})])

    denied = 'CapFence deny: deny rule: capability "probe.run", contains "forbidden" [rule no-forbidden]'
    assert results == [Result(ok=False, error=denied), Result(ok=True, output="ok")]
    assert ran == ["ls"]


def test_aexecute_is_one_decision_although_it_calls_execute(capfence_runtime: ActionRuntime) -> None:
    probe = Command("probe", "Probe tool.", {"command": "str"}, lambda command: command)
    gated = CapFenceTool(tool=probe, agent_id="a", capability="probe.run", gate=capfence_runtime)
    assert asyncio.run(gated.aexecute(command="ls")) == Result(ok=True, output="ls")
    assert len(audit_rows(capfence_runtime.audit_log)) == 1
