"""The lossless encoding that binds approvals, reused records and running tool bodies to exact arguments."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import math
import subprocess
import sys
from collections import OrderedDict, namedtuple
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capfence import ActionRuntime, ApprovalRequired, CapFenceTool
from capfence.call import canonical
from capfence.call.gate import Binding
from capfence.call.view import CallView


class Color(enum.Enum):
    RED = 1


class Shade(enum.Enum):
    RED = 1


class Perm(enum.Flag, boundary=enum.KEEP):
    """A flag whose pseudo-members (no flag, an unnamed bit) have no name."""

    READ = 1
    WRITE = 2


@dataclasses.dataclass
class Point:
    x: object


class Text(str):
    def __str__(self) -> str:
        return "spoofed"


Pair = namedtuple("Pair", "a b")


def nested(depth: int, bottom: object) -> object:
    value = bottom
    for _ in range(depth):
        value = {"x": value}
    return value


DISTINCT: list[object] = [
    "x",
    b"x",
    bytearray(b"x"),
    ["x"],
    ("x",),
    {"x"},
    frozenset({"x"}),
    Text("x"),
    1,
    1.0,
    True,
    "1",
    Decimal("1"),
    Decimal("1.0"),
    Color.RED,
    Shade.RED,
    {1: 0},
    {"1": 0},
    {True: 0},
    {1.0: 0},
    math.nan,
    "NaN",
    math.inf,
    -math.inf,
    "inf",
    0.0,
    -0.0,
    None,
    "null",
    10**5000,
    10**5000 + 1,
    str(10**50),
    10**50,
    [1, 2],
    [2, 1],
    (1, 2),
    Pair(1, 2),
    {"a": 1, "b": 2},
    OrderedDict(a=1, b=2),
    OrderedDict(b=2, a=1),
    Point(1),
    Point("1"),
    {"x": 1},
    dt.datetime(2024, 1, 1),
    dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
    dt.date(2024, 1, 1),
    "2024-01-01",
    dt.timedelta(1),
    UUID(int=1),
    str(UUID(int=1)),
    PurePosixPath("a/b"),
    PureWindowsPath("a/b"),
    "a/b",
    nested(70, "a"),
    nested(70, "b"),
    nested(70, 1),
    nested(71, "a"),
    "\udcff",
    "\\udcff",
    "é",
    "e\u0301",
    Perm(0),
    Perm(8),
    Perm(16),
    Perm.READ,
    Perm.READ | Perm.WRITE,
    Perm.READ | Perm(8),
    0,
    8,
]
"""Pairwise different values (to a tool): no two may share an encoding."""


def test_values_a_tool_can_tell_apart_never_share_an_encoding() -> None:
    texts = [canonical.encode(v) for v in DISTINCT]
    clashes = [
        (DISTINCT[i], DISTINCT[j]) for i in range(len(texts)) for j in range(i) if texts[i] == texts[j]
    ]
    assert clashes == []


def test_the_encoding_is_canonical() -> None:
    assert canonical.encode({"b": 1, "a": [1, {"d": 2, "c": 3}]}) == canonical.encode(
        {"a": [1, {"c": 3, "d": 2}], "b": 1}
    )
    assert canonical.encode({3, 1, 2}) == canonical.encode({2, 3, 1})
    assert canonical.encode({1: "a", "1": "b"}) == canonical.encode({"1": "b", 1: "a"})


def test_lone_surrogates_are_escaped_so_the_text_is_storable_json() -> None:
    text = canonical.encode({"name": "f\udcff", "raw": "\\udcff"})
    assert text.encode("utf-8") and json.loads(text) == {"name": "f\udcff", "raw": "\\udcff"}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=30,
)


@settings(max_examples=400, deadline=None)
@given(json_values)
def test_json_data_encodes_as_canonical_json(value: object) -> None:
    text = canonical.encode(value)
    assert json.loads(text) == value
    assert text == json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def strict(value: object) -> object:
    """``value`` with every type made explicit, so Python's == no longer folds 1, 1.0 and True."""
    if isinstance(value, dict):
        return ("dict", frozenset((strict(k), strict(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return (type(value).__name__, tuple(strict(v) for v in value))
    if isinstance(value, float) and math.isnan(value):
        return ("float", "nan")
    if isinstance(value, float):
        return ("float", value.hex())
    return (type(value).__name__, value)


python_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=4) | st.binary(max_size=4),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.tuples(inner, inner)
        | st.dictionaries(st.integers(0, 3) | st.text(max_size=2) | st.booleans(), inner, max_size=3)
    ),
    max_leaves=12,
)


@settings(max_examples=1500, deadline=None)
@given(python_values, python_values)
def test_two_values_share_an_encoding_only_when_they_are_the_same(a: object, b: object) -> None:
    assert (canonical.encode(a) == canonical.encode(b)) == (strict(a) == strict(b))


@pytest.mark.parametrize(
    ("value", "why"),
    [
        (object(), "a object value has no lossless encoding"),
        (nested(canonical.MAX_DEPTH + 1, 1), "nested more than"),
        (print, "has no lossless encoding"),
    ],
)
def test_values_without_a_lossless_form_are_refused(value: object, why: str) -> None:
    with pytest.raises(canonical.NotCanonical, match=why):
        canonical.encode(value)


class BrokenZone(dt.tzinfo):
    def utcoffset(self, when: dt.datetime | None) -> dt.timedelta:
        raise RuntimeError("no offset today")


@dataclasses.dataclass
class Unset:
    x: int = dataclasses.field(init=False)


class BrokenMapping(dict[str, int]):
    def items(self) -> Any:
        raise KeyError("gone")


@pytest.mark.parametrize(
    "value",
    [dt.datetime(2024, 1, 1, tzinfo=BrokenZone()), Unset(), BrokenMapping(a=1)],
    ids=["tzinfo", "unset-field", "mapping"],
)
def test_a_value_that_fails_while_encoded_is_refused(value: object) -> None:
    """Whatever a value raises while it is read is :class:`NotCanonical` (nothing can be bound to it), never another error."""
    with pytest.raises(canonical.NotCanonical, match="could not be encoded"):
        canonical.encode({"doc": value})
    assert canonical.same_arguments({"doc": value}, "{}") is False


def test_a_cycle_is_refused_but_a_shared_value_is_not() -> None:
    loop: list[object] = []
    loop.append(loop)
    with pytest.raises(canonical.NotCanonical, match="cycle"):
        canonical.encode({"a": loop})
    shared = [1]
    assert canonical.encode([shared, shared]) == "[[1],[1]]"


def test_redaction_masks_values_under_secret_keys() -> None:
    assert (
        canonical.encode({"Token": "s3cret", "user": "a"}, redact=frozenset({"token"}))
        == '{"Token":"***REDACTED***","user":"a"}'
    )


# --- approvals bind to exactly the approved arguments ----------------------------------------

POLICY = """
require_approval:
  - id: review
    capability: data.write
"""


def test_approving_one_call_does_not_let_a_different_one_run(runtime: Callable[..., ActionRuntime]) -> None:
    """Two payloads the audit serialization folds together (nested past its cut, bytes vs str, tuple vs list)."""
    rt = runtime(POLICY)
    ran: list[object] = []

    def write(doc: object) -> None:
        ran.append(doc)

    tool = CapFenceTool(tool=write, agent_id="a", capability="data.write", gate=rt)
    pairs = [
        (nested(70, "safe"), nested(70, "evil")),
        (b"x", "x"),
        ((1, 2), [1, 2]),
        ({1: "a"}, {"1": "a"}),
        (math.nan, "NaN"),
    ]
    for approved, other in pairs:
        with pytest.raises(ApprovalRequired) as held:
            tool(doc=approved)
        rt.approvals.approve(str(held.value.request_id), by="reviewer")
        with pytest.raises(ApprovalRequired) as again:
            tool(doc=other)
        assert again.value.request_id != held.value.request_id, (
            f"{other!r} ran on the approval of {approved!r}"
        )
        tool(doc=approved)
    assert ran == [approved for approved, _ in pairs]


def test_arguments_with_no_lossless_form_can_never_be_approved(
    runtime: Callable[..., ActionRuntime], audit_rows: Any, tmp_path: Path
) -> None:
    rt = runtime(POLICY)
    decision = rt.evaluate("data.write", {"doc": object()}, agent_id="a")
    assert decision.action == "deny"
    assert "cannot be approved: a object value has no lossless encoding" in decision.reason
    assert rt.approvals.list() == []
    assert [r["decision"] for r in audit_rows(tmp_path / "audit.db", "decision")] == ["deny"]


def test_a_call_with_a_call_id_and_an_odd_value_gets_its_decision_recorded(
    runtime: Callable[..., ActionRuntime], audit_rows: Any, tmp_path: Path
) -> None:
    """Arguments that fail to encode bind nothing; the call is still decided by the policy and recorded (not an audit failure)."""
    rt = runtime(GATE)
    for doc in (Perm(0), Unset()):
        decision = rt.evaluate("shell.execute", {"command": "ls", "doc": doc}, agent_id="a", call_id="c1")
        assert (decision.action, decision.record_id is not None) == ("allow", True), decision.reason
    assert [r["decision"] for r in audit_rows(tmp_path / "audit.db", "decision")] == ["allow", "allow"]


def test_a_lone_surrogate_can_be_approved_and_is_shown_escaped(
    runtime: Callable[..., ActionRuntime], tmp_path: Path
) -> None:
    """An undecodable file name (``os.fsdecode`` gives lone surrogates) is held, shown as a JSON escape, and runs once approved."""
    rt = runtime(POLICY)
    ran: list[object] = []

    def write(doc: object) -> None:
        ran.append(doc)

    tool = CapFenceTool(tool=write, agent_id="a", capability="data.write", gate=rt)
    with pytest.raises(ApprovalRequired) as held:
        tool(doc="/tmp/\udcff")
    [request] = rt.approvals.list("pending")
    assert request.payload == '{"doc":"/tmp/\\udcff"}' and json.loads(request.payload) == {
        "doc": "/tmp/\udcff"
    }
    rt.approvals.approve(str(held.value.request_id), by="reviewer")
    with pytest.raises(ApprovalRequired):
        tool(doc="/tmp/\\udcff")  # the text that looks like the escape is another call
    tool(doc="/tmp/\udcff")
    assert ran == ["/tmp/\udcff"]


def test_approvals_show_displays_exactly_what_will_run(
    runtime: Callable[..., ActionRuntime], tmp_path: Path
) -> None:
    rt = runtime(POLICY)
    small = rt.evaluate("data.write", {"doc": b"\x00raw", "tags": ("a",)}, agent_id="a")
    big = rt.evaluate("data.write", {"doc": "x" * (2 << 20)}, agent_id="a")
    rt.close()

    def show(request_id: object) -> str:
        command = [
            sys.executable,
            "-m",
            "capfence.cli",
            "approvals",
            "show",
            str(request_id),
            "--audit-log",
            str(tmp_path / "audit.db"),
        ]
        return subprocess.run(command, capture_output=True, text=True, check=True).stdout

    assert """{"doc":b'\\x00raw',"tags":("a",)}""" in show(small.approval_id)
    shown = show(big.approval_id)
    digest = CallView("data.write", {"doc": "x" * (2 << 20)}).args_digest
    assert "__capfence_truncated__" in shown and digest in shown


# --- a tool body runs only on the arguments that were decided ----------------------------------

GATE = """
deny:
  - capability: shell.execute
    contains: rm -rf
allow:
  - capability: shell.execute
"""


def test_arguments_rewritten_inside_a_decided_call_are_decided_again(
    runtime: Callable[..., ActionRuntime], audit_rows: Any, tmp_path: Path
) -> None:
    """An outer gated step decided ``ls``; the inner gated step (same call key) receives rewritten arguments."""
    rt = runtime(GATE)
    binding = Binding(gate=rt, agent_id="a", capability="shell.execute", framework="test")
    ran: list[str] = []

    def inner(payload: dict[str, str]) -> str:
        return binding.call(
            7, payload, lambda: ran.append(payload["command"]) or "ran", on_block=lambda d: d.action
        )

    assert binding.call(7, {"command": "ls"}, lambda: inner({"command": "ls"})) == "ran"
    assert binding.call(7, {"command": "ls"}, lambda: inner({"command": "rm -rf /"})) == "deny"
    # not the bytes that were decided
    assert binding.call(7, {"command": "ls"}, lambda: inner({"command": b"ls"})) == "ran"
    assert ran == ["ls", b"ls"]
    assert [r["decision"] for r in audit_rows(tmp_path / "audit.db", "decision")] == [
        "allow",
        "allow",
        "deny",
        "allow",
        "allow",
    ]
