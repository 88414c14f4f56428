"""Narrow allow rules for the shell calls the shell pack held (``capfence suggest --held``).

A held call is one decided ``require_approval``, or ``warn`` with a reason
starting ``would hold:`` (``packs/shell_observe.yaml``). Each of its commands
is analysed again, and every invocation the catalogue holds
(:func:`~capfence.policy.shell.known.why_held`) becomes, at most, one allow rule
naming its program and its exact arguments::

    - capability: "shell.execute"
      command: {program: "terraform", argv: ["plan", "-out=tfplan"]}

Invocations of one program with the same number of arguments and the same
options are merged: a position where several words were seen accepts any of
those words (``argv: ["-C", "repo", ["a.txt", "b.txt"]]``), never anything
else. So a rule never allows a program with arbitrary arguments. What a rule
cannot express narrowly is listed as a comment and not suggested: a program
or code known only at run time, run-time words, output redirected into a
file, and calls held by a rule other than ``command: {known: false}``
(``systemctl restart``, ``git push --force``: an allow rule cannot lift a
``require_approval`` rule). Allow rules rank below ``deny``, so nothing the
pack denies can be allowed by them.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from capfence.policy.compiled import Policy

WOULD_HOLD = "would hold:"
_GLOB_CHARS = "\\*?[!"


@dataclass
class Use:
    """The held uses of one program with one shape: same capability, argument count and options."""

    capability: str
    program: str
    words: list[set[str]]
    calls: Counter[str] = field(default_factory=Counter)
    """Example command -> how many held calls ran it."""
    reasons: Counter[str] = field(default_factory=Counter)
    agents: Counter[str] = field(default_factory=Counter)


@dataclass
class Held:
    """What ``capfence suggest --held`` found: rules to suggest and what it would not suggest, with why."""

    uses: dict[tuple[str, str, tuple[str, ...]], Use] = field(default_factory=dict)
    skipped: Counter[str] = field(default_factory=Counter)
    """Why a held call (or one of its commands) has no suggestion -> how many."""
    calls: int = 0


def _known_rule(rule_id: str | None, policy: Policy | None) -> bool:
    """Was the call held by a ``command: {known: false}`` rule (the one an allow rule lifts)?"""
    if rule_id is None:
        return False
    if policy is not None:
        for rule in policy.rules:
            if rule.id == rule_id:
                command = rule.spec.get("command")
                return isinstance(command, Mapping) and command.get("known") is False
    return rule_id.endswith("not-known-safe")


def _held(record: Mapping[str, Any]) -> bool:
    decision = record.get("decision")
    if decision == "require_approval":
        return True
    return decision == "warn" and str(record.get("reason") or "").startswith(WOULD_HOLD)


def collect(records: Iterable[Mapping[str, Any]], policy: Policy | None = None) -> Held:
    """Group the held shell uses of ``records`` (audit decision records, every column)."""
    from capfence.call.view import CallView
    from capfence.policy.shell.targets import analyses, fields

    found = Held()
    for record in records:
        if not _held(record):
            continue
        try:
            payload = json.loads(record.get("payload") or "{}")
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            continue
        capability = str(record.get("capability") or "")
        view = CallView(capability, payload, record.get("agent_id"))
        commands = analyses(view, fields())
        if not commands:
            continue
        found.calls += 1
        if not _known_rule(record.get("rule"), policy):
            found.skipped[f"held by rule {record.get('rule')}, which an allow rule cannot lift"] += 1
            continue
        _add_call(found, capability, commands, str(record.get("agent_id") or "unknown agent"))
    return found


def _add_call(found: Held, capability: str, commands: Iterable[Any], agent: str) -> None:
    from capfence.policy.shell.known import why_held

    for analysis in commands:
        if analysis.error is not None:
            found.skipped[f"cannot be parsed: {analysis.error}"] += 1
            continue
        for inv in analysis.invocations:
            reason = why_held(inv)
            if reason is None:
                continue
            unsuitable = _unsuitable(inv)
            if unsuitable is not None:
                found.skipped[f"{unsuitable} ({reason})"] += 1
                continue
            _add_use(found, capability, inv, reason, agent)


def _unsuitable(inv: Any) -> str | None:
    """Why an invocation cannot be allowed by a rule naming its program and arguments, if it cannot."""
    if inv.program is None or inv.dynamic is not None:
        return "what runs is known only at run time"
    if inv.code_from:
        return "runs code produced by another program"
    if any(not arg.static or arg.globbing for arg in inv.args):
        return "has words known only at run time"
    if any(r.writes for r in inv.redirects):
        return "redirects its output into a file (an argv rule does not cover where output goes)"
    return None


def _add_use(found: Held, capability: str, inv: Any, reason: str, agent: str) -> None:
    words = [arg.text for arg in inv.args]
    # the options, in place; operands may vary
    shape = tuple(word if word.startswith("-") else "" for word in words)
    key = (capability, inv.program, shape)
    use = found.uses.get(key)
    if use is None:
        use = found.uses[key] = Use(capability, inv.program, [set() for _ in words])
    for position, word in enumerate(words):
        use.words[position].add(word)
    use.calls[" ".join([inv.program, *words])] += 1
    use.reasons[reason] += 1
    use.agents[agent] += 1


# --- rendering ---------------------------------------------------------------------------------------------------------------


def _literal(word: str) -> str:
    """A glob pattern matching exactly ``word``."""
    return "".join("\\" + c if c in _GLOB_CHARS else c for c in word)


def _q(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _argv(use: Use) -> str:
    items = []
    for seen in use.words:
        patterns = [_q(_literal(word)) for word in sorted(seen)]
        items.append(patterns[0] if len(patterns) == 1 else "[" + ", ".join(patterns) + "]")
    return "[" + ", ".join(items) + "]"


def _top(counter: Counter[str], shown: int = 3) -> str:
    """The most common values, on one line (a comment ends at a line break)."""
    return ", ".join(f"{' '.join(value.split())} ({n})" for value, n in counter.most_common(shown))


def render(found: Held, *, source: str, base: str = "packs/shell.yaml") -> str:
    """The suggestions as YAML: a policy extending ``base`` whose allow rules lift the holds seen."""
    uses = sorted(found.uses.values(), key=lambda u: (-sum(u.calls.values()), u.program, _argv(u)))
    lines = [
        f"# Narrow allow rules for {found.calls} held shell call(s) in {source} (capfence suggest --held).",
        "# Each rule allows one program with exactly the arguments seen (a list: any of the words seen at that position).",
        "# Review them, then paste the ones you accept under allow: in your policy. Deny rules still come first.",
        f"extends: {base}",
    ]
    if found.skipped:
        lines.append("# Not suggested (no narrow rule can express them, or an allow rule cannot lift them):")
        lines += [f"#   {n} x {' '.join(why.split())}" for why, n in found.skipped.most_common()]
    if not uses:
        return "\n".join([*lines, "allow: []"]) + "\n"
    lines.append("allow:")
    for use in uses:
        count = sum(use.calls.values())
        lines.append(
            f"  # {use.program}: {count} held use(s) by {_top(use.agents)}; held because: {_top(use.reasons, 2)}"
        )
        lines.append(f"  #   e.g. {_top(use.calls, 2)}")
        lines.append(f"  - capability: {_q(use.capability)}")
        lines.append(f"    command: {{program: {_q(_literal(use.program))}, argv: {_argv(use)}}}")
    return "\n".join(lines) + "\n"
