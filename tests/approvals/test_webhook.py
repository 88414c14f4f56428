"""WebhookApprover: a signed notification per held call, delivered in the background, never changing a decision."""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from capfence import ActionRuntime, ApprovalRequired, CapFenceTool
from capfence.approvals.signatures import verify
from capfence.approvals.webhook import WebhookApprover

SECRET = "webhook-secret"
POLICY = "redact: [token]\nrequire_approval:\n  - id: hold-deploy\n    capability: deploy.*\n"


@contextmanager
def receiver(
    respond: Callable[[BaseHTTPRequestHandler], int],
) -> Iterator[tuple[str, queue.Queue[tuple[dict[str, str], bytes]]]]:
    """A local HTTP endpoint; every POST is put on the queue (headers, body) and answered with ``respond(handler)``."""
    got: queue.Queue[tuple[dict[str, str], bytes]] = queue.Queue()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            got.put(({k.lower(): v for k, v in self.headers.items()}, body))
            status = respond(self)
            self.send_response(status)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", got
    finally:
        server.shutdown()
        server.server_close()


def _hold(tmp_path: Path, approver: WebhookApprover) -> tuple[ActionRuntime, str]:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    runtime = ActionRuntime.from_policy(policy, audit_log=tmp_path / "audit.db", approver=approver)
    tool = CapFenceTool(
        tool=lambda version, token: "deployed",
        agent_id="release-bot",
        capability="deploy.production",
        gate=runtime,
        name="deploy",
    )
    with pytest.raises(ApprovalRequired) as info:
        tool(version="1.4.2", token="s3cret")
    return runtime, str(info.value.request_id)


def test_a_held_call_posts_one_signed_redacted_notification(tmp_path):
    with receiver(lambda handler: 200) as (url, got):
        approver = WebhookApprover(url, SECRET, console_url="https://console.example/")
        runtime, request_id = _hold(tmp_path, approver)
        headers, body = got.get(timeout=30)
        assert approver.flush(30)
        request = runtime.approvals.get(request_id)
        runtime.close()
    verify(SECRET.encode(), headers["x-capfence-timestamp"], headers["x-capfence-signature"], body)
    note = json.loads(body)
    assert note["type"] == "approval.requested" and note["request_id"] == request_id
    expected = ("deploy.production", "deploy", "release-bot", "hold-deploy")
    assert (note["capability"], note["tool"], note["agent_id"], note["rule"]) == expected
    assert (
        note["arguments"] == {"version": "1.4.2", "token": "***REDACTED***"}
        and note["arguments_redacted"] is True
    )
    assert note["action_digest"] == request.digest and note["policy_digest"] == request.policy_digest
    assert note["expires"] == request.expires
    assert note["console_url"] == f"https://console.example/approvals/{request_id}"
    assert "s3cret" not in body.decode()
    assert got.empty() and approver.delivered == 1


def test_a_slow_endpoint_does_not_hold_up_the_decision(tmp_path):
    release = threading.Event()

    def stall(handler: BaseHTTPRequestHandler) -> int:
        release.wait(60)
        return 200

    with receiver(stall) as (url, got):
        approver = WebhookApprover(url, SECRET, timeout=60)
        runtime, request_id = _hold(tmp_path, approver)  # returned while the endpoint is still stalling
        got.get(timeout=30)
        assert not release.is_set() and runtime.approvals.get(request_id).status == "pending"
        release.set()
        assert approver.flush(60)
        runtime.close()


def test_a_failing_endpoint_is_logged_and_changes_nothing(tmp_path, caplog):
    with receiver(lambda handler: 500) as (url, got):
        approver = WebhookApprover(url, SECRET)
        runtime, request_id = _hold(tmp_path, approver)
        assert approver.flush(60)
        assert got.qsize() == 3  # bounded retries
        assert runtime.approvals.get(request_id).status == "pending"
        runtime.close()
    assert approver.failed == 1 and "not delivered" in caplog.text


def test_retries_of_the_same_held_call_notify_once(tmp_path):
    with receiver(lambda handler: 200) as (url, got):
        approver = WebhookApprover(url, SECRET)
        runtime, request_id = _hold(tmp_path, approver)
        tool = CapFenceTool(
            tool=lambda version, token: "deployed",
            agent_id="release-bot",
            capability="deploy.production",
            gate=runtime,
            name="deploy",
        )
        with pytest.raises(ApprovalRequired) as again:
            tool(version="1.4.2", token="s3cret")
        assert str(again.value.request_id) == request_id
        assert approver.flush(30)
        runtime.close()
    assert got.qsize() == 1


@pytest.mark.parametrize(("url", "secret"), [("ftp://x", "s"), ("http://x", "")])
def test_bad_configuration_is_refused(url, secret):
    with pytest.raises(ValueError):
        WebhookApprover(url, secret)
