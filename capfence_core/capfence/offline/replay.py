"""Replay: re-evaluate recorded calls under another policy, and tally what changes.

The input is a JSON Lines file (``capfence export`` output, or any file whose
records have at least ``capability`` and ``payload``; ``agent_id``,
``environment``, ``tool``, ``decision`` and ``id``/``seq`` are optional, other
fields are ignored) or an audit database. Every call is decided by
:func:`capfence.policy.engine.verdict` on a :class:`~capfence.call.view.CallView`:
the runtime's evaluator (the same :func:`~capfence.policy.engine.first_match`),
without the reason it would write; an exception in a condition becomes a
``deny`` exactly as it does at run time.

Calls that cannot be replayed faithfully (payload truncated or redacted when
it was recorded) are counted and listed, never evaluated. Records that are
not valid (bad JSON, no capability, payload not an object, ...) are reported
with their line number. Neither stops the replay.

Speed and memory: the file is streamed, so memory does not grow with its
size; each line is parsed once (:mod:`capfence.offline.replay_jsonl`); and identical
calls (same capability, agent, environment, tool and payload) are evaluated
once, through a cache bounded in entries and in the size of the lines it
keeps. A JSON Lines file can be split across processes whose results are
merged in file order (:mod:`capfence.offline.replay_jobs`): the same result, sooner.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from capfence.call.decision import ACTIONS, failure
from capfence.call.view import CallView
from capfence.policy.compiled import Policy
from capfence.policy.engine import verdict

if TYPE_CHECKING:
    pass

ALLOWED = frozenset({"allow", "warn"})
CACHE_LIMIT = 32_768
"""Distinct calls remembered; the cache is emptied when full, so memory stays bounded (about 25 MB for short calls)."""
WINDOW = 8192
"""Evaluations between looks at whether the cache pays (see :class:`Decider`)."""
PAYS = 8
"""The cache pays when at least one lookup in this many hits."""
CACHE_BYTES = 32 << 20
"""At most this much input text (the lines of the remembered calls) is remembered; emptied beyond (long payloads)."""
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
    """Decides calls under one policy, and remembers what each distinct record came to (bounded).

    Remembering pays when calls repeat (an agent runs the same commands over and over) and costs when they do not
    (every entry is kept alive for nothing, and the garbage collector walks them all). So every :data:`WINDOW`
    evaluations the decider looks at how many lookups hit: when fewer than one in :data:`PAYS` did, it stops filling
    the cache (lookups go on against what it holds) and tries again, emptied, every :data:`PAYS`-th window. So calls
    that never repeat hold at most one window of entries. The results never depend on it: the cache only spares
    evaluations whose outcome it already knows.
    """

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.entries: dict[object, Entry] = {}
        self.evaluations = 0
        self.keeping = True
        self._held = 0
        self._hits = 0
        self._misses = 0
        self._idle = 0

    def decide(
        self,
        capability: str,
        payload: Mapping[str, Any],
        agent: str | None,
        env: str | None,
        tool: str | None,
    ) -> Outcome:
        """Evaluate one call with the runtime's evaluator; an exception denies, as at run time."""
        try:
            return verdict(self.policy, CallView(capability, payload, agent, env, tool))
        except Exception as exc:  # noqa: BLE001 - the runtime denies on any evaluation error; so does replay
            decision = failure(f"evaluation failed: {type(exc).__name__}: {exc}", self.policy.digest)
        return decision.action, decision.rule

    def recall(self, key: object) -> Entry | None:
        """What the record keyed ``key`` came to, if it is remembered."""
        entry = self.entries.get(key)
        if entry is not None:
            self._hits += 1
        return entry

    def remember(self, key: object, entry: Entry, size: int) -> None:
        """Keep ``entry`` for ``key`` (whose input was ``size`` characters), while remembering pays."""
        self._misses += 1
        if self._misses >= WINDOW:
            self._review()
        if not self.keeping:
            return
        if len(self.entries) >= CACHE_LIMIT or self._held >= CACHE_BYTES:
            self.entries.clear()
            self._held = 0
        self.entries[key] = entry
        self._held += size

    def _review(self) -> None:
        if self.keeping:
            self.keeping = self._hits * PAYS >= self._hits + self._misses
        elif self._idle < PAYS - 1:
            self._idle += 1
        else:  # try again, from scratch (what it holds did not pay)
            self.keeping, self._idle = True, 0
            self.entries.clear()
            self._held = 0
        self._hits = self._misses = 0


def is_database(path: Path) -> bool:
    """True for an SQLite file (by its header, whatever its name)."""
    try:
        with path.open("rb") as f:
            return f.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC
    except OSError:
        return False


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
    replay_db(rows, Decider(policy), result, sink, progress)
    return result


SKIP = "skip"
"""Cache entry for records of another kind (outcomes, events): counted as skipped."""
Entry = tuple[str | None, str, str | None] | str
"""What the cache remembers per distinct record: ``(recorded, replayed, rule)``, :data:`SKIP`, or why it is not replayable."""


def add_example(
    result: ReplayResult,
    key: tuple[str | None, str, str | None],
    record_id: object,
    lineno: int | None,
    capability: str,
    agent: str | None,
    payload: str,
) -> None:
    """Keep one more example call for the changed group ``key`` (at most :data:`EXAMPLES`)."""
    kept = result.examples.setdefault(key, [])
    if len(kept) < EXAMPLES:
        kept.append(Example(record_id, lineno, capability, agent, payload))


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
        action, rule = decider.decide(capability, payload, agent, env, tool)
        entry = (recorded if recorded in _ACTIONS else None, action, rule)
    decider.remember(row[1:], entry, len(text or ""))
    return entry


def replay_db(
    rows: Iterable[tuple[Any, ...]],
    decider: Decider,
    result: ReplayResult,
    sink: RecordSink | None,
    progress: Progress | None,
) -> None:
    recall = decider.recall
    counts: dict[tuple[str | None, str, str | None], int] = {}
    done = 0
    for row in rows:
        done += 1
        entry = recall(row[1:])
        if entry is None:
            entry = _db_entry(decider, result, row)
            if entry is None:
                continue
        if type(entry) is tuple:
            n = counts.get(entry, 0) + 1
            counts[entry] = n
            if n <= EXAMPLES and entry[0] is not None and entry[0] != entry[1]:
                add_example(result, entry, row[0], None, row[1], row[3], str(row[2]))
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
