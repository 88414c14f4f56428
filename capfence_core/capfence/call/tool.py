"""CapFenceTool: wrap any tool object so every call passes the gate.

Which code wraps an object is decided by adapters registered through the
``capfence_register_adapters`` hook: the first (by ``priority``) whose
``accepts`` returns true wraps it. The result is an object of the same kind as
the input (a LangChain tool stays a LangChain tool, a function stays a function).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from capfence.call.gate import Binding
from capfence.errors import CapFenceError

if TYPE_CHECKING:
    from capfence.call.gate import Gate
    from capfence.call.runtime import ActionRuntime

T = TypeVar("T")


@dataclass(frozen=True)
class Adapter:
    """How one kind of tool object is wrapped.

    ``accepts(obj)`` must be cheap and must not import a framework that is not
    already imported (check ``sys.modules`` first). ``wrap(obj, binding)``
    returns the gated object.
    """

    name: str
    framework: str
    accepts: Callable[[Any], bool]
    wrap: Callable[[Any, Binding], Any]
    priority: int = 100


def instance_of_loaded(obj: object, module: str, name: str) -> bool:
    """Whether ``obj`` is an instance of class ``name`` in ``module``, *if that module is already imported*.

    For ``Adapter.accepts``: an object can only be a framework's tool if the
    framework is imported, so this never imports it (and stays cheap).
    """
    cls = getattr(sys.modules.get(module), name, None)
    return isinstance(cls, type) and isinstance(obj, cls)


def find_adapter(obj: object, adapters: list[Adapter] | None = None) -> Adapter:
    if adapters is None:
        from capfence.plugins import adapters as registered

        adapters = registered()
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
) -> T:
    """Return ``tool`` gated: every call is decided by ``gate`` and audited before it can run.

    ``approval_wait``: how long a ``require_approval`` call waits for a human
    decision before raising :class:`~capfence.ApprovalRequired` (default: no
    wait). The original object is not modified. Raises :class:`~capfence.CapFenceError`
    when no adapter knows the object's kind.
    """
    if not agent_id or not capability:
        raise CapFenceError("CapFenceTool needs a non-empty agent_id and capability")
    adapter = find_adapter(tool)
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
