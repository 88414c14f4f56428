"""``capfence replay``: what a new policy would have decided for recorded calls."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from capfence.cli.options import format_option, load_policy_file

if TYPE_CHECKING:
    from capfence.replay import ReplayResult

FAIL_ON = ("changed", "newly-denied", "newly-allowed", "unreplayable", "invalid")
CHANGES_FOUND = 3
"""Exit status when --fail-on found something (1 stays for errors, 2 for usage)."""
PROGRESS_MIN_BYTES = 8 << 20


def _fail_on(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> tuple[str, ...]:
    out = [part.strip() for item in value for part in item.split(",") if part.strip()]
    for name in out:
        if name not in FAIL_ON:
            raise click.BadParameter(f"{name!r} is not one of {', '.join(FAIL_ON)}")
    return tuple(out)


def _source(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """An existing file, or an audit store URL (``postgresql://...``)."""
    if "://" not in value and not Path(value).is_file():
        raise click.BadParameter(f"{value!r} is not a file", param_hint="'FILE'")
    return value


@click.command()
@click.argument("source", callback=_source, metavar="FILE")
@click.option("--policy", "-p", "policy_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              metavar="POLICY", help="The policy to replay the calls under.")
@format_option("text", "json")
@click.option("--fail-on-change", is_flag=True, help=f"Exit {CHANGES_FOUND} if any recorded decision would change.")
@click.option("--fail-on", "fail_on", multiple=True, callback=_fail_on, metavar="WHAT",
              help=f"Exit {CHANGES_FOUND} if any call is one of: {', '.join(FAIL_ON)} (repeat or comma-separate).")
@click.option("--examples", type=click.IntRange(min=0), default=3, show_default=True, help="Example calls shown per changed group.")
def replay(source: str, policy_path: Path, fmt: str, fail_on_change: bool, fail_on: tuple[str, ...], examples: int) -> None:
    """Re-evaluate recorded calls under POLICY and show what would change.

    FILE is a JSON Lines file ('capfence export' output, or records with at
    least "capability" and "payload"; "agent_id", "environment", "tool" and
    the recorded "decision" are used when present), an audit database, or an
    audit store URL (postgresql://...).
    Calls are decided by the same evaluator the runtime uses. Calls whose
    payload was truncated or redacted when recorded are listed as not
    replayable, never guessed at; malformed records are listed with their
    line number.

    Prints the transitions (recorded → replayed counts), the changed calls
    grouped by transition and deciding rule with examples, the hits of every
    rule under POLICY and the rules that never matched. When POLICY has
    shadow rules (mode: shadow), also what enforcing them would change.

    Exit status: 0, or 3 when --fail-on-change / --fail-on finds such calls;
    1 if the replay itself fails (e.g. an invalid policy).

    \b
    Examples:
      capfence replay audit.jsonl --policy policies/shell_production.yaml
      capfence replay audit.db --policy new.yaml --format json | jq .summary
      capfence replay audit.jsonl -p new.yaml --fail-on newly-denied   # in CI
    """
    from capfence.cli.replay_shadow import print_shadow, shadow_changes
    from capfence.replay import replay_file

    policy = load_policy_file(policy_path)
    changes = shadow_changes(policy, source)
    with _progress(source) as progress:
        if fmt == "json":
            from capfence.cli.replay_json import JsonRecords

            with JsonRecords() as records:
                result = replay_file(source, policy, sink=records, progress=progress)
                records.print(result, shadow=changes)
        else:
            result = replay_file(source, policy, progress=progress)
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
    from capfence.replay import is_changed, newly_allowed, newly_denied

    counts = {
        "changed": result.count_where(is_changed), "newly-denied": result.count_where(newly_denied),
        "newly-allowed": result.count_where(newly_allowed), "unreplayable": result.unreplayable.count, "invalid": result.invalid.count,
    }
    return [f"{counts[name]} {name}" for name in dict.fromkeys(wanted) if counts[name]]


@contextmanager
def _progress(location: str) -> Iterator[Callable[[int], None] | None]:
    """A progress bar on stderr for large inputs; nothing when stderr is not a terminal."""
    if "://" in location:
        yield None
        return
    source = Path(location)
    size = source.stat().st_size
    if not sys.stderr.isatty() or size < PROGRESS_MIN_BYTES:
        yield None
        return
    from rich.progress import Progress

    from capfence.cli.output import console
    from capfence.replay import is_database

    database = is_database(source)
    with Progress(console=console(sys.stderr), transient=True) as bar:
        task = bar.add_task("replaying", total=None if database else size)
        yield lambda done: bar.update(task, completed=done)
