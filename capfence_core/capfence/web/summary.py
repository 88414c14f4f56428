"""The overview's numbers, kept as an incremental summary instead of re-aggregating the log on every page.

A full ``GROUP BY`` over a million decisions takes seconds; the overview must
render in well under 300 ms. So the console reads the log once (in the
background, at start) into buckets of counts, and from then on reads only
the records appended since the last sequence number it saw (a primary-key
range: cheap whatever the log's size), in each partition of a partitioned
PostgreSQL log (:mod:`capfence.audit.partitions`). The audit log is
append-only, so a bucket never needs recounting.

Granularity: decisions per action are counted per ten minutes (the chart);
rules, capabilities and agents per hour and per day (the top lists). A window
of a day or less adds up hours, a longer one whole UTC days, so the top lists
of the 7- and 30-day windows may include up to a day more than the window.

Memory is bounded: per bucket at most :data:`KEYS_PER_BUCKET` distinct
rules, capabilities and agents are counted by name (the rest as
``(other)``), since agent ids and capabilities are chosen by callers.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from dataclasses import dataclass, field

from capfence.audit.partitions import STRIDE
from capfence.call.decision import ACTIONS
from capfence.web.source import Source

KEYS_PER_BUCKET = 500
OTHER = "(other)"
BATCH = 100_000
"""Sequence numbers read per query while catching up (so a page never waits on one huge read)."""
WINDOWS = {"1h": 3600, "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400, "all": 0}
BLOCKED = ("deny", "require_approval")
TEN_MINUTES, HOUR, DAY = 15, 13, 10
"""Lengths of the ``ts`` prefix that name a bucket."""

Key = tuple[str, str]
"""(name, decision)"""
Combo = tuple[str, str, "str | None", "str | None", "str | None"]
"""(ts[:15], decision, rule, capability, agent)"""


@dataclass
class Bucket:
    """Calls by (rule, decision), (capability, decision) and (agent, decision) in one hour or day."""

    rules: Counter[Key] = field(default_factory=Counter)
    capabilities: Counter[Key] = field(default_factory=Counter)
    agents: Counter[Key] = field(default_factory=Counter)


def _count(counter: Counter[Key], name: str, decision: str, calls: int) -> None:
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


_PARTITION_HEADS = (
    "SELECT p.part, (SELECT max(seq) FROM records WHERE seq > p.part::bigint * ? AND seq < (p.part::bigint + 1) * ?)"
    " FROM partitions p"
)


class Summary:
    """Counts of decision records by time bucket, brought up to date by :meth:`refresh`.

    ``seen_seq`` and ``head_seq`` count record numbers read and written (for a
    log written as one chain: the last sequence number read, and the head's).
    """

    def __init__(self, source: Source) -> None:
        self.source = source
        self.seen: dict[int, int] = {}
        """Partition -> the last sequence number read in it."""
        self.heads: dict[int, int] = {}
        self.actions: dict[str, Counter[str]] = {}
        """ts[:15] (ten minutes) -> decision -> calls."""
        self.hours: dict[str, Bucket] = {}
        self.days: dict[str, Bucket] = {}
        self._lock = threading.Lock()
        self._reading = threading.Lock()

    def refresh(self, *, wait: bool = True, batches: int | None = None) -> None:
        """Read records appended since the last refresh (``batches`` of :data:`BATCH` at most; None: all).

        With ``wait=False`` it returns at once when another thread is refreshing.
        """
        if not self._reading.acquire(blocking=wait):
            return
        try:
            self.heads = self._heads()
            done = 0
            for part, head in sorted(self.heads.items()):
                seen = self.seen.get(part, part * STRIDE)
                while seen < head and (batches is None or done < batches):
                    upto = min(head, seen + BATCH)
                    self._add(self._read(seen, upto))
                    seen, done = upto, done + 1
                self.seen[part] = seen
        finally:
            self._reading.release()

    @property
    def seen_seq(self) -> int:
        return sum(seen - part * STRIDE for part, seen in self.seen.items())

    @property
    def head_seq(self) -> int:
        return sum(head - part * STRIDE for part, head in self.heads.items())

    def _heads(self) -> dict[int, int]:
        """The last sequence number of each partition (one, 0, for a log written as one chain)."""
        partitioned = self.source.postgres and self.source.one(
            "SELECT to_regclass('partitions') IS NOT NULL AS found"
        )
        if partitioned and partitioned["found"]:
            rows = self.source.tuples(_PARTITION_HEADS, [STRIDE, STRIDE])
            return {int(part): int(head) for part, head in rows if head is not None}
        head = self.source.one("SELECT max(seq) AS head FROM records")
        return {0: int(head["head"] or 0)} if head else {}

    def _read(self, after: int, upto: int) -> list[Combo]:
        return self.source.tuples(
            "SELECT substr(ts, 1, 15), decision, rule, capability, agent_id FROM records WHERE seq > ? AND seq <= ? AND kind = 'decision'",
            [after, upto],
        )

    def _add(self, rows: list[Combo]) -> None:
        """Count ``rows`` (C-speed ``Counter`` over projections), then merge the far fewer distinct keys into the buckets."""
        actions = Counter((r[0], r[1]) for r in rows)
        dims = (
            ("rules", Counter((r[0][:HOUR], r[2] or "(default)", r[1]) for r in rows)),
            ("capabilities", Counter((r[0][:HOUR], r[3] or "-", r[1]) for r in rows)),
            ("agents", Counter((r[0][:HOUR], r[4] or "-", r[1]) for r in rows)),
        )
        with self._lock:
            for (stamp, decision), calls in actions.items():
                self.actions.setdefault(stamp, Counter())[decision] += calls
            for attr, counts in dims:
                for (hour, name, decision), calls in counts.items():
                    for buckets, key in ((self.hours, hour), (self.days, hour[:DAY])):
                        _count(getattr(buckets.setdefault(key, Bucket()), attr), name, decision, calls)

    def overview(self, window: str, now: dt.datetime | None = None, top: int = 10) -> Overview:
        """Add up the buckets of ``window`` (a key of :data:`WINDOWS`)."""
        seconds = WINDOWS.get(window, WINDOWS["24h"])
        start = _start(seconds, now)
        with self._lock:
            chosen = sorted((key, counts) for key, counts in self.actions.items() if key >= start)
            buckets = self.hours if 0 < seconds <= WINDOWS["24h"] else self.days
            width = HOUR if buckets is self.hours else DAY
            dims = [bucket for key, bucket in buckets.items() if key >= start[:width]]
            totals: Counter[str] = Counter()
            for _, counts in chosen:
                totals.update(counts)
            rules, capabilities, agents = _tops(dims)
            return Overview(
                window,
                self.seen_seq,
                self.head_seq,
                _series(chosen, seconds, now),
                totals,
                rules.most_common(top),
                capabilities.most_common(top),
                agents.most_common(top),
            )


def _tops(buckets: list[Bucket]) -> tuple[Counter[str], Counter[str], Counter[str]]:
    rules, capabilities, agents = Counter[str](), Counter[str](), Counter[str]()
    for bucket in buckets:
        for (name, _), calls in bucket.rules.items():
            rules[name] += calls
        for counter, target in ((bucket.capabilities, capabilities), (bucket.agents, agents)):
            for (name, decision), calls in counter.items():
                if decision in BLOCKED:
                    target[name] += calls
    return rules, capabilities, agents


def _start(seconds: int, now: dt.datetime | None) -> str:
    if not seconds:
        return ""
    moment = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(seconds=seconds)
    return moment.astimezone(dt.UTC).isoformat()[:TEN_MINUTES]


def _series(
    chosen: list[tuple[str, Counter[str]]], seconds: int, now: dt.datetime | None = None
) -> list[tuple[str, dict[str, int]]]:
    """One bar per 10 minutes (1h window), hour (24h) or day (longer, and "all"); a bounded window shows its empty bars too."""
    width = TEN_MINUTES if seconds == 3600 else HOUR if 0 < seconds <= 86400 else DAY
    merged: dict[str, Counter[str]] = {}
    if seconds:
        for label in _labels(seconds, width, now):
            merged[label] = Counter()
    for key, counts in chosen:
        merged.setdefault(key[:width], Counter()).update(counts)
    return [
        (label, {action: counts.get(action, 0) for action in ACTIONS})
        for label, counts in sorted(merged.items())
    ]


def _labels(seconds: int, width: int, now: dt.datetime | None) -> list[str]:
    """The bucket labels from ``seconds`` ago to now."""
    step = {TEN_MINUTES: dt.timedelta(minutes=10), HOUR: dt.timedelta(hours=1), DAY: dt.timedelta(days=1)}[
        width
    ]
    end = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    moment = end - dt.timedelta(seconds=seconds) + step
    labels: list[str] = []
    while moment <= end + step:
        label = moment.isoformat()[:width]
        if label <= end.isoformat()[:width] and (not labels or labels[-1] != label):
            labels.append(label)
        moment += step
    return labels
