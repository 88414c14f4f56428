"""Loading through the entry point, the public API, the CLI, and the docs' command lines."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap

import pytest

import capfence_mcp
from capfence.plugins import build_registry
from capfence_mcp.capabilities import CapabilityMap
from capfence_mcp.naming import from_command, from_url
from conftest import CAPFENCE, ROOT


def test_the_plugin_loads_through_the_entry_point_and_imports_no_sdk() -> None:
    code = textwrap.dedent(
        """
        import sys
        from capfence.plugins import build_registry
        registry = build_registry()
        assert registry.plugins["mcp"].distribution == "capfence-mcp"
        assert any(a.name == "mcp" for a in registry.adapters)
        assert not [m for m in sys.modules if m == "mcp" or m.startswith("mcp.")], "the SDK was imported"
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    assert build_registry().plugins["mcp"].distribution == "capfence-mcp"


def test_public_names() -> None:
    assert capfence_mcp.__all__ == sorted(capfence_mcp.__all__, key=lambda n: (n[0].islower(), n))
    for name in capfence_mcp.__all__:
        assert getattr(capfence_mcp, name) is not None
    with pytest.raises(AttributeError):
        capfence_mcp.nope  # noqa: B018


def test_the_command_is_added_and_listed_by_capfence_plugins() -> None:
    done = subprocess.run(
        [str(CAPFENCE), "mcp", "proxy", "--help"], capture_output=True, text=True, check=True
    )
    assert "Example:" in done.stdout and "--hide-denied" in done.stdout
    plugins = subprocess.run(
        [str(CAPFENCE), "plugins", "--format", "json"], capture_output=True, text=True, check=True
    ).stdout
    (mcp,) = [row for row in json.loads(plugins) if row["name"] == "mcp"]
    assert mcp["registers"] == ["adapter mcp", "command mcp"]


def test_usage_errors_are_one_line_and_exit_2(tmp_path) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text("allow: []\n")
    done = subprocess.run(
        [str(CAPFENCE), "mcp", "proxy", "--policy", str(policy)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "no server command" in done.stderr
    missing = subprocess.run(
        [str(CAPFENCE), "mcp", "proxy", "--policy", str(policy), "--", "/nonexistent/server"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (
        missing.returncode != 0
        and missing.stderr.count("\n") == 1
        and "cannot start the MCP server" in missing.stderr
    )


@pytest.mark.parametrize(
    ("command", "name"),
    [
        (["npx", "-y", "@modelcontextprotocol/server-filesystem@2026.8.31", "/srv"], "filesystem"),
        (["uvx", "mcp-server-git", "--repository", "."], "git"),
        (["python3", "-m", "weather_server"], "weather_server"),
        (["python3", "servers/demo_server.py"], "demo_server"),
        (["/opt/bin/notes-mcp"], "notes-mcp"),
    ],
)
def test_default_server_names(command: list[str], name: str) -> None:
    assert from_command(command) == name


def test_server_name_from_url() -> None:
    assert from_url("http://127.0.0.1:9000/mcp") == "127-0-0-1"


def test_capability_map_exact_then_globs_then_default() -> None:
    mapping = CapabilityMap({"mcp.fs.write_file": "filesystem.write", "mcp.fs.*": "filesystem.other"})
    assert mapping.resolve("fs", "write_file") == "filesystem.write"
    assert mapping.resolve("fs", "read_file") == "filesystem.other"
    assert mapping.resolve("git", "log") == "mcp.git.log"
    assert mapping.resolve("fs", "odd name!") == "filesystem.other"
    assert CapabilityMap().resolve("my server", "a.b") == "mcp.my_server.a_b"


def test_documented_proxy_command_lines_are_valid() -> None:
    page = (ROOT / "docs" / "adapters" / "mcp.md").read_text()
    lines = [
        " ".join(block.replace("\\\n", " ").split())
        for block in re.findall(r"```shell\n(.*?)```", page, flags=re.DOTALL)
    ]
    commands = [line for block in lines for line in [block] if line.startswith("capfence mcp proxy")]
    assert commands, "the page shows the proxy command"
    help_text = subprocess.run(
        [str(CAPFENCE), "mcp", "proxy", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for line in commands:
        options = {word.split("=")[0] for word in line.split(" -- ")[0].split() if word.startswith("--")}
        assert all(option in help_text for option in options), line


@pytest.mark.parametrize(
    "listen", ["127.0.0.1:99999", "127.0.0.1:0", "127.0.0.1:٣٣", "0.0.0.0:8765", "127.0.0.1:"]
)
def test_a_bad_listen_address_is_a_usage_error(tmp_path, listen: str) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text("allow: []\n")
    done = subprocess.run(
        [
            str(CAPFENCE),
            "mcp",
            "proxy",
            "--policy",
            str(policy),
            "--audit-log",
            str(tmp_path / "a.db"),
            "--listen",
            listen,
            "--upstream",
            "http://127.0.0.1:9/mcp",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert "--listen must be a loopback HOST:PORT" in done.stderr and not (tmp_path / "a.db").exists()
