"""CapFence's built-in plugin: registered exactly like an external one.

It provides the policy conditions (one hook implementation per condition
module, so a fault in one cannot take the others down), the SQLite audit
store, the approvers and the generic plain-callable adapter (priority 1000,
so framework adapters are asked first).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from capfence.contracts import Adapter, StoreType
from capfence.plugins import hookimpl
from capfence.policy.spec import ConditionType


@hookimpl(specname="capfence_register_matchers")
def register_basic_conditions(register: Callable[[ConditionType], None]) -> None:
    """contains, matches, agent, tool, environment, args, path."""
    from capfence.policy.conditions import BUILTIN_CONDITIONS

    for condition in BUILTIN_CONDITIONS:
        register(condition)


@hookimpl(specname="capfence_register_matchers")
def register_shell_condition(register: Callable[[ConditionType], None]) -> None:
    """command: the shell-aware matcher."""
    from capfence.policy.shell import CONDITION

    register(CONDITION)


@hookimpl(specname="capfence_register_matchers")
def register_resource_conditions(register: Callable[[ConditionType], None]) -> None:
    """``reads``, ``writes`` and ``hosts``: what a call touches, from file and HTTP arguments and shell commands alike."""
    from capfence.policy.resource_conditions import CONDITIONS

    for condition in CONDITIONS:
        register(condition)


@hookimpl(specname="capfence_register_matchers")
def register_url_condition(register: Callable[[ConditionType], None]) -> None:
    """url: scheme, host, port and private-address checks."""
    from capfence.policy.url import CONDITION

    register(CONDITION)


def _open_sqlite(location: str) -> Any:
    from capfence.audit.sqlite import SQLiteStore

    if location.startswith("sqlite:///"):
        location = location[len("sqlite:///") :]
    return SQLiteStore(location)


def _open_postgres(location: str) -> Any:
    from capfence.audit.postgres import PostgresStore

    return PostgresStore(location)


def _read_postgres(location: str) -> Any:
    from capfence.audit.postgres_reader import PostgresReader

    return PostgresReader(location)


@hookimpl
def capfence_register_audit_stores(register: Callable[[StoreType], None]) -> None:
    """SQLite for paths and ``sqlite:///``; PostgreSQL (``capfence[postgres]``, psycopg imported on open) for its URLs."""
    from capfence.audit.postgres_schema import accepts as is_postgres

    register(
        StoreType(
            "sqlite", lambda location: "://" not in location or location.startswith("sqlite://"), _open_sqlite
        )
    )
    register(StoreType("postgresql", is_postgres, _open_postgres, open_reader=_read_postgres))


def _wrap_callable(obj: Any, binding: Any) -> Any:
    from capfence.call.callables import wrap_callable

    return wrap_callable(obj, binding)


@hookimpl
def capfence_register_adapters(register: Callable[[Adapter], None]) -> None:
    register(Adapter("callable", "python", callable, _wrap_callable, priority=1000))


@hookimpl
def capfence_register_approvers(register: Callable[[Any], None]) -> None:
    from capfence.approvals.approvers import CallbackApprover, ConsoleApprover
    from capfence.approvals.webhook import WebhookApprover

    register(ConsoleApprover)
    register(CallbackApprover)
    register(WebhookApprover)
