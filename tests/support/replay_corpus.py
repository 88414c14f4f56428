"""A varied replay corpus, and the expected ``capfence replay`` output for it (tests/test_replay_differential.py).

The corpus is built deterministically (a seeded generator): every decision kind recorded or none, agents, tools and
environments present or not, flat, nested and numeric payloads, Unicode and whitespace respellings, repeated calls
(cache hits), records of other kinds, truncated and redacted payloads, and every sort of invalid line. An audit
database is recorded from part of it by a real :class:`~capfence.runtime.ActionRuntime` (payload limit and
redaction on), and exported to JSON Lines by ``capfence export``.

The expected outputs in ``tests/data/replay/expected`` were written by the replay code as it was before the
distinct-record work (issue 24, part 2)::

    PYTHONPATH=$PWD/capfence_core python tests/replay_corpus.py --write-expected

Run that again only for a deliberate change of the output, and say why in the commit.
"""

from __future__ import annotations

import json
import random
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.support.paths import ROOT

DATA = ROOT / "tests" / "data" / "replay"
EXPECTED = DATA / "expected"
POLICIES = ("content.yaml", "shadow_limits.yaml", "shell_production.yaml")
SOURCES = ("corpus.jsonl", "audit.db", "export.jsonl")
FORMATS = ("text", "json")
REDACTED = "***REDACTED***"
TRUNCATED_KEY = "__capfence_truncated__"

COMMANDS = [
    "ls -la",
    "git status",
    "rm -rf /tmp/build",
    "RM  -RF   /var/cache",
    "ｒｍ -ｒｆ /home",  # fullwidth: NFKC folds it to rm -rf
    "curl -s https://example.com",
    "CURL https://x",
    "sudo systemctl restart nginx",
    "echo sudoku",
    "dd if=/dev/zero of=/dev/sda",
    "mkfs.ext4 /dev/sdb1",
    "systemctl status",
    "python manage.py test",
    "cat /etc/passwd",
    "echo 'rm -rf' is dangerous",
    "npm\tinstall",
]
PATHS = [
    "/etc/passwd",
    "/etc/../home/x",
    "/home/dev/notes.txt",
    "relative/file",
    "/ETC/hosts",
    "/srv/data/1.txt",
]
AMOUNTS: list[object] = [
    1,
    1.0,
    True,
    "1500",
    1e3,
    1001,
    -5,
    "lots",
    None,
    10_000_000_000_000_000_000,
    "1_000",
]
CAPABILITIES = [
    "shell.execute",
    "filesystem.read",
    "filesystem.write",
    "payments.charge",
    "net.fetch",
    "other.thing",
]
AGENTS: list[str | None] = ["agent-1", "intern-7", "prod-agent", None]
TOOLS: list[str | None] = ["run_shell", "read_file", "pay", None]
ENVIRONMENTS: list[str | None] = ["production", "staging", " Production ", None]
DECISIONS: list[str | None] = ["allow", "warn", "deny", "require_approval", None]
EXPORT_FIELDS = {
    "ts": "2025-06-01T00:00:00.000000+00:00",
    "framework": "langchain",
    "payload_sha256": "0" * 64,
    "payload_bytes": 30,
    "rule": "r",
    "reason": "x",
    "policy_digest": "1" * 64,
    "ref": None,
    "outcome": None,
    "detail": None,
    "prev_hash": "0" * 64,
    "hash": "1" * 64,
}

INVALID_LINES = [
    "{not json",
    "[1, 2, 3]",
    '"just a string"',
    "42",
    "null",
    '{"payload": {"command": "ls"}}',
    '{"capability": "", "payload": {}}',
    '{"capability": 7, "payload": {}}',
    '{"capability": "shell.execute"}',
    '{"capability": "shell.execute", "payload": "ls"}',
    '{"capability": "shell.execute", "payload": ["ls"]}',
    '{"capability": "shell.execute", "payload": {}, "agent_id": 5}',
    '{"capability": "shell.execute", "payload": {}, "tool": ["x"]}',
    '{"capability": "shell.execute", "payload": {}, "environment": {"a": 1}}',
    '{"capability": "shell.execute", "payload": {}, "decision": "maybe"}',
    '{"capability": "shell.execute", "payload": {}, "decision": 1}',
    '{"capability": "shell.execute", "payload": {}} trailing',
    '{"capability": "shell.execute", "payload": {"n": NaN}}',
    '{"capability": "shell.execute", "payload": {"n": Infinity}, "decision": "deny"}',
    '{"capability": "shell.execute", "payload": {"n": 1e400}, "decision": "allow"}',
    '{"capability": "shell.execute", "payload": {"n": 123456789012345678901234567890}}',
    '  {"capability": "shell.execute", "payload": {"command": "rm -rf /"}, "decision": "allow"}  ',
    '{"capability": "shell.execute", "capability": "payments.charge", "payload": {"amount": 5000}}',
    '{"capability": "shell.execute", "payload": {"command": "ls"}, "payload": {"command": "rm -rf /"}}',
    '{"capability": "shell.execute", "payload": {}, "id": [1, 2]}',
    '{"capability": "shell.execute", "payload": {}, "id": {"x": 1}, "decision": "deny"}',
    '{"capability": "shell.execute", "payload": {}, "kind": ["decision"]}',
    '{"capability": "shell.execute", "payload": {"c": "\\ud800"}}',
    '{"capability": "shell.execute", "payload": {"command": "caf\\u00e9 curl"}, "decision": "allow"}',
    "",
    "   ",
    "\t",
]


def _payload(rng: random.Random, capability: str) -> dict[str, Any]:
    shape = rng.randrange(10)
    if capability.startswith("payments"):
        return {"amount": rng.choice(AMOUNTS), "currency": "EUR"} if shape else {"order": {"Amount": 5000}}
    if capability.startswith("filesystem"):
        return {"path": rng.choice(PATHS)} if shape else {"file_path": rng.choice(PATHS), "mode": 420}
    command = rng.choice(COMMANDS)
    if shape == 0:
        return {"args": {"argv": command.split(), "cwd": "/tmp"}}
    if shape == 1:
        return {"command": command, "timeout": rng.choice([5, 5.0, None, False])}
    if shape == 2:
        return {command: 1}  # the text is a key
    if shape == 3:
        return {"steps": [{"run": command}, {"run": "ls"}]}
    return {"command": command}


def _record(rng: random.Random, n: int) -> dict[str, Any]:
    capability = rng.choice(CAPABILITIES)
    record: dict[str, Any] = {}
    ident = rng.randrange(4)
    if ident == 0:
        record["seq"] = n
    elif ident == 1:
        record["id"] = f"call-{n}"
    elif ident == 2:
        record["id"] = n * 10
    if rng.random() < 0.3:
        record["kind"] = "decision"
    record["capability"] = capability
    for name, choices in (("agent_id", AGENTS), ("environment", ENVIRONMENTS), ("tool", TOOLS)):
        if rng.random() < 0.8:
            record[name] = rng.choice(choices)
    record["payload"] = _payload(rng, capability)
    if rng.random() < 0.85:
        record["decision"] = rng.choice(DECISIONS)
    if rng.random() < 0.4:
        record = {**EXPORT_FIELDS, **record, "truncated": False, "redacted": False}
    return record


def _special(rng: random.Random, n: int) -> dict[str, Any] | str:
    """A record that is not an ordinary call: another kind, truncated, redacted."""
    base = {"seq": n, "capability": "shell.execute", "decision": rng.choice(DECISIONS)}
    return rng.choice(
        [
            {**base, "kind": "outcome", "payload": {}},
            {**base, "kind": "event", "payload": {"x": 1}},
            {**base, "payload": {"command": "ls", TRUNCATED_KEY: 2000}},
            {**base, "payload": {"command": "rm -rf /"}, "truncated": True},
            {**base, "payload": {"command": "rm -rf /"}, "truncated": 1},
            {**base, "payload": {"command": "ls"}, "truncated": 0},
            {**base, "payload": {"command": "ls", "token": REDACTED}},
            {**base, "payload": {"nested": {"list": ["a", REDACTED]}}},
            {**base, "payload": {"command": "ls"}, "redacted": True},
            {**base, "payload": {"command": "ls"}, "redacted": ""},
            {**base, "payload": {"command": REDACTED + " "}},
        ]
    )


def corpus_lines(count: int = 900, seed: int = 24) -> Iterator[str]:
    """The JSON Lines corpus (without newlines)."""
    rng = random.Random(seed)
    earlier: list[str] = []
    for n in range(1, count + 1):
        roll = rng.random()
        if roll < 0.04:
            line = rng.choice(INVALID_LINES)
        elif roll < 0.1:
            line = json.dumps(_special(rng, n), ensure_ascii=rng.random() < 0.5)
        elif roll < 0.3 and earlier:
            line = rng.choice(earlier)  # the same call again: a cache hit
        else:
            line = json.dumps(
                _record(rng, n),
                ensure_ascii=rng.random() < 0.5,
                separators=(",", ":") if rng.random() < 0.5 else None,
            )
            earlier.append(line)
        yield line


def write_corpus(path: Path) -> Path:
    """The corpus, with a CRLF line, a line of invalid UTF-8 and no newline after the last line."""
    lines = [line.encode("utf-8") for line in corpus_lines()]
    lines[100] += b"\r"
    lines[200] = (
        b'{"capability": "shell.execute", "payload": {"command": "rm -rf \xff\xfe"}, "decision": "allow"}'
    )
    path.write_bytes(b"\n".join(lines))
    return path


def write_database(path: Path, corpus: Path) -> Path:
    """An audit log recorded by a real runtime from the corpus's valid calls (and outcomes for some)."""
    from capfence.call.runtime import ActionRuntime

    calls = []
    for line in corpus.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        # (a lone surrogate cannot be exported)
        valid = (
            isinstance(record, dict) and isinstance(record.get("payload"), dict) and record.get("capability")
        )
        if valid and "\\ud8" not in line:
            calls.append(record)
    rng = random.Random(7)
    for environment in ("production", None):
        with ActionRuntime.from_policy(
            DATA / "record.yaml", audit_log=path, environment=environment
        ) as runtime:
            for record in calls[: len(calls) // 2] if environment else calls[len(calls) // 2 :]:
                payload = dict(record["payload"])
                roll = rng.random()
                if roll < 0.1:
                    payload["secret"] = "hunter2"
                elif roll < 0.15:
                    payload["blob"] = "x" * 400
                agent, tool = record.get("agent_id"), record.get("tool")
                decision = runtime.evaluate(
                    str(record["capability"]),
                    payload,
                    agent_id=agent if isinstance(agent, str) else None,  # type: ignore[arg-type] # no agent, as old logs have
                    tool=tool if isinstance(tool, str) else None,
                )
                if roll > 0.7:
                    runtime.record_outcome(decision, "ran" if decision.allowed else "blocked")
    return path


def build_sources(directory: Path) -> None:
    """``corpus.jsonl``, ``audit.db``, ``export.jsonl`` and the policies, in ``directory`` (replays run there)."""
    from tests.support.cli import run
    from tests.support.paths import POLICIES as REPO_POLICIES

    corpus = write_corpus(directory / "corpus.jsonl")
    write_database(directory / "audit.db", corpus)
    run("export", "--audit-log", directory / "audit.db", "-o", directory / "export.jsonl")
    for name in POLICIES:
        source = REPO_POLICIES / name if name == "shell_production.yaml" else DATA / name
        shutil.copy(source, directory / name)


def replay_output(
    directory: Path, source: str, policy: str, fmt: str, *extra: str, env: dict[str, str] | None = None
) -> str:
    """``capfence replay SOURCE --policy POLICY --format FMT`` run in ``directory``, its directory written ``<DIR>``."""
    from tests.support.cli import run

    done = run(
        "replay", source, "--policy", policy, "--format", fmt, *extra, cwd=directory, env=env, check=None
    )
    assert done.returncode in (0, 3), done.stderr
    return str(done.stdout).replace(str(directory.resolve()), "<DIR>")


def cases() -> Iterator[tuple[str, str, str]]:
    for source in SOURCES:
        for policy in POLICIES:
            for fmt in FORMATS:
                yield source, policy, fmt


def expected_name(source: str, policy: str, fmt: str) -> str:
    return f"{source.replace('.', '_')}--{policy.removesuffix('.yaml')}.{fmt}"


def _write_expected() -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        build_sources(directory)
        for source, policy, fmt in cases():
            (EXPECTED / expected_name(source, policy, fmt)).write_text(
                replay_output(directory, source, policy, fmt), encoding="utf-8"
            )


if __name__ == "__main__":
    if sys.argv[1:] != ["--write-expected"]:
        raise SystemExit("usage: python -m tests.support.replay_corpus --write-expected")
    _write_expected()
