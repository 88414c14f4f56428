"""The same console pages and approvals against the real PostgreSQL store (a server started for the session)."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest

from tests.web.web_support import TOKEN, csrf_of, live_server, populate, require_web, sign_in

require_web()

from starlette.testclient import TestClient  # noqa: E402

from capfence import ActionRuntime  # noqa: E402
from capfence.web.app import create_app  # noqa: E402
from capfence.web.console import Settings  # noqa: E402


@pytest.fixture
def pg_console(pg_url: str, policy_dir: Path):
    made = populate(policy_dir / "policy.yaml", pg_url)
    app = create_app(
        Settings(
            audit_log=pg_url,
            users={"alice": TOKEN},
            policy_dir=policy_dir,
            api_clients={"bot": b"bot-secret-0123456789abcdef"},
        ),
        warm_up=False,
    )
    yield app, made, pg_url
    app.state.console.close()


def test_pages_render_on_postgres(pg_console):
    app, made, _ = pg_console
    client = sign_in(TestClient(app, base_url="http://127.0.0.1"))
    console = app.state.console
    console.summary.refresh()
    console.chain.start()
    assert console.chain.wait(60).state == "ok"
    overview = client.get("/?window=all").text
    assert re.search(r'class="card deny"[^>]*><span class="n">1</span>', overview) and "intact" in overview
    assert "rm -rf /" in client.get("/decisions?decision=deny").text
    assert "ls -la" in client.get("/decisions?agent=ops-*&capability=shell.*").text
    detail = client.get(f"/decisions/{made['denied'].record_id}").text
    assert "policy.yaml:3" in detail and "hash recomputes from its fields" in detail and "blocked" in detail
    assert "&lt;script&gt;" in client.get(f"/decisions/{made['hostile'].record_id}").text
    assert made["held"].approval_id in client.get("/approvals").text
    csrf = csrf_of(client.get("/replay").text)
    replay = client.post("/replay", data={"csrf": csrf, "policy": "strict.yaml", "since": "1h"}).text
    assert 'id="changed"' in replay


def test_keyset_pages_on_postgres(pg_url, policy_dir):
    with ActionRuntime.from_policy(policy_dir / "policy.yaml", audit_log=pg_url) as runtime:
        for n in range(70):
            runtime.evaluate("shell.execute", {"command": f"echo {n}"}, agent_id="loop", tool="bash")
    app = create_app(Settings(audit_log=pg_url, users={"alice": TOKEN}), warm_up=False)
    client = sign_in(TestClient(app, base_url="http://127.0.0.1"))
    first = client.get("/decisions?agent=loop").text
    older = re.search(r'href="(/decisions\?[^"]+)" id="older"', first).group(1).replace("&amp;", "&")
    seen = re.findall(r'class="seq">(\d+)<', first) + re.findall(
        r'class="seq">(\d+)<', client.get(older).text
    )
    assert len(seen) == len(set(seen)) == 70
    app.state.console.close()


def test_approve_on_postgres_exactly_one_wins(pg_console):
    app, made, _ = pg_console
    request_id = made["held"].approval_id
    with live_server(app) as base:
        import httpx2 as httpx

        clients = []
        for _ in range(4):
            client = httpx.Client(base_url=base, timeout=60)
            client.post("/login", data={"csrf": csrf_of(client.get("/login").text), "token": TOKEN})
            clients.append((client, csrf_of(client.get(f"/approvals/{request_id}").text)))
        barrier = threading.Barrier(len(clients))
        codes: list[int] = []

        def decide(client: httpx.Client, csrf: str, verdict: str) -> None:
            barrier.wait()
            codes.append(
                client.post(
                    f"/approvals/{request_id}/decide", data={"csrf": csrf, "verdict": verdict}
                ).status_code
            )

        threads = [
            threading.Thread(target=decide, args=(c, t, "approve" if n % 2 else "deny"))
            for n, (c, t) in enumerate(clients)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        for client, _ in clients:
            client.close()
    assert sorted(codes) == [303, 409, 409, 409], codes


def test_api_on_postgres(pg_console, policy_dir):
    app, made, pg_url = pg_console
    client = TestClient(app, base_url="http://127.0.0.1")
    body = {"request_id": made["held"].approval_id, "verdict": "approve"}
    response = client.post(
        "/api/v1/approvals", json=body, headers={"Authorization": "Bearer bot-secret-0123456789abcdef"}
    )
    assert response.status_code == 200 and response.json()["decided_by"] == "api:bot"
    with ActionRuntime.from_policy(policy_dir / "policy.yaml", audit_log=pg_url) as runtime:
        retry = runtime.evaluate(
            "deploy.production", {"version": "1.4.2"}, agent_id="release-bot", tool="deploy"
        )
    assert retry.action == "allow" and "approved by api:bot" in retry.reason
