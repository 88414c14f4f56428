"""The core and the three adapters carry one version, and each adapter pins the matching core minor."""

from __future__ import annotations

import tomllib
from pathlib import Path

from tests.support.paths import ROOT


def project(path: Path) -> dict[str, object]:
    return tomllib.loads(path.read_text())["project"]  # type: ignore[no-any-return]


def test_distributions_move_together():
    core = project(ROOT / "pyproject.toml")
    major, minor, _ = str(core["version"]).split(".")
    for name in ("langchain", "llamaindex", "crewai"):
        adapter = project(ROOT / "adapters" / name / "pyproject.toml")
        assert adapter["version"] == core["version"], name
        assert f"capfence>={major}.{minor},<{major}.{int(minor) + 1}" in adapter["dependencies"], name  # type: ignore[operator]
    assert f"## {core['version']}" in (ROOT / "CHANGELOG.md").read_text()
