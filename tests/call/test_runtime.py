"""ActionRuntime: the README's seed example, evaluate -> Decision + audit, hot reload, threads and asyncio."""

from __future__ import annotations

import asyncio
import logging
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from capfence import ActionRuntime, CapFenceTool, Decision, ToolCallDenied
from tests.support.audit import audit_rows
from tests.support.paths import POLICIES
from tests.support.policies import ALLOW_ALL

RELOAD_WAIT = 1.1
"""The contract: a changed policy is live within one second."""


DENY_CURL = """
deny:
  - id: no-curl
    capability: shell.execute
    contains: curl
allow:
  - id: everything
    capability: "*"
"""


def test_readme_seed_example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The issue's first screen, verbatim, from a directory holding the shipped policies."""
    shutil.copytree(POLICIES, tmp_path / "policies")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CAPFENCE_AUDIT_LOG", raising=False)
    runtime = ActionRuntime.from_policy("policies/shell_rollout.yaml")
    ran: list[str] = []

    def run_shell(command: str) -> str:
        ran.append(command)
        return f"ran {command}"

    safe = CapFenceTool(tool=run_shell, agent_id="prod-agent", capability="shell.execute", gate=runtime)
    assert safe(command="ls") == "ran ls"
    with pytest.raises(ToolCallDenied) as caught:
        safe(command="rm -rf /tmp/x")
    runtime.close()

    assert ran == ["ls"]
    assert caught.value.decision.rule == "deny[0]"
    decisions = audit_rows(tmp_path / "audit.db", "decision")
    assert [(r["decision"], r["rule"], r["agent_id"], r["capability"], r["payload"]) for r in decisions] == [
        ("warn", "warn[0]", "prod-agent", "shell.execute", '{"command":"ls"}'),
        ("deny", "deny[0]", "prod-agent", "shell.execute", '{"command":"rm -rf /tmp/x"}'),
    ]


def test_audit_log_location(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, write_policy: Callable[..., Path]
) -> None:
    """Explicit ``audit_log`` > ``$CAPFENCE_AUDIT_LOG`` > ``./audit.db``."""
    policy = write_policy(ALLOW_ALL)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)

    monkeypatch.setenv("CAPFENCE_AUDIT_LOG", str(tmp_path / "from-env.db"))
    with ActionRuntime.from_policy(policy) as rt:
        rt.evaluate("x.y", {}, agent_id="a")
    with ActionRuntime.from_policy(policy, audit_log=tmp_path / "explicit.db") as rt:
        rt.evaluate("x.y", {}, agent_id="a")
    monkeypatch.delenv("CAPFENCE_AUDIT_LOG")
    with ActionRuntime.from_policy(policy) as rt:
        rt.evaluate("x.y", {}, agent_id="a")

    for name in ("from-env.db", "explicit.db", "work/audit.db"):
        assert len(audit_rows(tmp_path / name, "decision")) == 1, name


def test_evaluate_returns_decision_and_audits_it(
    runtime: Callable[..., ActionRuntime], tmp_path: Path
) -> None:
    rt = runtime(DENY_CURL)
    denied = rt.evaluate(
        "shell.execute",
        {"command": "curl http://x"},
        agent_id="a1",
        tool="sh",
        framework="python",
        environment="prod",
    )
    allowed = rt.evaluate("shell.execute", {"command": "ls"}, agent_id="a2")

    assert isinstance(denied, Decision)
    assert (denied.action, denied.allowed, denied.rule, denied.section) == ("deny", False, "no-curl", "deny")
    assert "curl" in denied.reason
    assert (allowed.action, allowed.allowed, allowed.rule) == ("allow", True, "everything")
    assert denied.policy_digest == allowed.policy_digest == rt.policy.digest
    assert len(rt.policy.digest) == 64

    rows = {r["seq"]: r for r in audit_rows(tmp_path / "audit.db", "decision")}
    assert set(rows) == {denied.record_id, allowed.record_id}
    row = rows[denied.record_id]
    assert (row["decision"], row["rule"], row["reason"], row["policy_digest"]) == (
        "deny",
        "no-curl",
        denied.reason,
        denied.policy_digest,
    )
    assert (row["agent_id"], row["tool"], row["framework"], row["environment"], row["capability"]) == (
        "a1",
        "sh",
        "python",
        "prod",
        "shell.execute",
    )
    assert row["ts"].endswith("+00:00")  # UTC


def test_environment_from_runtime_and_env(
    write_policy: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    policy = write_policy(
        "deny:\n  - capability: '*'\n    environment: production\nallow:\n  - capability: '*'\n"
    )
    with ActionRuntime.from_policy(policy, audit_log=tmp_path / "a.db", environment="production") as rt:
        assert rt.evaluate("x", {}, agent_id="a").action == "deny"
        assert rt.evaluate("x", {}, agent_id="a", environment="dev").action == "allow"  # per-call wins
    monkeypatch.setenv("CAPFENCE_ENVIRONMENT", "production")
    with ActionRuntime.from_policy(policy, audit_log=tmp_path / "a.db") as rt:
        assert rt.evaluate("x", {}, agent_id="a").action == "deny"
    monkeypatch.delenv("CAPFENCE_ENVIRONMENT")
    with ActionRuntime.from_policy(policy, audit_log=tmp_path / "a.db") as rt:
        assert rt.evaluate("x", {}, agent_id="a").action == "allow"


# --- hot reload ---------------------------------------------------------------------


def test_hot_reload_valid_change(
    runtime: Callable[..., ActionRuntime], write_policy: Callable[..., Path]
) -> None:
    rt = runtime(ALLOW_ALL)
    before = rt.evaluate("shell.execute", {"command": "curl x"}, agent_id="a")
    assert before.action == "allow"

    write_policy(DENY_CURL)
    time.sleep(RELOAD_WAIT)
    after = rt.evaluate("shell.execute", {"command": "curl x"}, agent_id="a")

    assert (after.action, after.rule) == ("deny", "no-curl")
    assert after.policy_digest == rt.policy.digest != before.policy_digest


def test_hot_reload_invalid_change_keeps_last_good(
    runtime: Callable[..., ActionRuntime],
    write_policy: Callable[..., Path],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    rt = runtime(DENY_CURL)
    good = rt.evaluate("shell.execute", {"command": "curl x"}, agent_id="a")

    write_policy(ALLOW_ALL + "    contians: oops\n")
    time.sleep(RELOAD_WAIT)
    with caplog.at_level(logging.ERROR, logger="capfence"):
        kept = rt.evaluate("shell.execute", {"command": "curl x"}, agent_id="a")
        again = rt.evaluate("shell.execute", {"command": "curl y"}, agent_id="a")

    assert (kept.action, kept.rule, kept.policy_digest) == ("deny", "no-curl", good.policy_digest)
    assert again.policy_digest == good.policy_digest
    assert any(
        "policy reload failed" in r.getMessage() and "contians" in r.getMessage() for r in caplog.records
    )
    failures = audit_rows(tmp_path / "audit.db", "policy_reload_failed")
    assert len(failures) == 1  # reported once per change, not once per call
    assert "contians" in failures[0]["reason"] and "did you mean 'contains'?" in failures[0]["reason"]

    write_policy(ALLOW_ALL)  # fixing the file is picked up again
    time.sleep(RELOAD_WAIT)
    assert rt.evaluate("shell.execute", {"command": "curl x"}, agent_id="a").action == "allow"


def test_hot_reload_of_deleted_file_keeps_last_good(
    runtime: Callable[..., ActionRuntime], tmp_path: Path
) -> None:
    rt = runtime(DENY_CURL)
    (tmp_path / "policy.yaml").unlink()
    time.sleep(RELOAD_WAIT)
    decision = rt.evaluate("shell.execute", {"command": "curl x"}, agent_id="a")
    assert (decision.action, decision.rule) == ("deny", "no-curl")
    assert len(audit_rows(tmp_path / "audit.db", "policy_reload_failed")) == 1


def test_hot_reload_extended_file(write_policy: Callable[..., Path], tmp_path: Path) -> None:
    write_policy("allow:\n  - capability: '*'\n", "base.yaml")
    policy = write_policy("extends: base.yaml\n")
    with ActionRuntime.from_policy(policy, audit_log=tmp_path / "a.db") as rt:
        assert rt.evaluate("shell.execute", {"command": "curl"}, agent_id="a").action == "allow"
        write_policy(
            "deny:\n  - capability: shell.execute\n    contains: curl\nallow:\n  - capability: '*'\n",
            "base.yaml",
        )
        time.sleep(RELOAD_WAIT)
        decision = rt.evaluate("shell.execute", {"command": "curl"}, agent_id="a")
    assert (decision.action, decision.rule) == ("deny", "base:deny[0]")


def test_hot_reload_after_the_process_changes_directory(
    write_policy: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A relative policy path keeps meaning the file it meant when the runtime was built."""
    write_policy(ALLOW_ALL)
    monkeypatch.chdir(tmp_path)
    with ActionRuntime.from_policy("policy.yaml", audit_log=tmp_path / "a.db") as rt:
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        monkeypatch.chdir(elsewhere)
        write_policy(DENY_CURL)
        time.sleep(RELOAD_WAIT)
        decision = rt.evaluate("shell.execute", {"command": "curl"}, agent_id="a")
    assert (decision.action, decision.rule) == ("deny", "no-curl")
    assert audit_rows(tmp_path / "a.db", "policy_reload_failed") == []


# --- concurrency -------------------------------------------------------------------


def test_many_threads(runtime: Callable[..., ActionRuntime], tmp_path: Path) -> None:
    rt = runtime(DENY_CURL)
    threads, per_thread = 8, 40
    results: list[tuple[str, Decision]] = []
    lock = threading.Lock()
    start = threading.Barrier(threads)

    def work(n: int) -> None:
        start.wait()
        for i in range(per_thread):
            command = "curl x" if (n + i) % 3 == 0 else "ls"
            decision = rt.evaluate("shell.execute", {"command": command, "n": n, "i": i}, agent_id=f"t{n}")
            with lock:
                results.append((command, decision))

    pool = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()

    assert len(results) == threads * per_thread
    for command, decision in results:
        assert decision.action == ("deny" if command == "curl x" else "allow"), decision.reason
    rows = audit_rows(tmp_path / "audit.db")
    assert [r["seq"] for r in rows] == list(range(1, threads * per_thread + 1))
    assert sorted(d.record_id for _, d in results) == [r["seq"] for r in rows]  # type: ignore[type-var]


def test_threads_during_a_reload_never_fail(
    runtime: Callable[..., ActionRuntime], write_policy: Callable[..., Path]
) -> None:
    """Calls racing a policy swap see the old or the new policy, never a half-built one or an error."""
    rt = runtime(ALLOW_ALL)
    old = rt.policy.digest
    stop = threading.Event()
    seen: list[list[Decision]] = [[] for _ in range(4)]

    def work(mine: list[Decision]) -> None:
        while not stop.is_set():
            mine.append(rt.evaluate("shell.execute", {"command": "curl"}, agent_id="a"))

    pool = [threading.Thread(target=work, args=(mine,)) for mine in seen]
    for t in pool:
        t.start()
    write_policy(DENY_CURL)
    deadline = time.monotonic() + 60  # only a stuck run waits this long; a busy machine just takes longer
    while not all(mine and mine[-1].policy_digest != old for mine in seen) and time.monotonic() < deadline:
        time.sleep(0.01)  # until every thread has decided with the new policy
    stop.set()
    for t in pool:
        t.join()
    new = rt.policy.digest
    assert new != old
    assert {(d.action, d.policy_digest) for mine in seen for d in mine} <= {("allow", old), ("deny", new)}
    for mine in seen:  # each thread saw the old policy, then the new one, never the old one again
        digests = [d.policy_digest for d in mine]
        assert digests[-1] == new and old not in digests[digests.index(new) :]


def test_aevaluate_from_asyncio(runtime: Callable[..., ActionRuntime], tmp_path: Path) -> None:
    rt = runtime(DENY_CURL)
    ticks: list[float] = []

    async def ticker(stop: asyncio.Event) -> None:
        while not stop.is_set():
            ticks.append(time.monotonic())
            await asyncio.sleep(0)

    async def main() -> list[Any]:
        stop = asyncio.Event()
        tick = asyncio.create_task(ticker(stop))
        decisions = await asyncio.gather(
            *(
                rt.aevaluate("shell.execute", {"command": "curl" if i % 2 else "ls"}, agent_id=f"a{i}")
                for i in range(20)
            )
        )
        stop.set()
        await tick
        return decisions

    decisions = asyncio.run(main())
    assert [d.action for d in decisions] == ["allow", "deny"] * 10
    assert len({d.record_id for d in decisions}) == 20
    assert len(audit_rows(tmp_path / "audit.db", "decision")) == 20
    assert len(ticks) > 1  # the loop kept running while the audit writes happened in threads


def test_threads_reopening_a_closed_runtime_share_one_store(
    tmp_path: Path, write_policy: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """After close() the next call reopens the log; threads arriving together must open it once."""
    import capfence.call.runtime as runtime_module

    opened: list[object] = []
    real_open = runtime_module.open_store

    def slow_open(location: str, types: Any) -> Any:
        time.sleep(0.05)  # widen the window in which a second thread could also open
        store = real_open(location, types)
        opened.append(store)
        return store

    rt = ActionRuntime.from_policy(write_policy(ALLOW_ALL), audit_log=tmp_path / "audit.db")
    rt.close()
    monkeypatch.setattr(runtime_module, "open_store", slow_open)
    start = threading.Barrier(8)
    decisions: list[Decision] = []

    def call(i: int) -> None:
        start.wait()
        decisions.append(rt.evaluate("shell.execute", {"i": i}, agent_id="a"))

    pool = [threading.Thread(target=call, args=(i,)) for i in range(8)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    rt.close()
    assert len(opened) == 1
    assert sorted(d.record_id or 0 for d in decisions) == list(range(1, 9))
    assert len(audit_rows(tmp_path / "audit.db")) == 8
