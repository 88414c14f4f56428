"""How an audit store is chosen for an ``--audit-log`` value, and checked against its contract.

The store protocols and :class:`~capfence.contracts.StoreType` live in :mod:`capfence.contracts`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

from capfence.contracts import AuditStore, ContractError, StoreType, TransactionalStore, check_store
from capfence.errors import AuditError


def open_store(location: str, types: Iterable[StoreType]) -> AuditStore:
    """Open the store for ``location`` with the first of ``types`` (a registry's ``stores``) that accepts it.

    The store it opens is checked against :class:`~capfence.contracts.AuditStore` (and, if it has
    any of its members, :class:`~capfence.contracts.TransactionalStore`): a missing member raises
    :class:`AuditError` naming it, so a broken store plugin is refused before any call relies on it.
    """
    for kind in types:
        if kind.accepts(location):
            store = kind.open(location)
            try:
                check_store(store, kind.name)
            except ContractError as exc:
                _close_quietly(store)
                raise AuditError(str(exc)) from exc
            return store
    raise AuditError(f"no audit store accepts {location!r}")


def transactional(store: AuditStore) -> TransactionalStore | None:
    """``store`` if it has the optional transaction capability, else None."""
    return store if isinstance(store, TransactionalStore) else None


def _close_quietly(store: object) -> None:
    close = getattr(store, "close", None)
    if callable(close):
        with contextlib.suppress(
            Exception
        ):  # it is refused anyway; the contract error is what the user needs
            close()
