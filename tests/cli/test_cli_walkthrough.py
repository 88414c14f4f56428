"""The README's rollout loop, end to end, with the shipped policies and the exact README commands.

observe (shell_rollout.yaml, warn) -> tune (capfence logs) -> simulate (capfence export + replay
against shell_production.yaml) -> enforce (shell_production.yaml denies and holds what replay said).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from capfence import ActionRuntime, CapFenceTool, ToolCallDenied
from tests.support.cli import AGENT_COMMANDS, run
from tests.support.paths import POLICIES, ROOT


def _agent(runtime: ActionRuntime, ran: list[str]) -> dict[str, str]:
    def run_shell(command: str) -> None:
        ran.append(command)

    shell = CapFenceTool(tool=run_shell, agent_id="prod-agent", capability="shell.execute", gate=runtime)
    outcome = {}
    for command in AGENT_COMMANDS:
        try:
            shell(command=command)
            outcome[command] = "ran"
        except ToolCallDenied as blocked:
            outcome[command] = blocked.decision.action
    return outcome


def test_observe_tune_simulate_enforce(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    for command in (
        "capfence logs --audit-log audit.db",
        "capfence export --audit-log audit.db -o audit.jsonl",
        "capfence replay audit.jsonl --policy policies/shell_production.yaml",
    ):
        assert command in readme
    shutil.copytree(POLICIES, tmp_path / "policies")

    # 1. Observe: warned calls run, rm -rf is denied, everything is audited.
    ran: list[str] = []
    with ActionRuntime.from_policy(
        tmp_path / "policies/shell_rollout.yaml", audit_log=tmp_path / "audit.db"
    ) as runtime:
        observed = _agent(runtime, ran)
    assert observed["rm -rf /tmp/build-cache"] == "deny" and ran == [
        c for c in AGENT_COMMANDS if c != "rm -rf /tmp/build-cache"
    ]

    # 2. Tune: the log shows what was warned about.
    logs = run("logs", "--audit-log", "audit.db", cwd=tmp_path).stdout
    assert logs.count("WARN") == 5 and logs.count("DENY") == 1
    assert re.search(r"curl -s https://example\.com/health", logs)

    # 3. Simulate: export, then replay under the production policy.
    assert run("export", "--audit-log", "audit.db", "-o", "audit.jsonl", cwd=tmp_path).stdout.startswith(
        "Exported 6 decision(s)"
    )
    report = run("replay", "audit.jsonl", "--policy", "policies/shell_production.yaml", cwd=tmp_path).stdout
    assert "Replayed 6 call(s)" in report
    assert "warn → deny: 1  (stricter)\n" in report and "warn → require_approval: 1  (stricter)\n" in report
    assert "warn → allow: 3  (other)\n" in report
    assert "deny → deny: 1  (unchanged)" in report
    assert (
        'rule deny[1]: shell.execute, contains "curl"' in report
        and '{"command":"curl -s https://example.com/health"}' in report
    )
    assert 'rule require_approval[0]: shell.execute, contains "systemctl"' in report
    assert re.search(r"^    stricter +2  ran, would not run now", report, flags=re.MULTILINE)
    replay_json = run(
        "replay",
        "audit.jsonl",
        "--policy",
        "policies/shell_production.yaml",
        "--format",
        "json",
        cwd=tmp_path,
    )
    as_json = json.loads(replay_json.stdout)
    predicted = {r["id"]: r["replayed"] for r in as_json["records"]}

    # 4. Enforce: the production policy decides exactly what replay predicted.
    ran.clear()
    with ActionRuntime.from_policy(
        tmp_path / "policies/shell_production.yaml", audit_log=tmp_path / "audit.db"
    ) as runtime:
        enforced = _agent(runtime, ran)
    assert enforced == {
        "ls -la": "ran",
        "cat README.md": "ran",
        "rm -rf /tmp/build-cache": "deny",
        "curl -s https://example.com/health": "deny",
        "systemctl restart nginx": "require_approval",
        "git status": "ran",
    }
    replayed = [predicted[seq] for seq in sorted(predicted)]
    assert [("ran" if d in ("allow", "warn") else d) for d in replayed] == list(enforced.values())

    # The whole history is intact.
    assert "OK: " in run("verify", "--audit-log", "audit.db", cwd=tmp_path).stdout
