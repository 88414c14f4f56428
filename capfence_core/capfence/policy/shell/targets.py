"""Which parts of a tool call's payload are commands, and their analyses.

By default the condition looks, at any depth, at the keys ``command``,
``cmd``, ``argv``, ``script``, ``shell_command`` (a string is a command line,
a list of strings an argument vector) and ``args`` when it is a list of
strings. A command key (or ``program``, ``executable``, ``binary``, ``exe``) next to an
``args``/``arguments`` list in the same mapping is one command
(``{"command": "rm", "args": ["-rf", "/"]}``); so is a head next to an
``args`` string, which is appended as written (``{"command": "rm", "args": "-rf /"}``).

If the payload has none of those keys, every string value at any depth (and
every list of strings, both as an argument vector and as a list of command
lines) is analyzed: a shell tool's only argument is its command, whatever the
tool calls it and however deep it puts it. With an explicit ``field:`` there
is no such fallback.

A one-element list is read as a command line (``["rm -rf /"]`` is how a
shell-mode tool receives its command), a longer list as an argument vector.

The analyses of one call are computed once and shared by every ``command``
rule that consults them (kept in the call view's memo). They share one budget
of work (:mod:`capfence.policy.shell.budget`): a call whose commands together
need more is unknowable, however they are split.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from capfence.call.view import SCALARS, CallView, deep_items
from capfence.policy.shell import budget, payloadkeys, shortcuts
from capfence.policy.shell.cache import (
    CACHED_CHARS,
    MAX_COMMAND_CHARS,
    cached_sketch,
    costed_argv,
    costed_text,
    keys_of_argv,
    known_of_text,
    sketch_of_text,
)
from capfence.policy.shell.model import Analysis
from capfence.policy.spec import Summarize

DEFAULT_FIELDS = frozenset({"command", "cmd", "argv", "args", "script", "shell_command"})
_LIST_ONLY = frozenset({"args", "arguments"})
_HEADS = frozenset({"command", "cmd", "shell_command", "program", "executable", "binary", "exe"})
"""Keys naming the program when an ``args``/``arguments`` list holds its arguments (subprocess-style payloads)."""
_HEAD_ORDER = tuple(sorted(_HEADS))
_REPLACES_ARGV0 = frozenset({"program", "executable", "binary", "exe"})
"""Heads that name the program an ``argv`` list runs, whose first word is then only its name (``subprocess``'s
``executable=``): the head is what runs."""
_WANTED: dict[frozenset[str], frozenset[str]] = {}
"""Field names -> every key :func:`_from_mapping` reads (computed once per selection)."""
MAX_TOTAL_CHARS = MAX_COMMAND_CHARS
"""More command text than this in one call (the default payload cap) is unknowable (fails closed)."""


@dataclass(frozen=True, eq=False)
class Fields:
    """Which payload keys hold commands. Interned (:func:`fields`): compared and hashed by identity, cheaply."""

    names: frozenset[str]
    explicit: bool
    commands_key: object = field(default_factory=object, init=False, repr=False)
    """Key of the call's commands in the call view's memo (the selection itself is the key of their analyses)."""
    known_key: object = field(default_factory=object, init=False, repr=False)
    """Key of :func:`known_by_sketch`'s answer in the call view's memo."""


_INTERNED: dict[tuple[frozenset[str], bool], Fields] = {}


def fields(names: frozenset[str] = DEFAULT_FIELDS, explicit: bool = False) -> Fields:
    return _INTERNED.setdefault((names, explicit), Fields(names, explicit))


Command = str | tuple[str, ...]


def _argv(value: object) -> tuple[str, ...] | None:
    """A non-empty list of words (strings, bytes or numbers), as strings; else ``None``."""
    if not isinstance(value, list | tuple) or not value:
        return None
    if not all(isinstance(v, str | bytes | int | float) and not isinstance(v, bool) for v in value):
        return None
    return tuple(v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in value)


def _tail(value: object) -> str | None:
    """An ``args`` value as command-line text: a list of words quoted, a string as written."""
    if isinstance(value, str):
        return value
    argv = _argv(value)
    return None if argv is None else " ".join(shlex.quote(word) for word in argv)


def _as_command(value: object, key: str) -> Command | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, str):
        return None if key in _LIST_ONLY else value
    argv = _argv(value)
    if argv is None:
        return None
    return argv[0] if len(argv) == 1 else argv


def _from_mapping(node: Mapping[Any, object], names: frozenset[str], explicit: bool = True) -> list[Command]:
    found: list[Command] = []
    wanted = _WANTED.get(names) or _WANTED.setdefault(names, names | _LIST_ONLY | _HEADS)
    keyed = {k.lower(): v for k, v in node.items() if isinstance(k, str) and k.lower() in wanted}
    tail = next((t for k in ("args", "arguments") if k in keyed and (t := _tail(keyed[k])) is not None), None)
    pairs = bool(names & (_LIST_ONLY | _HEADS))
    heads = [k for k in _HEAD_ORDER if k in keyed and isinstance(keyed[k], str)] if pairs else []
    argv = _argv(keyed.get("argv")) if "argv" in names else None
    for key in heads:  # every head may be what the tool runs: each is judged (the strictest wins)
        head = keyed[key]
        if tail is not None:
            found.append(f"{head} {tail}")
        elif argv is not None and key in _REPLACES_ARGV0:
            found.append((str(head), *argv[1:]))
        elif key not in names:
            found.append(str(head))
    paired = tail is not None and bool(heads)
    for key, value in keyed.items():
        if key not in names or (paired and (key in _LIST_ONLY or key in _HEADS)):
            continue
        command = _as_command(value, key)
        if command is not None:
            found.append(command)
    return payloadkeys.with_payload(found, node, explicit)


def commands_in(payload: Mapping[str, object], fields: Fields) -> list[Command]:
    if type(payload) is dict and len(payload) == 1:
        [(key, value)] = payload.items()
        if type(key) is str and type(value) is str and key in fields.names and key not in _LIST_ONLY:
            return [value]  # the most common payload of all: {"command": "..."}
    if isinstance(payload, Mapping) and all(isinstance(value, SCALARS) for value in payload.values()):
        found = _from_mapping(payload, fields.names, fields.explicit)  # the common flat payload
    else:  # nested: look at every mapping, at any depth
        found = [
            c
            for _, node in deep_items(payload)
            if isinstance(node, Mapping)
            for c in _from_mapping(node, fields.names, fields.explicit)
        ]
    if found or fields.explicit:
        return found
    for value in _unnamed_values(payload):
        command = _as_command(value, "")
        if command is not None:
            found.append(command)
        if isinstance(command, tuple):  # an unnamed list may as well be several command lines
            found.extend(word for word in command if " " in word)
    return found


def _unnamed_values(payload: Mapping[str, object]) -> Iterator[object]:
    """The values of every mapping at any depth, and the items of every list that is not itself a list of words."""
    if all(isinstance(value, SCALARS) for value in payload.values()):
        yield from payload.values()  # the common flat payload
        return
    for _, node in deep_items(payload):
        if isinstance(node, Mapping):
            yield from node.values()
        elif isinstance(node, list | tuple) and _argv(node) is None:
            yield from node


def _size(commands: list[Command]) -> int:
    size = 0
    for command in commands:  # (a loop, not sum() over a generator: this runs for every call)
        size += len(command) if isinstance(command, str) else sum(map(len, command))
    return size


def _analyze(commands: list[Command], size: int) -> tuple[Analysis, ...]:
    if size > MAX_TOTAL_CHARS:
        return (Analysis(error=f"more than {MAX_TOTAL_CHARS} characters of commands in one call"),)
    left = budget.MAX_STEPS
    found: list[Analysis] = []
    for command in commands:  # each within what the ones before left of the call's budget
        analysis, cost = (
            costed_text(command, left) if isinstance(command, str) else costed_argv(command, left)
        )
        found.append(analysis)
        left -= cost
        if left < 0:
            return (analysis,)  # (its error says why)
        if type(command) is payloadkeys.Placed:
            hold = payloadkeys.placed_hold(analysis, command.where)
            if hold is not None:
                found.append(hold)
    return tuple(found)


def _commands(view: CallView, selected: Fields) -> tuple[list[Command], int]:
    """The call's commands (:func:`commands_in`) and their size in characters, found once per call and field selection."""
    found: tuple[list[Command], int] | None = view.memo.get(selected.commands_key)
    if found is None:
        commands = commands_in(view.payload, selected)
        size = len(commands[0]) if len(commands) == 1 and type(commands[0]) is str else _size(commands)
        found = view.memo[selected.commands_key] = (commands, size)
    return found


def analyses(view: CallView, fields: Fields) -> tuple[Analysis, ...]:
    """The analyses of every command in the call, computed once per call and field selection."""
    cached: tuple[Analysis, ...] | None = view.memo.get(fields)
    if cached is None:
        cached = view.memo[fields] = _analyze(*_commands(view, fields))
    return cached


def known_by_sketch(view: CallView, selected: Fields) -> bool:
    """Every command of the call is a plain list known safe from its words alone (``command: {known: ...}`` needs no analysis).

    ``False`` says nothing: the analyses decide. (Found once per call and field selection; the prefilter's summary
    finds it on its way.)
    """
    known: bool | None = view.memo.get(selected.known_key)
    if known is None:
        commands, size = _commands(view, selected)
        known = (
            bool(commands)
            and size <= MAX_TOTAL_CHARS
            and all(type(c) is str and known_of_text(c) for c in commands)
        )
        view.memo[selected.known_key] = known
    return known


def _sketched(view: CallView, selected: Fields) -> frozenset[str] | None:
    """The keys of all of the call's commands if each has keys without an analysis (:mod:`~capfence.policy.shell.sketch`),
    else ``None``. With keys, also notes :func:`known_by_sketch`'s answer, which the same sketches give."""
    commands, size = _commands(view, selected)
    if size > MAX_TOTAL_CHARS:
        return None
    keys: frozenset[str] = frozenset()
    known = bool(commands)
    for command in commands:
        if type(command) is payloadkeys.Placed:
            return None  # (judged with what it writes there: :func:`_analyze`)
        if isinstance(command, str):
            sketch = sketch_of_text(command)
            found = sketch.filter_keys if sketch is not None else None
            known = known and sketch is not None and sketch.known
        else:
            found = keys_of_argv(command)
            known = False
        if found is None:
            return None
        keys = keys | found if keys else found
    view.memo[selected.known_key] = known
    return keys


def _summarize(selected: Fields, view: CallView) -> frozenset[str] | None:
    """The keys of everything the call's commands do; ``None`` (no shortcut) if one cannot be parsed or runs an unknown program.

    Commands whose keys are known without analyzing them are not analyzed here: a call whose keys rule out every
    ``command:`` rule is never analyzed at all.
    """
    if not shortcuts.ENABLED:
        return None  # every rule checked
    memo = view.memo
    if selected not in memo:
        commands, size = _commands(view, selected)
        if len(commands) == 1 and type(commands[0]) is str:
            # :func:`_sketched` spelled out for the most common call of all, one command line
            if size <= CACHED_CHARS:
                sketch = cached_sketch(commands[0])
                if sketch.filter_keys is not None:
                    memo[selected.known_key] = sketch.known
                    return sketch.filter_keys
        else:
            sketched = _sketched(view, selected)
            if sketched is not None:
                return sketched
    found = analyses(view, selected)
    if any(a.error is not None or a.unknown_program for a in found):
        return None
    return found[0].keys if len(found) == 1 else frozenset().union(*(a.keys for a in found))


_SUMMARIES: dict[Fields, Summarize] = {}


def summary(selected: Fields) -> Summarize:
    """The prefilter summary for a field selection: one function object per selection, so rules share one result per call."""
    return _SUMMARIES.setdefault(selected, partial(_summarize, selected))
