"""Which capability a tool of an MCP server is decided under.

By default ``mcp.<server>.<tool>`` (characters a capability cannot have become
``_``). A mapping overrides it, so ``mcp.filesystem.write_file`` can be decided
as ``filesystem.write`` and meet the rules of the filesystem pack. Keys are the
default capability names, exact or globs; exact keys win, then globs in the
order given. A ``--capabilities`` file is YAML (or JSON)::

    capabilities:
      mcp.filesystem.write_file: filesystem.write
      mcp.filesystem.edit_file: filesystem.write
      "mcp.filesystem.read_*": filesystem.read
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from capfence.policy.patterns import check_name_glob, is_glob, name_matcher
from capfence.policy.spec import SpecError
from capfence_mcp.errors import McpConfigError

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
PREFIX = "mcp"


def safe_part(name: str) -> str:
    """``name`` as one dot-free part of a capability: anything but letters, digits, ``_`` and ``-`` becomes ``_``."""
    return _UNSAFE.sub("_", name) or "_"


def default_capability(server: str, tool: str) -> str:
    return f"{PREFIX}.{safe_part(server)}.{safe_part(tool)}"


@dataclass(frozen=True)
class CapabilityMap:
    """Default capability name -> the capability the policy decides it under."""

    mapping: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for key, value in self.mapping.items():
            try:
                check_name_glob(key, "a capability pattern")
                check_name_glob(value, "a capability")
            except SpecError as exc:
                raise McpConfigError(str(exc)) from None
            if is_glob(value):
                raise McpConfigError(f"the capability {value!r} for {key!r} must be a name, not a glob")

    def resolve(self, server: str, tool: str) -> str:
        name = default_capability(server, tool)
        exact = self.mapping.get(name)
        if exact is not None:
            return exact
        for pattern, capability in self.mapping.items():
            if is_glob(pattern) and name_matcher(pattern)(name):
                return capability
        return name

    @classmethod
    def load(cls, path: Path) -> CapabilityMap:
        """Read a ``--capabilities`` file (YAML or JSON); a bad one is a :class:`McpConfigError` naming it."""
        import yaml

        try:
            data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise McpConfigError(f"{path}: cannot read the capabilities file: {exc}") from None
        if isinstance(data, dict) and set(data) == {"capabilities"}:
            data = data["capabilities"]
        if not isinstance(data, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in data.items()
        ):
            raise McpConfigError(
                f"{path}: expected a mapping 'capabilities:' of capability names (or globs) to capabilities"
            )
        try:
            return cls(dict(data))
        except McpConfigError as exc:
            raise McpConfigError(f"{path}: {exc}") from None
