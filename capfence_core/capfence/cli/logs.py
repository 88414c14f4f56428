"""``capfence logs``: recorded decisions as a table, JSON, a summary, or a live feed."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import Any

import click

from capfence.audit.query import Filters
from capfence.audit.reader import AuditReader, Record, open_reader
from capfence.cli.options import audit_log_option, filter_options, filters_from, format_option
from capfence.cli.output import console, label, local_time, payload_preview, shorten, style, use_color


@click.command()
@audit_log_option
@filter_options
@click.option("--limit", "-n", type=click.IntRange(min=0), default=100, show_default=True, help="Show the newest N decisions (0 for all).")
@format_option("table", "json", "jsonl")
@click.option("--summary", is_flag=True, help="Counts per capability × decision × rule, first/last seen, and calls no rule matched.")
@click.option("--follow", "-f", is_flag=True, help="Keep printing new decisions as they are recorded (Ctrl-C to stop).")
@click.option("--interval", type=click.FloatRange(min=0.05), default=0.5, show_default=True, help="Seconds between polls with --follow.")
@click.option("--shadow", is_flag=True,
              help="Only calls a shadow rule (mode: shadow) would decide differently, shown as recorded -> would-be decision.")
def logs(audit_log: str, limit: int, fmt: str, summary: bool, follow: bool, interval: float, **filter_params: Any) -> None:
    """Show recorded decisions, oldest first, newest last.

    Times are local. A warn is printed WARN (and deny DENY, require_approval
    APPROVAL) so it never reads like an allow.

    \b
    Examples:
      capfence logs --audit-log audit.db
      capfence logs --decision warn --capability 'shell.*' --since 1h
      capfence logs --summary --since 2d
      capfence logs --format jsonl --agent 'prod-*' | jq .payload
      capfence logs --follow
      capfence logs --shadow --since 1d      # what enforcing the shadow rules would change
    """
    filters = filters_from(filter_params)
    with open_reader(audit_log) as reader:
        if summary:
            from capfence.cli.summary import print_summary

            print_summary(reader.summary(filters), fmt)
            return
        rows = list(reader.decisions(filters, limit=limit or None))
        if filters.shadow:
            rows = [shadow_row(row) for row in rows]
        if follow:
            _follow(reader, filters, rows, fmt, interval)
        else:
            _print(rows, fmt)


def shadow_row(row: Record) -> Record:
    """A record with a shadow verdict as ``logs --shadow`` shows it: ``allow -> deny``, the shadow rule and its reason."""
    try:
        found = json.loads(str(row.get("detail") or "{}")).get("shadow") or {}
    except ValueError:
        found = {}
    if "decision" not in found:
        return row
    shown = dict(row)
    shown.update(shadow_decision=found["decision"], shadow_rule=found.get("rule"), shadow_reason=found.get("reason"))
    return shown


def _print(rows: list[Record], fmt: str) -> None:
    if fmt == "table":
        print_table(rows)
    elif fmt == "json":
        from capfence.audit.export import json_record

        click.echo(json.dumps([json_record(row) for row in rows], ensure_ascii=False, indent=2))
    else:
        _print_jsonl(rows)


def _print_jsonl(rows: Iterable[Record]) -> None:
    from capfence.audit.export import dumps, json_record

    for row in rows:
        sys.stdout.write(dumps(json_record(row)) + "\n")
    sys.stdout.flush()


_FLEXIBLE = {"reason": 48, "payload": 56}
COLUMNS = ("time", "agent", "tool", "capability", "decision", "rule", "outcome", "reason", "payload")


def _cells(row: Record) -> tuple[str, ...]:
    rule = row.get("rule") or ("(failure)" if str(row.get("reason") or "").startswith("internal_error:") else "(default)")
    decision, reason = label(row.get("decision")), str(row.get("reason") or "")
    if row.get("shadow_decision"):
        decision = f"{decision} -> {label(row['shadow_decision'])}"
        rule, reason = f"{rule} -> {row.get('shadow_rule')}", f"shadow: {row.get('shadow_reason')}"
    return (
        local_time(row.get("ts")), row.get("agent_id") or "-", row.get("tool") or "-", row.get("capability") or "-",
        decision, rule, row.get("linked_outcome") or "-", shorten(reason, 60),
        payload_preview(row.get("payload"), truncated=bool(row.get("truncated")), redacted=bool(row.get("redacted"))),
    )


def print_table(rows: list[Record]) -> None:
    """The decisions as a table (a one-line note when there are none)."""
    out = console()
    if not rows:
        out.print("No decisions match.")
        return
    from rich import box
    from rich.table import Table
    from rich.text import Text

    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    all_cells = [_cells(row) for row in rows]
    widths = {name: max(len(name), *(len(c[i]) for c in all_cells)) for i, name in enumerate(COLUMNS)}
    shown = fit_columns(widths, out.width)
    for name in shown:
        if name in _FLEXIBLE:
            table.add_column(name, no_wrap=True, overflow="ellipsis", max_width=_FLEXIBLE[name], ratio=1)
        else:
            table.add_column(name, no_wrap=True, min_width=widths[name])
    for row, texts in zip(rows, all_cells, strict=True):
        cells = {name: Text(cell) for name, cell in zip(COLUMNS, texts, strict=True)}
        cells["decision"].stylize(style(row.get("decision")))
        table.add_row(*(cells[name] for name in shown))
    out.print(table)
    out.print(f"{len(rows)} decision(s)")


_DROP_ORDER = ("reason", "outcome", "tool", "rule", "agent")
"""On a narrow terminal these columns go first (time, capability, decision and payload stay)."""


def fit_columns(widths: dict[str, int], total: int) -> list[str]:
    """The columns that fit in ``total`` characters, leaving the payload at least 20."""
    shown = list(COLUMNS)
    for name in _DROP_ORDER:
        need = sum(widths[c] + 3 for c in shown if c not in _FLEXIBLE) + sum(min(_FLEXIBLE[c], 20) for c in shown if c in _FLEXIBLE)
        if need <= total:
            break
        shown.remove(name)
    return shown


def _line(row: Record) -> str:
    """One decision on one line, for --follow."""
    cells = _cells(row)
    decision = f"{cells[4]:<8}"
    if use_color():
        decision = click.style(decision, fg=_FG.get(row.get("decision") or ""), bold=row.get("decision") != "allow")
    return f"{cells[0]}  {cells[1]:<14} {cells[2]:<14} {cells[3]:<20} {decision} {cells[5]:<18} {cells[6]:<10} {cells[7]}  {cells[8]}"


_FG = {"allow": "green", "warn": "yellow", "deny": "red", "require_approval": "magenta"}


def _follow(reader: AuditReader, filters: Filters, rows: list[Record], fmt: str, interval: float) -> None:
    last = _emit(rows, fmt, 0)
    while True:
        time.sleep(interval)
        found = list(reader.decisions(replace(filters, after_seq=last)))
        last = _emit([shadow_row(row) for row in found] if filters.shadow else found, fmt, last)


def _emit(rows: list[Record], fmt: str, last: int) -> int:
    if fmt == "table":
        for line in _lines(rows):
            click.echo(line)
        sys.stdout.flush()
    else:
        _print_jsonl(rows)
    return max([last, *(int(row["seq"]) for row in rows)])


def _lines(rows: list[Record]) -> Iterator[str]:
    for row in rows:
        yield _line(row)
