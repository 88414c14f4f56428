"""The partitions one process appends to (its *lanes*), and the SQL of an append to a partition.

A lane is one partition of a partitioned PostgreSQL log
(:mod:`capfence.audit.partitions`) and the head of that partition as this
process last wrote or read it. A thread appends through one lane at a time,
so a process with ``k`` threads appending at once uses up to ``k`` lanes (at
most the pool's size: each append needs a connection anyway). A single
thread always gets the same lane back, so its partition's head stays known
and an append is one statement.

Which partition a lane takes: one derived from the host name, the process id
and the lane's index, avoiding the partitions of the process's other lanes.
Two processes may pick the same one; that is always safe (the partition's
lock and primary key decide), only slower, so a lane that finds its
partition's head moved by someone else *hops* to another partition chosen at
random. With at least as many partitions as concurrent writers, the writers
soon spread out so that each has a partition of its own.
"""

from __future__ import annotations

import os
import random
import socket
import threading
import time
import zlib

from capfence.audit.chain import GENESIS
from capfence.audit.partitions import STRIDE
from capfence.audit.postgres_schema import LOCK_CLASS
from capfence.audit.sqlite import COLUMNS

Head = tuple[int, str, str | None]
"""A partition's last record: seq, hash, ts."""

_TYPES = {
    "seq": "bigint",
    "payload_bytes": "bigint",
    "truncated": "integer",
    "redacted": "integer",
    "ref": "bigint",
}
FAST_INSERT = (
    f"INSERT INTO records ({', '.join(COLUMNS)}) SELECT "
    + ", ".join(f"%s::{_TYPES.get(name, 'text')}" for name in COLUMNS)
    + f" FROM (SELECT pg_advisory_xact_lock({LOCK_CLASS}, hashtext('chain:' || current_schema() || ':' || %s::text))"
    " FROM (SELECT set_config('lock_timeout', %s, true)) AS budget) AS locked"
    " WHERE EXISTS (SELECT 1 FROM records WHERE seq = %s AND hash = %s)"
    " ON CONFLICT (seq) DO NOTHING"
)
"""One statement, one round trip, committed on its own (autocommit): take the partition's lock (within the caller's
budget), and insert the record unless its sequence number is taken (someone else appended: the head this lane knew
is stale) or its predecessor is not there (the head was lost with a crash of a server that does not commit
synchronously). Parameters: the row's values in ``COLUMNS`` order, the partition, ``lock_timeout`` (e.g. ``'3000'``),
the predecessor's seq and hash."""
REGISTER = "INSERT INTO partitions (part) VALUES (%s) ON CONFLICT (part) DO NOTHING"


class Lane:
    """One partition this process appends to, and its head as last written or read here (None: read it first)."""

    __slots__ = ("crosslinked", "head", "part", "unlinked")

    def __init__(self, part: int) -> None:
        self.part = part
        self.head: Head | None = None
        self.crosslinked = time.monotonic()
        """When this lane last wrote a cross-link (or was opened)."""
        self.unlinked = False
        """Whether records were appended since then."""

    def empty_head(self) -> Head:
        return (self.part * STRIDE, GENESIS, None)


class Lanes:
    """The lanes of one process: at most ``size``, each used by one thread at a time (the most recently used first)."""

    def __init__(self, partitions: int, size: int) -> None:
        self.partitions, self.size = partitions, size
        self._cond = threading.Condition()
        self._idle: list[Lane] = []
        self._all: list[Lane] = []
        self._seed = zlib.crc32(f"{socket.gethostname()}:{os.getpid()}".encode())
        self._random = random.Random()  # seeded from the OS: two stores of one process must part ways

    def take(self, timeout: float) -> Lane | None:
        """An idle lane, a new one if there are fewer than ``size``, or None after waiting ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                if self._idle:
                    return self._idle.pop()
                if len(self._all) < self.size:
                    lane = Lane(self._free_partition(len(self._all)))
                    self._all.append(lane)
                    return lane
                left = deadline - time.monotonic()
                if left <= 0 or not self._cond.wait(left):
                    return None

    def claim(self, lane: Lane) -> bool:
        """Take this very lane if it is idle (for a cross-link on close)."""
        with self._cond:
            if lane in self._idle:
                self._idle.remove(lane)
                return True
            return False

    def give(self, lane: Lane) -> None:
        with self._cond:
            self._idle.append(lane)
            self._cond.notify()

    def hop(self, lane: Lane) -> None:
        """Move ``lane`` to another partition, at random among those this process does not use (its head unknown)."""
        with self._cond:
            used = {other.part for other in self._all}
            free = [part for part in range(1, self.partitions + 1) if part not in used]
            if free:
                lane.part, lane.head = self._random.choice(free), None

    def all(self) -> list[Lane]:
        with self._cond:
            return list(self._all)

    def _free_partition(self, index: int) -> int:
        used = {lane.part for lane in self._all}
        for step in range(self.partitions):
            part = 1 + (self._seed + index + step) % self.partitions
            if part not in used:
                return part
        return 1 + (self._seed + index) % self.partitions
