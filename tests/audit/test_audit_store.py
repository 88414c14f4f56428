"""The SQLite audit store: payload serialization, redaction, truncation, schema, outcomes, the hash chain, concurrency."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import hashlib
import itertools
import json
import math
import sqlite3
import textwrap
import threading
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from capfence import ActionRuntime, ApprovalRequired, CapFenceTool, ToolCallDenied
from capfence.audit.payload import TRUNCATED_KEY
from capfence.audit.sqlite import SCHEMA_VERSION, enable_wal
from capfence.call import canonical
from tests.support.audit import audit_rows, verify_chain
from tests.support.audit_workers import released_together
from tests.support.policies import ALLOW_ALL


def stored_payload(rt: ActionRuntime, payload: Any, tmp_path: Path) -> Any:
    decision = rt.evaluate("x.y", payload, agent_id="a")
    assert decision.action == "allow", decision.reason
    (row,) = [r for r in audit_rows(tmp_path / "audit.db") if r["seq"] == decision.record_id]
    return json.loads(row["payload"])


# --- payload serialization -------------------------------------------------------------


class Color(enum.Enum):
    RED = "red"


class BrokenStr:
    def __str__(self) -> str:
        raise RuntimeError("no str for you")

    __repr__ = __str__


class HostileGetattr:
    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(f"no attribute {name} for you")

    def __str__(self) -> str:
        return "hostile"


class Plain:
    def __str__(self) -> str:
        return "plain object"


@dataclasses.dataclass
class Point:
    x: int
    y: int


def _model() -> tuple[object, object]:
    """A pydantic model if pydantic is installed, else an object with the same ``model_dump`` protocol."""
    try:
        import pydantic
    except ImportError:

        class Dumpable:
            def model_dump(self, mode: str = "python") -> dict[str, object]:
                return {"name": "n", "when": "2024-01-02T03:04:05"}

        return Dumpable(), {"name": "n", "when": "2024-01-02T03:04:05"}

    class Model(pydantic.BaseModel):
        name: str
        when: dt.datetime

    return Model(name="n", when=dt.datetime(2024, 1, 2, 3, 4, 5)), {
        "name": "n",
        "when": "2024-01-02T03:04:05",
    }


MODEL, MODEL_JSON = _model()

NON_JSON_VALUES = [
    pytest.param(dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC), "2024-01-02T03:04:05+00:00", id="datetime"),
    pytest.param(dt.date(2024, 1, 2), "2024-01-02", id="date"),
    pytest.param(b"hello bytes", "hello bytes", id="bytes-utf8"),
    pytest.param(b"\xff\xfe\x00", "base64:" + "//4A", id="bytes-invalid-utf8"),
    pytest.param(bytearray(b"ba"), "ba", id="bytearray"),
    pytest.param(Path("/etc/passwd"), "/etc/passwd", id="path"),
    pytest.param(PurePosixPath("a/b"), "a/b", id="purepath"),
    pytest.param(Decimal("1.10"), "1.10", id="decimal"),
    pytest.param(uuid.UUID(int=1), "00000000-0000-0000-0000-000000000001", id="uuid"),
    pytest.param(Color.RED, "red", id="enum"),
    pytest.param({3, 1, 2}, [1, 2, 3], id="set"),
    pytest.param(frozenset({"b", "a"}), ["a", "b"], id="frozenset"),
    pytest.param((1, "two"), [1, "two"], id="tuple"),
    pytest.param(MODEL, MODEL_JSON, id="pydantic-model"),
    pytest.param(Point(1, 2), "<Point: Point(x=1, y=2)>", id="dataclass"),
    pytest.param(Plain(), "<Plain: plain object>", id="object"),
    pytest.param(HostileGetattr(), "<HostileGetattr: hostile>", id="hostile-getattr"),
    pytest.param("lone \udcff surrogate", "lone \udcff surrogate", id="lone-surrogate"),
    pytest.param(print, "<builtin_function_or_method: <built-in function print>>", id="function"),
]


@pytest.mark.parametrize(("value", "expected"), NON_JSON_VALUES)
def test_non_json_values_are_stored_readably(
    value: object, expected: object, runtime: Callable[..., ActionRuntime], tmp_path: Path
) -> None:
    rt = runtime(ALLOW_ALL)
    assert stored_payload(rt, {"value": value, "ok": 1}, tmp_path) == {"value": expected, "ok": 1}


class LongText:
    def __str__(self) -> str:
        return "x" * 5000


LOSSY_VALUES = [
    pytest.param(math.nan, "nan", "a non-finite number", id="nan"),
    pytest.param(-math.inf, "-inf", "a non-finite number", id="inf"),
    pytest.param(BrokenStr(), "<BrokenStr>", "a BrokenStr value could not be printed", id="broken-str"),
    pytest.param(
        {BrokenStr()}, ["<BrokenStr>"], "a BrokenStr value could not be printed", id="set-of-unprintables"
    ),
    pytest.param(
        10**5000,
        "<int: " + hex(10**5000) + ">",
        "an integer too long for JSON",
        id="int-too-long-for-decimal",
    ),
    pytest.param(
        LongText(),
        "<LongText>",
        "a LongText value prints longer than 2048 characters",
        id="object-text-too-long",
    ),
]
"""Values with no faithful readable form: the record is marked truncated and its preview shows the placeholder."""


@pytest.mark.parametrize(("value", "shown", "why"), LOSSY_VALUES)
def test_values_without_a_faithful_form_mark_the_record(
    value: object, shown: object, why: str, runtime: Callable[..., ActionRuntime], tmp_path: Path
) -> None:
    rt = runtime(ALLOW_ALL)
    decision = rt.evaluate("x.y", {"value": value, "ok": 1}, agent_id="a")
    (row,) = [r for r in audit_rows(tmp_path / "audit.db") if r["seq"] == decision.record_id]
    marker = json.loads(row["payload"])[TRUNCATED_KEY]
    assert row["truncated"] == 1
    assert json.loads(marker["preview"]) == {"value": shown, "ok": 1}
    assert marker["why"] == why
    try:
        expected: str | None = canonical.digest({"value": value, "ok": 1})
    except canonical.NotCanonical:  # an arbitrary object: no lossless form either
        expected = None
    assert marker["canonical_sha256"] == expected


def test_cycles_and_non_string_keys(runtime: Callable[..., ActionRuntime], tmp_path: Path) -> None:
    rt = runtime(ALLOW_ALL)
    looped: dict[str, Any] = {"name": "loop"}
    looped["self"] = looped
    items: list[Any] = [1]
    items.append(items)
    payload = {
        "dict": looped,
        "list": items,
        "keys": {("a", 1): "tuple", 7: "int", None: "none", 1.5: "float"},
    }
    stored = json.loads(stored_payload(rt, payload, tmp_path)[TRUNCATED_KEY]["preview"])
    assert stored["dict"] == {"name": "loop", "self": "<cycle>"}
    assert stored["list"] == [1, "<cycle>"]
    assert stored["keys"] == {"['a', 1]": "tuple", "7": "int", "None": "none", "1.5": "float"}


def test_deep_nesting_is_bounded(runtime: Callable[..., ActionRuntime], tmp_path: Path) -> None:
    rt = runtime(ALLOW_ALL)
    value: Any = "bottom"
    for _ in range(5000):
        value = [value]
    stored = stored_payload(rt, {"deep": value}, tmp_path)[TRUNCATED_KEY]
    assert "<nested too deep>" in stored["preview"]
    assert stored["why"] == "nesting deeper than 64 levels"
    # deeper than the lossless encoding goes: nothing can be bound to it
    assert stored["canonical_sha256"] is None


def test_non_mapping_payload(runtime: Callable[..., ActionRuntime], tmp_path: Path) -> None:
    rt = runtime(ALLOW_ALL)
    assert stored_payload(rt, ["a", b"b"], tmp_path) == ["a", "b"]  # type: ignore[arg-type]


# --- redaction -----------------------------------------------------------------------


def test_redaction(runtime: Callable[..., ActionRuntime], tmp_path: Path) -> None:
    rt = runtime("redact: [pin, Card_Number]\n" + ALLOW_ALL)
    secrets = ["hunter2-secret", "sk-live-abc", "Bearer xyz-token", "4111-1111", "9876"]
    payload = {
        "user": "alice",
        "password": secrets[0],
        "config": {"API_KEY": secrets[1], "headers": [{"Authorization": secrets[2]}]},
        "card_number": secrets[3],
        "PIN": secrets[4],
        "token": None,
    }
    stored = stored_payload(rt, payload, tmp_path)
    assert stored == {
        "user": "alice",
        "password": "***REDACTED***",
        "config": {"API_KEY": "***REDACTED***", "headers": [{"Authorization": "***REDACTED***"}]},
        "card_number": "***REDACTED***",
        "PIN": "***REDACTED***",
        "token": None,
    }
    row = audit_rows(tmp_path / "audit.db", "decision")[-1]
    assert row["redacted"] == 1
    rt.close()
    on_disk = b"".join(p.read_bytes() for p in tmp_path.glob("audit.db*"))
    for secret in secrets:
        assert secret.encode() not in on_disk, f"{secret} reached the disk"


def test_no_redaction_flag_when_nothing_redacted(
    runtime: Callable[..., ActionRuntime], tmp_path: Path
) -> None:
    rt = runtime(ALLOW_ALL)
    assert stored_payload(rt, {"passwords_count": 3, "user": "bob"}, tmp_path) == {
        "passwords_count": 3,
        "user": "bob",
    }
    assert audit_rows(tmp_path / "audit.db", "decision")[-1]["redacted"] == 0


def test_redaction_does_not_blind_the_policy(runtime: Callable[..., ActionRuntime], tmp_path: Path) -> None:
    """Redaction is for the disk only: rules still see the real value."""
    rt = runtime("deny:\n  - capability: '*'\n    contains: hunter2\n" + ALLOW_ALL)
    decision = rt.evaluate("x.y", {"password": "hunter2"}, agent_id="a")
    assert decision.action == "deny"
    assert json.loads(audit_rows(tmp_path / "audit.db", "decision")[-1]["payload"]) == {
        "password": "***REDACTED***"
    }


# --- truncation ----------------------------------------------------------------------


def test_truncation_with_hash_of_full_value(runtime: Callable[..., ActionRuntime], tmp_path: Path) -> None:
    rt = runtime("max_payload_bytes: 1024\n" + ALLOW_ALL)
    payload = {"blob": "é" * 5000, "n": 1}
    full = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
    rt.evaluate("x.y", payload, agent_id="a")
    row = audit_rows(tmp_path / "audit.db", "decision")[-1]

    assert row["truncated"] == 1
    assert len(row["payload"].encode()) < 2048
    marker = json.loads(row["payload"])["__capfence_truncated__"]
    assert marker["sha256"] == row["payload_sha256"] == hashlib.sha256(full).hexdigest()
    assert marker["bytes"] == row["payload_bytes"] == len(full)
    assert marker["preview"].startswith('{"blob":"éé')


def test_small_payload_is_not_truncated(runtime: Callable[..., ActionRuntime], tmp_path: Path) -> None:
    rt = runtime("max_payload_bytes: 1024\n" + ALLOW_ALL)
    payload = {"blob": "x" * 900}
    full = json.dumps(payload, separators=(",", ":"))
    rt.evaluate("x.y", payload, agent_id="a")
    row = audit_rows(tmp_path / "audit.db", "decision")[-1]
    assert (row["truncated"], row["payload"], row["payload_bytes"]) == (0, full, len(full))
    assert row["payload_sha256"] == hashlib.sha256(full.encode()).hexdigest()


def test_default_cap_truncates_huge_payloads(runtime: Callable[..., ActionRuntime], tmp_path: Path) -> None:
    rt = runtime(ALLOW_ALL)
    rt.evaluate("x.y", {"blob": "z" * 1_000_000}, agent_id="a")
    row = audit_rows(tmp_path / "audit.db", "decision")[-1]
    assert row["truncated"] == 1 and row["payload_bytes"] > 1_000_000 and len(row["payload"]) <= 65536


# --- schema --------------------------------------------------------------------------


def test_wal_mode_and_schema_version(runtime: Callable[..., ActionRuntime], tmp_path: Path) -> None:
    rt = runtime(ALLOW_ALL)
    rt.evaluate("x.y", {}, agent_id="a")
    conn = sqlite3.connect(tmp_path / "audit.db")
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION >= 1
    finally:
        conn.close()


def test_reopening_keeps_the_chain(write_policy: Callable[..., Path], tmp_path: Path) -> None:
    policy = write_policy(ALLOW_ALL)
    for _ in range(3):
        with ActionRuntime.from_policy(policy, audit_log=tmp_path / "audit.db") as rt:
            rt.evaluate("x.y", {}, agent_id="a")
    rows = audit_rows(tmp_path / "audit.db")
    assert [r["seq"] for r in rows] == [1, 2, 3]
    verify_chain(rows)


# --- outcomes, append-only, chain -------------------------------------------------------

OUTCOME_POLICY = """
deny:
  - id: no-rm
    capability: shell.execute
    contains: rm -rf
require_approval:
  - id: hold-systemctl
    capability: shell.execute
    contains: systemctl
warn:
  - id: watch
    capability: shell.execute
"""


def test_outcomes_are_appended_and_linked(runtime: Callable[..., ActionRuntime], tmp_path: Path) -> None:
    rt = runtime(OUTCOME_POLICY)

    def shell(command: str) -> str:
        if command == "boom":
            raise ValueError("tool broke")
        return "ok"

    safe = CapFenceTool(tool=shell, agent_id="a", capability="shell.execute", gate=rt)
    snapshots: list[list[dict[str, Any]]] = []

    def snapshot() -> None:
        snapshots.append(audit_rows(tmp_path / "audit.db"))

    assert safe(command="ls") == "ok"
    snapshot()
    with pytest.raises(ToolCallDenied):
        safe(command="rm -rf /")
    snapshot()
    with pytest.raises(ApprovalRequired) as held:
        safe(command="systemctl stop db")
    snapshot()
    with pytest.raises(ValueError, match="tool broke"):
        safe(command="boom")
    snapshot()

    rows = snapshots[-1]
    decisions = {r["seq"]: r for r in rows if r["kind"] == "decision"}
    outcomes = [r for r in rows if r["kind"] == "outcome"]
    assert [(decisions[o["ref"]]["decision"], o["outcome"]) for o in outcomes] == [
        ("warn", "ran"),
        ("deny", "blocked"),
        ("require_approval", "held"),
        ("warn", "tool_error"),
    ]
    assert all(o["ref"] < o["seq"] for o in outcomes)
    assert "tool broke" in json.loads(outcomes[-1]["detail"])["error"]
    assert held.value.request_id and held.value.request_id in (decisions[outcomes[2]["ref"]]["detail"] or "")
    for o in outcomes:
        assert (o["agent_id"], o["tool"], o["capability"], o["framework"]) == (
            "a",
            "shell",
            "shell.execute",
            "python",
        )

    # Append-only: every earlier snapshot is an unchanged prefix of the later ones.
    for earlier, later in itertools.pairwise(snapshots):
        assert later[: len(earlier)] == earlier
        assert len(later) > len(earlier)
    verify_chain(rows)


def test_chain_recomputes_and_detects_tampering(
    runtime: Callable[..., ActionRuntime], tmp_path: Path
) -> None:
    rt = runtime(OUTCOME_POLICY)
    for command in ("ls", "rm -rf /", "pwd", "whoami"):
        rt.evaluate("shell.execute", {"command": command}, agent_id="a", tool="sh", framework="python")
    rt.record_outcome(rt.evaluate("shell.execute", {"command": "date"}, agent_id="a"), "ran")
    rt.close()
    rows = audit_rows(tmp_path / "audit.db")
    assert len(rows) == 6
    verify_chain(rows)

    for column, value in (
        ("payload", '{"command":"ls -la"}'),
        ("decision", "allow"),
        ("ts", "2000-01-01T00:00:00+00:00"),
        ("ref", 1),
    ):
        tampered = [dict(r) for r in rows]
        tampered[1][column] = value
        with pytest.raises(AssertionError, match="hash mismatch at seq 2"):
            verify_chain(tampered)
    with pytest.raises(AssertionError, match="chain broken before seq 4"):
        verify_chain(rows[:2] + rows[3:])  # a deleted record
    with pytest.raises(AssertionError, match="chain broken"):
        verify_chain([rows[1], rows[0], *rows[2:]])  # reordered


def test_keyed_chain_and_key_mismatch(
    write_policy: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    policy = write_policy(ALLOW_ALL)
    db = tmp_path / "keyed.db"
    monkeypatch.setenv("CAPFENCE_AUDIT_KEY", "s3cret")
    with ActionRuntime.from_policy(policy, audit_log=db) as rt:
        assert rt.evaluate("x.y", {}, agent_id="a").action == "allow"
    rows = audit_rows(db)
    verify_chain(rows, b"s3cret")
    with pytest.raises(AssertionError, match="hash mismatch"):
        verify_chain(rows)  # a plain SHA-256 recompute does not reproduce a keyed chain

    monkeypatch.delenv("CAPFENCE_AUDIT_KEY")
    with ActionRuntime.from_policy(policy, audit_log=db) as rt:
        decision = rt.evaluate("x.y", {}, agent_id="a")
    assert decision.action == "deny" and decision.reason.startswith("internal_error:")
    assert "CAPFENCE_AUDIT_KEY" in decision.reason

    plain = tmp_path / "plain.db"
    with ActionRuntime.from_policy(policy, audit_log=plain) as rt:
        assert rt.evaluate("x.y", {}, agent_id="a").action == "allow"
    monkeypatch.setenv("CAPFENCE_AUDIT_KEY", "s3cret")
    with ActionRuntime.from_policy(policy, audit_log=plain) as rt:
        decision = rt.evaluate("x.y", {}, agent_id="a")
    assert decision.action == "deny" and "CAPFENCE_AUDIT_KEY" in decision.reason
    assert len(audit_rows(db)) == len(audit_rows(plain)) == 1


# --- many processes, many threads, one file ---------------------------------------------

WORKER = textwrap.dedent("""
    import sys, threading
    from capfence import ActionRuntime

    policy, db, proc, threads, calls = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    rt = ActionRuntime.from_policy(policy, audit_log=db)
    errors = []

    def work(t):
        for i in range(calls):
            command = "curl x" if i % 2 else "ls"
            d = rt.evaluate("shell.execute", {"command": command, "p": proc, "t": t, "i": i}, agent_id=f"p{proc}-t{t}")
            if d.action != ("deny" if i % 2 else "allow") or d.record_id is None:
                errors.append(d)

    print("ready", flush=True)
    sys.stdin.readline()
    pool = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    print("errors", len(errors), errors[:1], flush=True)
""")


@pytest.mark.slow
def test_many_processes_and_threads_one_chain(write_policy: Callable[..., Path], tmp_path: Path) -> None:
    processes, threads, calls = 4, 4, 50
    policy = write_policy(
        "deny:\n  - capability: shell.execute\n    contains: curl\nallow:\n  - capability: '*'\n"
    )
    db = tmp_path / "shared.db"
    argvs = [[str(policy), str(db), str(p), str(threads), str(calls)] for p in range(processes)]
    for out in released_together(WORKER, argvs, timeout=60):
        assert out.strip() == "errors 0 []", out

    rows = audit_rows(db)
    total = processes * threads * calls
    assert len(rows) == total
    assert [r["seq"] for r in rows] == list(range(1, total + 1))
    verify_chain(rows)
    seen = {(r["agent_id"], json.loads(r["payload"])["i"]) for r in rows}
    assert len(seen) == total  # every call exactly once: none lost, none doubled
    assert sum(r["decision"] == "deny" for r in rows) == total // 2


def _hold_exclusive_lock(db: Path, until: threading.Event) -> threading.Thread:
    """Another connection holds the file's exclusive lock until ``until`` is set."""
    holder = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("CREATE TABLE IF NOT EXISTS t (x)")

    def release() -> None:
        until.wait(timeout=60)
        holder.execute("COMMIT")
        holder.close()

    thread = threading.Thread(target=release)
    thread.start()
    return thread


# SQLite can answer a journal-mode switch with SQLITE_BUSY without calling its busy
# handler (seen when processes open a new log together: test_many_processes_...).
# These connections have no busy handler (timeout=0), so only enable_wal's own wait is tested.


def test_switch_to_wal_waits_for_another_writer(tmp_path: Path) -> None:
    db = tmp_path / "new.db"
    released = threading.Event()
    holder = _hold_exclusive_lock(db, released)
    attempts: list[str] = []

    class Counting(sqlite3.Connection):
        def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
            attempts.append(sql)
            # the first switch failed while the lock was held: now the other writer finishes
            if len(attempts) == 2:
                released.set()
            return super().execute(sql, *args)

    conn = sqlite3.connect(db, isolation_level=None, timeout=0, factory=Counting)
    try:
        enable_wal(conn)
        assert len(attempts) >= 2
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        released.set()
        conn.close()
        holder.join()


def test_switch_to_wal_gives_up_with_the_sqlite_error(tmp_path: Path) -> None:
    db = tmp_path / "held.db"
    released = threading.Event()
    holder = _hold_exclusive_lock(db, released)
    conn = sqlite3.connect(db, isolation_level=None, timeout=0)
    try:
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            enable_wal(conn, timeout=0.05)
    finally:
        released.set()
        conn.close()
        holder.join()


@pytest.mark.parametrize("section", ["allow", "require_approval"])
def test_lone_surrogates_in_names_are_still_audited(
    section: str, runtime: Callable[..., ActionRuntime], tmp_path: Path
) -> None:
    """UTF-8 cannot store a lone surrogate: names keep it as an escape, and the call is decided and recorded as usual."""
    rt = runtime(f"{section}:\n  - capability: '*'\n")
    decision = rt.evaluate(
        "x.\udcff", {"name": "f\udcff"}, agent_id="agent\ud800", tool="tool\udcff", environment="e\ud800"
    )
    assert decision.action == section and decision.record_id is not None, decision.reason
    (row,) = audit_rows(tmp_path / "audit.db", "decision")
    assert (row["agent_id"], row["tool"], row["capability"]) == ("agent\\ud800", "tool\\udcff", "x.\\udcff")
    verify_chain(audit_rows(tmp_path / "audit.db"))
