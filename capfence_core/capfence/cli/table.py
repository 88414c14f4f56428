"""A streamed text table: widths fixed from the first rows, then one line per row, in constant memory.

A value longer than its column is cut with a visible ``…``, never silently.
Columns that do not fit the width are hidden, in a given order, and the
caller says so. With ``wide`` nothing is cut or hidden (lines get as long as
the values).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import IO

ELLIPSIS = "…"
GAP = "  "
NARROWEST = 8
"""A flexible column is never narrower, even when the fixed columns leave less (the line is then wider than asked)."""


@dataclass(frozen=True)
class Column:
    """A column: fixed ones are at most ``cap`` wide; flexible ones share what is left (at least ``least``)."""

    name: str
    cap: int = 24
    flexible: bool = False
    least: int = 20


def terminal_width(wide: bool = False) -> int | None:
    """The width to fit: the terminal's ($COLUMNS, else 160 when not a terminal); None (no limit) when ``wide``."""
    import shutil

    return None if wide else shutil.get_terminal_size((160, 24)).columns


def cut(text: str, width: int) -> str:
    """``text`` in at most ``width`` characters, ending in ``…`` when something was cut."""
    return text if len(text) <= width else text[: max(width - 1, 0)] + ELLIPSIS


def one_line(text: str) -> str:
    """``text`` with line breaks and tabs shown as escapes, so a row stays one line."""
    return text.replace("\r", "\\r").replace("\n", "\\n").replace("\t", "\\t")


@dataclass
class Layout:
    """The columns shown and their widths."""

    shown: list[int]
    widths: dict[int, int]
    hidden: list[str] = field(default_factory=list)
    wide: bool = False
    """Nothing is cut: a longer value than the first rows had pushes the row's later columns right."""


def plan(
    columns: Sequence[Column],
    sample: Sequence[Sequence[str]],
    total: int | None,
    drop_order: Sequence[str],
    *,
    roomy: bool = False,
) -> Layout:
    """Widths from ``sample``; ``total`` None means wide (nothing cut, nothing hidden).

    Fixed columns are as wide as their values while everything fits; else cut to their ``cap``;
    then columns are hidden in ``drop_order`` until the rest fits. ``roomy``: size columns for rows
    still to come (``--follow``), each at least its ``cap`` (or ``least``).
    """
    natural = {i: max([len(col.name), *(len(row[i]) for row in sample)]) for i, col in enumerate(columns)}
    if roomy:
        natural = {
            i: max(natural[i], col.least if col.flexible else col.cap) for i, col in enumerate(columns)
        }
    if total is None:
        return Layout(list(range(len(columns))), natural, wide=True)
    fixed = {i: natural[i] for i, col in enumerate(columns) if not col.flexible}
    shown = list(range(len(columns)))
    hidden: list[str] = []
    names = [col.name for col in columns]

    def need() -> int:
        flexible = sum(min(natural[i], columns[i].least) for i in shown if columns[i].flexible)
        return sum(fixed[i] for i in shown if i in fixed) + flexible + len(GAP) * (len(shown) - 1)

    if need() > total:
        fixed = {i: min(natural[i], max(columns[i].cap, len(columns[i].name))) for i in fixed}
    for name in drop_order:
        if need() <= total:
            break
        shown.remove(names.index(name))
        hidden.append(name)
    widths = {i: fixed[i] for i in shown if i in fixed}
    _share(columns, natural, shown, widths, total - sum(widths.values()) - len(GAP) * (len(shown) - 1))
    return Layout(shown, widths, hidden)


def _share(
    columns: Sequence[Column], natural: dict[int, int], shown: list[int], widths: dict[int, int], room: int
) -> None:
    """Give the flexible columns ``room``, the rightmost first (the payload matters most): what it needs, leaving the others their least."""
    flexible = [i for i in shown if columns[i].flexible]
    for n in reversed(range(len(flexible))):
        i = flexible[n]
        others = sum(columns[j].least for j in flexible[:n])
        widths[i] = max(min(natural[i], room - others), NARROWEST)
        room -= widths[i]


class StreamTable:
    """Writes a header, then rows, to ``out`` with a fixed :class:`Layout`; ``paint`` colours one cell (after padding)."""

    def __init__(
        self,
        out: IO[str],
        columns: Sequence[Column],
        layout: Layout,
        paint: Callable[[int, str, str], str] | None = None,
    ) -> None:
        self.out = out
        self.columns = columns
        self.layout = layout
        self.paint = paint
        self.cut = 0
        """How many values were cut to fit so far."""

    def header(self) -> None:
        names = [self.columns[i].name for i in self.layout.shown]
        self._line(names, None)
        self.out.write(GAP.join("─" * self.layout.widths[i] for i in self.layout.shown) + "\n")

    def row(self, cells: Sequence[str], tag: str | None = None) -> None:
        self._line([cells[i] for i in self.layout.shown], tag)

    def _line(self, cells: list[str], tag: str | None) -> None:
        parts = []
        last = len(self.layout.shown) - 1
        for n, (i, text) in enumerate(zip(self.layout.shown, cells, strict=True)):
            width = self.layout.widths[i]
            shown = text if self.layout.wide or len(text) <= width else cut(text, width)
            self.cut += shown is not text
            padded = shown if n == last else shown.ljust(width)
            parts.append(self.paint(i, padded, tag) if self.paint is not None and tag is not None else padded)
        self.out.write(GAP.join(parts).rstrip() + "\n")
