"""Approving and denying from the console and its API: who is recorded, first decision wins, replays refused."""

from __future__ import annotations

import json
import multiprocessing
import secrets
import threading
import time
from typing import Any

import pytest

from tests.web.web_support import TOKEN, approval_events, csrf_of, live_server, require_web, sign_in

require_web()

from capfence import ActionRuntime  # noqa: E402
from capfence.approvals.signatures import signed_headers  # noqa: E402
from capfence.web.app import create_app  # noqa: E402
from capfence.web.auth import CLIENT_HEADER  # noqa: E402
from capfence.web.console import Settings  # noqa: E402

BOT_SECRET = b"bot-secret-0123456789abcdef"


def _approval_records(path):
    return approval_events(path)


def test_approve_from_the_page_records_the_session_user(make_client, audit_log):
    path, made = audit_log
    request_id = made["held"].approval_id
    client = sign_in(make_client())
    csrf = csrf_of(client.get(f"/approvals/{request_id}").text)
    data = {
        "csrf": csrf,
        "verdict": "approve",
        "comment": "ticket OPS-7",
        "decided_by": "mallory",
        "by": "mallory",
    }
    response = client.post(f"/approvals/{request_id}/decide", data=data, follow_redirects=False)
    assert response.status_code == 303
    page = client.get(response.headers["location"]).text
    assert "Recorded: approved by console:alice" in page
    last = _approval_records(path)[-1]
    assert (last["id"], last["status"], last["decided_by"], last["comment"]) == (
        request_id,
        "approved",
        "console:alice",
        "ticket OPS-7",
    )
    assert "mallory" not in json.dumps(_approval_records(path))


def test_deny_then_the_retry_is_denied(make_client, audit_log, policy_dir):
    path, made = audit_log
    request_id = made["held"].approval_id
    client = sign_in(make_client())
    csrf = csrf_of(client.get(f"/approvals/{request_id}").text)
    client.post(
        f"/approvals/{request_id}/decide", data={"csrf": csrf, "verdict": "deny", "comment": "freeze"}
    )
    with ActionRuntime.from_policy(policy_dir / "policy.yaml", audit_log=path) as runtime:
        retry = runtime.evaluate(
            "deploy.production", {"version": "1.4.2"}, agent_id="release-bot", tool="deploy"
        )
    assert retry.action == "deny" and "denied by console:alice" in retry.reason


def test_deciding_twice_the_second_is_told(make_client, audit_log):
    request_id = audit_log[1]["held"].approval_id
    client = sign_in(make_client())
    csrf = csrf_of(client.get(f"/approvals/{request_id}").text)
    client.post(f"/approvals/{request_id}/decide", data={"csrf": csrf, "verdict": "approve"})
    response = client.post(f"/approvals/{request_id}/decide", data={"csrf": csrf, "verdict": "deny"})
    assert response.status_code == 409 and "is approved" in response.text


def _session_post(base: str, request_id: str, verdict: str, barrier: threading.Barrier) -> int:
    """Sign in and open the request page, wait for the others, then post the decision (303: recorded, 409: too late)."""
    import httpx2 as httpx

    with httpx.Client(base_url=base, timeout=60) as client:
        page = client.get("/login")
        client.post("/login", data={"csrf": csrf_of(page.text), "token": TOKEN})
        csrf = csrf_of(client.get(f"/approvals/{request_id}").text)
        barrier.wait()
        return client.post(
            f"/approvals/{request_id}/decide", data={"csrf": csrf, "verdict": verdict}
        ).status_code


def _api_post(base: str, request_id: str, verdict: str, barrier: Any) -> int:
    import httpx2 as httpx

    body = json.dumps({"request_id": request_id, "verdict": verdict, "nonce": secrets.token_hex(16)}).encode()
    headers = {**signed_headers(BOT_SECRET, body), CLIENT_HEADER: "bot", "Content-Type": "application/json"}
    with httpx.Client(timeout=60) as client:
        client.get(f"{base}/login")  # connected and warm
        barrier.wait(60)  # line the processes up, so their requests race
        return client.post(f"{base}/api/v1/approvals", content=body, headers=headers).status_code


def _server_settings(path, policy_dir):
    return Settings(
        audit_log=path, users={"alice": TOKEN}, policy_dir=policy_dir, api_clients={"bot": BOT_SECRET}
    )


def test_concurrent_approvals_from_threads_exactly_one_wins(audit_log, policy_dir):
    path, made = audit_log
    request_id = made["held"].approval_id
    app = create_app(_server_settings(path, policy_dir), warm_up=False)
    with live_server(app) as base:
        barrier = threading.Barrier(6)
        codes: list[int] = []

        def decide(verdict: str) -> None:
            codes.append(_session_post(base, request_id, verdict, barrier))

        threads = [threading.Thread(target=decide, args=("approve" if n % 2 else "deny",)) for n in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    assert sorted(codes) == [303, 409, 409, 409, 409, 409], codes
    decided = [r for r in _approval_records(path) if r["status"] in ("approved", "denied")]
    assert len(decided) == 1


def test_concurrent_api_calls_from_processes_exactly_one_wins(audit_log, policy_dir):
    path, made = audit_log
    request_id = made["held"].approval_id
    app = create_app(_server_settings(path, policy_dir), warm_up=False)
    with live_server(app) as base:
        context = multiprocessing.get_context("spawn")
        with context.Manager() as manager, context.Pool(4) as pool:
            barrier = manager.Barrier(4)
            codes = pool.starmap(
                _api_post, [(base, request_id, "approve" if n % 2 else "deny", barrier) for n in range(4)]
            )
    assert sorted(codes) == [200, 409, 409, 409], codes
    assert len([r for r in _approval_records(path) if r["status"] in ("approved", "denied")]) == 1


# --- the API ------------------------------------------------------------------------------------


@pytest.fixture
def api(make_client):
    return make_client(api_clients={"slack": BOT_SECRET, "jira": b"jira-secret-0123456789abc"})


def _signed(
    body: dict, secret: bytes = BOT_SECRET, client: str = "slack", now: float | None = None
) -> tuple[bytes, dict]:
    data = json.dumps(body).encode()
    return data, {
        **signed_headers(secret, data, now),
        CLIENT_HEADER: client,
        "Content-Type": "application/json",
    }


def test_api_signed_request_records_the_client_and_its_approver(api, audit_log):
    path, made = audit_log
    request_id = made["held"].approval_id
    data, headers = _signed(
        {
            "request_id": request_id,
            "verdict": "approve",
            "nonce": "n" * 20,
            "approver": "bob",
            "comment": "in #ops",
        }
    )
    response = api.post("/api/v1/approvals", content=data, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json() == {"request_id": request_id, "status": "approved", "decided_by": "api:slack/bob"}
    assert _approval_records(path)[-1]["decided_by"] == "api:slack/bob"


def test_api_bearer_identity_is_the_client_never_the_body(api, audit_log):
    path, made = audit_log
    request_id = made["held"].approval_id
    body = {"request_id": request_id, "verdict": "deny", "approver": "someone-else"}
    response = api.post(
        "/api/v1/approvals", json=body, headers={"Authorization": "Bearer jira-secret-0123456789abc"}
    )
    assert response.status_code == 200 and response.json()["decided_by"] == "api:jira"
    assert approval_events(path)[-1]["decided_by"] == "api:jira"


def test_api_refuses_replays_and_bad_signatures(api, audit_log):
    request_id = audit_log[1]["held"].approval_id
    body = {"request_id": request_id, "verdict": "approve", "nonce": "replayed-nonce-123456"}
    data, headers = _signed(body)
    assert api.post("/api/v1/approvals", content=data, headers=headers).status_code == 200
    again = api.post("/api/v1/approvals", content=data, headers=headers)
    assert again.status_code == 401 and "already used" in again.json()["error"]
    stale_data, stale = _signed({**body, "nonce": "another-nonce-1234567"}, now=time.time() - 3600)
    assert api.post("/api/v1/approvals", content=stale_data, headers=stale).status_code == 401
    forged_data, forged = _signed(
        {**body, "nonce": "third-nonce-123456789"}, secret=b"wrong-secret-0123456789"
    )
    assert api.post("/api/v1/approvals", content=forged_data, headers=forged).status_code == 401
    tampered = data.replace(b"approve", b"deny")
    assert api.post("/api/v1/approvals", content=tampered, headers=headers).status_code == 401
    unsigned = api.post("/api/v1/approvals", json=body)
    assert unsigned.status_code == 401
    assert (
        api.post("/api/v1/approvals", json=body, headers={"Authorization": "Bearer nope"}).status_code == 401
    )


def test_api_answers(api, audit_log):
    request_id = audit_log[1]["held"].approval_id
    bearer = {"Authorization": "Bearer jira-secret-0123456789abc"}
    assert (
        api.post(
            "/api/v1/approvals", json={"request_id": "apr_nope", "verdict": "approve"}, headers=bearer
        ).status_code
        == 404
    )
    assert (
        api.post(
            "/api/v1/approvals", json={"request_id": request_id, "verdict": "maybe"}, headers=bearer
        ).status_code
        == 400
    )
    assert api.post("/api/v1/approvals", content=b"[1]", headers=bearer).status_code == 400
    assert (
        api.post(
            "/api/v1/approvals", json={"request_id": request_id, "verdict": "approve"}, headers=bearer
        ).status_code
        == 200
    )
    second = api.post("/api/v1/approvals", json={"request_id": request_id, "verdict": "deny"}, headers=bearer)
    assert second.status_code == 409


def test_api_without_clients_refuses_everything(make_client, audit_log):
    request_id = audit_log[1]["held"].approval_id
    client = make_client()
    body = {"request_id": request_id, "verdict": "approve"}
    response = client.post("/api/v1/approvals", json=body, headers={"Authorization": "Bearer x"})
    assert response.status_code == 401
