"""``capfence replay`` output stays byte for byte what it was: a varied corpus against outputs written before the speed work.

The corpus (``tests/replay_corpus.py``) covers every decision kind, shadow and limit rules, records of other kinds,
truncated and redacted payloads, invalid lines, JSON Lines files and an SQLite audit log, in text and JSON.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.replay_corpus import EXPECTED, build_sources, cases, expected_name, replay_output

CASES = list(cases())


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("replay-corpus")
    build_sources(directory)
    return directory


@pytest.mark.parametrize(("source", "policy", "fmt"), CASES, ids=[expected_name(*case) for case in CASES])
def test_output_is_what_it_was(sources: Path, source: str, policy: str, fmt: str) -> None:
    expected = (EXPECTED / expected_name(source, policy, fmt)).read_text(encoding="utf-8")
    assert replay_output(sources, source, policy, fmt) == expected


JSONL_CASES = [case for case in CASES if case[0].endswith(".jsonl")]


@pytest.mark.parametrize(
    ("source", "policy", "fmt"), JSONL_CASES, ids=[expected_name(*case) for case in JSONL_CASES]
)
def test_jobs_change_nothing(sources: Path, source: str, policy: str, fmt: str) -> None:
    """Three processes, each replaying a part of the file: the same output, byte for byte."""
    expected = (EXPECTED / expected_name(source, policy, fmt)).read_text(encoding="utf-8")
    assert replay_output(sources, source, policy, fmt, "--jobs", "3") == expected


@pytest.mark.parametrize(
    ("source", "policy", "fmt"), JSONL_CASES, ids=[expected_name(*case) for case in JSONL_CASES]
)
def test_the_standard_library_parser_changes_nothing(
    sources: Path, source: str, policy: str, fmt: str
) -> None:
    """The test extra installs orjson, so the cases above parse with it; the standard library's scanner gives the same."""
    expected = (EXPECTED / expected_name(source, policy, fmt)).read_text(encoding="utf-8")
    stdlib = {"CAPFENCE_JSON_PARSER": "stdlib"}
    assert replay_output(sources, source, policy, fmt, env=stdlib) == expected
    assert replay_output(sources, source, policy, fmt, "--jobs", "2", env=stdlib) == expected
