"""``capfence verify``: check the audit log's hash chain (read-only) and any checkpoints."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import click

from capfence.cli.keys import audit_key, key_file_option
from capfence.cli.options import audit_log_option, format_option

if TYPE_CHECKING:
    from capfence.audit.verify import Report


@click.command()
@audit_log_option
@click.option(
    "--checkpoint",
    "checkpoint_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Also check the checkpoints in FILE (written by 'capfence checkpoint'); repeatable.",
)
@key_file_option
@format_option("text", "json")
def verify(audit_log: str, checkpoint_files: tuple[Path, ...], key_file: Path | None, fmt: str) -> None:
    """Check the audit log's hash chain and report the first bad record.

    Detects deleted, inserted and reordered records always; modified fields
    whenever hashes can be recomputed (unkeyed chain, or keyed chain with
    the key); a truncated tail and a recomputed chain with signed
    checkpoints or the key. Reports every approval
    request whose row the chain does not back (an edited or inserted row).
    Only reads: works on a read-only file and never changes it.

    The key is $CAPFENCE_AUDIT_KEY, or --key-file. Given a key, an unkeyed
    log fails (unless a checkpoint signed with the key says it was unkeyed),
    and so does a log hashed with another key.

    Exit status: 0 when intact, 1 when tampering (or an unreadable log) is found.

    \b
    Examples:
      capfence verify --audit-log audit.db
      CAPFENCE_AUDIT_KEY=... capfence verify --checkpoint /secure/audit.ckpt
      capfence verify --key-file /etc/capfence/audit.key --format json
    """
    from capfence.audit import checkpoint
    from capfence.audit.verify import verify as run
    from capfence.cli.registry import open_log

    points = [(f"{path}:{line}", point) for path in checkpoint_files for line, point in checkpoint.load(path)]
    from capfence.cli.counted_reader import CountedReader
    from capfence.cli.progress import Ticker

    with open_log(audit_log) as reader:
        head = reader.head()
        with Ticker("verifying", head[0] if head else 0) as ticker:
            report = run(CountedReader(reader, ticker), audit_key(key_file), points)
    if fmt == "json":
        click.echo(json.dumps({**asdict(report), "ok": report.ok}, indent=2))
    else:
        _print(report)
    if not report.ok:
        raise click.exceptions.Exit(1)


def _print(report: Report) -> None:
    how = "every hash recomputed" if report.recomputed else "links only (no key)"
    span = f"seq {report.first_seq}-{report.last_seq}: {counted(report.kinds)}" if report.records else "empty"
    if report.problem is not None:
        where = f" at seq {report.problem.seq}" if report.problem.seq is not None else ""
        click.echo(f"{report.location}: TAMPERED{where} ({report.problem.kind}): {report.problem.message}")
        click.echo(f"  checked before that: {report.records} record(s) ({span}), chain {report.chain}, {how}")
    elif report.unbacked:
        click.echo(
            f"{report.location}: TAMPERED (unbacked): {len(report.unbacked)} approval request(s) not backed by the audit chain"
        )
        click.echo(
            f"  the chain itself is intact: {report.records} record(s) ({span}), chain {report.chain}, {how}"
        )
    else:
        click.echo(f"{report.location}: OK: {report.records} record(s) ({span}), chain {report.chain}, {how}")
    for unbacked in report.unbacked:
        click.echo(f"  approval request {unbacked.id} is not backed by the audit chain: {unbacked.message}")
    for line in report.checked:
        click.echo(f"  {line}")
    for note in report.notes:
        click.echo(f"  note: {note}")


_KIND_NAMES = {"decision": "decision", "outcome": "outcome", "approval": "approval event"}


def counted(kinds: dict[str, int]) -> str:
    """What the records are, e.g. ``8 decisions, 8 outcomes, 3 approval events, 1 other event``."""
    others = sum(n for kind, n in kinds.items() if kind not in _KIND_NAMES)
    parts = [(kinds.get(kind, 0), name) for kind, name in _KIND_NAMES.items()] + [(others, "other event")]
    return ", ".join(f"{n} {name}{'' if n == 1 else 's'}" for n, name in parts if n)
