"""The PostgreSQL server dies mid-run: calls are denied at once, nothing acknowledged is lost, writes resume when it is back."""

from __future__ import annotations

import json
import multiprocessing
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from capfence import ActionRuntime
from capfence.audit.reader import open_reader
from capfence.audit.verify import verify
from postgres_server import PostgresServer

pytest_plugins = ["conftest_postgres"]

POLICY = """
warn:
  - id: observe-shell
    capability: shell.*
"""
PROCESSES, THREADS = 4, 2
TIMEOUT = 2.0
SPAWN = multiprocessing.get_context("spawn")


def _agent(url: str, policy: str, proc: int, stop: Any, results: Any) -> None:
    """Decide calls until told to stop; report (started, finished, action, record_id, command, reason) for each."""
    calls: list[tuple[float, float, str, int | None, str, str]] = []
    lock = threading.Lock()
    with ActionRuntime.from_policy(policy, audit_log=url) as runtime:
        def work(thread: int) -> None:
            i = 0
            while not stop.is_set():
                command = f"echo {proc}-{thread}-{i}"
                started = time.monotonic()
                decision = runtime.evaluate("shell.execute", {"command": command}, agent_id=f"agent-{proc}")
                finished = time.monotonic()
                with lock:
                    calls.append((started, finished, decision.action, decision.record_id, command, decision.reason))
                if decision.allowed:
                    runtime.record_outcome(decision, "ran")
                i += 1
                time.sleep(0.01)

        threads = [threading.Thread(target=work, args=(t,)) for t in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    results.put(calls)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["immediate", "fast"])
def test_server_stopped_mid_run(own_pg_server: PostgresServer, tmp_path: Path, mode: str) -> None:
    url = own_pg_server.create_database() + f"?timeout={TIMEOUT:g}"
    policy = tmp_path / "policy.yaml"
    policy.write_text(textwrap.dedent(POLICY))
    stop, results = SPAWN.Event(), SPAWN.Queue()
    procs = [SPAWN.Process(target=_agent, args=(url, str(policy), p, stop, results)) for p in range(PROCESSES)]
    for p in procs:
        p.start()
    try:
        time.sleep(4)  # start-up (spawned interpreters) and a stretch of normal writing
        stopping = time.monotonic()
        own_pg_server.stop(mode)  # "immediate" is a crash: no shutdown checkpoint, recovery from the WAL
        down_from = time.monotonic()
        time.sleep(3)
        down_until = time.monotonic()
        own_pg_server.start()
        back_at = time.monotonic()
        time.sleep(4)
    finally:
        stop.set()
    calls = [c for _ in procs for c in results.get(timeout=120)]
    for p in procs:
        p.join(timeout=60)

    before = [c for c in calls if c[1] < stopping]
    during = [c for c in calls if c[0] > down_from and c[1] < down_until]
    after = [c for c in calls if c[0] > back_at + TIMEOUT + 1]
    assert before and all(c[2] == "warn" for c in before), "writes before the outage succeed"
    assert during and all(c[2] == "deny" and "audit log not writable" in c[5] for c in during), "calls are denied while it is down"
    slowest = max(c[1] - c[0] for c in during)
    assert slowest < TIMEOUT + 1.5, f"a call took {slowest:.2f}s to be denied"
    assert after and all(c[2] == "warn" for c in after), "writes resume once the server is back"

    acked = {c[3]: c[4] for c in calls if c[2] == "warn"}
    assert None not in acked
    with open_reader(url) as reader:
        report = verify(reader, None)
        stored = {r["seq"]: json.loads(str(r["payload"]))["command"] for r in reader.records() if r["kind"] == "decision"}
    assert report.ok, report.problem
    lost = {seq: command for seq, command in acked.items() if stored.get(seq) != command}
    assert not lost, f"acknowledged decisions missing after the outage: {list(lost.items())[:5]}"
    median_denial = sorted(c[1] - c[0] for c in during)[len(during) // 2]
    print(f"\n{mode}: {len(before)} before, {len(during)} denied during the outage (median {median_denial * 1000:.1f} ms, "
          f"slowest {slowest * 1000:.0f} ms), {len(after)} after; {len(acked)} acknowledged, all present")


def _server_processes(server: PostgresServer) -> list[int]:
    """The postmaster and its children (backends, background workers)."""
    postmaster = int((server.data / "postmaster.pid").read_text().split()[0])
    children = [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and _parent(p) == postmaster]
    return [postmaster, *children]


def _parent(proc: Path) -> int | None:
    try:
        return int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


@pytest.mark.slow
def test_a_frozen_server_cannot_hang_a_call(own_pg_server: PostgresServer) -> None:
    """A server that stops answering (frozen, or its host gone) is cut off by the watchdog: the call fails after timeout + 1 s."""
    import os
    import signal

    from capfence.audit.postgres import PostgresStore
    from capfence.errors import AuditError

    url = own_pg_server.create_database() + "?timeout=1"
    store = PostgresStore(url)
    store.append({"ts": "t0", "kind": "decision"})
    frozen = _server_processes(own_pg_server)
    for pid in frozen:
        os.kill(pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        with pytest.raises(AuditError):
            store.append({"ts": "t1", "kind": "decision"})
        assert time.monotonic() - started < 1 + 1 + 0.8
    finally:
        for pid in frozen:
            os.kill(pid, signal.SIGCONT)
    deadline = time.monotonic() + 10
    while True:  # the pool replaces the connection the watchdog cut
        try:
            assert store.append({"ts": "t2", "kind": "decision"}) >= 2
            break
        except AuditError:
            assert time.monotonic() < deadline
            time.sleep(0.2)
    store.close()
