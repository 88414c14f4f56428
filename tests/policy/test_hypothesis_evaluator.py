"""Property: whatever the payload, ``evaluate`` returns a Decision and the audit write succeeds.

Payloads are arbitrary nests of dicts, lists, tuples and sets holding odd
unicode (lone surrogates, combining marks, fullwidth forms), huge strings,
bytes, huge and tiny numbers, NaN, datetimes, non-string keys and arbitrary
objects. The policy uses every built-in condition in deny and allow rules, a
redact list and a small payload cap, so every code path of matching and of
serialization is exercised.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import sqlite3
import textwrap
from decimal import Decimal
from pathlib import PurePosixPath
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capfence import ActionRuntime, Decision
from capfence.call.decision import ACTIONS
from capfence.call.view import CallView
from capfence.policy.engine import evaluate

POLICY = """
redact: [secret_field]
max_payload_bytes: 2048
deny:
  - capability: "shell.*"
    contains: ["rm -rf", "ｃｕｒｌ"]
  - capability: "pay.*"
    args: {amount: {gt: 1000}, nested.value: {lte: -5}}
  - capability: "fs.*"
    path: {under: ["/etc", "~/.ssh"], glob: "**/*.pem"}
  - capability: "*"
    agent: "evil-*"
    environment: production
require_approval:
  - capability: "*"
    tool: "run_*"
    contains: sudo
warn:
  - capability: "*"
    path: {not_under: ["/tmp"], case_sensitive: false}
allow:
  - capability: "pay.*"
    args: {amount: {lte: 1000}}
  - capability: "fs.*"
    path: {under: ["/tmp"]}
  - capability: "shell.*"
"""


class Unprintable:
    def __str__(self) -> str:
        raise ValueError("nope")

    __repr__ = __str__


class Hostile:
    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(name)


odd_text = st.text(st.characters(exclude_categories=()), max_size=40)
big_text = st.builds(
    lambda ch, n: ch * n, st.sampled_from(["x", "é", "\u200b", "🙂", " "]), st.integers(0, 200_000)
)
path_text = st.lists(
    st.sampled_from(["/", "..", ".", "etc", "~", "tmp", "a.pem", "//", "\x00", "ＥＴＣ"]), max_size=8
).map("".join)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(4300, 6000).map(lambda digits: -(10**digits)),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=True),
    odd_text,
    big_text,
    path_text,
    st.binary(max_size=40),
    st.datetimes(),
    st.dates(),
    st.builds(PurePosixPath, path_text.filter(bool)),
    st.builds(Unprintable),
    st.builds(Hostile),
    st.builds(object),
    st.sampled_from([math.nan, Decimal("NaN"), "1e9999", "  1_000_000 ", "-0"]),
)
keys = st.one_of(
    odd_text,
    st.sampled_from(["amount", "path", "command", "secret_field", "Password", "nested", "value", "files"]),
    st.integers(),
    st.none(),
    st.booleans(),
    st.floats(allow_nan=False),
    st.tuples(st.integers(), odd_text),
    st.frozensets(st.integers(), max_size=2),
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.tuples(children, children),
        st.frozensets(st.one_of(st.integers(), odd_text), max_size=4),
        st.dictionaries(keys, children, max_size=5),
    ),
    max_leaves=25,
)
payloads = st.one_of(
    st.dictionaries(keys, values, max_size=6),
    # shaped like what the rules look for, so args/path/contains see hostile values where they read
    st.fixed_dictionaries(
        {"amount": scalars, "nested": st.fixed_dictionaries({"value": scalars})},
        optional={"path": values, "files": st.lists(path_text), "command": values, "secret_field": values},
    ),
)
names = st.one_of(st.none(), odd_text, st.sampled_from(["evil-1", "run_shell", "production", "PRODUCTION"]))
capabilities = st.sampled_from(
    ["shell.execute", "pay.send", "fs.read", "fs.write", "other", "shell.", "x" * 300, "a:b/c@d"]
)


@pytest.fixture(scope="module")
def shared_runtime(tmp_path_factory: pytest.TempPathFactory) -> Any:
    directory = tmp_path_factory.mktemp("hypothesis")
    policy = directory / "policy.yaml"
    policy.write_text(textwrap.dedent(POLICY))
    rt = ActionRuntime.from_policy(policy, audit_log=directory / "audit.db")
    yield rt
    rt.close()


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(capability=capabilities, payload=payloads, agent=names, environment=names, tool=names)
def test_evaluate_never_raises_and_audit_never_fails(
    shared_runtime: ActionRuntime,
    capability: str,
    payload: dict[Any, Any],
    agent: str | None,
    environment: str | None,
    tool: str | None,
) -> None:
    decision = shared_runtime.evaluate(
        capability, payload, agent_id=agent, environment=environment, tool=tool
    )  # type: ignore[arg-type]

    assert isinstance(decision, Decision)
    assert decision.action in ACTIONS
    assert not decision.reason.startswith("internal_error"), decision.reason
    assert decision.record_id is not None
    conn = sqlite3.connect(f"file:{shared_runtime.audit_log}?mode=ro", uri=True)
    try:
        stored, truncated = conn.execute(
            "SELECT payload, truncated FROM records WHERE seq = ?", (decision.record_id,)
        ).fetchone()
    finally:
        conn.close()
    parsed = json.loads(stored)
    if not truncated:
        assert isinstance(parsed, dict) and len(parsed) <= len(payload)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(capability=capabilities, payload=payloads, agent=names, environment=names, tool=names)
def test_pure_evaluator_is_total_and_deterministic(
    shared_runtime: ActionRuntime,
    capability: str,
    payload: dict[Any, Any],
    agent: str | None,
    environment: str | None,
    tool: str | None,
) -> None:
    policy = shared_runtime.policy
    first = evaluate(policy, CallView(capability, payload, agent, environment, tool))
    second = evaluate(policy, CallView(capability, payload, agent, environment, tool))
    assert first == second
    assert first.action in ACTIONS


def test_datetime_now_is_fine(shared_runtime: ActionRuntime) -> None:
    """A smoke example outside hypothesis, so a broken strategy cannot hide a broken runtime."""
    decision = shared_runtime.evaluate(
        "pay.send", {"amount": 5, "when": dt.datetime.now(dt.UTC)}, agent_id="a"
    )
    assert (decision.action, decision.rule) == ("allow", "allow[0]")
    assert (
        shared_runtime.evaluate("pay.send", {"amount": "5000", "nested": {"value": -10}}, agent_id="a").rule
        == "deny[1]"
    )
