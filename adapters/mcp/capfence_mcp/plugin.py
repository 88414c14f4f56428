"""The CapFence plugin of ``capfence-mcp``, loaded through the ``capfence`` entry-point group.

It adds the ``capfence mcp`` command group (``capfence mcp proxy``) and an
adapter for ``mcp.ClientSession`` objects (``CapFenceTool(tool=session, ...)``
gates ``call_tool``). Importing this module imports neither the MCP SDK nor
the rest of this package.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from capfence import Adapter, Binding, hookimpl
from capfence.contracts import instance_of_loaded

if TYPE_CHECKING:
    import click

PRIORITY = 30
"""Before the generic callable adapter (1000)."""
SESSION_MODULE = "mcp.client.session"


def accepts(obj: object) -> bool:
    """True for an ``mcp.ClientSession``; never imports the SDK."""
    return instance_of_loaded(obj, SESSION_MODULE, "ClientSession")


def wrap(obj: Any, binding: Binding) -> Any:
    from capfence_mcp.session import wrap_session

    return wrap_session(obj, binding)


@hookimpl
def capfence_register_adapters(register: Callable[[Adapter], None]) -> None:
    register(Adapter("mcp", "mcp", accepts, wrap, priority=PRIORITY))


@hookimpl
def capfence_register_commands(cli: click.Group) -> None:
    from capfence_mcp.cli import mcp

    cli.add_command(mcp)
