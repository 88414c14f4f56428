"""Options several commands share: where the audit log is, which records, which output format."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from capfence.audit.query import DECISIONS, Filters, parse_when

if TYPE_CHECKING:
    from capfence.policy.compiled import Policy

AUDIT_ENV = "CAPFENCE_AUDIT_LOG"
F = TypeVar("F", bound=Callable[..., Any])


def default_audit_log() -> str:
    return os.environ.get(AUDIT_ENV) or "audit.db"


def audit_log_option(func: F) -> F:
    """``--audit-log PATH`` for commands that read the log, defaulting to ``$CAPFENCE_AUDIT_LOG`` or ``./audit.db``."""
    return audit_log_option_for("The audit log (SQLite file) to read.")(func)


def audit_log_option_for(help: str) -> Callable[[F], F]:
    """``--audit-log PATH`` with its own ``help`` (e.g. for commands that write to the log)."""
    return click.option(
        "--audit-log",
        "audit_log",
        default=default_audit_log,
        metavar="PATH",
        show_default="$CAPFENCE_AUDIT_LOG or ./audit.db",
        help=help,
    )


def _decisions(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> tuple[str, ...]:
    out: list[str] = []
    for item in value:
        for name in filter(None, (part.strip() for part in item.split(","))):
            if name not in DECISIONS:
                raise click.BadParameter(f"{name!r} is not one of {', '.join(DECISIONS)}")
            out.append(name)
    return tuple(dict.fromkeys(out))


def _when(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return parse_when(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def filter_options(func: F) -> F:
    """``--decision``, ``--agent``, ``--capability``, ``--tool``, ``--since``, ``--until``."""
    options = [
        click.option(
            "--decision",
            "decision",
            multiple=True,
            callback=_decisions,
            metavar="DECISION",
            help="Only these decisions: allow, warn, deny, require_approval (repeat or comma-separate).",
        ),
        click.option(
            "--agent", metavar="GLOB", help="Only agents matching this name or glob, e.g. 'prod-*'."
        ),
        click.option(
            "--capability",
            metavar="GLOB",
            help="Only capabilities matching this name or glob, e.g. 'shell.*'.",
        ),
        click.option("--tool", metavar="GLOB", help="Only tools matching this name or glob."),
        click.option(
            "--since",
            callback=_when,
            metavar="WHEN",
            help="From this time on: 1h, 2d, 30m (ago) or an ISO time (local unless it has a zone).",
        ),
        click.option(
            "--until", callback=_when, metavar="WHEN", help="Before this time (same forms as --since)."
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def filters_from(params: dict[str, Any]) -> Filters:
    """The :class:`Filters` for a command's parsed filter options."""
    return Filters(
        decisions=params.get("decision") or (),
        agent=params.get("agent"),
        capability=params.get("capability"),
        tool=params.get("tool"),
        since=params.get("since"),
        until=params.get("until"),
        shadow=bool(params.get("shadow")),
    )


def format_option(*choices: str, default: str | None = None) -> Callable[[F], F]:
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(choices),
        default=default or choices[0],
        show_default=True,
        help="Output format.",
    )


def load_policy_file(path: Path) -> Policy:
    """Load a policy for a command; an invalid one is a one-line error pointing at ``capfence check``."""
    from capfence.cli.registry import read_policy
    from capfence.errors import PolicyError

    try:
        return read_policy(path)
    except PolicyError as exc:
        raise click.ClickException(f"{exc} (run 'capfence check {path}' for every problem)") from None
