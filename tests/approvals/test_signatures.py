"""HMAC-SHA256 signatures over "timestamp.body" (webhook notifications and the console's approval API)."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from capfence.approvals.signatures import NonceCache, SignatureError, sign, signed_headers, verify

SECRET = b"shared-secret"


def test_the_signature_is_hmac_sha256_over_timestamp_dot_body():
    body = b'{"request_id":"apr_1"}'
    expected = hmac.new(SECRET, b"1767225600." + body, hashlib.sha256).hexdigest()
    assert sign(SECRET, 1767225600, body) == f"v1={expected}"


def test_verify_accepts_a_fresh_signature_and_a_rotated_list():
    body = b"{}"
    headers = signed_headers(SECRET, body, now=1000)
    stamp, signature = headers["X-CapFence-Timestamp"], headers["X-CapFence-Signature"]
    assert verify(SECRET, stamp, signature, body, now=1100) == 1000
    assert verify(SECRET, stamp, f"v1=00ff, {signature}", body, now=1100) == 1000


@pytest.mark.parametrize(
    ("timestamp", "signature", "body", "now", "message"),
    [
        (None, "v1=00", b"{}", 1000, "missing"),
        ("1000", None, b"{}", 1000, "missing"),
        ("soon", "v1=00", b"{}", 1000, "Unix seconds"),
        ("1000", sign(SECRET, 1000, b"{}"), b"{}", 1000 + 301, "tolerance"),  # replayed later
        ("1000", sign(SECRET, 1000, b"{}"), b"{}", 1000 - 301, "tolerance"),  # from the future
        ("1000", sign(SECRET, 1000, b"{}"), b"{ }", 1000, "does not match"),  # body changed
        ("1001", sign(SECRET, 1000, b"{}"), b"{}", 1000, "does not match"),  # timestamp changed
        ("1000", sign(b"other", 1000, b"{}"), b"{}", 1000, "does not match"),  # another secret
    ],
)
def test_verify_refuses(timestamp, signature, body, now, message):
    with pytest.raises(SignatureError, match=message):
        verify(SECRET, timestamp, signature, body, now=now)


def test_nonce_cache_claims_once_within_its_ttl_and_stays_bounded():
    cache = NonceCache(ttl=10, size=2)
    assert cache.claim("a", now=0) and not cache.claim("a", now=5)
    # full: refuse rather than forget one in the window
    assert cache.claim("b", now=6) and not cache.claim("c", now=7)
    assert cache.claim("c", now=10.5) and cache.claim("a", now=16.5)  # "a" aged out
