"""What each page shows, on a real SQLite audit log written by a real runtime."""

from __future__ import annotations

import re

from capfence import ActionRuntime
from tests.web.web_support import csrf_of, require_web, sign_in

require_web()


def test_overview_counts_chart_and_pending(make_client, audit_log):
    client = sign_in(make_client())
    console = client.app.state.console
    console.summary.refresh()
    html = client.get("/?window=all").text
    assert "<svg" in html and "Decisions over time" in html
    assert re.search(r'class="card deny"[^>]*><span class="n">1</span>', html)
    assert audit_log[1]["held"].approval_id in html
    assert "hold-deploy" in html and "release-bot" in html


def test_overview_shows_the_chain_status(make_client):
    client = sign_in(make_client())
    client.app.state.console.chain.start()
    client.app.state.console.chain.wait(30)
    html = client.get("/").text
    assert 'class="card chain ok"' in html and "records intact" in html


def test_decisions_filters(make_client):
    client = sign_in(make_client())
    html = client.get("/decisions?decision=deny").text
    assert "rm -rf /" in html and "ls -la" not in html
    html = client.get("/decisions?agent=ops-*&capability=shell.execute").text
    assert "ls -la" in html and "release-bot" not in html
    html = client.get("/decisions?rule=hold-deploy").text
    assert "1.4.2" in html and "ls -la" not in html
    assert "No decisions match" in client.get("/decisions?tool=nothing-here").text
    assert "invalid time" in client.get("/decisions?since=yesterday-ish").text


def test_decisions_pages_by_sequence_number(make_client, tmp_path, policy_dir):
    path = tmp_path / "many.db"
    with ActionRuntime.from_policy(policy_dir / "policy.yaml", audit_log=path) as runtime:
        for n in range(120):
            runtime.evaluate("shell.execute", {"command": f"echo {n}"}, agent_id="loop", tool="bash")
    client = sign_in(make_client(audit_log=str(path)))
    seen: list[int] = []
    url = "/decisions?agent=loop"
    while url:
        html = client.get(url).text
        seen += [int(s) for s in re.findall(r'class="seq">(\d+)<', html)]
        older = re.search(r'href="(/decisions\?[^"]+)" id="older"', html)
        url = older.group(1).replace("&amp;", "&") if older else ""
    assert seen == sorted(seen, reverse=True) and len(seen) == len(set(seen)) == 120


def test_long_payloads_are_expandable_not_cut(make_client, tmp_path, policy_dir):
    path = tmp_path / "long.db"
    long_text = "x" * 1000 + "END-OF-PAYLOAD"
    with ActionRuntime.from_policy(policy_dir / "policy.yaml", audit_log=path) as runtime:
        runtime.evaluate("shell.execute", {"command": long_text}, agent_id="a", tool="bash")
    html = sign_in(make_client(audit_log=str(path))).get("/decisions").text
    assert "<details>" in html and "END-OF-PAYLOAD" in html


def test_a_decision_in_full(make_client, audit_log):
    denied = audit_log[1]["denied"]
    html = sign_in(make_client()).get(f"/decisions/{denied.record_id}").text
    assert "no-rm-root" in html and 'id="rule-location">policy.yaml:3<' in html
    assert "redacted" in html and "s3cret-value" not in html and "***REDACTED***" in html
    assert denied.policy_digest in html
    assert "blocked" in html  # its outcome record
    assert "hash recomputes from its fields" in html and "linked" in html


def test_a_held_decision_links_its_approval(make_client, audit_log):
    held = audit_log[1]["held"]
    html = sign_in(make_client()).get(f"/decisions/{held.record_id}").text
    assert f'href="/approvals/{held.approval_id}"' in html and "pending" in html
    assert f"approval request {held.approval_id} created" in html


def test_unknown_decision_is_404(make_client):
    assert sign_in(make_client()).get("/decisions/99999").status_code == 404


def test_approvals_page_shows_what_will_run(make_client, audit_log):
    held = audit_log[1]["held"]
    html = sign_in(make_client()).get("/approvals").text
    assert held.approval_id in html and "1.4.2" in html and "release-bot" in html and "Approve" in html


def test_replay_a_listed_policy(make_client, audit_log):
    client = sign_in(make_client())
    csrf = csrf_of(client.get("/replay").text)
    html = client.post("/replay", data={"csrf": csrf, "policy": "strict.yaml", "since": "1h"}).text
    assert 'id="matrix"' in html and 'id="changed"' in html
    changed = re.findall(r'<tr><td><a href="/decisions/(\d+)">', html.split('id="changed"')[1])
    # allowed shell calls now denied
    assert changed == [str(audit_log[1]["allowed"].record_id), str(audit_log[1]["hostile"].record_id)]
    assert 'class="num changed"' in html


def test_replay_a_pasted_policy_reports_file_and_line(make_client):
    client = sign_in(make_client())
    csrf = csrf_of(client.get("/replay").text)
    response = client.post(
        "/replay", data={"csrf": csrf, "pasted": "deny:\n  - capabilty: shell.*\n", "since": ""}
    )
    assert response.status_code == 422
    assert (
        "pasted-policy.yaml:2:5: error:" in response.text
        and "did you mean &#39;capability&#39;" in response.text
    )


def test_unindexed_filters_scan_within_a_budget_and_go_on(make_client, tmp_path, policy_dir, monkeypatch):
    from capfence.web import queries

    monkeypatch.setattr(queries, "SLICE", 7)
    monkeypatch.setattr(queries, "SCAN_BUDGET", 0.0)  # every page stops after one slice
    path = tmp_path / "rules.db"
    with ActionRuntime.from_policy(policy_dir / "policy.yaml", audit_log=path) as runtime:
        for n in range(40):
            command = "rm -rf /" if n % 5 == 0 else f"echo {n}"
            runtime.evaluate("shell.execute", {"command": command}, agent_id="loop", tool="bash")
    client = sign_in(make_client(audit_log=str(path)))
    seen: list[int] = []
    url, notes = "/decisions?rule=no-rm-root", 0
    while url:
        html = client.get(url).text
        notes += 'id="searched"' in html
        seen += [int(s) for s in re.findall(r'class="seq">(\d+)<', html)]
        older = re.search(r'href="(/decisions\?[^"]+)" id="older"', html)
        url = older.group(1).replace("&amp;", "&") if older else ""
    assert seen == sorted(seen, reverse=True) and len(seen) == len(set(seen)) == 8 and notes > 0
