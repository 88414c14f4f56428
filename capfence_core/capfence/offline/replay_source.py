"""Replay a source — a JSON Lines file, an audit database or an audit store URL — under a policy.

The entry point of replay: it picks the reader for the source (:func:`~capfence.offline.replay.replay_db`
for a log, :mod:`~capfence.offline.replay_jsonl` for JSON Lines, :mod:`~capfence.offline.replay_jobs`
for JSON Lines split across processes), all of which share :mod:`capfence.offline.replay`'s model.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from capfence.offline.replay import (
    Decider,
    Progress,
    RecordSink,
    ReplayResult,
    is_database,
    replay_db,
)

if TYPE_CHECKING:
    from capfence.contracts import StoreType
    from capfence.policy.compiled import Policy


def replay_file(
    path: str | Path,
    policy: Policy,
    *,
    sink: RecordSink | None = None,
    progress: Progress | None = None,
    jobs: int = 1,
    stores: Iterable[StoreType] = (),
) -> ReplayResult:
    """Replay every call in ``path`` (JSON Lines, an audit database, or an audit store URL) under ``policy``.

    ``jobs`` > 1 splits a JSON Lines file across that many processes (:mod:`capfence.offline.replay_jobs`); the
    result is the same. A ``sink`` then has to be a :class:`~capfence.offline.replay_records.RecordWriter` (each
    process writes its part, copied into it in order). Audit databases are read by one process whatever ``jobs``
    says. ``stores``: the store types that may read a URL (a plugin registry's ``stores``).
    """
    source = Path(path)
    result = ReplayResult(str(path), policy)
    if "://" in str(path) or is_database(source):
        from capfence.audit.query import Filters
        from capfence.audit.reader import open_reader

        with open_reader(str(path), stores) as reader:
            replay_db(reader.calls(Filters()), Decider(policy), result, sink, progress)
    elif jobs > 1:
        from capfence.offline.replay_jobs import replay_parallel

        replay_parallel(source, result, jobs, sink, progress)
    else:
        from capfence.offline.replay_jsonl import replay_lines

        with source.open("rb") as raw, io.TextIOWrapper(raw, encoding="utf-8", errors="replace") as lines:
            replay_lines(lines, Decider(policy), result, sink, _reporter(progress, raw.tell))
    return result


def _reporter(progress: Progress | None, tell: Callable[[], int]) -> Callable[[], None] | None:
    return None if progress is None else lambda: progress(tell())
