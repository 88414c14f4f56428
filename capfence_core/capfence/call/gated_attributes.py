"""What a gated tool hands out through its attributes is gated too.

Frameworks keep a tool's function in a public attribute (LangChain
``StructuredTool.func``/``coroutine``, CrewAI ``Tool.func``, LlamaIndex
``FunctionTool.fn``/``async_fn``/``real_fn``), and they, or their users, build
new tools from it: CrewAI's ``Tool.from_langchain(tool)`` takes ``tool.func``,
LlamaIndex's ``to_langchain_tool()`` takes ``self.fn``, and
``StructuredTool.from_function(func=tool.func)`` is a common idiom. Read from a
gated tool, such an attribute (:func:`function_attribute`) gives the function
behind the tool's binding (:func:`gated_function`): every call is decided and
audited before the function runs, like a call of the tool itself, so a tool
built from it is gated by the same binding.

The tool's own methods that run the function read the same attribute
(LangChain's ``StructuredTool._run`` calls ``self.func``). :func:`reads_raw`
marks them: while one runs, its tool's attributes give the raw function, so a
call through the tool is decided once, by the tool's gated entry point. (A
function body that reads its own tool's attribute during that call gets the raw
function too; it is already running under a decision.)

:func:`install` adds both to a gated class (:func:`capfence.call.wrapping.gated_class`)
once; the class is cached and shared by every tool gated from the same base.
Pydantic drops a property that shadows a field from the class namespace, so the
members are set on the class after it is created.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from capfence.call.callables import call_payload
from capfence.call.decision import Decision, failure
from capfence.call.gate import Binding, blocked_error, tool_body
from capfence.call.wrapping import BINDING_ATTR, binding_of
from capfence.errors import CapFenceError

Payload = Callable[[Any, Callable[..., Any], tuple[Any, ...], dict[str, Any]], Mapping[str, Any]]
"""``payload(tool, fn, args, kwargs)``: what the policy sees for one call of a handed-out function."""
OnBlock = Callable[[Any, Decision], Any]
"""``on_block(tool, decision)``: what a blocked call of a handed-out function returns (or raises)."""

INSTALLED_ATTR = "__capfence_attributes_installed__"
_READING_RAW: contextvars.ContextVar[frozenset[int]] = contextvars.ContextVar(
    "capfence_reading_raw", default=frozenset()
)
_LOCK = threading.Lock()


@dataclass(frozen=True)
class Extension:
    """What :func:`install` adds to a gated class."""

    raw_readers: tuple[str, ...] = ()
    """Methods wrapped with :func:`reads_raw` (those that run the function they read from the tool)."""
    members: Mapping[str, Any] = field(default_factory=dict)
    """Attributes set on the class: properties from :func:`function_attribute`, methods."""


def install(cls: type, extension: Callable[[type], Extension]) -> type:
    """Add ``extension(cls)`` to the gated class ``cls``, once; returns ``cls``."""
    with _LOCK:
        if cls.__dict__.get(INSTALLED_ATTR):
            return cls
        built = extension(cls)
        for name in built.raw_readers:
            method = getattr(cls, name, None)
            if callable(method):
                type.__setattr__(cls, name, reads_raw(method))
        for name, value in built.members.items():
            type.__setattr__(cls, name, value)
        type.__setattr__(cls, INSTALLED_ATTR, True)
    return cls


def reading_raw(obj: object) -> bool:
    """Whether one of ``obj``'s own :func:`reads_raw` methods is running (in this context)."""
    return id(obj) in _READING_RAW.get()


@contextmanager
def _raw(obj: object) -> Iterator[None]:
    token = _READING_RAW.set(_READING_RAW.get() | {id(obj)})
    try:
        yield
    finally:
        _READING_RAW.reset(token)


def reads_raw(method: Callable[..., Any]) -> Callable[..., Any]:
    """``method`` (sync or async) running with its tool's function attributes raw; signature and type hints kept."""
    if inspect.iscoroutinefunction(method):

        @functools.wraps(method)
        async def async_reader(self: Any, *args: Any, **kwargs: Any) -> Any:
            with _raw(self):
                return await method(self, *args, **kwargs)

        return async_reader

    @functools.wraps(method)
    def reader(self: Any, *args: Any, **kwargs: Any) -> Any:
        with _raw(self):
            return method(self, *args, **kwargs)

    return reader


def gated_function(
    fn: Callable[..., Any],
    binding: Binding,
    *,
    key: int,
    payload: Callable[[tuple[Any, ...], dict[str, Any]], Mapping[str, Any]],
    on_block: Callable[[Decision], Any] | None = None,
) -> Callable[..., Any]:
    """``fn`` behind ``binding``: each call decided and audited, then run (a body of its own) or blocked.

    Blocked, it returns ``on_block(decision)``, or raises
    :class:`~capfence.ToolCallDenied` / :class:`~capfence.ApprovalRequired`.
    The wrapper keeps ``fn``'s name and docstring and sets ``__wrapped__``, so
    signatures and type hints read through it are ``fn``'s (frameworks build
    schemas from them); ``__wrapped__`` is the raw function, as with any
    ``functools`` wrapper.
    """
    if _is_async(fn):

        async def gated_async(*args: Any, **kwargs: Any) -> Any:
            async def body() -> Any:
                with tool_body():
                    return await fn(*args, **kwargs)

            return await binding.acall(key, payload(args, kwargs), body, on_block)

        wrapper: Callable[..., Any] = gated_async
    else:

        def gated(*args: Any, **kwargs: Any) -> Any:
            def body() -> Any:
                with tool_body():
                    return fn(*args, **kwargs)

            return binding.call(key, payload(args, kwargs), body, on_block)

        wrapper = gated
    functools.update_wrapper(wrapper, fn)
    object.__setattr__(wrapper, BINDING_ATTR, binding)
    return wrapper


def denied_function(
    fn: Callable[..., Any], decision: Decision, on_block: Callable[[Decision], Any] | None = None
) -> Callable[..., Any]:
    """A stand-in for ``fn`` that never runs it: every call is blocked by ``decision``."""
    if _is_async(fn):

        async def denied_async(*args: Any, **kwargs: Any) -> Any:
            return _block(decision, on_block)

        wrapper: Callable[..., Any] = denied_async
    else:

        def denied(*args: Any, **kwargs: Any) -> Any:
            return _block(decision, on_block)

        wrapper = denied
    return functools.update_wrapper(wrapper, fn)


def function_attribute(
    read: Callable[[Any], Any],
    *,
    payload: Payload | None = None,
    on_block: OnBlock | None = None,
    write: Callable[[Any, Any], None] | None = None,
    doc: str | None = None,
) -> property:
    """A property giving ``read(tool)`` behind the tool's binding (see the module docstring).

    ``None`` stays ``None``; inside the tool's own :func:`reads_raw` methods the
    raw value is returned. ``payload`` defaults to the call's arguments bound to
    the function's signature. A gated class whose instance has no binding
    hands out a function that blocks every call.
    """

    def get(tool: Any) -> Any:
        raw = read(tool)
        if raw is None or not callable(raw) or reading_raw(tool):
            return raw
        return hand_out(tool, raw, payload=payload, on_block=on_block)

    return property(get, write, None, doc)


def hand_out(
    tool: Any, raw: Callable[..., Any], *, payload: Payload | None = None, on_block: OnBlock | None = None
) -> Callable[..., Any]:
    """``raw``, a function of the gated ``tool``, behind the tool's binding (a tool without one: blocked)."""
    block = functools.partial(on_block, tool) if on_block is not None else None
    try:
        binding = binding_of(tool)
    except CapFenceError as exc:
        return denied_function(raw, failure(str(exc)), block)
    make = payload or _signature_payload
    return gated_function(
        raw, binding, key=id(tool), payload=lambda args, kwargs: make(tool, raw, args, kwargs), on_block=block
    )


def substitute(
    original: Callable[..., Any], names: tuple[str, ...], read: Callable[[Any, str], Any]
) -> Callable[..., Any]:
    """A dict-returning method (``model_dump``) whose raw function values are replaced by the gated ones.

    A value is replaced only when it *is* the raw function (``read(tool, name)``),
    so a JSON dump, where functions are already strings, is left as it is.
    """

    @functools.wraps(original)
    def dump(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = original(self, *args, **kwargs)
        if isinstance(result, dict):
            for name in names:
                raw = read(self, name)
                if raw is not None and result.get(name) is raw:
                    result[name] = getattr(self, name)
        return result

    return dump


def substitute_items(
    original: Callable[..., Iterator[tuple[str, Any]]], names: tuple[str, ...]
) -> Callable[..., Iterator[tuple[str, Any]]]:
    """``__iter__`` of a pydantic model (what ``dict(tool)`` reads) with the named values read through the class."""

    @functools.wraps(original)
    def items(self: Any) -> Iterator[tuple[str, Any]]:
        for name, value in original(self):
            yield name, (getattr(self, name) if name in names and value is not None else value)

    return items


# --- internals ---------------------------------------------------------------------


def _is_async(fn: Callable[..., Any]) -> bool:
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(type(fn).__call__)


def _signature(fn: Callable[..., Any]) -> inspect.Signature | None:
    try:
        return inspect.signature(fn)
    except (TypeError, ValueError):
        return None


def _signature_payload(
    tool: Any, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Mapping[str, Any]:
    return call_payload(_signature(fn), args, kwargs)


def _block(decision: Decision, on_block: Callable[[Decision], Any] | None) -> Any:
    if on_block is None:
        raise blocked_error(decision)
    return on_block(decision)


def field_reader(name: str) -> Callable[[Any], Any]:
    """Reads a pydantic model's field ``name`` from the instance's ``__dict__`` (past any gated attribute)."""

    def read(obj: Any) -> Any:
        return obj.__dict__.get(name)

    return read


def raw_field(obj: Any, name: str) -> Any:
    """The raw value of ``obj``'s field ``name``, as stored."""
    return obj.__dict__.get(name)


def field_writer(name: str) -> Callable[[Any, Any], None]:
    """Sets a pydantic model's field ``name`` as assignment would (the value stored, the field marked as set)."""

    def write(obj: Any, value: Any) -> None:
        obj.__dict__[name] = value
        obj.__pydantic_fields_set__.add(name)

    return write
