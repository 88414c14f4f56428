"""A third-party adapter plugin, installed the way a user installs it, is picked up through its entry point.

Builds a fresh virtualenv, ``pip install``s CapFence from this checkout and the
example plugin package ``examples/custom_adapter`` (capfence-commandkit), and
runs scripts in that virtualenv. Needs PyPI (or a warm pip cache) for
CapFence's own dependencies and the build backend.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.support.paths import ROOT

EXAMPLE = ROOT / "examples" / "custom_adapter"

CHECK = textwrap.dedent("""
    import sys
    import capfence
    from capfence.plugins import build_registry

    registry = build_registry()
    info = registry.plugins["commandkit"]
    print("plugin:", info.name, info.distribution, info.version, info.registered)
    print("commandkit imported by the plugin manager:", "commandkit" in sys.modules)

    import commandkit
    from capfence import CapFenceTool
    from capfence.call.tool import find_adapter

    command = commandkit.Command("probe", "Probe.", {"x": "str"}, lambda x: x)
    print("adapter:", find_adapter(command, registry.adapters).name)
""")


def run(args: list[str | Path], cwd: Path) -> str:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, f"{args} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.mark.slow
def test_capfence_tool_finds_the_installed_example_adapter(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", venv], tmp_path)
    python = venv / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", ROOT, EXAMPLE], tmp_path)

    checked = run([python, "-c", CHECK], tmp_path)
    assert "plugin: commandkit capfence-commandkit 0.1.0 ['adapter commandkit']" in checked
    assert "commandkit imported by the plugin manager: False" in checked
    assert "adapter: commandkit" in checked

    demo = run([python, EXAMPLE / "demo.py"], tmp_path)
    assert "adapter: commandkit" in demo
    assert "still a Command: True | same spec: True" in demo
    assert "error='CapFence deny: force-pushing rewrites shared history [rule no-force-push]'" in demo
    assert "ran: ['feature']" in demo
    assert "audit: ('commandkit', 'push', 'deny', 'no-force-push')" in demo
