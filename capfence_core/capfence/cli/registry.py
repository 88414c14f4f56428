"""The command line's plugin registry: built once per ``capfence`` invocation, kept in the click context.

The CLI is a host like :class:`~capfence.ActionRuntime`: it builds its registry with
:func:`~capfence.plugins.build_registry` and hands its parts to what needs them (store types to
the store opener and the log readers, condition types to the policy loader).
"""

from __future__ import annotations

from pathlib import Path

import click

from capfence.audit.reader import AuditReader, open_reader
from capfence.audit.store import open_store
from capfence.contracts import AuditStore
from capfence.plugins import Registry, build_registry
from capfence.policy.compiled import Policy
from capfence.policy.loader import load_policy

_KEY = "capfence.registry"


def registry() -> Registry:
    """This invocation's registry (built on first use); outside a click context, a fresh one."""
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return build_registry()
    found = ctx.meta.get(_KEY)
    if not isinstance(found, Registry):
        found = ctx.meta[_KEY] = build_registry()
    return found


def open_log(location: str) -> AuditReader:
    """A read-only reader for an ``--audit-log`` value, through this invocation's store plugins."""
    return open_reader(location, registry().stores)


def open_log_store(location: str) -> AuditStore:
    """The writable store for an ``--audit-log`` value, through this invocation's store plugins."""
    return open_store(location, registry().stores)


def read_policy(path: str | Path) -> Policy:
    """Load a policy with this invocation's condition types."""
    return load_policy(path, registry().conditions)
