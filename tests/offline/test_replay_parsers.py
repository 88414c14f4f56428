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
    assert "line 8: not valid JSON: nested too deeply to read" in done.stdout
    assert "line 9: not valid JSON" in done.stdout
    assert "internal error" not in done.stderr
