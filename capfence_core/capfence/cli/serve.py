"""``capfence serve``: the web console (needs the ``capfence[web]`` extra, imported only when the command runs)."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

from capfence.cli.options import audit_log_option

if TYPE_CHECKING:
    from capfence.web.console import Settings

INSTALL_HINT = "capfence serve needs the web extra: pip install '.[web]' in a checkout of the project"
DEFAULT_LISTEN = "127.0.0.1:8765"
MIN_TOKEN = 16


def _listen(ctx: click.Context, param: click.Parameter, value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536 or not host:
        raise click.BadParameter(f"{value!r} is not HOST:PORT, e.g. {DEFAULT_LISTEN}")
    return host.strip("[]"), int(port)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _require_extra() -> None:
    try:
        import jinja2  # noqa: F401
        import multipart  # type: ignore[import-untyped]  # noqa: F401
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise click.ClickException(INSTALL_HINT) from None


@click.command()
@audit_log_option
@click.option(
    "--policy-dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    metavar="DIR",
    help="Policies the replay page may pick from (and where decision pages look up a rule's file:line).",
)
@click.option(
    "--listen",
    callback=_listen,
    default=DEFAULT_LISTEN,
    show_default=True,
    metavar="HOST:PORT",
    help="Where to listen. Anything but loopback also needs --allow-remote (put TLS in front of it).",
)
@click.option(
    "--read-only", is_flag=True, help="No approve/deny buttons and no approval API: nothing can change state."
)
@click.option(
    "--user",
    metavar="NAME",
    help="Who holds the console's one token, as recorded in approvals (default: $CAPFENCE_APPROVER, else your OS user). "
    'For one token per person set $CAPFENCE_CONSOLE_USERS="alice=TOKEN,bob=TOKEN" instead.',
)
@click.option("--allow-remote", is_flag=True, help="Allow --listen on a non-loopback address.")
@click.option(
    "--allow-host",
    "allow_hosts",
    multiple=True,
    metavar="HOST",
    help="Host header values to accept besides the listen address and localhost (the name people use behind a proxy).",
)
@click.option(
    "--secure-cookies",
    is_flag=True,
    help="Mark cookies Secure (set this when people reach the console over HTTPS).",
)
def serve(
    audit_log: str,
    policy_dir: Path | None,
    listen: tuple[str, int],
    read_only: bool,
    user: str | None,
    allow_remote: bool,
    allow_hosts: tuple[str, ...],
    secure_cookies: bool,
) -> None:
    """Serve the web console: overview, decisions, approvals and replay over an audit log.

    Sign in with the token printed at start, or set $CAPFENCE_CONSOLE_TOKEN to
    choose it ($CAPFENCE_CONSOLE_USERS="alice=TOKEN,bob=TOKEN" gives each person a
    token of their own, recorded under their name). Chat bots and ticketing systems approve or deny through
    POST /api/v1/approvals as clients named in $CAPFENCE_CONSOLE_API_CLIENTS
    ("name=secret,..."), with a bearer secret or an HMAC signature (see the
    console docs). Works on SQLite files and postgresql:// URLs.

    \b
    Examples:
      capfence serve --audit-log audit.db --policy-dir policies
      capfence serve --audit-log postgresql://capfence@db/audit --read-only
      CAPFENCE_CONSOLE_TOKEN=... capfence serve --listen 0.0.0.0:8765 --allow-remote --allow-host console.example.com
    """
    host, port = listen
    if not is_loopback(host) and not allow_remote:
        raise click.UsageError(
            f"--listen {host}:{port} is not a loopback address; add --allow-remote (and put TLS in front)"
        )
    _require_extra()
    settings = _settings(audit_log, policy_dir, read_only, user, host, allow_hosts, secure_cookies)
    _announce(settings, host, port)
    import uvicorn

    from capfence.web.app import create_app

    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning", server_header=False)


def _settings(
    audit_log: str,
    policy_dir: Path | None,
    read_only: bool,
    user: str | None,
    host: str,
    allow_hosts: tuple[str, ...],
    secure_cookies: bool,
) -> Settings:
    from capfence.web.auth import API_CLIENTS_ENV, USERS_ENV, parse_clients, parse_users
    from capfence.web.console import LOOPBACK_HOSTS, Settings

    try:
        clients = parse_clients(os.environ.get(API_CLIENTS_ENV, ""))
        users = parse_users(os.environ.get(USERS_ENV, "")) or {_user(user): _token()}
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    hosts = tuple(dict.fromkeys((*LOOPBACK_HOSTS, host, *allow_hosts)))
    return Settings(
        audit_log=audit_log,
        users=users,
        policy_dir=policy_dir,
        read_only=read_only,
        api_clients=clients,
        allowed_hosts=hosts,
        secure_cookies=secure_cookies,
    )


def _user(name: str | None) -> str:
    from capfence.approvals.approvers import default_identity

    return name or default_identity()


def _token() -> str:
    from capfence.web.auth import new_token, token_from_env

    token = token_from_env()
    if token is not None and len(token) < MIN_TOKEN:
        raise click.ClickException(
            f"$CAPFENCE_CONSOLE_TOKEN must be at least {MIN_TOKEN} characters (or unset it for a random one)"
        )
    return token or new_token()


def _announce(settings: Settings, host: str, port: int) -> None:
    from capfence.web.auth import TOKEN_ENV, USERS_ENV

    shown = f"[{host}]" if ":" in host else host
    mode = " (read-only)" if settings.read_only else ""
    click.echo(f"CapFence console{mode} on http://{shown}:{port}/", err=True)
    if os.environ.get(USERS_ENV) or os.environ.get(TOKEN_ENV):
        click.echo(f"Sign in with your token (${USERS_ENV} or ${TOKEN_ENV}).", err=True)
        return
    (token,) = settings.users.values()
    click.echo(f"Sign in: http://{shown}:{port}/login#token={token}", err=True)
