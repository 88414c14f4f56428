"""The audit store interface and how a store is chosen from ``--audit-log``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol


class AuditStore(Protocol):
    """Where decisions go. Implementations must be safe for many threads.

    ``append`` commits the record durably (as configured) *before* returning
    and returns its sequence number; any failure raises
    :class:`~capfence.errors.AuditError`, which the runtime turns into a deny.
    Waits should stay within :func:`capfence.audit.deadline.current` (the
    caller's budget) and raise :class:`~capfence.audit.deadline.AuditBusy` when
    it runs out. The built-in stores replace the record's ``ts`` with its
    commit time (:func:`~capfence.audit.record.commit_time`).

    Optional: ``append_decision_once(record) -> int``, which returns the
    sequence number of an identical decision already recorded for the same
    call id (``detail``) instead of appending. With it, a framework re-running
    a step does not duplicate decisions; the SQLite store has it.
    """

    location: str

    def append(self, record: Mapping[str, object]) -> int: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class StoreType:
    """A store plugin: ``accepts(location)`` says whether a ``--audit-log`` value is its own.

    ``open_reader(location)``, if given, returns a read-only
    :class:`~capfence.audit.reader.AuditReader` for the CLI's reading commands.
    """

    name: str
    accepts: Callable[[str], bool]
    open: Callable[[str], AuditStore]
    open_reader: Callable[[str], Any] | None = None


def open_store(location: str, types: list[StoreType] | None = None) -> AuditStore:
    """Open the store for ``location`` with the first store type that accepts it."""
    if types is None:
        from capfence.plugins import store_types

        types = store_types()
    for kind in types:
        if kind.accepts(location):
            return kind.open(location)
    from capfence.errors import AuditError

    raise AuditError(f"no audit store accepts {location!r}")
