"""``capfence logs``: recorded decisions as a table, JSON, a summary, or a live feed."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import IO, Any

import click

from capfence.audit.partitions import STRIDE
from capfence.audit.query import Filters
from capfence.audit.reader import AuditReader, ChainHeads, Record
from capfence.cli.options import audit_log_option, filter_options, filters_from, format_option


@click.command()
@audit_log_option
@filter_options
@click.option(
    "--limit",
    "-n",
    type=click.IntRange(min=0),
    default=100,
    show_default=True,
    help="Show the newest N decisions (0 for all).",
)
@format_option("table", "json", "jsonl")
@click.option(
    "--wide",
    "-w",
    is_flag=True,
    help="Show every column and every value in full (the table is cut to the terminal's width).",
)
@click.option(
    "--summary",
    is_flag=True,
    help="Counts per capability × decision × rule, first/last seen, and calls no rule matched.",
)
@click.option(
    "--follow", "-f", is_flag=True, help="Keep printing new decisions as they are recorded (Ctrl-C to stop)."
)
@click.option(
    "--interval",
    type=click.FloatRange(min=0.05),
    default=0.5,
    show_default=True,
    help="Seconds between polls with --follow.",
)
@click.option(
    "--no-pager", is_flag=True, help="Do not page the output on a terminal ($PAGER, else less; as git does)."
)
@click.option(
    "--shadow",
    is_flag=True,
    help="Only calls a shadow rule (mode: shadow) would decide differently, shown as recorded -> would-be decision.",
)
def logs(
    audit_log: str,
    limit: int,
    fmt: str,
    wide: bool,
    summary: bool,
    follow: bool,
    interval: float,
    no_pager: bool,
    **filter_params: Any,
) -> None:
    """Show recorded decisions, oldest first, newest last.

    Times are local. A warn is printed WARN (and deny DENY, require_approval
    APPROVAL) so it never reads like an allow. The table fits the terminal:
    a value cut to fit ends in '…' and hidden columns are named below it;
    --wide shows everything. On a terminal the output goes through a pager
    ($PAGER, else 'less'), as git does; --no-pager or PAGER=cat turn it off.

    \b
    Examples:
      capfence logs --audit-log audit.db
      capfence logs --decision warn --capability 'shell.*' --since 1h
      capfence logs -n 0 --wide
      capfence logs --summary --since 2d
      capfence logs --format jsonl --agent 'prod-*' | jq .payload
      capfence logs --follow
      capfence logs --shadow --since 1d      # what enforcing the shadow rules would change
    """
    from capfence.cli.pager import paged
    from capfence.cli.registry import open_log

    filters = filters_from(filter_params)
    with open_log(audit_log) as reader:
        if summary:
            from capfence.cli.summary import print_summary

            print_summary(reader.summary(filters), fmt)
        elif follow:
            # where each chain ends, read before the newest rows
            heads = reader.heads() if isinstance(reader, ChainHeads) else None
            rows = list(_shown(reader.decisions(filters, limit=limit or None), filters))
            _follow(reader, filters, rows, heads, fmt, wide, interval)
        else:
            with paged(enabled=not no_pager) as out:
                _print(
                    _shown(reader.decisions(filters, limit=limit or None), filters),
                    fmt,
                    out,
                    wide,
                    limit or None,
                )


def _shown(rows: Iterable[Record], filters: Filters) -> Iterator[Record]:
    """The rows as printed: with ``--shadow``, each with its shadow verdict (:func:`shadow_row`)."""
    return map(shadow_row, rows) if filters.shadow else iter(rows)


def shadow_row(row: Record) -> Record:
    """A record with a shadow verdict as ``logs --shadow`` shows it: ``allow -> deny``, the shadow rule and its reason."""
    try:
        found = json.loads(str(row.get("detail") or "{}")).get("shadow") or {}
    except ValueError:
        found = {}
    if "decision" not in found:
        return row
    shown = dict(row)
    shown.update(
        shadow_decision=found["decision"], shadow_rule=found.get("rule"), shadow_reason=found.get("reason")
    )
    return shown


def _print(rows: Iterator[Record], fmt: str, out: IO[str], wide: bool, limit: int | None) -> None:
    if fmt == "table":
        from capfence.cli.logs_table import print_table

        print_table(rows, out, wide=wide, limit=limit)
    elif fmt == "json":
        _print_json(rows, out)
    else:
        _print_jsonl(rows, out)


def _print_json(rows: Iterable[Record], out: IO[str]) -> None:
    """One JSON array, written record by record (memory does not grow with the log)."""
    from capfence.audit.export import json_record

    separator = "[\n"
    for row in rows:
        text = json.dumps(json_record(row), ensure_ascii=False, indent=2)
        out.write(separator + "  " + text.replace("\n", "\n  "))
        separator = ",\n"
    out.write("[]\n" if separator == "[\n" else "\n]\n")


def _print_jsonl(rows: Iterable[Record], out: IO[str]) -> None:
    from capfence.audit.export import dumps, json_record

    for row in rows:
        out.write(dumps(json_record(row)) + "\n")
    out.flush()


def _follow(
    reader: AuditReader,
    filters: Filters,
    rows: list[Record],
    heads: dict[int, int] | None,
    fmt: str,
    wide: bool,
    interval: float,
) -> None:
    """The newest rows, then every new one as it is recorded: the same table as without --follow (or JSON Lines).

    ``heads``: where each chain ended before ``rows`` were read (:class:`~capfence.audit.reader.ChainHeads`); each
    poll then reads what every chain committed since, so a record that committed late is not skipped.
    """
    from capfence.cli.logs_table import cells, open_table

    table = open_table(sys.stdout, [cells(row) for row in rows], wide, roomy=True) if fmt == "table" else None
    # rows committed after ``heads`` were read come again in the first poll
    shown = {int(row["seq"]) for row in rows}
    last = 0
    while True:
        for row in rows:
            if table is not None:
                table.row(cells(row), str(row.get("decision") or ""))
            else:
                _print_jsonl([row], sys.stdout)
            # the last row in the reader's order (a partitioned log's seq is not its order)
            last = int(row["seq"])
        sys.stdout.flush()
        time.sleep(interval)
        if heads is None:
            rows = list(_shown(reader.decisions(replace(filters, after_seq=last)), filters))
            continue
        assert isinstance(reader, ChainHeads)
        now = reader.heads()
        ranges = tuple(
            (heads.get(chain, chain * STRIDE), end)
            for chain, end in now.items()
            if end > heads.get(chain, chain * STRIDE)
        )
        heads = now
        found = reader.decisions(replace(filters, seq_ranges=ranges)) if ranges else iter(())
        rows = [row for row in _shown(found, filters) if int(row["seq"]) not in shown]
        shown = set()
