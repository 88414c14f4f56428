"""``nox -s tests -- tests/cli/test_x.py`` runs only that file: a test path given to a session replaces its default."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType
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
