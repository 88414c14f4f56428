"""Where a command's paths lie: in the working tree (fine to change), outside it, or on another machine.

The working tree is the current directory and below (relative paths) plus the
scratch areas (``/tmp``); the home directory and every file in it (``~/notes.txt``,
``~/.bashrc``), other users' homes, every other absolute path and a git hook
(it runs later) are outside it. Relative paths are
judged from the directory a script's ``cd`` left (:data:`CWD`); ``/dev/null`` and
the scratch directories themselves are outside it for what removes or replaces
files (``rm``, ``mv``, ``ln``); a name completed at run time is outside it when
what is known of it is (``/dev/$X``).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence
from contextvars import ContextVar

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


_SCRATCH = ("/tmp", "/var/tmp", "/dev/shm")
"""Scratch directories: files in them, not the directories themselves nor the devices of :data:`_SAFE_ROOTS`, may be
replaced or removed (``rm /dev/null`` and ``mv x /dev/stdout`` replace a device every program relies on)."""

RUNTIME_DIR = "\0"
"""The current directory when it is known only at run time (``cd "$X"``, ``cd -``, ``popd``) or above the working tree
(``cd ..``): every relative path is then outside the tree."""

CWD: ContextVar[str | None] = ContextVar("capfence_shell_cwd", default=None)
"""The directory the invocation being judged runs in, as a script's ``cd``/``pushd``/``env -C`` left it (set by
:func:`~capfence.policy.shell.known.why_held_each`): ``None`` for the working tree itself, a path relative to it, an
absolute or ``~`` path, or :data:`RUNTIME_DIR`. Relative paths are judged where they really point."""


def resolve(text: str, base: str | None = None) -> str:
    """``text`` as a path from the working tree (or absolute, or ``~``), given the current directory ``base`` (default:
    :data:`CWD`); :data:`RUNTIME_DIR` when that cannot be known. Unchanged in the working tree itself."""
    if base is None:
        base = CWD.get()
        if base is None:
            return text
    if text.startswith(("/", "~")):
        return text
    if base == RUNTIME_DIR:
        return RUNTIME_DIR
    if base.startswith("~"):
        # (lexically, from the home directory: climbing above it leads somewhere unknown)
        inner = posixpath.normpath(posixpath.join("/h", base[2:], text))
        if inner != "/h" and not inner.startswith("/h/"):
            return RUNTIME_DIR
        return "~" + inner[2:]
    return norm_path(posixpath.join(base, text))


def shown(text: str) -> str:
    """A path as a reason shows it: with the directory it is relative to, when a ``cd`` changed it."""
    base = CWD.get()
    if base is None or text.startswith(("/", "~")):
        return text
    return f"{text} (in {'a directory known only at run time' if base == RUNTIME_DIR else base})"


def outside(text: str, *, replaced: bool = False) -> bool:
    """A static path that is not in the working tree (relative) or a scratch area (``/tmp``), or is in the home
    directory. ``replaced``: the path is removed or replaced, not written into (``rm``, ``mv``, ``ln``), so of the scratch
    areas only files inside ``/tmp``, ``/var/tmp`` and ``/dev/shm`` are fine, not ``/dev/null`` or ``/tmp`` itself.

    A relative path is judged from the current directory (:data:`CWD`)."""
    if not text.startswith(("/", "~")) and CWD.get() is not None:
        text = resolve(text)
        if text == RUNTIME_DIR:
            return True
    return lexically_outside(text, replaced=replaced)


def lexically_outside(text: str, *, replaced: bool = False) -> bool:
    """:func:`outside` with relative paths taken from the working tree."""
    if text.startswith("~"):
        # the home directory and everything in it, another user's (~otheruser): the user's own files, not the project's
        # (the working tree may lie under the home, but a path spelled from the home is not known to lead into it)
        return True
    if text.startswith("/"):
        path = norm_path(text)
        if replaced:
            return not any(path.startswith(root + "/") for root in _SCRATCH)
        return not any(path == root or path.startswith(root + "/") for root in _SAFE_ROOTS)
    path = norm_path(text)
    if path == ".." or path.startswith("../"):
        return True  # climbs out of the working tree (`> ../../etc/passwd`)
    parts = text.split("/")
    # the repository's own data (its history, refs, HEAD; hooks and configuration run commands), but for a stale lock and
    # the local ignore list
    return ".git" in parts and ("hooks" in parts or parts[-1] not in _GIT_FILES_TO_CHANGE)


_GIT_FILES_TO_CHANGE = frozenset({"index.lock", "exclude", "COMMIT_EDITMSG"})
"""Files in ``.git`` that an agent may change: removing a stale lock, adding to the local ignore list, a commit message."""


def written(
    args: Sequence[Arg],
    need_static: bool,
    verb: str = "writes",
    *,
    remote: bool = False,
    replaced: bool = False,
) -> str | None:
    """Why writing ``args`` is not known safe: a path outside the working tree, one known only at run time (with
    ``need_static``), or with ``remote`` a destination on another machine (``scp``/``rsync``); ``None`` if none is.
    ``replaced``: the paths are removed or replaced, not written into (:func:`outside`).

    Without ``need_static`` a word known only at run time is fine where it cannot leave the tree, but not one whose known
    start is outside it (``> /dev/$(echo sda)``, a ``for`` variable over ``/etc/*``, ``find /etc -exec tee {} +``), one
    that is all a command's output (``> "$(ls /dev/sd? | head -1)"``), or names an ``xargs`` reads."""
    for arg in args:
        if arg.kind is not Kind.STATIC:
            if _made_by_mktemp(arg):
                continue  # (a scratch name: out=$(mktemp -d); cp -r src "$out")
            if need_static:
                return (
                    "its target is known only at run time"
                    if arg.kind is Kind.DYNAMIC
                    else "operates on names read at run time"
                )
            reason = run_time_target(arg, verb)
            if reason is not None:
                return reason
            continue
        if outside(arg.text, replaced=replaced):
            return f"{verb} {shown(arg.text)}, outside the working tree"
        if remote and REMOTE_PATH.match(arg.text):
            return f"copies files to another machine ({arg.text})"
    return None


def run_time_target(arg: Arg, verb: str = "writes") -> str | None:
    """Why a file named at run time (``arg`` not static) may be written outside the working tree, or ``None``."""
    start = arg.prefix
    if start.startswith(("/", "~")) or (start and CWD.get() is not None):
        if not any(start.startswith(root + "/") for root in _RUN_TIME_ROOTS) and outside(start or "."):
            return f"{verb} {shown(start)}..., a path completed at run time outside the working tree"
        return None
    if start:
        return None
    if arg.kind is Kind.PLACEHOLDER:
        return f"{verb} files named by its input, known only at run time"
    if arg.sources and arg.text[:1] == _OUTPUT_MARK and not arg.sources <= NAMING_PROGRAMS:
        return f"{verb} a path that is the output of {', '.join(sorted(arg.sources))}, known only at run time"
    if CWD.get() is not None and outside("."):
        return f"{verb} a path known only at run time, from {shown('.')}"
    return None


_RUN_TIME_ROOTS = ("/tmp", "/var/tmp", "/dev/shm", "/dev/fd")
"""Directories under which a name completed at run time stays a scratch file (``/tmp/$X.log``, ``/dev/fd/$N``)."""
_OUTPUT_MARK = "\ufffc"
"""What stands for an expansion in an argument's text (:mod:`capfence.policy.shell.expand`)."""
NAMING_PROGRAMS = frozenset(
    {"date", "mktemp", "pwd", "basename", "uuidgen", "whoami", "id", "hostname", "git", "seq"}
)
"""Programs whose output makes a file name in the working tree or a scratch area (``> "$(date +%F).log"``,
``> "$(mktemp)"``), not a path anywhere."""


REMOTE_PATH = re.compile(r"[^/]*:|rsync://")
"""``[user@]host:path``, ``host::module`` and ``rsync://`` destinations of ``scp``/``rsync``: another machine."""


def contained(arg: Arg) -> bool:
    """A static, glob-free relative path strictly inside the working tree (not ``.``, ``..``-climbing or ``.git``), from the
    current directory (:data:`CWD`)."""
    if not arg.static or arg.globbing or arg.text.startswith(("/", "~", "-")):
        return False
    text = resolve(arg.text)
    if text.startswith(("/", "~")) or text == RUNTIME_DIR:
        return False
    parts = [part for part in text.split("/") if part not in ("", ".")]
    return bool(parts) and ".." not in parts and ".git" not in parts and not REMOTE_PATH.match(arg.text)


def moved(sources: Sequence[Arg]) -> str | None:
    """What ``mv`` takes away must be static paths in the working tree, and not the tree itself."""
    for arg in sources:
        if not arg.static:
            if _made_by_mktemp(arg):
                continue  # (tmp=$(mktemp) && sort f > "$tmp" && mv "$tmp" f)
            return "moves files named only at run time"
        if outside(arg.text, replaced=True) or arg.text.strip("/") in ("", ".", "..") or arg.text == "*":
            return f"moves {shown(arg.text)} away"
    return None


def _made_by_mktemp(arg: Arg) -> bool:
    """A name ``mktemp`` made in a scratch directory, as a whole (``"$tmp"``, not ``"$tmp/../x"``)."""
    return (
        arg.sources == {"mktemp"}
        and arg.text == arg.prefix + _OUTPUT_MARK
        and ".." not in arg.prefix
        and any(arg.prefix.startswith(root + "/") for root in _RUN_TIME_ROOTS)
    )


def visible_in_home(text: str) -> bool:
    """A path in the visible part of the home directory (``~/projects/demo``, ``~/bin/cat``): not the home itself, not a
    hidden file or directory there (``~/.ssh``, ``~/.local/bin``), not a pattern over it, not another user's home."""
    rest = text[1:] if text.startswith("~") else ""
    return (
        rest.startswith("/")
        and bool(rest.strip("/"))
        and not any(part.startswith(".") and part not in (".", "..") for part in rest.split("/"))
        and not any(char in rest for char in "*?[")
    )
