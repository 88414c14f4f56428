"""A real LangChain agent run (``create_agent`` and a scripted model), traced by the OpenTelemetry LangChain instrumentation.

The instrumentation opens the framework's spans (``invoke_agent``, the tool node's
``execute_task tools``, ``execute_tool {name}``); each CapFence decision span must sit
inside that trace, under the span the framework has open where the call is decided.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.messages import HumanMessage, ToolMessage
from langchain_core.tools import tool
from opentelemetry.instrumentation.langchain import LangchainInstrumentor
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import capfence_otel
from capfence import ActionRuntime, CapFenceTool
from capfence_langchain import CapFenceMiddleware
from capfence_langchain.testing import ScriptedChatModel, parallel, tool_call

CAPABILITIES = {"read_file": "filesystem.read", "read_secret": "filesystem.read"}


@pytest.fixture(scope="module")
def traced() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrumentor = LangchainInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    yield provider, exporter
    instrumentor.uninstrument()
    provider.shutdown()


@pytest.fixture
def spans(traced: tuple[TracerProvider, InMemorySpanExporter]) -> Iterator[InMemorySpanExporter]:
    provider, exporter = traced
    exporter.clear()
    capfence_otel.configure(tracer_provider=provider)
    yield exporter
    capfence_otel.config._telemetry = None


@tool
def read_file(path: str) -> str:
    """Read a file."""
    return f"contents of {path}"


@tool
def read_secret(path: str) -> str:
    """Read a secret file."""
    return "s3cr3t"


def agent(mode: str, runtime: ActionRuntime) -> Any:
    model = ScriptedChatModel(
        parallel(
            tool_call("read_file", {"path": "notes.txt"}, id="call_ok"),
            tool_call("read_secret", {"path": "secret.txt"}, id="call_no"),
        ),
        "done",
    )
    if mode == "tools":
        tools = [
            CapFenceTool(tool=t, agent_id="lc-agent", capability=CAPABILITIES[t.name], gate=runtime)
            for t in (read_file, read_secret)
        ]
        return create_agent(model, tools)
    guard = CapFenceMiddleware(gate=runtime, agent_id="lc-agent", capabilities=CAPABILITIES)
    return create_agent(model, [read_file, read_secret], middleware=[guard])


def ancestors(span: ReadableSpan, by_id: dict[int, ReadableSpan]) -> list[str]:
    names = []
    parent = span.parent
    while parent is not None and parent.span_id in by_id:
        found = by_id[parent.span_id]
        names.append(found.name)
        parent = found.parent
    return names


@pytest.mark.parametrize("sync", [True, False], ids=["invoke", "ainvoke"])
@pytest.mark.parametrize("mode", ["tools", "middleware"])
def test_decision_spans_nest_in_the_agent_trace(
    spans: InMemorySpanExporter, runtime: ActionRuntime, mode: str, sync: bool
) -> None:
    graph = agent(mode, runtime)
    request = {"messages": [HumanMessage("read my files")]}
    result = graph.invoke(request) if sync else asyncio.run(graph.ainvoke(request))
    blocked = [m for m in result["messages"] if isinstance(m, ToolMessage) and m.status == "error"]
    assert [m.tool_call_id for m in blocked] == ["call_no"]

    assert capfence_otel.flush()
    finished = list(spans.get_finished_spans())
    by_id = {s.context.span_id: s for s in finished}
    decisions = {
        s.attributes["gen_ai.tool.call.id"]: s for s in finished if s.name.startswith("capfence.decision")
    }
    assert set(decisions) == {"call_ok", "call_no"}
    root = next(s for s in finished if s.parent is None)
    for call_id, span in decisions.items():
        chain = ancestors(span, by_id)
        assert chain and chain[-1] == root.name, f"{call_id}: not inside the agent's trace: {chain}"
        assert span.context.trace_id == root.context.trace_id
        assert any(name.startswith(("execute_tool", "execute_task tools")) for name in chain), chain
        assert span.attributes["gen_ai.agent.id"] == "lc-agent"
        assert span.attributes["capfence.framework"] == "langchain"
    assert decisions["call_ok"].attributes["capfence.decision"] == "allow"
    assert decisions["call_no"].attributes["capfence.decision"] == "deny"
    assert decisions["call_no"].attributes["capfence.rule.id"] == "no-secrets"
    assert decisions["call_ok"].attributes["gen_ai.tool.name"] == "read_file"
    assert Path(decisions["call_ok"].attributes["capfence.rule.source"]).name == "policy.yaml"
