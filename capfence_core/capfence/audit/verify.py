"""Verify an audit log: walk the hash chain, stop at the first bad record, check checkpoints.

What is detected (see also docs/cli.md):

* Always: a gap in sequence numbers (deleted records), a record whose
  ``prev_hash`` is not the previous record's ``hash`` (deleted, inserted or
  reordered records; reordering is named when the misplaced record is found).
* When hashes can be recomputed (an unkeyed ``sha256`` chain, or a keyed
  ``hmac-sha256`` chain with the key): a modified field. With the key, also a
  chain recomputed by someone who edited a record, since they cannot produce
  valid HMACs.
* With the key: a keyed log rewritten as unkeyed (``downgraded``; a log that
  is unkeyed is accepted with a key only when a checkpoint signed under it says
  so), and a chain recomputed under another key (``rekeyed``).
* With checkpoints: a truncated tail (the log ends before a checkpoint's seq),
  a rewritten chain (the record at a checkpoint's seq has another hash), and a
  changed chain mode (a keyed log rewritten as unkeyed).
* Approval requests: every row of the ``approvals`` table must be backed by the
  chain (a record of its creation, and a latest ``approval`` record that agrees
  with the row; see :mod:`capfence.audit.approval_events`). Each row that is
  not is reported; checked when the chain itself is intact.

* Partitioned logs (:mod:`capfence.audit.partitions`, written by the PostgreSQL
  store with ``partitions=N``): each partition is walked as a chain of its
  own, and every partition a cross-link record names must reach the record it
  names with the hash it names: a partition dropped whole, or cut before a
  cross-link that saw its later records, is reported (``truncated``), and one
  recomputed after an edit (``rewritten``).

Not detectable without a key or checkpoint: records cut off the end (of a
partition, after the last cross-link that saw them), and (for an unkeyed
chain) an edit followed by recomputing every later hash.
Verification only reads: the database is opened read-only.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from capfence.audit.approval_events import Trails, Unbacked
from capfence.audit.chain import GENESIS, record_hash
from capfence.audit.checkpoint import Checkpoint
from capfence.audit.partitions import Claims, first_seq, partition_of
from capfence.audit.reader import AuditReader, Record
from capfence.errors import AuditError


@dataclass(frozen=True)
class Break:
    """The first thing wrong. ``kind``: deleted, modified, reordered, relinked, truncated, rewritten, downgraded, rekeyed, forged."""

    seq: int | None
    kind: str
    message: str


@dataclass
class Report:
    location: str
    chain: str
    recomputed: bool
    """Whether every hash was recomputed (False: a keyed chain checked without its key; links only)."""
    records: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    problem: Break | None = None
    checked: list[str] = field(default_factory=list)
    """One line per checkpoint that matched."""
    notes: list[str] = field(default_factory=list)
    """What this verification could not detect, given the key and checkpoints it had."""
    unbacked: list[Unbacked] = field(default_factory=list)
    """Approval requests whose row the chain does not back (each one is a failure)."""
    kinds: dict[str, int] = field(default_factory=dict)
    """Records checked, by kind (``decision``, ``outcome``, ``approval``, events)."""
    partitions: dict[int, int] = field(default_factory=dict)
    """The last sequence number of each partition (one entry, partition 0, for a log written as one chain)."""

    @property
    def ok(self) -> bool:
        return self.problem is None and not self.unbacked


def verify(
    reader: AuditReader, key: bytes | None, checkpoints: Iterable[tuple[str, Checkpoint]] = ()
) -> Report:
    """Verify ``reader``'s log; ``checkpoints`` are ``(where, checkpoint)`` pairs, ``where`` naming file and line.

    Raises :class:`AuditError` when the log cannot be read, or a signed checkpoint is given without the key.
    """
    mode = reader.chain_mode()
    points = list(checkpoints)
    report = Report(reader.location, mode, recomputed=mode == "sha256" or key is not None)
    wanted = {point.seq for _, point in points}
    seen: dict[int, str] = {}
    # read before the walk, so the walk sees every transition they show
    requests, unchecked = _approval_rows(reader)
    trails = Trails(int(requests[0]["head_seq"] or 0)) if requests else None
    claims = Claims()
    report.problem = _walk(
        reader, key if mode == "hmac-sha256" else None, report, wanted, seen, trails, claims
    )
    if report.problem is None:
        report.problem = _check_claims(reader, claims, report)
    if trails is not None and report.problem is None:
        report.unbacked = trails.check(requests)
    elif trails is not None:
        unchecked = "the chain is not intact"
    if report.problem is None:
        report.problem = _check_points(points, key, mode, report, seen)
    if report.problem is None:
        report.problem = _check_key(mode, key, points)
    report.notes = _notes(mode, key, points, unchecked)
    return report


def _approval_rows(reader: AuditReader) -> tuple[list[Record], str | None]:
    """The approval queue's rows, or why they cannot be checked (a plugin store's reader need not list them)."""
    lister = getattr(reader, "approvals", None)
    if lister is None:
        return [], "this store's reader cannot list them"
    rows: list[Record] = lister()
    return rows, None


def _walk(
    reader: AuditReader,
    key: bytes | None,
    report: Report,
    wanted: set[int],
    seen: dict[int, str],
    trails: Trails | None,
    claims: Claims,
) -> Break | None:
    last_seq, last_hash = 0, GENESIS
    rows = iter(reader.records())
    for row in rows:
        seq = int(row["seq"])
        if partition_of(seq) != partition_of(last_seq):  # the next partition: a chain of its own
            last_seq, last_hash = first_seq(partition_of(seq)) - 1, GENESIS
        problem = _check_row(reader, row, seq, last_seq, last_hash, key, report.recomputed)
        if problem is not None:
            if key is not None and seq == 1 and problem.kind == "modified":
                return _first_record(row, rows, key) or problem
            return problem
        if trails is not None:
            trails.add(row)
        claims.add(row)
        if seq in wanted:
            seen[seq] = str(row["hash"])
        report.records += 1
        report.kinds[str(row["kind"])] = report.kinds.get(str(row["kind"]), 0) + 1
        report.first_seq = report.first_seq or seq
        report.last_seq, last_seq, last_hash = seq, seq, str(row["hash"])
        report.partitions[partition_of(seq)] = seq
    return None


def _check_claims(reader: AuditReader, claims: Claims, report: Report) -> Break | None:
    """Every partition a cross-link names reaches the record it names, with the hash it names."""
    for part, claim in sorted(claims.newest.items()):
        last = report.partitions.get(part)
        if last is None:
            return Break(
                None,
                "truncated",
                f"partition {part} is missing, but cross-link record {claim.by} saw it reach record {claim.seq}: "
                "the partition was dropped",
            )
        if claim.seq > last:
            return Break(
                last,
                "truncated",
                f"partition {part} ends at record {last} but cross-link record {claim.by} saw record {claim.seq}: "
                f"records {last + 1}-{claim.seq} (at least) were cut off its end",
            )
        lookup = getattr(reader, "hash_at", None)
        found = lookup(claim.seq) if lookup is not None else None
        if found is None and reader.find_hash(claim.hash) == claim.seq:
            found = claim.hash
        if found != claim.hash:
            return Break(
                claim.seq,
                "rewritten",
                f"record {claim.seq} differs from what cross-link record {claim.by} saw: "
                "the chain was recomputed after an edit",
            )
    return None


def _check_row(
    reader: AuditReader,
    row: Record,
    seq: int,
    last_seq: int,
    last_hash: str,
    key: bytes | None,
    recompute: bool,
) -> Break | None:
    if seq != last_seq + 1:
        missing = f"record {last_seq + 1}" if seq == last_seq + 2 else f"records {last_seq + 1}-{seq - 1}"
        return Break(seq, "deleted", f"{missing} missing before record {seq}: deleted")
    if row["prev_hash"] != last_hash:
        return _broken_link(reader, row, seq)
    if recompute and record_hash(str(row["prev_hash"]), row, key) != row["hash"]:
        wrong_key = " (or the key is wrong)" if key is not None and seq == 1 else ""
        return Break(
            seq,
            "modified",
            f"record {seq} does not match its hash: a field was modified after it was written{wrong_key}",
        )
    return None


def _first_record(row: Record, rows: Iterator[Record], key: bytes) -> Break | None:
    """Record 1 of a keyed chain does not match its HMAC: say so when the whole chain was hashed without the key or with another."""
    if record_hash(GENESIS, row, None) == row["hash"]:
        return Break(
            1,
            "downgraded",
            "record 1 is hashed without a key (plain SHA-256) in a keyed log: "
            "the chain was recomputed without the key",
        )
    following = next(rows, None)
    linked = following is not None and following["prev_hash"] == row["hash"]
    if (
        following is not None
        and linked
        and record_hash(str(row["hash"]), following, key) != following["hash"]
    ):
        return Break(
            1,
            "rekeyed",
            "neither record 1 nor record 2 matches its hash under this key: "
            "the chain was recomputed with another key, or the key is wrong",
        )
    return None


def _check_key(mode: str, key: bytes | None, points: list[tuple[str, Checkpoint]]) -> Break | None:
    """A key was given: the chain must be keyed, unless a checkpoint signed under the key says it was unkeyed."""
    if key is None or mode != "sha256" or any(point.signature is not None for _, point in points):
        return None
    return Break(
        None,
        "downgraded",
        "a key was given but the log's chain is unkeyed (sha256): "
        "it was rewritten without the key, or never keyed (then verify it without the key)",
    )


def _broken_link(reader: AuditReader, row: Record, seq: int) -> Break:
    """Record ``seq`` does not chain to record ``seq - 1``: say what most likely happened."""
    found = reader.find_hash(str(row["prev_hash"]))
    if found is not None and found > seq:
        return Break(
            seq, "reordered", f"record {seq} is chained after record {found}: records were reordered"
        )
    if found is not None:
        return Break(
            seq,
            "relinked",
            f"record {seq} is chained after record {found}, not {seq - 1}: records were removed and renumbered",
        )
    what = f"record {seq - 1} was replaced, or records were inserted or deleted"
    return Break(seq, "relinked", f"record {seq} does not chain to record {seq - 1}: {what}")


def _check_points(
    points: list[tuple[str, Checkpoint]], key: bytes | None, mode: str, report: Report, seen: dict[int, str]
) -> Break | None:
    for where, point in points:
        problem = _check_point(where, point, key, mode, report, seen)
        if problem is not None:
            return problem
        report.checked.append(f"checkpoint {where} (seq {point.seq}, {point.created}): matches")
    return None


def _check_point(
    where: str, point: Checkpoint, key: bytes | None, mode: str, report: Report, seen: dict[int, str]
) -> Break | None:
    if point.signature is not None:
        if key is None:
            raise AuditError(
                f"checkpoint {where} is signed: give the audit key (CAPFENCE_AUDIT_KEY or --key-file) to check it"
            )
        if not point.signature_valid(key):
            return Break(
                None,
                "forged",
                f"checkpoint {where} has an invalid signature: forged or altered, or the key is wrong",
            )
    if point.chain != mode:
        return Break(
            None,
            "downgraded",
            f"the log's chain is {mode} but was {point.chain} at checkpoint {where}: the log was rewritten",
        )
    last = report.partitions.get(partition_of(point.seq), 0)
    if point.seq > last:
        return Break(
            last or None,
            "truncated",
            f"the log ends at record {last} but checkpoint {where} saw record {point.seq}: "
            f"records {last + 1}-{point.seq} (at least) were cut off the end",
        )
    if seen.get(point.seq) != point.hash:
        return Break(
            point.seq,
            "rewritten",
            f"record {point.seq} differs from checkpoint {where}: the chain was recomputed after an edit",
        )
    return None


def _notes(
    mode: str, key: bytes | None, points: list[tuple[str, Checkpoint]], unchecked: str | None
) -> list[str]:
    notes = []
    if unchecked:
        notes.append(f"the approval requests were not compared with the log: {unchecked}")
    if mode == "hmac-sha256" and key is None:
        notes.append(
            "no key was given, so only the links between records were checked: a changed field would go unnoticed "
            "(set CAPFENCE_AUDIT_KEY or pass --key-file to check everything)"
        )
    if mode == "sha256":
        notes.append(
            "this log has no secret key: whoever can write the file could change a record and recompute every later "
            "hash without it showing here; a checkpoint catches that up to the point it was taken"
        )
        if key is not None and any(point.signature is not None for _, point in points):
            notes.append(
                "the log has no key, as the signed checkpoints say: the key was used only to check their signatures"
            )
    if not points:
        notes.append(
            "without a checkpoint, records deleted from the end of the log cannot be noticed "
            "(run 'capfence checkpoint' regularly, and pass its file with --checkpoint)"
        )
    return notes
