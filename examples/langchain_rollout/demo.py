"""CapFence's main demo: observe -> tune -> simulate -> enforce, on a LangChain agent, offline.

    python3 -m pip install 'nox[uv]' && python3 -m nox -s demo

or, with ``capfence`` and ``capfence-langchain[agent]`` installed::

    python examples/langchain_rollout/demo.py [--workdir capfence-demo]

The agent is the deploy assistant of :mod:`deploy_assistant` (a real
``create_agent`` agent driven by a scripted model, no network). The demo works
in ``./capfence-demo/`` (recreated on every run) with a copy of ``policies/``,
so every ``capfence`` command it prints can be typed there as shown.

1. Observe: the agent runs under ``policies/shell_rollout.yaml``; shell commands
   are warned about but run, ``rm -rf`` is denied; every call lands in ``audit.db``.
2. Tune: ``capfence logs`` shows what the agent did and what was warned about.
3. Simulate: ``capfence export`` + ``capfence replay`` show, call by call, what
   ``policies/shell_production.yaml`` would decide differently.
4. Enforce: the same agent under the production policy; blocked calls come
   back to the model as error results, and the agent finishes its task.
5. The shell pack: the same loop with the hardened pack (``packs/shell.yaml``),
   which allows only what its catalogue knows safe: observe under
   ``policies/shell_pack_observe.yaml``, let ``capfence suggest --held`` draft
   narrow allow rules for what it would hold, enforce the pack with them.
6. Stage and test: a new rule staged with ``mode: shadow`` (replay shows what
   enforcing it would change, nothing is blocked), and ``capfence test`` checking
   the production policy against expected decisions, as CI would.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from deploy_assistant import AGENT_ID, TASK, make_workspace, run_task
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage

from capfence import ActionRuntime

ROOT = Path(__file__).resolve().parents[2]
ROLLOUT = "policies/shell_rollout.yaml"
PRODUCTION = "policies/shell_production.yaml"
PACK_OBSERVE = "policies/shell_pack_observe.yaml"
PACK_ALLOW = "policies/shell_pack_allow.yaml"
PACK_ENFORCE = "policies/shell_pack.yaml"
SHADOW = "policies/shell_shadow.yaml"
SHADOW_TEXT = """\
# the rollout policy, plus one new rule staged in shadow mode: recorded, never deciding
extends: shell_rollout.yaml
deny:
  - id: no-downloads
    capability: shell.execute
    mode: shadow
    command: {program: [curl, wget]}
"""
CASES = "policies/production-cases.yaml"
CASES_TEXT = """\
- {name: no downloads, capability: shell.execute, args: {command: "curl -fsS https://staging.example.com/healthz"}, expect: deny}
- {name: restarts need a person, capability: shell.execute, args: {command: "systemctl restart deploy-app"}, expect: require_approval}
- {name: deploys run, capability: shell.execute, args: {command: "git pull --ff-only"}, expect: allow}
- {name: the runbook can be read, capability: filesystem.read, args: {path: deploy/RUNBOOK.md}, expect: allow}
"""
PACK_ENFORCE_TEXT = """\
# the hardened shell pack, the allow rules accepted from `capfence suggest --held`, and file reads
extends: shell_pack_allow.yaml
allow:
  - capability: filesystem.read
"""


def heading(step: str, title: str) -> None:
    print(f"\n{'=' * 100}\n{step}  {title}\n{'=' * 100}", flush=True)


def show_conversation(messages: Sequence[BaseMessage]) -> None:
    """Each tool call the model made, what came of it, and the model's final answer."""
    results = {m.tool_call_id: m for m in messages if isinstance(m, ToolMessage)}
    for message in messages:
        if not isinstance(message, AIMessage):
            continue
        for call in message.tool_calls:
            args = ", ".join(f"{k}={v!r}" for k, v in call["args"].items())
            result = results.get(call["id"] or "")
            blocked = result is not None and result.status == "error"
            print(f"  {call['name']}({args})".ljust(72), "BLOCKED" if blocked else "ran")
            if blocked and result is not None:
                print(f"      the model is told: {result.content}")
        if message.content:
            print("\n  assistant's answer:")
            print("\n".join(f"    {line}" for line in str(message.content).splitlines()))


def agent_run(workdir: Path, policy: str, audit_log: str = "audit.db") -> None:
    """The assistant does its task under ``policy``; prints its calls and what really ran."""
    log = workdir / "shell.log"
    before = len(log.read_text().splitlines()) if log.exists() else 0
    print(f"\n  task for {AGENT_ID!r}: {TASK}\n")
    with ActionRuntime.from_policy(workdir / policy, audit_log=workdir / audit_log) as runtime:
        show_conversation(run_task(runtime, workdir))
    ran = log.read_text().splitlines()[before:] if log.exists() else []
    print(f"\n  shell.log (what really ran): {len(ran)} command(s): {'; '.join(ran)}")


def capfence(workdir: Path, *args: str) -> None:
    """Run ``capfence ARGS`` in ``workdir``, showing the command as you would type it."""
    print(f"\n$ capfence {' '.join(args)}", flush=True)
    env = {**os.environ, "PAGER": "cat"}  # the demo's output is read as it scrolls by, never in a pager
    if not sys.stdout.isatty():  # captured (CI, a pipe): wide enough for the logs table
        env.setdefault("COLUMNS", "200")
    done = subprocess.run([sys.executable, "-m", "capfence.cli", *args], cwd=workdir, env=env, check=False)
    if done.returncode != 0:
        sys.exit(f"capfence {args[0]} failed with exit code {done.returncode}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path("capfence-demo"),
        help="where to work (recreated; default ./capfence-demo)",
    )
    workdir: Path = parser.parse_args(argv).workdir.resolve()
    started = time.perf_counter()
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    shutil.copytree(ROOT / "policies", workdir / "policies")
    make_workspace(workdir)

    print("CapFence demo: put a policy gate in front of an AI agent's tools without breaking the agent.")
    print("The agent: a LangChain create_agent 'deploy assistant' with two tools, read_file and run_shell,")
    print("driven by a scripted model (offline, no API key). run_shell only appends commands to shell.log.")
    print("One CapFenceMiddleware decides every tool call before it runs and records it in audit.db.")
    print(f"Working in {os.path.relpath(workdir)}{os.sep}")

    heading("1. OBSERVE", f"the agent runs under {ROLLOUT}")
    print(
        "  This policy denies only 'rm -rf'. Other shell commands are warned about (they run, and are audited);"
    )
    print("  file reads are allowed. Nothing the agent needs is blocked while we watch what it does.")
    agent_run(workdir, ROLLOUT)

    heading("2. TUNE", "what did the agent do, and what would we have blocked?")
    print(
        "  Every decision is in audit.db, written before the tool ran. WARN rows ran, but a stricter policy may stop them."
    )
    capfence(workdir, "logs", "--audit-log", "audit.db")

    heading("3. SIMULATE", f"what would {PRODUCTION} decide differently?")
    print(
        "  The production policy denies curl, holds systemctl for a human's approval and allows other commands."
    )
    print("  Replay re-evaluates every recorded call under it, without running anything.")
    capfence(workdir, "export", "--audit-log", "audit.db", "-o", "audit.jsonl")
    capfence(workdir, "replay", "audit.jsonl", "--policy", PRODUCTION)

    heading("4. ENFORCE", f"the same agent, same task, under {PRODUCTION}")
    print(
        "  Blocked calls come back to the model as error results it can read; the agent carries on and reports."
    )
    agent_run(workdir, PRODUCTION)
    print("\n  The systemctl call is held for a human: it waits in the approval queue.")
    capfence(workdir, "approvals", "list", "--status", "pending", "--audit-log", "audit.db")
    print("  'capfence approvals approve <id> --as <you>' lets that exact call run once; 'deny' refuses it.")

    shell_pack(workdir)
    stage_and_test(workdir)

    heading("DONE", "the audit logs hold every run, hash-chained")
    print(
        "  verify checks every record of the chain: the decisions 'capfence logs' shows, what came of each (outcomes)"
    )
    print("  and the approval queue's events.")
    capfence(workdir, "verify", "--audit-log", "audit.db")
    capfence(workdir, "verify", "--audit-log", "pack-audit.db")
    print(
        f"\nFinished in {time.perf_counter() - started:.1f}s. Look around in {os.path.relpath(workdir)}{os.sep}:"
    )
    print(
        "  audit.db (the audit log), audit.jsonl (its export), shell.log (what ran), policies/ (edit them and replay again)."
    )
    cli = command_for_user(workdir)
    print(f"  For example:  cd {os.path.relpath(workdir)} && {cli} logs --audit-log audit.db --summary")
    print(f"                {cli} replay audit.jsonl --policy policies/shell_production.yaml --format json")


def shell_pack(workdir: Path) -> None:
    """Step 5: observe -> suggest -> enforce with the hardened shell pack, in its own audit log (``pack-audit.db``)."""
    heading("5. THE SHELL PACK", "observe -> suggest -> enforce with policies/packs/shell.yaml")
    print(
        "  The hardened pack denies what is known catastrophic, allows what its catalogue knows safe and holds the rest"
    )
    print(
        f"  for a human. Observe first, under {PACK_OBSERVE}: what it would hold runs, flagged 'would hold: <why>'."
    )
    agent_run(workdir, PACK_OBSERVE, "pack-audit.db")
    print("\n  What the pack would have held (these ran, flagged):")
    capfence(workdir, "logs", "--audit-log", "pack-audit.db", "--decision", "warn", "--wide")
    print(
        "\n  Draft narrow allow rules for the holds the agent really hit (program and exact arguments, never a blanket allow):"
    )
    capfence(
        workdir,
        "suggest",
        "--held",
        "--audit-log",
        "pack-audit.db",
        "--policy",
        PACK_OBSERVE,
        "-o",
        PACK_ALLOW,
    )
    print("\n".join(f"    {line}" for line in (workdir / PACK_ALLOW).read_text().splitlines()))
    (workdir / PACK_ENFORCE).write_text(PACK_ENFORCE_TEXT)
    print(
        f"\n  Accept them: {PACK_ENFORCE} extends {PACK_ALLOW}. Enforce it: the smoke test is allowed now, systemctl is"
    )
    print("  held for a human (an allow rule cannot lift the pack's own approval rules), rm -rf is denied.")
    agent_run(workdir, PACK_ENFORCE, "pack-audit.db")


def stage_and_test(workdir: Path) -> None:
    """Step 6: a rule staged with ``mode: shadow``, and ``capfence test`` as CI runs it."""
    heading("6. STAGE AND TEST", "a new rule in shadow mode, and the policy's tests in CI")
    (workdir / SHADOW).write_text(SHADOW_TEXT)
    print(
        f"  {SHADOW} stages one new rule, 'no downloads from the shell', with mode: shadow: it is evaluated and"
    )
    print(
        "  recorded with every call (capfence logs --shadow), but never decides. Replay shows what enforcing it would change:"
    )
    capfence(workdir, "replay", "audit.jsonl", "--policy", SHADOW)
    (workdir / CASES).write_text(CASES_TEXT)
    print(f"\n  In CI, {CASES} holds calls with the decisions the production policy must give them:")
    capfence(workdir, "test", PRODUCTION, CASES)


def command_for_user(workdir: Path) -> str:
    """How to type ``capfence`` in ``workdir``: its path when this runs in nox's virtualenv (not on your PATH), else ``capfence``."""
    here = Path(sys.executable).parent / "capfence"
    if here.exists() and (".nox" in Path(sys.prefix).parts or shutil.which("capfence") is None):
        return os.path.relpath(here, workdir)
    return "capfence"


if __name__ == "__main__":
    main()
