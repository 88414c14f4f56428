"""CapFenceTool: wrap any tool object so every call passes the gate.

Which code wraps an object is decided by adapters registered through the
``capfence_register_adapters`` hook: the first (by ``priority``) whose
``accepts`` returns true wraps it. The result is an object of the same kind as
the input (a LangChain tool stays a LangChain tool, a function stays a function).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from capfence.call.gate import Binding
from capfence.call.runtime import ActionRuntime
from capfence.contracts import Adapter, Gate
from capfence.errors import CapFenceError
from capfence.plugins import build_registry

T = TypeVar("T")


def find_adapter(obj: object, adapters: Iterable[Adapter]) -> Adapter:
    """The first of ``adapters`` (in ``priority`` order, as a registry keeps them) that accepts ``obj``."""
    for adapter in adapters:
        if adapter.accepts(obj):
            return adapter
    raise CapFenceError(
        f"no CapFence adapter accepts {type(obj).__module__}.{type(obj).__qualname__}; "
        "install the adapter for its framework (e.g. capfence-langchain)"
    )


def tool_name(obj: object) -> str:
    name = (
        getattr(obj, "name", None)
        or getattr(getattr(obj, "metadata", None), "name", None)
        or getattr(obj, "__name__", None)
    )
    return str(name) if name else type(obj).__name__


def CapFenceTool(  # noqa: N802 - reads like the class users think of it as
    tool: T,
    *,
    agent_id: str,
    capability: str,
    gate: ActionRuntime | Gate,
    environment: str | None = None,
    name: str | None = None,
    approval_wait: float | None = None,
    adapters: Iterable[Adapter] | None = None,
) -> T:
    """Return ``tool`` gated: every call is decided by ``gate`` and audited before it can run.

    ``approval_wait``: how long a ``require_approval`` call waits for a human
    decision before raising :class:`~capfence.ApprovalRequired` (default: no
    wait). The original object is not modified. Raises :class:`~capfence.CapFenceError`
    when no adapter knows the object's kind.

    ``adapters``: who may wrap it (default: the adapters of ``gate``'s plugin registry; a gate
    that is not an :class:`~capfence.ActionRuntime` gets those of a registry built for this call).
    """
    if not agent_id or not capability:
        raise CapFenceError("CapFenceTool needs a non-empty agent_id and capability")
    if adapters is None:
        plugins = gate.plugins if isinstance(gate, ActionRuntime) else build_registry()
        adapters = plugins.adapters
    adapter = find_adapter(tool, adapters)
    binding = Binding(
        gate=gate,
        agent_id=agent_id,
        capability=capability,
        framework=adapter.framework,
        tool=name or tool_name(tool),
        environment=environment,
        approval_wait=approval_wait,
    )
    wrapped: T = adapter.wrap(tool, binding)
    return wrapped
