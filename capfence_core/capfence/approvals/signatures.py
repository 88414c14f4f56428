"""HMAC-SHA256 request signatures, the way well-known webhook senders sign (Stripe, Slack).

The signed text is ``"<timestamp>.<body>"``: the Unix time in whole seconds,
a dot, and the raw request body bytes. Two headers carry it:

* ``X-CapFence-Timestamp: 1767225600``
* ``X-CapFence-Signature: v1=<hex HMAC-SHA256 of the signed text>``

A receiver recomputes the HMAC with the shared secret, compares it in constant
time, and rejects a timestamp outside its tolerance (default five minutes);
that bounds how long a captured request could be replayed. A receiver that must
also refuse a replay inside the window keeps the nonces (or signatures) it has
seen for that long: :class:`NonceCache`.

Used by :class:`capfence.approvals.webhook.WebhookApprover` (outgoing notifications) and
by ``capfence serve``'s approval API (incoming signed decisions).
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections import OrderedDict

TIMESTAMP_HEADER = "X-CapFence-Timestamp"
SIGNATURE_HEADER = "X-CapFence-Signature"
VERSION = "v1"
TOLERANCE = 300
"""Seconds a signed timestamp may differ from the receiver's clock."""


class SignatureError(ValueError):
    """A signature is missing, malformed, wrong, or its timestamp is outside the tolerance."""


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """The ``X-CapFence-Signature`` value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret, str(int(timestamp)).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"{VERSION}={mac}"


def signed_headers(secret: bytes, body: bytes, now: float | None = None) -> dict[str, str]:
    """Both headers for ``body``, stamped ``now`` (default: the current time)."""
    stamp = int(time.time() if now is None else now)
    return {TIMESTAMP_HEADER: str(stamp), SIGNATURE_HEADER: sign(secret, stamp, body)}


def verify(
    secret: bytes,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    *,
    tolerance: int = TOLERANCE,
    now: float | None = None,
) -> int:
    """Check a signed request; return its timestamp. Raises :class:`SignatureError`.

    ``signature`` may list several comma-separated ``v1=`` values (a sender rotating its
    secret signs with both); one match is enough.
    """
    if not timestamp or not signature:
        raise SignatureError(f"missing {TIMESTAMP_HEADER} or {SIGNATURE_HEADER} header")
    try:
        stamp = int(timestamp)
    except ValueError:
        raise SignatureError(f"{TIMESTAMP_HEADER} must be Unix seconds") from None
    current = time.time() if now is None else now
    if abs(current - stamp) > tolerance:
        raise SignatureError(f"timestamp outside the {tolerance} s tolerance (check the sender's clock)")
    expected = sign(secret, stamp, body)
    offered = [part.strip() for part in signature.split(",")]
    if not any(hmac.compare_digest(expected, part) for part in offered):
        raise SignatureError("signature does not match")
    return stamp


class NonceCache:
    """Nonces seen within the last ``ttl`` seconds, at most ``size`` of them: :meth:`claim` is true once per nonce.

    With ``ttl`` at least twice the signature tolerance, a signed request is
    accepted once: later copies are either within the window (nonce seen) or
    outside it (timestamp refused). A full cache refuses new nonces rather
    than forget one that is still inside the window.
    """

    def __init__(self, ttl: float = 2 * TOLERANCE, size: int = 100_000) -> None:
        self.ttl, self.size = ttl, size
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def claim(self, nonce: str, now: float | None = None) -> bool:
        """Record ``nonce``; False if it was seen within ``ttl`` (a replay) or the cache is full."""
        current = time.monotonic() if now is None else now
        with self._lock:
            while self._seen and next(iter(self._seen.values())) < current - self.ttl:
                self._seen.popitem(last=False)
            if nonce in self._seen or len(self._seen) >= self.size:
                return False
            self._seen[nonce] = current
            return True
