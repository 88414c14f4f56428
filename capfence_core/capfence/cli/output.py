"""How the commands print: colour only on a terminal and without ``NO_COLOR``, local times, short payloads.

``rich`` is imported here lazily (by :func:`console`), never at start-up.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from rich.console import Console

DECISION_LABELS = {"allow": "allow", "warn": "WARN", "deny": "DENY", "require_approval": "APPROVAL"}
"""``allow`` stays quiet; everything else is upper case so a ``warn`` never reads like an ``allow``, even without colour."""
DECISION_STYLES = {
    "allow": "green",
    "warn": "bold yellow",
    "deny": "bold red",
    "require_approval": "bold magenta",
}


def use_color(stream: TextIO | None = None) -> bool:
    """Colour only for a terminal, and never when ``NO_COLOR`` is set (https://no-color.org)."""
    stream = stream or sys.stdout
    if os.environ.get("NO_COLOR"):
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def console(stream: TextIO | None = None) -> Console:
    """A rich console for ``stream`` that emits no escape codes when piped or under ``NO_COLOR``."""
    from rich.console import Console

    stream = stream or sys.stdout
    width = None if _isatty(stream) else int(os.environ.get("COLUMNS") or 160)
    return Console(
        file=stream, width=width, no_color=not use_color(stream), highlight=False, emoji=False, markup=False
    )


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def label(decision: str | None) -> str:
    return DECISION_LABELS.get(decision or "", decision or "-")


def style(decision: str | None) -> str:
    return DECISION_STYLES.get(decision or "", "")


def local_time(ts: str | None) -> str:
    """A stored UTC timestamp in the viewer's local time, to the second."""
    if not ts:
        return "-"
    try:
        return dt.datetime.fromisoformat(ts).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return ts


def shorten(text: str, width: int) -> str:
    """``text`` on one line, cut to ``width`` characters with an ellipsis."""
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: max(width - 1, 0)] + "…"


def shown_path(path: str | os.PathLike[str] | None) -> str:
    """``path`` as the user would type it here: relative to the current directory when under it, else as it is."""
    if path is None:
        return "-"
    text = os.fspath(path)
    if "://" in text or not os.path.isabs(text):
        return text
    try:
        relative = os.path.relpath(text)
    except ValueError:  # another drive (Windows)
        return text
    return text if relative.startswith("..") else relative
