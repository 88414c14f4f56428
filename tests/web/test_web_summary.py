"""The overview's incremental summary: counted once, then only what was appended; bounded per bucket."""

from __future__ import annotations

import datetime as dt

from tests.web.web_support import require_web

require_web()

from capfence import ActionRuntime  # noqa: E402
from capfence.web import summary as summary_module  # noqa: E402
from capfence.web.source import Source  # noqa: E402
from capfence.web.summary import Summary  # noqa: E402


def test_refresh_reads_only_what_was_appended(tmp_path, policy_dir):
    path = str(tmp_path / "audit.db")
    with ActionRuntime.from_policy(policy_dir / "policy.yaml", audit_log=path) as runtime:
        runtime.evaluate("shell.execute", {"command": "ls"}, agent_id="a", tool="bash")
        summary = Summary(Source(path))
        summary.refresh()
        assert summary.overview("all").totals == {"allow": 1}
        seen = summary.seen_seq
        runtime.evaluate("shell.execute", {"command": "rm -rf /"}, agent_id="b", tool="bash")
        runtime.evaluate("deploy.production", {"v": 1}, agent_id="b", tool="deploy")
    summary.refresh()
    view = summary.overview("24h")
    assert summary.seen_seq > seen and view.complete
    assert view.totals == {"allow": 1, "deny": 1, "require_approval": 1}
    assert dict(view.top_agents) == {"b": 2} and dict(view.top_capabilities) == {
        "shell.execute": 1,
        "deploy.production": 1,
    }
    assert dict(view.top_rules) == {"shell-ok": 1, "no-rm-root": 1, "hold-deploy": 1}
    assert sum(sum(counts.values()) for _, counts in view.series) == 3 and len(view.series) >= 24


def test_windows_leave_out_older_buckets(tmp_path, policy_dir):
    path = str(tmp_path / "audit.db")
    with ActionRuntime.from_policy(policy_dir / "policy.yaml", audit_log=path) as runtime:
        runtime.evaluate("shell.execute", {"command": "ls"}, agent_id="a", tool="bash")
    summary = Summary(Source(path))
    summary.refresh()
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=3)
    assert summary.overview("24h", now=later).totals == {}
    assert summary.overview("7d", now=later).totals == {"allow": 1}
    assert summary.overview("all", now=later).totals == {"allow": 1}


def test_partial_while_catching_up(tmp_path, policy_dir, monkeypatch):
    monkeypatch.setattr(summary_module, "BATCH", 1)
    path = str(tmp_path / "audit.db")
    with ActionRuntime.from_policy(policy_dir / "policy.yaml", audit_log=path) as runtime:
        for n in range(5):
            runtime.evaluate("shell.execute", {"command": f"echo {n}"}, agent_id="a", tool="bash")
    summary = Summary(Source(path))
    summary.refresh(batches=2)
    assert not summary.overview("all").complete and summary.overview("all").totals == {"allow": 2}
    summary.refresh()
    assert summary.overview("all").complete and summary.overview("all").totals == {"allow": 5}


def test_caller_chosen_names_are_bounded_per_bucket(tmp_path, policy_dir, monkeypatch):
    monkeypatch.setattr(summary_module, "KEYS_PER_BUCKET", 3)
    path = str(tmp_path / "audit.db")
    with ActionRuntime.from_policy(policy_dir / "policy.yaml", audit_log=path) as runtime:
        for n in range(10):
            runtime.evaluate("shell.execute", {"command": "rm -rf /"}, agent_id=f"agent-{n}", tool="bash")
    summary = Summary(Source(path))
    summary.refresh()
    agents = dict(summary.overview("all").top_agents)
    assert len(agents) == 4 and sum(agents.values()) == 10 and agents["(other)"] == 7
