"""What a plugin implements: the registration types and the protocols CapFence calls, in one place.

A plugin registers things through the hooks of :mod:`capfence.hookspecs`; this module says
what those things are and what CapFence will call on them. Each protocol says which members
are **required** (checked by a type checker, and when the thing is registered or first used:
a missing one is a clear error naming it) and which capabilities are **optional** (a separate
protocol, told apart with a typed ``isinstance`` check, not by attributes probed here and there).

============================  ===============================================================
registered or passed in       what it must be
============================  ===============================================================
``register(Adapter(...))``    :class:`Adapter`: which tool objects it wraps, and how
``register(StoreType(...))``  :class:`StoreType`: which ``--audit-log`` values it opens; its
                              ``open`` returns an :class:`AuditStore`, optionally a
                              :class:`TransactionalStore`
``register(approver)``        :class:`Approver`
``CapFenceTool(gate=...)``    a :class:`Gate` (:class:`~capfence.ActionRuntime` is one)
``register(ConditionType)``   :class:`capfence.ConditionType` (in :mod:`capfence.policy.spec`)
============================  ===============================================================

Nothing here imports at run time beyond the standard library and :mod:`capfence.errors`, so any
module may import it.
"""

from __future__ import annotations

import contextlib
import sys
import weakref
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from capfence.errors import CapFenceError

if TYPE_CHECKING:
    from capfence.approvals.requests import ApprovalRequest, Approvals
    from capfence.audit.reader import AuditReader
    from capfence.call.decision import Decision
    from capfence.call.gate import Binding
    from capfence.call.view import CallView


class ContractError(CapFenceError, TypeError):
    """A plugin's object lacks what its contract requires (raised when it is registered or first used).

    Carries the object at fault (``obj``) and the members it lacks (``missing``, when that is the fault).
    """

    def __init__(self, message: str, obj: object = None, missing: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.obj = obj
        self.missing = missing


# --- adapters -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Adapter:
    """How one kind of tool object is wrapped (``capfence_register_adapters``).

    ``accepts(obj)`` must be cheap and must not import a framework that is not
    already imported (check ``sys.modules`` first, e.g. with :func:`instance_of_loaded`).
    ``wrap(obj, binding)`` returns the gated object. Lower ``priority`` is asked first.
    """

    name: str
    framework: str
    accepts: Callable[[Any], bool]
    wrap: Callable[[Any, Binding], Any]
    priority: int = 100

    def __post_init__(self) -> None:
        _require_text(self, "name", "framework")
        _require_callable(self, "accepts", "wrap")
        if not isinstance(self.priority, int) or isinstance(self.priority, bool):
            raise ContractError(
                f"Adapter {self.name!r}: priority must be an int, not {self.priority!r}", self
            )


def instance_of_loaded(obj: object, module: str, name: str) -> bool:
    """Whether ``obj`` is an instance of class ``name`` in ``module``, *if that module is already imported*.

    For :attr:`Adapter.accepts`: an object can only be a framework's tool if the
    framework is imported, so this never imports it (and stays cheap).
    """
    cls = getattr(sys.modules.get(module), name, None)
    return isinstance(cls, type) and isinstance(obj, cls)


# --- the gate -------------------------------------------------------------------------------------------------


class Gate(Protocol):
    """What a :class:`~capfence.Binding` calls on the gate in front of a tool; every member is required.

    :class:`~capfence.ActionRuntime` is the gate CapFence ships. Another gate is checked when a
    tool is bound to it (:func:`check_gate`): a missing member is a :class:`ContractError` naming it.
    What may be absent is said by the members' values:

    * ``environment``: the environment calls are decided in, or None;
    * ``approver``: who is asked in-line when a call is held, or None (decided elsewhere);
    * ``approvals``: the approval queue a held call waits on; raises
      :class:`~capfence.errors.AuditError` when this gate keeps none (a held call then stays held).
    """

    @property
    def environment(self) -> str | None: ...

    @property
    def approver(self) -> Approver | None: ...

    @property
    def approvals(self) -> Approvals: ...

    def decide(self, view: CallView) -> Decision:
        """Decide the call and write the decision to the audit log; a failure is a deny, never an exception."""
        ...

    def record_outcome(
        self, decision: Decision, outcome: str, detail: str | None = None, *, view: CallView | None = None
    ) -> None:
        """Record what happened after ``decision`` (``ran``, ``tool_error``, ``blocked``, ``held``); never raises."""
        ...


@runtime_checkable
class RecordsFailures(Protocol):
    """Optional for a :class:`Gate`: write a deny the policy never saw (something failed before the call reached it).

    :class:`~capfence.ActionRuntime` has it (:meth:`~capfence.ActionRuntime.record_failure`). A gate without it
    still denies such a call; only its audit log has no decision record of it (the ``blocked`` outcome is recorded).
    """

    def record_failure(self, view: CallView, reason: str) -> Decision:
        """Write the deny (reason ``internal_error: <reason>``) like every decision and return it; never raises."""
        ...


GATE_MEMBERS = ("environment", "approver", "approvals", "decide", "record_outcome")
_GATES_CHECKED: weakref.WeakSet[object] = weakref.WeakSet()
"""Gates found complete (a binding is re-made per call with a call id: each gate is checked once)."""


def check_gate(gate: object) -> None:
    """Raise :class:`ContractError` naming every :class:`Gate` member ``gate`` lacks.

    Members are looked up without being evaluated (``approvals`` may open a store).
    """
    try:
        if gate in _GATES_CHECKED:
            return
    except TypeError:  # not hashable or not weakly referable: checked every time
        pass
    missing = missing_members(gate, GATE_MEMBERS)
    if missing:
        raise ContractError(
            f"{type(gate).__qualname__} is not a CapFence gate: it has no {_names(missing)} "
            "(see capfence.contracts.Gate)",
            gate,
            tuple(missing),
        )
    with contextlib.suppress(TypeError):
        _GATES_CHECKED.add(gate)


# --- approvers ------------------------------------------------------------------------------------------------


class Approver(Protocol):
    """A way a human decides held calls (``capfence_register_approvers``); it never decides on its own."""

    name: str

    def review(self, request: ApprovalRequest, approvals: Approvals) -> ApprovalRequest:
        """Ask a human about ``request`` and record the answer; return the updated request."""
        ...


APPROVER_MEMBERS = ("name", "review")


# --- audit stores ---------------------------------------------------------------------------------------------


@runtime_checkable
class AuditStore(Protocol):
    """Where decisions go; required of every store. Implementations must be safe for many threads.

    ``append`` commits the record durably (as configured) *before* returning
    and returns its sequence number; any failure raises
    :class:`~capfence.errors.AuditError`, which the runtime turns into a deny.
    Waits should stay within :func:`capfence.audit.deadline.current` (the
    caller's budget) and raise :class:`~capfence.audit.deadline.AuditBusy` when
    it runs out. The built-in stores replace the record's ``ts`` with its
    commit time (:func:`~capfence.audit.record.commit_time`).
    """

    location: str

    def append(self, record: Mapping[str, object]) -> int: ...

    def close(self) -> None: ...


class Cursor(Protocol):
    rowcount: int

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class StoreTransaction(Protocol):
    """One write transaction of a :class:`TransactionalStore`: SQL and chained appends that commit together."""

    def execute(self, sql: str, params: Iterable[object] = ()) -> Cursor: ...

    def append(self, record: Mapping[str, object]) -> int: ...

    def append_decision_once(self, record: Mapping[str, object]) -> int:
        """Like :meth:`TransactionalStore.append_decision_once`, inside this transaction."""
        ...


@runtime_checkable
class TransactionalStore(AuditStore, Protocol):
    """Optional: a store with write transactions over CapFence's SQL tables (both built-in stores).

    Without it, a store still records decisions, but rate and budget limits deny (no usage can be
    kept), held calls cannot be approved, policy texts are not filed and a re-run call's decision
    is written again. ``append_decision_once(record)`` returns the sequence number of an identical
    decision already recorded for the same call id (``detail``) instead of appending. ``key`` is the
    chain's HMAC key (None: plain SHA-256), with which approval records are checked.
    """

    key: bytes | None

    def transaction(self) -> AbstractContextManager[StoreTransaction]: ...

    def append_decision_once(self, record: Mapping[str, object]) -> int: ...


STORE_MEMBERS = ("location", "append", "close")
TRANSACTIONAL_MEMBERS = ("transaction", "append_decision_once", "key")


@dataclass(frozen=True)
class StoreType:
    """A store plugin (``capfence_register_audit_stores``): ``accepts(location)`` says whether a ``--audit-log`` value is its own.

    ``open(location)`` returns an :class:`AuditStore` (a :class:`TransactionalStore` for the
    optional capabilities). ``open_reader(location)``, if given, returns a read-only
    :class:`~capfence.audit.reader.AuditReader` for the CLI's reading commands.
    """

    name: str
    accepts: Callable[[str], bool]
    open: Callable[[str], AuditStore]
    open_reader: Callable[[str], AuditReader] | None = None

    def __post_init__(self) -> None:
        _require_text(self, "name")
        _require_callable(self, "accepts", "open")
        if self.open_reader is not None:
            _require_callable(self, "open_reader")


def check_store(store: object, kind: str) -> None:
    """Raise :class:`ContractError` naming what ``store`` (opened by store type ``kind``) lacks.

    Every :class:`AuditStore` member is required; a store with some but not all
    :class:`TransactionalStore` members is an error too (it would silently lose capabilities).
    """
    missing = missing_members(store, STORE_MEMBERS)
    extra = [name for name in TRANSACTIONAL_MEMBERS if name not in missing_members(store, (name,))]
    if extra and len(extra) < len(TRANSACTIONAL_MEMBERS):
        missing += [name for name in TRANSACTIONAL_MEMBERS if name not in extra]
    if missing:
        raise ContractError(
            f"audit store type {kind!r} opened a {type(store).__qualname__} with no {_names(missing)} "
            "(see capfence.contracts.AuditStore and TransactionalStore)",
            store,
            tuple(missing),
        )


# --- helpers --------------------------------------------------------------------------------------------------


def missing_members(obj: object, names: Iterable[str]) -> list[str]:
    """The ``names`` that ``obj`` has neither as an instance attribute nor on its class (nothing is evaluated)."""
    own = getattr(obj, "__dict__", None)
    mro = type(obj).__mro__
    return [
        name
        for name in names
        if not (own is not None and name in own) and not any(name in vars(cls) for cls in mro)
    ]


def _names(names: list[str]) -> str:
    return ", ".join(repr(name) for name in names)


def _require_text(obj: object, *fields: str) -> None:
    for name in fields:
        value = getattr(obj, name)
        if not isinstance(value, str) or not value:
            raise ContractError(
                f"{type(obj).__name__}: {name} must be a non-empty string, not {value!r}", obj
            )


def _require_callable(obj: object, *fields: str) -> None:
    for name in fields:
        if not callable(getattr(obj, name)):
            raise ContractError(
                f"{type(obj).__name__} {getattr(obj, 'name', '')!r}: {name} must be callable", obj
            )
