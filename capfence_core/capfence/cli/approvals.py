"""``capfence approvals``: list, show, approve and deny held calls.

Decisions go through :class:`capfence.approvals.requests.Approvals`, the same state
machine the runtime uses: single-use, digest-bound, first decider wins, and
every transition is an audit record.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import click

from capfence.cli.options import audit_log_option, audit_log_option_for, format_option
from capfence.cli.table import Column

if TYPE_CHECKING:
    from capfence.approvals.requests import ApprovalRequest, Approvals

STATUSES = ("pending", "approved", "denied", "expired", "consumed")


def _queue(audit_log: str) -> Approvals:
    from capfence.approvals.requests import Approvals
    from capfence.audit.store import transactional
    from capfence.cli.registry import open_log_store
    from capfence.errors import AuditError

    if "://" not in audit_log and not Path(audit_log).is_file():
        raise AuditError(f"audit log {audit_log} does not exist")
    store = transactional(open_log_store(audit_log))
    if store is None:
        raise AuditError(f"the audit store {audit_log} does not support approvals")
    return Approvals(store)


def _as_dict(request: ApprovalRequest) -> dict[str, object]:
    """The request; ``payload`` is the bound arguments' canonical text, parsed when it is plain JSON.

    Arguments that are not plain JSON (bytes, tuples, non-string keys, ...) stay
    text in their lossless form (``payload_form: "canonical"``) rather than be
    shown as a JSON value that is not what will run.
    """
    data = asdict(request)
    try:
        data["payload"], data["payload_form"] = json.loads(request.payload), "json"
    except ValueError:
        data["payload_form"] = "canonical"
    return data


@click.group()
def approvals() -> None:
    """Decide calls held by require_approval rules.

    \b
    Examples:
      capfence approvals list --status pending --audit-log audit.db
      capfence approvals approve apr_1a2b3c4d5e6f7a8b --as alice --comment "ticket OPS-12"
    """


@approvals.command("list")
@audit_log_option
@click.option("--status", type=click.Choice(STATUSES), help="Only requests in this state.")
@format_option("table", "json")
def list_requests(audit_log: str, status: str | None, fmt: str) -> None:
    """List approval requests, oldest first.

    \b
    Example:
      capfence approvals list --status pending --audit-log audit.db
    """
    requests = _queue(audit_log).list(status)
    if fmt == "json":
        click.echo(json.dumps([_as_dict(r) for r in requests], indent=2))
        return
    if not requests:
        click.echo("No approval requests" + (f" with status {status}." if status else "."))
        return
    _table(requests)


LIST_COLUMNS = (
    Column("id", cap=20),
    Column("status", cap=9),
    Column("decided by", cap=16),
    Column("agent", cap=16),
    Column("tool", cap=16),
    Column("capability", cap=20),
    Column("expires", cap=19),
    Column("payload", flexible=True, least=20),
)


def _table(requests: list[ApprovalRequest]) -> None:
    """One row per request, under a header; a value cut to fit ends in '…' (--format json has everything)."""
    from capfence.cli.output import local_time
    from capfence.cli.table import StreamTable, one_line, plan, terminal_width

    rows = [
        (
            r.id,
            r.status,
            r.decided_by or "-",
            r.agent_id or "-",
            r.tool or "-",
            r.capability,
            local_time(r.expires),
            one_line(r.payload),
        )
        for r in requests
    ]
    table = StreamTable(
        sys.stdout, LIST_COLUMNS, plan(LIST_COLUMNS, rows, terminal_width(), ("tool", "decided by", "agent"))
    )
    table.header()
    for row in rows:
        table.row(row)


@approvals.command("show")
@click.argument("request_id")
@audit_log_option
@format_option("text", "json")
def show(request_id: str, audit_log: str, fmt: str) -> None:
    """Show one approval request in full: exactly what will run if approved, and where.

    The payload (the call's arguments) is shown in its lossless form: plain
    JSON as JSON, other values tagged (b'..' bytes, (..) tuples); arguments
    over 1 MiB as a marked preview plus the SHA-256 of their full text.

    \b
    Example:
      capfence approvals show apr_1a2b3c4d5e6f7a8b --audit-log audit.db
    """
    queue = _queue(audit_log)
    request = queue.get(request_id)
    environment = queue.environment(request)
    if fmt == "json":
        click.echo(json.dumps({**_as_dict(request), "environment": environment}, indent=2))
        return
    for key, value in asdict(request).items():
        # the payload verbatim: what will run
        click.echo(f"{key + ':':<14} {value if value is not None else '-'}")
        if key == "capability":
            click.echo(f"{'environment:':<14} {environment or '-'}")


def _decide(verb: str, request_id: str, audit_log: str, comment: str | None, who: str | None) -> None:
    from capfence.approvals.approvers import default_identity

    queue = _queue(audit_log)
    request = getattr(queue, verb)(request_id, by=who or default_identity(), comment=comment)
    click.echo(f"{request.id} {request.status} by {request.decided_by}")


def _decision_command(verb: str, doc: str) -> click.Command:
    @click.command(verb, help=doc)
    @click.argument("request_id")
    @audit_log_option_for("The audit log (SQLite file) holding the request; the decision is recorded in it.")
    @click.option("--comment", help="Why (recorded with the decision).")
    @click.option(
        "--as",
        "who",
        metavar="NAME",
        help="Who decides (default: $CAPFENCE_APPROVER, else your OS user name).",
    )
    def command(request_id: str, audit_log: str, comment: str | None, who: str | None) -> None:
        _decide(verb, request_id, audit_log, comment, who)

    return command


approvals.add_command(
    _decision_command(
        "approve",
        """Approve a pending request: the identical call may then run once.

\b
Example:
  capfence approvals approve apr_1a2b3c4d5e6f7a8b --as alice --comment "ticket OPS-12"
""",
    )
)
approvals.add_command(
    _decision_command(
        "deny",
        """Deny a pending request: the identical call is denied from now on.

\b
Example:
  capfence approvals deny apr_1a2b3c4d5e6f7a8b --as alice --comment "not during the freeze"
""",
    )
)
