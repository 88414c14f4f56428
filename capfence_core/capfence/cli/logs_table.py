"""``capfence logs`` as a table: streamed row by row (constant memory), cut values marked ``…``, ``--wide`` for everything."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import chain, islice
from typing import IO

import click

from capfence.audit.provenance import describe
from capfence.audit.reader import Record
from capfence.cli.output import label, local_time, shown_path, use_color
from capfence.cli.table import Column, Layout, StreamTable, one_line, plan, terminal_width

COLUMNS = (
    Column("time", cap=19),
    Column("agent", cap=16),
    Column("tool", cap=14),
    Column("capability", cap=18),
    Column("decision", cap=8),
    Column("rule", cap=22),
    Column("provenance", cap=30),
    Column("outcome", cap=8),
    Column("reason", flexible=True, least=16),
    Column("payload", flexible=True, least=32),
)
DROP_ORDER = ("provenance", "reason", "outcome", "tool", "agent")
"""On a narrow terminal these columns are hidden first (time, capability, decision, rule and payload stay); the footer says so.

``provenance`` is what decided and where (``rule policy.yaml:12``, ``approval by alice (policy.yaml:8)``, ``default``)."""
SAMPLE = 500
"""Rows read ahead to size the columns."""
DECISION = 4
_FG = {"allow": "green", "warn": "yellow", "deny": "red", "require_approval": "magenta"}


def cells(row: Record) -> tuple[str, ...]:
    """One decision's cells, whole (the table cuts them to fit)."""
    rule = row.get("rule") or (
        "(failure)" if str(row.get("reason") or "").startswith("internal_error:") else "(default)"
    )
    decision, reason = label(row.get("decision")), str(row.get("reason") or "")
    if row.get("shadow_decision"):  # logs --shadow: recorded -> what the shadow rule would decide
        decision = f"{decision} -> {label(row['shadow_decision'])}"
        rule, reason = f"{rule} -> {row.get('shadow_rule')}", f"shadow: {row.get('shadow_reason')}"
    return (
        local_time(row.get("ts")),
        row.get("agent_id") or "-",
        row.get("tool") or "-",
        row.get("capability") or "-",
        decision,
        rule,
        describe(row, shown_path),
        row.get("linked_outcome") or "-",
        one_line(reason),
        _payload(row),
    )


def _payload(row: Record) -> str:
    payload = row.get("payload")
    if payload is None:
        return "-"
    text = one_line(str(payload))
    if row.get("truncated"):
        return f"[truncated] {text}"
    return f"{text} [redacted]" if row.get("redacted") else text


def open_table(
    out: IO[str], sample: list[tuple[str, ...]], wide: bool, *, roomy: bool = False
) -> StreamTable:
    """A table sized for ``sample``, its header written."""
    layout: Layout = plan(COLUMNS, sample, terminal_width(wide), DROP_ORDER, roomy=roomy)
    table = StreamTable(out, COLUMNS, layout, _paint if use_color() else None)
    table.header()
    return table


def _paint(column: int, text: str, decision: str) -> str:
    if column != DECISION:
        return text
    return click.style(text, fg=_FG.get(decision), bold=decision != "allow")


def write_rows(table: StreamTable, rows: Iterable[tuple[tuple[str, ...], str]]) -> int:
    count = 0
    for texts, decision in rows:
        table.row(texts, decision)
        count += 1
    return count


def print_table(rows: Iterator[Record], out: IO[str], *, wide: bool, limit: int | None) -> None:
    """The decisions as a table, then what was counted, cut or hidden (a one-line note when there are none)."""
    pairs = ((cells(row), str(row.get("decision") or "")) for row in rows)
    sample = list(islice(pairs, SAMPLE))
    if not sample:
        out.write("No decisions match.\n")
        return
    table = open_table(out, [texts for texts, _ in sample], wide)
    count = write_rows(table, chain(sample, pairs))
    out.write("\n" + "".join(f"{line}\n" for line in footer(table, count, limit)))


def footer(table: StreamTable, count: int, limit: int | None) -> list[str]:
    lines = []
    if table.cut:
        lines.append("(… = cut to fit; --wide shows everything)")
    if table.layout.hidden:
        lines.append(f"(hidden: {', '.join(table.layout.hidden)}; --wide shows everything)")
    newest = f" (the newest {limit}; -n 0 shows all)" if limit is not None and count == limit else ""
    lines.append(f"{count} decision(s){newest}")
    return lines
