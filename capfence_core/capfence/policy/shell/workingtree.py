"""Where a command's paths lie: in the working tree (fine to change), outside it, or on another machine.

The working tree is the current directory and below (relative paths) plus the
scratch areas (``/tmp``); hidden files in the home directory (``~/.bashrc``,
``~/.ssh``), the home directory itself, other users' homes, every other
absolute path and a git hook (it runs later) are outside it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from capfence.policy.shell.context import norm_path
from capfence.policy.shell.model import Arg, Kind

_SAFE_ROOTS = (
    "/tmp",
    "/var/tmp",
    "/dev/null",
    "/dev/stdout",
    "/dev/stderr",
    "/dev/fd",
    "/dev/tty",
    "/dev/shm",
    "/dev/pts",
)


def outside(text: str) -> bool:
    """A static path that is not in the working tree (relative) or a scratch area (``/tmp``), or is a hidden file in the home directory."""
    if text.startswith("~"):
        rest = text[1:]
        if rest and not rest.startswith("/"):
            return True  # ~otheruser
        return not rest.strip("/") or any(
            part.startswith(".") and part not in (".", "..") for part in rest.split("/")
        )
    if text.startswith("/"):
        path = norm_path(text)
        return not any(path == root or path.startswith(root + "/") for root in _SAFE_ROOTS)
    parts = text.split("/")
    # a git hook, or configuration that runs commands
    return ".git" in parts and ("hooks" in parts or parts[-1] == "config")


def written(
    args: Sequence[Arg], need_static: bool, verb: str = "writes", *, remote: bool = False
) -> str | None:
    """Why writing ``args`` is not known safe: a path outside the working tree, one known only at run time (with
    ``need_static``), or with ``remote`` a destination on another machine (``scp``/``rsync``); ``None`` if none is."""
    for arg in args:
        if arg.kind is not Kind.STATIC:
            if need_static:
                return (
                    "its target is known only at run time"
                    if arg.kind is Kind.DYNAMIC
                    else "operates on names read at run time"
                )
            continue
        if outside(arg.text):
            return f"{verb} {arg.text}, outside the working tree"
        if remote and REMOTE_PATH.match(arg.text):
            return f"copies files to another machine ({arg.text})"
    return None


REMOTE_PATH = re.compile(r"[^/]*:|rsync://")
"""``[user@]host:path``, ``host::module`` and ``rsync://`` destinations of ``scp``/``rsync``: another machine."""


def contained(arg: Arg) -> bool:
    """A static, glob-free relative path strictly inside the working tree (not ``.``, ``..``-climbing or ``.git``)."""
    if not arg.static or arg.globbing or arg.text.startswith(("/", "~", "-")):
        return False
    parts = [part for part in arg.text.split("/") if part not in ("", ".")]
    return bool(parts) and ".." not in parts and ".git" not in parts and not REMOTE_PATH.match(arg.text)


def moved(sources: Sequence[Arg]) -> str | None:
    """What ``mv`` takes away must be static paths in the working tree, and not the tree itself."""
    for arg in sources:
        if not arg.static:
            return "moves files named only at run time"
        if outside(arg.text) or arg.text.strip("/") in ("", ".", "..") or arg.text == "*":
            return f"moves {arg.text} away"
    return None
