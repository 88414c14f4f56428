"""Hot reload: notice a changed policy file, wait until it is stable, validate it, swap it atomically.

The runtime calls :meth:`PolicyWatcher.current` on every evaluation. At most
every ``interval`` seconds (0.5 s by default) one caller checks, without
waiting for anything: the others get the policy in force. A check compares
the ``stat`` signature of the policy file and every file it extends.

A change is not loaded at once: an editor that rewrites the file in place,
in chunks, leaves a truncated file for a moment, and a truncated policy is
often still valid YAML (it may have lost its ``deny:`` section). So a check
that sees a change reads every file once into a
:class:`~capfence.policy.snapshot.Snapshot`, compiles the candidate policy
from exactly those bytes, and notes the time. The candidate is swapped in
only when the files have been stable for ``settle`` seconds (the reload
interval by default): a later check, at least ``settle`` after the first,
reads the same bytes with the same stat signature; or the files' own change
times (``st_mtime``/``st_ctime``; a missing file's directory's) show that
none changed for that long before they were read, so a call that comes long
after a quiet edit gets the new policy at once. Timestamps in whole seconds
(file systems too coarse to tell) are not trusted. Until then the last good
policy stays in force, never a partial one. Under steady traffic a change is
live within about ``interval + settle`` seconds (one second by default).

A stable candidate that is invalid, a file that is missing, and a file that
became empty (or only comments) keep the last good policy and are reported
once per change through ``on_error``.

To update a policy, write the new version to a temporary file in the same
directory and rename it over the old one (``os.replace``, ``mv``): readers
then see the old file or the new one, never half of one::

    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(new_policy)
    os.replace(tmp, path)
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from capfence.errors import PolicyError, PolicyProblem
from capfence.policy.compiled import Policy
from capfence.policy.snapshot import Snapshot, Stat, stat_of
from capfence.policy.source import PolicyFiles

log = logging.getLogger("capfence")


class Loader(Protocol):
    """Builds a policy from ``path`` as ``files`` holds it (:func:`~capfence.policy.loader.load_policy`)."""

    def __call__(self, path: Path, *, files: PolicyFiles) -> Policy: ...


@dataclass(frozen=True)
class _Pending:
    """A change seen but not yet stable: its files, the policy built from them (or why not), since when."""

    snapshot: Snapshot
    result: Policy | Exception
    quiet: float
    """Seconds its files had been unchanged when they were read (by their own change times)."""
    since: float
    """Monotonic time from which its files are known to be unchanged."""


class PolicyWatcher:
    """The policy in force for one policy file, reloaded when the file (or one it extends) changes and is stable.

    ``load`` builds a policy (raising on an invalid one); ``on_error`` hears of each stable change
    that could not be loaded; ``interval`` is the time between checks, ``settle`` how long a change
    must stay unchanged before it is loaded (default: ``interval``).
    """

    def __init__(
        self,
        path: Path,
        load: Loader,
        on_error: Callable[[Exception], None],
        interval: float = 0.5,
        settle: float | None = None,
    ) -> None:
        # absolute: a process that changes directory later must still reload the same file
        self.path, self.load, self.on_error = path.absolute(), load, on_error
        self.interval = interval
        self.settle = interval if settle is None else settle
        """Seconds a changed policy must stay unchanged before it is loaded."""
        snapshot = self._snapshot()
        self.policy = load(self.path, files=snapshot)
        self._watching, self._seen = snapshot.paths, snapshot.signature
        self._blank = frozenset(snapshot.blank())
        self._pending: _Pending | None = None
        self._checked = time.monotonic()
        self._lock = threading.Lock()

    @property
    def settling(self) -> bool:
        """A change has been seen and is waiting to be stable; the last good policy is in force."""
        return self._pending is not None

    def current(self) -> Policy:
        if time.monotonic() - self._checked >= self.interval and self._lock.acquire(blocking=False):
            try:
                self._check()
            finally:
                self._lock.release()
        return self.policy

    def _check(self) -> None:
        now = self._checked = time.monotonic()
        pending = self._pending
        if pending is None and self._signature() == self._seen:
            return
        # read again after ``now``: stable since ``since``
        if pending is not None and pending.snapshot.on_disk():
            if now - pending.since >= self.settle:
                self._apply(pending)
            return
        pending = self._pending = self._note()
        # its files had already been unchanged that long
        if pending is not None and pending.quiet >= self.settle:
            self._apply(pending)

    def _signature(self) -> tuple[Stat, ...]:
        return tuple(stat_of(path) for path in self._watching)

    def _snapshot(self) -> Snapshot:
        snapshot = Snapshot()
        snapshot.entry(self.path)  # the root is watched even by a loader that fails before reading it
        return snapshot

    def _note(self) -> _Pending | None:
        """Read and compile the changed files; None while a file is changing under the read."""
        snapshot = self._snapshot()
        try:
            result: Policy | Exception = self.load(self.path, files=snapshot)
        except Exception as exc:  # noqa: BLE001 - any failure keeps the last good policy
            result = exc
        if snapshot.changing:
            return None
        # emptied, or truncated by a rewrite
        blank = [path for path in snapshot.blank() if path not in self._blank]
        if blank and not isinstance(result, Exception):
            hint = "an empty file is never loaded on reload; write the policy to a temporary file and rename it over this one"
            result = PolicyError(
                [PolicyProblem(str(path), None, None, "", "policy file is empty", hint) for path in blank]
            )
        log.debug("policy change seen in %s; waiting %.2fs for it to be stable", self.path, self.settle)
        quiet = snapshot.quiet_for()
        return _Pending(snapshot, result, quiet, time.monotonic() - quiet)

    def _apply(self, pending: _Pending) -> None:
        self._pending = None
        self._watching, self._seen = pending.snapshot.paths, pending.snapshot.signature
        if isinstance(pending.result, Exception):
            log.error("policy reload failed, keeping the last good policy: %s", pending.result)
            self.on_error(pending.result)
            return
        self.policy, self._blank = pending.result, frozenset(pending.snapshot.blank())
        log.info("policy reloaded from %s (digest %s)", self.path, pending.result.digest[:12])
