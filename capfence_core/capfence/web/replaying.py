"""The replay page's work: re-decide a window of the log under a chosen or pasted policy.

It runs :func:`capfence.offline.replay.replay_calls`, the engine behind ``capfence
replay``, over ``reader.calls(Filters(since, until))`` and keeps the changed
calls (the first :data:`LISTED`) with their sequence numbers, so each links to
its decision page. At most :data:`MAX_CALLS` calls of a window are replayed
(the oldest first); the page says when a window was cut.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from capfence.audit.query import Filters
from capfence.call.decision import ACTIONS
from capfence.offline.replay import ReplayResult, is_changed, looser, other, replay_calls, stricter
from capfence.policy.compiled import Policy
from capfence.web.source import Source

MAX_CALLS = 200_000
LISTED = 500


@dataclass(frozen=True)
class Changed:
    seq: int
    capability: str
    recorded: str | None
    replayed: str
    rule: str | None


@dataclass
class Outcome:
    result: ReplayResult
    changed: list[Changed] = field(default_factory=list)
    cut: bool = False
    calls: dict[int, dict[str, Any]] = field(default_factory=dict)
    """seq -> agent, tool and payload of each listed changed call."""

    @property
    def matrix(self) -> list[tuple[str, list[int]]]:
        """Rows: recorded decision; columns: replayed decision (:data:`~capfence.call.decision.ACTIONS` order)."""
        transitions = self.result.transitions()
        recorded: list[str] = [action for action in ACTIONS if any(key[0] == action for key in transitions)]
        if any(key[0] is None for key in transitions):
            recorded.append("(none)")
        return [
            (name, [transitions.get((None if name == "(none)" else name, col), 0) for col in ACTIONS])
            for name in recorded
        ]

    @property
    def counts(self) -> dict[str, int]:
        result = self.result
        return {
            "replayed": result.replayed,
            "changed": result.count_where(is_changed),
            "stricter": result.count_where(stricter),
            "looser": result.count_where(looser),
            "other": result.count_where(other),
            "not replayable": result.unreplayable.count,
            "invalid": result.invalid.count,
        }


def run(source: Source, policy: Policy, since: str | None, until: str | None) -> Outcome:
    """Replay the decisions recorded in ``[since, until)`` under ``policy``."""
    changed: list[Changed] = []
    seen = [0]

    def sink(
        record_id: object, capability: str, recorded: str | None, replayed: str, rule: str | None
    ) -> None:
        seen[0] += 1
        if is_changed(recorded, replayed) and len(changed) < LISTED:
            changed.append(Changed(int(str(record_id)), capability, recorded, replayed, rule))

    with source.reader() as reader:
        rows: Any = itertools.islice(reader.calls(Filters(since=since, until=until)), MAX_CALLS + 1)
        limited = _Counted(rows, MAX_CALLS)
        result = replay_calls(limited, policy, source.location, sink=sink)
    return Outcome(result, changed, limited.cut, _calls(source, [c.seq for c in changed]))


def _calls(source: Source, seqs: list[int]) -> dict[int, dict[str, Any]]:
    if not seqs:
        return {}
    marks = ", ".join("?" * len(seqs))
    rows = source.rows(f"SELECT seq, agent_id, tool, payload FROM records WHERE seq IN ({marks})", seqs)
    return {int(row["seq"]): row for row in rows}


class _Counted:
    """At most ``limit`` items of ``rows``; ``cut`` tells whether there were more."""

    def __init__(self, rows: Any, limit: int) -> None:
        self.rows, self.limit, self.cut = rows, limit, False

    def __iter__(self) -> Any:
        for n, row in enumerate(self.rows):
            if n >= self.limit:
                self.cut = True
                return
            yield row
