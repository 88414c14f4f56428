"""``capfence export``: decisions as JSON Lines, streamed."""

from __future__ import annotations

import sys
from typing import Any

import click

from capfence.audit.export import export_file, write_jsonl
from capfence.audit.reader import AuditReader
from capfence.cli.options import audit_log_option, filter_options, filters_from
from capfence.cli.progress import Ticker


@click.command()
@audit_log_option
@filter_options
@click.option(
    "-o",
    "--output",
    default="-",
    metavar="FILE",
    show_default=True,
    help="Where to write (- for standard output).",
)
@click.option(
    "--limit",
    "-n",
    type=click.IntRange(min=0),
    default=0,
    help="Only the newest N decisions (0, the default: all).",
)
@click.option(
    "--all-records",
    is_flag=True,
    help="Every record of every kind (outcomes, approval and policy events too), with its chain fields: for 'capfence import'.",
)
def export(audit_log: str, output: str, limit: int, all_records: bool, **filter_params: Any) -> None:
    """Write recorded decisions as JSON Lines: one object per decision with every recorded field.

    The payload is written as the JSON object it was; "outcome" is what
    happened after the decision. The file is what 'capfence replay' reads.
    Streams (memory does not grow with the log); the output file is
    replaced only once the export is complete.

    \b
    Examples:
      capfence export --audit-log audit.db -o audit.jsonl
      capfence export --decision warn --since 7d -o warned.jsonl
      capfence export --capability 'shell.*' | gzip > shell.jsonl.gz
      capfence export --all-records -o audit-full.jsonl   # then: capfence import
    """
    if all_records and (limit or any(filter_params.values())):
        raise click.UsageError("--all-records exports the whole chain: it takes no filters and no --limit")
    from capfence.cli.registry import open_log

    what = "record(s)" if all_records else "decision(s)"
    with open_log(audit_log) as reader, Ticker("exporting", _total(reader, all_records, limit)) as ticker:
        rows = ticker.counted(
            reader.records()
            if all_records
            else reader.decisions(filters_from(filter_params), limit=limit or None)
        )
        if output == "-":
            count = write_jsonl(rows, sys.stdout)
            sys.stdout.flush()
            click.echo(f"Exported {count} {what}.", err=True)
            return
        count = export_file(rows, output)
    click.echo(f"Exported {count} {what} from {audit_log} to {output}.")


def _total(reader: AuditReader, all_records: bool, limit: int) -> int | None:
    """How many rows the export will write, when known without counting (for the progress bar)."""
    if all_records:
        head = reader.head()
        return head[0] if head is not None else 0
    return limit or None
