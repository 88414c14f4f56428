"""``capfence replay`` of a policy with shadow rules: what enforcing them would change.

The calls are replayed a second time under the policy with its shadow rules enforced
(:attr:`~capfence.policy.compiled.Policy.enforced`); the calls a shadow rule decides there are the ones enforcing it
would change (a shadow rule that matches a call some stronger rule decides anyway changes nothing).
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from capfence.offline.replay import ReplayResult
    from capfence.policy.compiled import Policy


def shadow_changes(policy: Policy, source: str, jobs: int = 1) -> Counter[tuple[str | None, str, str]] | None:
    """(recorded, would-be decision, shadow rule) -> calls, for a policy with shadow rules; else ``None``."""
    if policy.enforced is None:
        return None
    from capfence.cli.registry import registry
    from capfence.offline.replay_source import replay_file

    shadow_ids = {rule.id for rule in policy.shadow}
    enforced: ReplayResult = replay_file(source, policy.enforced, jobs=jobs, stores=registry().stores)
    found: Counter[tuple[str | None, str, str]] = Counter()
    for (recorded, replayed, rule), calls in enforced.counts.items():
        if rule in shadow_ids and replayed != recorded:
            found[(recorded, replayed, rule)] += calls
    return found


def print_shadow(changes: Counter[tuple[str | None, str, str]], policy: Policy) -> None:
    click.echo("")
    names = ", ".join(rule.id for rule in policy.shadow)
    total = sum(changes.values())
    click.echo(f"Shadow rules ({names}): enforcing them would change the decision of {total} call(s)")
    for (recorded, replayed, rule), calls in changes.most_common():
        click.echo(f"  {recorded or '(none)'} -> {replayed}  {calls:>6}  by {rule}")


def shadow_json(changes: Counter[tuple[str | None, str, str]]) -> list[dict[str, object]]:
    return [
        {"recorded": recorded, "would_be": replayed, "rule": rule, "calls": calls}
        for (recorded, replayed, rule), calls in changes.most_common()
    ]
