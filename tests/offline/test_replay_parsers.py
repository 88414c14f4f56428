"""``capfence replay`` reads every line the same whichever JSON parser it has, and survives any line.

orjson (the optional fast parser, installed by the test extra) reads an integer beyond 64 bits as a float; replay
must then read the line again with ``json.loads``, so amounts, ids and messages come out as they do without it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import run

POLICY = """\
default: deny
deny:
  - capability: payments.charge
    args: {amount: {gt: 1000000}}
allow:
  - capability: payments.charge
  - capability: shell.execute
"""
HUGE = 123456789012345678901234567890


def lines() -> list[str]:
    def record(seq: object, payload: object, **fields: object) -> str:
        body = {
            "seq": seq,
            "capability": "payments.charge",
            "payload": payload,
            "decision": "allow",
            **fields,
        }
        return json.dumps(body)

    return [
        record(1, {"amount": HUGE}),
        record(2, {"amount": -(2**63) - 1}),
        record(3, {"amount": 2**64}),
        record(HUGE, {"note": "an ordinary call whose seq does not fit 64 bits"}),
        record(5, {"amount": 10}, decision=HUGE),
        record(6, {"note": "x"}, truncated=HUGE),
        record([HUGE], {"note": "an id that is a list holding a huge integer"}),
        record({"n": HUGE}, {"note": "a seq that is an object holding one"}),
        str(HUGE),
        "[" * 100_000 + "]" * 100_000,
        "{" * 50_000,
        json.dumps(
            {"seq": 10, "capability": "shell.execute", "payload": {"command": "ls"}, "decision": "allow"}
        ),
    ]


@pytest.fixture
def corpus(tmp_path: Path) -> tuple[Path, Path]:
    source = tmp_path / "calls.jsonl"
    source.write_text("\n".join(lines()) + "\n", encoding="utf-8")
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    return source, policy


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_both_parsers_give_the_same_output(corpus: tuple[Path, Path], fmt: str) -> None:
    source, policy = corpus
    done = {
        parser: run(
            "replay",
            source,
            "--policy",
            policy,
            "--format",
            fmt,
            env={"CAPFENCE_JSON_PARSER": parser},
            check=None,
        )
        for parser in ("stdlib", "default")
    }
    assert done["default"].returncode == done["stdlib"].returncode == 0, done["stdlib"].stderr
    outputs = {parser: result.stdout for parser, result in done.items()}
    assert outputs["default"] == outputs["stdlib"]
    if fmt == "json":
        report = json.loads(outputs["stdlib"])
        text = json.dumps(report)
        assert str(HUGE) in text  # the huge seq, printed as the integer it is
        assert "e+29" not in text and "e+19" not in text and "e+18" not in text


def test_a_line_nested_too_deeply_is_reported_and_the_rest_replayed(corpus: tuple[Path, Path]) -> None:
    source, policy = corpus
    done = run("replay", source, "--policy", policy, check=0)
    assert 'line 1: payments.charge {"amount":123456789012345678901234567890}' in done.stdout
    assert "line 10: not valid JSON: nested deeper than 512 levels" in done.stdout
    assert "line 11: not valid JSON" in done.stdout
    assert "internal error" not in done.stderr


def nested(depth: int) -> str:
    """A call whose payload holds a list nested ``depth`` levels (the record itself adds one)."""
    inner = "[" * (depth - 1) + '"x"' + "]" * (depth - 1)
    head = f'{{"id": {depth}, "capability": "shell.execute", "decision": "allow", "payload": '
    return head + '{"x": ' + inner + "}}"


def test_nesting_near_the_interpreters_limit_reads_the_same_everywhere(tmp_path: Path) -> None:
    """512 levels and less are replayed, more are invalid: whichever parser, however many jobs (workers have deeper
    stacks), with nothing left to the recursion limit (it used to end the replay with an internal error)."""
    depths = [2, 100, 511, 512, 513, 600, 900, 975, 984, 990, 1000, 1023, 1030, 5000]
    source = tmp_path / "deep.jsonl"
    ordinary = [
        json.dumps({"capability": "shell.execute", "payload": {"command": f"ls {n}"}}) for n in range(50)
    ]
    source.write_text("\n".join([*ordinary, *map(nested, depths), *ordinary]) + "\n", encoding="utf-8")
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    outputs = set()
    for parser in ("stdlib", "default"):
        for jobs in ("1", "3"):
            env = {"CAPFENCE_JSON_PARSER": parser}
            done = run(
                "replay", source, "--policy", policy, "--format", "json", "--jobs", jobs, env=env, check=0
            )
            assert "internal error" not in done.stderr
            outputs.add(done.stdout)
    assert len(outputs) == 1
    summary = json.loads(outputs.pop())["summary"]
    invalid = {item["line"]: item["reason"] for item in summary["invalid_records"]}
    deep = [50 + 1 + k for k, depth in enumerate(depths) if depth + 1 > 512]
    assert sorted(invalid) == deep and summary["invalid"] == len(deep)
    assert summary["replayed"] == 100 + len(depths) - len(deep)
    assert set(invalid.values()) == {"not valid JSON: nested deeper than 512 levels"}
