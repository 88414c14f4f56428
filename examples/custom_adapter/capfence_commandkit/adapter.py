"""Gate a ``commandkit.Command`` while keeping it a ``Command``.

* Entry points: ``execute`` and ``aexecute``. ``aexecute`` calls ``execute``
  in a worker thread; CapFence's reentrancy guard (keyed by the command
  object, carried into the thread by the copied context) makes that one
  decision, not two.
* Payload: the keyword arguments, as the model sent them.
* Blocked: commandkit reports failures as results, so a blocked call returns
  ``Result(ok=False, error="CapFence deny: <reason> [rule <id>]")`` and the
  Runner carries on.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from capfence import Binding, Decision
from capfence.call.wrapping import binding_of, gate_object, gated_class
from commandkit import Command, Result


def blocked(decision: Decision) -> Result:
    return Result(ok=False, error=decision.message())


def _gated_execute(original: Callable[..., Result]) -> Callable[..., Result]:
    def execute(self: Command, **kwargs: Any) -> Result:
        return binding_of(self).call(id(self), kwargs, lambda: original(self, **kwargs), blocked)

    return execute


def _gated_aexecute(original: Callable[..., Awaitable[Result]]) -> Callable[..., Awaitable[Result]]:
    async def aexecute(self: Command, **kwargs: Any) -> Result:
        return await binding_of(self).acall(id(self), kwargs, lambda: original(self, **kwargs), blocked)

    return aexecute


def wrap_command(command: Command, binding: Binding) -> Command:
    """A gated copy of ``command``; the original is not modified."""
    cls = gated_class(
        type(command), {"execute": _gated_execute, "aexecute": _gated_aexecute}, tag="capfence-commandkit"
    )
    return gate_object(command, cls, binding)
