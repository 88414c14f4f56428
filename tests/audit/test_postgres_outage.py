"""The PostgreSQL server dies mid-run: calls are denied at once, nothing acknowledged is lost, writes resume when it is back.

Nothing here waits for a fixed time. The agent processes stream every
finished call to the test, and each phase ends on a condition: every agent
has written before the server is stopped, every agent has been denied while
it is down, every agent writes again after it is back. Each wait has an upper
bound (:data:`PATIENCE`) that only a stuck run reaches. The agents' log
records (one error per denied call, the pool's reconnection warnings) are
counted in the agents and summarized, not printed one by one.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import queue
import re
import textwrap
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import Any, NamedTuple

import pytest

from capfence import ActionRuntime
from capfence.audit.reader import open_reader
from capfence.audit.verify import verify
from capfence.plugins import build_registry
from tests.support.postgres_server import PostgresServer

POLICY = """
warn:
  - id: observe-shell
    capability: shell.*
"""
PROCESSES, THREADS = 4, 2
TIMEOUT = 2.0
GRACE = TIMEOUT + 1
"""Calls that start this long after the server accepts connections again must all be written."""
CALLS = 10
"""Acknowledged calls each agent makes before the outage, and again after it."""
DENIALS = 10
"""Calls each agent has denied while the server is down."""
MIN_OUTAGE = 3.0
"""The outage lasts at least this long (a lower bound only), so the pool's reconnection attempts give up and start again during it."""
PATIENCE = 120.0
"""Upper bound on each wait; reached only by a stuck run, never by a slow machine."""
SPAWN = multiprocessing.get_context("spawn")


class Call(NamedTuple):
    proc: int
    started: float
    finished: float
    action: str
    record_id: int | None
    command: str
    reason: str


class Finished(NamedTuple):
    proc: int
    log: dict[str, int]


class _LogTally(logging.Handler):
    """Counts log records by logger, level and first line, instead of printing each one."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.counts: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        first = (record.getMessage().splitlines() or [""])[0]
        # one line for all agents, ports and pids
        first = re.sub(r"\d+", "N", re.sub(r"0x[0-9a-f]+|postgresql://\S+", "<...>", first))
        self.counts[f"{record.name} {record.levelname}: {first[:300]}"] += 1


def _agent(url: str, policy: str, proc: int, stop: Any, out: Any) -> None:
    """Decide calls on THREADS threads until told to stop; send each finished call to ``out``, then a log summary."""
    tally = _LogTally()
    logging.basicConfig(handlers=[tally], level=logging.WARNING, force=True)
    try:
        with ActionRuntime.from_policy(policy, audit_log=url) as runtime:

            def work(thread: int) -> None:
                i = 0
                while not stop.is_set():
                    command = f"echo {proc}-{thread}-{i}"
                    started = time.monotonic()
                    decision = runtime.evaluate(
                        "shell.execute", {"command": command}, agent_id=f"agent-{proc}"
                    )
                    finished = time.monotonic()
                    out.put(
                        Call(
                            proc,
                            started,
                            finished,
                            decision.action,
                            decision.record_id,
                            command,
                            decision.reason,
                        )
                    )
                    if decision.allowed:
                        runtime.record_outcome(decision, "ran")
                    i += 1
                    time.sleep(0.01)

            threads = [threading.Thread(target=work, args=(t,)) for t in range(THREADS)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
    finally:
        out.put(Finished(proc, dict(tally.counts)))


class Agents:
    """PROCESSES agent processes, and the calls they have reported so far."""

    def __init__(self, url: str, policy: str) -> None:
        self.stop, self.out = SPAWN.Event(), SPAWN.Queue()
        self.procs = [
            SPAWN.Process(target=_agent, args=(url, policy, p, self.stop, self.out)) for p in range(PROCESSES)
        ]
        self.calls: list[Call] = []
        self.logs: dict[int, dict[str, int]] = {}

    def __enter__(self) -> Agents:
        for p in self.procs:
            p.start()
        return self

    def wait_until(self, what: str, done: Callable[[list[Call]], bool]) -> None:
        """Collect reported calls until ``done(calls)``; fail if an agent dies or PATIENCE runs out."""
        deadline = time.monotonic() + PATIENCE
        while not done(self.calls):
            dead = [p.exitcode for p in self.procs if p.exitcode is not None]
            if dead:
                pytest.fail(f"{what}: an agent process exited ({dead}); {self.progress()}")
            if time.monotonic() > deadline:
                pytest.fail(f"{what}: not within {PATIENCE:g}s; {self.progress()}")
            self._collect(0.1)

    def _collect(self, timeout: float) -> None:
        try:
            item = self.out.get(timeout=timeout)
            while True:
                if isinstance(item, Finished):
                    self.logs[item.proc] = item.log
                else:
                    self.calls.append(item)
                item = self.out.get_nowait()
        except queue.Empty:
            pass

    def progress(self) -> str:
        counts = Counter((c.proc, c.action) for c in self.calls)
        return "calls so far: " + ", ".join(
            f"agent {p}: {counts[p, 'warn']} written, {counts[p, 'deny']} denied" for p in range(PROCESSES)
        )

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Stop the agents, collect what they still report (their log summaries last), and reap them."""
        self.stop.set()
        deadline = time.monotonic() + PATIENCE
        while (
            len(self.logs) < PROCESSES
            and time.monotonic() < deadline
            and any(p.is_alive() for p in self.procs)
        ):
            self._collect(0.1)
        self._collect(0.1)
        for p in self.procs:
            p.join(timeout=60)
            if p.is_alive():
                p.kill()
                p.join()
        print(self.log_summary())
        if kind is None:
            assert all(p.exitcode == 0 for p in self.procs), (
                f"agent exit codes: {[p.exitcode for p in self.procs]}"
            )

    def log_summary(self) -> str:
        """What the agents logged, one line per distinct message (a failing run shows this, not thousands of lines)."""
        total: Counter[str] = Counter()
        for counts in self.logs.values():
            total.update(counts)
        lines = [f"{n:6d} x {message}" for message, n in total.most_common(12)]
        more = len(total) - len(lines)
        return "\n".join(
            [
                "agents' log records (counted, not printed):",
                *lines,
                *([f"  ... {more} more kinds"] if more > 0 else []),
            ]
        )


def each_agent(calls: Iterable[Call], n: int, where: Callable[[Call], bool]) -> bool:
    """Every agent has reported at least ``n`` calls matching ``where``."""
    counts = Counter(c.proc for c in calls if where(c))
    return all(counts[p] >= n for p in range(PROCESSES))


def first_wrong(calls: list[Call], right: Callable[[Call], bool]) -> Call | None:
    return next((c for c in calls if not right(c)), None)


def _written(c: Call) -> bool:
    return c.action == "warn" and c.record_id is not None


def _denied(c: Call) -> bool:
    return c.action == "deny" and "audit log not writable" in c.reason


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["immediate", "fast"])
def test_server_stopped_mid_run(own_pg_server: PostgresServer, tmp_path: Path, mode: str) -> None:
    url = own_pg_server.create_database() + f"?timeout={TIMEOUT:g}"
    policy = tmp_path / "policy.yaml"
    policy.write_text(textwrap.dedent(POLICY))
    with Agents(url, str(policy)) as agents:
        agents.wait_until(
            "every agent writes before the outage", lambda calls: each_agent(calls, CALLS, _written)
        )
        stopping = time.monotonic()
        own_pg_server.stop(mode)  # "immediate" is a crash: no shutdown checkpoint, recovery from the WAL
        down_from = time.monotonic()
        agents.wait_until(
            "every agent has calls decided while the server is down",
            lambda calls: (
                time.monotonic() - down_from >= MIN_OUTAGE
                and each_agent(calls, DENIALS, lambda c: c.started > down_from)
            ),
        )
        down_until = time.monotonic()
        own_pg_server.start()
        back_at = time.monotonic()
        agents.wait_until(
            "every agent writes again once the server is back",
            lambda calls: each_agent(calls, CALLS, lambda c: c.started > back_at + GRACE and _written(c)),
        )
    calls = agents.calls

    before = [c for c in calls if c.finished < stopping]
    during = [c for c in calls if c.started > down_from and c.finished < down_until]
    after = [c for c in calls if c.started > back_at + GRACE]
    assert before and first_wrong(before, _written) is None, (
        f"writes before the outage succeed: {first_wrong(before, _written)}"
    )
    assert during and first_wrong(during, _denied) is None, (
        f"calls are denied while it is down: {first_wrong(during, _denied)}"
    )
    slowest = max(c.finished - c.started for c in during)
    assert slowest < TIMEOUT + 1.5, f"a call took {slowest:.2f}s to be denied"
    assert after and first_wrong(after, _written) is None, (
        f"writes resume once the server is back: {first_wrong(after, _written)}"
    )

    acked = {c.record_id: c.command for c in calls if c.action == "warn"}
    assert None not in acked
    with open_reader(url, build_registry().stores) as reader:
        report = verify(reader, None)
        stored = {
            r["seq"]: json.loads(str(r["payload"]))["command"]
            for r in reader.records()
            if r["kind"] == "decision"
        }
    assert report.ok, report.problem
    lost = {seq: command for seq, command in acked.items() if stored.get(seq) != command}
    assert not lost, f"acknowledged decisions missing after the outage: {list(lost.items())[:5]}"
    median_denial = sorted(c.finished - c.started for c in during)[len(during) // 2]
    last_denial = max(
        (c.started - back_at for c in calls if c.started > back_at and c.action == "deny"), default=0.0
    )
    print(
        f"\n{mode}: {len(before)} before, {len(during)} denied during the {down_until - down_from:.1f}s outage "
        f"(median {median_denial * 1000:.1f} ms, slowest {slowest * 1000:.0f} ms), {len(after)} after; "
        f"last denial {last_denial:.2f}s after the restart; {len(acked)} acknowledged, all present"
    )


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
