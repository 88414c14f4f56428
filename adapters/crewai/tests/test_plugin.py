"""Packaging: the plugin loads through the entry point without importing CrewAI, and the public names are pinned."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
import textwrap

import capfence_crewai
from capfence.plugins import build_registry


def test_public_names() -> None:
    assert capfence_crewai.__all__ == [
        "DEFAULT_CAPABILITY",
        "DEFAULT_MODE",
        "CrewGuard",
        "block_message",
        "guard_crew",
        "guard_of",
        "wrap_tool",
    ]
    for name in capfence_crewai.__all__:
        assert getattr(capfence_crewai, name) is not None
    assert capfence_crewai.DEFAULT_MODE == "hooks"


def test_entry_point_registers_the_adapter() -> None:
    (entry_point,) = [ep for ep in importlib.metadata.entry_points(group="capfence") if ep.name == "crewai"]
    assert entry_point.value == "capfence_crewai.plugin"
    registry = build_registry()
    assert [a.framework for a in registry.adapters if a.name == "crewai"] == ["crewai"]
    assert registry.plugins["crewai"].distribution == "capfence-crewai"


def test_loading_the_plugin_does_not_import_crewai() -> None:
    """``accepts`` looks at sys.modules only: the plugin, the package and the adapter check leave CrewAI unimported."""
    code = textwrap.dedent(
        """
        import sys
        from capfence.plugins import build_registry
        from capfence.call.tool import find_adapter
        import capfence_crewai
        registry = build_registry()
        assert find_adapter(len, registry.adapters).name == "callable"
        assert "crewai" not in sys.modules, sorted(m for m in sys.modules if m.startswith("crewai"))
        print("ok")
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_accepts_crewai_tools_only() -> None:
    from crewai.tools import tool
    from scripted import ShellTool

    from capfence_crewai.plugin import accepts

    @tool("probe")
    def probe(command: str) -> str:
        """Probe."""
        return command

    assert accepts(ShellTool()) and accepts(probe)
    assert not accepts(len) and not accepts(object())
