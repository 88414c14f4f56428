"""What a CrewAI tool's body is called with: the one value that is decided, audited and run.

CrewAI 1.15 validates a call's arguments against the tool's ``args_schema``
before the body runs, on every path: ``BaseTool.run``/``arun`` through
``_validate_kwargs`` (native function calling), ``CrewStructuredTool.invoke``
through ``_parse_args`` (ReAct text mode). Both are
``args_schema.model_validate(arguments).model_dump()``: defaults filled in,
values coerced (``"2000"`` becomes ``2000``), unknown keys dropped. The body
(``_run``/``_arun``, or the function of an ``@tool`` tool) receives exactly
that. So CapFence decides on the same value: the arguments validated by the
tool's own ``_validate_kwargs``, bound to the body's signature (its own
defaults filled in). Arguments that fail validation are decided as given (the
body is not reached with them: CrewAI raises its validation error first).

Injected framework arguments: CrewAI passes none to a tool body (its
fingerprint metadata goes to the structured tool's ``config``, never into the
arguments), so nothing is left out.

:func:`pinned` makes the decided value the one that runs: a gated ``run``
validates once, decides, then calls CrewAI's ``run`` with the validated
arguments, and the gated ``_validate_kwargs`` hands exactly those objects on
instead of validating them a second time (an ``@tool`` tool's ``run`` calls its
function directly, with nothing in between to check them).
"""

from __future__ import annotations

import contextvars
import functools
import inspect
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from crewai.tools import BaseTool
from crewai.tools.base_tool import Tool

from capfence.call.callables import bound_payload
from capfence.call.wrapping import ORIGINAL_ATTR

VALIDATING = frozenset({"run", "arun"})
"""Entry points where CrewAI validates keyword arguments before the body."""
ASYNC = frozenset({"arun", "_arun"})

_PINNED: contextvars.ContextVar[tuple[int, Mapping[str, Any]] | None] = contextvars.ContextVar(
    "capfence_crewai_pinned", default=None
)


def _signature(function: Callable[..., Any], *, method: bool) -> inspect.Signature | None:
    """``function``'s signature (without ``self`` for a method); None when it has none we can read."""
    try:
        return _cached_signature(function, method)
    except TypeError:  # an unhashable callable
        return _read_signature(function, method)


@functools.lru_cache(maxsize=1024)
def _cached_signature(function: Callable[..., Any], method: bool) -> inspect.Signature | None:
    return _read_signature(function, method)


def _read_signature(function: Callable[..., Any], method: bool) -> inspect.Signature | None:
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return None
    if method:
        signature = signature.replace(parameters=list(signature.parameters.values())[1:])
    return signature


def body_signature(tool: BaseTool, entry: str) -> inspect.Signature | None:
    """The signature of what ``entry`` ends in: an ``@tool`` tool's function, else the tool class's ``_run``/``_arun``."""
    func = tool.__dict__.get("func") if isinstance(tool, Tool) else None
    if callable(func):
        return _signature(func, method=False)
    base = type(tool).__dict__.get(ORIGINAL_ATTR, type(tool))
    return _signature(getattr(base, "_arun" if entry in ASYNC else "_run"), method=True)


def bind(
    signature: inspect.Signature | None, args: tuple[Any, ...], kwargs: Mapping[str, Any]
) -> dict[str, Any]:
    """The arguments by name, the signature's defaults filled in (as given when they do not fit it)."""
    given: dict[str, Any] = {"args": list(args)} if args else {}
    given.update(kwargs)
    if signature is None:
        return given
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError:
        return given
    payload = bound_payload(bound)
    for name, parameter in signature.parameters.items():
        if parameter.kind is inspect.Parameter.VAR_POSITIONAL and payload.get(name) == []:
            del payload[name]
    return payload


def validated(tool: BaseTool, kwargs: Mapping[str, Any]) -> dict[str, Any] | None:
    """``kwargs`` as the tool's own ``_validate_kwargs`` makes them; None if they fail validation."""
    try:
        result = tool._validate_kwargs(dict(kwargs))
    except Exception:  # noqa: BLE001 - invalid arguments: CrewAI raises before the body; they are decided as given
        return None
    return dict(result) if isinstance(result, Mapping) else None


def entry_arguments(
    tool: BaseTool, entry: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """For one call of ``entry``: (what the policy sees, the keyword arguments to call CrewAI's ``entry`` with)."""
    # CrewAI validates keyword-only calls (positional ones go to the body as given)
    if entry in VALIDATING and not args:
        checked = validated(tool, kwargs)
        if checked is not None:
            kwargs = checked
    return bind(body_signature(tool, entry), args, kwargs), kwargs


def body_arguments(tool: BaseTool, tool_input: Mapping[str, Any]) -> dict[str, Any]:
    """What ``tool``'s body will be called with when CrewAI calls it with ``tool_input`` (as ``run`` and ``invoke`` do)."""
    return entry_arguments(tool, "run", (), dict(tool_input))[0]


def predicted(tool: Any, tool_input: Mapping[str, Any]) -> dict[str, Any]:
    """What the body of the tool a CrewAI hook context names will be called with, for ``tool_input``.

    ``tool`` is the hook context's ``CrewStructuredTool``; its ``_original_tool``
    (the crew's ``BaseTool``) validates. A structured tool of no ``BaseTool``
    validates with its own ``_parse_args``. Anything else: the input as given.
    """
    original = getattr(tool, "_original_tool", None)
    if isinstance(original, BaseTool):
        return body_arguments(original, tool_input)
    parse, func = getattr(tool, "_parse_args", None), getattr(tool, "func", None)
    if callable(parse) and callable(func):
        try:
            parsed = parse(dict(tool_input))
        except Exception:  # noqa: BLE001 - CrewAI raises the same error before the body
            return dict(tool_input)
        return bind(_signature(func, method=False), (), parsed)
    return dict(tool_input)


@contextmanager
def pinned(tool: BaseTool, kwargs: Mapping[str, Any]) -> Iterator[None]:
    """While CrewAI's ``run`` runs: its ``_validate_kwargs`` returns ``kwargs`` (already validated and decided) as they are."""
    token = _PINNED.set((id(tool), kwargs))
    try:
        yield
    finally:
        _PINNED.reset(token)


def is_pinned(tool: BaseTool, kwargs: Mapping[str, Any]) -> bool:
    """Whether ``kwargs`` are the very objects :func:`pinned` for ``tool`` (compared by identity, value by value)."""
    pin = _PINNED.get()
    if pin is None or pin[0] != id(tool):
        return False
    decided = pin[1]
    return kwargs.keys() == decided.keys() and all(kwargs[key] is decided[key] for key in decided)
