"""The per-call view that conditions read.

A :class:`CallView` wraps one tool call. Everything derived from the payload
(normalized string leaves, fields found by name) is computed lazily, at most
once per call, and only if a rule that needs it is consulted. Walking the
payload is cycle-safe and bounded in depth, so a hostile payload cannot make
a condition recurse forever.
"""

from __future__ import annotations

import dataclasses
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, overload

MAX_DEPTH = 64
"""Containers nested deeper than this are not walked with paths; their strings
(keys included) are still collected for ``contains``/``matches`` by
:func:`deep_strings`, so nesting cannot hide text from a deny rule."""


def normalize_text(text: str) -> str:
    """Unicode NFKC, case-folded, whitespace runs collapsed to one space, stripped.

    (``str.split()`` splits on exactly the characters ``\\s`` matches; ASCII text is already NFKC.)
    """
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    return " ".join(text.casefold().split())


def fold_key(key: str) -> str:
    """An argument name as field lookups compare it: NFKC, case-folded, without ``_``, ``-``, whitespace or
    invisible format characters, so ``file_path``, ``filePath``, ``File-Path`` and ``FILE PATH`` are one name."""
    if not key.isascii():
        key = unicodedata.normalize("NFKC", key)
        key = "".join(ch for ch in key if unicodedata.category(ch) != "Cf")
    return "".join(key.casefold().replace("_", "").replace("-", "").split())


T = TypeVar("T")


class once(Generic[T]):  # noqa: N801 - used as a decorator, like functools.cached_property
    """``functools.cached_property`` without its lock: computed on first read, then read from the instance.

    On Python 3.11 ``cached_property`` takes a lock shared by every instance on each first read (~1 µs a
    call on the replay's path). A view is read by one evaluation at a time, and what it computes is a pure
    function of the payload, so two threads computing it at once would only store the same value twice.
    """

    def __init__(self, compute: Callable[[Any], T]) -> None:
        self.compute = compute
        self.name = compute.__name__
        self.named = False
        self.__doc__ = compute.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        if self.named and name != self.name:  # (as functools.cached_property: one descriptor, one name)
            raise TypeError(
                f"cannot assign the same once descriptor to two names ({self.name!r} and {name!r})"
            )
        self.name, self.named = name, True

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> once[T]: ...
    @overload
    def __get__(self, instance: object, owner: type | None = None) -> T: ...
    def __get__(self, instance: object | None, owner: type | None = None) -> T | once[T]:
        if instance is None:
            return self
        value = instance.__dict__[self.name] = self.compute(instance)
        return value


_STR = frozenset({str})
"""The flat payload's test: every key and value exactly a ``str`` (not a subclass, whose methods a caller may have changed)."""
SCALARS = (str, bytes, int, float, bool, type(None))
"""Leaf types: never walked into."""
MAX_OBJECT_TEXT = 1 << 20
"""At most this much of an opaque object's ``str()`` is searched (the audit log stores the same text)."""


def _children(value: object) -> Iterator[tuple[str | int, object]]:
    if isinstance(value, SCALARS):
        return
    if isinstance(value, Mapping):
        for key, item in list(value.items()):
            yield (key if isinstance(key, str | int) else str(key)), item
    elif isinstance(value, list | tuple | set | frozenset):
        yield from enumerate(list(value))
    else:
        yield from object_fields(value) or ()


def object_fields(value: object) -> list[tuple[str | int, object]] | None:
    """The fields of a dataclass or pydantic model (so rules see inside them); None for other objects."""
    try:
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return [(f.name, getattr(value, f.name, None)) for f in dataclasses.fields(value)]
        dump = getattr(value, "model_dump", None)
        if callable(dump) and not isinstance(value, type):
            dumped = dump()
            return list(dumped.items()) if isinstance(dumped, Mapping) else [(0, dumped)]
    except Exception:  # noqa: BLE001 - a hostile object is judged by its text instead
        return None
    return None


def object_text(value: object) -> str | None:
    """The text of an opaque object (not a scalar, container, dataclass or model), as the audit log stores it."""
    if (
        isinstance(value, (*SCALARS, Mapping, list, tuple, set, frozenset))
        or object_fields(value) is not None
    ):
        return None
    try:
        return str(value)[:MAX_OBJECT_TEXT]
    except Exception:  # noqa: BLE001
        return f"<{type(value).__name__}>"


def walk(value: object) -> Iterator[tuple[tuple[str | int, ...], object]]:
    """Yield ``(path, node)`` for every node below ``value`` (depth-first, pre-order).

    Mapping keys that are not ``str``/``int`` are stringified. Cycles are cut
    (a container already on the current path is not entered again) and depth is
    bounded by :data:`MAX_DEPTH`.
    """
    stack: list[tuple[tuple[str | int, ...], object, frozenset[int]]] = [((), value, frozenset())]
    while stack:
        path, node, ancestors = stack.pop()
        yield path, node
        if len(path) >= MAX_DEPTH or id(node) in ancestors:
            continue
        kids = list(_children(node))
        if kids:
            inner = ancestors | {id(node)}
            stack.extend(((*path, k), v, inner) for k, v in reversed(kids))


def deep_items(value: object) -> Iterator[tuple[str | int | None, object]]:
    """``(key, node)`` for every node below ``value`` without tracking paths: iterative, linear, cycle-safe.

    Used past :data:`MAX_DEPTH`, where :func:`walk` stops, so deep nesting
    cannot hide a string or a field from a condition.
    """
    stack: list[tuple[str | int | None, object]] = [(None, value)]
    seen: set[int] = set()
    while stack:
        key, node = stack.pop()
        yield key, node
        if id(node) not in seen:
            kids = list(_children(node))
            if kids:
                seen.add(id(node))
                stack.extend(kids)


def deep_strings(value: object) -> Iterator[str]:
    """Every string (and bytes) leaf and mapping key below ``value``."""
    for key, node in deep_items(value):
        if isinstance(key, str):
            yield key
        if isinstance(node, str):
            yield node
        elif isinstance(node, bytes):
            yield node.decode("utf-8", "replace")
        elif (text := object_text(node)) is not None:
            yield text


@dataclass
class CallView:
    """One tool call as the conditions see it."""

    capability: str
    payload: Mapping[str, Any]
    agent_id: str | None = None
    environment: str | None = None
    tool: str | None = None
    framework: str | None = None
    call_id: str | None = None
    """The framework's id for this tool call (LangChain's ``tool_call_id``), if it has one.

    Not seen by conditions. The runtime stores it with the decision and does not
    write a second, identical decision for the same id (a re-run graph step)."""
    _fields: dict[frozenset[str], list[object]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    memo: dict[object, Any] = field(default_factory=dict, init=False, repr=False, compare=False)
    """What conditions derived from this call, under keys of their own, so the rules of one evaluation share it.
    (Not an ``__init__`` argument: ``dataclasses.replace`` gives the new call an empty memo.)"""

    @once
    def args_text(self) -> str:
        """The payload's lossless canonical text (:mod:`capfence.call.canonical`); raises ``NotCanonical``.

        What binds anything to these arguments (an approval, a reused decision
        record, the check that a tool body runs with the decided arguments) uses
        this, never the audit log's readable serialization."""
        from capfence.call.canonical import encode

        return encode(self.payload)

    @once
    def args_digest(self) -> str:
        """SHA-256 of :attr:`args_text`; raises ``NotCanonical``."""
        from capfence.call.canonical import text_digest

        return text_digest(self.args_text)

    @once
    def joined_text(self) -> str:
        """:attr:`texts` joined by NUL: one substring search covers every string (a needle never spans
        two strings, since normalized needles from YAML cannot contain NUL)."""
        return "\x00".join(self.texts)

    @once
    def texts(self) -> tuple[str, ...]:
        """Normalized text of every string leaf, plus each list of strings joined by spaces.

        Keys are included too: a payload ``{"rm -rf /": 1}`` is as visible as a value.
        """
        payload = self.payload
        if (
            type(payload) is dict
            and _STR.issuperset(map(type, payload))
            and _STR.issuperset(map(type, payload.values()))
        ):
            return tuple(map(normalize_text, (*payload, *payload.values())))  # the common flat case
        out: list[str] = []
        for path, node in walk(payload):
            if isinstance(node, str):
                out.append(normalize_text(node))
            elif isinstance(node, bytes):
                out.append(normalize_text(node.decode("utf-8", "replace")))
            elif isinstance(node, list | tuple) and node and all(isinstance(x, str) for x in node):
                out.append(normalize_text(" ".join(node)))
            elif (text := object_text(node)) is not None:  # an opaque object: judged by its text
                out.append(normalize_text(text))
            elif len(path) >= MAX_DEPTH:  # not walked further: still searchable
                out.extend(normalize_text(text) for text in deep_strings(node))
            if path and isinstance(path[-1], str):
                out.append(normalize_text(path[-1]))
        return tuple(out)

    def find_fields(self, names: frozenset[str]) -> list[object]:
        """Values of every mapping key named in ``names``, at any depth; names compare by :func:`fold_key`
        (``AMOUNT``, ``filePath`` and ``file-path`` are found as ``amount`` and ``file_path``).

        Results are cached per call for each distinct ``names`` set.
        """
        found = self._fields.get(names)
        if found is None:
            wanted = frozenset(map(fold_key, names))
            found = []
            for path, node in walk(self.payload):
                if path and isinstance(path[-1], str) and fold_key(path[-1]) in wanted:
                    found.append(node)
                if len(path) >= MAX_DEPTH:  # not walked further: its fields still count
                    found.extend(
                        v for k, v in deep_items(node) if isinstance(k, str) and fold_key(k) in wanted
                    )
            self._fields[names] = found
        return found

    def field_values(self, dotted: str) -> list[object]:
        """Every value an argument name may stand for: a plain name (``amount``) at any depth, a dotted path
        (``order.amount``, list indexes allowed) from the top; each name compared by :func:`fold_key`.

        So ``{"amount": 5, "AMOUNT": 50000, "order": {"Amount": 7}}`` has three amounts: a rule on a
        threshold must not see only the one a tool might not read.
        """
        if "." not in dotted:
            return self.find_fields(frozenset({dotted}))
        nodes: list[object] = [self.payload]
        for part in dotted.split("."):
            nodes = [child for node in nodes for child in _named_children(node, part)]
        return nodes

    def get(self, dotted: str) -> tuple[bool, object]:
        """Value at a dotted path (``"order.amount"``, list indexes allowed); ``(found, value)``."""
        node: object = self.payload
        for part in dotted.split("."):
            if isinstance(node, Mapping) and part in node:
                node = node[part]
            elif (
                isinstance(node, list | tuple)
                and part.lstrip("-").isdigit()
                and -len(node) <= int(part) < len(node)
            ):
                node = node[int(part)]
            else:
                return False, None
        return True, node


def _named_children(node: object, name: str) -> Iterator[object]:
    """The children of ``node`` under ``name``: mapping keys equal to it by :func:`fold_key`, or a list index."""
    if isinstance(node, Mapping):
        wanted = fold_key(name)
        yield from (
            value for key, value in list(node.items()) if isinstance(key, str) and fold_key(key) == wanted
        )
    elif (
        isinstance(node, list | tuple) and name.lstrip("-").isdigit() and -len(node) <= int(name) < len(node)
    ):
        yield node[int(name)]
