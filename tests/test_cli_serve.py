"""``capfence serve`` from the core's side: registered lazily, explains the extra when it is missing, loopback by default."""

from __future__ import annotations

import sys

import pytest

from capfence.cli.app import run as run_cli
from capfence.cli.serve import INSTALL_HINT, is_loopback
from test_cli_support import run


def test_serve_is_listed_and_has_help_with_examples():
    assert "serve" in run("--help").stdout
    help_text = run("serve", "--help").stdout
    assert "Examples:" in help_text and "capfence serve --audit-log audit.db" in help_text and "--read-only" in help_text


def test_without_the_web_extra_it_says_how_to_install_it(monkeypatch, capsys, tmp_path):
    for module in ("starlette", "jinja2", "uvicorn", "multipart"):
        monkeypatch.setitem(sys.modules, module, None)  # import fails as if the extra were not installed
    with pytest.raises(SystemExit) as exited:
        run_cli(["serve", "--audit-log", str(tmp_path / "audit.db")])
    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert err.strip() == f"capfence: error: {INSTALL_HINT}" and err.count("\n") == 1


def test_a_public_address_needs_allow_remote(capsys, tmp_path):
    with pytest.raises(SystemExit) as exited:
        run_cli(["serve", "--audit-log", str(tmp_path / "audit.db"), "--listen", "0.0.0.0:8765"])
    assert exited.value.code == 2 and "--allow-remote" in capsys.readouterr().err


@pytest.mark.parametrize(("host", "loopback"), [("127.0.0.1", True), ("::1", True), ("localhost", True), ("127.8.0.1", True),
                                                 ("0.0.0.0", False), ("10.0.0.5", False), ("example.com", False)])
def test_loopback(host, loopback):
    assert is_loopback(host) is loopback


def test_bad_listen_value_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exited:
        run_cli(["serve", "--listen", "8765"])
    assert exited.value.code == 2 and "HOST:PORT" in capsys.readouterr().err


def test_a_short_token_is_refused(monkeypatch, capsys, tmp_path):
    pytest.importorskip("starlette")
    monkeypatch.setenv("CAPFENCE_CONSOLE_TOKEN", "short")
    with pytest.raises(SystemExit) as exited:
        run_cli(["serve", "--audit-log", str(tmp_path / "audit.db")])
    assert exited.value.code == 1 and "at least 16 characters" in capsys.readouterr().err
