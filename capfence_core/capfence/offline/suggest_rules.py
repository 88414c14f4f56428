"""The allow rules ``capfence suggest`` proposes, and the check that they never weaken the policy in force.

For each observed (capability, tool) whose calls ran, :func:`propose` drafts the narrowest rules that cover them:

* a shell tool (a ``command``, ``cmd``, ``script`` or ``shell_command`` argument): one rule per distinct command
  that ran, naming its program and its exact arguments (``command: {program: git, argv: [status]}``), for the
  :data:`MOST_RULES` most frequent; a command that is not one program with fixed words is left uncovered;
* every rule names the agents seen (up to :data:`MOST_VALUES`);
* any other tool: one rule for the capability (and tool), narrowed by what its arguments looked like: numeric
  arguments up to the largest value seen (``args: {amount: {lte: 500}}``), URLs to the hosts seen
  (``url: {host: [...]}``), paths to the directories seen (``path: {under: [...]}``).

Then :func:`withdraw_weakening` evaluates every observed call under the draft (the kept deny and
require_approval rules, the proposed allow rules, ``default: deny``): a proposed rule that allows a call that was
denied or held when it was recorded, or that the policy in force denies or holds now, is withdrawn, with why,
until none does. So the draft never allows what the policy in force blocked.
"""

from __future__ import annotations

import json
import posixpath
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from capfence.call.decision import Decision
from capfence.call.view import CallView
from capfence.policy.compiled import Policy
from capfence.policy.engine import evaluate
from capfence.policy.spec import ConditionType

MOST_RULES = 25
"""Exact-command rules proposed per shell tool, most frequent first."""
MOST_VALUES = 10
"""Hosts or directories listed in one narrowing condition (more, and the argument is not used to narrow)."""
BLOCKED = frozenset({"deny", "require_approval"})
_COMMAND_KEYS = ("command", "cmd", "script", "shell_command")
_URL_KEYS = frozenset({"url", "uri", "endpoint", "href", "link", "base_url"})
_PATH_KEYS = frozenset(
    {"path", "file", "file_path", "filepath", "filename", "dest", "destination", "src", "source", "target"}
)

Sample = tuple[str, "str | None", "str | None", str]
"""A distinct observed call of a group: (payload JSON, agent, environment, recorded decision)."""


@dataclass
class Proposed:
    rule: dict[str, Any]
    why: str
    """How it is narrowed, and how many calls that ran it covers."""
    withdrawn: str | None = None
    """Why it is not proposed after all (it would allow a call the policy in force blocked)."""


@dataclass
class Proposal:
    capability: str
    tool: str | None
    rules: list[Proposed] = field(default_factory=list)
    uncovered: Counter[str] = field(default_factory=Counter)
    """Calls that ran but no narrow rule can cover, by why."""


def _payloads(samples: Counter[Sample], decisions: frozenset[str]) -> list[tuple[dict[str, Any], int]]:
    found = []
    for (text, _agent, _env, decision), calls in samples.items():
        if decision in decisions:
            try:
                payload = json.loads(text) if text else {}
            except ValueError:
                continue
            if isinstance(payload, dict):
                found.append((payload, calls))
    return found


def propose(capability: str, tool: str | None, samples: Counter[Sample]) -> Proposal:
    out = Proposal(capability, tool)
    ran = _payloads(samples, frozenset({"allow", "warn"}))
    if not ran:
        return out
    base: dict[str, Any] = {"capability": capability, **({"tool": tool} if tool else {})}
    agents = sorted({agent for (_, agent, _, decision) in samples if decision in ("allow", "warn") and agent})
    if (
        agents
        and len(agents) <= MOST_VALUES
        and all(agent for (_, agent, _, d) in samples if d in ("allow", "warn"))
    ):
        base["agent"] = agents
    if any(isinstance(p.get(k), str) for p, _ in ran for k in _COMMAND_KEYS):
        _shell(out, base, ran)
    else:
        _arguments(out, base, ran)
    return out


def _shell(out: Proposal, base: dict[str, Any], ran: list[tuple[dict[str, Any], int]]) -> None:
    from capfence.policy.shell.cache import costed_text

    commands: Counter[str] = Counter()
    for payload, calls in ran:
        command = next((payload[k] for k in _COMMAND_KEYS if isinstance(payload.get(k), str)), None)
        if command is not None:
            commands[command] += calls
    for command, calls in commands.most_common():
        analysis, _ = costed_text(command, 10**6)
        invs = analysis.invocations
        if (
            analysis.error
            or len(invs) != 1
            or invs[0].program is None
            or invs[0].dynamic
            or invs[0].redirects
            or any(not a.static or a.globbing for a in invs[0].args)
        ):
            out.uncovered["not one program with fixed words"] += calls
            continue
        if len(out.rules) >= MOST_RULES:
            out.uncovered[f"more than {MOST_RULES} distinct commands (the rarest are left out)"] += calls
            continue
        inv = invs[0]
        rule = {**base, "command": {"program": inv.program, "argv": [a.text for a in inv.args]}}
        out.rules.append(Proposed(rule, f"exactly {command!r}: {calls} call(s) that ran"))


def _arguments(out: Proposal, base: dict[str, Any], ran: list[tuple[dict[str, Any], int]]) -> None:
    rule = dict(base)
    notes = []
    numbers = _numbers(ran)
    if numbers:
        rule["args"] = {name: {"lte": top} for name, top in numbers.items()}
        notes += [f"{name} <= {top} (the largest seen)" for name, top in numbers.items()]
    hosts = _values(ran, _URL_KEYS, _host)
    if hosts:
        rule["url"] = {"host": hosts}
        notes.append(f"hosts seen: {', '.join(hosts)}")
    dirs = _values(
        ran, _PATH_KEYS, lambda v: posixpath.dirname(v) or None if v.startswith(("/", "~")) else None
    )
    if dirs:
        rule["path"] = {"under": dirs}
        notes.append(f"paths under: {', '.join(dirs)}")
    calls = sum(n for _, n in ran)
    out.rules.append(
        Proposed(rule, f"{calls} call(s) that ran" + (f"; narrowed to {'; '.join(notes)}" if notes else ""))
    )


def _numbers(ran: list[tuple[dict[str, Any], int]]) -> dict[str, int | float]:
    """Top-level arguments that were a number in every call that ran, with the largest value."""
    found: dict[str, int | float] = {}
    for name in {k for p, _ in ran for k in p}:
        values = [p.get(name) for p, _ in ran]
        if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            found[name] = max(v for v in values if isinstance(v, int | float))
    return dict(sorted(found.items()))


def _host(value: str) -> str | None:
    from capfence.policy.url import parse_url

    parsed = parse_url(value)
    return parsed.host if parsed is not None else None


def _values(ran: list[tuple[dict[str, Any], int]], keys: frozenset[str], part: Any) -> list[str]:
    found: set[str] = set()
    for payload, _ in ran:
        for key, value in payload.items():
            if key.lower() in keys:
                piece = part(value) if isinstance(value, str) else None
                if piece is None:
                    return []  # one value that cannot be narrowed: no narrowing on this argument
                found.add(piece)
    return sorted(found) if len(found) <= MOST_VALUES else []


def withdraw_weakening(
    proposals: list[Proposal],
    kept: list[dict[str, Any]],
    in_force: Policy,
    samples: Mapping[tuple[str, str | None], Counter[Sample]],
) -> None:
    """Withdraw every proposed rule that would allow a call the policy in force blocked (recorded, or now)."""
    blocked = list(_blocked(in_force, samples))
    while True:
        draft = _load(kept, proposals, in_force.conditions)
        offenders: dict[str, tuple[int, str]] = {}
        for view, why in blocked:
            decision = _decide(draft, view)
            if decision.allowed and decision.rule is not None and decision.rule.startswith("suggested-"):
                calls, example = offenders.get(decision.rule, (0, why))
                offenders[decision.rule] = (calls + 1, example)
        if not offenders:
            return
        for proposed in _live(proposals):
            found = offenders.get(proposed.rule.get("id", ""))
            if found is not None:
                proposed.withdrawn = (
                    f"it would allow {found[0]} distinct call(s) the policy in force blocked, e.g. {found[1]}"
                )


def _blocked(
    in_force: Policy, samples: Mapping[tuple[str, str | None], Counter[Sample]]
) -> Iterable[tuple[CallView, str]]:
    for (capability, tool), counter in samples.items():
        for text, agent, env, decision in counter:
            try:
                payload = json.loads(text) if text else {}
            except ValueError:
                continue
            if not isinstance(payload, dict):
                continue
            view = CallView(capability, payload, agent, env, tool)
            now = _decide(in_force, CallView(capability, payload, agent, env, tool))
            if decision in BLOCKED or now.action in BLOCKED:
                said = decision if decision in BLOCKED else f"{now.action} now"
                yield view, f"{capability} {text[:80]} ({said})"


def _decide(policy: Policy, view: CallView) -> Decision:
    try:
        return evaluate(policy, view)
    except Exception:  # noqa: BLE001 - evaluation failures deny, as at run time
        return Decision("deny", "evaluation failed")


def _live(proposals: list[Proposal]) -> Iterable[Proposed]:
    return (p for proposal in proposals for p in proposal.rules if p.withdrawn is None)


def number_rules(proposals: list[Proposal]) -> None:
    """Give every proposed rule an id (``suggested-N``), so the check can tell which one allowed a call."""
    for n, proposed in enumerate((p for proposal in proposals for p in proposal.rules), 1):
        proposed.rule = {"id": f"suggested-{n}", **{k: v for k, v in proposed.rule.items() if k != "id"}}


def _load(
    kept: list[dict[str, Any]], proposals: list[Proposal], conditions: Mapping[str, ConditionType]
) -> Policy:
    from capfence.policy.loader import load_policy
    from capfence.policy.recorded import MemoryFile

    document: dict[str, object] = {"default": "deny", "allow": [p.rule for p in _live(proposals)]}
    for section in ("deny", "require_approval"):
        document[section] = [
            {k: v for k, v in r.items() if k != "_section"} for r in kept if r["_section"] == section
        ]
    path = Path("/suggested-draft.yaml")
    return load_policy(path, conditions, files=MemoryFile(path, json.dumps(document, default=str)))
