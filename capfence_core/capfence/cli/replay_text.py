"""``capfence replay`` as text: transitions, changed calls with examples, rule hits, problems."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from capfence.cli.output import shorten, shown_path, use_color

if TYPE_CHECKING:
    from capfence.offline.replay import Example, Problems, ReplayResult
    from capfence.policy.compiled import Policy, Rule

_FG = {"allow": "green", "warn": "yellow", "deny": "red", "require_approval": "magenta"}
LISTED = 20


def _decision(name: str | None) -> str:
    text = name or "(none)"
    return click.style(text, fg=_FG.get(text), bold=text != "allow") if use_color() else text


def _heading(text: str) -> None:
    click.echo("")
    click.echo(click.style(text, bold=True) if use_color() else text)


def describe_rule(rule: Rule) -> str:
    """A rule's conditions as written, e.g. ``shell.execute, contains "rm -rf"``, and where it is."""
    conditions = [
        f"{key} {json.dumps(value, ensure_ascii=False, default=str)}"
        for key, value in rule.spec.items()
        if key not in ("capability", "id", "reason", "approval_timeout")
    ]
    where = f"{shown_path(rule.source)}:{rule.line}" if rule.line else shown_path(rule.source)
    return f"{', '.join([rule.capability, *conditions])}  ({where})"


KINDS = {
    "stricter": "ran, would not run now (denied or held for approval)",
    "looser": "did not run, would run now",
    "other": "runs or not as before, under another decision",
}


def print_report(result: ReplayResult, examples: int) -> None:
    click.echo(
        f"Replayed {result.replayed} call(s) from {shown_path(result.source)} under {shown_path(result.policy.path)}"
    )
    _counts(result)
    _transitions(result)
    _changes(result, examples)
    _rule_hits(result)
    _problems(
        "Not replayable (payload truncated or redacted when recorded; not evaluated)", result.unreplayable
    )
    _problems("Invalid records (skipped)", result.invalid)


def _counts(result: ReplayResult) -> None:
    """Unchanged, changed by kind (stricter, looser, other), and what could not be compared."""
    from capfence.offline.replay import is_changed, looser, other, stricter

    click.echo(
        f"  unchanged {result.count_where(lambda rec, rep: rec == rep)}, changed {result.count_where(is_changed)}:"
    )
    for kind, test in (("stricter", stricter), ("looser", looser), ("other", other)):
        click.echo(f"    {kind:<9}{result.count_where(test):>6}  {KINDS[kind]}")
    click.echo(
        f"  no recorded decision {result.count_where(lambda rec, rep: rec is None)}, "
        f"not replayable {result.unreplayable.count}, invalid {result.invalid.count}"
    )


def _transitions(result: ReplayResult) -> None:
    from capfence.offline.replay import change

    _heading("Transitions (recorded → replayed):")
    rows = sorted(result.transitions().items(), key=lambda item: (str(item[0][0]), item[0][1]))
    for (recorded, replayed), calls in rows:
        kind = change(recorded, replayed) or ("unchanged" if recorded == replayed else "no recorded decision")
        click.echo(f"  {_decision(recorded)} → {_decision(replayed)}: {calls}  ({kind})")
    if not rows:
        click.echo("  (no calls replayed)")


def _changes(result: ReplayResult, examples: int) -> None:
    from capfence.offline.replay import change

    changes = result.changes()
    _heading("Changed calls, by transition and deciding rule:" if changes else "Changed calls: none.")
    for (recorded, replayed, rule_id), calls in changes.items():
        kind = change(recorded, replayed)
        click.echo(
            f"  {_decision(recorded)} → {_decision(replayed)} ({kind}): {calls} call(s), {_by(result.policy, rule_id)}"
        )
        for example in result.examples.get((recorded, replayed, rule_id), [])[:examples]:
            click.echo(f"      {_example(example)}")


def _by(policy: Policy, rule_id: str | None) -> str:
    if rule_id is None:
        return f"no rule matched (policy default: {policy.default})"
    rule = policy.rule(rule_id)
    return f"rule {rule_id}: {describe_rule(rule)}" if rule is not None else f"rule {rule_id}"


def _example(example: Example) -> str:
    where = f"line {example.line}" if example.line is not None else f"seq {example.id}"
    agent = f" agent {example.agent_id}" if example.agent_id else ""
    return f"{where}{agent}: {example.capability} {shorten(example.payload, 100)}"


def _rule_hits(result: ReplayResult) -> None:
    _heading(f"Rule hits under {shown_path(result.policy.path)}:")
    hits = result.rule_hits()
    width = max([len(str(rule)) for rule in hits if rule is not None] + [20])
    for rule_id, calls in hits.items():
        name = rule_id if rule_id is not None else f"(default: {result.policy.default})"
        note = "  never matched" if calls == 0 and rule_id is not None else ""
        click.echo(f"  {name:<{width}}  {calls:>8}{note}")
    never = result.never_matched()
    click.echo(
        f"Rules that never matched: {', '.join(never)}" if never else "Every rule matched at least one call."
    )


def _problems(title: str, problems: Problems) -> None:
    if not problems.count:
        return
    _heading(f"{title}: {problems.count}")
    for problem in problems.items[:LISTED]:
        where = f"line {problem.line}" if problem.line is not None else f"seq {problem.id}"
        ident = (
            f" (id {problem.id})"
            if problem.line is not None and problem.id not in (None, problem.line)
            else ""
        )
        click.echo(f"  {where}{ident}: {problem.reason}")
    if problems.count > LISTED:
        click.echo(f"  ... and {problems.count - LISTED} more")
