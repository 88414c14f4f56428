"""Python in the docs cannot rot: every block compiles, every import it makes exists, and the
self-contained ones (README's seed example, getting started) run."""

from __future__ import annotations

import ast
import importlib
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cli import COMMAND
from tests.support.paths import ROOT

DOCS = sorted([*ROOT.glob("docs/**/*.md"), ROOT / "README.md", *ROOT.glob("adapters/*/README.md")])
BLOCKS = [
    (doc.relative_to(ROOT).as_posix(), i, code)
    for doc in DOCS
    for i, code in enumerate(re.findall(r"```python\n(.*?)```", doc.read_text(), flags=re.DOTALL))
]
_ENV = {**{k: v for k, v in os.environ.items() if not k.startswith("CAPFENCE_")}, "COLUMNS": "200"}
ADAPTER_PACKAGES = {
    f"capfence_{p.name}": p / f"capfence_{p.name}" for p in (ROOT / "adapters").iterdir() if p.is_dir()
}


def _exported(package_dir: Path) -> set[str]:
    tree = ast.parse((package_dir / "__init__.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            return set(ast.literal_eval(node.value))
    return set()


def _check_import(module: str, names: list[str]) -> None:
    top = module.split(".", maxsplit=1)[0]
    if top == "capfence":
        imported = importlib.import_module(module)
        missing = [n for n in names if n != "*" and not hasattr(imported, n)]
        assert not missing, f"{module} has no {missing}"
    elif top in ADAPTER_PACKAGES and module == top:
        missing = set(names) - _exported(ADAPTER_PACKAGES[top])
        assert not missing, f"{module}.__all__ lacks {sorted(missing)}"
    elif top in ADAPTER_PACKAGES:
        assert (ADAPTER_PACKAGES[top].parent / (module.replace(".", "/") + ".py")).exists(), (
            f"no module {module}"
        )


@pytest.mark.parametrize(("doc", "index", "code"), BLOCKS, ids=[f"{d}#{i}" for d, i, _ in BLOCKS])
def test_block_compiles_and_its_imports_exist(doc: str, index: int, code: str):
    tree = ast.parse(code, filename=f"{doc} block {index}")
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            _check_import(node.module, [alias.name for alias in node.names])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                _check_import(alias.name, [])


def _run(code: str, tmp_path: Path) -> str:
    shutil.copytree(ROOT / "policies", tmp_path / "policies")
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "audit.db").exists(), "the example writes ./audit.db"
    return done.stdout


def test_readme_seed_example_runs(tmp_path: Path):
    (seed,) = [code for doc, _, code in BLOCKS if doc == "README.md"]
    prelude = "def my_tool(command: str) -> str:\n    return 'ran ' + command\n"
    check = "\nprint(safe_tool(command='ls'))\n"
    assert _run(prelude + seed + check, tmp_path).strip() == "ran ls"


def _page_steps(doc: Path) -> list[tuple[str, str]]:
    """A page's runnable steps in page order: ("capfence", a command line) from shell blocks, ("python", code) from Python blocks.

    Shell lines other than ``capfence ...`` (installing, nox) are about the clone and are not run here.
    """
    steps: list[tuple[str, str]] = []
    for lang, code in re.findall(r"```(bash|python)\n(.*?)```", doc.read_text(), flags=re.DOTALL):
        if lang == "python":
            steps.append(("python", code))
            continue
        steps += [
            ("capfence", line.split(" #", 1)[0].strip())
            for line in code.splitlines()
            if line.startswith("capfence ")
        ]
    return steps


def _run_page(doc: Path, workdir: Path) -> list[str]:
    """Run every step of ``doc`` in ``workdir`` (real ``capfence`` executable, this interpreter); what each printed."""
    outputs = []
    for kind, text in _page_steps(doc):
        if kind == "python":
            (workdir / "first_tool.py").write_text(text)
            args = [sys.executable, "first_tool.py"]
        else:
            args = [*COMMAND, *shlex.split(text)[1:]]
        done = subprocess.run(
            args, cwd=workdir, capture_output=True, text=True, timeout=60, check=False, env=_ENV
        )
        assert done.returncode == 0, (
            f"{doc.name}: {text!r} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
        )
        assert "Traceback" not in done.stderr, done.stderr
        outputs.append(done.stdout)
    return outputs


def test_getting_started_runs_from_an_empty_directory(tmp_path: Path):
    """The page as a newcomer follows it, in an empty directory: capfence init, the first tool, capfence logs."""
    init, first_tool, logs = _run_page(ROOT / "docs" / "getting-started.md", tmp_path)
    assert "Wrote policies/shell_rollout.yaml" in init and "Wrote policies/shell_production.yaml" in init
    assert first_tool.split() == ["ran", "ls", "deny", "deny[0]"]
    assert "WARN" in logs and "DENY" in logs and "2 decision(s)" in logs
    assert sorted(p.name for p in (tmp_path / "policies").iterdir()) == [
        "shell_production.yaml",
        "shell_rollout.yaml",
    ]


def test_getting_started_example_runs(tmp_path: Path):
    (code,) = [code for doc, _, code in BLOCKS if doc == "docs/getting-started.md"]
    assert _run(code, tmp_path).split() == ["ran", "ls", "deny", "deny[0]"]


def test_home_page_shows_the_readme_seed_example_verbatim():
    (seed,) = [code for doc, _, code in BLOCKS if doc == "README.md"]
    (home,) = [code for doc, _, code in BLOCKS if doc == "docs/index.md"]
    assert home == seed
    assert home.splitlines() == [
        "from capfence import CapFenceTool, ActionRuntime",
        'runtime = ActionRuntime.from_policy("policies/shell_rollout.yaml")',
        'safe_tool = CapFenceTool(tool=my_tool, agent_id="prod-agent", capability="shell.execute", gate=runtime)',
    ]


def test_every_python_block_is_found():
    """Blocks with attributes (```python title="x.py"```, or indented in a list) would be missed by BLOCKS: there are none."""
    for doc in DOCS:
        fences = [
            f.strip()
            for f in re.findall(r"^[ \t]*```[ \t]*(?:python|py)\b.*$", doc.read_text(), flags=re.MULTILINE)
        ]
        plain = [f for f in fences if f == "```python"]
        found = [b for b in BLOCKS if b[0] == doc.relative_to(ROOT).as_posix()]
        assert len(plain) == len(found), doc
        assert len(fences) == len(found) or doc.name in {"plugins.md", "writing-an-adapter.md"}, (
            f"{doc}: {fences}"
        )
