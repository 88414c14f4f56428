"""Hooks mode, innermost point: the tools a guarded crew runs check each call against the hook's decision.

CapFence's before-hook decides a call, but CrewAI runs the before-hooks in
order and any hook that comes after it can still rewrite the arguments in
place: an execution-scoped hook (``crewai.hooks.dispatch.register_scoped``,
always after every global one), a global hook registered while the crew is
running (CapFence's is moved to the end only at each kickoff), the hooks of a
``@CrewBase`` crew built meanwhile. CrewAI's ReAct path also runs a tool that
raised up to three times under one round of hooks. So the hook's decision is
only a claim on one execution with exactly the decided arguments, redeemed
where nothing can change them any more: the tool's body.

**Views.** A guarded crew (hooks mode) gets, from CrewAI's ``Crew._prepare_tools``
(through which every task execution receives its tools: the agent's or task's
own, plus delegation, code execution, multimodal, platform, MCP, memory and
file tools), a *view* of each CrewAI ``BaseTool`` instead of the tool: a second
object over the very same state (``__dict__`` and pydantic's private state are
shared, so usage counts, limits, caches and fields behave exactly as without
CapFence, and the crew's tool objects are not changed) whose class is the
cached gated subclass of the tool's own class, as for ``CapFenceTool``, with
this module's :class:`TicketKeeper` at every entry point. A view is only ever
called by the crew's executors.

**Tickets.** For a call it allows, the before-hook issues a :class:`Ticket`:
this view, the canonical text of the decided arguments (what the body will be
called with, :mod:`capfence_crewai.arguments`), the decision. Each entry point
of the view computes the arguments its body will be called with and

1. runs, when it is nested in an entry point already running on a decision for
   exactly these arguments (``run`` -> ``_run``);
2. takes the ticket for exactly these arguments and runs on the hook's decision
   (no new record; the outcome, ``ran`` or ``tool_error``, is recorded here);
3. otherwise decides again, a new record: the arguments changed after the
   decision (that call's ticket is marked superseded), a second execution of
   one decided call (the ticket is single-use), or a call that never passed the
   hooks.

The after-hook closes the ticket (a call answered from CrewAI's cache never
reaches the body). Tickets live between the two hooks of one call; the table
is bounded in case an after-hook never runs.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from crewai.tools import BaseTool

from capfence.call.canonical import NotCanonical, encode
from capfence.call.decision import Decision, failure
from capfence.call.gate import Binding
from capfence.call.view import CallView
from capfence.call.wrapping import ORIGINAL_ATTR, is_gated
from capfence_crewai.arguments import body_arguments
from capfence_crewai.tools import OnBlock, gated_tool_class

VIEW_TAG = "capfence-crewai-view"
_STATE = ("__dict__", "__pydantic_fields_set__", "__pydantic_extra__", "__pydantic_private__")
"""Where a pydantic model keeps its state: a view shares each of these objects with its tool."""
State = Literal["issued", "taken", "superseded"]


@dataclass(eq=False)
class Ticket:
    """The before-hook's allowed decision for one call, redeemable once by the body for exactly the decided arguments."""

    tool: BaseTool
    """The view the call will run."""
    args_text: str
    """Canonical text of the decided arguments (:func:`capfence.call.canonical.encode`)."""
    tool_input: Mapping[str, Any]
    """The call's live input dict (later hooks rewrite it in place): tells a rewritten call's body which call it is."""
    binding: Binding
    decision: Decision
    view: CallView
    state: State = "issued"


class Tickets:
    """The tickets of calls between their before- and after-hook, by view."""

    LIMIT = 10_000

    def __init__(self) -> None:
        self._items: dict[int, list[Ticket]] = {}
        self._count = 0
        self._lock = threading.Lock()

    def issue(self, ticket: Ticket) -> None:
        with self._lock:
            if self._count >= self.LIMIT:
                self._drop_oldest()
            self._items.setdefault(id(ticket.tool), []).append(ticket)
            self._count += 1

    def take(self, tool: BaseTool, args_text: str) -> Ticket | None:
        """The issued ticket of ``tool`` for exactly these arguments, now taken; None if there is none."""
        with self._lock:
            for ticket in self._items.get(id(tool), ()):
                if ticket.state == "issued" and ticket.tool is tool and ticket.args_text == args_text:
                    ticket.state = "taken"
                    return ticket
        return None

    def supersede(self, tool: BaseTool, args_text: str) -> None:
        """Mark the issued ticket whose call was rewritten into these arguments (its body is about to be decided again)."""
        for ticket in self._issued(tool):
            if _text(predicted_for(ticket)) == args_text:
                with self._lock:
                    if ticket.state == "issued":
                        ticket.state = "superseded"
                        return

    def close(self, ticket: Ticket) -> State:
        """Remove ``ticket``; returns what became of it."""
        with self._lock:
            tickets = self._items.get(id(ticket.tool), [])
            if ticket in tickets:
                tickets.remove(ticket)
                self._count -= 1
                if not tickets:
                    del self._items[id(ticket.tool)]
            return ticket.state

    def _issued(self, tool: BaseTool) -> list[Ticket]:
        with self._lock:
            return [t for t in self._items.get(id(tool), ()) if t.state == "issued" and t.tool is tool]

    def _drop_oldest(self) -> None:
        key = next(iter(self._items))
        self._items[key].pop(0)
        self._count -= 1
        if not self._items[key]:
            del self._items[key]


TICKETS = Tickets()


def predicted_for(ticket: Ticket) -> dict[str, Any]:
    """What the body of the ticket's call will be called with now (after any rewrite of its input)."""
    return body_arguments(ticket.tool, ticket.tool_input)


def _text(arguments: object) -> str | None:
    try:
        return encode(arguments)
    except NotCanonical:
        return None


# --- views ----------------------------------------------------------------------------


_BINDINGS: dict[int, Binding] = {}
"""View id -> its binding (a view's ``__dict__`` is its tool's, so the binding cannot live there)."""
_BINDINGS_LOCK = threading.Lock()


def view_tools(tools: Iterable[Any], binding_for: Callable[[BaseTool], Binding]) -> list[Any]:
    """``tools`` with each CrewAI ``BaseTool`` replaced by its view (gated tools and other objects as they are)."""
    return [view_of(tool, binding_for(tool)) if _viewable(tool) else tool for tool in tools]


def _viewable(tool: object) -> bool:
    return isinstance(tool, BaseTool) and not is_gated(tool)


def view_of(tool: BaseTool, binding: Binding) -> BaseTool:
    """A view of ``tool`` (see the module docstring), calls through which are checked against the hook's decision."""
    base: type[BaseTool] = type(tool).__dict__.get(ORIGINAL_ATTR, type(tool))
    cls = gated_tool_class(base, KEEPER, tag=VIEW_TAG)
    view: BaseTool = cls.__new__(cls)
    for slot in _STATE:
        object.__setattr__(view, slot, object.__getattribute__(tool, slot))
    with _BINDINGS_LOCK:
        _BINDINGS[id(view)] = binding
    weakref.finalize(view, _forget, id(view))
    return view


def is_view(tool: object) -> bool:
    with _BINDINGS_LOCK:
        return id(tool) in _BINDINGS and is_gated(tool)


def _forget(key: int) -> None:
    with _BINDINGS_LOCK:
        _BINDINGS.pop(key, None)


def _view_binding(tool: BaseTool) -> Binding | Decision:
    with _BINDINGS_LOCK:
        binding = _BINDINGS.get(id(tool))
    return (
        binding if binding is not None else failure(f"{type(tool).__qualname__} view has no CapFence binding")
    )


class TicketKeeper:
    """A view's entry points: run on the hook's ticket for exactly these arguments, or decide again."""

    def call(
        self, tool: BaseTool, key: int, payload: dict[str, Any], run: Callable[[], Any], on_block: OnBlock
    ) -> Any:
        if Binding.decided_already(key, payload):
            return run()
        ticket, binding = self._redeem(tool, payload)
        if ticket is not None:
            return ticket.binding.run_decided(key, ticket.decision, ticket.view, run)
        if isinstance(binding, Decision):
            return on_block(binding)
        return binding.call(key, payload, run, on_block)

    async def acall(
        self,
        tool: BaseTool,
        key: int,
        payload: dict[str, Any],
        run: Callable[[], Awaitable[Any]],
        on_block: OnBlock,
    ) -> Any:
        if Binding.decided_already(key, payload):
            return await run()
        ticket, binding = self._redeem(tool, payload)
        if ticket is not None:
            return await ticket.binding.arun_decided(key, ticket.decision, ticket.view, run)
        if isinstance(binding, Decision):
            return on_block(binding)
        return await binding.acall(key, payload, run, on_block)

    @staticmethod
    def _redeem(tool: BaseTool, payload: dict[str, Any]) -> tuple[Ticket | None, Binding | Decision]:
        """The ticket for exactly ``payload``, else (None, the binding to decide again with)."""
        args_text = _text(payload)
        if args_text is not None:
            ticket = TICKETS.take(tool, args_text)
            if ticket is not None:
                return ticket, ticket.binding
            TICKETS.supersede(tool, args_text)
        return None, _view_binding(tool)


KEEPER = TicketKeeper()
