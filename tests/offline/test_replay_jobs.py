"""``replay --jobs``: the file cut into windows of whole lines, numbered as one reader numbers them, merged in order."""

from __future__ import annotations

import io
import itertools
import random
from pathlib import Path

import pytest

from capfence.offline.replay import summary
from capfence.offline.replay_jobs import count_lines, windows
from capfence.offline.replay_records import RecordWriter
from capfence.offline.replay_source import replay_file
from tests.support.cli import run
from tests.support.loading import load_policy
from tests.support.replay_corpus import DATA, corpus_lines

ENDINGS = [b"\n", b"\r\n", b"\r"]


def _messy(path: Path, seed: int) -> Path:
    """Corpus lines ended by \\n, \\r\\n or a lone \\r at random, some invalid UTF-8, maybe no final line end."""
    rng = random.Random(seed)
    chunks = []
    for line in corpus_lines(count=300, seed=seed):
        data = line.encode("utf-8")
        if rng.random() < 0.02:
            data += b"\xe2\x82"  # a character cut short
        chunks.append(data + rng.choice(ENDINGS))
    if seed % 2:
        chunks[-1] = chunks[-1].rstrip(b"\r\n")
    path.write_bytes(b"".join(chunks))
    return path


@pytest.mark.parametrize("seed", range(4))
def test_windows_cover_the_file_in_whole_lines(tmp_path: Path, seed: int) -> None:
    path = _messy(tmp_path / "calls.jsonl", seed)
    with path.open(encoding="utf-8", errors="replace") as f:
        expected = sum(1 for _ in f)
    for jobs in range(1, 9):
        parts = windows(path, jobs)
        assert parts[0].start == 0 and parts[-1].end == path.stat().st_size
        assert all(a.end == b.start for a, b in itertools.pairwise(parts))
        assert sum(count_lines(part) for part in parts) == expected


def test_a_line_end_cut_between_two_blocks_counts_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import capfence.offline.replay_jobs

    path = tmp_path / "crlf.jsonl"
    path.write_bytes(b"ab\r\ncd\r\ref\r\n\r\n")
    (whole,) = windows(path, 1)
    monkeypatch.setattr(capfence.offline.replay_jobs, "BLOCK", 3)  # "ab\r" | "\ncd" | ...
    assert count_lines(whole) == 5


@pytest.mark.parametrize("seed", range(4))
def test_the_parts_merge_into_the_result_of_one_process(tmp_path: Path, seed: int) -> None:
    """Summary (counts, first examples, first problems with their line numbers) and records, jobs 1 to 5."""
    path = _messy(tmp_path / "calls.jsonl", seed)
    policy = load_policy(DATA / "content.yaml")

    def replayed(jobs: int) -> tuple[object, str]:
        out = io.StringIO()
        result = replay_file(path, policy, sink=RecordWriter(policy, out), jobs=jobs)
        return summary(result), out.getvalue()

    one = replayed(1)
    assert one[0]["invalid"] and one[0]["unreplayable"] and one[0]["changes"]  # type: ignore[index]
    for jobs in (2, 3, 5):
        assert replayed(jobs) == one


def test_a_process_with_threads_starts_its_parts_without_forking(tmp_path: Path) -> None:
    """Forking while another thread may hold a lock can hang the child: with a thread running, the parts come from a
    fork server, and the result is the same."""
    import threading

    from capfence.offline.replay_jobs import start_method

    path = _messy(tmp_path / "calls.jsonl", 1)
    policy = load_policy(DATA / "content.yaml")
    one = summary(replay_file(path, policy, jobs=1))
    release = threading.Event()
    busy = threading.Thread(target=release.wait, daemon=True)
    busy.start()
    try:
        assert start_method() == "forkserver"
        assert summary(replay_file(path, policy, jobs=3)) == one
    finally:
        release.set()
        busy.join()


def test_only_a_record_writer_can_be_split(tmp_path: Path) -> None:
    path = _messy(tmp_path / "calls.jsonl", 0)
    with pytest.raises(TypeError, match="RecordWriter"):
        replay_file(path, load_policy(DATA / "content.yaml"), sink=lambda *record: None, jobs=2)


@pytest.mark.parametrize("value", ["0", "-1", "x", "65", "1.5", ""])
def test_a_bad_jobs_value_is_one_line(tmp_path: Path, value: str) -> None:
    path = _messy(tmp_path / "calls.jsonl", 0)
    done = run("replay", path, "--policy", DATA / "content.yaml", "--jobs", value, check=2)
    assert (
        done.stderr.startswith("capfence: error: Invalid value for '--jobs'") and done.stderr.count("\n") == 1
    )
    assert "from 1 to 64, or auto" in done.stderr


def test_jobs_auto_and_a_database(tmp_path: Path) -> None:
    """``auto`` is a number of processes; a database is read by one, whatever --jobs says."""
    from tests.support.cli import observed_log

    path = _messy(tmp_path / "calls.jsonl", 1)
    policy = DATA / "content.yaml"
    one = run("replay", path, "--policy", policy).stdout
    assert run("replay", path, "--policy", policy, "--jobs", "auto").stdout == one
    audit = observed_log(tmp_path)
    assert (
        run("replay", audit, "--policy", policy, "-j", "4").stdout
        == run("replay", audit, "--policy", policy).stdout
    )


def test_a_policy_changed_under_the_replay_is_refused(tmp_path: Path) -> None:
    """Each process loads the policy from its file: if it is no longer the policy the caller loaded, the replay fails."""
    path = _messy(tmp_path / "calls.jsonl", 2)
    file = tmp_path / "policy.yaml"
    file.write_text((DATA / "content.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    policy = load_policy(file)
    file.write_text("default: deny\n", encoding="utf-8")
    with pytest.raises(Exception, match="changed while it was being replayed"):
        replay_file(path, policy, jobs=2)
