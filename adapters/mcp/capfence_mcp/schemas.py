"""A tool's ``inputSchema`` defaults, filled in before a call is decided, so the policy decides what the server acts on.

A server applies the defaults its ``tools/list`` gives for arguments a call
leaves out (``path: str = "/"`` called with no ``path`` lists ``/``). The
policy would otherwise decide ``{}``. Both gates (``guard_session`` and the
proxy) fill in the top-level ``default`` of every property the call omits,
decide the completed arguments, and send them explicitly.

What is filled: a ``default`` on a property of the schema's top-level
``properties`` (the schema itself may be a local ``$ref`` such as
``#/$defs/Args``; a property that is a local ``$ref`` without a ``default`` of
its own takes the target's ``default``). What is not: defaults inside an
object argument the call does send (``{"options": {}}`` is decided as sent,
while the server may fill ``options.recursive``), and defaults under
``allOf``/``anyOf``/``oneOf``/``if``/``then``/``else``, ``patternProperties``
or ``additionalProperties``. A ``$ref`` that is not local (another document)
cannot be read: the schema is refused (:class:`SchemaUnavailable`), and the
call is denied. The schema is what the server says in ``tools/list``; a server
that does something else than it lists is not gated by this.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Awaitable, Callable
from typing import Any

MAX_PAGES = 1000
"""At most this many ``tools/list`` pages are read to find one tool's schema (a server whose cursors never end is refused)."""
MAX_REFS = 64
"""At most this many ``$ref`` hops are followed from one schema node (a longer chain, or a cycle, is refused)."""
RETRIES = 3
"""A listing that the server's ``tools/list_changed`` overtook is read again at most this many times."""


class SchemaUnavailable(Exception):
    """The tool's ``inputSchema`` cannot be known or read: its call is denied, saying why."""


def _pointer(root: dict[str, Any], ref: str) -> Any:
    """The node a local ``$ref`` (``#`` or ``#/a/b``, JSON Pointer) names in ``root``."""
    if ref == "#":
        return root
    if not ref.startswith("#/"):
        raise SchemaUnavailable(f"the inputSchema has a $ref that is not local ({ref[:80]!r})")
    node: Any = root
    for escaped in ref[2:].split("/"):
        part = escaped.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise SchemaUnavailable(f"the inputSchema's $ref {ref[:80]!r} names nothing")
    return node


def _resolved(root: dict[str, Any], node: Any) -> Any:
    """``node`` with its local ``$ref`` chain followed (the first node on the way that has a ``default`` stops it)."""
    for _ in range(MAX_REFS):
        if not isinstance(node, dict) or "$ref" not in node or "default" in node:
            return node
        ref = node["$ref"]
        if not isinstance(ref, str):
            raise SchemaUnavailable("the inputSchema has a $ref that is not a string")
        node = _pointer(root, ref)
    raise SchemaUnavailable(f"the inputSchema's $ref chain is longer than {MAX_REFS} (or a cycle)")


def with_defaults(arguments: dict[str, Any], schema: dict[str, Any] | None) -> dict[str, Any]:
    """``arguments`` with the schema's top-level defaults filled in where an argument is absent (see the module docstring).

    Raises :class:`SchemaUnavailable` for a ``$ref`` it cannot follow.
    """
    if not schema:
        return arguments
    top = _resolved(schema, schema)
    properties = top.get("properties") if isinstance(top, dict) else None
    if not isinstance(properties, dict):
        return arguments
    filled = dict(arguments)
    for key, listed in properties.items():
        if key in filled:
            continue
        spec = _resolved(schema, listed)
        if isinstance(spec, dict) and "default" in spec:
            filled[key] = copy.deepcopy(spec["default"])
    return filled


ListPage = Callable[[str | None], Awaitable[dict[str, Any]]]
"""Sends one ``tools/list`` request (with this cursor) to the server and returns its ``result``; raises if it cannot."""


class ToolSchemas:
    """The ``inputSchema`` of each tool one server lists (to one session), as last seen.

    Learned from ``tools/list`` answers passing by (:meth:`learn`) and from the
    gate's own listing (:meth:`schema`); forgotten when the server says its
    tools changed (:meth:`invalidate`). An answer to a listing that was asked
    for before the last change is not learned (it may be the old list).
    """

    def __init__(self) -> None:
        self._known: dict[str, dict[str, Any]] = {}
        self.generation = 0
        self._lock: asyncio.Lock | None = None

    def invalidate(self) -> None:
        """The server's tools changed (``notifications/tools/list_changed``): forget every schema."""
        self._known.clear()
        self.generation += 1

    def learn(self, result: object, generation: int) -> None:
        """Remember the schemas of a ``tools/list`` result asked for at ``generation`` (ignored if the tools changed since)."""
        if (
            generation != self.generation
            or not isinstance(result, dict)
            or not isinstance(result.get("tools"), list)
        ):
            return
        for tool in result["tools"]:
            if (
                isinstance(tool, dict)
                and isinstance(tool.get("name"), str)
                and isinstance(tool.get("inputSchema"), dict)
            ):
                self._known[tool["name"]] = copy.deepcopy(tool["inputSchema"])

    def known(self, tool: str) -> dict[str, Any] | None:
        return self._known.get(tool)

    async def schema(self, tool: str, list_page: ListPage) -> dict[str, Any]:
        """``tool``'s ``inputSchema``: as remembered, or read from the server's ``tools/list`` (every page).

        Raises :class:`SchemaUnavailable` saying why if it cannot be had (the listing fails, is malformed, does not list
        the tool, or keeps being overtaken by ``tools/list_changed``).
        """
        if self._lock is None:
            self._lock = asyncio.Lock()
        for _ in range(RETRIES):
            if (known := self._known.get(tool)) is not None:
                return known
            async with self._lock:  # one listing at a time; calls waiting for it then find their tool
                if (known := self._known.get(tool)) is not None:
                    return known
                generation = self.generation
                pages = await _read_listing(list_page)
                if generation != self.generation:
                    continue  # the tools changed while listing: this may be the old list
                for page in pages:
                    self.learn(page, generation)
                if (known := self._known.get(tool)) is not None:
                    return known
                raise SchemaUnavailable(f"the server's tools/list does not give an inputSchema for {tool!r}")
        raise SchemaUnavailable(f"the server's tools changed while its tools/list was read, {RETRIES} times")


async def _read_listing(list_page: ListPage) -> list[dict[str, Any]]:
    pages: list[dict[str, Any]] = []
    cursor: str | None = None
    seen: set[str] = set()
    while True:
        try:
            page = await list_page(cursor)
        except SchemaUnavailable:
            raise
        except Exception as exc:  # cannot read the listing: the call is denied, saying why
            raise SchemaUnavailable(f"the server's tools/list failed: {type(exc).__name__}: {exc}") from exc
        if not isinstance(page, dict) or not isinstance(page.get("tools"), list):
            raise SchemaUnavailable("the server's tools/list answer has no list of tools")
        pages.append(page)
        cursor = page.get("nextCursor")
        if cursor is None or cursor == "":
            return pages
        if not isinstance(cursor, str) or cursor in seen or len(pages) >= MAX_PAGES:
            raise SchemaUnavailable("the server's tools/list cursors do not end")
        seen.add(cursor)
