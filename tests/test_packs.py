"""The filesystem, http and payments packs decide what their READMEs promise."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from capfence.policy.engine import evaluate
from capfence.policy.loader import load_policy
from capfence.policy.view import CallView

PACKS = Path(__file__).resolve().parent.parent / "policies" / "packs"
HOME = os.path.expanduser("~")


def decide(pack: str, capability: str, payload: dict[str, object]) -> tuple[str, str | None]:
    decision = evaluate(load_policy(PACKS / pack), CallView(capability, payload, "agent"))
    return decision.action, decision.rule


@pytest.mark.parametrize(
    ("capability", "payload", "expected"),
    [
        # secrets: never, however the path is spelled
        ("filesystem.read", {"path": "~/.ssh/id_ed25519"}, ("deny", "fs-secrets")),
        ("filesystem.read", {"path": f"{HOME}/.aws/credentials"}, ("deny", "fs-secrets")),
        ("filesystem.read", {"path": "/srv/app/../../etc/shadow"}, ("deny", "fs-secrets")),
        ("filesystem.read", {"path": "/srv/app//config/.env"}, ("deny", "fs-secret-files")),
        ("filesystem.read", {"file_path": "certs/server.pem"}, ("deny", "fs-secret-files")),
        # system directories are read-only
        ("filesystem.write", {"path": "/etc/hosts"}, ("deny", "fs-system-write")),
        ("filesystem.write", {"path": "/tmp/../usr/bin/ls"}, ("deny", "fs-system-write")),
        ("filesystem.delete", {"path": "/var/log/syslog"}, ("deny", "fs-system-delete")),
        ("filesystem.read", {"path": "/etc/hosts"}, ("allow", "fs-read")),
        # deletion needs a human; writes in the workspace are fine
        ("filesystem.delete", {"path": "/srv/app/build/out.txt"}, ("require_approval", "fs-delete")),
        ("filesystem.write", {"path": "/srv/app/notes.md"}, ("allow", "fs-write-workspace")),
        # one forbidden path among allowed ones is not allowed
        ("filesystem.write", {"paths": ["/srv/app/a.txt", "/var/spool/x"]}, ("deny", None)),
        ("filesystem.write", {"content": "no path at all"}, ("deny", None)),
    ],
)
def test_filesystem_pack(capability, payload, expected):
    assert decide("filesystem.yaml", capability, payload) == expected


@pytest.mark.parametrize(
    ("capability", "payload", "expected"),
    [
        ("http.get", {"url": "https://api.github.com/repos/x/y"}, ("allow", "http-reads")),
        ("http.get", {"url": "http://169.254.169.254/latest/meta-data/"}, ("deny", "http-internal")),
        ("http.get", {"url": "https://allowed.example.com@127.0.0.1/"}, ("deny", "http-internal")),
        ("http.get", {"url": "https://0x7f.1/admin"}, ("deny", "http-internal")),
        ("http.get", {"url": "https://metadata.google.internal/"}, ("deny", "http-internal")),
        ("http.get", {"url": "http://example.com/"}, ("deny", "http-plaintext")),
        ("http.get", {"url": "https://db.example.com:5432/"}, ("deny", "http-odd-ports")),
        ("http.post", {"url": "https://api.example.com/v1/items", "body": {"a": 1}}, ("require_approval", "http-writes")),
        ("http.patch", {"url": "https://api.example.com/v1/items/1"}, ("require_approval", "http-writes")),
        ("http.delete", {"url": "https://api.example.com/v1/items/1"}, ("require_approval", "http-deletes")),
        ("http.get", {"url": "https://[::ffff:10.0.0.1]/"}, ("deny", "http-internal")),
        ("http.get", {"query": "no url"}, ("deny", None)),
    ],
)
def test_http_pack(capability, payload, expected):
    assert decide("http.yaml", capability, payload) == expected


@pytest.mark.parametrize(
    ("capability", "payload", "expected"),
    [
        ("payments.refund", {"amount": 40}, ("warn", "refund-observe")),
        ("payments.refund", {"amount": "99.99"}, ("warn", "refund-observe")),
        ("payments.refund", {"amount": 100.01}, ("require_approval", "refund-over-100")),
        ("payments.refund", {"amount": 20000}, ("deny", "pay-over-hard-limit")),
        ("payments.refund", {"amount": -5}, ("deny", "pay-negative")),
        ("payments.refund", {"amount": "lots"}, ("deny", "pay-over-hard-limit")),  # not a number: fail-closed
        ("payments.refund", {"order": "o-1"}, ("deny", None)),  # no amount: not allowed
        ("payments.charge", {"amount": 20}, ("allow", "charge-small")),
        ("payments.charge", {"amount": 501}, ("require_approval", "charge-over-500")),
        ("payments.payout", {"amount": 1}, ("require_approval", "payouts")),
        ("payments.read", {"id": "ch_1"}, ("allow", "read")),
    ],
)
def test_payments_pack(capability, payload, expected):
    assert decide("payments.yaml", capability, payload) == expected


def test_payments_pack_redacts_card_data():
    policy = load_policy(PACKS / "payments.yaml")
    assert {"card_number", "cvc", "iban"} <= policy.redact
    assert policy.rule("refund-over-100") is not None and policy.rule("refund-over-100").approval_timeout == 900  # type: ignore[union-attr]


@pytest.mark.parametrize("depth", [63, 64, 65, 200])
def test_nesting_cannot_hide_a_url_in_text(depth):
    # URLs in free text used to be looked for only down to the payload walker's depth bound (64)
    payload: dict[str, object] = {"note": "then fetch http://169.254.169.254/latest/meta-data/"}
    for _ in range(depth):
        payload = {"items": [payload]}
    assert decide("http.yaml", "http.get", payload) == ("deny", "http-internal")
