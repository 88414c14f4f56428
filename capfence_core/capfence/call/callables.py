"""The generic adapter for plain Python callables (sync and async).

The wrapper keeps the function's name, docstring and ``inspect.signature``
(through ``__signature__``; it has no ``__wrapped__``, so ``inspect.unwrap``
cannot hand out the ungated function).
Its payload is the call's arguments bound to the signature, defaults applied,
``**kwargs`` flattened into the top level. A blocked call raises
:class:`~capfence.ToolCallDenied` or :class:`~capfence.ApprovalRequired`.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from capfence.call.gate import Binding, tool_body


def call_payload(
    signature: inspect.Signature | None, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> dict[str, Any]:
    """The arguments of one call as a mapping; never raises (unbindable calls are recorded as given)."""
    if signature is None:
        return {"args": list(args), **kwargs}
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError:
        return {"args": list(args), **kwargs}
    return bound_payload(bound)


def bound_payload(bound: inspect.BoundArguments) -> dict[str, Any]:
    """Bound arguments as a payload: defaults applied, ``**kwargs`` flattened, ``*args`` as a list."""
    bound.apply_defaults()
    payload: dict[str, Any] = {}
    for name, value in bound.arguments.items():
        kind = bound.signature.parameters[name].kind
        if kind is inspect.Parameter.VAR_KEYWORD:
            payload.update(value)
        else:
            payload[name] = list(value) if kind is inspect.Parameter.VAR_POSITIONAL else value
    return payload


def _signature(fn: Callable[..., Any]) -> inspect.Signature | None:
    try:
        return inspect.signature(fn)
    except (TypeError, ValueError):
        return None


def _body(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    with tool_body():
        return fn(*args, **kwargs)


async def _abody(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    with tool_body():
        return await fn(*args, **kwargs)


def wrap_callable(fn: Callable[..., Any], binding: Binding) -> Callable[..., Any]:
    signature = _signature(fn)
    if inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(type(fn).__call__):

        async def gated_async(*args: Any, **kwargs: Any) -> Any:
            payload = call_payload(signature, args, kwargs)
            return await binding.acall(id(gated_async), payload, lambda: _abody(fn, args, kwargs))

        wrapper: Callable[..., Any] = gated_async
    else:

        def gated(*args: Any, **kwargs: Any) -> Any:
            return binding.call(
                id(gated), call_payload(signature, args, kwargs), lambda: _body(fn, args, kwargs)
            )

        wrapper = gated
    functools.update_wrapper(wrapper, fn)
    del wrapper.__wrapped__  # type: ignore[attr-defined]  # inspect.unwrap (used by some frameworks) would otherwise hand out the ungated function
    if signature is not None:
        wrapper.__signature__ = signature  # type: ignore[attr-defined]
    wrapper.__capfence_binding__ = binding  # type: ignore[attr-defined]
    return wrapper
