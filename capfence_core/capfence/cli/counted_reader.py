"""An :class:`~capfence.audit.reader.AuditReader` that reports, through a :class:`~capfence.cli.progress.Ticker`, the records read.

For commands whose work is a library call that walks the log itself (``verify``).
"""

from __future__ import annotations

from collections.abc import Iterator
from types import TracebackType
from typing import Any, Self

from capfence.audit.query import Filters
from capfence.audit.reader import AuditReader, Record
from capfence.cli.progress import Ticker


class CountedReader:
    """``reader``, with :meth:`records` counted by ``ticker``; everything else passed through."""

    def __init__(self, reader: AuditReader, ticker: Ticker) -> None:
        self._reader = reader
        self._ticker = ticker
        self.location = reader.location

    def records(self) -> Iterator[Record]:
        return self._ticker.counted(self._reader.records())

    def decisions(self, filters: Filters, *, limit: int | None = None) -> Iterator[Record]:
        return self._reader.decisions(filters, limit=limit)

    def summary(self, filters: Filters) -> list[Record]:
        return self._reader.summary(filters)

    def calls(self, filters: Filters) -> Iterator[tuple[Any, ...]]:
        return self._reader.calls(filters)

    def head(self) -> tuple[int, str] | None:
        return self._reader.head()

    def chain_mode(self) -> str:
        return self._reader.chain_mode()

    def approvals(self) -> list[Record]:
        return self._reader.approvals()

    def newest_digest(self, filters: Filters) -> str | None:
        return self._reader.newest_digest(filters)

    def policy_text(self, digest: str) -> str | None:
        return self._reader.policy_text(digest)

    def find_hash(self, value: str) -> int | None:
        return self._reader.find_hash(value)

    def hash_at(self, seq: int) -> str | None:
        """The hash of record ``seq``, from readers that can look it up (None otherwise)."""
        lookup = getattr(self._reader, "hash_at", None)
        return lookup(seq) if lookup is not None else None

    def close(self) -> None:
        self._reader.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
