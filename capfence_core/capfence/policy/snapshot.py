"""A consistent view of policy files for hot reload: each file read once, with the stat it had while read.

A :class:`Snapshot` is a :class:`~capfence.policy.source.PolicyFiles`: the
loader reads the policy and every file it extends through it, so the policy
compiled from a snapshot is built from exactly the bytes the snapshot holds.
The watcher then asks whether those bytes are *stable*: still on disk,
unchanged, a settle interval later (:meth:`Snapshot.on_disk`), or unchanged
for that long already by the file system's own clock (:meth:`Snapshot.quiet_for`).
"""

from __future__ import annotations

import errno
import os
import stat as stat_module
import time
from dataclasses import dataclass
from pathlib import Path

Stat = tuple[int, int, int, int]
"""``(mtime_ns, ctime_ns, size, inode)`` of a file; :data:`MISSING` when there is none."""
MISSING: Stat = (-1, -1, -1, -1)
_SECOND = 1_000_000_000
_NOT_THERE = (errno.ENOENT, errno.ENOTDIR, errno.EISDIR)
_BLANK = (b"", b"---", b"...")


def stat_of(path: Path) -> Stat:
    """The :data:`Stat` of ``path`` now (following symlinks, as reading it does)."""
    try:
        return _stat(os.stat(path))
    except OSError:
        return MISSING


def _stat(st: os.stat_result) -> Stat:
    return st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino


@dataclass(frozen=True)
class Entry:
    """One file as read: its bytes (or why there are none) and its stat while being read."""

    stat: Stat
    data: bytes | None
    error: tuple[int, str] | None = None
    """``(errno, message)`` when the file could not be read."""
    changing: bool = False
    """The file changed while it was being read."""
    quiet: tuple[int, int] | None = None
    """``(since_ns, until_ns)``, wall clock: it is known not to have changed in between (by its own
    change time, or its directory's when it is missing); None if the file system cannot tell."""

    @property
    def exists(self) -> bool:
        return self.data is not None or (self.error is not None and self.error[0] not in _NOT_THERE)

    @property
    def blank(self) -> bool:
        """Readable but holding no YAML at all: empty, whitespace, comments, document markers."""
        return self.data is not None and all(
            line.strip() in _BLANK or line.lstrip().startswith(b"#") for line in self.data.splitlines()
        )

    def same(self, other: Entry) -> bool:
        """The same content and stat signature (so the same file, unchanged)."""
        return (self.stat, self.data, self.error) == (other.stat, other.data, other.error)


def read_entry(path: Path) -> Entry:
    """Read ``path`` once, noting whether it changed while being read."""
    try:
        with open(path, "rb") as handle:
            before = os.fstat(handle.fileno())
            if not stat_module.S_ISREG(before.st_mode):
                return Entry(_stat(before), None, (errno.EISDIR, "not a regular file"))
            data = handle.read()
            until = time.time_ns()
            after = os.fstat(handle.fileno())
    except OSError as exc:
        code = exc.errno if exc.errno is not None else errno.EIO
        return Entry(
            stat_of(path),
            None,
            (code, exc.strerror or str(exc)),
            quiet=_quiet_dir(path) if code in _NOT_THERE else None,
        )
    changing = _stat(before) != _stat(after) or len(data) != after.st_size
    return Entry(_stat(after), data, changing=changing, quiet=_quiet(after, until))


def _quiet(st: os.stat_result, until: int) -> tuple[int, int] | None:
    """From the last change to ``until``; None on a file system whose timestamps are whole seconds (too coarse to trust)."""
    latest = max(st.st_mtime_ns, st.st_ctime_ns)
    return None if latest % _SECOND == 0 else (latest, until)


def _quiet_dir(path: Path) -> tuple[int, int] | None:
    """A missing file: its directory's last change (removing or renaming a name changes the directory)."""
    until = time.time_ns()
    try:
        return _quiet(os.stat(path.parent), until)
    except OSError:
        return None


class Snapshot:
    """The policy files the loader asked for, each read once on first use."""

    def __init__(self) -> None:
        self.entries: dict[Path, Entry] = {}

    def entry(self, path: Path) -> Entry:
        found = self.entries.get(path)
        if found is None:
            found = self.entries[path] = read_entry(path)
        return found

    def is_file(self, path: Path) -> bool:
        return self.entry(path).exists

    def read_bytes(self, path: Path) -> bytes:
        found = self.entry(path)
        if found.data is None:
            code, message = found.error or (errno.ENOENT, "not found")
            raise OSError(code, message, str(path))
        return found.data

    @property
    def paths(self) -> tuple[Path, ...]:
        return tuple(self.entries)

    @property
    def signature(self) -> tuple[Stat, ...]:
        return tuple(e.stat for e in self.entries.values())

    @property
    def changing(self) -> bool:
        return any(e.changing for e in self.entries.values())

    def blank(self) -> list[Path]:
        """The files read that hold no YAML (being rewritten in place, or emptied)."""
        return [path for path, e in self.entries.items() if e.blank]

    def on_disk(self) -> bool:
        """Whether every file still has the content and stat signature it had in this snapshot."""
        return all(read_entry(path).same(e) for path, e in self.entries.items())

    def quiet_for(self) -> float:
        """Seconds during which, by their timestamps, none of its files changed before it was read; 0 if unknown."""
        windows = [e.quiet for e in self.entries.values()]
        if not windows or any(w is None for w in windows):
            return 0.0
        known = [w for w in windows if w is not None]
        since, until = max(w[0] for w in known), min(w[1] for w in known)
        return max(0.0, (until - since) / _SECOND)
