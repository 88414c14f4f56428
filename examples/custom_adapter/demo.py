"""Run commandkit's Runner with CapFence in front of a command, offline.

    pip install ./ ./examples/custom_adapter && python examples/custom_adapter/demo.py

Prints which adapter wrapped the command (found through the ``capfence``
entry point), each result, and the audit records.
"""

from __future__ import annotations

import sqlite3
import tempfile
import textwrap
from pathlib import Path

from capfence import ActionRuntime, CapFenceTool
from capfence.call.tool import find_adapter
from commandkit import Command, Runner

POLICY = """
deny:
  - id: no-force-push
    capability: git.push
    contains: --force
    reason: force-pushing rewrites shared history
warn:
  - capability: git.push
"""


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="capfence-commandkit-"))
    (work / "policy.yaml").write_text(textwrap.dedent(POLICY))
    runtime = ActionRuntime.from_policy(work / "policy.yaml", audit_log=work / "audit.db")
    pushed: list[str] = []
    push = Command(
        "push",
        "Push a branch.",
        {"branch": "str", "flags": "str"},
        lambda branch, flags="": pushed.append(branch) or "pushed",
    )

    print("adapter:", find_adapter(push, runtime.plugins.adapters).name)
    safe_push = CapFenceTool(tool=push, agent_id="release-bot", capability="git.push", gate=runtime)
    print("still a Command:", isinstance(safe_push, Command), "| same spec:", safe_push.spec() == push.spec())

    results = Runner([safe_push]).run(
        [("push", {"branch": "main", "flags": "--force"}), ("push", {"branch": "feature"})]
    )
    for result in results:
        print("result:", result)
    print("ran:", pushed)
    runtime.close()
    print(f"audit log {work / 'audit.db'} (kept for `capfence logs --audit-log`):")
    rows = sqlite3.connect(work / "audit.db").execute(
        "SELECT framework, tool, decision, rule FROM records WHERE kind = 'decision'"
    )
    for row in rows:
        print("audit:", row)


if __name__ == "__main__":
    main()
