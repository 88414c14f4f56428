"""The JSON Lines loop of :mod:`capfence.offline.replay`: each line parsed once, an ordinary call recognised by type tests.

Most lines of an export are ordinary calls: a decision record whose fields are strings (or null), whose recorded
decision is an action, whose payload is a flat object of strings, neither truncated nor redacted. Such a call is
recognised with a few type tests (:func:`plain_call`), keyed for the cache by its own fields, and evaluated. Every
other line (another kind of record, a nested or numeric payload, a problem to report) goes the careful way
(:class:`Careful`), which says why a record is not replayed. Both ways reach the same verdicts; the fast one only
skips questions whose answer it already knows.

The loop (:func:`replay_lines`) runs once per line, a million times for a large log, so it is written flat.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from capfence.audit.payload import REDACTED, TRUNCATED_KEY
from capfence.call.decision import ACTIONS
from capfence.offline.jsonparse import fast_parser
from capfence.offline.replay import (
    EXAMPLES,
    PROGRESS_EVERY,
    SKIP,
    Decider,
    Entry,
    RecordSink,
    ReplayResult,
    add_example,
)

FIELDS = ("kind", "capability", "agent_id", "environment", "tool", "decision", "truncated", "redacted")
"""The fields of a JSONL record that, with the payload, determine its replay (the careful path's cache key)."""
Call = tuple[str, "str | None", "str | None", "str | None", "str | None", tuple[tuple[str, str], ...]]
"""An ordinary call's cache key: capability, agent, environment, tool, recorded decision, payload items."""

MAX_NESTING = 512
"""A line nested deeper than this is invalid, whichever parser reads it and however deep the stack that reads it.

The runtime never records a payload nested deeper than 64 levels (:mod:`capfence.audit.payload`); without a bound of
its own, whether a line near the interpreter's recursion limit parses, and encodes again, would depend on the
parser (orjson stops at 1,024 levels, the standard library near 1,000 minus the stack in use) and differ in a
``--jobs`` worker."""
_JSON_STRING = re.compile(r'"(?:[^"\\]++|\\.)*+"')
_BRACKET = re.compile(r"[\[\]{}]")
_ID_TYPES = frozenset({int, str, type(None)})
_ACTIONS = frozenset(ACTIONS)
_STRINGS = frozenset({str})
_NAME_TYPES = frozenset({str, type(None)})
_KEY_TYPES = frozenset({str, int, float, bool, type(None)})


def plain_call(obj: dict[str, Any]) -> Call | None:
    """``(capability, agent_id, environment, tool, recorded decision, payload items)`` for an ordinary call; else None.

    Ordinary: a decision record (``kind`` absent or ``decision``) with a non-empty capability, string-or-null names, a
    recorded decision that is an action (or none), neither flag set, and a payload object whose values are all strings,
    none of them the redaction marker and no truncation marker among its keys. What such a record comes to depends on
    exactly these fields, so they are its cache key (strings only: ``1``, ``1.0`` and ``true`` are never conflated).
    """
    get = obj.get
    payload, capability, kind, recorded = get("payload"), get("capability"), get("kind"), get("decision")
    if (
        type(payload) is not dict
        or type(capability) is not str
        or not capability
        or (kind is not None and kind != "decision")
        or (recorded is not None and (type(recorded) is not str or recorded not in _ACTIONS))
        or get("truncated")
        or get("redacted")
    ):
        return None
    agent, environment, tool = get("agent_id"), get("environment"), get("tool")
    values = payload.values()
    if (
        type(agent) not in _NAME_TYPES
        or type(environment) not in _NAME_TYPES
        or type(tool) not in _NAME_TYPES
        or not _STRINGS.issuperset(map(type, values))
        or REDACTED in values
        or TRUNCATED_KEY in payload
    ):
        return None
    return capability, agent, environment, tool, recorded, tuple(payload.items())


def nesting(line: str) -> int:
    """How deep the arrays and objects of ``line`` nest (brackets inside JSON strings do not count)."""
    depth = deepest = 0
    for match in _BRACKET.finditer(_JSON_STRING.sub("", line)):
        if match.group() in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def invalid_fields(obj: dict[str, Any]) -> str | None:
    """Why a parsed JSON record cannot be replayed as a call, or ``None`` if it can."""
    capability = obj.get("capability")
    if not isinstance(capability, str) or not capability:
        return "missing capability" if capability is None else "capability must be a non-empty string"
    if "payload" not in obj:
        return "missing payload"
    if not isinstance(obj["payload"], dict):
        return f"payload must be a JSON object, got {type(obj['payload']).__name__}"
    for name in ("agent_id", "environment", "tool"):
        if obj.get(name) is not None and not isinstance(obj[name], str):
            return f"{name} must be a string or null"
    decision = obj.get("decision")
    if decision is not None and (not isinstance(decision, str) or decision not in _ACTIONS):
        return f"decision {obj['decision']!r} is not one of {', '.join(ACTIONS)}"
    return None


def unreplayable(obj: dict[str, Any]) -> str | None:
    """Why a valid call's payload cannot be evaluated faithfully (truncated or redacted when recorded), or None."""
    payload = obj["payload"]
    if obj.get("truncated") or TRUNCATED_KEY in payload:
        return "payload was truncated when recorded"
    values = payload.values()
    if obj.get("redacted") or REDACTED in (
        values if _STRINGS.issuperset(map(type, values)) else _leaves(payload)
    ):
        return "payload was redacted when recorded"
    return None


def _leaves(value: object) -> Iterator[object]:
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
        else:
            yield node


def record_id(obj: dict[str, Any], lineno: int) -> object:
    """The record's ``id``, else its ``seq``, else its line number."""
    found = obj.get("id")
    if found is None:
        found = obj.get("seq")
    return lineno if found is None else found


def payload_key(payload: dict[str, Any], encode: Callable[[Any], str]) -> object:
    """What identifies a payload exactly: its items when every value is a string, else its JSON text.

    (Items with numbers would conflate ``1``, ``1.0`` and ``true``, which are equal in Python.)
    """
    return tuple(payload.items()) if _STRINGS.issuperset(map(type, payload.values())) else encode(payload)


class Careful:
    """The slow path: any record :func:`plain_call` did not recognise, and any line the fast parser refused."""

    def __init__(self, decider: Decider, result: ReplayResult, encode: Callable[[Any], str]) -> None:
        self.decider, self.result, self.encode = decider, result, encode

    def __call__(self, obj: dict[str, Any], lineno: int, size: int) -> Entry | None:
        """What ``obj`` comes to (evaluated, and remembered when it can be keyed); None, reported, if it is not valid."""
        if obj.get("kind") is not None and obj.get("kind") != "decision":
            return SKIP
        why = invalid_fields(obj)
        if why is not None:
            self.result.invalid.add(lineno, record_id(obj, lineno), why)
            return None
        fields = tuple(map(obj.get, FIELDS))
        # (a flag that is a list or an object cannot key the cache; such a record is decided, not remembered)
        key = (
            (*fields, payload_key(obj["payload"], self.encode))
            if _KEY_TYPES.issuperset(map(type, fields))
            else None
        )
        if key is not None:
            entry = self.decider.recall(key)
            if entry is not None:
                return entry
        entry = self.entry(obj)
        if key is not None:
            self.decider.remember(key, entry, size)
        return entry

    def entry(self, obj: dict[str, Any]) -> Entry:
        why = unreplayable(obj)
        if why is not None:
            return why
        get = obj.get
        action, rule = self.decider.decide(
            obj["capability"], obj["payload"], get("agent_id"), get("environment"), get("tool")
        )
        return get("decision"), action, rule

    def parse(self, line: str, lineno: int) -> dict[str, Any] | None:
        """A line the fast parser refused, parsed by ``json.loads``; None, reported unless blank, if it is not a JSON object."""
        try:
            obj = json.loads(line)
        except ValueError as exc:
            if line.strip():
                self.result.invalid.add(lineno, None, f"not valid JSON: {exc}")
            return None
        except RecursionError:
            self.result.invalid.add(lineno, None, "not valid JSON: nested too deeply to read")
            return None
        if not isinstance(obj, dict):
            self.result.invalid.add(lineno, None, f"a record must be a JSON object, got {type(obj).__name__}")
            return None
        return obj


def replay_lines(  # noqa: PLR0912 - one flat loop on purpose (see the module docstring)
    lines: Iterable[str],
    decider: Decider,
    result: ReplayResult,
    sink: RecordSink | None,
    progress: Callable[[], None] | None,
    first_line: int = 1,
) -> None:
    """Replay ``lines`` (numbered from ``first_line``) into ``result``; ``progress()`` is called now and then."""
    parse, exact = fast_parser()
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    careful = Careful(decider, result, encode)
    recall, decide, remember = decider.recall, decider.decide, decider.remember
    counts: dict[tuple[str | None, str, str | None], int] = {}
    invalid = result.invalid
    for lineno, line in enumerate(lines, first_line):
        if line.count("[") + line.count("{") > MAX_NESTING and nesting(line) > MAX_NESTING:
            invalid.add(lineno, None, f"not valid JSON: nested deeper than {MAX_NESTING} levels")
            continue
        try:
            obj = parse(line)
        except Exception:  # noqa: BLE001 - rare (bad JSON, NaN, huge integers, odd whitespace): json.loads decides
            # (capfence.offline.jsonparse)
            obj = careful.parse(line, lineno)
            if obj is None:
                continue
        key = plain_call(obj) if type(obj) is dict else None
        if not exact and (
            key is None or type(obj.get("seq")) not in _ID_TYPES or type(obj.get("id")) not in _ID_TYPES
        ):
            # orjson may have read a huge integer as a float: only an ordinary call's strings are used as it read them
            obj, key = careful.parse(line, lineno), None
            if obj is None:
                continue
        if type(obj) is not dict:
            invalid.add(lineno, None, f"a record must be a JSON object, got {type(obj).__name__}")
            continue
        if key is None:
            entry = careful(obj, lineno, len(line))
            if entry is None:
                continue
        else:
            entry = recall(key)
            if entry is None:
                action, rule = decide(key[0], obj["payload"], key[1], key[2], key[3])
                entry = (key[4], action, rule)
                remember(key, entry, len(line))
        if type(entry) is tuple:
            n = counts.get(entry, 0) + 1
            counts[entry] = n
            if n <= EXAMPLES and entry[0] is not None and entry[0] != entry[1]:
                add_example(
                    result,
                    entry,
                    record_id(obj, lineno),
                    lineno,
                    obj["capability"],
                    obj.get("agent_id"),
                    encode(obj["payload"]),
                )
            if sink is not None:
                sink(record_id(obj, lineno), obj["capability"], *entry)
        elif entry is SKIP:
            result.skipped += 1
        else:
            result.unreplayable.add(lineno, record_id(obj, lineno), str(entry))
        if progress is not None and not lineno % PROGRESS_EVERY:
            progress()
    result.counts.update(counts)
