"""No install command in the repository asks a package index for one of our distributions.

CapFence's distributions (``capfence`` and the ``capfence-*`` adapters) are installed from a
checkout; they are not on PyPI, and the name ``capfence`` there belongs to an unrelated project, so
``pip install capfence`` (or ``capfence-langchain``, whose ``capfence`` requirement pip would then
fetch) installs the wrong thing. Every install command in the docs, the READMEs, the examples and
the code's messages must name local paths instead, and a command that installs an adapter from
the checkout must name the core (``./``) too.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest

from tests.support.paths import ROOT

SUFFIXES = {".md", ".py", ".toml", ".yaml", ".yml", ".txt", ".cfg", ".ini", ""}
INSTALLERS = re.compile(
    r"\b(?:uv\s+pip\s+install|pip3?\s+install|pipx\s+install|uv\s+add|poetry\s+add|pdm\s+add)\b(?P<args>[^\n`#;|&)]*)"
)
"""An install command and its arguments, up to the end of the line, a comment, a closing backtick or a shell separator."""
OURS = re.compile(r"^capfence(?:[-_.][a-z0-9_.-]+)?$")
"""Our distributions' names, normalized (``capfence``, ``capfence-langchain``, ... and third parties' ``capfence-*``)."""
OPTIONS_WITH_VALUE = {
    "-r",
    "--requirement",
    "-c",
    "--constraint",
    "-i",
    "--index-url",
    "--extra-index-url",
    "-f",
    "--find-links",
    "--target",
    "-t",
    "--prefix",
    "--python",
    "-p",
}
CORE_PATHS = {".", "./", "./.", "path/to/capfence-checkout"}


def _files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split("\0")
    here = Path(__file__).resolve()
    return [
        ROOT / name
        for name in listed
        if name and Path(name).suffix in SUFFIXES and (ROOT / name).is_file() and ROOT / name != here
    ]


def _requirements(args: str) -> list[str]:
    """The requirement and path arguments of one install command (options and their values left out)."""
    try:
        words = shlex.split(args, comments=False)
    except ValueError:  # an unbalanced quote in prose: fall back to whitespace
        words = args.split()
    found, skip = [], False
    for word in words:
        if skip:
            skip = False
        elif word in OPTIONS_WITH_VALUE:
            skip = True
        elif word.startswith("-"):
            continue
        elif word.strip("'\"`,.:") and not word.startswith(("<", "$", "{")):
            found.append(word.strip("'\"`,:"))
    return found


def _is_path(word: str) -> bool:
    return word.startswith((".", "/", "~")) or "/" in word


def _name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
    return re.sub(r"[-_.]+", "-", match.group(0)).lower() if match else ""


def _core(word: str) -> bool:
    return re.sub(r"\[.*\]$", "", word) in CORE_PATHS


def install_commands() -> list[tuple[str, int, str]]:
    """Every install command: (file, line number, the command's arguments)."""
    commands = []
    for path in _files():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            for match in INSTALLERS.finditer(line):
                commands.append((path.relative_to(ROOT).as_posix(), number, match.group("args")))
    return commands


def problems(file: str, args: str) -> list[str]:
    """Why an install command cannot work, or nothing."""
    words = _requirements(args)
    found = [
        f"{word!r} would come from a package index: install it from a checkout"
        for word in words
        if not _is_path(word) and OURS.match(_name(word))
    ]
    adapters = [word for word in words if _is_path(word) and re.search(r"(^|/)(adapters|examples)/", word)]
    if file.endswith(".md") and adapters and not any(_core(word) for word in words):
        found.append(
            f"{adapters} without the core (./) in the same command: pip would fetch `capfence` from PyPI"
        )
    return found


COMMANDS = install_commands()


def test_the_scan_finds_the_install_commands() -> None:
    files = {file for file, _, _ in COMMANDS}
    assert {
        "docs/getting-started.md",
        "docs/adapters/langchain.md",
        "adapters/langchain/README.md",
        "examples/README.md",
    } <= files


@pytest.mark.parametrize(("file", "line", "args"), COMMANDS, ids=[f"{f}:{n}" for f, n, _ in COMMANDS])
def test_no_install_command_names_our_distributions_from_an_index(file: str, line: int, args: str) -> None:
    assert not problems(file, args), f"{file}:{line}: pip install{args}"


@pytest.mark.parametrize(
    "bad",
    [
        "pip install capfence",
        "pip install capfence capfence-langchain",
        "pip install 'capfence-langchain[agent]'",
        "pip install -U capfence_crewai==0.1.0",
        "uv add capfence-mcp",
        "pip install 'capfence[postgres]'",
        "pip install ./adapters/langchain",
    ],
)
def test_the_check_catches_commands_that_cannot_work(bad: str) -> None:
    (match,) = INSTALLERS.finditer(bad)
    assert problems("docs/x.md", match.group("args"))


@pytest.mark.parametrize(
    "good",
    [
        "pip install ./",
        "pip install ./ './adapters/langchain[agent]'",
        "pip install -e ./ -e ./adapters/langchain",
        "pip install '.[postgres]'",
        "pip install -e '.[test,postgres]'",
        "pip install 'psycopg[binary]>=3.2' 'psycopg-pool>=3.2'",
        "python3 -m pip install 'nox[uv]'",
    ],
)
def test_the_check_lets_working_commands_pass(good: str) -> None:
    (match,) = INSTALLERS.finditer(good)
    assert not problems("docs/x.md", match.group("args"))


def test_getting_started_explains_the_install() -> None:
    page = (ROOT / "docs" / "getting-started.md").read_text(encoding="utf-8")
    assert "not published on PyPI" in page and "entry-point group" in page
    assert (
        "pip install ./ './adapters/langchain[agent]'" in page
        and "`[agent]`" in page
        and "langchain.agents" in page
    )
