"""The adapter loads through the ``capfence`` entry-point group, lazily, like any third-party plugin."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from langchain_core.tools import tool

import capfence_langchain
from capfence.plugins import build_registry
from capfence_langchain import plugin


def test_the_entry_point_registers_the_adapter_before_the_callable_one() -> None:
    registry = build_registry()
    info = registry.plugins["langchain"]
    assert info.distribution == "capfence-langchain" and info.version == "0.1.0"
    assert info.registered == ["adapter langchain"]
    names = [a.name for a in registry.adapters]
    assert names.index("langchain") < names.index("callable")


def test_accepts_only_langchain_tools() -> None:
    @tool
    def probe(x: str) -> str:
        """Probe."""
        return x

    assert plugin.accepts(probe)
    assert not plugin.accepts(lambda x: x)
    assert not plugin.accepts(object())


def test_blocking_the_plugin_leaves_langchain_tools_unwrappable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAPFENCE_BLOCK_PLUGINS", "langchain")
    registry = build_registry()
    assert "langchain" not in registry.plugins
    assert "langchain" not in [a.name for a in registry.adapters]
    assert registry.adapters[-1].name == "callable"


def test_neither_capfence_nor_the_plugin_imports_langchain() -> None:
    """Building the plugin manager loads capfence_langchain.plugin; LangChain must stay unimported."""
    script = textwrap.dedent("""
        import sys
        import capfence, capfence_langchain
        from capfence import ActionRuntime, CapFenceTool
        from capfence.plugins import build_registry
        registry = build_registry()
        assert "langchain" in registry.plugins, registry.plugins

        class Gate:  # every member capfence.contracts.Gate requires; never asked here
            environment = approver = approvals = None
            def decide(self, view): ...
            def record_outcome(self, *args, **kwargs): ...

        CapFenceTool(tool=lambda command: command, agent_id="a", capability="c", gate=Gate())
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("langchain", "langchain_core", "langgraph"))
        print(loaded)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_public_names() -> None:
    assert capfence_langchain.__all__ == [
        "DEFAULT_CAPABILITY",
        "INTERRUPT_TYPE",
        "ApprovalRequired",
        "CapFenceMiddleware",
        "ToolCallDenied",
        "approval_interrupts",
        "is_approval_interrupt",
        "tool_payload",
        "wrap_tool",
    ]
    for name in capfence_langchain.__all__:
        assert getattr(capfence_langchain, name) is not None
    with pytest.raises(AttributeError):
        capfence_langchain.nothing_here  # noqa: B018
