"""Every CapFence hook. Plugins implement them with ``@capfence.hookimpl``.

Registration hooks receive a ``register`` callback and call it once per thing
they provide. No hook decides allow or deny: the policy alone decides.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    import click

    from capfence.call.decision import Decision, Timing
    from capfence.call.view import CallView
    from capfence.contracts import Adapter, StoreType
    from capfence.policy.compiled import Policy
    from capfence.policy.spec import ConditionType

hookspec = pluggy.HookspecMarker("capfence")


@hookspec
def capfence_register_adapters(register: Callable[[Adapter], None]) -> None:
    """Called once when the plugin manager is built; call ``register(Adapter(...))`` for each tool kind you wrap.

    :func:`capfence.CapFenceTool` asks adapters in ``priority`` order (lower first)
    and the first whose ``accepts(obj)`` is true wraps the object. The built-in
    plain-callable adapter has priority 1000, so it comes last.
    """


@hookspec
def capfence_register_matchers(register: Callable[[ConditionType], None]) -> None:
    """Called once when the plugin manager is built; call ``register(ConditionType(...))`` per policy condition key.

    A registered key can then be used in any policy rule. Registering a key that
    already exists is an error reported as a warning; the first one stays. A
    condition must return ``True``, ``False`` or ``None``; anything else denies the call.
    """


@hookspec
def capfence_register_audit_stores(register: Callable[[StoreType], None]) -> None:
    """Called once when the plugin manager is built; call ``register(StoreType(...))`` per audit store kind.

    A store is chosen for an ``--audit-log``/``audit_log`` value by the first
    registered type whose ``accepts(location)`` is true; SQLite accepts any path.
    """


@hookspec
def capfence_register_approvers(register: Callable[[object], None]) -> None:
    """Called once when the plugin manager is built; call ``register(approver)`` per way a human can decide approvals.

    Approvers present pending approval requests to a human and record the
    human's decision in the store; they never decide on their own.
    """


@hookspec
def capfence_on_decision(
    call: CallView, decision: Decision, timing: Timing | None, policy: Policy | None
) -> None:
    """Called after every decision has been written to the audit log.

    ``timing`` says how long the evaluation and the audit write took (None for the
    deny recorded when a decision is interrupted); ``policy`` is the policy that
    decided (None if none could be loaded), e.g. for its ``redact`` keys. Like
    every pluggy hook, an implementation may take only the arguments it needs
    (``call, decision``).

    For observers (metrics, alerts). The return value is ignored and an
    exception is logged and ignored, and stops no other observer: a hook can
    neither change nor break a decision. The only hook that may be a wrapper
    (``wrapper=True`` or ``hookwrapper=True``).
    A framework re-running a call (same ``call.call_id``) that is decided the same
    way is reported again with the same ``decision.record_id``; nothing new is written.
    """


@hookspec
def capfence_register_commands(cli: click.Group) -> None:
    """Called when the ``capfence`` command is built; add ``click`` commands to ``cli``."""
