"""Policy test cases (``capfence test POLICY CASES``): calls with the decisions a policy must give them.

CASES is YAML (a list of cases, or ``{cases: [...]}``) or JSON Lines (one case per line; ``.jsonl``/``.ndjson``).
A case is a call (:func:`capfence.policy.examples.call_view`: ``capability``, ``args``, ``agent``, ``tool``,
``environment``) with ``expect`` (``allow``, ``warn``, ``deny`` or ``require_approval``), optionally ``rule`` (the
id of the rule that must decide; ``null`` for the policy default) and ``name``::

    - name: the agent cannot read .env through the shell
      capability: shell.execute
      args: {command: "grep KEY .env"}
      expect: deny
      rule: no-secrets

Every case is decided by the runtime's evaluator (:func:`capfence.policy.engine.evaluate`); shadow rules do not
decide and limits are not counted (both need live traffic). An exception in a condition denies, as at run time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from capfence.call.decision import ACTIONS, Decision, failure
from capfence.policy.compiled import Policy
from capfence.policy.engine import evaluate
from capfence.policy.examples import CALL_KEYS, call_view
from capfence.policy.source import read_source
from capfence.policy.spec import SpecError

CASE_KEYS = ("name", "expect", "rule")
_UNSET = object()


@dataclass(frozen=True)
class Case:
    line: int | None
    name: str
    call: dict[str, Any]
    expect: str
    rule: object = _UNSET
    """The rule id that must decide, ``None`` for the default; unset: any."""


@dataclass(frozen=True)
class Result:
    case: Case
    decision: Decision
    problem: str | None = None
    """Why the case could not be run (a malformed case), if it could not."""

    @property
    def passed(self) -> bool:
        if self.problem is not None:
            return False
        rule_ok = self.case.rule is _UNSET or self.case.rule == self.decision.rule
        return self.decision.action == self.case.expect and rule_ok


def load_cases(path: Path) -> list[Case | tuple[int | None, str]]:
    """The cases of ``path``, each a :class:`Case` or ``(line, problem)`` for one that is malformed."""
    if path.suffix in (".jsonl", ".ndjson"):
        return [
            _jsonl_case(number, line)
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
            if line.strip()
        ]
    source = read_source(path)
    if source.problems:
        raise ValueError(f"{path}: {source.problems[0].message}")
    data = source.data.get("cases") if isinstance(source.data, dict) else source.data
    if not isinstance(data, list):
        raise ValueError(f"{path}: a cases file is a list of cases (or 'cases:' followed by one)")
    key = ("cases",) if isinstance(source.data, dict) else ()
    return [_case(source.where((*key, i))[0], raw) for i, raw in enumerate(data)]


def _jsonl_case(number: int, line: str) -> Case | tuple[int | None, str]:
    try:
        return _case(number, json.loads(line))
    except ValueError as exc:
        return number, f"not valid JSON: {exc}"


def _case(line: int | None, raw: object) -> Case | tuple[int | None, str]:
    if not isinstance(raw, dict):
        return line, f"a case must be a mapping, got {type(raw).__name__}"
    expect = raw.get("expect")
    if expect not in ACTIONS:
        return line, f"expect must be one of {', '.join(ACTIONS)}, got {expect!r}"
    call = {k: v for k, v in raw.items() if k not in CASE_KEYS}
    try:
        call_view(call)
    except SpecError as exc:
        where = ".".join(map(str, exc.key))
        return line, f"{where + ': ' if where else ''}{exc.message}" + (f" ({exc.hint})" if exc.hint else "")
    name = str(
        raw.get("name") or f"{call.get('capability')} {json.dumps(call.get('args', {}), ensure_ascii=False)}"
    )
    return Case(line, name, call, str(expect), raw.get("rule", _UNSET))


def run_case(policy: Policy, case: Case) -> Result:
    view = call_view(case.call)
    try:
        decision = evaluate(policy, view)
    except Exception as exc:  # noqa: BLE001 - the runtime denies on any evaluation error; so does a test
        decision = failure(f"evaluation failed: {type(exc).__name__}: {exc}", policy.digest)
    return Result(case, decision)


def run_cases(policy: Policy, path: Path) -> list[Result]:
    results = []
    for item in load_cases(path):
        if isinstance(item, Case):
            results.append(run_case(policy, item))
        else:
            line, problem = item
            results.append(
                Result(Case(line, f"case at line {line}", {}, "deny"), failure("not run"), problem)
            )
    return results


def expected_text(case: Case) -> str:
    rule = "" if case.rule is _UNSET else f" by {case.rule or 'the policy default'}"
    return f"{case.expect}{rule}"


def call_text(case: Case) -> str:
    names = " ".join(
        f"{key}={case.call[key]}"
        for key in CALL_KEYS
        if key not in ("capability", "args") and key in case.call
    )
    args = json.dumps(case.call.get("args", {}), ensure_ascii=False, default=str)
    return f"{case.call.get('capability')} {args}" + (f" {names}" if names else "")
