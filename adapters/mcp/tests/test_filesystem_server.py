"""The real reference filesystem server from npm (pinned), behind the proxy, with the SDK's client."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import connect, decisions, text_of

from conftest import proxy_command

pytestmark = pytest.mark.anyio

POLICY = """
deny:
  - id: no-env-files
    capability: filesystem.write
    path: {glob: "**/.env"}
    reason: never write .env files
warn:
  - capability: filesystem.write
allow:
  - capability: filesystem.read
"""
CAPABILITIES = """
capabilities:
  mcp.filesystem.write_file: filesystem.write
  mcp.filesystem.edit_file: filesystem.write
  "mcp.filesystem.read_*": filesystem.read
  mcp.filesystem.list_allowed_directories: filesystem.read
"""


async def test_a_denied_write_leaves_the_disk_untouched_and_an_allowed_one_changes_it(
    filesystem_server: list[str], tmp_path: Path, audit_log: Path, workdir: Path
) -> None:
    policy, mapping = tmp_path / "fs.yaml", tmp_path / "caps.yaml"
    policy.write_text(POLICY)
    mapping.write_text(CAPABILITIES)
    (workdir / ".env").write_text("KEY=original\n")
    command = [
        *proxy_command(policy, audit_log, "--capabilities", str(mapping)),
        "--",
        *filesystem_server,
        str(workdir),
    ]
    command[command.index("demo")] = "filesystem"
    async with connect(command) as session:
        names = {t.name for t in (await session.list_tools()).tools}
        denied = await session.call_tool(
            "write_file", {"path": str(workdir / ".env"), "content": "KEY=stolen\n"}
        )
        allowed = await session.call_tool(
            "write_file", {"path": str(workdir / "notes.md"), "content": "# notes\n"}
        )
        read = await session.call_tool("read_text_file", {"path": str(workdir / "notes.md")})
        listed = await session.call_tool("list_directory", {"path": str(workdir)})
    assert {"write_file", "read_text_file", "list_directory"} <= names
    assert denied.is_error and "never write .env files" in text_of(denied)
    assert (workdir / ".env").read_text() == "KEY=original\n"
    assert not allowed.is_error and (workdir / "notes.md").read_text() == "# notes\n"
    assert "# notes" in text_of(read)
    assert listed.is_error, "list_directory is mapped to nothing the policy allows: default deny"
    rows = decisions(audit_log)
    assert [(r["tool"], r["capability"], r["decision"]) for r in rows] == [
        ("filesystem/write_file", "filesystem.write", "deny"),
        ("filesystem/write_file", "filesystem.write", "warn"),
        ("filesystem/read_text_file", "filesystem.read", "allow"),
        ("filesystem/list_directory", "mcp.filesystem.list_directory", "deny"),
    ]
