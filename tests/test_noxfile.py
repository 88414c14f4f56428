"""``nox -s tests -- tests/cli/test_x.py`` runs only that file: a test path given to a session replaces its default."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any
from unittest import mock

from tests.support.paths import ROOT


def _noxfile() -> ModuleType:
    spec = importlib.util.spec_from_file_location("capfence_noxfile", ROOT / "noxfile.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # the sessions' decorators are not under test
    with mock.patch.dict(sys.modules, {"nox": mock.MagicMock()}):
        spec.loader.exec_module(module)
    return module


def test_a_test_path_replaces_the_default() -> None:
    args = _noxfile().pytest_args
    assert args("tests", ["tests/cli/test_cli_logs.py"]) == ["tests/cli/test_cli_logs.py"]
    assert args("tests", ["tests/cli/test_cli_logs.py::test_wide", "-x"]) == [
        "tests/cli/test_cli_logs.py::test_wide",
        "-x",
    ]
    assert args(["tests", "--ignore=tests/web"], ["tests/policy/shell", "-x"]) == ["tests/policy/shell", "-x"]
    assert args("examples/test_examples.py", ["examples/test_examples.py"]) == ["examples/test_examples.py"]


def test_options_alone_keep_the_default() -> None:
    args = _noxfile().pytest_args
    assert args("tests", []) == ["tests"]
    assert args("tests", ["-k", "logs", "-x"]) == ["tests", "-k", "logs", "-x"]
    assert args(["examples/a", "examples/b"], ["-q"]) == ["examples/a", "examples/b", "-q"]


def test_every_python_the_project_claims_is_tested() -> None:
    """pyproject's classifiers and requires-python name the versions the noxfile runs the core suite on."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    prefix = "Programming Language :: Python :: 3."
    claimed = sorted(
        (
            c.removeprefix("Programming Language :: Python :: ")
            for c in project["classifiers"]
            if c.startswith(prefix)
        ),
        key=lambda v: [int(n) for n in v.split(".")],
    )
    noxfile = _noxfile()
    assert tuple(claimed) == noxfile.PYTHONS
    assert project["requires-python"] == f">={noxfile.PYTHONS[0]}"
    assert set(noxfile.INTERPRETERS) == set(noxfile.PYTHONS[1:])


def test_interpreters_are_found_among_pyenv_installs(tmp_path: Path, monkeypatch: Any) -> None:
    """The newest install of a version under $PYENV_ROOT (pyenv's shims answer only for its selected versions)."""
    for version in ("3.12.1", "3.12.10", "3.12.9"):
        binary = tmp_path / "versions" / version / "bin" / "python3.12"
        binary.parent.mkdir(parents=True)
        binary.write_text("#!/bin/sh\n", encoding="utf-8")
        binary.chmod(0o755)
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    noxfile = _noxfile()
    assert noxfile.interpreter("3.12") == str(tmp_path / "versions" / "3.12.10" / "bin" / "python3.12")
    assert noxfile.interpreter("3.13") is None


def test_the_full_route_session_runs_the_shell_tests() -> None:
    files = _noxfile().SHELL_TESTS
    assert all((ROOT / name).exists() for name in files)
    assert {"tests/policy/shell", "tests/policy/test_packs.py", "tests/audit/test_provenance.py"} <= set(
        files
    )
