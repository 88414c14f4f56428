"""``capfence logs --follow`` prints every decision once, including one that commits after a later-stamped one.

On a partitioned PostgreSQL log each partition is a chain of its own: a record stamped at ``t1`` in one partition
may commit after a record stamped at ``t2 > t1`` in another (its writer waited on its partition's lock, or on the
disk). Following by ``(ts, seq)`` would skip it for ever; following each chain by ``seq`` does not. Real server,
real runtimes, the real executable in a subprocess.
"""

from __future__ import annotations

import json
import queue
import subprocess
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from capfence import ActionRuntime
from capfence.audit.partitions import STRIDE
from capfence.audit.postgres_schema import PARTITION_LOCK
from tests.support.cli import COMMAND
from tests.support.paths import DATA, POLICIES
from tests.support.waiting import PATIENCE, wait_for

POLICY = POLICIES / "shell_rollout.yaml"


class Follower:
    """``capfence logs --follow --format jsonl`` in a subprocess; its lines read by a thread, waited on one by one."""

    def __init__(self, location: str) -> None:
        args = [
            "logs",
            "--audit-log",
            location,
            "--follow",
            "--interval",
            "0.05",
            "-n",
            "1",
            "--format",
            "jsonl",
        ]
        self.process = subprocess.Popen([*COMMAND, *args], stdout=subprocess.PIPE, text=True)
        self.lines: queue.Queue[dict[str, Any]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(json.loads(line))

    def next(self) -> dict[str, Any]:
        """The next decision printed (fails after the suite's patience)."""
        return self.lines.get(timeout=PATIENCE)

    def next_command(self) -> str:
        """The command of the next decision printed."""
        return str(self.next()["payload"]["command"])

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=PATIENCE)


@pytest.fixture
def follower_on() -> Iterator[type[Follower]]:
    started: list[Follower] = []

    def start(location: str) -> Follower:
        follower = Follower(location)
        started.append(follower)
        return follower

    yield start  # type: ignore[misc]
    for follower in started:
        follower.stop()


def test_follow_prints_each_new_decision_once(audit_location: str, follower_on: Any) -> None:
    with ActionRuntime.from_policy(POLICY, audit_log=audit_location) as runtime:
        runtime.evaluate("shell.execute", {"command": "echo before"}, agent_id="a")
        follower = follower_on(audit_location)
        assert follower.next_command() == "echo before"
        for n in range(5):
            runtime.evaluate("shell.execute", {"command": f"echo {n}"}, agent_id="a")
        assert [follower.next_command() for _ in range(5)] == [f"echo {n}" for n in range(5)]
        runtime.evaluate("shell.execute", {"command": "echo last"}, agent_id="a")
        assert follower.next_command() == "echo last"  # nothing printed twice in between


def test_follow_goes_on_across_the_migration_to_partitions(pg_url: str, follower_on: Any) -> None:
    """A schema-4 log (one chain) migrated by a writer while it is followed: the partitions it writes to are followed."""
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute((DATA / "postgres_schema4.sql").read_text())
    follower = follower_on(pg_url)
    assert follower.next()["seq"] < STRIDE  # the newest decision of the old log
    with ActionRuntime.from_policy(POLICY, audit_log=pg_url) as runtime:
        seqs = [
            runtime.evaluate("shell.execute", {"command": f"echo new {n}"}, agent_id="a").record_id
            for n in range(3)
        ]
    assert all(seq is not None and seq > STRIDE for seq in seqs)  # in a partition: the log was migrated
    assert [follower.next_command() for _ in range(3)] == [f"echo new {n}" for n in range(3)]


def _partitions_apart(pg_url: str) -> tuple[ActionRuntime, ActionRuntime, int]:
    """Two runtimes on one log appending to different partitions (a lane that collides hops), and the first's.

    Neither writes a cross-link while the test runs (``crosslink=3600``): one due on a busy machine would be the
    append that waits on the lock, and the decision after it would be stamped only once the lock is released.
    """
    url = f"{pg_url}?crosslink=3600"
    slow = ActionRuntime.from_policy(POLICY, audit_log=url, audit_timeout=60)
    fast = ActionRuntime.from_policy(POLICY, audit_log=url)
    for _ in range(50):
        mine = slow.evaluate("shell.execute", {"command": "echo warm"}, agent_id="slow").record_id
        theirs = fast.evaluate("shell.execute", {"command": "echo warm"}, agent_id="fast").record_id
        assert mine is not None and theirs is not None
        again = slow.evaluate("shell.execute", {"command": "echo warm"}, agent_id="slow").record_id
        assert again is not None
        if mine // STRIDE == again // STRIDE != theirs // STRIDE:
            return slow, fast, again // STRIDE
    raise AssertionError("the two runtimes never appended to different partitions")


def test_a_record_that_commits_after_a_later_one_is_printed(pg_url: str, follower_on: Any) -> None:
    import psycopg

    slow, fast, part = _partitions_apart(pg_url)
    follower = follower_on(pg_url)
    assert follower.next_command() == "echo warm"
    holder = psycopg.connect(pg_url)
    try:
        holder.execute(PARTITION_LOCK.format(part=part))  # the slow writer's partition: its append will wait
        stamped: list[object] = []
        writer = threading.Thread(
            target=lambda: stamped.append(
                slow.evaluate("shell.execute", {"command": "echo stamped first"}, agent_id="slow")
            )
        )
        writer.start()
        waiting = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        with psycopg.connect(pg_url, autocommit=True) as probe:
            wait_for(lambda: probe.execute(waiting).fetchone() == (1,), "the slow append waiting on its lock")
        fast.evaluate("shell.execute", {"command": "echo committed first"}, agent_id="fast")
        assert follower.next_command() == "echo committed first"
    finally:
        holder.rollback()  # the lock goes: the slow append commits now, stamped before the record printed
        holder.close()
    writer.join(timeout=PATIENCE)
    assert follower.next_command() == "echo stamped first"
    with psycopg.connect(pg_url) as conn:
        times = dict(conn.execute("SELECT payload, ts FROM records WHERE payload LIKE '%first%'").fetchall())
    assert times['{"command":"echo stamped first"}'] < times['{"command":"echo committed first"}']
    slow.close()
    fast.close()
