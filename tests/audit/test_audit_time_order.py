"""A log whose ``ts`` never goes backwards along ``seq`` needs no ``ts`` index (SQLite schema 7).

The store stamps records in commit order, so its logs are read by ``seq``: newest first is
the key walked back, a time range a key range found by binary search. Logs whose ``ts``
goes backwards somewhere (written before commit-time stamping, or imported from one) keep
the index and are read by ``ts`` as before. Either way the rows and their order are the
same as schema 6 gave; these tests compare them on real files.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from capfence.audit.chain import GENESIS, record_hash
from capfence.audit.importer import import_records
from capfence.audit.query import Filters
from capfence.audit.reader import SQLiteReader
from capfence.audit.sqlite import COLUMNS, SCHEMA_VERSION, SQLiteStore
from capfence.audit.timeorder import TIME_INDEX, first_seq_at
from capfence.cli.app import cli
from tests.support.paths import DATA

V6 = DATA / "audit-v6.db"
"""A log written by CapFence at schema 6 (the commit before this one): 25 records, ``records_ts`` among its indexes."""


def indexes(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}


def version(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])


FILTERS = [
    Filters(),
    Filters(agent="agent-1"),
    Filters(agent="agent-*"),
    Filters(capability="shell.execute"),
    Filters(decisions=("deny",)),
    Filters(tool="nope"),
]


def readings(path: Path, stamps: list[str]) -> list[object]:
    """What the reader gives for every filter, newest-first pages and whole reads, with time bounds at each stamp."""
    out: list[object] = []
    with SQLiteReader(path) as reader:
        for base in FILTERS:
            for since in (None, *stamps):
                for until in (None, *stamps):
                    filters = replace(base, since=since, until=until)
                    out.append([r["seq"] for r in reader.decisions(filters, limit=3)])
                    out.append([r["seq"] for r in reader.decisions(filters)])
                    out.append(len(list(reader.calls(filters))))
    return out


def test_a_real_v6_log_migrates_drops_its_time_index_reads_the_same_and_verifies(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    shutil.copy(V6, path)
    assert version(path) == 6 and TIME_INDEX in indexes(path)
    with sqlite3.connect(path) as conn:
        stamps = [row[0] for row in conn.execute("SELECT ts FROM records ORDER BY seq")]
    probes = [stamps[0], stamps[7], stamps[7] + "0", stamps[-1], "2000-01-01", "2999-01-01"]
    before = readings(path, probes)  # the v6 file read by ts, through its index

    store = SQLiteStore(path)
    store.append({"kind": "decision", "capability": "after.migration"})
    store.close()
    assert version(path) == SCHEMA_VERSION == 7
    assert TIME_INDEX not in indexes(path)
    with sqlite3.connect(path) as conn:
        conn.execute("DELETE FROM records WHERE capability = 'after.migration'")  # compare like with like
    assert readings(path, probes) == before  # now read by seq
    shutil.copy(V6, path)
    SQLiteStore(path).append({"kind": "decision"})
    result = CliRunner().invoke(cli, ["verify", "--audit-log", str(path)])
    assert result.exit_code == 0 and "OK: 26 record(s)" in result.output, result.output


def chained(rows: list[dict[str, object]], prev: str = GENESIS, first: int = 1) -> list[list[object]]:
    """Rows as a store would write them (seq, prev_hash, hash filled in), for files built by hand."""
    out = []
    for seq, row in enumerate(rows, first):
        full: dict[str, object] = {name: None for name in COLUMNS}
        full.update(truncated=0, redacted=0, **row, seq=seq, prev_hash=prev)
        full["hash"] = prev = record_hash(prev, full, None)
        out.append([full[name] for name in COLUMNS])
    return out


def backwards_rows() -> list[dict[str, object]]:
    """Decisions whose ``ts`` goes back once, as a writer that stamped records before taking the lock could leave them."""
    times = ["2025-01-01T00:00:01.000000+00:00", "2025-01-01T00:00:03.000000+00:00"]
    times += ["2025-01-01T00:00:02.000000+00:00", "2025-01-01T00:00:04.000000+00:00"]
    return [{"ts": ts, "kind": "decision", "agent_id": "a", "capability": "c"} for ts in times]


def test_a_log_whose_time_goes_back_keeps_its_index_and_is_read_in_time_order(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    shutil.copy(V6, path)
    with sqlite3.connect(path) as conn:
        conn.execute("DELETE FROM records")
        insert = f"INSERT INTO records VALUES ({', '.join('?' * len(COLUMNS))})"
        conn.executemany(insert, chained(backwards_rows()))
    SQLiteStore(path).append({"kind": "decision", "agent_id": "a", "capability": "c"})  # migrates to 7
    assert version(path) == 7 and TIME_INDEX in indexes(path)
    with SQLiteReader(path) as reader:
        # newest by time, as schema 6 showed them: seq 3 (00:02) before seq 2 (00:03)
        assert [r["seq"] for r in reader.decisions(Filters(), limit=5)] == [1, 3, 2, 4, 5]
        window = Filters(since="2025-01-01T00:00:02.500000+00:00", until="2025-01-01T00:00:04.000000+00:00")
        assert [r["seq"] for r in reader.decisions(window)] == [2]
    result = CliRunner().invoke(cli, ["verify", "--audit-log", str(path)])
    assert result.exit_code == 0, result.output


def test_importing_records_whose_time_goes_back_brings_the_index_back(tmp_path: Path) -> None:
    source = tmp_path / "old.jsonl"
    with source.open("w") as out:
        for values in chained(backwards_rows()):
            out.write(json.dumps(dict(zip(COLUMNS, values, strict=True))) + "\n")
    target = tmp_path / "new.db"
    store = SQLiteStore(target)
    with store.transaction():
        pass  # an empty log of schema 7: read by seq
    assert TIME_INDEX not in indexes(target)
    records = [json.loads(line) for line in source.read_text().splitlines()]
    import_records(store, records[:2])  # in time order so far
    assert TIME_INDEX not in indexes(target)
    import_records(store, records)  # the third goes back
    store.close()
    assert TIME_INDEX in indexes(target)
    with SQLiteReader(target) as reader:
        assert [r["seq"] for r in reader.decisions(Filters(), limit=2)] == [2, 4]


@pytest.mark.parametrize(
    "times",
    [
        [],
        ["b"],
        ["a", "b", "c", "d", "e"],
        ["a", "b", "b", "b", "c", "c", "e"],
        ["b"] * 9,
        [chr(ord("a") + n // 3) for n in range(100)],
    ],
)
@pytest.mark.parametrize("gaps", [False, True])
def test_the_binary_search_finds_the_first_record_at_or_after_a_time(times: list[str], gaps: bool) -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE records (seq INTEGER PRIMARY KEY, ts TEXT)")
    seqs = [5 + n * (3 if gaps else 1) + (n % 2 if gaps else 0) for n in range(len(times))]
    conn.executemany("INSERT INTO records VALUES (?, ?)", zip(seqs, times, strict=True))
    for at in ["", "a", "a0", "b", "c", "cz", "d", "e", "f"]:
        found = conn.execute(f"SELECT {first_seq_at()}", [at]).fetchone()[0]
        expected = next((seq for seq, ts in zip(seqs, times, strict=True) if ts >= at), None)
        if expected is None:  # none at or after: one past the last record (nothing selected)
            assert found is None if not seqs else found == seqs[-1] + 1, (at, found)
        else:
            assert found is not None and min(s for s in seqs if s >= found) == expected, (at, found)
            assert [s for s, ts in zip(seqs, times, strict=True) if ts >= at] == [
                s for s in seqs if s >= found
            ]


def test_the_order_check_sees_a_step_back_and_counts_a_gap_as_one(tmp_path: Path) -> None:
    from capfence.audit.timeorder import goes_back

    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE records (seq INTEGER PRIMARY KEY, ts TEXT)")
    assert not goes_back(conn)  # empty
    conn.executemany("INSERT INTO records VALUES (?, ?)", [(1, "a"), (2, "b"), (3, "b"), (4, "c")])
    assert not goes_back(conn)
    conn.execute("INSERT INTO records VALUES (5, 'b')")
    assert goes_back(conn) and goes_back(conn, 4) and not goes_back(conn, 5)
    conn.execute("DELETE FROM records WHERE seq = 5")
    conn.execute("DELETE FROM records WHERE seq = 2")  # a gap: the pairs around it are not compared
    assert goes_back(conn) and not goes_back(conn, 3)
