"""Copy audit records into an audit log *as they are*: same sequence numbers, same hashes.

Re-chaining imported records would make a new chain that proves nothing about
the old one, so the importer keeps ``seq``, ``prev_hash`` and ``hash`` and
checks, before writing anything, that every record matches its own hash and
links to the one before it. The target must be empty, or hold a prefix of the
same chain: records it already has are skipped (after checking that its last
record is the same one), so an interrupted import can simply be run again,
and a log still being written can be caught up before the switch.

Sources: a JSON Lines file written by ``capfence export --all-records`` (each
line one record of any kind; ``payload`` and ``detail`` may be JSON values or
the stored text), or any audit log a reader can open (a SQLite file, a URL).
A decision-only export cannot be imported: its outcomes and events are
missing, so its chain has gaps.

For JSON values, the stored text is recovered by trying the encodings
CapFence writes and keeping the one whose hash matches; a record none of them
matches is refused. Records are written in batches, one store transaction
each (under the store's chain lock, so concurrent writers cannot interleave).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from capfence.audit.chain import GENESIS, HASHED_FIELDS, chain_mode, record_hash
from capfence.audit.sqlite import COLUMNS
from capfence.contracts import AuditStore, TransactionalStore
from capfence.errors import AuditError

BATCH = 5000
_HEX64 = re.compile(r"[0-9a-f]{64}")
_INSERT = f"INSERT INTO records ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
_HEAD = "SELECT seq, hash FROM records ORDER BY seq DESC LIMIT 1"


class ImportError_(AuditError):  # noqa: N801 - "ImportError" is a builtin
    """A record cannot be imported (it does not verify, or does not continue the target's chain)."""


@dataclass
class ImportReport:
    imported: int = 0
    skipped: int = 0
    """Records the target already held."""
    first_seq: int | None = None
    last_seq: int | None = None


def jsonl_records(path: str | Path) -> Iterator[dict[str, Any]]:
    """The records of a JSON Lines file (blank lines ignored). Raises :class:`ImportError_` on a malformed line."""
    with Path(path).open(encoding="utf-8") as lines:
        for lineno, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError as exc:
                raise ImportError_(f"{path}:{lineno}: not JSON ({exc})") from None
            if not isinstance(obj, dict):
                raise ImportError_(f"{path}:{lineno}: not a JSON object")
            yield obj


def _text_forms(value: object) -> list[object]:
    """The stored texts a JSON value may have been: CapFence's encodings, most likely first."""
    if value is None or isinstance(value, str):
        forms: list[object] = [value]
        if isinstance(value, str):
            forms.append(json.dumps(value, ensure_ascii=False))
        return forms
    return list(
        dict.fromkeys(
            [
                json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")),
                json.dumps(value, sort_keys=True),
                json.dumps(value),
                json.dumps(value, ensure_ascii=False),
                json.dumps(value, sort_keys=True, ensure_ascii=False),
            ]
        )
    )


def stored_row(obj: Mapping[str, Any], key: bytes | None) -> dict[str, object]:
    """The row ``obj`` was stored as, checked against its own hash. Raises :class:`ImportError_`."""
    seq, prev, want = obj.get("seq"), obj.get("prev_hash"), obj.get("hash")
    if type(seq) is not int or seq < 1:
        raise ImportError_(f"record without a valid seq: {str(dict(obj))[:120]}")
    if not (
        isinstance(prev, str)
        and (prev == GENESIS or _HEX64.fullmatch(prev))
        and isinstance(want, str)
        and _HEX64.fullmatch(want)
    ):
        raise ImportError_(
            f"record {seq} has no valid prev_hash/hash: only a full export (--all-records) keeps them"
        )
    base: dict[str, object] = {name: obj.get(name) for name in HASHED_FIELDS}
    for flag in ("truncated", "redacted"):
        base[flag] = 1 if base[flag] else 0
    outcomes = [obj.get("outcome")] + (
        [None] if obj.get("kind") == "decision" and obj.get("outcome") is not None else []
    )
    for payload in _text_forms(obj.get("payload")):
        for detail in _text_forms(obj.get("detail")):
            for outcome in outcomes:
                row = {**base, "payload": payload, "detail": detail, "outcome": outcome}
                if record_hash(prev, row, key) == want:
                    return {**row, "prev_hash": prev, "hash": want}
    hint = "" if key else " (if the log was written with CAPFENCE_AUDIT_KEY, set it)"
    raise ImportError_(
        f"record {seq} does not match its hash: it was modified, or the chain key differs{hint}"
    )


def verified(records: Iterable[Mapping[str, Any]], key: bytes | None) -> Iterator[dict[str, object]]:
    """Stored rows, each checked against its hash and linked to the one before it."""
    last: tuple[int, str] | None = None
    for obj in records:
        row = stored_row(obj, key)
        seq = int(row["seq"])  # type: ignore[call-overload]
        if last is not None and seq != last[0] + 1:
            what = (
                "a decision-only export? use 'capfence export --all-records'"
                if seq > last[0] + 1
                else "records out of order"
            )
            raise ImportError_(f"record {seq} follows record {last[0]}: the chain has a gap ({what})")
        if last is not None and row["prev_hash"] != last[1]:
            raise ImportError_(
                f"record {seq} does not link to record {last[0]}: records were removed, inserted or reordered"
            )
        last = (seq, str(row["hash"]))
        yield row


def import_records(
    store: AuditStore,
    records: Iterable[Mapping[str, Any]],
    *,
    batch: int = BATCH,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Append ``records`` to ``store`` keeping their chain fields. Raises :class:`AuditError`; never writes a record that does not verify.

    ``store`` needs transactions (:class:`~capfence.contracts.TransactionalStore`; both built-in
    stores have them); its key (``CAPFENCE_AUDIT_KEY``) is the one the records must verify with.
    """
    if not isinstance(store, TransactionalStore):
        raise AuditError(f"the audit store {store.location} does not support import")
    key = store.key
    rows = verified(records, key if chain_mode(key) == "hmac-sha256" else None)
    with store.transaction() as tx:
        head = tx.execute(_HEAD).fetchone()
    head_seq, head_hash = (int(head[0]), str(head[1])) if head else (0, GENESIS)
    report = ImportReport()
    pending: list[dict[str, object]] = []
    last: dict[str, object] | None = None
    for row in rows:
        seq = int(row["seq"])  # type: ignore[call-overload]
        if seq <= head_seq:
            if seq == head_seq and row["hash"] != head_hash:
                raise ImportError_(
                    f"the audit log's record {seq} differs from the file's: it holds another chain (use an empty log)"
                )
            report.skipped += 1
            last = row
            continue
        if not pending and report.imported == 0 and (seq != head_seq + 1 or row["prev_hash"] != head_hash):
            where = "the empty log" if head_seq == 0 else f"record {head_seq}, the log's last"
            raise ImportError_(
                f"record {seq} does not continue {where}: import into an empty log, or the file that continues it"
            )
        pending.append(row)
        if len(pending) >= batch:
            _write(store, pending, report, progress)
    if pending:
        _write(store, pending, report, progress)
    if report.imported == 0 and last is not None and int(last["seq"]) < head_seq:  # type: ignore[call-overload]
        _check_prefix(store, last)
    return report


def _check_prefix(store: Any, last: Mapping[str, object]) -> None:
    """The file ends inside the log: its last record must be the log's record with that seq."""
    with store.transaction() as tx:
        have = tx.execute("SELECT hash FROM records WHERE seq = ?", (last["seq"],)).fetchone()
    if have is None or have[0] != last["hash"]:
        raise ImportError_(
            f"the audit log's record {last['seq']} differs from the file's: it holds another chain"
        )


def _write(
    store: Any, pending: list[dict[str, object]], report: ImportReport, progress: Callable[[int], None] | None
) -> None:
    first = pending[0]
    with store.transaction() as tx:
        head = tx.execute(_HEAD).fetchone()
        head_seq, head_hash = (int(head[0]), str(head[1])) if head else (0, GENESIS)
        if first["seq"] != head_seq + 1 or first["prev_hash"] != head_hash:
            raise ImportError_(
                f"the audit log was appended to during the import (its last record is now {head_seq}); run the import again"
            )
        values = [[row.get(name) for name in COLUMNS] for row in pending]
        insert_rows = getattr(tx, "insert_rows", None)
        if insert_rows is not None:
            insert_rows(values)
        else:
            for value in values:
                tx.execute(_INSERT, value)
        imported = getattr(tx, "imported", None)
        if imported is not None:
            # SQLite: records keep their own ts, which may go back in time
            imported(int(first["seq"]))
    report.imported += len(pending)
    report.first_seq = report.first_seq or int(first["seq"])
    report.last_seq = int(pending[-1]["seq"])  # type: ignore[call-overload]
    pending.clear()
    if progress is not None:
        progress(report.imported)
