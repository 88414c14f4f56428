"""``capfence serve`` from the core's side: registered lazily, explains the extra when it is missing, loopback by default.

Every test runs the real executable (in-process runs would leave click's cached help options on the
shared command objects, which the CLI reference test renders).
"""

from __future__ import annotations

import pytest

from capfence.cli.serve import INSTALL_HINT, is_loopback
from tests.support.cli import run


def test_serve_is_listed_and_has_help_with_examples():
    assert "serve" in run("--help").stdout
    help_text = run("serve", "--help").stdout
    assert (
        "Examples:" in help_text
        and "capfence serve --audit-log audit.db" in help_text
        and "--read-only" in help_text
    )


def test_without_the_web_extra_it_says_how_to_install_it(tmp_path):
    shadow = tmp_path / "shadow"
    # import fails as if the extra were not installed
    for module in ("starlette", "jinja2", "uvicorn", "multipart"):
        (shadow / module).mkdir(parents=True)
        (shadow / module / "__init__.py").write_text("raise ImportError('not installed')\n")
    done = run("serve", "--audit-log", tmp_path / "audit.db", env={"PYTHONPATH": str(shadow)}, check=1)
    assert done.stderr == f"capfence: error: {INSTALL_HINT}\n"


def test_a_public_address_needs_allow_remote(tmp_path):
    done = run("serve", "--audit-log", tmp_path / "audit.db", "--listen", "0.0.0.0:8765", check=2)
    assert "--allow-remote" in done.stderr and done.stderr.count("\n") == 1


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("localhost", True),
        ("127.8.0.1", True),
        ("0.0.0.0", False),
        ("10.0.0.5", False),
        ("example.com", False),
    ],
)
def test_loopback(host, loopback):
    assert is_loopback(host) is loopback


def test_bad_listen_value_is_a_usage_error():
    assert "HOST:PORT" in run("serve", "--listen", "8765", check=2).stderr


def test_a_short_token_is_refused(tmp_path):
    pytest.importorskip("starlette")
    done = run(
        "serve", "--audit-log", tmp_path / "audit.db", env={"CAPFENCE_CONSOLE_TOKEN": "short"}, check=1
    )
    assert "at least 16 characters" in done.stderr
