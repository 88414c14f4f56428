"""Signed checkpoints: the head of the chain, recorded somewhere the database's writers cannot reach.

A hash chain shows that no record was changed *relative to the others*, but
whoever can write the database can also delete its newest records (the
chain that remains is intact) or, for an unkeyed chain, edit a record and
recompute every hash after it. A checkpoint pins the head: ``(seq, hash)``
at some moment, HMAC-SHA256-signed with the audit key, appended to a file
kept apart (another host, write-once storage, a CI artifact). ``capfence
verify --checkpoint FILE`` then also requires that the log still reaches
that ``seq`` and that the record there still has that ``hash``.

The file is JSON Lines, one checkpoint per line, so a cron job can keep
appending (``capfence checkpoint -o /secure/audit.ckpt`` every few minutes)
and each line is checked. Without a key a checkpoint is written unsigned:
still useful on storage the attacker cannot modify, but forgeable elsewhere.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from capfence.audit.query import utc_iso
from capfence.audit.reader import AuditReader
from capfence.errors import AuditError

FORMAT = "capfence-checkpoint/1"


@dataclass(frozen=True)
class Checkpoint:
    """The head of one audit log at one moment."""

    audit_log: str
    seq: int
    hash: str
    chain: str
    created: str
    signature: str | None = None
    format: str = FORMAT

    def body(self) -> bytes:
        """What the signature covers: every field but the signature, canonically encoded."""
        fields = {k: v for k, v in asdict(self).items() if k != "signature"}
        return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()

    def signed(self, key: bytes) -> Checkpoint:
        return replace(
            self, signature="hmac-sha256:" + hmac.new(key, self.body(), hashlib.sha256).hexdigest()
        )

    def signature_valid(self, key: bytes) -> bool:
        expected = self.signed(key).signature or ""
        return self.signature is not None and hmac.compare_digest(self.signature, expected)


def take(reader: AuditReader, key: bytes | None, now: str | None = None) -> Checkpoint:
    """A checkpoint of ``reader``'s current head (signed when ``key`` is given). Raises on an empty log."""
    head = reader.head()
    if head is None:
        raise AuditError(f"audit log {reader.location} is empty: nothing to checkpoint")
    point = Checkpoint(_absolute(reader.location), head[0], head[1], reader.chain_mode(), now or _now())
    return point.signed(key) if key else point


def _absolute(location: str) -> str:
    return location if "://" in location else str(Path(location).absolute())


def _now() -> str:
    import datetime as dt

    return utc_iso(dt.datetime.now(dt.UTC))


def append(path: str | os.PathLike[str], point: Checkpoint) -> None:
    """Append ``point`` as one line to ``path`` (created with mode 0600), flushed to disk."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as out:
        out.write(json.dumps(asdict(point), sort_keys=True) + "\n")
        out.flush()
        os.fsync(out.fileno())


def load(path: str | os.PathLike[str]) -> list[tuple[int, Checkpoint]]:
    """Every checkpoint in ``path`` with its line number. Raises :class:`AuditError` on a malformed line."""
    out: list[tuple[int, Checkpoint]] = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise AuditError(f"cannot read checkpoint file {path}: {exc.strerror or exc}") from exc
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            point = Checkpoint(**data)
            if point.format != FORMAT or not isinstance(point.seq, int) or not isinstance(point.hash, str):
                raise ValueError("not a CapFence checkpoint")
        except (ValueError, TypeError) as exc:
            raise AuditError(f"{path}:{number}: not a valid checkpoint ({exc})") from exc
        out.append((number, point))
    if not out:
        raise AuditError(f"checkpoint file {path} has no checkpoints")
    return out
