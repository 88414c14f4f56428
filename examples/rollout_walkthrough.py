"""Observe -> tune -> simulate -> enforce, with a plain-Python shell tool: no framework, no network.

    pip install ./ && python examples/rollout_walkthrough.py

The plain-Python variant of the main demo (``nox -s demo``, which runs the same
loop on a LangChain agent: ``examples/langchain_rollout/``). Here the "agent"
is a list of commands and the tool a plain function wrapped with
``CapFenceTool``; a blocked call raises ``ToolCallDenied``. It works in
./capfence-walkthrough/, which it recreates on every run.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from capfence import ActionRuntime, CapFenceTool, ToolCallDenied

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"
WORK = Path.cwd() / "capfence-walkthrough"

# What our pretend agent wants to run, in order.
AGENT_COMMANDS = [
    "ls -la",
    "cat README.md",
    "rm -rf /tmp/build-cache",
    "curl -s https://example.com/health",
    "systemctl restart nginx",
    "git status",
]


def run_shell(command: str) -> str:
    """Pretend to run ``command`` in a shell (we only record that it ran)."""
    with (WORK / "executed.log").open("a") as log:
        log.write(command + "\n")
    return f"(ran) {command}"


def agent_session(runtime: ActionRuntime, title: str) -> None:
    print(f"\n== {title} ==")
    shell = CapFenceTool(tool=run_shell, agent_id="prod-agent", capability="shell.execute", gate=runtime)
    for command in AGENT_COMMANDS:
        try:
            shell(command=command)
            decision = "ran"
        except ToolCallDenied as blocked:
            decision = f"BLOCKED ({blocked.decision.action}, rule {blocked.decision.rule})"
        print(f"  {command:<40} -> {decision}")


def capfence(*args: str) -> None:
    print(f"\n$ capfence {' '.join(args)}")
    subprocess.run([sys.executable, "-m", "capfence.cli", *args], cwd=WORK, check=False)


def main() -> None:
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir()
    audit = WORK / "audit.db"
    print("1. OBSERVE: policies/shell_rollout.yaml warns on shell commands (and denies rm -rf).")
    with ActionRuntime.from_policy(POLICIES / "shell_rollout.yaml", audit_log=audit) as runtime:
        agent_session(runtime, "observe run")
    print("\n2. TUNE: see what the agent did and what was warned about.")
    capfence("logs", "--audit-log", "audit.db")
    print("\n3. SIMULATE: replay the observed calls against the production policy.")
    capfence("export", "--audit-log", "audit.db", "-o", "audit.jsonl")
    capfence("replay", "audit.jsonl", "--policy", str(POLICIES / "shell_production.yaml"))
    print("\n4. ENFORCE: run the same agent under policies/shell_production.yaml.")
    with ActionRuntime.from_policy(POLICIES / "shell_production.yaml", audit_log=audit) as runtime:
        agent_session(runtime, "enforce run")
    executed = (WORK / "executed.log").read_text().splitlines()
    print(f"\nThe tool body ran {len(executed)} times in total; every decision is in {audit}.")


if __name__ == "__main__":
    main()
