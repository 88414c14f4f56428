"""Rate and budget limits (``limit:``): usage kept in the audit store, SQLite and PostgreSQL alike.

The race tests start real processes that each take the last unit of a budget at the same moment (they wait on a
file, not a sleep): exactly one of them gets it, on both stores.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from capfence import ActionRuntime
from capfence.audit.sqlite import SCHEMA_VERSION
from capfence.errors import PolicyError
from tests.support.loading import load_policy

POLICY = """
default: deny
deny:
  - id: shell-rate
    capability: shell.execute
    limit: {max: 2, per: 1m, by: agent}
require_approval:
  - id: refund-budget
    capability: payments.refund
    limit: {sum: amount, max: 5000, per: 1h, by: [agent]}
allow:
  - capability: shell.execute
  - capability: payments.refund
"""


@pytest.fixture
def make(tmp_path: Path, audit_location: str) -> Iterator[Callable[..., ActionRuntime]]:
    built: list[ActionRuntime] = []
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)

    def build(**kwargs: object) -> ActionRuntime:
        runtime = ActionRuntime.from_policy(policy, audit_log=audit_location, **kwargs)  # type: ignore[arg-type]
        built.append(runtime)
        return runtime

    yield build
    for runtime in built:
        runtime.close()


def test_a_rate_limit_denies_past_max_and_says_how_much_was_used(make: Callable[..., ActionRuntime]) -> None:
    runtime = make()
    actions = [runtime.evaluate("shell.execute", {"command": "ls"}, agent_id="a").action for _ in range(3)]
    assert actions == ["allow", "allow", "deny"]
    denied = runtime.evaluate("shell.execute", {"command": "ls"}, agent_id="a")
    assert denied.rule == "shell-rate"
    assert (
        "at most 2 call(s) per 1m for agent 'a': 2 used in the last 1m; this call (1) would make 3"
        in denied.reason
    )
    assert runtime.evaluate("shell.execute", {"command": "ls"}, agent_id="b").action == "allow"  # by: agent


def test_usage_survives_a_restart(make: Callable[..., ActionRuntime]) -> None:
    first = make()
    for _ in range(2):
        assert first.evaluate("shell.execute", {"command": "ls"}, agent_id="a").allowed
    first.close()
    assert make().evaluate("shell.execute", {"command": "ls"}, agent_id="a").action == "deny"


def test_a_budget_sums_an_argument_and_holds_past_it(make: Callable[..., ActionRuntime]) -> None:
    runtime = make(approver=None)
    assert runtime.evaluate("payments.refund", {"amount": 3000}, agent_id="a").allowed
    assert runtime.evaluate("payments.refund", {"amount": "1500"}, agent_id="a").allowed
    held = runtime.evaluate("payments.refund", {"amount": 600}, agent_id="a")
    assert held.action == "require_approval" and held.rule == "refund-budget"
    assert "4,500 of amount used in the last 1h; this call (600) would make 5,100" in held.reason
    # a held call counted nothing
    assert runtime.evaluate("payments.refund", {"amount": 500}, agent_id="a").allowed
    unknown = runtime.evaluate("payments.refund", {"amount": "lots"}, agent_id="b")
    assert unknown.action == "require_approval" and "cannot be known" in unknown.reason


def test_the_record_lists_what_the_call_counted(
    make: Callable[..., ActionRuntime], audit_location: str
) -> None:
    runtime = make()
    decision = runtime.evaluate("shell.execute", {"command": "ls"}, agent_id="a")
    from capfence.audit.query import Filters
    from capfence.audit.reader import open_reader
    from capfence.plugins import build_registry

    with open_reader(audit_location, build_registry().stores) as reader:
        [row] = list(reader.decisions(Filters()))
    assert json.loads(row["detail"])["limits"] == [
        {"rule": "shell-rate", "key": '["shell-rate", {"agent": "a"}]', "amount": "1"}
    ]
    assert decision.record_id == row["seq"]


def test_usage_that_cannot_be_read_denies(make: Callable[..., ActionRuntime], audit_location: str) -> None:
    runtime = make()
    assert runtime.evaluate("shell.execute", {"command": "ls"}, agent_id="a").allowed
    store = runtime._require_store()
    with store.transaction() as tx:  # type: ignore[attr-defined]
        tx.execute("DROP TABLE usage")
    denied = runtime.evaluate("shell.execute", {"command": "ls"}, agent_id="a")
    assert denied.action == "deny"
    assert denied.reason.startswith(
        "internal_error: limit: the usage of a limit could not be read from the audit store"
    )


RACER = """
import sys, time
from pathlib import Path
from capfence import ActionRuntime
policy, log, agent, ready, go = sys.argv[1:]
runtime = ActionRuntime.from_policy(policy, audit_log=log)
runtime.evaluate("warmup", {}, agent_id="warmup")  # the store is open and migrated
Path(ready).touch()
while not Path(go).exists():
    time.sleep(0.001)
print(runtime.evaluate("payments.refund", {"amount": 1}, agent_id=agent).action)
runtime.close()
"""


def test_two_processes_racing_for_the_last_unit_cannot_both_get_it(
    tmp_path: Path, audit_location: str
) -> None:
    policy = tmp_path / "race.yaml"
    policy.write_text(
        textwrap.dedent("""
        deny:
          - id: once
            capability: payments.refund
            limit: {sum: amount, max: 1, per: 1h, by: agent}
        allow:
          - capability: "*"
        """)
    )
    for round_ in range(4):
        go = tmp_path / f"go{round_}"
        ready = [tmp_path / f"ready{round_}-{i}" for i in range(2)]
        racers = [
            subprocess.Popen(
                [sys.executable, "-c", RACER, str(policy), audit_location, f"agent{round_}", str(r), str(go)],
                stdout=subprocess.PIPE,
                text=True,
            )
            for r in ready
        ]
        deadline = time.monotonic() + 60
        while not all(r.exists() for r in ready):
            assert time.monotonic() < deadline and all(p.poll() is None for p in racers), (
                "a racer did not start"
            )
            time.sleep(0.01)
        go.touch()
        results = sorted(p.communicate(timeout=60)[0].strip() for p in racers)
        assert results == ["allow", "deny"], f"round {round_}: {results}"


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("allow:\n  - capability: x\n    limit: {max: 1, per: 1m}", "limit cannot be used in an allow rule"),
        ("deny:\n  - capability: x\n    limit: {max: 1}", "limit needs per"),
        ("deny:\n  - capability: x\n    limit: {max: 1, per: soon}", "invalid duration"),
        ("deny:\n  - capability: x\n    limit: {max: 1, per: 1m, by: user}", "unknown limit scope 'user'"),
        ("deny:\n  - capability: x\n    limit: {max: 1, per: 1m, bye: agent}", "unknown key 'bye' in limit"),
        (
            "deny:\n  - capability: x\n    mode: shadow\n    limit: {max: 1, per: 1m}",
            "a shadow rule cannot have a limit",
        ),
    ],
)
def test_misuse_is_reported_with_file_and_line(tmp_path: Path, rule: str, message: str) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(rule + "\n")
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    problem = info.value.problems[0]
    assert problem.line is not None and problem.line >= 2 and message in problem.message, problem


def test_a_log_from_before_limits_migrates_and_still_verifies(tmp_path: Path) -> None:
    import sqlite3

    from click.testing import CliRunner

    from capfence.cli.app import cli

    log = tmp_path / "old.db"
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    with ActionRuntime.from_policy(policy, audit_log=log) as runtime:
        runtime.evaluate("svc.read", {}, agent_id="a")
    with sqlite3.connect(log) as conn:  # as CapFence wrote it before schema v4: no usage or policies table
        conn.execute("DROP TABLE usage")
        conn.execute("DROP TABLE policies")
        conn.execute("PRAGMA user_version = 3")
    with ActionRuntime.from_policy(policy, audit_log=log) as runtime:
        for _ in range(3):
            runtime.evaluate("shell.execute", {"command": "ls"}, agent_id="a")
    result = CliRunner().invoke(cli, ["verify", "--audit-log", str(log)])
    assert result.exit_code == 0 and "OK: 4 record(s)" in result.output, result.output
    with sqlite3.connect(log) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("SELECT COUNT(*) FROM usage").fetchone()[0] == 2


def test_a_warn_limit_is_reported_on_a_call_that_is_warned_anyway(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("default: warn\nwarn:\n  - id: busy\n    capability: x\n    limit: {max: 1, per: 1h}\n")
    with ActionRuntime.from_policy(policy, audit_log=tmp_path / "a.db") as runtime:
        first, second = (runtime.evaluate("x", {}, agent_id="a") for _ in range(2))
    assert (first.action, first.rule) == ("warn", None)
    assert (second.action, second.rule) == ("warn", "busy") and "1 used in the last 1h" in second.reason


def test_a_store_that_cannot_keep_usage_denies(tmp_path: Path) -> None:
    class AppendOnly:
        """A plugin store with only the required interface: no transactions, so no usage."""

        location = "append-only"

        def __init__(self) -> None:
            self.records: list[dict[str, object]] = []

        def append(self, record: dict[str, object]) -> int:
            self.records.append(dict(record))
            return len(self.records)

        def close(self) -> None:
            pass

    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    runtime = ActionRuntime.from_policy(policy, audit_log=tmp_path / "unused.db")
    store = AppendOnly()
    runtime._store = store  # type: ignore[assignment]
    runtime._transactional = None  # what opening it through its store type would have found
    denied = runtime.evaluate("shell.execute", {"command": "ls"}, agent_id="a")
    assert denied.action == "deny" and "cannot keep usage (it has no transactions)" in denied.reason
    assert store.records[-1]["decision"] == "deny"  # and the deny is recorded
    # no limit rule: decided as ever (default)
    assert runtime.evaluate("svc.read", {}, agent_id="a").action == "deny"
