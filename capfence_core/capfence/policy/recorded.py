"""The policies decisions were made under, kept in the audit store by digest.

The runtime records the canonical text of each policy it loads (:attr:`~capfence.policy.compiled.Policy.canonical`) in
the store's ``policies`` table (:func:`remember`). Every decision record carries its policy's digest, the SHA-256 of
that text, so a text read back is checked against the digest it is filed under (:func:`policy_for`): an edited text
is refused, not trusted. ``capfence suggest`` uses this to keep the rules of the policy in force.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from capfence.policy.compiled import Policy

if TYPE_CHECKING:
    from collections.abc import Mapping

    from capfence.contracts import TransactionalStore
    from capfence.policy.spec import ConditionType

log = logging.getLogger("capfence")
REMEMBER = "INSERT INTO policies (digest, path, body) VALUES (?, ?, ?) ON CONFLICT (digest) DO NOTHING"
SECTIONS = ("deny", "require_approval", "warn", "allow")


def remember(store: TransactionalStore, policy: Policy) -> None:
    """File ``policy``'s text under its digest in ``store`` (once); a failure is logged, never raised."""
    if not policy.canonical:
        return
    try:
        with store.transaction() as tx:
            tx.execute(REMEMBER, (policy.digest, str(policy.path), policy.canonical))
    except Exception as exc:  # noqa: BLE001 - the policy is recorded for later tools; calls do not depend on it
        log.warning("could not record the policy text of %s in the audit log: %s", policy.digest[:12], exc)


def copy_policies(store: TransactionalStore, rows: list[tuple[str, str | None, str]]) -> int:
    """File ``rows`` (digest, path, text) read from another audit log in ``store``; a text that does not hash to its
    digest is skipped. Returns how many were filed (or already there)."""
    good = [
        (digest, path, body)
        for digest, path, body in rows
        if hashlib.sha256(body.encode()).hexdigest() == digest
    ]
    if good:
        with store.transaction() as tx:
            for row in good:
                tx.execute(REMEMBER, row)
    return len(good)


class MemoryFile:
    """A single in-memory policy file (:class:`~capfence.policy.source.PolicyFiles`)."""

    def __init__(self, path: Path, text: str) -> None:
        self.path, self.text = path, text

    def is_file(self, path: Path) -> bool:
        return path == self.path

    def read_bytes(self, path: Path) -> bytes:
        return self.text.encode()


def policy_for(digest: str, body: str, conditions: Mapping[str, ConditionType]) -> Policy:
    """The policy ``body`` (the recorded text of ``digest``) describes, as one flattened file; raises ``ValueError``.

    ``conditions``: the condition types to compile it with (a plugin registry's ``conditions``).

    Its files' rules are concatenated section by section in load order, as the loader merges them.
    """
    if hashlib.sha256(body.encode()).hexdigest() != digest:
        raise ValueError(f"the recorded text of policy {digest[:12]} does not match its digest (edited?)")
    files = json.loads(body)
    merged: dict[str, Any] = {
        section: [rule for data in files if isinstance(data, dict) for rule in data.get(section) or []]
        for section in SECTIONS
    }
    default = next(
        (data["default"] for data in files if isinstance(data, dict) and "default" in data), "deny"
    )
    merged["default"] = default
    from capfence.policy.loader import load_policy

    path = Path(f"/recorded-policy-{digest[:12]}.yaml")
    return load_policy(path, conditions, files=MemoryFile(path, json.dumps(merged)))
