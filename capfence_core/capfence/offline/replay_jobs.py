"""``replay --jobs N``: a JSON Lines file split across processes, the parts' results merged in file order.

The file is cut into ``N`` windows of about equal size, each starting at the beginning of a line (just after a
``\\n``). Every part must number its lines as the whole file would, so a first round counts the lines of each window
(in parallel, the way the text reader splits them: ``\\n``, ``\\r\\n`` or a lone ``\\r``), and a second replays each
window from its first line number. Each process loads the policy from its file (and checks its digest is the one
the caller loaded), and writes its JSON records, if any, to a file of its own.

Merging in order gives exactly the result of one process: counts add up (a key first seen in an earlier part comes
first); the examples and problems kept are the first of the parts' concatenation (each part keeps its own first
ones, which is enough); the records are the parts' files, copied in order.
"""

from __future__ import annotations

import io
import itertools
import multiprocessing
import tempfile
import threading
from collections.abc import Iterable
from concurrent.futures import FIRST_EXCEPTION, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from capfence.offline.replay import (
    EXAMPLES,
    LISTED,
    Decider,
    Example,
    Problems,
    Progress,
    RecordSink,
    ReplayResult,
)

if TYPE_CHECKING:
    from multiprocessing.sharedctypes import SynchronizedArray

    from capfence.policy.compiled import Policy


def start_method() -> str:
    """How the processes start: forked while this process runs one thread, else from a fork server (or spawned).

    Forking is quick and imports nothing again, but a process forked while another thread holds a lock (logging's,
    an import's, an allocator's) can hang for ever in the child; a library caller may well have threads running.
    """
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return "fork"
    return "forkserver" if "forkserver" in methods else "spawn"


BLOCK = 1 << 20
POLL = 0.2
"""Seconds between progress reports while the parts run."""


@dataclass(frozen=True)
class Window:
    """Bytes ``start`` to ``end`` of ``path``: whole lines."""

    path: str
    start: int
    end: int


@dataclass(frozen=True)
class Task:
    """What one process replays, and under which policy (loaded from its file, checked against ``digest``)."""

    window: Window
    index: int
    first_line: int
    policy_path: str
    digest: str
    enforced: bool
    records: str | None
    """Where to write the part's JSON records (None: no records wanted)."""


@dataclass
class Part:
    """What replaying one window found (a :class:`~capfence.replay.ReplayResult` without its policy)."""

    counts: dict[tuple[str | None, str, str | None], int] = field(default_factory=dict)
    examples: dict[tuple[str | None, str, str | None], list[Example]] = field(default_factory=dict)
    unreplayable: Problems = field(default_factory=Problems)
    invalid: Problems = field(default_factory=Problems)
    skipped: int = 0


def windows(path: Path, jobs: int) -> list[Window]:
    """``path`` cut into at most ``jobs`` windows of whole lines, in order (none empty)."""
    size = path.stat().st_size
    cuts = [0]
    with path.open("rb") as f:
        for k in range(1, jobs):
            f.seek(max(size * k // jobs, cuts[-1]))
            f.readline()
            cuts.append(min(f.tell(), size))
    cuts.append(size)
    return [Window(str(path), start, end) for start, end in itertools.pairwise(cuts) if end > start]


def count_lines(window: Window) -> int:
    """How many lines the text reader finds in ``window`` (a last line without an end counts)."""
    lines, last = 0, b""
    with open(window.path, "rb") as f:
        f.seek(window.start)
        left = window.end - window.start
        while left > 0:
            block = f.read(min(BLOCK, left))
            if not block:
                break
            left -= len(block)
            lines += block.count(b"\n") + block.count(b"\r") - block.count(b"\r\n")
            if last == b"\r" and block[:1] == b"\n":
                lines -= 1  # a \r\n cut between two blocks: one line end, counted twice
            last = block[-1:]
    return lines + (last not in (b"", b"\n", b"\r"))


class _Slice(io.RawIOBase):
    """The bytes of a window, read from the file as a stream (``done``: how many so far)."""

    def __init__(self, window: Window) -> None:
        self._file = open(window.path, "rb")  # noqa: SIM115 - closed by close()
        self._file.seek(window.start)
        self._left = window.end - window.start
        self.done = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        wanted = min(len(buffer), self._left)
        if wanted <= 0:
            return 0
        got = self._file.readinto(memoryview(buffer)[:wanted])
        self._left -= got
        self.done += got
        return got

    def close(self) -> None:
        self._file.close()
        super().close()


_progress: SynchronizedArray[int] | None = None


def _init(progress: SynchronizedArray[int]) -> None:
    global _progress  # (one per worker process, set once when it starts)
    _progress = progress


def _policy(task: Task) -> Policy:
    from capfence.errors import CapFenceError
    from capfence.plugins import build_registry
    from capfence.policy.loader import load_policy

    # the conditions the plugins register, as the parent's own registry has them
    policy = load_policy(task.policy_path, build_registry().conditions)
    if policy.digest != task.digest:
        raise CapFenceError(f"policy {task.policy_path} changed while it was being replayed")
    if task.enforced:
        assert policy.enforced is not None  # the same digest: the same shadow rules
        return policy.enforced
    return policy


def replay_window(task: Task) -> Part:
    """Replay one window (in a worker process)."""
    from capfence.offline.replay_jsonl import replay_lines
    from capfence.offline.replay_records import RecordWriter

    policy = _policy(task)
    result = ReplayResult(task.window.path, policy)
    raw = _Slice(task.window)
    shared, index = _progress, task.index

    def report() -> None:
        if shared is not None:
            shared[index] = raw.done

    with (
        io.TextIOWrapper(io.BufferedReader(raw, BLOCK), encoding="utf-8", errors="replace") as lines,
        open(task.records, "w", encoding="utf-8") if task.records else io.StringIO() as out,
    ):
        sink = RecordWriter(policy, out) if task.records else None
        replay_lines(lines, Decider(policy), result, sink, report, task.first_line)
        report()
    return Part(dict(result.counts), result.examples, result.unreplayable, result.invalid, result.skipped)


def merge(result: ReplayResult, parts: Iterable[Part]) -> None:
    """Add ``parts``, in file order, to ``result``: what one process replaying them in turn would have found."""
    for part in parts:
        result.counts.update(part.counts)
        for key, examples in part.examples.items():
            kept = result.examples.setdefault(key, [])
            kept.extend(examples[: EXAMPLES - len(kept)])
        for mine, theirs in ((result.unreplayable, part.unreplayable), (result.invalid, part.invalid)):
            mine.count += theirs.count
            mine.items.extend(theirs.items[: LISTED - len(mine.items)])
        result.skipped += part.skipped


def replay_parallel(
    path: Path, result: ReplayResult, jobs: int, sink: RecordSink | None, progress: Progress | None
) -> None:
    """Replay the JSON Lines file ``path`` into ``result`` with ``jobs`` processes (see the module docstring)."""
    from capfence.offline.replay_records import RecordWriter

    if sink is not None and not isinstance(sink, RecordWriter):
        raise TypeError(
            "replaying with several jobs writes records with a RecordWriter; pass jobs=1 for another sink"
        )
    policy = result.policy
    parts = windows(path, jobs)
    context = multiprocessing.get_context(start_method())
    done = context.Array("q", len(parts))
    with (
        tempfile.TemporaryDirectory(prefix="capfence-replay-") as spool,
        ProcessPoolExecutor(len(parts), mp_context=context, initializer=_init, initargs=(done,)) as pool,
    ):
        first = 1
        tasks = []
        for index, (window, lines) in enumerate(zip(parts, pool.map(count_lines, parts), strict=True)):
            records = str(Path(spool) / f"part-{index}.jsonl") if sink is not None else None
            tasks.append(
                Task(window, index, first, str(policy.path), policy.digest, _is_enforced(policy), records)
            )
            first += lines
        futures = [pool.submit(replay_window, task) for task in tasks]
        _wait(futures, done, progress)
        merge(result, (future.result() for future in futures))
        if isinstance(sink, RecordWriter):
            for task in tasks:
                assert task.records is not None
                sink.append(Path(task.records))


def _is_enforced(policy: Policy) -> bool:
    """Whether ``policy`` is a loaded policy's :attr:`~capfence.policy.model.Policy.enforced` form: its shadow rules
    deciding (among its rules, not set apart)."""
    return not policy.shadow and any(rule.mode == "shadow" for rule in policy.rules)


def _wait(futures: list[Future[Part]], done: SynchronizedArray[int], progress: Progress | None) -> None:
    """Until every part is replayed (or one fails), report the bytes read so far."""
    pending = set(futures)
    while pending:
        if progress is not None:
            progress(sum(done[:]))
        finished, pending = wait(pending, timeout=POLL, return_when=FIRST_EXCEPTION)
        if any(future.exception() is not None for future in finished):
            return
