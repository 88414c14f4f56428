"""The chain's verify status, computed in the background (a full ``verify`` of a large log takes seconds).

The console starts one verification when it starts and another when someone
asks for it; pages show the latest result and how many records were appended
since. The key for a keyed (HMAC) chain is ``$CAPFENCE_AUDIT_KEY``, as for
``capfence verify``.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from dataclasses import dataclass

from capfence.audit.chain import key_from_env
from capfence.audit.verify import verify
from capfence.web.source import Source

log = logging.getLogger("capfence.web")


@dataclass(frozen=True)
class Status:
    state: str
    """``never``, ``running``, ``ok``, ``broken`` or ``error``."""
    message: str = ""
    checked_at: str | None = None
    records: int = 0
    last_seq: int | None = None
    notes: tuple[str, ...] = ()


class ChainStatus:
    """The latest verification of one log; :meth:`start` runs another in a thread (one at a time)."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.status = Status("never", "not verified yet")
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> bool:
        """Start a verification unless one is running; True if started."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return False
            previous = self.status
            self.status = Status(
                "running", "verifying the chain…", previous.checked_at, previous.records, previous.last_seq
            )
            self._thread = threading.Thread(target=self._run, name="capfence-verify", daemon=True)
            self._thread.start()
            return True

    def wait(self, timeout: float) -> Status:
        """The status once the running verification ends (or after ``timeout`` seconds)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return self.status

    def _run(self) -> None:
        stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        try:
            with self.source.reader() as reader:
                report = verify(reader, key_from_env())
        except Exception as exc:
            log.exception("verify failed")
            self.status = Status("error", f"could not verify: {exc}", stamp)
            return
        notes = tuple(report.notes)
        if report.problem is not None:
            problem = report.problem
            self.status = Status(
                "broken",
                f"{problem.kind} at seq {problem.seq}: {problem.message}",
                stamp,
                report.records,
                report.last_seq,
                notes,
            )
        elif report.unbacked:
            text = "; ".join(f"{u.id}: {u.message}" for u in report.unbacked[:5])
            self.status = Status(
                "broken",
                f"{len(report.unbacked)} approval row(s) not backed by the chain: {text}",
                stamp,
                report.records,
                report.last_seq,
                notes,
            )
        else:
            self.status = Status(
                "ok",
                f"{report.records} records intact ({report.chain})",
                stamp,
                report.records,
                report.last_seq,
                notes,
            )
