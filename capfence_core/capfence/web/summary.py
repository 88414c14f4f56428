"""The overview's numbers, kept as an incremental summary instead of re-aggregating the log on every page.

A full ``GROUP BY`` over a million decisions takes seconds; the overview must
render in well under 300 ms. So the console reads the log once (in the
background, at start) into ten-minute buckets of counts, and from then on
reads only the records appended since the last sequence number it saw (a
primary-key range: cheap whatever the log's size). The audit log is
append-only, so a bucket never needs recounting. A page shows any window
(last hour, day, week, month, everything) by adding up buckets.

Memory is bounded: per bucket at most :data:`KEYS_PER_BUCKET` distinct
rules, capabilities and agents are counted by name (the rest as
``(other)``), since agent ids and capabilities are chosen by callers.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from dataclasses import dataclass, field

from capfence.decision import ACTIONS
from capfence.web.source import Source

BUCKET_CHARS = 15
"""``ts[:15]`` is ``YYYY-MM-DDTHH:M``: a ten-minute bucket."""
KEYS_PER_BUCKET = 200
OTHER = "(other)"
BATCH = 200_000
"""Sequence numbers read per query while catching up (so a page never waits on one huge read)."""
WINDOWS = {"1h": 3600, "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400, "all": 0}
BLOCKED = ("deny", "require_approval")

Key = tuple[str, str]
"""(name, decision)"""


@dataclass
class Bucket:
    actions: Counter[str] = field(default_factory=Counter)
    rules: Counter[Key] = field(default_factory=Counter)
    capabilities: Counter[Key] = field(default_factory=Counter)
    agents: Counter[Key] = field(default_factory=Counter)

    def add(self, decision: str, rule: str | None, capability: str | None, agent: str | None, calls: int) -> None:
        self.actions[decision] += calls
        for counter, name in ((self.rules, rule or "(default)"), (self.capabilities, capability or "-"), (self.agents, agent or "-")):
            key = (name, decision)
            if key not in counter and len(counter) >= KEYS_PER_BUCKET:
                key = (OTHER, decision)
            counter[key] += calls


@dataclass
class Overview:
    """What the overview page shows for one window."""

    window: str
    seen_seq: int
    head_seq: int
    series: list[tuple[str, dict[str, int]]]
    """(bucket label, decision -> calls), oldest first."""
    totals: Counter[str]
    top_rules: list[tuple[str, int]]
    top_capabilities: list[tuple[str, int]]
    top_agents: list[tuple[str, int]]

    @property
    def complete(self) -> bool:
        return self.seen_seq >= self.head_seq


class Summary:
    """Counts of decision records by ten-minute bucket, brought up to date by :meth:`refresh`."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.seen_seq = 0
        self.head_seq = 0
        self.buckets: dict[str, Bucket] = {}
        self._lock = threading.Lock()

    def refresh(self, *, wait: bool = True, batches: int | None = None) -> None:
        """Read records appended since the last refresh (``batches`` of :data:`BATCH` at most; None: all).

        With ``wait=False`` it returns at once when another thread is refreshing.
        """
        if not self._lock.acquire(blocking=wait):
            return
        try:
            head = self.source.one("SELECT max(seq) AS head FROM records")
            self.head_seq = int(head["head"] or 0) if head else 0
            done = 0
            while self.seen_seq < self.head_seq and (batches is None or done < batches):
                upto = min(self.head_seq, self.seen_seq + BATCH)
                self._read(self.seen_seq, upto)
                self.seen_seq, done = upto, done + 1
        finally:
            self._lock.release()

    def _read(self, after: int, upto: int) -> None:
        rows = self.source.rows(
            "SELECT substr(ts, 1, 15) AS bucket, decision, rule, capability, agent_id, count(*) AS calls FROM records"
            " WHERE seq > ? AND seq <= ? AND kind = 'decision' GROUP BY substr(ts, 1, 15), decision, rule, capability, agent_id",
            [after, upto],
        )
        for row in rows:
            bucket = self.buckets.setdefault(str(row["bucket"]), Bucket())
            bucket.add(str(row["decision"]), row["rule"], row["capability"], row["agent_id"], int(row["calls"]))

    def overview(self, window: str, now: dt.datetime | None = None, top: int = 10) -> Overview:
        """Add up the buckets of ``window`` (a key of :data:`WINDOWS`)."""
        seconds = WINDOWS.get(window, WINDOWS["24h"])
        with self._lock:
            keys = sorted(self.buckets)
            start = _start(keys, seconds, now)
            chosen = [(key, self.buckets[key]) for key in keys if key >= start]
            rules, capabilities, agents, totals = Counter[str](), Counter[str](), Counter[str](), Counter[str]()
            for _, bucket in chosen:
                totals.update(bucket.actions)
                for (name, _), calls in bucket.rules.items():
                    rules[name] += calls
                for counter, target in ((bucket.capabilities, capabilities), (bucket.agents, agents)):
                    for (name, decision), calls in counter.items():
                        if decision in BLOCKED:
                            target[name] += calls
            series = _series(chosen, seconds)
            return Overview(window, self.seen_seq, self.head_seq, series, totals, rules.most_common(top),
                            capabilities.most_common(top), agents.most_common(top))


def _start(keys: list[str], seconds: int, now: dt.datetime | None) -> str:
    if not seconds or not keys:
        return ""
    moment = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(seconds=seconds)
    return moment.astimezone(dt.UTC).isoformat()[:BUCKET_CHARS]


def _series(chosen: list[tuple[str, Bucket]], seconds: int) -> list[tuple[str, dict[str, int]]]:
    """Buckets merged to at most ~48 bars: 10 minutes for an hour, an hour for a day, longer for longer windows."""
    width = 15 if seconds == 3600 else 13 if seconds <= 86400 else 10  # ts prefix: 10 min, hour, day
    if not seconds and chosen and chosen[0][0][:10] == chosen[-1][0][:10]:
        width = 13
    merged: dict[str, Counter[str]] = {}
    for key, bucket in chosen:
        merged.setdefault(key[:width], Counter()).update(bucket.actions)
    return [(label, {action: counts.get(action, 0) for action in ACTIONS}) for label, counts in merged.items()]
