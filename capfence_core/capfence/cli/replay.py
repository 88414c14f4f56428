"""``capfence replay``: what a new policy would have decided for recorded calls."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from capfence.cli.options import format_option, load_policy_file
from capfence.cli.progress import Ticker

if TYPE_CHECKING:
    from capfence.offline.replay import ReplayResult

FAIL_ON = ("changed", "stricter", "looser", "other", "unreplayable", "invalid")
OLD_NAMES = {"newly-denied": "stricter", "newly-allowed": "looser"}
"""Earlier names for --fail-on, still accepted."""
CHANGES_FOUND = 3
"""Exit status when --fail-on found something (1 stays for errors, 2 for usage)."""


def _fail_on(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> tuple[str, ...]:
    out = [
        OLD_NAMES.get(part.strip(), part.strip())
        for item in value
        for part in item.split(",")
        if part.strip()
    ]
    for name in out:
        if name not in FAIL_ON:
            raise click.BadParameter(f"{name!r} is not one of {', '.join(FAIL_ON)}")
    return tuple(out)


MAX_JOBS = 64


def _jobs(ctx: click.Context, param: click.Parameter, value: str) -> int:
    """A number of processes from 1 to :data:`MAX_JOBS`, or ``auto`` (one per CPU)."""
    if value == "auto":
        return max(1, min(MAX_JOBS, os.cpu_count() or 1))
    if not value.isdigit() or not 1 <= int(value) <= MAX_JOBS:
        raise click.BadParameter(f"{value!r} is not a number of processes from 1 to {MAX_JOBS}, or auto")
    return int(value)


def _source(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """An existing file, or an audit store URL (``postgresql://...``)."""
    if "://" not in value and not Path(value).is_file():
        raise click.BadParameter(f"{value!r} is not a file", param_hint="'FILE'")
    return value


@click.command()
@click.argument("source", callback=_source, metavar="FILE")
@click.option(
    "--policy",
    "-p",
    "policy_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    metavar="POLICY",
    help="The policy to replay the calls under.",
)
@format_option("text", "json")
@click.option(
    "--fail-on-change", is_flag=True, help=f"Exit {CHANGES_FOUND} if any recorded decision would change."
)
@click.option(
    "--fail-on",
    "fail_on",
    multiple=True,
    callback=_fail_on,
    metavar="WHAT",
    help=f"Exit {CHANGES_FOUND} if any call is one of: {', '.join(FAIL_ON)} (repeat or comma-separate).",
)
@click.option(
    "--examples",
    type=click.IntRange(min=0),
    default=3,
    show_default=True,
    help="Example calls shown per changed group.",
)
@click.option(
    "--jobs",
    "-j",
    callback=_jobs,
    default="1",
    show_default=True,
    metavar="N",
    help="Replay a JSON Lines file with N processes (auto: one per CPU); the output is the same.",
)
def replay(
    source: str,
    policy_path: Path,
    fmt: str,
    fail_on_change: bool,
    fail_on: tuple[str, ...],
    examples: int,
    jobs: int,
) -> None:
    """Re-evaluate recorded calls under POLICY and show what would change.

    FILE is a JSON Lines file ('capfence export' output, or records with at
    least "capability" and "payload"; "agent_id", "environment", "tool" and
    the recorded "decision" are used when present), an audit database, or an
    audit store URL (postgresql://...).
    Calls are decided by the same evaluator the runtime uses. Calls whose
    payload was truncated or redacted when recorded are listed as not
    replayable, never guessed at; malformed records are listed with their
    line number.

    A changed decision is one of three kinds, by whether the call runs
    (allow, warn) or not (deny, require_approval):
    stricter: it ran, it would not run now (denied, or held for approval);
    looser: it did not run, it would run now; other: it runs, or does not,
    as before, under another decision (warn → allow, deny → require_approval).

    Prints the counts by kind, the transitions (recorded → replayed), the
    changed calls grouped by transition and deciding rule with examples, the
    hits of every rule under POLICY and the rules that never matched.
    When POLICY has shadow rules (mode: shadow), also what enforcing them
    would change.

    --jobs N splits a JSON Lines file into N parts replayed side by side by
    N processes, and merges their results in file order: the output is the
    same as with one, sooner on a machine with N cores to spare. An audit
    database is read by one process.

    Exit status: 0, or 3 when --fail-on-change / --fail-on finds such calls;
    1 if the replay itself fails (e.g. an invalid policy).

    \b
    Examples:
      capfence replay audit.jsonl --policy policies/shell_production.yaml
      capfence replay audit.db --policy new.yaml --format json | jq .summary
      capfence replay audit.jsonl -p new.yaml --fail-on stricter   # in CI
      capfence replay big-export.jsonl -p new.yaml --jobs 4        # 4 processes
    """
    from capfence.cli.registry import registry
    from capfence.cli.replay_shadow import print_shadow, shadow_changes
    from capfence.offline.replay_source import replay_file

    policy = load_policy_file(policy_path)
    changes = shadow_changes(policy, source, jobs)
    with _ticker(source) as ticker:
        progress = ticker.update if ticker.enabled else None
        if fmt == "json":
            from capfence.cli.replay_json import JsonRecords

            with JsonRecords(policy) as records:
                result = replay_file(
                    source, policy, sink=records, progress=progress, jobs=jobs, stores=registry().stores
                )
                records.print(result, shadow=changes)
        else:
            result = replay_file(source, policy, progress=progress, jobs=jobs, stores=registry().stores)
    if fmt == "text":
        from capfence.cli.replay_text import print_report

        print_report(result, examples)
        if changes is not None:
            print_shadow(changes, policy)
    failed = _failed(result, ("changed", *fail_on) if fail_on_change else fail_on)
    if failed:
        click.echo(f"capfence replay: failing ({', '.join(failed)})", err=True)
        sys.exit(CHANGES_FOUND)


def _failed(result: ReplayResult, wanted: tuple[str, ...]) -> list[str]:
    from capfence.offline.replay import is_changed, looser, other, stricter

    counts = {
        "changed": result.count_where(is_changed),
        "stricter": result.count_where(stricter),
        "looser": result.count_where(looser),
        "other": result.count_where(other),
        "unreplayable": result.unreplayable.count,
        "invalid": result.invalid.count,
    }
    return [f"{counts[name]} {name}" for name in dict.fromkeys(wanted) if counts[name]]


def _ticker(location: str) -> Ticker:
    """Progress through ``location``: by bytes for a JSON Lines file, by records for a database."""
    from capfence.offline.replay import is_database

    source = Path(location)
    if "://" in location or is_database(source):
        return Ticker("replaying")
    return Ticker("replaying", source.stat().st_size, unit="bytes")
