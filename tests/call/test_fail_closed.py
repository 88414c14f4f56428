"""Fail-closed: every injected fault yields ``deny`` with an ``internal_error:`` reason, and the tool body never runs.

Faults are injected into real components (a plugin condition that raises, the
evaluator or the store made to raise, a real unwritable path, a real lock held
by another connection, a real corrupt file); nothing of ours is mocked out.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import capfence.audit.sqlite
import capfence.call.runtime
from capfence import ActionRuntime, CapFenceTool, Decision, ToolCallDenied, hookimpl
from capfence.audit.sqlite import SQLiteStore
from capfence.plugins import Registry
from tests.support.audit import audit_rows
from tests.support.gates import BrokenGate
from tests.support.observers import RecordingObserver
from tests.support.policies import ALLOW_ALL


def side_effect_tool(marker: Path) -> Callable[..., str]:
    """A tool whose body leaves a real trace on disk."""

    def write_file(content: str) -> str:
        """Write content to the marker file."""
        marker.write_text(content)
        return "written"

    return write_file


def assert_denied_internally(decision: Decision, fragment: str) -> None:
    assert decision.action == "deny"
    assert not decision.allowed
    assert decision.rule is None
    assert decision.reason.startswith("internal_error: "), decision.reason
    assert fragment in decision.reason, decision.reason


def assert_tool_blocked(rt: ActionRuntime, tmp_path: Path, fragment: str) -> None:
    """Through the real wrapper: the call raises ToolCallDenied and the body's file is never created."""
    marker = tmp_path / "body-ran"
    safe = CapFenceTool(tool=side_effect_tool(marker), agent_id="a", capability="fs.write", gate=rt)
    with pytest.raises(ToolCallDenied) as caught:
        safe(content="x")
    assert_denied_internally(caught.value.decision, fragment)
    assert not marker.exists()


# --- matching and evaluation ------------------------------------------------------------

EXPLODING_PLUGIN = """
import capfence
from capfence.policy.spec import ConditionType


def _compile(value, context):
    def explode(view):
        raise RuntimeError("injected condition fault")
    return explode


@capfence.hookimpl
def capfence_register_matchers(register):
    register(ConditionType("explode", _compile, "always raises", "explode: true"))
"""


def test_condition_that_raises(
    install_plugin: Callable[[str, str], None], runtime: Callable[..., ActionRuntime], tmp_path: Path
) -> None:
    install_plugin("capfence_test_exploding", EXPLODING_PLUGIN)
    rt = runtime("allow:\n  - capability: '*'\n    explode: true\n")

    decision = rt.evaluate("fs.write", {"content": "x"}, agent_id="a")

    assert_denied_internally(decision, "evaluation failed: RuntimeError: injected condition fault")
    assert_tool_blocked(rt, tmp_path, "injected condition fault")
    rows = audit_rows(tmp_path / "audit.db", "decision")
    assert rows and all(r["decision"] == "deny" and r["reason"].startswith("internal_error:") for r in rows)


def test_evaluator_raising(
    runtime: Callable[..., ActionRuntime], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rt = runtime(ALLOW_ALL)
    assert rt.evaluate("fs.write", {}, agent_id="a").action == "allow"

    def broken(policy: object, view: object) -> Decision:
        raise ZeroDivisionError("injected evaluator fault")

    monkeypatch.setattr(capfence.call.runtime, "evaluate_policy", broken)
    decision = rt.evaluate("fs.write", {}, agent_id="a")

    assert_denied_internally(decision, "ZeroDivisionError: injected evaluator fault")
    assert decision.policy_digest == rt.policy.digest
    assert_tool_blocked(rt, tmp_path, "injected evaluator fault")
    last = audit_rows(tmp_path / "audit.db", "decision")[-1]
    assert (last["decision"], last["reason"]) == ("deny", decision.reason)


# --- what a plugin condition returns ----------------------------------------------------

ODD_RESULTS_PLUGIN = """
import capfence
from capfence.policy.spec import ConditionType


class False_:
    \"\"\"Like numpy.False_: falsy, compares equal to False, and is not a bool.\"\"\"

    def __bool__(self):
        return False

    def __eq__(self, other):
        return other is False or isinstance(other, False_)

    __hash__ = object.__hash__

    def __repr__(self):
        return "False_"


class NoTruth:
    \"\"\"Like a numpy array: asking for its truth value raises, and so does its repr.\"\"\"

    def __bool__(self):
        raise ValueError("the truth value of this object is ambiguous")

    def __repr__(self):
        raise RuntimeError("no repr either")


RESULTS = {
    "zero": 0, "empty": "", "float_zero": 0.0, "empty_list": [], "false_like": False_(), "bool_raises": NoTruth(),
    "one": 1, "text_false": "False",
}


def _compile(value, context):
    result = RESULTS[value]
    return lambda view: result


@capfence.hookimpl
def capfence_register_matchers(register):
    register(ConditionType("odd", _compile, "returns something that is not a bool", "odd: zero"))
"""

ODD_RESULTS = {
    "zero": "int 0",
    "empty": "str ''",
    "float_zero": "float 0.0",
    "empty_list": "list []",
    "false_like": "capfence_test_odd.False_ False_",
    "bool_raises": "capfence_test_odd.NoTruth <repr raised RuntimeError>",
    "one": "int 1",
    "text_false": "str 'False'",
}


@pytest.mark.parametrize("section", ["allow", "warn", "require_approval", "deny"])
@pytest.mark.parametrize("result", list(ODD_RESULTS))
def test_condition_result_that_is_not_a_bool_denies(
    result: str,
    section: str,
    install_plugin: Callable[[str, str], None],
    runtime: Callable[..., ActionRuntime],
    tmp_path: Path,
) -> None:
    """Neither a match nor a miss: a plugin error, denied whichever section the rule is in (and whatever the default)."""
    install_plugin("capfence_test_odd", ODD_RESULTS_PLUGIN)
    rt = runtime(f"default: warn\n{section}:\n  - capability: '*'\n    odd: {result}\n")

    decision = rt.evaluate("fs.write", {"content": "x"}, agent_id="a")

    expected = (
        f"condition 'odd' of plugin 'capfence_test_odd' in rule {section}[0] returned {ODD_RESULTS[result]}"
    )
    assert_denied_internally(decision, expected)
    assert "must return True, False or None" in decision.reason
    assert_tool_blocked(rt, tmp_path, expected)
    rows = audit_rows(tmp_path / "audit.db", "decision")
    assert [(r["decision"], r["reason"]) for r in rows] == [("deny", decision.reason)] * 2


PREFILTER_PLUGIN = """
import capfence
from capfence.policy.spec import ConditionType, Prefilter


def summarize(view):
    return ""  # should be a frozenset of keys or None


def _compile(value, context):
    def gated(view):
        return True

    gated.prefilter = Prefilter(summarize, frozenset({value}))
    return gated


@capfence.hookimpl
def capfence_register_matchers(register):
    register(ConditionType("gated", _compile, "always holds; its prefilter is broken", "gated: x"))
"""


def test_prefilter_summary_that_is_not_a_set_denies(
    install_plugin: Callable[[str, str], None], runtime: Callable[..., ActionRuntime], tmp_path: Path
) -> None:
    """An empty string would rule every rule out, the deny rule included: not trusted either."""
    install_plugin("capfence_test_prefilter", PREFILTER_PLUGIN)
    rt = runtime("default: warn\ndeny:\n  - capability: '*'\n    gated: x\n")

    decision = rt.evaluate("fs.write", {"content": "x"}, agent_id="a")

    assert_denied_internally(decision, "returned str ''; it must return a frozenset of keys or None")
    assert_tool_blocked(rt, tmp_path, "frozenset of keys or None")


# --- interrupts (BaseException) inside evaluation and audit writing ----------------------

INTERRUPTING_PLUGIN = """
import capfence
from capfence.policy.spec import ConditionType


def _compile(value, context):
    exception = {"KeyboardInterrupt": KeyboardInterrupt, "SystemExit": SystemExit, "GeneratorExit": GeneratorExit}[value]

    def interrupt(view):
        raise exception("injected interrupt")

    return interrupt


@capfence.hookimpl
def capfence_register_matchers(register):
    register(ConditionType("interrupt", _compile, "raises a BaseException", "interrupt: KeyboardInterrupt"))
"""


@pytest.mark.parametrize(
    "exception", [KeyboardInterrupt, SystemExit, GeneratorExit], ids=lambda e: e.__name__
)
@pytest.mark.parametrize("section", ["allow", "deny"])
def test_interrupt_in_a_matcher_propagates_after_a_deny_record(
    exception: type[BaseException],
    section: str,
    install_plugin: Callable[[str, str], None],
    runtime: Callable[..., ActionRuntime],
    tmp_path: Path,
) -> None:
    install_plugin("capfence_test_interrupting", INTERRUPTING_PLUGIN)
    recording = RecordingObserver()
    rt = runtime(f"default: warn\n{section}:\n  - capability: '*'\n    interrupt: {exception.__name__}\n")
    rt.plugins.manager.register(recording)
    marker = tmp_path / "body-ran"
    safe = CapFenceTool(tool=side_effect_tool(marker), agent_id="a", capability="fs.write", gate=rt)

    with pytest.raises(exception, match="injected interrupt"):
        rt.evaluate("fs.write", {"content": "x"}, agent_id="a")
    with pytest.raises(exception, match="injected interrupt"):
        safe(content="x")

    assert not marker.exists()
    rows = audit_rows(tmp_path / "audit.db", "decision")
    reason = f"internal_error: evaluation interrupted: {exception.__name__}"
    assert [(r["decision"], r["reason"], r["capability"]) for r in rows] == [("deny", reason, "fs.write")] * 2
    assert [(d.action, d.reason) for d in recording.seen] == [("deny", reason)] * 2
    assert audit_rows(tmp_path / "audit.db", "outcome") == []  # no "ran": the tool body never started


def test_interrupt_in_a_matcher_never_runs_an_async_tool(
    install_plugin: Callable[[str, str], None], runtime: Callable[..., ActionRuntime], tmp_path: Path
) -> None:
    """The async gate decides in a worker thread; the interrupt reaches the caller there too, and the body never starts."""
    install_plugin("capfence_test_interrupting", INTERRUPTING_PLUGIN)
    rt = runtime("allow:\n  - capability: '*'\n    interrupt: KeyboardInterrupt\n")
    marker = tmp_path / "body-ran"

    async def write_file(content: str) -> str:
        marker.write_text(content)
        return "written"

    safe = CapFenceTool(tool=write_file, agent_id="a", capability="fs.write", gate=rt)
    with pytest.raises(KeyboardInterrupt, match="injected interrupt"):
        asyncio.run(safe(content="x"))

    assert not marker.exists()
    rows = audit_rows(tmp_path / "audit.db", "decision")
    assert [(r["decision"], r["reason"]) for r in rows] == [
        ("deny", "internal_error: evaluation interrupted: KeyboardInterrupt")
    ]


def test_interrupt_during_the_audit_write_leaves_a_deny_record(
    runtime: Callable[..., ActionRuntime], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C while the allow decision is being written: the write rolls back, a deny is written, the interrupt goes on."""
    rt = runtime(ALLOW_ALL)
    assert rt.evaluate("fs.write", {}, agent_id="a").action == "allow"
    insert = SQLiteStore._insert
    interrupts = [KeyboardInterrupt("injected Ctrl-C")]

    def interrupted_once(self: SQLiteStore, *args: Any) -> int:
        if interrupts:
            raise interrupts.pop()
        return insert(self, *args)

    monkeypatch.setattr(SQLiteStore, "_insert", interrupted_once)
    marker = tmp_path / "body-ran"
    safe = CapFenceTool(tool=side_effect_tool(marker), agent_id="a", capability="fs.write", gate=rt)
    with pytest.raises(KeyboardInterrupt):
        safe(content="x")

    assert not marker.exists()
    rows = audit_rows(tmp_path / "audit.db", "decision")
    assert [(r["decision"], r["reason"]) for r in rows] == [
        ("allow", 'allow rule: capability "*"'),
        ("deny", "internal_error: audit write interrupted: KeyboardInterrupt"),
    ]
    assert rt.evaluate("fs.write", {}, agent_id="a").action == "allow"  # the store still works afterwards


# --- the audit store -----------------------------------------------------------------


def test_audit_append_raising(
    runtime: Callable[..., ActionRuntime],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Disk full: SQLite raises inside the append; the call is denied and the error logged."""
    rt = runtime(ALLOW_ALL)
    assert rt.evaluate("fs.write", {}, agent_id="a").action == "allow"

    def disk_full(self: SQLiteStore, conn: sqlite3.Connection, record: object) -> int:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(SQLiteStore, "_append", disk_full)
    with caplog.at_level(logging.ERROR, logger="capfence"):
        decision = rt.evaluate("fs.write", {}, agent_id="a")
    assert_denied_internally(decision, "audit log not writable")
    assert "database or disk is full" in decision.reason
    assert any("audit write failed" in r.getMessage() for r in caplog.records)
    assert_tool_blocked(rt, tmp_path, "disk is full")

    monkeypatch.undo()  # the disk has space again: calls go through again
    assert rt.evaluate("fs.write", {}, agent_id="a").action == "allow"


def test_audit_store_raising_anything(
    runtime: Callable[..., ActionRuntime], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not only sqlite errors: any exception from a store denies."""
    rt = runtime(ALLOW_ALL)

    def weird(self: SQLiteStore, record: object) -> int:
        raise KeyError("injected store fault")

    monkeypatch.setattr(SQLiteStore, "append", weird)
    assert_denied_internally(rt.evaluate("fs.write", {}, agent_id="a"), "injected store fault")
    assert_tool_blocked(rt, tmp_path, "injected store fault")


def test_audit_path_under_a_file(
    runtime: Callable[..., ActionRuntime], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An audit log that cannot be created (its parent is a regular file): fails even for root."""
    (tmp_path / "not-a-dir").write_text("")
    with caplog.at_level(logging.ERROR, logger="capfence"):
        rt = runtime(ALLOW_ALL, audit_log=tmp_path / "not-a-dir" / "audit.db")
        decision = rt.evaluate("fs.write", {}, agent_id="a")
    assert_denied_internally(decision, "audit log not writable")
    assert any("audit" in r.getMessage() for r in caplog.records)
    assert_tool_blocked(rt, tmp_path, "audit log not writable")


def test_read_only_audit_directory(runtime: Callable[..., ActionRuntime], tmp_path: Path) -> None:
    locked = tmp_path / "ro"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        try:
            (locked / "probe").write_text("")
        except PermissionError:
            pass
        else:
            pytest.skip("chmod does not restrict this user (root); covered by test_audit_path_under_a_file")
        rt = runtime(ALLOW_ALL, audit_log=locked / "audit.db")
        assert_denied_internally(rt.evaluate("fs.write", {}, agent_id="a"), "audit log not writable")
        assert_tool_blocked(rt, tmp_path, "audit log not writable")
    finally:
        locked.chmod(0o700)


def test_database_locked_past_the_audit_timeout(
    runtime: Callable[..., ActionRuntime], tmp_path: Path
) -> None:
    rt = runtime(ALLOW_ALL, audit_timeout=0.2)
    assert rt.evaluate("fs.write", {}, agent_id="a").action == "allow"

    other = sqlite3.connect(tmp_path / "audit.db", isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        decision = rt.evaluate("fs.write", {}, agent_id="a")
        assert_denied_internally(
            decision, "audit log busy: could not write the decision within 0.2 s (database is locked"
        )
        assert_tool_blocked(rt, tmp_path, "audit log busy")
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert rt.evaluate("fs.write", {}, agent_id="a").action == "allow"  # released: back to normal
    assert [r["decision"] for r in audit_rows(tmp_path / "audit.db", "decision")] == ["allow", "allow"]


def test_corrupt_audit_file(runtime: Callable[..., ActionRuntime], tmp_path: Path) -> None:
    (tmp_path / "audit.db").write_bytes(os.urandom(8192))
    rt = runtime(ALLOW_ALL)
    assert_denied_internally(rt.evaluate("fs.write", {}, agent_id="a"), "audit log not writable")
    assert_tool_blocked(rt, tmp_path, "audit log not writable")


def test_audit_log_with_newer_schema(runtime: Callable[..., ActionRuntime], tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "audit.db")
    conn.execute("PRAGMA user_version = 999")
    conn.close()
    rt = runtime(ALLOW_ALL)
    assert_denied_internally(rt.evaluate("fs.write", {}, agent_id="a"), "newer than this CapFence")


# --- the wrapper ---------------------------------------------------------------------


def test_gate_failing_inside_wrapper(tmp_path: Path) -> None:
    gate = BrokenGate()
    marker = tmp_path / "body-ran"
    safe = CapFenceTool(tool=side_effect_tool(marker), agent_id="a", capability="fs.write", gate=gate)
    with pytest.raises(ToolCallDenied) as caught:
        safe(content="x")
    assert_denied_internally(caught.value.decision, "gate failed: RuntimeError: injected gate fault")
    assert not marker.exists()
    assert gate.outcomes == ["blocked"]


def test_runtime_decide_failing_inside_async_wrapper(
    runtime: Callable[..., ActionRuntime], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rt = runtime(ALLOW_ALL)
    marker = tmp_path / "body-ran"

    async def write_file(content: str) -> str:
        marker.write_text(content)
        return "written"

    def broken(view: object) -> Decision:
        raise MemoryError("injected")

    safe = CapFenceTool(tool=write_file, agent_id="a", capability="fs.write", gate=rt)
    monkeypatch.setattr(rt, "decide", broken)
    with pytest.raises(ToolCallDenied) as caught:
        asyncio.run(safe(content="x"))
    assert_denied_internally(caught.value.decision, "gate failed: MemoryError")
    assert not marker.exists()


# --- observers -----------------------------------------------------------------------


class RaisingObserver:
    @hookimpl
    def capfence_on_decision(self, call: Any, decision: Decision) -> None:
        raise RuntimeError("observer broke")


def test_on_decision_hook_raising_changes_nothing(
    plugins: Registry,
    runtime: Callable[..., ActionRuntime],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    recording = RecordingObserver()
    manager = plugins.manager
    manager.register(recording)
    manager.register(RaisingObserver())  # registered last, so pluggy calls it first
    rt = runtime("deny:\n  - capability: x.deny\nallow:\n  - capability: '*'\n", plugins=plugins)
    marker = tmp_path / "body-ran"
    safe = CapFenceTool(tool=side_effect_tool(marker), agent_id="a", capability="fs.write", gate=rt)

    with caplog.at_level(logging.ERROR, logger="capfence"):
        allowed = rt.evaluate("x.allow", {}, agent_id="a")
        denied = rt.evaluate("x.deny", {}, agent_id="a")
        assert safe(content="hello") == "written"

    assert (allowed.action, allowed.rule) == ("allow", "allow[0]")
    assert (denied.action, denied.rule) == ("deny", "deny[0]")
    assert marker.read_text() == "hello"
    assert any("capfence_on_decision" in r.getMessage() for r in caplog.records)
    assert [r["decision"] for r in audit_rows(tmp_path / "audit.db", "decision")] == [
        "allow",
        "deny",
        "allow",
    ]


def test_on_decision_hook_sees_audited_decisions(
    plugins: Registry, runtime: Callable[..., ActionRuntime]
) -> None:
    recording = RecordingObserver()
    plugins.manager.register(recording)
    rt = runtime(ALLOW_ALL, plugins=plugins)
    decision = rt.evaluate("x", {}, agent_id="a")
    assert recording.seen == [decision]
    assert decision.record_id is not None


class RaisingFirst:
    @hookimpl(tryfirst=True)
    def capfence_on_decision(self, call: Any, decision: Decision) -> None:
        raise RuntimeError("first observer broke")


class RaisingWrapper:
    """A wrapper that breaks before its yield (``at="setup"``) or after it (``at="teardown"``)."""

    def __init__(self, at: str) -> None:
        self.at = at

    @hookimpl(wrapper=True)
    def capfence_on_decision(self, call: Any, decision: Decision) -> Any:
        if self.at == "setup":
            raise RuntimeError("wrapper broke before yielding")
        result = yield
        raise RuntimeError(f"wrapper broke after yielding {result!r}")


class RaisingHookwrapper:
    @hookimpl(hookwrapper=True)
    def capfence_on_decision(self, call: Any, decision: Decision) -> Any:
        yield
        raise RuntimeError("old-style wrapper broke in teardown")


class WrappingRecorder:
    """A wrapper that sees the decision before and after the plain observers."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, Decision]] = []

    @hookimpl(wrapper=True)
    def capfence_on_decision(self, call: Any, decision: Decision) -> Any:
        self.seen.append(("before", decision))
        result = yield
        self.seen.append(("after", decision))
        return result


def test_observers_raising_anywhere_stop_no_other(
    plugins: Registry,
    runtime: Callable[..., ActionRuntime],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Faults in a plain, a tryfirst, a wrapper's setup and teardown and an old-style wrapper: all others run, the decision stands."""
    manager = plugins.manager
    recording, wrapping = RecordingObserver(), WrappingRecorder()
    manager.register(recording)
    manager.register(wrapping)
    for broken in (
        RaisingObserver(),
        RaisingFirst(),
        RaisingWrapper("setup"),
        RaisingWrapper("teardown"),
        RaisingHookwrapper(),
    ):
        manager.register(broken)
    rt = runtime(ALLOW_ALL, plugins=plugins)
    marker = tmp_path / "body-ran"
    safe = CapFenceTool(tool=side_effect_tool(marker), agent_id="a", capability="fs.write", gate=rt)

    with caplog.at_level(logging.ERROR, logger="capfence"):
        decision = rt.evaluate("fs.write", {}, agent_id="a")
        assert safe(content="hello") == "written"

    assert (decision.action, decision.rule) == ("allow", "everything")
    assert marker.read_text() == "hello"
    assert [d.action for d in recording.seen] == ["allow", "allow"]
    assert [(when, d.record_id) for when, d in wrapping.seen] == [
        ("before", decision.record_id),
        ("after", decision.record_id),
        ("before", decision.record_id + 1),
        ("after", decision.record_id + 1),
    ]
    logged = [r.getMessage() for r in caplog.records if "capfence_on_decision" in r.getMessage()]
    assert len(logged) == 2 * 5, logged
    assert [r["decision"] for r in audit_rows(tmp_path / "audit.db", "decision")] == ["allow", "allow"]
