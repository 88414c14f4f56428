"""The console is an approval surface: sign-in, CSRF, escaping, headers, Host checks, read-only mode, no traversal."""

from __future__ import annotations

import pytest

from tests.web.web_support import HOSTILE, TOKEN, csrf_of, require_web, sign_in

require_web()

PAGES = ["/", "/decisions", "/decisions/1", "/approvals", "/replay"]


@pytest.mark.parametrize("path", PAGES)
def test_no_session_no_page(make_client, path):
    response = make_client().get(path, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login?next=")
    assert "ops-bot" not in response.text


def test_wrong_token_is_refused(make_client):
    client = make_client()
    page = client.get("/login")
    response = client.post(
        "/login", data={"csrf": csrf_of(page.text), "token": "guess"}, follow_redirects=False
    )
    assert response.status_code == 403 and "Wrong token" in response.text
    assert client.get("/decisions", follow_redirects=False).status_code == 303


def test_sign_in_form_needs_its_csrf_cookie(make_client):
    client = make_client()
    response = client.post("/login", data={"csrf": "forged", "token": TOKEN}, follow_redirects=False)
    assert response.status_code == 403
    assert client.get("/", follow_redirects=False).status_code == 303


def test_session_cookie_is_http_only_and_same_site(make_client):
    client = make_client()
    page = client.get("/login")
    response = client.post(
        "/login", data={"csrf": csrf_of(page.text), "token": TOKEN}, follow_redirects=False
    )
    cookie = response.headers["set-cookie"].lower()
    assert "capfence_session=" in cookie and "httponly" in cookie and "samesite=strict" in cookie


def test_sign_in_redirects_only_to_local_paths(make_client):
    client = make_client()
    page = client.get("/login?next=//evil.example/x")
    response = client.post(
        "/login",
        data={"csrf": csrf_of(page.text), "token": TOKEN, "next": "//evil.example/x"},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/"


def test_state_changes_need_the_csrf_token(make_client, audit_log):
    request_id = audit_log[1]["held"].approval_id
    client = sign_in(make_client())
    for data in ({"verdict": "approve"}, {"verdict": "approve", "csrf": "wrong"}):
        response = client.post(f"/approvals/{request_id}/decide", data=data)
        assert response.status_code == 403 and "CSRF" in response.text
    assert client.post("/verify", data={}).status_code == 403
    assert client.post("/logout", data={}).status_code == 403
    page = client.get(f"/approvals/{request_id}")
    assert "pending" in page.text


def test_state_changes_without_a_session_are_refused(make_client, audit_log):
    request_id = audit_log[1]["held"].approval_id
    response = make_client().post(f"/approvals/{request_id}/decide", data={"verdict": "approve", "csrf": "x"})
    assert response.status_code == 403


def test_cross_origin_posts_are_refused(make_client, audit_log):
    request_id = audit_log[1]["held"].approval_id
    client = sign_in(make_client())
    csrf = csrf_of(client.get("/approvals").text)
    response = client.post(
        f"/approvals/{request_id}/decide",
        data={"verdict": "approve", "csrf": csrf},
        headers={"Origin": "http://evil.example"},
    )
    assert response.status_code == 403


@pytest.mark.parametrize("path", ["/decisions", "/decisions/2", "/", "/approvals"])
def test_hostile_values_stay_text(make_client, path):
    client = sign_in(make_client())
    html = client.get(path).text
    assert HOSTILE not in html
    if path in ("/decisions", "/decisions/2"):
        assert "&lt;script&gt;" in html


def test_security_headers(make_client):
    response = sign_in(make_client()).get("/decisions")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["server-timing"].startswith("app;dur=")


def test_foreign_host_header_is_refused(make_client):
    client = make_client()
    assert client.get("/login", headers={"Host": "attacker.example"}).status_code == 400


def test_read_only_has_no_state_changes(make_client, audit_log):
    request_id = audit_log[1]["held"].approval_id
    client = sign_in(make_client(read_only=True))
    page = client.get(f"/approvals/{request_id}").text
    assert "Approve" not in page and "/decide" not in page
    assert "Approve" not in client.get("/approvals").text
    csrf = csrf_of(page)
    assert client.post(
        f"/approvals/{request_id}/decide", data={"verdict": "approve", "csrf": csrf}
    ).status_code in (404, 405)
    assert client.post(
        "/api/v1/approvals", json={"request_id": request_id, "verdict": "approve"}
    ).status_code in (404, 405)
    assert "pending" in client.get(f"/approvals/{request_id}").text


@pytest.mark.parametrize(
    "name", ["../policy.yaml", "/etc/passwd", "policies/../../audit.db", "..%2Fpolicy.yaml", "link.yaml"]
)
def test_no_path_traversal_through_the_policy_dir(make_client, policy_dir, tmp_path, name):
    outside = tmp_path / "secret.yaml"
    outside.write_text("allow:\n  - capability: '*'\n")
    (policy_dir / "link.yaml").symlink_to(outside)
    client = sign_in(make_client())
    csrf = csrf_of(client.get("/replay").text)
    response = client.post("/replay", data={"csrf": csrf, "policy": name, "since": ""})
    assert response.status_code == 422 and "not a policy file in the policy directory" in response.text
    assert "link.yaml" not in client.get("/replay").text


def test_pasted_policy_cannot_extend_files_outside(make_client, tmp_path):
    (tmp_path / "outside.yaml").write_text("allow:\n  - capability: '*'\n")
    client = sign_in(make_client())
    csrf = csrf_of(client.get("/replay").text)
    response = client.post(
        "/replay", data={"csrf": csrf, "pasted": "extends: ../outside.yaml\n", "since": ""}
    )
    assert (
        response.status_code == 422 and "not found" in response.text and "replay-result" not in response.text
    )


def test_each_person_their_own_token_and_name(make_client, audit_log):
    from tests.web.web_support import approval_events

    request_id = audit_log[1]["held"].approval_id
    client = sign_in(
        make_client(users={"alice": TOKEN, "bob": "bobs-own-token-0123456789"}), "bobs-own-token-0123456789"
    )
    assert ">bob<" in client.get("/").text
    csrf = csrf_of(client.get(f"/approvals/{request_id}").text)
    client.post(f"/approvals/{request_id}/decide", data={"csrf": csrf, "verdict": "deny"})
    assert approval_events(audit_log[0])[-1]["decided_by"] == "console:bob"


@pytest.mark.parametrize(
    ("host", "status"),
    [
        ("127.0.0.1:8765", 200),
        ("localhost", 200),
        ("[::1]:8765", 200),
        ("LOCALHOST:1", 200),
        ("attacker.example", 400),
        ("127.0.0.1.attacker.example", 400),
        ("[::2]:80", 400),
    ],
)
def test_host_header(make_client, host, status):
    assert make_client().get("/login", headers={"Host": host}).status_code == status
