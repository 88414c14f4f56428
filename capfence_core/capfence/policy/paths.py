"""Path normalization for the ``path:`` condition.

A path is judged after ``~`` expansion, joining a relative path to the current
working directory (where the tool runs), collapsing ``.``, ``..`` and repeated
slashes, and optionally resolving symlinks against the real filesystem.

``file:`` URLs are read as paths (any case of ``file:``; host empty or
``localhost``; percent-escapes decoded). The kernel's aliases of ``/``,
``/proc/self/root``, ``/proc/thread-self/root``, ``/proc/<pid>/root`` and
their ``task/<tid>`` forms, are resolved to ``/`` wherever they occur while
``..`` is collapsed, so ``/proc/self/root/etc/shadow`` is ``/etc/shadow``.

A path that cannot be known is ``None``, which the evaluator resolves
fail-closed: a NUL byte, an absurd length, a ``file:`` URL naming another host
or carrying a query, and paths through a process's working directory or open
files (``/proc/self/cwd/...``, ``/proc/<pid>/fd/3/...``, ``/dev/fd/3``), which
only the process knows.
"""

from __future__ import annotations

import os
import posixpath
import re
from typing import Final
from urllib.parse import unquote

MAX_PATH = 4096

_PROC_TASK: Final = r"/proc/(?:self|thread-self|[0-9]+)(?:/task/[0-9]+)?"
_ROOT_ALIAS: Final = re.compile(_PROC_TASK + r"/root")
_UNKNOWABLE: Final = re.compile(_PROC_TASK + r"/(?:cwd|fd/[^/]+|map_files/[^/]+)|/dev/fd/[^/]+")
_MAGIC_DEPTH: Final = 5
"""The longest alias above has this many components (``/proc/self/task/1/root``)."""
_FILE_SCHEME: Final = re.compile(r"file:", re.IGNORECASE)


def normalize_path(raw: str, *, resolve_symlinks: bool = False, cwd: str | None = None) -> str | None:
    """The absolute, normalized form of ``raw``; ``None`` when it cannot be known."""
    if not raw or "\x00" in raw or len(raw) > MAX_PATH:
        return None
    path: str | None = raw.strip()
    if path and _FILE_SCHEME.match(path):
        path = file_url_path(path)
        if path is None:
            return None
    path = os.path.expanduser(path or "")
    if not path.startswith("/"):
        path = posixpath.join(cwd or os.getcwd(), path)
    lexical = collapse(path)
    if lexical is None or not resolve_symlinks:
        return lexical
    try:
        return collapse(os.path.realpath(path))
    except (OSError, ValueError):
        return None


def file_url_path(url: str) -> str | None:
    """The local path a ``file:`` URL names; ``None`` for another host, a query or fragment, or bad escapes."""
    rest = url[len("file:") :]
    if rest.startswith("//"):
        host, slash, path = rest[2:].partition("/")
        if host.lower() not in ("", "localhost"):
            return None
        rest = slash + path
    if not rest.startswith("/") or "?" in rest or "#" in rest:
        return None
    try:
        decoded = unquote(rest, errors="strict")
    except UnicodeDecodeError:
        return None
    return None if "\x00" in decoded else decoded


def collapse(path: str) -> str | None:
    """``.``, ``..`` and ``//`` collapsed component by component, the ``/proc`` aliases of ``/`` resolved."""
    stack: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if stack:
                stack.pop()
            continue
        stack.append(part)
        if len(stack) <= _MAGIC_DEPTH and stack[0] in ("proc", "dev"):
            here = "/" + "/".join(stack)
            if _ROOT_ALIAS.fullmatch(here):
                stack.clear()
            elif _UNKNOWABLE.fullmatch(here):
                return None
    return "/" + "/".join(stack)


def is_under(path: str, prefix: str) -> bool:
    """``path`` equals ``prefix`` or lies below it (component-wise, not by string prefix)."""
    if prefix == "/":
        return True
    return path == prefix or path.startswith(prefix + "/")
