"""Draft a policy from observed traffic, the way ``audit2allow`` turns observed denials into rules, without weakening.

The draft keeps every ``deny`` and ``require_approval`` rule of the policy in force (the one the records' policy
digest names, whose text the runtime files in the audit store, or ``--policy``; shadow rules are not in force and are
left out) and ``default: deny``, and proposes the narrowest ``allow`` rules that cover what ran
(:mod:`capfence.offline.suggest_rules`), each with the calls it covers and how it is narrowed. A proposed rule that would
allow a call the policy in force denied or held is withdrawn, and shown commented out with why. Groups whose calls
were all blocked get no rule: a human decides. It is a draft: read it, then ``capfence replay``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from capfence.offline.jsonparse import exact_parser, loads_with
from capfence.offline.suggest_rules import Proposal
from capfence.policy.compiled import Policy

DISTINCT_LIMIT = 1000
SAMPLES = 20000
"""Distinct calls kept per group to check the draft against; a group with more gets no rule (it cannot be checked)."""
"""Distinct values tracked per argument (memory stays bounded on large logs)."""
SHOWN = 3
ALLOWED = frozenset({"allow", "warn"})
_COMMAND_FIELDS = frozenset({"command", "cmd", "commands", "script", "args", "argv"})
_loads = loads_with(exact_parser())


@dataclass
class Argument:
    """What one top-level payload field looked like across a group's calls."""

    values: Counter[str] = field(default_factory=Counter)
    programs: Counter[str] = field(default_factory=Counter)
    kinds: Counter[str] = field(default_factory=Counter)
    numbers: list[float] = field(default_factory=list)
    """[min, max] of numeric values."""
    overflow: int = 0

    def add(self, name: str, value: Any) -> None:
        self.kinds[type(value).__name__] += 1
        if isinstance(value, int | float) and not isinstance(value, bool):
            self.numbers = [min([value, *self.numbers[:1]]), max([value, *self.numbers[1:]])]
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)
        self._count(self.values, text)
        if isinstance(value, str) and name.lower() in _COMMAND_FIELDS:
            words = value.split(None, 1)
            if words:
                self._count(self.programs, words[0].rsplit("/", 1)[-1])

    def _count(self, counter: Counter[str], text: str) -> None:
        if text in counter or len(counter) < DISTINCT_LIMIT:
            counter[text] += 1
        else:
            self.overflow += 1


@dataclass
class Group:
    """The observed calls of one (capability, tool)."""

    capability: str
    tool: str | None
    calls: int = 0
    decisions: Counter[str] = field(default_factory=Counter)
    agents: Counter[str] = field(default_factory=Counter)
    arguments: dict[str, Argument] = field(default_factory=dict)
    samples: Counter[tuple[str, str | None, str | None, str]] = field(default_factory=Counter)
    """Distinct calls (payload, agent, environment, decision), to check the draft against (at most :data:`SAMPLES`)."""
    unsampled: int = 0

    @property
    def ran(self) -> int:
        return sum(n for d, n in self.decisions.items() if d in ALLOWED)

    def add(
        self,
        payload_text: str | None,
        agent: str | None,
        decision: str | None,
        environment: str | None = None,
    ) -> None:
        self.calls += 1
        sample = (payload_text or "", agent, environment, decision or "(none)")
        if sample in self.samples or len(self.samples) < SAMPLES:
            self.samples[sample] += 1
        else:
            self.unsampled += 1
        self.decisions[decision or "(none)"] += 1
        if agent and (agent in self.agents or len(self.agents) < DISTINCT_LIMIT):
            self.agents[agent] += 1
        try:
            payload = _loads(payload_text) if payload_text else {}
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            return
        arguments = self.arguments
        for name, value in payload.items():
            argument = arguments.get(name)
            if argument is None:
                if len(arguments) >= 50:
                    continue
                argument = arguments[name] = Argument()
            argument.add(name, value)


def observe(calls: Iterable[tuple[Any, ...]]) -> list[Group]:
    """Group calls given as ``capfence.audit.reader.CALL_FIELDS`` tuples."""
    groups: dict[tuple[str, str | None], Group] = {}
    for _seq, capability, payload, agent, env, tool, decision, _truncated, _redacted in calls:
        if not capability:
            continue
        key = (str(capability), tool)
        group = groups.get(key)
        if group is None:
            group = groups[key] = Group(str(capability), tool)
        group.add(payload, agent, decision, env)
    return sorted(groups.values(), key=lambda g: (g.capability, g.tool is None, g.tool or ""))


# --- rendering ---------------------------------------------------------------


def _q(text: str) -> str:
    """A YAML scalar for ``text`` (a JSON string is a valid YAML double-quoted scalar)."""
    return json.dumps(text, ensure_ascii=False)


def _short(text: str, width: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _top(counter: Counter[str]) -> str:
    return ", ".join(
        f"{_short(value) if value else repr(value)} ({n})" for value, n in counter.most_common(SHOWN)
    )


def _argument_lines(name: str, arg: Argument) -> list[str]:
    distinct = f"{len(arg.values)}{'+' if arg.overflow else ''} distinct"
    lines = [f"#   {name}: {distinct}, e.g. {_top(arg.values)}"]
    if arg.programs:
        lines.append(f"#   {name} programs: {_top(arg.programs)}")
    if arg.numbers:
        lines.append(
            f"#   {name} range: {arg.numbers[0]} .. {arg.numbers[1]} (e.g. args: {{{name}: {{lte: {arg.numbers[1]}}}}})"
        )
    return lines


def _expressible(name: str | None) -> bool:
    from capfence.policy.patterns import check_name_glob, is_glob
    from capfence.policy.spec import SpecError

    if name is None:
        return True
    try:
        check_name_glob(name, "name")
    except SpecError:
        return False
    return not is_glob(name)


def _group_lines(group: Group, proposal: Proposal) -> list[str]:
    decisions = ", ".join(f"{n} {d}" for d, n in group.decisions.most_common())
    via = f" via tool {group.tool}" if group.tool else ""
    lines = [
        f"  # {group.capability}{via}: {group.calls} call(s) ({decisions}) by {_top(group.agents) or 'unknown agents'}"
    ]
    lines += ["  " + line for name, arg in group.arguments.items() for line in _argument_lines(name, arg)]
    if not _expressible(group.capability) or not _expressible(group.tool):
        return [
            *lines,
            "  # (not expressible as an exact rule: the name contains characters a policy name cannot have)",
        ]
    if not group.ran:
        return [
            *lines,
            "  # every call was blocked when recorded: no rule proposed (a person decides whether to allow any)",
        ]
    for proposed in proposal.rules:
        body = _yaml([proposed.rule])
        if proposed.withdrawn is None:
            lines += [f"  # {proposed.why}", *(f"  {line}" for line in body)]
        else:
            lines += [
                f"  # withdrawn: {proposed.withdrawn}",
                f"  #   ({proposed.why})",
                *(f"  # {line}" for line in body),
            ]
    lines += [
        f"  # not covered: {calls} call(s) that ran: {why}" for why, calls in proposal.uncovered.items()
    ]
    return lines


def _yaml(value: object) -> list[str]:
    import yaml

    return (
        yaml.safe_dump(value, sort_keys=False, allow_unicode=True, default_flow_style=None, width=200)
        .rstrip()
        .splitlines()
    )


def kept_rules(policy: Policy) -> list[dict[str, Any]]:
    """The deny and require_approval rules in force (shadow rules are not), as written, with their section."""
    return [
        {**rule.spec, "_section": rule.section}
        for rule in policy.rules
        if rule.section in ("deny", "require_approval") and rule.mode == "enforce"
    ]


def _kept(kept: list[dict[str, Any]], section: str, origin: str) -> list[str]:
    rules = [
        {k: v for k, v in rule.items() if k != "_section"} for rule in kept if rule["_section"] == section
    ]
    if not rules:
        return [f"{section}: []"]
    return [
        f"{section}:",
        f"  # kept from {origin}: every {section} rule in force",
        *(f"  {line}" for line in _yaml(rules)),
    ]


def draft(groups: list[Group], policy: Policy) -> tuple[list[dict[str, Any]], list[Proposal]]:
    """The kept rules and the proposed allow rules, checked: none allows a call the policy in force blocked."""
    from capfence.offline.suggest_rules import number_rules, propose, withdraw_weakening

    kept = kept_rules(policy)
    proposals = [
        propose(g.capability, g.tool, g.samples)
        if _expressible(g.capability) and _expressible(g.tool)
        else Proposal(g.capability, g.tool)
        for g in groups
    ]
    number_rules(proposals)
    for group, proposal in zip(groups, proposals, strict=True):
        if group.unsampled:
            for proposed in proposal.rules:
                proposed.withdrawn = f"more than {SAMPLES} distinct calls: they cannot all be checked"
    withdraw_weakening(proposals, kept, policy, {(g.capability, g.tool): g.samples for g in groups})
    return kept, proposals


def render(groups: list[Group], *, source: str, policy: Policy, origin: str) -> str:
    """The draft policy as YAML text with comments."""
    kept, proposals = draft(groups, policy)
    total = sum(g.calls for g in groups)
    proposed = sum(1 for p in proposals for r in p.rules if r.withdrawn is None)
    header = [
        f"# Draft policy from {total} observed call(s) in {source} (capfence suggest).",
        f"# Policy in force: {origin}; its deny and require_approval rules are kept,",
        f"# and none of the {proposed} proposed allow rule(s) allows a call it denied or held.",
        "# Prove it against the observed traffic before enforcing:",
        f"#   capfence export --audit-log {source} -o observed.jsonl",
        "#   capfence replay observed.jsonl --policy THIS_FILE --fail-on stricter",
    ]
    allow = (
        ["allow:"] + [line for g, p in zip(groups, proposals, strict=True) for line in _group_lines(g, p)]
        if groups
        else ["allow: []"]
    )
    body = [
        *header,
        "default: deny",
        "",
        *_kept(kept, "deny", origin),
        "",
        *_kept(kept, "require_approval", origin),
        "",
        *allow,
    ]
    return "\n".join(body) + "\n"
