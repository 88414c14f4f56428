"""Path normalization for the ``path:`` condition.

A path is judged after ``~`` expansion, joining a relative path to the current
working directory (where the tool runs), collapsing ``.``, ``..`` and repeated
slashes, and optionally resolving symlinks against the real filesystem. A path
that cannot be normalized (a NUL byte, absurd length) is *unknown*, which the
evaluator resolves fail-closed.
"""

from __future__ import annotations

import os
import posixpath

MAX_PATH = 4096


def normalize_path(raw: str, *, resolve_symlinks: bool = False, cwd: str | None = None) -> str | None:
    """The absolute, normalized form of ``raw``; ``None`` when it cannot be known."""
    if not raw or "\x00" in raw or len(raw) > MAX_PATH:
        return None
    path = raw.strip()
    if path.startswith("file://"):
        path = path[len("file://") :]
    path = os.path.expanduser(path)
    if not path.startswith("/"):
        path = posixpath.join(cwd or os.getcwd(), path)
    if resolve_symlinks:
        try:
            path = os.path.realpath(path)
        except (OSError, ValueError):
            return None
    path = posixpath.normpath(path)
    return "/" + path.lstrip("/")


def is_under(path: str, prefix: str) -> bool:
    """``path`` equals ``prefix`` or lies below it (component-wise, not by string prefix)."""
    if prefix == "/":
        return True
    return path == prefix or path.startswith(prefix + "/")
