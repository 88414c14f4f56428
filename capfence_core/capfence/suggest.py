"""Draft a policy from observed traffic, the way ``audit2allow`` turns observed denials into rules.

One ``allow`` rule per observed (capability, tool), with comments giving the
call counts, the decisions they got, the agents, and the argument values
seen; the ``deny`` and ``require_approval`` rules of the policy the traffic
was recorded under (``--policy``) are kept as they are; ``default: deny``.
Groups whose calls were all blocked get a commented-out allow rule only: a
human decides whether to allow them.

Every observed call that ran (allow or warn) is matched by its group's allow
rule, and the kept rules blocked none of them when they were recorded, so
replaying the observed traffic against the draft shows no stricter
call (provided ``--policy`` is the policy the traffic was recorded under).
It is a draft: the allow rules permit everything the agents did, including
what they should not have done. Read it, narrow it, then ``capfence replay``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from capfence.policy.model import Policy

DISTINCT_LIMIT = 1000
"""Distinct values tracked per argument (memory stays bounded on large logs)."""
SHOWN = 3
ALLOWED = frozenset({"allow", "warn"})
_COMMAND_FIELDS = frozenset({"command", "cmd", "commands", "script", "args", "argv"})


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
        if name.lower() in _COMMAND_FIELDS and isinstance(value, str) and value.split():
            self._count(self.programs, value.split()[0].rsplit("/", 1)[-1])

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
    unreadable: int = 0

    @property
    def ran(self) -> int:
        return sum(n for d, n in self.decisions.items() if d in ALLOWED)

    def add(self, payload_text: str | None, agent: str | None, decision: str | None) -> None:
        self.calls += 1
        self.decisions[decision or "(none)"] += 1
        if agent and (agent in self.agents or len(self.agents) < DISTINCT_LIMIT):
            self.agents[agent] += 1
        try:
            payload = json.loads(payload_text) if payload_text else {}
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            self.unreadable += 1
            return
        for name, value in payload.items():
            if name not in self.arguments and len(self.arguments) >= 50:
                continue
            self.arguments.setdefault(name, Argument()).add(name, value)


def observe(calls: Iterable[tuple[Any, ...]]) -> list[Group]:
    """Group calls given as ``capfence.audit.reader.CALL_FIELDS`` tuples."""
    groups: dict[tuple[str, str | None], Group] = {}
    for _seq, capability, payload, agent, _env, tool, decision, _truncated, _redacted in calls:
        if not capability:
            continue
        key = (str(capability), tool)
        group = groups.get(key)
        if group is None:
            group = groups[key] = Group(str(capability), tool)
        group.add(payload, agent, decision)
    return sorted(groups.values(), key=lambda g: (g.capability, g.tool is None, g.tool or ""))


# --- rendering ---------------------------------------------------------------

def _q(text: str) -> str:
    """A YAML scalar for ``text`` (a JSON string is a valid YAML double-quoted scalar)."""
    return json.dumps(text, ensure_ascii=False)


def _short(text: str, width: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _top(counter: Counter[str]) -> str:
    return ", ".join(f"{_short(value) if value else repr(value)} ({n})" for value, n in counter.most_common(SHOWN))


def _argument_lines(name: str, arg: Argument) -> list[str]:
    distinct = f"{len(arg.values)}{'+' if arg.overflow else ''} distinct"
    lines = [f"#   {name}: {distinct}, e.g. {_top(arg.values)}"]
    if arg.programs:
        lines.append(f"#   {name} programs: {_top(arg.programs)}")
    if arg.numbers:
        lines.append(f"#   {name} range: {arg.numbers[0]} .. {arg.numbers[1]} (e.g. args: {{{name}: {{lte: {arg.numbers[1]}}}}})")
    return lines


def _expressible(name: str | None) -> bool:
    from capfence.policy.globs import check_name_glob, is_glob
    from capfence.policy.spec import SpecError

    if name is None:
        return True
    try:
        check_name_glob(name, "name")
    except SpecError:
        return False
    return not is_glob(name)


def _group_lines(group: Group) -> list[str]:
    decisions = ", ".join(f"{n} {d}" for d, n in group.decisions.most_common())
    via = f" via tool {group.tool}" if group.tool else ""
    lines = [f"  # {group.capability}{via}: {group.calls} call(s) ({decisions}) by {_top(group.agents) or 'unknown agents'}"]
    lines += ["  " + line for name, arg in group.arguments.items() for line in _argument_lines(name, arg)]
    rule = [f"- capability: {_q(group.capability)}"] + ([f"  tool: {_q(group.tool)}"] if group.tool else [])
    if not _expressible(group.capability) or not _expressible(group.tool):
        return [*lines, "  # (not expressible as an exact rule: the name contains characters a policy name cannot have)"]
    if not group.ran:
        lines.append("  # every call was blocked when recorded; uncomment to allow:")
        return lines + [f"  # {line}" for line in rule]
    return lines + [f"  {line}" for line in rule]


def _kept(policy: Policy | None, section: str) -> list[str]:
    import yaml

    if policy is None:
        return [f"{section}: []"]
    rules = [dict(rule.spec) for rule in policy.rules if rule.section == section]
    if not rules:
        return [f"{section}: []"]
    body = yaml.safe_dump(rules, sort_keys=False, allow_unicode=True, default_flow_style=False).rstrip().splitlines()
    return [f"{section}:", f"  # kept from {policy.path}", *(f"  {line}" for line in body)]


def render(groups: list[Group], *, source: str, policy: Policy | None) -> str:
    """The draft policy as YAML text with comments."""
    total = sum(g.calls for g in groups)
    header = [
        f"# Draft policy from {total} observed call(s) in {source} (capfence suggest).",
        "# Review it: each allow rule lets through everything the agents were seen doing.",
        "# Prove it against the observed traffic before enforcing:",
        f"#   capfence export --audit-log {source} -o observed.jsonl",
        "#   capfence replay observed.jsonl --policy THIS_FILE --fail-on stricter",
    ]
    if policy is None:
        header.append("# (no --policy given: no deny or require_approval rules were kept)")
    allow = ["allow:"] + [line for group in groups for line in _group_lines(group)] if groups else ["allow: []"]
    return "\n".join([*header, "default: deny", "", *_kept(policy, "deny"), "", *_kept(policy, "require_approval"), "", *allow]) + "\n"
