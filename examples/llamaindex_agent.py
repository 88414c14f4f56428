"""Guard a LlamaIndex ``FunctionAgent`` with ``guard_agent``, offline.

    pip install ./ ./adapters/llamaindex && python examples/llamaindex_agent.py

A customer-support agent with three plain-function tools: ``lookup_order``,
``issue_refund`` and ``delete_customer``. Its model is a
``capfence_llamaindex.testing.ScriptedLLM`` (no network, no API key) that asks
for four tool calls and then answers from the results it was shown.

``guard_agent`` gates every tool of the agent, in place. The policy uses an
``args`` threshold: small refunds run (and are audited as ``warn``), refunds
over 100 are held for a human's approval, deleting a customer is denied. A
blocked call reaches the model as an error ``ToolOutput`` carrying CapFence's
message, and the agent carries on.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from llama_index.core.agent.workflow import FunctionAgent, ToolCallResult
from llama_index.core.llms import ChatMessage
from llama_index.core.tools import BaseTool

from capfence import ActionRuntime
from capfence_llamaindex import guard_agent
from capfence_llamaindex.testing import ScriptedLLM, tool_call

POLICY = """\
deny:
  - id: no-deletes
    capability: crm.delete
    reason: only the data team deletes customer records
require_approval:
  - id: big-refunds
    capability: payments.refund
    args: {amount: {gt: 100}}
    reason: refunds over 100 need a human
warn:
  - id: observe-refunds
    capability: payments.refund
allow:
  - id: lookups
    capability: orders.read
"""
CAPABILITIES = {
    "lookup_order": "orders.read",
    "issue_refund": "payments.refund",
    "delete_customer": "crm.delete",
}

SCRIPT: list[tuple[str, dict[str, Any]]] = [
    ("lookup_order", {"order_id": "A-1001"}),
    ("issue_refund", {"order_id": "A-1001", "amount": 40}),
    ("issue_refund", {"order_id": "A-1002", "amount": 450}),
    ("delete_customer", {"customer_id": "C-7"}),
]
"""The tool calls the scripted model asks for, one per turn."""
BLOCK = re.compile(r"CapFence \w+: .*")


def scripted_model() -> ScriptedLLM:
    """A stand-in LLM that plays :data:`SCRIPT`, then answers from the tool results in the conversation."""

    def answer(messages: list[ChatMessage]) -> str:
        blocked = [
            found.group(0)
            for m in messages
            if m.role == "tool"
            for found in [BLOCK.search(m.content or "")]
            if found
        ]
        return f"Handled the ticket; {len(blocked)} action(s) were not allowed:" + "".join(
            f"\n  - {b}" for b in blocked
        )

    steps = [tool_call(name, args, id=f"call_{turn}") for turn, (name, args) in enumerate(SCRIPT, start=1)]
    return ScriptedLLM(*steps, answer)


def support_tools(workdir: Path) -> list[BaseTool | Callable[..., Any]]:
    """Plain functions with real side effects (lines in ledger.log); the agent turns them into FunctionTools."""

    def record(line: str) -> None:
        with (workdir / "ledger.log").open("a") as ledger:
            ledger.write(line + "\n")

    def lookup_order(order_id: str) -> str:
        """Look an order up."""
        return f"order {order_id}: 2 items, paid 480.00, delivered"

    def issue_refund(order_id: str, amount: float) -> str:
        """Refund part of an order."""
        record(f"refund {order_id} {amount}")
        return f"refunded {amount} on {order_id}"

    def delete_customer(customer_id: str) -> str:
        """Delete a customer record."""
        record(f"delete {customer_id}")
        return f"deleted {customer_id}"

    return [lookup_order, issue_refund, delete_customer]


async def run_agent(agent: FunctionAgent) -> str:
    """Run one request; print each tool result as the model receives it."""
    handler = agent.run(user_msg="Customer C-7 wants refunds on A-1001 and A-1002 and their account deleted.")
    async for event in handler.stream_events():
        if isinstance(event, ToolCallResult):
            status = "ERROR" if event.tool_output.is_error else "ok"
            print(f"  {event.tool_name}({event.tool_kwargs}) -> [{status}] {event.tool_output.content}")
    return str(await handler)


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="capfence-llamaindex-"))
    (workdir / "policy.yaml").write_text(POLICY)
    with ActionRuntime.from_policy(workdir / "policy.yaml", audit_log=workdir / "audit.db") as runtime:
        agent = FunctionAgent(
            name="support",
            description="Customer support.",
            tools=support_tools(workdir),
            llm=scripted_model(),
        )
        # input_required_on_approval=False: nobody answers InputRequiredEvent here, so a held call is reported to the model
        # at once instead of waiting for a human (see docs/adapters/llamaindex.md, "Approvals")
        guard_agent(
            agent,
            gate=runtime,
            agent_id="support-agent",
            capabilities=CAPABILITIES,
            input_required_on_approval=False,
        )
        print("The agent's tool calls, and what the model was given back:")
        answer = asyncio.run(run_agent(agent))

    print("\nThe agent's answer:")
    print("\n".join(f"  {line}" for line in answer.splitlines()))
    ledger = (workdir / "ledger.log").read_text().splitlines() if (workdir / "ledger.log").exists() else []
    print(f"\nledger.log (what really happened): {ledger}")
    print(f"\naudit log {workdir / 'audit.db'} (one decision per tool call, then its outcome):")
    print(f"  {'tool':<16} {'capability':<16} {'decision':<17} {'rule':<16} {'outcome':<8} payload")
    with sqlite3.connect(workdir / "audit.db") as db:
        rows = db.execute(
            "SELECT d.tool, d.capability, d.decision, d.rule, o.outcome, d.payload FROM records d "
            "LEFT JOIN records o ON o.kind = 'outcome' AND o.ref = d.seq WHERE d.kind = 'decision' ORDER BY d.seq"
        ).fetchall()
    for name, capability, decision, rule, outcome, payload in rows:
        print(f"  {name:<16} {capability:<16} {decision:<17} {rule or '-':<16} {outcome or '-':<8} {payload}")


if __name__ == "__main__":
    main()
