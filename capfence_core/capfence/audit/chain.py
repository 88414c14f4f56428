"""The hash chain over audit records.

Each record's ``hash`` is computed over the previous record's hash and every
other field of the record (its sequence number included), canonically
encoded. Modifying, deleting or reordering a record breaks the chain.

Without a key the hash is plain SHA-256: anyone who can write the file can
also recompute the whole chain after editing it, and can cut records off the
end. With a key (``CAPFENCE_AUDIT_KEY``, kept away from the database) the
hash is HMAC-SHA256: a recomputed chain no longer verifies, and checkpoints
signed with the key (see :mod:`capfence.audit.checkpoint`) expose a truncated tail.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping

from capfence.audit.compactjson import compact_encoder

GENESIS = "0" * 64
KEY_ENV = "CAPFENCE_AUDIT_KEY"

HASHED_FIELDS = (
    "seq",
    "ts",
    "kind",
    "agent_id",
    "framework",
    "tool",
    "capability",
    "environment",
    "payload",
    "payload_sha256",
    "payload_bytes",
    "truncated",
    "redacted",
    "decision",
    "rule",
    "reason",
    "policy_digest",
    "ref",
    "outcome",
    "detail",
)


_ENCODE = compact_encoder(sort_keys=False)
"""Compact JSON, ``ensure_ascii=False``: this encoding is part of the chain format."""


def key_from_env() -> bytes | None:
    value = os.environ.get(KEY_ENV)
    return value.encode() if value else None


def chain_mode(key: bytes | None) -> str:
    return "hmac-sha256" if key else "sha256"


def record_hash(prev_hash: str, record: Mapping[str, object], key: bytes | None) -> str:
    """The hash of ``record`` chained to ``prev_hash``."""
    return values_hash(prev_hash, [record.get(name) for name in HASHED_FIELDS], key)


def values_hash(prev_hash: str, values: list[object], key: bytes | None) -> str:
    """:func:`record_hash` for the record's values already in :data:`HASHED_FIELDS` order."""
    body = _ENCODE([prev_hash, values])
    if key:
        return hmac.new(key, body.encode("utf-8"), hashlib.sha256).hexdigest()
    return hashlib.sha256(body.encode("utf-8")).hexdigest()
