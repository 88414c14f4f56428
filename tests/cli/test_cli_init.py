"""``capfence init`` writes the walkthrough's two policies into ./policies/, never overwrites, and says what to do next."""

from __future__ import annotations

from pathlib import Path

from tests.support.cli import run
from tests.support.paths import POLICIES

NAMES = ["shell_production.yaml", "shell_rollout.yaml"]


def test_writes_the_walkthrough_policies_and_says_what_next(tmp_path: Path) -> None:
    out = run("init", cwd=tmp_path).stdout
    assert sorted(p.name for p in (tmp_path / "policies").iterdir()) == NAMES
    for name in NAMES:
        assert (tmp_path / "policies" / name).read_text() == (POLICIES / name).read_text()
        assert f"Wrote policies/{name} (" in out
    assert "Next:" in out and 'ActionRuntime.from_policy("policies/shell_rollout.yaml")' in out
    assert "capfence replay audit.jsonl --policy policies/shell_production.yaml" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["policies"]
    run("check", "policies/shell_rollout.yaml", "policies/shell_production.yaml", cwd=tmp_path)


def test_refuses_to_overwrite_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "policies").mkdir()
    mine = tmp_path / "policies" / "shell_production.yaml"
    mine.write_text("# mine\n")
    done = run("init", cwd=tmp_path, check=1)
    assert done.stderr == (
        "capfence: error: policies/shell_production.yaml already exists; nothing written "
        "(move it away, or run 'capfence init' in another directory)\n"
    )
    assert (
        done.stdout == ""
        and mine.read_text() == "# mine\n"
        and not (tmp_path / "policies" / "shell_rollout.yaml").exists()
    )


def test_a_second_run_refuses(tmp_path: Path) -> None:
    run("init", cwd=tmp_path)
    done = run("init", cwd=tmp_path, check=1)
    assert (
        "policies/shell_rollout.yaml and policies/shell_production.yaml already exist; nothing written"
        in done.stderr
    )
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
