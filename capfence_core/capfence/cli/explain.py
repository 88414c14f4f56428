"""``capfence explain``: which rule decides a call, and why each other rule did or did not match.

The decision comes from :func:`capfence.policy.engine.evaluate`, the runtime's
evaluator; the per-rule detail re-runs each candidate rule's compiled
conditions on the same :class:`~capfence.call.view.CallView`.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from capfence.cli.options import format_option

if TYPE_CHECKING:
    from capfence.call.decision import Decision
    from capfence.call.view import CallView
    from capfence.policy.compiled import Policy, Rule


@dataclass(frozen=True)
class RuleCheck:
    """How one candidate rule fared: ``matched``, and the first condition that failed or could not be known."""

    rule: Rule
    matched: bool
    failed: str | None
    unknown: str | None

    def condition(self, key: str | None) -> str:
        if key is None:
            return ""
        return f"{key} {json.dumps(self.rule.spec.get(key), ensure_ascii=False, default=str)}"


def check_rule(rule: Rule, view: CallView) -> RuleCheck:
    """Evaluate each of ``rule``'s conditions; mirror :meth:`Rule.check` but keep which condition decided."""
    unknown: str | None = None
    for key, condition in rule.conditions:
        try:
            result = condition(view)
        except Exception:  # noqa: BLE001 - the runtime would deny; here we only report
            result = None
        if result is False:
            return RuleCheck(rule, False, key, None)
        if result is None and unknown is None:
            unknown = key
    return RuleCheck(rule, not (unknown is not None and rule.section == "allow"), None, unknown)


def status(check: RuleCheck, decided_by: str | None) -> str:
    if check.rule.id == decided_by:
        held = (
            ", ".join(
                f"{k} {json.dumps(v, ensure_ascii=False, default=str)}"
                for k, v in check.rule.spec.items()
                if k not in ("capability", "id", "reason", "approval_timeout")
            )
            or "no conditions"
        )
        closed = (
            f" (fail-closed: {check.condition(check.unknown)} could not be evaluated)"
            if check.unknown
            else ""
        )
        return f"DECIDES: {held}{closed}"
    if check.matched:
        return "matches too, but a rule above decides first"
    if check.failed is not None:
        return f"no match: {check.condition(check.failed)} does not hold"
    return f"no match: {check.condition(check.unknown)} could not be evaluated (an allow rule never matches on an unknown)"


def _payload(text: str) -> dict[str, Any]:
    if text == "-":
        text = sys.stdin.read()
    elif text.startswith("@"):
        text = Path(text[1:]).read_text(encoding="utf-8")
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise click.BadParameter(f"not valid JSON: {exc}", param_hint="'--payload'") from None
    if not isinstance(value, dict):
        raise click.BadParameter(
            'must be a JSON object, e.g. \'{"command": "ls"}\'', param_hint="'--payload'"
        )
    return value


@click.command()
@click.option(
    "--policy",
    "-p",
    "policy_path",
    required=True,
    metavar="POLICY",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The policy file that decides the call.",
)
@click.option("--capability", "-c", required=True, help="The capability of the call, e.g. shell.execute.")
@click.option(
    "--payload",
    default="{}",
    show_default=True,
    metavar="JSON",
    help="The call's arguments: a JSON object, @FILE, or - for stdin.",
)
@click.option("--agent", "agent_id", metavar="ID", help="The calling agent's id.")
@click.option("--environment", metavar="NAME", help="The environment (default $CAPFENCE_ENVIRONMENT).")
@click.option("--tool", metavar="NAME", help="The tool's name.")
@format_option("text", "json")
def explain(
    policy_path: Path,
    capability: str,
    payload: str,
    agent_id: str | None,
    environment: str | None,
    tool: str | None,
    fmt: str,
) -> None:
    """Show which rule decides a call and why, and how every other rule for it fared.

    Rules are listed in the order they are tried: strongest section first
    (deny, require_approval, warn, allow), then file order.

    \b
    Examples:
      capfence explain -p policies/shell_production.yaml -c shell.execute --payload '{"command": "rm -rf /"}'
      capfence explain -p policy.yaml -c payments.refund --payload @call.json --agent prod-agent
    """
    from capfence.call.view import CallView
    from capfence.cli.options import load_policy_file
    from capfence.policy.engine import evaluate

    policy = load_policy_file(policy_path)
    view = CallView(
        capability, _payload(payload), agent_id, environment or os.environ.get("CAPFENCE_ENVIRONMENT"), tool
    )
    decision = evaluate(policy, view)
    checks = [check_rule(rule, view) for rule in policy.candidates(capability)]
    apart = _apart(policy, view)
    if fmt == "json":
        _print_json(decision, checks, policy, apart)
    else:
        _print_text(decision, checks, policy, capability)
        _print_apart(apart)


@dataclass(frozen=True)
class Apart:
    """The rules consulted apart from the index: shadow rules (and what enforcing them decides) and limit rules."""

    shadow: list[RuleCheck]
    would: dict[str, object] | None
    limited: list[RuleCheck]
    view: CallView


def _apart(policy: Policy, view: CallView) -> Apart:
    from capfence.call.shadow import shadow_verdict
    from capfence.policy.patterns import name_matcher

    def applies(rule: Rule) -> bool:
        return name_matcher(rule.capability)(view.capability)

    return Apart(
        [check_rule(r, view) for r in policy.shadow if applies(r)],
        shadow_verdict(policy, view),
        [check_rule(r, view) for r in policy.limited if applies(r)],
        view,
    )


def _print_apart(apart: Apart) -> None:
    if apart.shadow:
        click.echo("\nShadow rules (mode: shadow; recorded with the call, never deciding):")
        for check in apart.shadow:
            said = "matches this call" if check.matched else status(check, None)
            click.echo(f"     {check.rule.id}  line {check.rule.line or '?':<4} {said}")
        would = apart.would
        if would is not None and "decision" in would:
            click.echo(f"  Enforced, {would['rule']} would decide {would['decision']}: {would['reason']}")
        elif would is not None:
            click.echo(f"  A shadow rule failed: {would.get('error')}")
        else:
            click.echo("  Enforcing them would not change this decision.")
    if apart.limited:
        click.echo("\nLimit rules (checked against the usage in the audit store when the call is made):")
        for check in apart.limited:
            limit = check.rule.limit
            held = (
                f"its other conditions hold; it decides {check.rule.section} once the call would exceed the limit"
                if check.matched
                else status(check, None)
            )
            described = limit.describe(apart.view) if limit else ""
            click.echo(f"     {check.rule.id}  line {check.rule.line or '?':<4} limit: {described}; {held}")


def _print_text(decision: Decision, checks: list[RuleCheck], policy: Policy, capability: str) -> None:
    from capfence.cli.output import label

    provenance = decision.provenance
    where = (
        f" ({provenance.source}:{provenance.line})" if provenance is not None and provenance.source else ""
    )
    click.echo(f"Decision: {label(decision.action)} by {decision.rule or 'the policy default'}{where}")
    click.echo(f"Reason:   {decision.reason}")
    if not checks:
        click.echo(f"\nNo rule applies to capability {capability!r}.")
    else:
        click.echo(f"\nRules for {capability}, in the order they are tried:")
        width = max(len(c.rule.id) for c in checks)
        for check in checks:
            marker = "->" if check.rule.id == decision.rule else "  "
            click.echo(
                f"  {marker} {check.rule.id:<{width}}  line {check.rule.line or '?':<4} {status(check, decision.rule)}"
            )
    others = len(policy.rules) - len(checks) - len(policy.shadow) - len(policy.limited)
    if others > 0:
        click.echo(f"\n{others} other rule(s) are for other capabilities.")


def _print_json(decision: Decision, checks: list[RuleCheck], policy: Policy, apart: Apart) -> None:
    provenance = decision.provenance
    document: dict[str, object] = {
        "decision": decision.action,
        "rule": decision.rule,
        "reason": decision.reason,
        "decided_by": decision.decided_by,
        "rule_source": provenance.source if provenance else None,
        "rule_line": provenance.line if provenance else None,
        "rules": [
            {
                "id": c.rule.id,
                "section": c.rule.section,
                "line": c.rule.line,
                "matched": c.matched,
                "decides": c.rule.id == decision.rule,
                "failed_condition": c.failed,
                "unknown_condition": c.unknown,
            }
            for c in checks
        ],
        "other_rules": len(policy.rules) - len(checks) - len(apart.shadow) - len(apart.limited),
        "shadow": {
            "rules": [{"id": c.rule.id, "matched": c.matched} for c in apart.shadow],
            "would_decide": apart.would,
        },
        "limit_rules": [
            {"id": c.rule.id, "section": c.rule.section, "conditions_hold": c.matched} for c in apart.limited
        ],
    }
    click.echo(json.dumps(document, indent=2, default=str))
