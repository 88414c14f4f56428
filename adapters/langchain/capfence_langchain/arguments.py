"""The arguments a LangChain tool call is decided on: the body's own, parsed once, checked before the body runs.

LangChain's ``BaseTool.run``/``arun`` turn a tool input into the body's
arguments with ``_to_args_and_kwargs`` (which calls ``_parse_input``): the
tool's ``args_schema`` validates and coerces the input and fills in defaults,
and ``InjectedToolCallId`` is filled from the call id. The model's raw
arguments are not what the body gets: an omitted ``amount`` whose default is
50000 *is* 50000 to the body, a ``"2000"`` for an ``int`` field is ``2000``.

So a gated tool:

1. parses the input with the tool's own ``_to_args_and_kwargs`` (:func:`parse`),
   *once*, before LangChain's ``run`` does;
2. decides (and audits) :func:`payload_of` that result: the keyword arguments,
   positional ones (a string input) under the names of the body's parameters
   they fill, plus the defaults of the body's parameters the parse left out,
   without the ones LangChain injects (``ToolRuntime``, ``InjectedState``,
   ``InjectedStore``, ``InjectedToolCallId``, any ``InjectedToolArg``,
   ``run_manager``, ``callbacks``, the ``RunnableConfig``). The body is the
   function the arguments are passed to: a ``StructuredTool``'s or ``Tool``'s
   ``func`` (``coroutine`` for ``arun``), whose defaults fill in what a string
   input or an ``args_schema`` that leaves a parameter out does not give; else
   the tool's ``_run`` (``_arun``), which for a ``BaseTool`` subclass without
   an ``args_schema`` gets its input as is;
3. runs LangChain's own ``run`` with :func:`prepared` in effect, so the
   gated class's ``_to_args_and_kwargs`` (:func:`checked_to_args_and_kwargs`)
   hands the body exactly that parse instead of parsing again, after checking,
   at that innermost point, that the arguments still encode to what was
   decided. If they do not (something mutated them in place in between, such
   as a callback), :class:`ArgumentsChanged` stops the run and the call is
   decided again.

A parse that fails (a validation error, a string input to a JSON-schema tool,
...) is not decided: LangChain's ``run`` is called and the same error is raised
where LangChain would raise it, so the tool's ``handle_validation_error`` (or a
``ToolNode``'s error handling) answers exactly as it would without CapFence.
The body cannot run on input its schema rejects.
"""

from __future__ import annotations

import contextvars
import inspect
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from langchain_core.tools import BaseTool, StructuredTool, Tool
from langchain_core.tools.base import FILTERED_ARGS, _get_runnable_config_param

from capfence.call.canonical import NotCanonical, encode
from capfence.call.wrapping import ORIGINAL_ATTR

Parsed = tuple[tuple[Any, ...], dict[str, Any]]
"""What ``_to_args_and_kwargs`` returns: the body's positional and keyword arguments."""


class ArgumentsChanged(Exception):
    """The arguments about to reach the body are not the ones decided; the gated run decides them again."""


def parse(tool: BaseTool, tool_input: str | dict[str, Any], tool_call_id: str | None) -> Parsed:
    """The body's arguments, as the tool's own (ungated) ``_to_args_and_kwargs`` makes them; raises what it raises.

    Like LangChain's ``run``, this may set an ``InjectedToolCallId`` field in a dict ``tool_input``.
    """
    base: type[BaseTool] = type(tool).__dict__.get(ORIGINAL_ATTR, type(tool))
    args, kwargs = base._to_args_and_kwargs(tool, tool_input, tool_call_id)
    return tuple(args), kwargs


def payload_of(
    tool: BaseTool, tool_input: object, parsed: Parsed, *, asynchronous: bool = False
) -> dict[str, Any]:
    """What the policy sees and the audit log records for the arguments ``parsed`` (see the module docstring).

    ``asynchronous``: for ``arun`` (a ``StructuredTool``'s ``coroutine`` may have other defaults than its ``func``).
    """
    args, kwargs = parsed
    parameters = _body_parameters(tool, asynchronous)
    positional = [p.name for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)][
        : len(args)
    ]
    named = (
        dict(zip(positional, args, strict=True))
        if len(positional) == len(args) and not kwargs.keys() & set(positional)
        else {}
    )
    defaults = {
        p.name: p.default
        for p in parameters
        if p.default is not p.empty and p.name not in kwargs and p.name not in positional
    }
    payload = {
        **tool._filter_injected_args({**defaults, **named, **kwargs}),
        **passed_through(tool, kwargs, asynchronous),
    }
    if args and not named:
        key = _positional_name(tool, tool_input, args, payload)
        while key in payload:  # never hidden behind a keyword argument of the same name
            key = "_" + key
        payload = {key: args[0] if len(args) == 1 else list(args), **payload}
    return payload


def passed_through(tool: BaseTool, kwargs: Mapping[str, Any], asynchronous: bool) -> dict[str, Any]:
    """The arguments named like LangChain's own (``callbacks``, ``run_manager``) that reach the body as given.

    ``_filter_injected_args`` drops these names from any input, but LangChain
    fills them in only for a body that declares them: ``run``/``arun`` set
    ``run_manager`` when ``_run``/``_arun`` declares it, and a ``StructuredTool``
    or ``Tool`` sets ``callbacks`` when its ``func``/``coroutine`` declares it.
    Otherwise the input's value goes to the body as is. A tool whose
    ``args_schema`` is a JSON schema (every MCP tool from langchain-mcp-adapters)
    does not validate its input, so such a key from the model reaches the body's
    ``**kwargs``, and from there the MCP server: it is decided like any argument.
    """
    given = {name: kwargs[name] for name in FILTERED_ARGS if name in kwargs}
    if not given:
        return {}
    kind: type[BaseTool] = type(tool).__dict__.get(ORIGINAL_ATTR, type(tool))
    runner = kind._arun if asynchronous and kind._arun is not BaseTool._arun else kind._run
    body = _body(tool, asynchronous)
    filled = {"run_manager"} if "run_manager" in _parameter_names(runner) else set()
    own_function = any(body is tool.__dict__.get(field) for field in ("func", "coroutine"))
    if runner in _CALLS_ITS_FUNCTION and own_function and "callbacks" in _parameter_names(body):
        filled.add("callbacks")
    return {name: value for name, value in given.items() if name not in filled}


def _parameter_names(fn: Callable[..., Any]) -> set[str]:
    try:
        return set(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return set()


def _body(tool: BaseTool, asynchronous: bool) -> Callable[..., Any]:
    """The function the parsed arguments are passed to: a ``StructuredTool``'s or ``Tool``'s own ``func``
    (or ``coroutine``, for ``arun``), else the tool's ``_run`` (or its own ``_arun``)."""
    # past the gated class's own wrappers
    kind: type[BaseTool] = type(tool).__dict__.get(ORIGINAL_ATTR, type(tool))
    fields = tool.__dict__  # the raw functions: a gated tool's ``func`` attribute hands out a gated one
    if asynchronous and kind._arun is not BaseTool._arun:
        if kind._arun not in _CALLS_ITS_FUNCTION:
            return tool._arun
        if fields.get("coroutine") is not None:
            return fields["coroutine"]  # type: ignore[no-any-return]
    if kind._run in _CALLS_ITS_FUNCTION and fields.get("func") is not None:
        return fields["func"]  # type: ignore[no-any-return]
    return tool._run


_CALLS_ITS_FUNCTION = (StructuredTool._run, StructuredTool._arun, Tool._run, Tool._arun)
_NOT_ARGUMENTS = frozenset({"self", "run_manager", "callbacks"})
"""Parameters LangChain fills in itself (the ``RunnableConfig`` one too, found by its annotation)."""


def _body_parameters(tool: BaseTool, asynchronous: bool) -> list[inspect.Parameter]:
    """The body's named parameters that hold arguments (a ``BaseTool`` subclass without an ``args_schema`` passes
    the input as is, a ``StructuredTool`` whose schema leaves a parameter out passes what it has: the body's own
    defaults fill in the rest)."""
    body = _body(tool, asynchronous)
    try:
        parameters = list(inspect.signature(body).parameters.values())
    except (TypeError, ValueError):
        return []
    config = (
        _runnable_config_param(body)
        if any("RunnableConfig" in str(p.annotation) for p in parameters)
        else None
    )
    kinds = (
        inspect.Parameter.POSITIONAL_ONLY,
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
        inspect.Parameter.KEYWORD_ONLY,
    )
    return [p for p in parameters if p.kind in kinds and p.name not in _NOT_ARGUMENTS and p.name != config]


def _runnable_config_param(body: Callable[..., Any]) -> str | None:
    """The parameter LangChain passes the ``RunnableConfig`` to, by LangChain's own rule."""
    try:
        return _get_runnable_config_param(body)
    except Exception:  # noqa: BLE001 - unresolvable annotations: LangChain would not find one either
        return None


def tool_payload(
    tool: BaseTool,
    tool_input: str | dict[str, Any],
    tool_call_id: str | None = None,
    *,
    asynchronous: bool = False,
) -> dict[str, Any]:
    """What the policy sees for ``tool.run(tool_input, tool_call_id=...)`` (``arun`` with ``asynchronous``);
    raises the schema's error for a bad input."""
    tool_input = dict(tool_input) if isinstance(tool_input, Mapping) else tool_input
    return payload_of(tool, tool_input, parse(tool, tool_input, tool_call_id), asynchronous=asynchronous)


def _positional_name(
    tool: BaseTool, tool_input: object, args: tuple[Any, ...], taken: Mapping[str, Any]
) -> str:
    """The tool's single argument, else the single key of a dict input, else ``"input"``."""
    names = _argument_names(tool)
    if len(args) == 1 and len(names) == 1 and names[0] not in taken:
        return names[0]
    if len(args) == 1 and isinstance(tool_input, Mapping) and len(tool_input) == 1:
        (key,) = tool_input
        if isinstance(key, str) and key not in taken:
            return key
    return "input"


def _argument_names(tool: BaseTool) -> list[str]:
    try:
        schema = tool.tool_call_schema
        if isinstance(schema, dict):
            return list(schema.get("properties", {}))
        fields = getattr(schema, "model_fields", None) or getattr(schema, "__fields__", {})
        return list(fields)
    except Exception:  # noqa: BLE001 - an odd schema only changes the payload's key
        return []


@dataclass
class _Prepared:
    """One parse handed to LangChain's ``run`` in place of its own: the arguments, or the error the parse raised."""

    tool: BaseTool
    tool_input: object
    parsed: Parsed | BaseException
    decided: Snapshot | None
    asynchronous: bool = False
    used: bool = False


_PREPARED: contextvars.ContextVar[_Prepared | None] = contextvars.ContextVar(
    "capfence_langchain_prepared", default=None
)


@contextmanager
def prepared(
    tool: BaseTool,
    tool_input: object,
    parsed: Parsed | BaseException,
    decided: Snapshot | None = None,
    *,
    asynchronous: bool = False,
) -> Iterator[None]:
    """While LangChain's ``run`` runs, its ``_to_args_and_kwargs`` returns ``parsed`` (or raises it, an error), once.

    ``decided``: the payload that was decided for ``parsed``, checked against
    the arguments at the moment they are handed to the body.
    """
    token = _PREPARED.set(_Prepared(tool, tool_input, parsed, decided, asynchronous))
    try:
        yield
    finally:
        _PREPARED.reset(token)


def checked_to_args_and_kwargs(original: Callable[..., Parsed]) -> Callable[..., Parsed]:
    """The gated class's ``_to_args_and_kwargs``: the prepared parse, checked against the decision; else the tool's own."""

    def _to_args_and_kwargs(
        self: BaseTool, tool_input: str | dict[str, Any], tool_call_id: str | None
    ) -> Parsed:
        ready = _PREPARED.get()
        if ready is None or ready.used or ready.tool is not self:
            return original(self, tool_input, tool_call_id)
        ready.used = True
        if isinstance(ready.parsed, BaseException):
            raise ready.parsed
        args, kwargs = ready.parsed
        decided = ready.decided
        if decided is not None and not decided.matches(
            payload_of(self, ready.tool_input, ready.parsed, asynchronous=ready.asynchronous)
        ):
            raise ArgumentsChanged(f"the arguments of {self.name!r} changed after they were decided")
        return args, dict(kwargs)

    return _to_args_and_kwargs


@dataclass(frozen=True)
class Snapshot:
    """A payload as it was when it was decided: its lossless encoding (:mod:`capfence.call.canonical`).

    A payload with no lossless encoding (an opaque object from a direct call,
    nesting deeper than the encoding takes) is compared by its shape instead
    (:func:`shape`): every container by identity and size, every scalar by
    value, at any depth, so a change made in place anywhere in it is seen; an
    opaque object only by identity.
    """

    text: str | None
    shape: Mapping[str, list[object]]

    @classmethod
    def of(cls, payload: Mapping[str, Any]) -> Snapshot:
        try:
            return cls(encode(payload), {})
        except NotCanonical:
            return cls(None, {key: shape(value) for key, value in payload.items()})

    def matches(self, payload: Mapping[str, Any]) -> bool:
        """Whether ``payload`` is still exactly the decided one."""
        if self.text is not None:
            try:
                return encode(payload) == self.text
            except NotCanonical:
                return False
        return {key: shape(value) for key, value in payload.items()} == self.shape


_SCALARS = (str, bytes, int, float, complex, bool, type(None))


def shape(value: object) -> list[object]:
    """Every object below ``value``, depth first: a scalar by type and value, anything else by type and identity
    (and a container by its size, then its items). Iterative and cycle-safe: no depth limit."""
    out: list[object] = []
    stack, entered = [value], set[int]()
    while stack:
        node = stack.pop()
        if isinstance(node, _SCALARS):
            # NaN equals itself by its hex
            out.append((type(node), node.hex() if isinstance(node, float) else node))
            continue
        out.append((type(node), id(node)))
        if id(node) in entered:
            continue
        entered.add(id(node))
        if isinstance(node, Mapping):
            items = [part for pair in list(node.items()) for part in pair]
        elif isinstance(node, list | tuple | set | frozenset):
            items = list(node)
        else:
            continue
        out.append(len(items))
        stack.extend(reversed(items))
    return out
