"""Replay: re-evaluate recorded calls under another policy, and tally what changes.

The input is a JSON Lines file (``capfence export`` output, or any file whose
records have at least ``capability`` and ``payload``; ``agent_id``,
``environment``, ``tool``, ``decision`` and ``id``/``seq`` are optional, other
fields are ignored) or an audit database. Every call is decided by
:func:`capfence.policy.engine.evaluate` on a :class:`~capfence.call.view.CallView`,
the very evaluator the runtime uses; an exception in a condition becomes a
``deny`` exactly as it does at run time.

Calls that cannot be replayed faithfully (payload truncated or redacted when
it was recorded) are counted and listed, never evaluated. Records that are
not valid (bad JSON, no capability, payload not an object, ...) are reported
with their line number. Neither stops the replay.

Speed and memory: the file is streamed, so memory does not grow with its
size; each line is parsed once; and identical calls (same capability, agent,
environment, tool and payload) are evaluated once, through a bounded cache.
The two loops (:func:`_replay_jsonl`, :func:`_replay_db`) are deliberately
written flat: they run once per record, a million times for a large log.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, cast

from capfence.audit.payload import REDACTED, TRUNCATED_KEY
from capfence.call.decision import ACTIONS, failure
from capfence.call.view import CallView
from capfence.policy.compiled import Policy
from capfence.policy.engine import evaluate

if TYPE_CHECKING:
    from capfence.contracts import StoreType

ALLOWED = frozenset({"allow", "warn"})
CACHE_LIMIT = 100_000
"""Distinct calls remembered; the cache is emptied when full, so memory stays bounded."""
LISTED = 1000
"""Unreplayable and invalid records listed individually (all are counted)."""
EXAMPLES = 3
"""Example calls kept per changed (recorded, replayed, rule) group."""
PROGRESS_EVERY = 65536
SQLITE_MAGIC = b"SQLite format 3\x00"

Outcome = tuple[str, "str | None"]
RecordSink = Callable[[object, str, "str | None", str, "str | None"], None]
"""Called per replayed record with ``(id, capability, recorded, replayed, rule)``."""
Progress = Callable[[int], None]
"""Called now and then with how far the input has been read (bytes for JSONL, records for a database)."""

_ACTIONS = frozenset(ACTIONS)
_STRINGS = frozenset({str})


@dataclass(frozen=True)
class Problem:
    """A record that was not replayed, and why. ``line`` for JSONL input, ``id`` when the record has one."""

    line: int | None
    id: object
    reason: str


@dataclass
class Problems:
    """All such records are counted; the first :data:`LISTED` are kept."""

    count: int = 0
    items: list[Problem] = field(default_factory=list)

    def add(self, line: int | None, record_id: object, reason: str) -> None:
        self.count += 1
        if len(self.items) < LISTED:
            self.items.append(Problem(line, record_id, reason))


@dataclass(frozen=True)
class Example:
    """One call of a changed group, to show what changed."""

    id: object
    line: int | None
    capability: str
    agent_id: str | None
    payload: str


@dataclass
class ReplayResult:
    """What replaying one input under one policy found."""

    source: str
    policy: Policy
    counts: Counter[tuple[str | None, str, str | None]] = field(default_factory=Counter)
    """(recorded, replayed, rule) -> calls."""
    examples: dict[tuple[str | None, str, str | None], list[Example]] = field(default_factory=dict)
    unreplayable: Problems = field(default_factory=Problems)
    invalid: Problems = field(default_factory=Problems)
    skipped: int = 0
    """Records of another kind (outcomes, events) in the input, ignored."""

    @property
    def replayed(self) -> int:
        return sum(self.counts.values())

    def transitions(self) -> Counter[tuple[str | None, str]]:
        """(recorded, replayed) -> calls."""
        out: Counter[tuple[str | None, str]] = Counter()
        for (recorded, replayed, _), calls in self.counts.items():
            out[(recorded, replayed)] += calls
        return out

    def changes(self) -> dict[tuple[str | None, str, str | None], int]:
        """Changed calls by (recorded, replayed, deciding rule), most frequent first."""
        changed = {key: calls for key, calls in self.counts.items() if is_changed(key[0], key[1])}
        return dict(sorted(changed.items(), key=lambda item: (-item[1], str(item[0]))))

    def count_where(self, test: Callable[[str | None, str], bool]) -> int:
        return sum(
            calls for (recorded, replayed, _), calls in self.counts.items() if test(recorded, replayed)
        )

    def rule_hits(self) -> dict[str | None, int]:
        """Calls decided by each rule of the policy (policy order; ``None`` is the default), zeros included.

        Shadow rules and limit rules never decide a replayed call, so they are not listed (what enforcing the shadow
        rules would change is reported apart: :mod:`capfence.cli.replay_shadow`)."""
        hits: dict[str | None, int] = {
            rule.id: 0 for rule in self.policy.rules if rule.mode == "enforce" and rule.limit is None
        }
        hits[None] = 0
        for (_, _, rule), calls in self.counts.items():
            hits[rule] = hits.get(rule, 0) + calls
        return hits

    def never_matched(self) -> list[str]:
        return [rule for rule, calls in self.rule_hits().items() if rule is not None and calls == 0]


def is_changed(recorded: str | None, replayed: str) -> bool:
    return recorded is not None and recorded != replayed


CHANGES = ("stricter", "looser", "other")
"""The three kinds of changed decision, by whether the call runs (``allow``, ``warn``) or not (``deny``, ``require_approval``):

- ``stricter``: it ran, it would not run now (denied, or held for approval);
- ``looser``: it did not run, it would run now;
- ``other``: it runs either way, or is stopped either way, by another decision (``warn → allow``, ``deny → require_approval``).
"""


def change(recorded: str | None, replayed: str) -> str | None:
    """Which of :data:`CHANGES` going from ``recorded`` to ``replayed`` is; None when nothing changed (or nothing was recorded)."""
    if not is_changed(recorded, replayed):
        return None
    ran, runs = recorded in ALLOWED, replayed in ALLOWED
    return "stricter" if ran and not runs else "looser" if runs and not ran else "other"


def stricter(recorded: str | None, replayed: str) -> bool:
    """Ran before (allow or warn), would not run now (deny or require_approval)."""
    return change(recorded, replayed) == "stricter"


def looser(recorded: str | None, replayed: str) -> bool:
    """Did not run before (deny or require_approval), would run now."""
    return change(recorded, replayed) == "looser"


def other(recorded: str | None, replayed: str) -> bool:
    """Another decision, but the call runs (or does not) as before."""
    return change(recorded, replayed) == "other"


class Decider:
    """Decides calls under one policy, and remembers what each distinct record came to (bounded)."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.entries: dict[object, Entry] = {}

    def decide(
        self,
        key: object,
        capability: str,
        payload: Mapping[str, Any],
        agent: str | None,
        env: str | None,
        tool: str | None,
    ) -> Outcome:
        """Evaluate one call with the runtime's evaluator; an exception denies, as at run time."""
        try:
            decision = evaluate(self.policy, CallView(capability, payload, agent, env, tool))
        except Exception as exc:  # noqa: BLE001 - the runtime denies on any evaluation error; so does replay
            decision = failure(f"evaluation failed: {type(exc).__name__}: {exc}", self.policy.digest)
        return decision.action, decision.rule

    def remember(self, key: object, entry: Entry) -> None:
        if len(self.entries) >= CACHE_LIMIT:
            self.entries.clear()
        self.entries[key] = entry


def is_database(path: Path) -> bool:
    """True for an SQLite file (by its header, whatever its name)."""
    try:
        with path.open("rb") as f:
            return f.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC
    except OSError:
        return False


def replay_file(
    path: str | Path,
    policy: Policy,
    *,
    sink: RecordSink | None = None,
    progress: Progress | None = None,
    stores: Iterable[StoreType] = (),
) -> ReplayResult:
    """Replay every call in ``path`` (JSON Lines, an audit database, or an audit store URL) under ``policy``.

    ``stores``: the store types that may read a URL (a plugin registry's ``stores``).
    """
    source = Path(path)
    result = ReplayResult(str(path), policy)
    if "://" in str(path) or is_database(source):
        from capfence.audit.query import Filters
        from capfence.audit.reader import open_reader

        with open_reader(str(path), stores) as reader:
            _replay_db(reader.calls(Filters()), Decider(policy), result, sink, progress)
    else:
        with source.open(encoding="utf-8", errors="replace") as lines:
            _replay_jsonl(lines, Decider(policy), result, sink, progress)
    return result


def replay_calls(
    rows: Iterable[tuple[Any, ...]],
    policy: Policy,
    source: str,
    *,
    sink: RecordSink | None = None,
    progress: Progress | None = None,
) -> ReplayResult:
    """Replay decision rows in :data:`~capfence.audit.reader.CALL_FIELDS` order (:meth:`AuditReader.calls`) under ``policy``.

    For a part of a log: ``replay_calls(reader.calls(Filters(since=...)), policy, reader.location)``.
    """
    result = ReplayResult(source, policy)
    _replay_db(rows, Decider(policy), result, sink, progress)
    return result


SKIP = "skip"
"""Cache entry for records of another kind (outcomes, events): counted as skipped."""
Entry = tuple[str | None, str, str | None] | str
"""What the cache remembers per distinct record: ``(recorded, replayed, rule)``, :data:`SKIP`, or why it is not replayable."""
FIELDS = ("kind", "capability", "agent_id", "environment", "tool", "decision", "truncated", "redacted")
"""The fields of a JSONL record that, with the payload, determine its replay (and so form the cache key)."""


def _invalid_fields(obj: dict[str, Any]) -> str | None:
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
    if obj.get("decision") is not None and obj["decision"] not in _ACTIONS:
        return f"decision {obj['decision']!r} is not one of {', '.join(ACTIONS)}"
    return None


def _unreplayable(obj: dict[str, Any]) -> str | None:
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


def _record_id(obj: dict[str, Any], lineno: int) -> object:
    found = obj.get("id")
    if found is None:
        found = obj.get("seq")
    return lineno if found is None else found


def payload_key(payload: dict[str, Any], encode: Callable[[Any], str]) -> object:
    """What identifies a payload exactly: its items when every value is a string, else its JSON text.

    (Items with numbers would conflate ``1``, ``1.0`` and ``true``, which are equal in Python.)
    """
    return tuple(payload.items()) if _STRINGS.issuperset(map(type, payload.values())) else encode(payload)


class _Admit:
    """The slow path of the JSONL loop: a record the cache does not know (or cannot key), already parsed."""

    def __init__(self, decider: Decider, result: ReplayResult, encode: Callable[[Any], str]) -> None:
        self.decider, self.result, self.encode = decider, result, encode

    def __call__(self, obj: dict[str, Any], lineno: int, key: object = None) -> Entry | None:
        """What ``obj`` comes to (evaluated and remembered if it is a call); None, reported, if it is not valid.

        ``key``: its cache key, when the caller has computed it already.
        """
        if obj.get("kind") is not None and obj.get("kind") != "decision":
            return SKIP
        why = _invalid_fields(obj)
        if why is not None:
            self.result.invalid.add(lineno, _record_id(obj, lineno), why)
            return None
        payload = obj["payload"]
        if key is None:
            key = (*map(obj.get, FIELDS), payload_key(payload, self.encode))
        entry: Entry | None = _unreplayable(obj)
        if entry is None:
            action, rule = self.decider.decide(
                key, obj["capability"], payload, *map(obj.get, ("agent_id", "environment", "tool"))
            )
            entry = (obj.get("decision"), action, rule)
        self.decider.remember(key, entry)
        return entry

    def parse(self, line: str, lineno: int) -> dict[str, Any] | None:
        """A line the fast parser refused, parsed by ``json.loads``; None, reported unless blank, if it is not a JSON object."""
        try:
            obj = json.loads(line)
        except ValueError as exc:
            if line.strip():
                self.result.invalid.add(lineno, None, f"not valid JSON: {exc}")
            return None
        if not isinstance(obj, dict):
            self.result.invalid.add(lineno, None, f"a record must be a JSON object, got {type(obj).__name__}")
            return None
        return obj


def line_parser() -> Callable[[str], Any]:
    """The fastest exact JSON parser at hand for one line.

    ``orjson.loads`` when orjson is installed (optional: about twice as fast
    on audit records), else the standard library's C scanner without
    ``json.loads``'s Python-level wrapper. Anything either rejects or parses
    differently (NaN, huge integers, whitespace) falls back to ``json.loads``
    on the careful path, so results never depend on which is used.
    ``CAPFENCE_JSON_PARSER=stdlib`` forces the standard library (benchmarks).
    """
    try:
        if os.environ.get("CAPFENCE_JSON_PARSER") == "stdlib":
            raise ImportError("the standard library parser was asked for")
        import orjson  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        pass
    else:
        return cast(Callable[[str], Any], orjson.loads)
    scan = json.JSONDecoder().scan_once  # type: ignore[attr-defined]

    def parse(line: str) -> Any:
        obj, end = scan(line, 0)
        if len(line) - end > 1:
            raise ValueError("trailing data")
        return obj

    return parse


def _replay_jsonl(  # noqa: PLR0912 - one flat loop on purpose (see the module docstring)
    lines: TextIO,
    decider: Decider,
    result: ReplayResult,
    sink: RecordSink | None,
    progress: Progress | None,
) -> None:
    parse = line_parser()
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    admit = _Admit(decider, result, encode)
    cache = decider.entries
    counts: dict[tuple[str | None, str, str | None], int] = {}
    strings_only = _STRINGS.issuperset
    fields = FIELDS
    invalid = result.invalid
    # each line parsed once; a miss is a dict lookup, not an exception
    for lineno, line in enumerate(lines, 1):
        try:
            obj = parse(line)
        except Exception:  # noqa: BLE001 - rare (bad JSON, NaN, huge integers, odd whitespace): json.loads decides
            obj = admit.parse(line, lineno)
            if obj is None:
                continue
        if type(obj) is not dict:
            invalid.add(lineno, None, f"a record must be a JSON object, got {type(obj).__name__}")
            continue
        get = obj.get
        payload = get("payload")
        if type(payload) is dict:
            key = (
                *map(get, fields),
                tuple(payload.items()) if strings_only(map(type, payload.values())) else encode(payload),
            )
            try:
                entry = cache.get(key)
            # a field that is not a string (a list, an object): not a valid call, admit says why
            except TypeError:
                entry = None
            if entry is None:
                entry = admit(obj, lineno, key)
        else:
            entry = admit(obj, lineno)
        if entry is None:
            continue
        if type(entry) is tuple:
            n = counts.get(entry, 0) + 1
            counts[entry] = n
            if n <= EXAMPLES and entry[0] is not None and entry[0] != entry[1]:
                _example(
                    result,
                    entry,
                    _record_id(obj, lineno),
                    lineno,
                    obj["capability"],
                    obj.get("agent_id"),
                    obj["payload"],
                    encode,
                )
            if sink is not None:
                sink(_record_id(obj, lineno), obj["capability"], *entry)
        elif entry is SKIP:
            result.skipped += 1
        else:
            result.unreplayable.add(lineno, _record_id(obj, lineno), str(entry))
        if progress is not None and not lineno % PROGRESS_EVERY:
            progress(lines.buffer.tell())
    result.counts.update(counts)


def _example(
    result: ReplayResult,
    key: tuple[str | None, str, str | None],
    record_id: object,
    lineno: int | None,
    capability: str,
    agent: str | None,
    payload: object,
    render: Callable[[Any], str],
) -> None:
    kept = result.examples.setdefault(key, [])
    if len(kept) < EXAMPLES:
        kept.append(Example(record_id, lineno, capability, agent, render(payload)))


def _db_entry(decider: Decider, result: ReplayResult, row: tuple[Any, ...]) -> Entry | None:
    seq, capability, text, agent, env, tool, recorded, truncated, redacted = row
    if truncated or redacted:
        entry: Entry = f"payload was {'truncated' if truncated else 'redacted'} when recorded"
    else:
        try:
            payload = json.loads(text) if text is not None else None
        except ValueError:
            payload = None
        if type(payload) is not dict or not capability:
            result.invalid.add(
                None, seq, "payload is not a JSON object" if capability else "missing capability"
            )
            return None
        action, rule = decider.decide(row[1:], capability, payload, agent, env, tool)
        entry = (recorded if recorded in _ACTIONS else None, action, rule)
    decider.remember(row[1:], entry)
    return entry


def _replay_db(
    rows: Iterable[tuple[Any, ...]],
    decider: Decider,
    result: ReplayResult,
    sink: RecordSink | None,
    progress: Progress | None,
) -> None:
    cache = decider.entries
    counts: dict[tuple[str | None, str, str | None], int] = {}
    done = 0
    for row in rows:
        done += 1
        entry = cache.get(row[1:])
        if entry is None:
            entry = _db_entry(decider, result, row)
            if entry is None:
                continue
        if type(entry) is tuple:
            n = counts.get(entry, 0) + 1
            counts[entry] = n
            if n <= EXAMPLES and entry[0] is not None and entry[0] != entry[1]:
                _example(result, entry, row[0], None, row[1], row[3], row[2], str)
            if sink is not None:
                sink(row[0], row[1], *entry)
        else:
            result.unreplayable.add(None, row[0], str(entry))
        if progress is not None and not done % PROGRESS_EVERY:
            progress(done)
    result.counts.update(counts)


def summary(result: ReplayResult) -> dict[str, Any]:
    """The ``summary`` object of ``capfence replay --format json``."""
    return {
        "source": result.source,
        "policy": str(result.policy.path),
        "policy_digest": result.policy.digest,
        "replayed": result.replayed,
        "unchanged": result.count_where(lambda rec, rep: rec == rep),
        "changed": result.count_where(is_changed),
        "stricter": result.count_where(stricter),
        "looser": result.count_where(looser),
        "other": result.count_where(other),
        "no_recorded_decision": result.count_where(lambda rec, rep: rec is None),
        "unreplayable": result.unreplayable.count,
        "invalid": result.invalid.count,
        "skipped": result.skipped,
        "transitions": [
            {
                "recorded": rec,
                "replayed": rep,
                "calls": calls,
                "changed": is_changed(rec, rep),
                "change": change(rec, rep),
            }
            for (rec, rep), calls in sorted(
                result.transitions().items(), key=lambda item: (str(item[0][0]), item[0][1])
            )
        ],
        "changes": [
            {
                "recorded": rec,
                "replayed": rep,
                "change": change(rec, rep),
                "rule": rule,
                "calls": calls,
                "examples": [example.__dict__ for example in result.examples.get((rec, rep, rule), [])],
            }
            for (rec, rep, rule), calls in result.changes().items()
        ],
        "rule_hits": {
            rule if rule is not None else "(default)": calls for rule, calls in result.rule_hits().items()
        },
        "never_matched": result.never_matched(),
        "unreplayable_records": [problem.__dict__ for problem in result.unreplayable.items],
        "invalid_records": [problem.__dict__ for problem in result.invalid.items],
    }
