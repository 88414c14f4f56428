"""Hot reload: notice a changed policy file, validate it, swap it atomically.

The runtime calls :meth:`PolicyWatcher.current` on every evaluation. At most
every ``interval`` seconds (0.5 s by default, so a change is live within one
second) it compares the ``stat`` signature of the policy file and every file
it extends. A changed, valid policy replaces the old one in a single
reference assignment; an invalid one keeps the last good policy and is
reported once per change through ``on_error``.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from capfence.policy.model import Policy

log = logging.getLogger("capfence")
Signature = tuple[tuple[str, int, int, int], ...]


def signature(files: tuple[Path, ...]) -> Signature:
    out = []
    for path in files:
        try:
            st = os.stat(path)
            out.append((str(path), st.st_mtime_ns, st.st_size, st.st_ino))
        except OSError:
            out.append((str(path), -1, -1, -1))
    return tuple(out)


class PolicyWatcher:
    def __init__(self, path: Path, load: Callable[[Path], Policy], on_error: Callable[[Exception], None], interval: float = 0.5) -> None:
        # absolute: a process that changes directory later must still reload the same file
        self.path, self.load, self.on_error, self.interval = path.absolute(), load, on_error, interval
        self.policy = load(path)
        self._seen = signature(self.policy.files)
        self._checked = time.monotonic()
        self._lock = threading.Lock()

    def current(self) -> Policy:
        if time.monotonic() - self._checked >= self.interval and self._lock.acquire(blocking=False):
            try:
                self._check()
            finally:
                self._lock.release()
        return self.policy

    def _check(self) -> None:
        self._checked = time.monotonic()
        files = self.policy.files if self.path.resolve() in self.policy.files else (self.path, *self.policy.files)
        seen = signature(files)
        if seen == self._seen:
            return
        self._seen = seen
        try:
            fresh = self.load(self.path)
        except Exception as exc:  # noqa: BLE001 - any failure keeps the last good policy
            log.error("policy reload failed, keeping the last good policy: %s", exc)
            self.on_error(exc)
            return
        self.policy = fresh
        self._seen = signature(fresh.files)
        log.info("policy reloaded from %s (digest %s)", self.path, fresh.digest[:12])
