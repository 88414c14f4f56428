"""ActionRuntime: call -> evaluate -> audit -> run / block / hold.

The runtime owns the live policy (hot-reloaded) and the audit store. Its one
promise: :meth:`ActionRuntime.evaluate` always returns a :class:`Decision`
and never fails open. Any exception while evaluating, or any failure to write
the decision to the audit log, becomes ``deny`` with an ``internal_error:``
reason, and the tool does not run.

Every call's audit write has one time budget, ``audit_timeout`` (default
3 s, or ``$CAPFENCE_AUDIT_TIMEOUT``), covering the queue behind this
process's other threads as well as a lock held by another process: a
decision not written within it is denied ("audit log busy: could not write
the decision within 3.0 s"). Outcome records never hold the caller that long:
see :mod:`capfence.audit.backlog`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from capfence.approvals.requests import Approvals
from capfence.audit.backlog import Backlog
from capfence.audit.deadline import AuditBusy, seconds_text, within
from capfence.audit.record import bindable_digest, decision_record, event_record, outcome_record
from capfence.audit.store import open_store, transactional
from capfence.call import limiting
from capfence.call.decision import Decision, Timing, failure
from capfence.call.shadow import with_shadow
from capfence.call.view import CallView
from capfence.contracts import Approver, AuditStore, TransactionalStore
from capfence.errors import AuditError
from capfence.plugins import Registry, build_registry
from capfence.plugins.isolation import call_isolated
from capfence.policy.compiled import Policy
from capfence.policy.engine import evaluate as evaluate_policy
from capfence.policy.loader import load_policy
from capfence.policy.recorded import remember as remember_policy
from capfence.policy.source import PolicyFiles
from capfence.policy.watch import PolicyWatcher

if TYPE_CHECKING:
    import pluggy

log = logging.getLogger("capfence")
AUDIT_ENV = "CAPFENCE_AUDIT_LOG"
ENVIRONMENT_ENV = "CAPFENCE_ENVIRONMENT"
DEFAULT_AUDIT_LOG = "audit.db"
AUDIT_TIMEOUT_ENV = "CAPFENCE_AUDIT_TIMEOUT"
DEFAULT_AUDIT_TIMEOUT = 3.0
OUTCOME_WAIT = 0.5
"""Seconds a caller waits for its outcome record (at most ``audit_timeout``) before it is queued instead."""


def _observe(impl: pluggy.HookImpl, function: Callable[..., object], args: tuple[object, ...]) -> object:
    """How each ``capfence_on_decision`` implementation (or wrapper step) runs: what it raises is logged and ignored."""
    try:
        return function(*args)
    except Exception:
        log.exception("capfence_on_decision in plugin %r raised; ignored", impl.plugin_name)
        return None


class ActionRuntime:
    """Evaluates tool calls against a policy and records every decision.

    Build one with :meth:`from_policy`. Thread-safe; from asyncio code use
    :meth:`aevaluate`, which keeps the audit write off the event loop.

    It owns its plugin registry (:attr:`plugins`: built by
    :func:`~capfence.plugins.build_registry` unless one is given) and hands its parts to what
    needs them: condition types to the policy loader, store types to the store opener,
    adapters to :func:`~capfence.CapFenceTool`, observers to each decision.
    """

    def __init__(
        self,
        watcher: PolicyWatcher,
        store: AuditStore | None,
        *,
        audit_log: str,
        environment: str | None = None,
        approver: Approver | None = None,
        audit_timeout: float | None = None,
        plugins: Registry | None = None,
    ) -> None:
        self.plugins = plugins if plugins is not None else build_registry()
        """This runtime's plugin registry."""
        self._watcher = watcher
        self._store = store
        self._transactional = transactional(store) if store is not None else None
        self._store_lock = threading.Lock()
        self.audit_log = audit_log
        self.environment = environment
        self.approver = approver
        """Asked in-line when a call is held (e.g. :class:`~capfence.approvals.approvers.ConsoleApprover`); None: decide elsewhere."""
        self.audit_timeout = _audit_timeout(audit_timeout)
        """Seconds a call may wait in all for its decision record to be written; past it the call is denied."""
        self._backlog = Backlog(self._append_record, attempt=self.audit_timeout)

    @classmethod
    def from_policy(
        cls,
        path: str | os.PathLike[str],
        audit_log: str | os.PathLike[str] | None = None,
        *,
        environment: str | None = None,
        reload_interval: float = 0.5,
        approver: Approver | None = None,
        reload_settle: float | None = None,
        audit_timeout: float | None = None,
        plugins: Registry | None = None,
    ) -> ActionRuntime:
        """Load ``path`` (raising :class:`~capfence.PolicyError` if it is invalid) and open the audit log.

        ``audit_log`` defaults to ``$CAPFENCE_AUDIT_LOG`` or ``./audit.db``;
        ``environment`` to ``$CAPFENCE_ENVIRONMENT``. ``approver`` is asked in-line
        whenever a call is held. An audit log that cannot
        be opened does not raise here: every call is denied until it can be written.
        The policy is checked for changes every ``reload_interval`` seconds; a change is
        loaded once its files have been unchanged for ``reload_settle`` seconds (default:
        ``reload_interval``), see :mod:`capfence.policy.watch`.
        ``audit_timeout`` (seconds; default ``$CAPFENCE_AUDIT_TIMEOUT`` or 3) bounds
        each call's wait for its decision record, however many threads queue.
        ``plugins``: the plugin registry (default: one built by :func:`~capfence.plugins.build_registry`).
        """
        location = str(audit_log) if audit_log is not None else os.environ.get(AUDIT_ENV, DEFAULT_AUDIT_LOG)
        runtime: ActionRuntime
        built: list[ActionRuntime] = []
        registry = plugins if plugins is not None else build_registry()

        def load(path: Path, *, files: PolicyFiles) -> Policy:
            loaded = load_policy(path, registry.conditions, files=files)
            # a reload: file its text in the audit store (the first load is filed when the store opens)
            if built:
                built[0]._remember_policy(loaded)
            return loaded

        watcher = PolicyWatcher(
            Path(path),
            load,
            lambda exc: runtime._reload_failed(exc),  # noqa: PLW0108 - runtime is bound below
            reload_interval,
            reload_settle,
        )
        runtime = cls(
            watcher,
            None,
            audit_log=location,
            environment=environment or os.environ.get(ENVIRONMENT_ENV),
            approver=approver,
            audit_timeout=audit_timeout,
            plugins=registry,
        )
        built.append(runtime)
        # logged; every call is denied until the audit log can be written
        with contextlib.suppress(AuditError):
            runtime._open_store()
        return runtime

    @property
    def policy(self) -> Policy:
        """The policy in force (the last good one if a reload failed)."""
        return self._watcher.policy

    def evaluate(
        self,
        capability: str,
        payload: Mapping[str, Any] | None = None,
        *,
        agent_id: str,
        environment: str | None = None,
        tool: str | None = None,
        framework: str | None = None,
        call_id: str | None = None,
    ) -> Decision:
        """Decide the call and write the decision to the audit log before returning it.

        ``call_id``: the framework's id for this call; evaluating the same call
        again with an identical result reuses the recorded decision.
        """
        view = CallView(
            capability,
            payload if payload is not None else {},
            agent_id,
            environment or self.environment,
            tool,
            framework,
            call_id,
        )
        return self.decide(view)

    async def aevaluate(
        self,
        capability: str,
        payload: Mapping[str, Any] | None = None,
        *,
        agent_id: str,
        environment: str | None = None,
        tool: str | None = None,
        framework: str | None = None,
        call_id: str | None = None,
    ) -> Decision:
        """:meth:`evaluate` in a worker thread, so the event loop is not blocked by the audit write."""
        return await asyncio.to_thread(
            self.evaluate,
            capability,
            payload,
            agent_id=agent_id,
            environment=environment,
            tool=tool,
            framework=framework,
            call_id=call_id,
        )

    def decide(self, view: CallView) -> Decision:
        """Evaluate and audit a prepared :class:`CallView` (adapters use this)."""
        policy: Policy | None = None
        started = time.perf_counter()
        limits: list[limiting.Pending] | None = None
        try:
            policy = self._watcher.current()
            decision = evaluate_policy(policy, view)
            if policy.shadow:
                decision = with_shadow(policy, view, decision)
            if policy.limited:
                limits = limiting.pending(policy, view, decision)
        except Exception as exc:
            log.exception("evaluation failed; denying %s", view.capability)
            decision = failure(
                f"evaluation failed: {type(exc).__name__}: {exc}", policy.digest if policy else None
            )
        # KeyboardInterrupt, SystemExit, GeneratorExit: record a deny, then let it go on
        except BaseException as exc:
            self._interrupted(view, policy, "evaluation", exc)
            raise
        evaluated = time.perf_counter()
        try:
            decision = self._audit(view, decision, policy, limits)
        except BaseException as exc:  # _audit turns every Exception into a deny; this is an interrupt
            self._interrupted(view, policy, "audit write", exc)
            raise
        self._notify(view, decision, policy, (started, evaluated, time.perf_counter()))
        return decision

    def record_failure(self, view: CallView, reason: str) -> Decision:
        """Deny a call the policy never saw, because something failed before it could (``reason``); never raises.

        For a front end that cannot bring a call to the policy (an MCP tool whose schema cannot be had, arguments
        that cannot be read): the deny is written like every decision (same audit path and chain, the policy's
        redaction, observers told), its provenance ``internal_error`` and its reason ``internal_error: <reason>``.
        A deny whose write fails says so instead (and has no ``record_id``).
        """
        policy = self._watcher.policy
        decision = self._audit(view, failure(reason, policy.digest), policy)
        self._notify(view, decision, policy)
        return decision

    def _interrupted(self, view: CallView, policy: Policy | None, stage: str, exc: BaseException) -> None:
        """Leave a deny record for a call whose decision was interrupted; the caller re-raises, so the tool never runs."""
        log.error("%s interrupted by %s; denying %s", stage, type(exc).__name__, view.capability)
        decision = failure(f"{stage} interrupted: {type(exc).__name__}", policy.digest if policy else None)
        self._notify(view, self._audit(view, decision, policy), policy)

    def _audit(
        self,
        view: CallView,
        decision: Decision,
        policy: Policy | None,
        limits: list[limiting.Pending] | None = None,
    ) -> Decision:
        """Write the decision (resolving approvals first, in the same transaction; with ``limits``, reading and counting
        their usage in the transaction that writes it); a failure denies."""
        redact = policy.redact if policy else frozenset()
        max_bytes = policy.max_payload_bytes if policy else 65536

        def record(final: Decision) -> dict[str, object]:
            return decision_record(
                view, final, redact=redact, max_bytes=max_bytes, notes=final.notes or decision.notes
            )

        try:
            with within(self.audit_timeout):
                if limits:
                    decision, seq = self._limited(view, decision, limits, record)
                    if seq is not None:
                        return decision.with_(record_id=seq)
                if decision.action == "require_approval" and policy is not None:
                    return self.approvals.resolve(
                        view, decision, self._approval_timeout(policy, decision), record
                    )
                seq = self._append_decision(view, decision, record(decision))
        except AuditBusy as exc:
            log.error("audit log busy; denying %s: %s", view.capability, exc)
            busy = f"audit log busy: could not write the decision within {seconds_text(exc.seconds)} s ({exc.cause})"
            return failure(busy, decision.policy_digest)
        except Exception as exc:  # noqa: BLE001 - no audit record, no tool call
            log.error("audit write failed; denying %s: %s", view.capability, exc)
            return failure(f"audit log not writable: {exc}", decision.policy_digest)
        if decision.notes is not None:
            return decision.with_(record_id=seq)
        return Decision(
            decision.action,
            decision.reason,
            decision.rule,
            decision.policy_digest,
            seq,
            decision.approval_id,
            decision.provenance,
        )

    def _limited(
        self,
        view: CallView,
        decision: Decision,
        limits: list[limiting.Pending],
        record: Callable[[Decision], dict[str, object]],
    ) -> tuple[Decision, int | None]:
        """Decide ``limits`` and write the decision (and its usage) in one store transaction; ``None``: held, not written.

        Usage that cannot be read denies the call (written outside the transaction, which was rolled back).
        """
        store = self._require_transactional()
        if store is None:
            denied = failure(
                f"limit: the audit store {self.audit_log} cannot keep usage (it has no transactions)",
                decision.policy_digest,
            )
            return denied, self._append_decision(view, denied, record(denied))
        try:
            with store.transaction() as tx:
                final = limiting.decide(tx, limits, decision, view)
                if final.action == "require_approval":
                    return final, None
                if final.allowed:
                    final = final.with_notes(**(decision.notes or {}), limits=limiting.notes(limits))
                seq = int(tx.append(record(final)))
                if final.allowed:
                    limiting.count(tx, limits, seq)
                return final, seq
        except limiting.LimitError as exc:
            log.error("limit check failed; denying %s: %s", view.capability, exc)
            denied = failure(f"limit: {exc}", decision.policy_digest)
            return denied, self._append_decision(view, denied, record(denied))

    def _append_decision(self, view: CallView, decision: Decision, record: dict[str, object]) -> int:
        """Append; a call with a call id that is blocked again reuses the identical decision already recorded for it.

        Only blocked decisions are reused (a re-run graph step that is still held or
        denied): every decision that lets the body run gets a record of its own, so
        two executions under one call id are two records. Reuse also needs the same
        arguments, compared losslessly (``args_sha256`` in the record's detail).
        """
        store = self._require_store()
        reusable = view.call_id and not decision.allowed and bindable_digest(view) is not None
        once = self._transactional if reusable else None
        return int(once.append_decision_once(record)) if once is not None else store.append(record)

    @staticmethod
    def _approval_timeout(policy: Policy, decision: Decision) -> float:
        rule = policy.rule(decision.rule) if decision.rule else None
        return (
            rule.approval_timeout if rule is not None and rule.approval_timeout else policy.approval_timeout
        )

    @property
    def approvals(self) -> Approvals:
        """The approval queue in this runtime's audit store (``approve``, ``deny``, ``list``, ``wait``)."""
        store = self._require_transactional()
        if store is None:
            raise AuditError(f"the audit store {self.audit_log} does not support approvals")
        return Approvals(store)

    def record_outcome(
        self, decision: Decision, outcome: str, detail: str | None = None, *, view: CallView | None = None
    ) -> None:
        """Append what happened after a decision (``ran``, ``tool_error``, ``blocked``, ``held``). Never raises.

        Waits at most :data:`OUTCOME_WAIT` seconds; a record the log does not
        take in that time is queued and written in order when it frees.
        """
        try:
            self._backlog.write(
                outcome_record(decision, outcome, detail, view=view),
                wait=min(OUTCOME_WAIT, self.audit_timeout),
            )
        except Exception as exc:  # noqa: BLE001 - the tool already ran or was already blocked
            log.error("could not record outcome %r of audit record %s: %s", outcome, decision.record_id, exc)

    def _append_record(self, record: Mapping[str, object]) -> None:
        self._require_store().append(record)

    def _notify(
        self,
        view: CallView,
        decision: Decision,
        policy: Policy | None,
        times: tuple[float, float, float] | None = None,
    ) -> None:
        """Call ``capfence_on_decision`` through pluggy (wrappers included); an observer that raises is logged and stops no other.

        ``times``: ``perf_counter()`` when the decision started, when it was evaluated and when it was written.
        """
        hook = self.plugins.manager.hook.capfence_on_decision
        # nothing observes: skip pluggy's call machinery on the hot path (a list copy: cheap)
        if not hook.get_hookimpls():
            return
        timing = Timing(times[0], times[1] - times[0], times[2] - times[1]) if times is not None else None
        try:
            call_isolated(hook, _observe, call=view, decision=decision, timing=timing, policy=policy)
        except Exception:  # every implementation is isolated; this is pluggy itself failing
            log.exception("capfence_on_decision failed; ignored")

    def _require_store(self) -> AuditStore:
        return self._store if self._store is not None else self._open_store()

    def _require_transactional(self) -> TransactionalStore | None:
        """The store, if it has the optional transactions (:class:`~capfence.contracts.TransactionalStore`)."""
        self._require_store()
        return self._transactional

    def _open_store(self) -> AuditStore:
        """Open the store once, even when many threads make their first call together."""
        with self._store_lock:
            if self._store is not None:
                return self._store
            try:
                store = open_store(self.audit_log, self.plugins.stores)
            except Exception as exc:
                log.error("cannot open audit log %s: %s", self.audit_log, exc)
                raise AuditError(f"cannot open audit log {self.audit_log}: {exc}") from exc
            self._transactional = transactional(store)
            self._store = store
            if self._transactional is not None:
                remember_policy(self._transactional, self._watcher.policy)
            return store

    def _remember_policy(self, policy: Policy) -> None:
        """File a newly loaded policy's text in the audit store, by digest (``capfence suggest`` keeps its rules)."""
        if self._transactional is not None:
            remember_policy(self._transactional, policy)

    def _reload_failed(self, exc: Exception) -> None:
        try:
            event = event_record("policy_reload_failed", str(exc), policy=str(self._watcher.path))
            self._backlog.write(event, wait=min(OUTCOME_WAIT, self.audit_timeout))
        except Exception as err:  # noqa: BLE001
            log.error("could not record policy_reload_failed: %s", err)

    def close(self) -> None:
        """Write queued outcome records (waiting up to ``audit_timeout``; any left are logged) and close the store."""
        self._backlog.close(self.audit_timeout)
        with self._store_lock:
            if self._store is not None:
                self._store.close()
                self._store = None
                self._transactional = None

    def __enter__(self) -> ActionRuntime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _audit_timeout(value: float | None) -> float:
    """``value``, else ``$CAPFENCE_AUDIT_TIMEOUT``, else :data:`DEFAULT_AUDIT_TIMEOUT`; a positive number of seconds."""
    raw: str | float = (
        value if value is not None else os.environ.get(AUDIT_TIMEOUT_ENV) or DEFAULT_AUDIT_TIMEOUT
    )
    try:
        seconds = float(raw)
    except (TypeError, ValueError):
        seconds = math.nan
    if not (0 < seconds <= 3600):
        where = "audit_timeout" if value is not None else AUDIT_TIMEOUT_ENV
        raise ValueError(f"{where} must be a number of seconds greater than 0 and at most 3600, not {raw!r}")
    return seconds
