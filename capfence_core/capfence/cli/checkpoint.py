"""``capfence checkpoint``: append the audit log's signed head to a file kept elsewhere."""

from __future__ import annotations

from pathlib import Path

import click

from capfence.cli.keys import audit_key, key_file_option
from capfence.cli.options import audit_log_option


@click.command()
@audit_log_option
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Checkpoint file to append to (created with mode 0600). Keep it where the log's writers cannot write.",
)
@key_file_option
def checkpoint(audit_log: str, output: Path, key_file: Path | None) -> None:
    """Record the audit log's head (last seq and hash), HMAC-signed with the audit key.

    'capfence verify --checkpoint FILE' then detects records cut off the end
    of the log and a chain recomputed after an edit, up to the checkpoint.
    Run it regularly (cron) and keep FILE on another host or write-once
    storage. Without a key the checkpoint is unsigned (a warning says so).

    \b
    Examples:
      capfence checkpoint --audit-log audit.db -o /secure/audit.ckpt
      capfence checkpoint --key-file /etc/capfence/audit.key -o /mnt/worm/audit.ckpt
    """
    from capfence.audit.checkpoint import append, take
    from capfence.cli.registry import open_log

    key = audit_key(key_file)
    with open_log(audit_log) as reader:
        point = take(reader, key)
    append(output, point)
    signed = "signed" if point.signature else "UNSIGNED: no key; set CAPFENCE_AUDIT_KEY or pass --key-file"
    click.echo(f"Checkpoint of {audit_log} at seq {point.seq} appended to {output} ({signed})")
    if not point.signature:
        click.echo(
            "capfence: warning: an unsigned checkpoint can be forged by anyone who can write it", err=True
        )
