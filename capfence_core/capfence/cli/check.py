"""``capfence check``: validate policy files (every problem, with file:line) and lint them."""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from capfence.cli.options import format_option

if TYPE_CHECKING:
    from collections.abc import Callable

    from capfence.errors import PolicyProblem
    from capfence.offline.lint import Finding
    from capfence.policy.compiled import Policy


def error_line(problem: PolicyProblem) -> str:
    """``file:line:col: error: key: message (hint)``, the form editors and CI annotate."""
    where = (
        problem.path
        + (f":{problem.line}" if problem.line else "")
        + (f":{problem.column}" if problem.line and problem.column else "")
    )
    key = f"{problem.key}: " if problem.key else ""
    hint = f" ({problem.hint})" if problem.hint else ""
    return f"{where}: error: {key}{problem.message}{hint}"


def summary_line(path: Path, policy: Policy | None, errors: int, warnings: int) -> str:
    if policy is None:
        return f"{path}: INVALID, {errors} error(s)"
    from capfence.call.decision import ACTIONS

    sections = ", ".join(f"{name} {sum(r.section == name for r in policy.rules)}" for name in ACTIONS)
    extra = f", {len(policy.files) - 1} extended file(s)" if len(policy.files) > 1 else ""
    examples = sum(len(calls) for rule in policy.rules for calls in _examples(rule.spec.get("examples")))
    checked = f", {examples} rule example(s) checked" if examples else ""
    return f"{path}: OK ({sections}; default {policy.default}{extra}){checked}, {warnings} warning(s)"


def _examples(value: object) -> list[list[object]]:
    """The ``match`` and ``no_match`` lists of a rule's ``examples:`` (validated when the policy loaded)."""
    if not isinstance(value, dict):
        return []
    return [calls for calls in (value.get("match"), value.get("no_match")) if isinstance(calls, list)]


def _command_example() -> str | None:
    """The registered ``command:`` condition's example, when the shell matcher is installed."""
    from capfence.cli.registry import registry

    found = registry().conditions.get("command")
    return found.example if found is not None else None


def check_file(path: Path) -> tuple[Policy | None, list[PolicyProblem], list[Finding]]:
    from capfence.cli.registry import read_policy
    from capfence.errors import PolicyError
    from capfence.offline.lint import lint

    try:
        policy = read_policy(path)
    except PolicyError as exc:
        return None, [replace(p, path=_display(p.path, path)) for p in exc.problems], []
    findings = [
        replace(f, path=_display(f.path, path)) for f in lint(policy, command_example=_command_example())
    ]
    return policy, [], sorted(findings, key=lambda f: (f.path, f.line or 0))


def _display(found: str, given: Path) -> str:
    """Name files the way the user did: the given path for the file itself, else relative to the working directory."""
    if Path(found).resolve() == given.resolve():
        return str(given)
    try:
        return str(Path(found).resolve().relative_to(Path.cwd()))
    except ValueError:
        return found


@click.command()
@click.argument(
    "paths",
    nargs=-1,
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    metavar="POLICY...",
)
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too.")
@format_option("text", "json")
def check(paths: tuple[Path, ...], strict: bool, fmt: str) -> None:
    """Validate policy files and lint them.

    Prints every problem as file:line:column (not just the first), rules'
    examples: that a call does not match as its rule says it should, lint
    warnings (rules shadowed by an earlier rule, rules that can never match,
    'contains' on shell capabilities that respellings such as 'rm -fr'
    evade, a missing 'default'), and one summary line per file.

    Exit status: 1 if any file has errors (or, with --strict, warnings), else 0.

    \b
    Examples:
      capfence check policies/shell_production.yaml
      capfence check --strict policies/*.yaml
      capfence check policy.yaml --format json
    """
    results = [(path, *check_file(path)) for path in paths]
    if fmt == "json":
        _print_json(results)
    else:
        paint = _painter()
        for path, policy, problems, findings in results:
            for problem in problems:
                click.echo(paint(error_line(problem)))
            for finding in findings:
                click.echo(paint(str(finding)))
            click.echo(paint(summary_line(path, policy, len(problems), len(findings))))
    failed = any(problems or (strict and findings) for _, _, problems, findings in results)
    if failed:
        raise click.exceptions.Exit(1)


_SECTIONS = ("deny", "require_approval", "warn", "allow")
_MARKS = {": error: ": "red", ": warning: ": "yellow", ": INVALID": "red", ": OK ": "green"}
"""What is coloured on a terminal: the word that says how a line or a file fared."""


def _painter() -> Callable[[str], str]:
    """Colour the first mark of a line (see :data:`_MARKS`) on a terminal; the identity elsewhere or under NO_COLOR."""
    from capfence.cli.output import use_color

    if not use_color():
        return lambda line: line

    def paint(line: str) -> str:
        for mark, colour in _MARKS.items():
            at = line.find(mark)
            if at >= 0:
                word = mark.strip(": ").strip()
                start = line.index(word, at)
                return line[:start] + click.style(word, fg=colour, bold=True) + line[start + len(word) :]
        return line

    return paint


def _print_json(results: list[tuple[Path, Policy | None, list[PolicyProblem], list[Finding]]]) -> None:
    files: list[dict[str, Any]] = []
    for path, policy, problems, findings in results:
        files.append(
            {
                "path": str(path),
                "valid": policy is not None,
                "errors": [asdict(p) for p in problems],
                "warnings": [asdict(f) for f in findings],
                "rules": {name: sum(r.section == name for r in policy.rules) for name in _SECTIONS}
                if policy
                else None,
                "default": policy.default if policy else None,
            }
        )
    click.echo(json.dumps({"files": files}, indent=2))
