"""``capfence test``: run policy test cases and print a readable diff of the failures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from capfence.cli.options import format_option, load_policy_file

if TYPE_CHECKING:
    from capfence.offline.cases import Result
    from capfence.policy.compiled import Policy

FAILED = 1


@click.command(name="test")
@click.argument("policy_path", metavar="POLICY", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("cases_path", metavar="CASES", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@format_option("text", "json")
def test(policy_path: Path, cases_path: Path, fmt: str) -> None:
    """Check that POLICY decides every call in CASES as expected (for CI).

    CASES is YAML (a list of cases) or JSON Lines (.jsonl), each case a call
    with the decision it must get: capability, args, optionally agent, tool,
    environment; expect (allow, warn, deny, require_approval); optionally rule
    (the id that must decide; null for the policy default) and name. Shadow
    rules do not decide and limits are not counted. Rules' own examples are
    checked when POLICY loads.

    Exit status: 0 if every case passes, 1 if any fails (or the policy is
    invalid).

    \b
    Examples:
      capfence test policy.yaml tests/policy-cases.yaml
      capfence test policy.yaml cases.jsonl --format json
    \b
    A case:
      - name: the agent cannot read .env through the shell
        capability: shell.execute
        args: {command: "grep KEY .env"}
        expect: deny
        rule: no-secrets
    """
    from capfence.offline.cases import run_cases

    policy = load_policy_file(policy_path)
    try:
        results = run_cases(policy, cases_path)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    if fmt == "json":
        _print_json(results, cases_path)
    else:
        _print_text(results, cases_path, policy)
    if not all(r.passed for r in results):
        raise click.exceptions.Exit(FAILED)


def _print_text(results: list[Result], cases_path: Path, policy: Policy) -> None:
    from capfence.offline.cases import call_text, expected_text

    for result in results:
        if result.passed:
            continue
        case = result.case
        click.echo(f"FAIL {cases_path}:{case.line or '?'}  {case.name}")
        if result.problem is not None:
            click.echo(f"  invalid case: {result.problem}")
            continue
        rule = policy.rule(result.decision.rule) if result.decision.rule else None
        where = f" ({rule.source}:{rule.line})" if rule is not None else ""
        click.echo(f"  call:     {call_text(case)}")
        click.echo(f"  expected: {expected_text(case)}")
        click.echo(
            f"  got:      {result.decision.action} by {result.decision.rule or 'the policy default'}{where}"
        )
        click.echo(f"  reason:   {result.decision.reason}")
    failed = sum(not r.passed for r in results)
    click.echo(f"{len(results) - failed} passed, {failed} failed ({len(results)} case(s) in {cases_path})")


def _print_json(results: list[Result], cases_path: Path) -> None:
    from capfence.offline.cases import call_text, expected_text

    document = {
        "cases": str(cases_path),
        "passed": sum(r.passed for r in results),
        "failed": sum(not r.passed for r in results),
        "results": [
            {
                "line": r.case.line,
                "name": r.case.name,
                "passed": r.passed,
                "call": call_text(r.case),
                "expected": expected_text(r.case),
                "got": {"decision": r.decision.action, "rule": r.decision.rule, "reason": r.decision.reason},
                "problem": r.problem,
            }
            for r in results
        ],
    }
    click.echo(json.dumps(document, indent=2, ensure_ascii=False))
