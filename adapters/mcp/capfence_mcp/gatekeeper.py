"""Deciding one ``tools/call``: the same :class:`~capfence.Binding` path every adapter uses.

The call is decided under its capability (:mod:`capfence_mcp.capabilities`)
with the call's ``arguments`` as the payload, framework ``mcp``, and the tool
recorded as ``<server>/<tool>`` (so the audit log names the server, a policy's
``tool:`` condition can say ``filesystem/*``, and an approval is bound to the
server as well as the tool). Nothing here decides on its own: the runtime does,
and any failure on the way is a deny.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from capfence.call.decision import Decision
from capfence.call.gate import Binding
from capfence.call.runtime import ActionRuntime
from capfence.call.view import CallView
from capfence.contracts import Gate
from capfence_mcp.capabilities import CapabilityMap
from capfence_mcp.visibility import always_denied

log = logging.getLogger("capfence.mcp")
FRAMEWORK = "mcp"


def tool_label(server: str, tool: str) -> str:
    """How the audit log names an MCP tool: ``<server>/<tool>``."""
    return f"{server}/{tool}"


@dataclass(frozen=True)
class Gatekeeper:
    """Who is calling which server, and the runtime that decides its calls."""

    gate: ActionRuntime | Gate
    agent_id: str
    server: str
    capabilities: CapabilityMap = field(default_factory=CapabilityMap)
    environment: str | None = None

    def binding(self, tool: str) -> Binding:
        capability = self.capabilities.resolve(self.server, tool)
        return Binding(
            self.gate, self.agent_id, capability, FRAMEWORK, tool_label(self.server, tool), self.environment
        )

    def decide(self, tool: str, arguments: Mapping[str, Any]) -> tuple[Decision, CallView, Binding]:
        """Decide and audit (held and blocked outcomes included); never raises: a failure is a deny, recorded too."""
        try:
            binding = self.binding(tool)
            decision, view = binding.decide(arguments)
        except Exception as exc:  # noqa: BLE001 - no decision, no forwarding
            log.error("deciding %s/%s failed: %s", self.server, tool, exc)
            binding = self._unresolved(tool)
            decision, view = binding.fail_closed(
                arguments, f"deciding the call failed: {type(exc).__name__}: {exc}"
            )
        return decision, view, binding

    def fail_closed(self, tool: str, arguments: Mapping[str, Any], reason: str) -> Decision:
        """Deny a call that could not be brought to the policy (``reason``): recorded as a decision, then blocked."""
        try:
            binding = self.binding(tool)
        except Exception:  # noqa: BLE001 - the deny is recorded under no capability of the policy's
            binding = self._unresolved(tool)
        return binding.fail_closed(arguments, reason)[0]

    def _unresolved(self, tool: str) -> Binding:
        """The binding of a call whose capability could not be resolved (``mcp._invalid``)."""
        return Binding(
            self.gate,
            self.agent_id,
            "mcp._invalid",
            FRAMEWORK,
            tool_label(self.server, tool),
            self.environment,
        )

    async def adecide(self, tool: str, arguments: Mapping[str, Any]) -> tuple[Decision, CallView, Binding]:
        return await asyncio.to_thread(self.decide, tool, arguments)

    def hidden(self, tool: str) -> bool:
        """Whether ``--hide-denied`` drops ``tool`` from ``tools/list``: every call of it is denied (False if unsure)."""
        policy = getattr(self.gate, "policy", None)
        if policy is None:
            return False
        try:
            view = self.binding(tool).view({})
            return always_denied(policy, view)
        except Exception:  # noqa: BLE001 - unsure: keep it listed (calls are still decided)
            return False

    def record(
        self, decision: Decision, view: CallView, outcome: str, detail: str | None = None
    ) -> asyncio.Future[None]:
        """Append an outcome record in a worker thread, without holding up the message it follows."""
        write = functools.partial(self.gate.record_outcome, decision, outcome, detail, view=view)
        return asyncio.get_running_loop().run_in_executor(None, write)
