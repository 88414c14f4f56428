"""Approval requests: create, decide, expire, consume.

A ``require_approval`` decision holds the call and files a request bound to a
digest of (tool, capability, canonical arguments, agent, environment, policy digest). The
request lives in the audit database, so it survives restarts, and every
transition is also an audit record in the hash chain. The chain is the source
of truth: a row of the ``approvals`` table is acted on only when the latest
chained record for it agrees with it (:mod:`capfence.audit.approval_events`);
any other row denies the call and cannot be decided.

Semantics, all enforced inside one write transaction per step:

* The same call (same digest) while a request is *pending* reuses it; no
  duplicate requests on retries or on a framework re-running a step.
* Once *approved*, the next identical call is allowed exactly once: the
  request becomes *consumed*. Any changed argument gives another digest, so a
  new request.
* A *denied* request denies every retry of the identical call.
* A pending or approved request past ``expires`` becomes *expired*; the call
  is denied (a timeout never approves). A later retry files a new request.
* Deciding is first-come: of concurrent approvers exactly one succeeds, the
  others get :class:`ApprovalStateError`.

A framework can run one call again (LangGraph resuming after an ``interrupt``,
a LlamaIndex workflow replaying the step that waited). For a call that carries
the framework's call id (``CallView.call_id``):

* deciding it again while its request is pending, denied or expired reuses
  the decision record already written for it instead of appending an
  identical one;
* if the request *this call* filed has expired, the re-run is denied ("expired
  without a decision") instead of filing a second request. A new call (another
  call id, or none) with the same arguments files a new request as usual.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any

from capfence.audit.approval_events import KIND, chained_problem, event_detail, shown_digest
from capfence.audit.payload import TRUNCATED_KEY
from capfence.audit.record import event_record, now, storable
from capfence.call.canonical import NotCanonical
from capfence.call.decision import INTERNAL_ERROR, Decision, Provenance
from capfence.call.view import CallView
from capfence.errors import CapFenceError

if TYPE_CHECKING:
    from capfence.contracts import StoreTransaction as Transaction
    from capfence.contracts import TransactionalStore

MAX_SHOWN_CHARS = 1 << 20
"""Arguments longer than this are stored with the request as a marked preview plus the full text's SHA-256."""
PREVIEW_CHARS = 4096
STATUSES = ("pending", "approved", "denied", "expired", "consumed")


class ApprovalStateError(CapFenceError):
    """The request does not exist or is not in a state that allows this transition."""


@dataclass(frozen=True)
class ApprovalRequest:
    id: str
    created: str
    expires: str
    agent_id: str | None
    framework: str | None
    tool: str | None
    capability: str
    payload: str
    digest: str
    policy_digest: str | None
    rule: str | None
    status: str
    decided_by: str | None = None
    decided_at: str | None = None
    comment: str | None = None
    consumed_at: str | None = None
    decision_seq: int | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> ApprovalRequest:
        return cls(**{f.name: row[f.name] for f in fields(cls)})


def call_digest(view: CallView, policy_digest: str | None) -> str:
    """The digest an approval is bound to: tool, capability, agent, environment, policy and the arguments' lossless encoding.

    (The environment is something a rule can test, and runtimes of several
    environments may share one audit store.) Raises
    :class:`~capfence.call.canonical.NotCanonical` for arguments that have no
    lossless encoding: such a call can never be approved.
    """
    identity = [view.tool, view.capability, view.args_digest, view.agent_id, policy_digest, view.environment]
    body = json.dumps(identity, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


def stored_arguments(view: CallView) -> str:
    """What ``approvals show`` displays: the arguments' canonical text, or a marked truncation with the full text's digest."""
    text = view.args_text
    if len(text) <= MAX_SHOWN_CHARS:
        return text
    marker = {"sha256": view.args_digest, "chars": len(text), "preview": text[:PREVIEW_CHARS]}
    return json.dumps({TRUNCATED_KEY: marker}, ensure_ascii=False)


def _by_approver(held: Decision, request: ApprovalRequest) -> Provenance:
    """Decided by a human on the request the rule of ``held`` filed: the rule's file and line, and who decided."""
    return (held.provenance or Provenance("rule")).after_approval("approval", request.decided_by)


def _timed_out(held: Decision) -> Provenance:
    """Decided by the expiry of the request the rule of ``held`` filed (a timeout never approves)."""
    return (held.provenance or Provenance("rule")).after_approval("approval_timeout")


def _later(seconds: float) -> str:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)).isoformat(timespec="microseconds")


class Approvals:
    """The approval queue in an audit store. ``runtime.approvals`` gives you one."""

    def __init__(self, store: TransactionalStore) -> None:
        self.store = store

    # --- used by the runtime ------------------------------------------------------
    def resolve(
        self, view: CallView, held: Decision, timeout: float, record: Callable[[Decision], dict[str, object]]
    ) -> Decision:
        """Turn a ``require_approval`` decision into the final one and audit it, atomically."""
        try:
            digest = call_digest(view, held.policy_digest)
        except NotCanonical as exc:
            refused = held.with_(
                action="deny", reason=f"{held.reason}; these arguments cannot be approved: {exc}"
            )
            return refused.with_(record_id=self.store.append(record(refused)))
        with self.store.transaction() as tx:
            self._expire(tx)
            decision, request, new = self._lookup(tx, digest, held)
            if new and view.call_id:
                expired = self._expired_for_call(tx, digest, view.call_id, held)
                decision, new = (expired, False) if expired is not None else (decision, new)
            consumes = decision.action == "allow" and request is not None
            again = bool(view.call_id) and not new and not consumes  # the same call decided again: one record
            seq = int(tx.append_decision_once(record(decision))) if again else tx.append(record(decision))
            if new:
                self._create(tx, view, decision, digest, timeout, seq)
            elif consumes and request is not None:
                self._apply(tx, request, ("approved",), "consumed", consumed_at=now())
        return decision.with_(record_id=seq)

    def _expired_for_call(
        self, tx: Transaction, digest: str, call_id: str, held: Decision
    ) -> Decision | None:
        """The deny for a re-run of a call whose own request expired (None if it filed none that expired)."""
        rows = tx.execute(
            "SELECT * FROM approvals WHERE digest = ? AND status = 'expired' ORDER BY created DESC", (digest,)
        ).fetchall()
        for row in rows:
            request = ApprovalRequest.from_row(row)
            filed = tx.execute("SELECT detail FROM records WHERE seq = ?", (request.decision_seq,)).fetchone()
            if filed is not None and filed[0] and json.loads(filed[0]).get("call_id") == call_id:
                reason = f"approval request {request.id} expired without a decision"
                return Decision(
                    "deny",
                    reason,
                    held.rule,
                    held.policy_digest,
                    approval_id=request.id,
                    provenance=_timed_out(held),
                )
        return None

    def _lookup(
        self, tx: Transaction, digest: str, held: Decision
    ) -> tuple[Decision, ApprovalRequest | None, bool]:
        """The final decision, the request it uses (if approved) and whether a new request must be filed."""
        for status in ("approved", "pending", "denied"):
            row = tx.execute(
                "SELECT * FROM approvals WHERE digest = ? AND status = ? ORDER BY created LIMIT 1",
                (digest, status),
            ).fetchone()
            if row is None:
                continue
            request = ApprovalRequest.from_row(row)
            problem = chained_problem(tx, row, self.store.key)
            # the table is only an index: a row the chain does not back is never honoured
            if problem is not None:
                reason = f"approval request {request.id} is not backed by the audit chain ({problem})"
                failed = Decision(
                    "deny",
                    reason,
                    held.rule,
                    held.policy_digest,
                    approval_id=request.id,
                    provenance=INTERNAL_ERROR,
                )
                return failed, None, False
            if status == "approved":
                reason = f"approved by {request.decided_by} (approval request {request.id}); {held.reason}"
                approver = _by_approver(held, request)
                return (
                    Decision(
                        "allow",
                        reason,
                        held.rule,
                        held.policy_digest,
                        approval_id=request.id,
                        provenance=approver,
                    ),
                    request,
                    False,
                )
            if status == "pending":
                return (
                    held.with_(approval_id=request.id, reason=f"{held.reason}; waiting for approval"),
                    None,
                    False,
                )
            reason = f"approval request {request.id} was denied by {request.decided_by}; retrying the same call is denied"
            denied = Decision(
                "deny",
                reason,
                held.rule,
                held.policy_digest,
                approval_id=request.id,
                provenance=_by_approver(held, request),
            )
            return denied, None, False
        return (
            held.with_(
                approval_id="apr_" + secrets.token_hex(8), reason=f"{held.reason}; waiting for approval"
            ),
            None,
            True,
        )

    def _create(
        self, tx: Transaction, view: CallView, held: Decision, digest: str, timeout: float, seq: int
    ) -> None:
        request_id, expires = str(held.approval_id), _later(timeout)
        payload = stored_arguments(view)
        shown = {
            "agent_id": view.agent_id,
            "framework": view.framework,
            "tool": view.tool,
            "capability": view.capability,
            "payload": payload,
            "policy_digest": held.policy_digest,
            "rule": held.rule,
        }
        tx.execute(
            "INSERT INTO approvals (id, created, expires, agent_id, framework, tool, capability, payload, digest,"
            " policy_digest, rule, status, decision_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?)",
            (
                request_id,
                now(),
                expires,
                storable(view.agent_id),
                storable(view.framework),
                storable(view.tool),
                storable(view.capability),
                payload,
                digest,
                held.policy_digest,
                held.rule,
                seq,
            ),
        )
        tx.append(
            {
                **event_record(
                    KIND,
                    f"approval request {request_id} created",
                    **event_detail(
                        request_id,
                        "pending",
                        None,
                        digest=digest,
                        expires=expires,
                        decided_by=None,
                        shown=shown_digest(shown),
                    ),
                ),
                "ref": seq,
                "agent_id": storable(view.agent_id),
                "tool": storable(view.tool),
                "capability": storable(view.capability),
                "rule": held.rule,
            }
        )

    def _expire(self, tx: Transaction) -> None:
        stamp = now()
        rows = tx.execute(
            "SELECT * FROM approvals WHERE status IN ('pending', 'approved') AND expires < ?", (stamp,)
        ).fetchall()
        for row in rows:
            # a row the chain does not back stays as it is, never honoured
            if chained_problem(tx, row, self.store.key) is None:
                self._apply(tx, ApprovalRequest.from_row(row), ("pending", "approved"), "expired")

    def _transition(
        self,
        tx: Transaction,
        request: ApprovalRequest,
        sources: tuple[str, ...],
        target: str,
        **changes: str | None,
    ) -> ApprovalRequest:
        """Change a request whose row the chain backs (else :class:`ApprovalStateError`)."""
        problem = chained_problem(tx, asdict(request), self.store.key)
        if problem is not None:
            raise ApprovalStateError(
                f"approval request {request.id} is not backed by the audit chain ({problem}); run capfence verify"
            )
        return self._apply(tx, request, sources, target, **changes)

    def _apply(
        self,
        tx: Transaction,
        request: ApprovalRequest,
        sources: tuple[str, ...],
        target: str,
        **changes: str | None,
    ) -> ApprovalRequest:
        """Move ``request`` from one of ``sources`` to ``target`` and chain a record of the new state."""
        sets = ", ".join(f"{name} = ?" for name in ("status", *changes))
        marks = ", ".join("?" * len(sources))
        cursor = tx.execute(
            f"UPDATE approvals SET {sets} WHERE id = ? AND status IN ({marks})",
            (target, *changes.values(), request.id, *sources),
        )
        if cursor.rowcount != 1:
            current = tx.execute("SELECT status FROM approvals WHERE id = ?", (request.id,)).fetchone()
            state = current[0] if current else "unknown"
            raise ApprovalStateError(
                f"approval request {request.id} is {state}; cannot change it to {target}"
            )
        decided_by = changes.pop("decided_by", request.decided_by)
        detail = event_detail(
            request.id,
            target,
            request.status,
            digest=request.digest,
            expires=request.expires,
            decided_by=decided_by,
            shown=shown_digest(asdict(request)),
            **changes,
        )
        tx.append(
            {
                **event_record(KIND, f"approval request {request.id} {target}", **detail),
                "ref": request.decision_seq,
                "agent_id": request.agent_id,
                "tool": request.tool,
                "capability": request.capability,
                "rule": request.rule,
            }
        )
        return self._get(tx, request.id)

    @staticmethod
    def _get(tx: Transaction, request_id: str) -> ApprovalRequest:
        row = tx.execute("SELECT * FROM approvals WHERE id = ?", (request_id,)).fetchone()
        if row is None:
            raise ApprovalStateError(f"no approval request {request_id!r}")
        return ApprovalRequest.from_row(row)

    # --- used by humans (CLI, Python API, approver plugins) ----------------------------
    def approve(self, request_id: str, *, by: str, comment: str | None = None) -> ApprovalRequest:
        """Approve a pending request; the identical call may then run once."""
        return self._decide(request_id, "approved", by, comment)

    def deny(self, request_id: str, *, by: str, comment: str | None = None) -> ApprovalRequest:
        """Deny a pending request; the identical call is denied from now on."""
        return self._decide(request_id, "denied", by, comment)

    def _decide(self, request_id: str, target: str, by: str, comment: str | None) -> ApprovalRequest:
        if not by or not by.strip():
            raise ApprovalStateError("an approval decision needs the approver's identity")
        with self.store.transaction() as tx:
            self._expire(tx)
            request = self._get(tx, request_id)
            return self._transition(
                tx, request, ("pending",), target, decided_by=by.strip(), decided_at=now(), comment=comment
            )

    def get(self, request_id: str) -> ApprovalRequest:
        with self.store.transaction() as tx:
            self._expire(tx)
            return self._get(tx, request_id)

    def environment(self, request: ApprovalRequest) -> str | None:
        """The environment of the held call (bound by the request's digest), from the decision record that filed it."""
        with self.store.transaction() as tx:
            found = tx.execute(
                "SELECT environment FROM records WHERE seq = ?", (request.decision_seq,)
            ).fetchone()
        return found[0] if found else None

    def list(self, status: str | None = None) -> list[ApprovalRequest]:
        if status is not None and status not in STATUSES:
            raise ApprovalStateError(f"unknown status {status!r}; one of {', '.join(STATUSES)}")
        with self.store.transaction() as tx:
            self._expire(tx)
            sql = "SELECT * FROM approvals"
            params: tuple[str, ...] = ()
            if status:
                sql, params = sql + " WHERE status = ?", (status,)
            return [
                ApprovalRequest.from_row(r) for r in tx.execute(sql + " ORDER BY created", params).fetchall()
            ]

    def wait(self, request_id: str, timeout: float) -> ApprovalRequest:
        """Block until the request leaves ``pending`` or ``timeout`` seconds pass (sleeping, not spinning)."""
        deadline = time.monotonic() + timeout
        delay = 0.05
        while True:
            request = self.get(request_id)
            remaining = deadline - time.monotonic()
            if request.status != "pending" or remaining <= 0:
                return request
            time.sleep(min(delay, remaining))
            delay = min(delay * 2, 1.0)
