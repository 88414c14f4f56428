"""Partitioned hash chains: sequence numbers that name their partition, and cross-links between partitions.

A log written by many writers at once (the PostgreSQL store with
``partitions=N``) keeps several hash chains side by side instead of one, so
that writers never wait for each other. Each partition is an ordinary chain:
its records are numbered consecutively from its first sequence number, the
first one is chained to :data:`~capfence.audit.chain.GENESIS` and every other
one to its predecessor *in the same partition*. The partition is part of the
sequence number (``seq = partition * STRIDE + position``, so partition 3's
records are ``3000000000001``, ``3000000000002``...), and the sequence
number is hashed, so a record cannot be moved to another partition or
renumbered without breaking its hash. Partition 0 holds records ``1, 2,
3...``: a log written as one chain (every SQLite log, every PostgreSQL log
before partitions) is a partitioned log with a single partition, and verifies
the same way.

A chain proves that nothing was removed *between* its records, but not that
nothing was cut off its end, and a partition can be dropped whole. Writers
therefore append, now and then, a *cross-link*: a record of kind
:data:`KIND` whose ``detail`` lists the head (last sequence number and hash)
of every other partition at that moment. It is chained like any record (an
HMAC under the audit key for a keyed log, so it cannot be forged without the
key). ``verify`` then requires, for every partition a cross-link names, that
the partition reaches the named record and that the record still has the
named hash; only the newest claim on each partition needs checking, since a
partition that matches it is intact up to there.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

STRIDE = 1_000_000_000_000
"""Sequence numbers per partition: partition ``p`` holds ``p * STRIDE + 1`` onwards."""
KIND = "heads"
"""The kind of a cross-link record."""
Head = tuple[int, int, str]
"""A partition's head: partition, sequence number, hash."""


def partition_of(seq: int) -> int:
    return seq // STRIDE


def first_seq(partition: int) -> int:
    """The sequence number of a partition's first record."""
    return partition * STRIDE + 1


def crosslink_record(heads: Sequence[Head]) -> dict[str, object]:
    """The record that pins ``heads`` (the other partitions' heads, by partition)."""
    return {
        "kind": KIND,
        "reason": f"heads of {len(heads)} other partition(s)",
        "detail": json.dumps({"heads": [list(head) for head in sorted(heads)]}, separators=(",", ":")),
    }


def claimed_heads(record: Mapping[str, object]) -> list[Head]:
    """The heads a cross-link record names (empty for any other record, or a malformed one)."""
    if record.get("kind") != KIND or not isinstance(record.get("detail"), str):
        return []
    try:
        heads = json.loads(str(record["detail"]))["heads"]
        return [(int(part), int(seq), str(value)) for part, seq, value in heads]
    except (ValueError, KeyError, TypeError):
        return []


@dataclass(frozen=True)
class Claim:
    """The newest cross-link's word on one partition: it reached ``seq``, whose hash was ``hash`` (said by record ``by``)."""

    seq: int
    hash: str
    by: int


class Claims:
    """The newest claim on each partition, collected while ``verify`` walks the log."""

    def __init__(self) -> None:
        self.newest: dict[int, Claim] = {}

    def add(self, record: Mapping[str, object]) -> None:
        for part, seq, value in claimed_heads(record):
            known = self.newest.get(part)
            if known is None or seq > known.seq:
                self.newest[part] = Claim(seq, value, int(str(record["seq"])))
