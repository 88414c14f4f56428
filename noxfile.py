"""CapFence's development sessions. ``nox -l`` lists them; plain ``nox`` runs the default set."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_existing_virtualenvs = True
ROOT = Path(__file__).parent
PYTHONS = ("3.11", "3.12", "3.13")
"""The Python versions the project claims (pyproject's classifiers): ``tests`` runs on nox's own (3.11 in CI), ``tests-3.12``
and ``tests-3.13`` on the others (``policy/saferegex.py`` leans on CPython's private ``re._parser``)."""


def interpreter(version: str) -> str | None:
    """A working interpreter for ``version``: the newest pyenv install of it, else ``pythonX.Y`` on the PATH if it runs.

    (pyenv's shims answer only for its selected versions: ``python3.12`` may be on the PATH and fail.)
    """
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    found = [
        path for path in root.glob(f"versions/{version}.*/bin/python{version}") if os.access(path, os.X_OK)
    ]
    if found:
        return str(max(found, key=lambda path: [int(n) for n in path.parts[-3].split(".") if n.isdigit()]))
    on_path = shutil.which(f"python{version}")
    if (
        on_path is not None
        and subprocess.run([on_path, "-c", ""], capture_output=True, check=False).returncode == 0
    ):
        return on_path
    return None


INTERPRETERS = {version: interpreter(version) for version in PYTHONS[1:]}
"""The other Pythons, where this machine has them (no package registry it reaches ships CPython)."""
if missing := [version for version, path in INTERPRETERS.items() if path is None]:
    print(
        f"noxfile: no Python {', '.join(missing)} here (no pyenv install, no working python3.x on the PATH): "
        f"{', '.join(f'tests-{v}' for v in missing)} cannot run",
        file=sys.stderr,
    )
# tests-3.12 and tests-3.13 are not in the default set: CI (.ci/run) runs them beside it, each suite being one
# process on a 2-core machine, which keeps CI within its time (run them with `nox -s tests-3.12 tests-3.13`)
nox.options.sessions = [
    "tests",
    "shell_full_route",
    "web",
    "lint",
    "typecheck",
    "policies",
    "adapters",
    "examples",
    "docs",
]
ADAPTERS = sorted(p.parent.name for p in ROOT.glob("adapters/*/pyproject.toml"))
EXAMPLE_PACKAGES = sorted(f"examples/{p.parent.name}" for p in ROOT.glob("examples/*/pyproject.toml"))
FRAMEWORK_ENV = {
    "CREWAI_DISABLE_TELEMETRY": "true",
    "CREWAI_TRACING_ENABLED": "false",
    "OTEL_SDK_DISABLED": "true",
    "CREWAI_STORAGE_DIR": str(ROOT / ".nox" / "crewai-storage"),
}


def pytest_args(default: str | list[str], posargs: list[str]) -> list[str]:
    """``posargs`` for pytest, after ``default`` unless they name a test path themselves (``nox -s tests -- tests/cli/test_x.py``).

    A path (``tests/policy/shell``, ``tests/cli/test_x.py``, ``tests/cli/test_x.py::test_y``) replaces the default; options alone
    (``-k logs -x``) keep it.
    """
    defaults = [default] if isinstance(default, str) else default
    return list(posargs) if names_a_path(posargs) else [*defaults, *posargs]


def names_a_path(posargs: list[str]) -> bool:
    """Whether ``posargs`` name a test file or directory (``tests/cli/test_x.py``, ``tests/cli/test_x.py::test_y``)."""
    return any(not arg.startswith("-") and (ROOT / arg.split("::", 1)[0]).exists() for arg in posargs)


@nox.session
def tests(session: nox.Session) -> None:
    """Core test suite (no framework, no web extra): policy, evaluator, audit (SQLite and real PostgreSQL), runtime, CLI."""
    core_tests(session)


def core_tests(session: nox.Session) -> None:
    session.install("-e", ".[test,postgres]")
    # tests/web: the web session
    session.run("pytest", *pytest_args(["tests", "--ignore=tests/web"], session.posargs))


def _tests_on(version: str) -> None:
    @nox.session(name=f"tests-{version}", python=INTERPRETERS[version] or version)
    def tests_on(session: nox.Session) -> None:
        core_tests(session)

    tests_on.__doc__ = f"The core test suite (as ``tests``) on Python {version}."


for _version in PYTHONS[1:]:
    _tests_on(_version)

SHELL_TESTS = [
    "tests/policy/shell",
    *(f"tests/policy/{name}.py" for name in ("test_packs", "test_plan", "test_evaluator_table")),
    *(f"tests/policy/{name}.py" for name in ("test_policy_validation", "test_large_payloads")),
    "tests/audit/test_provenance.py",
    "tests/offline/test_policy_tests.py",
]
"""The tests of the shell matcher and of the policies and packs that use it."""


@nox.session
def shell_full_route(session: nox.Session) -> None:
    """The shell matcher's tests with every shortcut off (CAPFENCE_SHELL_SHORTCUTS=off): each decision by the full route.

    Tests marked ``shortcuts`` (of the shortcuts themselves, or comparing them with the full route) turn the shortcuts
    back on for themselves, so they would run here exactly as in ``tests``: they are left out.
    """
    session.install("-e", ".[test]")
    env = {"CAPFENCE_SHELL_SHORTCUTS": "off"}
    session.run("pytest", *pytest_args([*SHELL_TESTS, "-m", "not shortcuts"], session.posargs), env=env)


@nox.session
def web(session: nox.Session) -> None:
    """The web console (``capfence[web]``): unit tests, PostgreSQL, and real-browser tests (Debian's chromium + chromium-driver)."""
    session.install("-e", ".[test,postgres,web,web-test]")
    session.run("pytest", *pytest_args("tests/web", session.posargs))


ADAPTER_EXTRAS = {"mcp": ["-e", "adapters/llamaindex"], "otel": ["-e", "adapters/langchain[agent]"]}
"""Other adapters of this repository an adapter's tests need (MCP tools loaded into LlamaIndex; a LangChain agent traced)."""
NODE_PACKAGES = {"mcp": ["@modelcontextprotocol/server-filesystem@2026.8.31"]}
"""npm packages an adapter's tests run, pinned; installed under .nox/<adapter>-node (path in $CAPFENCE_TEST_NODE_PREFIX)."""


@nox.session(name="adapters")
@nox.parametrize("adapter", ADAPTERS)
def adapters(session: nox.Session, adapter: str) -> None:
    """Each framework adapter in its own virtualenv: its own tests, then mypy if its pyproject configures it."""
    session.install("-e", ".[test]", "-e", f"adapters/{adapter}[test]", *ADAPTER_EXTRAS.get(adapter, []))
    env = dict(FRAMEWORK_ENV)
    # its tests are about the SDK recording (the frameworks' own telemetry stays off elsewhere)
    if adapter == "otel":
        env.pop("OTEL_SDK_DISABLED")
    if adapter in NODE_PACKAGES:
        prefix = ROOT / ".nox" / f"{adapter}-node"
        session.run(
            "npm",
            "install",
            "--no-audit",
            "--no-fund",
            "--prefix",
            str(prefix),
            *NODE_PACKAGES[adapter],
            external=True,
        )
        env["CAPFENCE_TEST_NODE_PREFIX"] = str(prefix)
    session.run("pytest", *pytest_args(f"adapters/{adapter}/tests", session.posargs), env=env)
    if "mypy" in nox.project.load_toml(f"adapters/{adapter}/pyproject.toml").get("tool", {}):
        session.install("mypy", "types-PyYAML")
        with session.chdir(f"adapters/{adapter}"):
            session.run("mypy")


@nox.session
def lint(session: nox.Session) -> None:
    """Ruff over the whole repository."""
    session.install("ruff")
    session.run("ruff", "check", ".")
    # one width (110) for everyone: run `ruff format` before committing
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the core package (the web console included, so its extra is installed) and tests/support."""
    session.install("-e", ".[test,postgres,web]", "mypy", "types-PyYAML")
    session.run("mypy")


@nox.session
def policies(session: nox.Session) -> None:
    """Validate and lint every shipped policy with ``capfence check``."""
    session.install("-e", ".")
    files = sorted(str(p) for p in ROOT.glob("policies/**/*.yaml"))
    session.run("capfence", "check", *files)


EXAMPLE_FRAMEWORKS = {
    "plain": ["-e", ".", "pytest", *(arg for path in EXAMPLE_PACKAGES for arg in ("-e", path))],
    "langchain": ["-e", ".", "-e", "adapters/langchain[agent]", "pytest"],
    "llamaindex": ["-e", ".", "-e", "adapters/llamaindex", "pytest"],
    "crewai": ["-e", ".", "-e", "adapters/crewai", "pytest"],
}
"""What each group of examples needs installed (the markers of examples/test_examples.py); one virtualenv each."""


@nox.session
@nox.parametrize("framework", list(EXAMPLE_FRAMEWORKS))
def examples(session: nox.Session, framework: str) -> None:
    """Run the examples offline and check what they print, one virtualenv per framework (plain: no framework)."""
    session.install(*EXAMPLE_FRAMEWORKS[framework])
    session.run(
        "pytest",
        *pytest_args("examples/test_examples.py", session.posargs),
        "-m",
        framework,
        env=FRAMEWORK_ENV,
    )
    # the example plugin packages' own tests (the adapter contract suite)
    if framework == "plain" and not names_a_path(session.posargs):
        session.run("pytest", *EXAMPLE_PACKAGES, *session.posargs)


@nox.session
def demo(session: nox.Session) -> None:
    """The main demo: observe -> tune -> simulate -> enforce on a LangChain agent, offline (works in ./capfence-demo/)."""
    session.install("-e", ".", "-e", "adapters/langchain[agent]")
    session.run("python", "examples/langchain_rollout/demo.py", *session.posargs)


DOCS_PACKAGES = ["mkdocs==1.6.1", "mkdocs-material==9.8.2", "pillow"]
"""The site's builder and theme, pinned (Material for MkDocs brings pymdown-extensions); pillow reads the screenshots."""


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation site (Material for MkDocs, strict: broken links fail), then check its home page in Chromium."""
    session.install(*DOCS_PACKAGES)
    site = ROOT / ".nox" / "site"
    session.run("mkdocs", "build", "--strict", "--site-dir", str(site), env={"NO_MKDOCS_2_WARNING": "1"})
    screenshots = ROOT / ".nox" / "docs-screenshots"
    session.run("python", "tests/docs_site_check.py", str(site), str(screenshots))
    session.log(f"site built in {site} (open {site / 'index.html'}); home page screenshots in {screenshots}")


@nox.session(default=False)
def bench(session: nox.Session) -> None:
    """Benchmarks (not tests): print ratios against baselines measured in the same run (bench_stores starts its own PostgreSQL)."""
    # bench_mcp_proxy needs the MCP adapter, bench_console the web extra, bench_otel the plugin
    session.install("-e", ".[postgres,web,web-test,fast]", "-e", "adapters/mcp", "-e", "adapters/otel[sdk]")
    for script in sorted(ROOT.glob("benchmarks/bench_*.py")):
        # the others measure the core alone
        blocked = {} if script.name == "bench_otel.py" else {"CAPFENCE_BLOCK_PLUGINS": "otel"}
        session.run("python", str(script), *session.posargs, env=blocked)
