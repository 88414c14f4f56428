"""Every example runs offline in a subprocess, and what it prints is what a newcomer is told it prints.

Each test is marked with what it needs installed (see ``conftest.py``);
``nox -s examples`` runs each group in its own virtualenv.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent


def run_example(script: Path, tmp_path: Path, *args: str) -> str:
    """Run ``script`` with this interpreter in ``tmp_path`` (temporary files go there too); its stdout."""
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "CAPFENCE_AUDIT_LOG")}
    env.update(TMPDIR=str(tmp_path), NO_COLOR="1", PYTHONUNBUFFERED="1")
    done = subprocess.run(
        [sys.executable, str(script), *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"{script.name} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    assert "Traceback" not in done.stderr, done.stderr
    return done.stdout


def sections(output: str) -> dict[str, str]:
    """The main demo's output by step (``"1. OBSERVE"`` ... ``"DONE"``); text before the first step under ``""``."""
    parts = re.split(r"^={20,}\n(.+?)  .*\n={20,}$", output, flags=re.MULTILINE)
    return {"": parts[0], **dict(zip(parts[1::2], parts[2::2], strict=True))}


def calls(text: str) -> dict[str, str]:
    """``tool(args)`` -> ``ran`` / ``BLOCKED`` from an agent run of the main demo."""
    return {
        m.group(1): m.group(2)
        for m in re.finditer(r"^  (\w+\(.*?\))\s+(ran|BLOCKED)$", text, flags=re.MULTILINE)
    }


@pytest.mark.langchain
def test_main_demo(tmp_path: Path) -> None:
    started = time.perf_counter()
    out = run_example(
        EXAMPLES / "langchain_rollout" / "demo.py", tmp_path, "--workdir", str(tmp_path / "capfence-demo")
    )
    assert time.perf_counter() - started < 60, "the main demo must finish in under a minute"
    steps = sections(out)
    assert list(steps) == [
        "",
        "1. OBSERVE",
        "2. TUNE",
        "3. SIMULATE",
        "4. ENFORCE",
        "5. THE SHELL PACK",
        "6. STAGE AND TEST",
        "DONE",
    ]
    work = tmp_path / "capfence-demo"
    # paths as you would type them there
    assert "Working in capfence-demo/" in steps[""] and str(tmp_path) not in out

    # 1. Observe: everything runs but rm -rf; the model reads why and reports it.
    observe = steps["1. OBSERVE"]
    assert calls(observe) == {
        "read_file(path='deploy/RUNBOOK.md')": "ran",
        "run_shell(command='git pull --ff-only')": "ran",
        "run_shell(command='rm -rf build/')": "BLOCKED",
        "run_shell(command='make release VERSION=2.4.1')": "ran",
        "run_shell(command='curl -fsS https://staging.example.com/healthz')": "ran",
        "run_shell(command='./scripts/smoke-test.sh staging')": "ran",
        "run_shell(command='systemctl restart deploy-app')": "ran",
        "run_shell(command='git tag staging-2.4.1')": "ran",
    }
    assert (
        'the model is told: CapFence deny: deny rule: capability "shell.execute", contains "rm -rf" [rule deny[0]]'
        in observe
    )
    assert (
        "7 of 8 steps done. I was not allowed to:\n      - rm -rf build/: denied by rule deny[0]\n" in observe
    )
    assert "shell.log (what really ran): 6 command(s)" in observe

    # 2. Tune: the log shows the warned calls (and the one deny, and the allowed read).
    tune = steps["2. TUNE"].split("$ capfence logs --audit-log audit.db\n")[1]
    assert len(re.findall(r"\bWARN\b", tune)) == 6 and len(re.findall(r"\bDENY\b", tune)) == 1
    assert re.search(r"deploy-assistant\s+read_file\s+filesystem\.read\s+allow", tune)
    assert "8 decision(s)" in tune

    # 3. Simulate: export, then replay under the production policy.
    simulate = steps["3. SIMULATE"]
    assert "$ capfence export --audit-log audit.db -o audit.jsonl\nExported 8 decision(s)" in simulate
    assert "$ capfence replay audit.jsonl --policy policies/shell_production.yaml" in simulate
    for transition in (
        "warn → allow: 4  (other)\n",
        "warn → deny: 1  (stricter)\n",
        "warn → require_approval: 1  (stricter)\n",
        "deny → deny: 1  (unchanged)",
    ):
        assert transition in simulate
    assert '{"command":"curl -fsS https://staging.example.com/healthz"}' in simulate

    # 4. Enforce: replay's prediction comes true; the agent carries on and says what it was not allowed to do.
    enforce = steps["4. ENFORCE"]
    assert calls(enforce) == {
        **calls(observe),
        "run_shell(command='curl -fsS https://staging.example.com/healthz')": "BLOCKED",
        "run_shell(command='systemctl restart deploy-app')": "BLOCKED",
    }
    assert "the model is told: CapFence deny: " in enforce and "[rule deny[1]]" in enforce
    held = r"the model is told: CapFence require_approval: .*\[rule require_approval\[0\]\] \[approval request apr_\w+\]"
    assert re.search(held, enforce)
    assert "5 of 8 steps done." in enforce
    reported = r"- systemctl restart deploy-app: needs a human's approval first \(rule require_approval\[0\], approval request apr_\w+\)"
    assert re.search(reported, enforce)
    assert (
        "shell.log (what really ran): 4 command(s): git pull --ff-only; make release VERSION=2.4.1; ./scripts/smoke-test.sh staging; "
        "git tag staging-2.4.1" in enforce
    )
    # ... and the held call waits in the approval queue, shown as a table with its header.
    queue = enforce.split("$ capfence approvals list --status pending --audit-log audit.db\n")[1].splitlines()
    assert queue[0].split()[:4] == ["id", "status", "decided", "by"]
    assert re.match(
        r"apr_\w+\s+pending\s+-\s+deploy-assistant\s+run_shell\s+shell\.execute\s.*systemctl restart deploy-app",
        queue[2],
    )

    # 5. The shell pack: observe flags what it would hold, suggest drafts one narrow rule, enforcing with it allows the smoke
    # test and still holds systemctl (its own rule) and denies rm -rf.
    pack = steps["5. THE SHELL PACK"]
    pack_observe, pack_enforce = pack.split("task for ")[1:3]
    assert calls(pack_observe) == calls(observe)
    assert re.search(
        r"WARN\s+shell-observe-not-known-safe\s+.*?\bran\s+would hold: not known to be safe: un", pack
    )
    assert re.search(r"WARN\s+shell-observe-systemctl-change\s+.*?\bran\s+would hold: systemctl", pack)
    assert 'command: {program: "smoke-test.sh", argv: ["staging"]}' in pack
    assert "1 x held by rule shell-observe-systemctl-change, which an allow rule cannot lift" in pack
    assert calls(pack_enforce) == {
        **calls(observe),
        "run_shell(command='systemctl restart deploy-app')": "BLOCKED",
    }
    assert (
        "[rule shell-rm-recursive-force]" in pack_enforce and "[rule shell-systemctl-change]" in pack_enforce
    )
    assert "6 of 8 steps done." in pack_enforce

    # 6. Stage and test: enforcing the shadow rule would deny the one download; the production policy passes its cases.
    stage = steps["6. STAGE AND TEST"]
    assert "Shadow rules (no-downloads): enforcing them would change the decision of 1 call(s)" in stage
    assert (
        "warn -> deny       1  by no-downloads" in stage
        and "no-downloads               0  never matched" not in stage
    )
    assert "4 passed, 0 failed (4 case(s) in policies/production-cases.yaml)" in stage

    assert "audit.db: OK: " in steps["DONE"] and "pack-audit.db: OK: " in steps["DONE"]
    # verify counts records, and says which: 8 + 8 decisions, their outcomes, and the approval queue's events.
    assert re.search(
        r"\naudit\.db: OK: \d+ record\(s\) \(seq 1-\d+: 16 decisions, \d+ outcomes, \d+ approval events?\)",
        steps["DONE"],
    )
    # Real side effects: the tool body ran for exactly the allowed and warned calls, never for a blocked one.
    observed = [
        "git pull --ff-only",
        "make release VERSION=2.4.1",
        "curl -fsS https://staging.example.com/healthz",
        "./scripts/smoke-test.sh staging",
        "systemctl restart deploy-app",
        "git tag staging-2.4.1",
    ]
    assert (work / "shell.log").read_text().splitlines() == [
        *observed,
        "git pull --ff-only",
        "make release VERSION=2.4.1",
        "./scripts/smoke-test.sh staging",
        "git tag staging-2.4.1",
        *observed,
        "git pull --ff-only",
        "make release VERSION=2.4.1",
        "curl -fsS https://staging.example.com/healthz",
        "./scripts/smoke-test.sh staging",
        "git tag staging-2.4.1",
    ]
    assert (work / "audit.db").exists() and (work / "audit.jsonl").exists()


@pytest.mark.plain
def test_rollout_walkthrough(tmp_path: Path) -> None:
    out = run_example(EXAMPLES / "rollout_walkthrough.py", tmp_path)
    observe, enforce = out.split("== observe run ==")[1], out.split("== enforce run ==")[1]
    assert re.search(r"rm -rf /tmp/build-cache\s+-> BLOCKED \(deny, rule deny\[0\]\)", observe)
    assert re.search(r"curl -s https://example.com/health\s+-> ran", observe)
    assert re.search(r"curl -s https://example.com/health\s+-> BLOCKED \(deny, rule deny\[1\]\)", enforce)
    assert re.search(
        r"systemctl restart nginx\s+-> BLOCKED \(require_approval, rule require_approval\[0\]\)", enforce
    )
    assert re.search(r"git status\s+-> ran", enforce)
    assert "warn → deny: 1  (stricter)\n" in out and "warn → require_approval: 1  (stricter)\n" in out
    assert "warn → allow: 3  (other)\n" in out
    assert "The tool body ran 8 times in total" in out


@pytest.mark.plain
def test_custom_adapter_demo(tmp_path: Path) -> None:
    out = run_example(EXAMPLES / "custom_adapter" / "demo.py", tmp_path)
    assert "adapter: commandkit" in out  # found through the package's entry point
    assert "still a Command: True | same spec: True" in out
    assert "error='CapFence deny: force-pushing rewrites shared history [rule no-force-push]'" in out
    assert "ran: ['feature']" in out
    assert "audit: ('commandkit', 'push', 'deny', 'no-force-push')" in out
    assert "audit: ('commandkit', 'push', 'warn', 'warn[0]')" in out


@pytest.mark.langchain
def test_langchain_tools(tmp_path: Path) -> None:
    out = run_example(EXAMPLES / "langchain_tools.py", tmp_path)
    for name in ("read_file", "write_file", "send_email"):
        assert f"{name}: StructuredTool, a BaseTool: True, same schema for the model: True" in out
    assert "read_file(path='notes.txt') -> returned 'staging is green\\n'" in out
    assert (
        "read_file(path='.env') -> raised ToolCallDenied: CapFence deny: .env files hold credentials [rule no-dotenv]"
        in out
    )
    assert re.search(
        r"send_email\(.*\) -> raised ApprovalRequired: held as request apr_\w+ \(rule hold-email\)", out
    )
    assert (
        "result of read_file (c1), status=error: CapFence deny: .env files hold credentials [rule no-dotenv]"
        in out
    )
    assert "result of write_file (c3), status=success: wrote 16 characters to summary.txt" in out
    assert "model's answer: I could not read .env" in out
    assert "files the tools wrote: draft.txt, summary.txt; emails sent: none" in out
    assert "hunter2" not in out
    audit = re.findall(r"^\s+\d+  (\w+)\s+([\w.]+)\s+(\w+)\s+([\w-]+)\s+(\w+)\s", out, flags=re.MULTILINE)
    assert audit == [
        ("read_file", "filesystem.read", "allow", "reads", "ran"),
        ("write_file", "filesystem.write", "warn", "observe-writes", "ran"),
        ("read_file", "filesystem.read", "deny", "no-dotenv", "blocked"),
        ("send_email", "email.send", "require_approval", "hold-email", "held"),
        ("read_file", "filesystem.read", "deny", "no-dotenv", "blocked"),
        ("read_file", "filesystem.read", "allow", "reads", "ran"),
        ("write_file", "filesystem.write", "warn", "observe-writes", "ran"),
    ]


@pytest.mark.llamaindex
def test_llamaindex_agent(tmp_path: Path) -> None:
    out = run_example(EXAMPLES / "llamaindex_agent.py", tmp_path)
    assert "lookup_order({'order_id': 'A-1001'}) -> [ok] order A-1001" in out
    assert "issue_refund({'order_id': 'A-1001', 'amount': 40}) -> [ok] refunded 40 on A-1001" in out
    assert re.search(
        r"issue_refund\(\{'order_id': 'A-1002', 'amount': 450\}\) -> \[ERROR\] CapFence require_approval: "
        r"refunds over 100 need a human; .*\[rule big-refunds\] \[approval request apr_\w+\]",
        out,
    )
    denied = "delete_customer({'customer_id': 'C-7'}) -> [ERROR] CapFence deny: only the data team deletes customer records"
    assert denied + " [rule no-deletes]" in out
    assert "Handled the ticket; 2 action(s) were not allowed:" in out  # the agent carried on and read why
    assert "ledger.log (what really happened): ['refund A-1001 40']" in out
    audit = re.findall(r"^  (\w+)\s+([\w.]+)\s+(\w+)\s+([\w-]+)\s+(\w+)\s+\{", out, flags=re.MULTILINE)
    assert audit == [
        ("lookup_order", "orders.read", "allow", "lookups", "ran"),
        ("issue_refund", "payments.refund", "warn", "observe-refunds", "ran"),
        ("issue_refund", "payments.refund", "require_approval", "big-refunds", "held"),
        ("delete_customer", "crm.delete", "deny", "no-deletes", "blocked"),
    ]


@pytest.mark.crewai
def test_crewai_crew(tmp_path: Path) -> None:
    out = run_example(EXAMPLES / "crewai_crew.py", tmp_path)
    assert (
        "Release engineer: Release 2.4.1 is built. (Not done: CapFence deny: destructive command [rule no-rm-rf])"
        in out
    )
    assert (
        "Docs writer: Release notes for 2.4.1 drafted from the docs. "
        "(Not done: CapFence deny: the docs writer does not run commands [rule writers-no-shell])"
    ) in out
    assert (
        "shell.log (commands that really ran): ['git log --oneline v2.4.0..HEAD', 'python -m build']" in out
    )
    audit = re.findall(
        r"^  ([\w-]+)\s+(\w+)\s+([\w.]+)\s+(\w+)\s+([\w-]+)\s+(\w+)\s+\{", out, flags=re.MULTILINE
    )
    assert audit == [
        ("release-engineer", "run_shell", "shell.execute", "warn", "observe-shell", "ran"),
        ("release-engineer", "run_shell", "shell.execute", "deny", "no-rm-rf", "blocked"),
        ("release-engineer", "run_shell", "shell.execute", "warn", "observe-shell", "ran"),
        ("docs-writer", "search_docs", "docs.search", "allow", "docs", "ran"),
        ("docs-writer", "run_shell", "shell.execute", "deny", "writers-no-shell", "blocked"),
    ]
