"""capfence.contracts: what a plugin, a store or a gate lacks is a clear error naming it, at registration or first use.

Real plugins (installed distributions found through the entry point), real SQLite files.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import capfence
from capfence import ActionRuntime, CapFenceTool
from capfence.audit.sqlite import SQLiteStore
from capfence.audit.store import open_store, transactional
from capfence.contracts import Adapter, AuditStore, ContractError, StoreType, TransactionalStore, check_store
from capfence.errors import AuditError
from capfence.plugins import PluginWarning, build_registry
from tests.support.audit import audit_rows

ALLOW_ALL = "allow:\n  - capability: '*'\n"

STORE_PLUGIN = """
import capfence
from capfence.contracts import StoreType


class {name}:
    def __init__(self, location):
        self.location = location
        self.records = []

{members}

@capfence.hookimpl
def capfence_register_audit_stores(register):
    register(StoreType("{scheme}", accepts=lambda loc: loc.startswith("{scheme}://"), open={name}))
"""
APPEND = (
    "    def append(self, record):\n        self.records.append(record)\n        return len(self.records)\n"
)
CLOSE = "    def close(self):\n        pass\n"
HALF_TRANSACTIONAL = "    def transaction(self):\n        raise RuntimeError('never called')\n"


def store_plugin(name: str, scheme: str, *members: str) -> str:
    return STORE_PLUGIN.format(name=name, scheme=scheme, members="\n".join(members) or "    pass\n")


# --- stores ---------------------------------------------------------------------------------------------------


def test_a_store_missing_a_required_member_is_refused_naming_it(
    install_plugin: Callable[[str, str], None], write_policy: Callable[..., Path]
) -> None:
    install_plugin("capfence_test_noappend", store_plugin("NoAppend", "noappend", CLOSE))
    runtime = ActionRuntime.from_policy(write_policy(ALLOW_ALL), audit_log="noappend://x")
    decision = runtime.evaluate("x", {}, agent_id="a")
    assert decision.action == "deny"
    assert "audit store type 'noappend' opened a NoAppend with no 'append'" in decision.reason
    with pytest.raises(AuditError, match="NoAppend with no 'append'"):
        open_store("noappend://x", runtime.plugins.stores)


def test_a_store_with_half_the_transactions_is_refused(
    install_plugin: Callable[[str, str], None], write_policy: Callable[..., Path]
) -> None:
    """A store with ``transaction`` but not the rest would silently lose approvals and limits: refused instead."""
    install_plugin("capfence_test_half", store_plugin("Half", "half", APPEND, CLOSE, HALF_TRANSACTIONAL))
    runtime = ActionRuntime.from_policy(write_policy(ALLOW_ALL), audit_log="half://x")
    decision = runtime.evaluate("x", {}, agent_id="a")
    assert decision.action == "deny"
    assert "Half with no 'append_decision_once', 'key'" in decision.reason


def test_a_store_without_transactions_records_but_never_approves_or_counts(
    install_plugin: Callable[[str, str], None], write_policy: Callable[..., Path]
) -> None:
    install_plugin("capfence_test_plain", store_plugin("Plain", "plain", APPEND, CLOSE))
    policy = write_policy(
        "require_approval:\n  - capability: deploy\n"
        "deny:\n  - capability: pay\n    limit: {max: 5, per: 1h}\n"
        "allow:\n  - capability: '*'\n"
    )
    runtime = ActionRuntime.from_policy(policy, audit_log="plain://x")
    assert runtime.evaluate("read", {}, agent_id="a").action == "allow"
    limited = runtime.evaluate("pay", {}, agent_id="a")
    assert limited.action == "deny" and "cannot keep usage (it has no transactions)" in limited.reason
    with pytest.raises(AuditError, match="does not support approvals"):
        runtime.approvals  # noqa: B018 - the property is the check
    store = runtime._require_store()
    assert isinstance(store, AuditStore) and transactional(store) is None
    assert [r["decision"] for r in store.records] == ["allow", "deny"]  # type: ignore[attr-defined]


def test_the_built_in_stores_are_transactional(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "audit.db"), build_registry(entry_points=False).stores)
    try:
        assert isinstance(store, SQLiteStore) and isinstance(store, TransactionalStore)
        assert transactional(store) is store
        check_store(store, "sqlite")
    finally:
        store.close()


# --- gates ----------------------------------------------------------------------------------------------------


class NoApprovalsGate:
    """Decides, but declares no ``approvals`` and no ``approver``."""

    environment = None

    def decide(self, view: object) -> Any:
        raise AssertionError("a gate that is not a Gate is never asked")

    def record_outcome(self, *args: object, **kwargs: object) -> None:
        pass


def test_a_gate_missing_members_is_refused_when_a_tool_is_bound(tmp_path: Path) -> None:
    marker = tmp_path / "ran"

    def tool(text: str) -> str:
        marker.write_text(text)
        return text

    with pytest.raises(
        ContractError, match="NoApprovalsGate is not a CapFence gate: it has no 'approver', 'approvals'"
    ):
        CapFenceTool(tool=tool, agent_id="a", capability="x", gate=NoApprovalsGate())  # type: ignore[arg-type]
    assert not marker.exists()
    with pytest.raises(capfence.CapFenceError) as caught:
        CapFenceTool(tool=tool, agent_id="a", capability="x", gate=NoApprovalsGate())  # type: ignore[arg-type]
    assert isinstance(caught.value, ContractError) and caught.value.missing == ("approver", "approvals")
    assert isinstance(caught.value.obj, NoApprovalsGate)


def test_a_gate_with_every_member_is_bound(runtime: Callable[..., ActionRuntime], tmp_path: Path) -> None:
    rt = runtime(ALLOW_ALL)
    safe = CapFenceTool(tool=lambda text: text, agent_id="a", capability="x", gate=rt)
    assert safe(text="hi") == "hi"
    assert [r["decision"] for r in audit_rows(tmp_path / "audit.db", "decision")] == ["allow"]


# --- registration ---------------------------------------------------------------------------------------------

REGISTERS = """
import capfence
from capfence.contracts import Adapter


@capfence.hookimpl
def {hook}(register):
    register({thing})
"""


@pytest.mark.parametrize(
    ("hook", "thing", "warning"),
    [
        (
            "capfence_register_adapters",
            "{'name': 'dict', 'accepts': callable}",
            "registers a dict, not a capfence.contracts.Adapter as adapter; ignored",
        ),
        (
            "capfence_register_adapters",
            "Adapter('noaccept', 'fw', accepts='yes', wrap=lambda o, b: o)",
            "raised in capfence_register_adapters and was skipped: Adapter 'noaccept': accepts must be callable",
        ),
        (
            "capfence_register_adapters",
            "Adapter('', 'fw', accepts=callable, wrap=lambda o, b: o)",
            "Adapter: name must be a non-empty string",
        ),
        (
            "capfence_register_audit_stores",
            "object()",
            "registers a object, not a capfence.contracts.StoreType as audit store; ignored",
        ),
        (
            "capfence_register_approvers",
            "type('Silent', (), {'name': 'silent'})",
            "registers class Silent with no 'review' as approver; ignored",
        ),
    ],
    ids=["not-an-adapter", "accepts-not-callable", "no-name", "not-a-store-type", "approver-without-review"],
)
def test_registering_something_that_breaks_its_contract_is_skipped_with_a_warning(
    hook: str, thing: str, warning: str, install_plugin: Callable[[str, str], None]
) -> None:
    install_plugin("capfence_test_contract", REGISTERS.format(hook=hook, thing=thing))
    with pytest.warns(PluginWarning) as caught:
        registry = build_registry()
    texts = [str(w.message) for w in caught]
    assert any("'capfence_test_contract'" in t and warning in t for t in texts), texts
    assert not registry.plugins["capfence_test_contract"].registered
    assert (
        registry.adapters[-1].name == "callable" and "contains" in registry.conditions
    )  # the rest is intact


def test_store_type_and_adapter_check_their_fields_when_built() -> None:
    with pytest.raises(ContractError, match="StoreType 'x': open must be callable"):
        StoreType("x", accepts=lambda loc: True, open=None)  # type: ignore[arg-type]
    with pytest.raises(ContractError, match="priority must be an int"):
        Adapter("a", "f", accepts=callable, wrap=lambda o, b: o, priority="1")  # type: ignore[arg-type]
    assert capfence.Adapter is Adapter


def test_the_registry_is_handed_in_not_fetched(write_policy: Callable[..., Path], tmp_path: Path) -> None:
    """Two runtimes with two registries: an observer registered with one is not told about the other's calls."""
    seen: list[str] = []

    class Observer:
        @capfence.hookimpl
        def capfence_on_decision(self, call: capfence.CallView, decision: capfence.Decision) -> None:
            seen.append(call.agent_id or "")

    mine = build_registry()
    mine.manager.register(Observer())
    policy = write_policy(ALLOW_ALL)
    with (
        ActionRuntime.from_policy(policy, audit_log=tmp_path / "a.db", plugins=mine) as observed,
        ActionRuntime.from_policy(policy, audit_log=tmp_path / "b.db") as other,
    ):
        observed.evaluate("x", {}, agent_id="observed")
        other.evaluate("x", {}, agent_id="other")
    assert observed.plugins is mine and other.plugins is not mine
    assert seen == ["observed"]
