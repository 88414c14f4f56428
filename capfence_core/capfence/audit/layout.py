"""How a SQLite audit log is indexed, which decides the SQL that reads it without sorting or scanning.

Readers ask once per connection (:func:`layout`) and shape their queries for it
(:func:`capfence.audit.query.sql_where`, :func:`capfence.audit.query.newest_order`), so a
log of any schema version reads fast and gives the same rows: a log is migrated only when
a writer opens it, and readers never write.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from capfence.audit.timeorder import seq_ordered

DECISIONS_ONLY_SCHEMA = 7
"""The schema from which the ``decision``, ``agent_id`` and ``capability`` indexes hold decision records only."""


@dataclass(frozen=True)
class Layout:
    """The indexes of one log. The default is a log of schema 6 or older."""

    decisions_only: bool = False
    """The filter indexes are partial (``WHERE kind = 'decision'``), so no index starts with ``kind``
    and a query names ``kind = 'decision'`` plainly for the planner to use them."""
    seq_ordered: bool = False
    """No ``ts`` index: ``ts`` never goes backwards along ``seq`` (:mod:`capfence.audit.timeorder`)."""


OLD_LAYOUT = Layout()
"""A log of schema 6 or older: what a reader that cannot ask assumes (always correct, fast on such logs)."""


def layout(conn: sqlite3.Connection) -> Layout:
    """The layout of the log open on ``conn`` (two reads of the schema)."""
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    return Layout(decisions_only=version >= DECISIONS_ONLY_SCHEMA, seq_ordered=seq_ordered(conn))
