"""Code fetched or written, then run, in one command: ``git clone URL && make -C x``, ``curl -O URL/conftest.py && pytest``.

A build or test runner (``make``, ``pytest``, ``npm run``, ``cargo``, ...) runs the project's own code, and the catalogue
allows it for that reason: the project is what the agent works on. That no longer holds for code the same command has
just fetched (a clone, a download, a pull) or written (``printf ... > Makefile``, a here-document): the runner then runs
code nobody has looked at, as ``curl URL | sh`` does. Such a runner is held, with what came before it; a runner alone,
or after commands that only read, is judged as usual. Both routes use :func:`fetches` and :data:`RUNS_PROJECT_CODE`:
the full judgement (:func:`capfence.policy.shell.known.why_held_each`) and the sketch of plain lists
(:mod:`capfence.policy.shell.sketch`), which must not call such a list known from its words alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from capfence.policy.shell.programs import DOWNLOADERS

RUNS_PROJECT_CODE: Final = frozenset(
    {
        *("make", "gmake", "bmake", "cmake", "ninja", "meson", "scons", "bazel", "bazelisk", "buck", "buck2"),
        *("pytest", "py.test", "tox", "nox", "hatch", "pdm", "poetry", "pipenv", "rye", "uv", "pip", "pip3"),
        *("npm", "pnpm", "yarn", "bun", "npx", "deno", "jest", "mocha", "vitest", "karma", "ava", "tap"),
        *("cargo", "go", "gradle", "gradlew", "mvn", "mvnw", "ant", "sbt", "lein", "mix", "rebar3", "dotnet"),
        *("rake", "bundle", "gem", "composer", "phpunit", "swift", "xcodebuild", "just", "task", "mage"),
        *("configure", "autoreconf", "rspec", "rails", "artisan"),
    }
)
"""Programs whose every use runs the project's code (its build files, tests, scripts or hooks)."""

_VCS_FETCHES: Final = {
    "git": frozenset(
        {"clone", "pull", "fetch", "submodule", "checkout", "switch", "merge", "rebase", "am", "apply"}
    ),
    "svn": frozenset({"checkout", "co", "update", "up", "export", "switch"}),
    "hg": frozenset({"clone", "pull", "update", "up", "import"}),
}
"""Subcommands that bring in code from elsewhere (another repository, a branch, a patch)."""
_REMOTE_COPIERS: Final = frozenset({"scp", "rsync", "sftp"})
TEXT_WRITERS: Final = frozenset(
    {
        "echo",
        "printf",
        "cat",
        "tee",
        "base64",
        "xxd",
        "openssl",
        "gzip",
        "zcat",
        "gunzip",
        "sed",
        "awk",
        "tr",
        "rev",
    }
)
"""Programs whose output redirected into a file is text the command itself gave (``printf 'all: ...' > Makefile``)."""
_CODE_SUFFIXES: Final = (
    *(
        ".py",
        ".js",
        ".mjs",
        ".cjs",
        ".ts",
        ".json",
        ".toml",
        ".ini",
        ".cfg",
        ".mk",
        ".sh",
        ".go",
        ".rs",
        ".rb",
    ),
    *(
        ".gradle",
        ".kts",
        ".xml",
        ".yml",
        ".yaml",
        ".php",
        ".pl",
        ".cmake",
        ".java",
        ".c",
        ".h",
        ".cc",
        ".cpp",
    ),
)
_CODE_NAMES: Final = frozenset(
    {"makefile", "gnumakefile", "rakefile", "gemfile", "justfile", "taskfile", "dockerfile", "cmakelists.txt"}
)


def code_file(path: str) -> bool:
    """A file a build or test runner may read as code or configuration (``Makefile``, ``conftest.py``, ``package.json``)."""
    name = path.rsplit("/", 1)[-1].casefold()
    return name in _CODE_NAMES or name.endswith(_CODE_SUFFIXES)


def fetches(name: str, words: Sequence[str]) -> bool:
    """Whether ``name`` run with ``words`` brings files from elsewhere into the tree: a download, a clone or pull, a copy
    from another machine, an archive or package unpacked. Decided from the words alone, the same on both routes."""
    if name in DOWNLOADERS:
        return True
    subs = _VCS_FETCHES.get(name)
    if subs is not None:
        return any(word in subs for word in words)
    if name in _REMOTE_COPIERS:
        return any(":" in word and not word.startswith("-") for word in words)
    return False
