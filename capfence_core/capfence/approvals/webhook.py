"""``WebhookApprover``: tell people where they are (a chat bot, a ticketing system) that a call is held.

When a call is held, the approver POSTs one JSON notification per approval
request to a URL, signed with HMAC-SHA256 over ``"<timestamp>.<body>"``
(:mod:`capfence.approvals.signatures`: ``X-CapFence-Timestamp`` and
``X-CapFence-Signature: v1=<hex>``, the way Stripe and Slack sign). The body::

    {"type": "approval.requested", "request_id": "apr_...", "capability": "shell.execute", "tool": "bash",
     "agent_id": "ops-bot", "framework": "python", "arguments": {"command": "rm -rf build", "token": "[REDACTED]"},
     "arguments_redacted": true, "arguments_truncated": false, "action_digest": "<sha256 the approval is bound to>",
     "policy_digest": "...", "rule": "hold-rm", "created": "...", "expires": "...",
     "console_url": "https://console.example/approvals/apr_..."}

``arguments`` are the decision record's payload as the audit log stores it:
redacted by the policy's ``redact`` keys and truncated past
``max_payload_bytes`` (the flags say which), never the raw bound arguments.
``action_digest`` identifies exactly what will run; the console's approval
page shows the full bound arguments.

The approver never decides and never holds up a decision: :meth:`review`
queues the notification and returns at once; one background thread delivers
(bounded queue, bounded retries, a timeout per attempt) and logs failures.
Someone then approves or denies in ``capfence serve`` (the page or its signed
API) or with ``capfence approvals``; the agent's retry runs once approved.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from capfence.approvals.signatures import signed_headers

if TYPE_CHECKING:
    from capfence.approvals.requests import ApprovalRequest, Approvals

log = logging.getLogger("capfence.webhook")
QUEUE_SIZE = 1000
ATTEMPTS = 3


@dataclass(frozen=True)
class _Delivery:
    request: ApprovalRequest
    approvals: Approvals


class WebhookApprover:
    """POST a signed notification for each held call's approval request (``name = "webhook"``).

    ``url``: where to POST; ``secret``: the shared HMAC key; ``console_url``: the
    base URL of ``capfence serve`` for the link in the notification; ``timeout``:
    seconds per delivery attempt.
    """

    name = "webhook"

    def __init__(
        self, url: str, secret: str | bytes, *, console_url: str | None = None, timeout: float = 5.0
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"webhook URL must be http:// or https://, not {url!r}")
        if not secret:
            raise ValueError("a WebhookApprover needs a secret to sign its notifications with")
        self.url, self.timeout = url, timeout
        self.secret = secret.encode() if isinstance(secret, str) else secret
        self.console_url = console_url.rstrip("/") if console_url else None
        self.delivered = 0
        self.failed = 0
        self._queue: queue.Queue[_Delivery | None] = queue.Queue(QUEUE_SIZE)
        self._sent: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._pending = 0
        self._worker: threading.Thread | None = None

    def review(self, request: ApprovalRequest, approvals: Approvals) -> ApprovalRequest:
        """Queue a notification (once per request id) and return ``request`` unchanged: a human decides elsewhere."""
        if request.status != "pending" or not self._first(request.id):
            return request
        try:
            self._queue.put_nowait(_Delivery(request, approvals))
        except queue.Full:
            log.error("webhook queue full; approval request %s not notified", request.id)
            self._done()
            return request
        self._start()
        return request

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every queued notification was delivered or given up; False on timeout (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._pending:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._idle.wait(remaining)
        return True

    def _first(self, request_id: str) -> bool:
        with self._lock:
            if request_id in self._sent:
                return False
            self._sent[request_id] = None
            if len(self._sent) > 10 * QUEUE_SIZE:
                self._sent.popitem(last=False)
            self._pending += 1
            return True

    def _done(self) -> None:
        with self._idle:
            self._pending -= 1
            self._idle.notify_all()

    def _start(self) -> None:
        with self._lock:
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._run, name="capfence-webhook", daemon=True)
                self._worker.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            try:
                self._deliver(notification(item.request, item.approvals, self.console_url))
            except Exception:
                log.exception("webhook notification for %s failed", item.request.id)
                self.failed += 1
            finally:
                self._done()

    def _deliver(self, body: dict[str, Any]) -> None:
        # here, not at import: the plugin manager imports this module to register the approver
        import urllib.request

        data = json.dumps(body, ensure_ascii=False, sort_keys=True).encode()
        for attempt in range(1, ATTEMPTS + 1):
            headers = {
                "Content-Type": "application/json",
                "User-Agent": "capfence-webhook",
                **signed_headers(self.secret, data),
            }
            try:
                with urllib.request.urlopen(
                    urllib.request.Request(self.url, data, headers, method="POST"), timeout=self.timeout
                ) as resp:
                    resp.read(65536)
                self.delivered += 1
                return
            except Exception as exc:  # noqa: BLE001 - logged; the decision is not affected
                log.warning(
                    "webhook delivery of %s, attempt %d/%d: %s", body["request_id"], attempt, ATTEMPTS, exc
                )
            time.sleep(0.5 * 2 ** (attempt - 1) if attempt < ATTEMPTS else 0)
        self.failed += 1
        log.error("webhook notification for %s not delivered after %d attempts", body["request_id"], ATTEMPTS)


def notification(request: ApprovalRequest, approvals: Approvals, console_url: str | None) -> dict[str, Any]:
    """The JSON body for ``request``: its redacted arguments come from the decision record that filed it."""
    arguments, redacted, truncated = _stored_arguments(request, approvals)
    return {
        "type": "approval.requested",
        "request_id": request.id,
        "capability": request.capability,
        "tool": request.tool,
        "agent_id": request.agent_id,
        "framework": request.framework,
        "arguments": arguments,
        "arguments_redacted": redacted,
        "arguments_truncated": truncated,
        "action_digest": request.digest,
        "policy_digest": request.policy_digest,
        "rule": request.rule,
        "created": request.created,
        "expires": request.expires,
        "console_url": f"{console_url}/approvals/{request.id}" if console_url else None,
    }


def _stored_arguments(request: ApprovalRequest, approvals: Approvals) -> tuple[object, bool, bool]:
    """The decision record's payload (as redacted and truncated when it was written), parsed when it is JSON."""
    with approvals.store.transaction() as tx:
        row = tx.execute(
            "SELECT payload, redacted, truncated FROM records WHERE seq = ?", (request.decision_seq,)
        ).fetchone()
    if row is None:
        return None, False, False
    text, redacted, truncated = row[0], bool(row[1]), bool(row[2])
    try:
        return (json.loads(text) if text is not None else None), redacted, truncated
    except ValueError:
        return text, redacted, truncated
