"""Progress of long runs (``export``, ``verify``, ``suggest``, ``replay``) on a terminal; nothing on a pipe.

A :class:`Ticker` counts as work is done. Only when standard error is a
terminal and the run has lasted :data:`DELAY` seconds does it show a progress
line there (rich, transient: cleared when the run ends), so short runs and
redirected output never see it.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Self, TypeVar

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

T = TypeVar("T")
DELAY = float(os.environ.get("CAPFENCE_PROGRESS_DELAY") or 0.5)
"""Seconds before a progress line appears ($CAPFENCE_PROGRESS_DELAY; 0 shows it at once)."""
EVERY = 1000
"""Items between looks at the clock when counting an iterable."""


class Ticker:
    """``what`` done so far, out of ``total`` if known (records, or bytes with ``unit="bytes"``)."""

    def __init__(self, what: str, total: int | None = None, *, unit: str = "records") -> None:
        self.what = what
        self.total = total
        self.unit = unit
        self.enabled = _isatty_stderr()
        self._started = time.monotonic()
        self._bar: Progress | None = None
        self._task: TaskID | None = None

    def update(self, done: int) -> None:
        """Record that ``done`` units are done; shows or refreshes the line when it is due."""
        if not self.enabled:
            return
        if self._bar is None:
            if time.monotonic() - self._started < DELAY:
                return
            self._start()
        assert self._bar is not None and self._task is not None
        self._bar.update(self._task, completed=done)

    def counted(self, items: Iterable[T]) -> Iterator[T]:
        """``items``, unchanged, counting them as they pass."""
        if not self.enabled:
            yield from items
            return
        for done, item in enumerate(items, 1):
            yield item
            if not done % EVERY:
                self.update(done)

    def _start(self) -> None:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            MofNCompleteColumn,
            Progress,
            ProgressColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        from capfence.cli.output import console

        if self.unit == "bytes":
            amount: ProgressColumn = DownloadColumn()
        else:
            amount = MofNCompleteColumn() if self.total else TextColumn("{task.completed} " + self.unit)
        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            amount,
            TimeElapsedColumn(),
            console=console(sys.stderr),
            transient=True,
        )
        self._bar.start()
        self._task = self._bar.add_task(self.what, total=self.total)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._bar is not None:
            self._bar.stop()


def _isatty_stderr() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False
