"""``capfence import``: copy audit records into an audit log (SQLite to PostgreSQL), keeping them verifiable."""

from __future__ import annotations

from pathlib import Path

import click

from capfence.cli.options import default_audit_log


@click.command("import")
@click.argument("source", metavar="SOURCE")
@click.option(
    "--audit-log",
    "audit_log",
    default=default_audit_log,
    metavar="PATH|URL",
    show_default="$CAPFENCE_AUDIT_LOG or ./audit.db",
    help="The audit log to import into (a SQLite file or a postgresql:// URL); created if needed.",
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=5000,
    show_default=True,
    help="Records per transaction.",
)
def import_(source: str, audit_log: str, batch_size: int) -> None:
    """Copy every record of SOURCE into an audit log, keeping sequence numbers and hashes.

    SOURCE is a JSON Lines file written by 'capfence export --all-records',
    or an audit log read directly (a SQLite file or a URL). Every record is
    checked against its hash and its predecessor before it is written; with a
    keyed chain set CAPFENCE_AUDIT_KEY to the log's key. The target must be
    empty or hold the beginning of the same chain: records it already has are
    skipped, so an interrupted import can be run again, and a log still in
    use can be caught up just before switching. Approval requests are not
    copied (their history is in the records): decide pending ones first.

    \b
    Examples:
      capfence export --all-records --audit-log audit.db -o audit-full.jsonl
      capfence import audit-full.jsonl --audit-log postgresql://capfence@db.internal/audit
      capfence import audit.db --audit-log "$CAPFENCE_AUDIT_LOG"
      capfence verify --audit-log postgresql://capfence@db.internal/audit
    """
    from capfence.audit.importer import import_records, jsonl_records
    from capfence.audit.store import transactional
    from capfence.cli.registry import open_log_store
    from capfence.errors import AuditError

    store = open_log_store(audit_log)
    try:
        if _is_jsonl(source):
            report = import_records(store, jsonl_records(source), batch=batch_size)
        else:
            from capfence.cli.registry import open_log

            with open_log(source) as reader:
                report = import_records(store, reader.records(), batch=batch_size)
                from capfence.policy.recorded import copy_policies

                # so 'capfence suggest' finds them there too
                filing = transactional(store)
                if filing is not None:
                    copy_policies(filing, getattr(reader, "policies", list)())
    except OSError as exc:
        raise AuditError(f"cannot read {source}: {exc.strerror or exc}") from exc
    finally:
        store.close()
    target = getattr(store, "location", audit_log)
    if report.imported:
        span = f"records {report.first_seq}-{report.last_seq}"
        click.echo(
            f"Imported {report.imported} record(s) ({span}) into {target}; {report.skipped} were already there."
        )
    else:
        click.echo(f"Nothing to import: {target} already holds all {report.skipped} record(s) of {source}.")


def _is_jsonl(source: str) -> bool:
    """A JSON Lines file, as opposed to an audit log (a URL, or a file starting with SQLite's header)."""
    if "://" in source:
        return False
    path = Path(source)
    if not path.is_file():
        raise click.BadParameter(f"{source} does not exist", param_hint="SOURCE")
    with path.open("rb") as f:
        return not f.read(16).startswith(b"SQLite format 3")
