"""The default server name, from the server's command line or URL (``--server-name`` overrides it).

Chosen from what the user configured, never from what the server says about
itself: a server cannot pick the capability its calls are decided under.

    npx -y @modelcontextprotocol/server-filesystem /srv  -> filesystem
    uvx mcp-server-git --repository .                   -> git
    python3 -m weather_server                           -> weather_server
    python3 servers/demo_server.py                      -> demo_server
    /opt/bin/notes-mcp                                  -> notes-mcp
    http://127.0.0.1:9000/mcp                           -> 127.0.0.1
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from capfence_mcp.capabilities import safe_part

LAUNCHERS = frozenset(
    {
        "npx",
        "node",
        "bunx",
        "bun",
        "deno",
        "uvx",
        "uv",
        "pipx",
        "python",
        "python3",
        "docker",
        "podman",
        "npm",
        "pnpm",
    }
)
_PREFIXES = re.compile(r"^(?:mcp-server-|server-|mcp-)")
_VERSION = re.compile(r"(?<=.)@[^/]*$")


_SCRIPT = re.compile(r"\.(?:py|js|mjs|cjs|ts)$")


def _package(word: str) -> str:
    name = _SCRIPT.sub("", _VERSION.sub("", word).rsplit("/", 1)[-1])
    return _PREFIXES.sub("", name) or name


def from_command(command: Sequence[str]) -> str:
    program = PurePosixPath(command[0]).name
    if program not in LAUNCHERS and not re.match(r"python3?(\.\d+)?$", program):
        return safe_part(PurePosixPath(program).stem or program)
    words = list(command[1:])
    if words[:1] == ["-m"] and len(words) > 1:
        return safe_part(words[1])
    for word in words:
        if word in ("run", "exec", "x", "dlx", "--from", "tool") or word.startswith("-"):
            continue
        return safe_part(_package(word))
    return safe_part(program)


def from_url(url: str) -> str:
    return (
        safe_part(urlsplit(url).hostname or "upstream").replace("_", "-")
        if urlsplit(url).hostname
        else "upstream"
    )
