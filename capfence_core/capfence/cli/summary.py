"""``capfence logs --summary``: what the agents did, grouped, and what fell through to the default."""

from __future__ import annotations

import json
from typing import Any

import click

from capfence.audit.reader import Record
from capfence.cli.output import console, label, local_time, style


def _rule(row: Record) -> str:
    if row.get("rule"):
        return str(row["rule"])
    return "(failure)" if row.get("failed") else "(default)"


def unmatched(rows: list[Record]) -> dict[str, int]:
    """Capabilities with calls no rule matched (decided by the policy default), with their call counts."""
    out: dict[str, int] = {}
    for row in rows:
        if not row.get("rule") and not row.get("failed"):
            out[str(row["capability"])] = out.get(str(row["capability"]), 0) + int(row["calls"])
    return out


def print_summary(rows: list[Record], fmt: str) -> None:
    if fmt == "table":
        _table(rows)
        return
    groups: list[dict[str, Any]] = [
        {
            "capability": r["capability"],
            "decision": r["decision"],
            "rule": r.get("rule"),
            "failure": bool(r.get("failed")),
            "calls": r["calls"],
            "first": r["first"],
            "last": r["last"],
        }
        for r in rows
    ]
    document = {"groups": groups, "unmatched_capabilities": unmatched(rows)}
    if fmt == "json":
        click.echo(json.dumps(document, ensure_ascii=False, indent=2))
    else:
        for group in groups:
            click.echo(json.dumps(group, ensure_ascii=False))


def _table(rows: list[Record]) -> None:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    out = console()
    if not rows:
        out.print("No decisions match.")
        return
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    for name in ("capability", "decision", "rule", "calls", "first seen", "last seen"):
        table.add_column(name, justify="right" if name == "calls" else "left", no_wrap=True)
    for row in rows:
        table.add_row(
            row["capability"] or "-",
            Text(label(row["decision"]), style=style(row["decision"])),
            _rule(row),
            str(row["calls"]),
            local_time(row["first"]),
            local_time(row["last"]),
        )
    out.print(table)
    total = sum(int(r["calls"]) for r in rows)
    out.print(f"{total} decision(s) in {len(rows)} group(s)")
    _print_unmatched(out, unmatched(rows))


def _print_unmatched(out: Any, missing: dict[str, int]) -> None:
    if not missing:
        out.print("Every call matched a rule.")
        return
    out.print("Matched no rule (decided by the policy default):")
    for capability, calls in sorted(missing.items()):
        out.print(f"  {capability}  {calls} call(s)")
