"""Policy lint: rules that are valid but probably not what the author meant.

Each check is a function from a compiled :class:`~capfence.policy.compiled.Policy`
to :class:`Finding` values; :func:`lint` runs them all. The checks:

``shadowed``
    An earlier rule of the same or a stronger section matches every call this
    rule matches (same or wider capability, a subset of its conditions), so
    this rule never decides anything.
``never-matches``
    The rule's own conditions contradict each other (``args: {n: {gt: 10, lt: 5}}``,
    ``path: {under: /etc, not_under: /}``).
``contains-on-shell``
    ``contains``/``matches`` on a shell capability: plain text is evaded by
    respelling the same command (``rm -fr``, ``rm -r -f``, ``r""m``); the
    shell-aware ``command:`` condition parses the command line instead.
``no-default``
    The policy does not say what happens to a call no rule matches (it is
    denied); say ``default: deny`` or, while observing, ``default: warn``.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from capfence.call.view import normalize_text
from capfence.policy.compiled import Policy, Rule
from capfence.policy.paths import is_under, normalize_path
from capfence.policy.patterns import is_glob

NOT_CONDITIONS = frozenset({"capability", "id", "reason", "approval_timeout", "mode", "examples"})
_SHELL_NAME = re.compile(
    r"(^|[._:/-])(shell|bash|zsh|sh|exec|execute|cmd|command|commands|terminal|subprocess)([._:/-]|$)", re.I
)
_SHELL_SAMPLES = ("shell.execute", "shell.run", "bash.run", "terminal.execute", "exec.command")
_PROGRAM = re.compile(r"^[A-Za-z0-9_.+-]+$")
_SHORT_FLAGS = re.compile(r"^-([A-Za-z]{2,})$")


@dataclass(frozen=True)
class Finding:
    """One lint warning, located at the rule (or file) it is about."""

    path: str
    line: int | None
    code: str
    message: str
    rule: str | None = None
    hint: str | None = None

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        subject = f"{self.rule}: " if self.rule else ""
        hint = f" ({self.hint})" if self.hint else ""
        return f"{where}: warning: {subject}{self.message}{hint} [{self.code}]"


def conditions(rule: Rule) -> dict[str, object]:
    """The rule's conditions as written (everything but capability, id, reason, approval_timeout)."""
    return {key: value for key, value in rule.spec.items() if key not in NOT_CONDITIONS}


def _finding(rule: Rule, code: str, message: str, hint: str | None = None) -> Finding:
    return Finding(rule.source, rule.line, code, message, rule.id, hint)


# --- shadowed ---------------------------------------------------------------


def covers(wide: str, narrow: str) -> bool:
    """Every capability ``narrow`` matches, ``wide`` matches too (conservative: may say no when it is yes)."""
    if wide in (narrow, "*"):
        return True
    if not is_glob(wide) or "[" in wide or (is_glob(narrow) and "?" in wide):
        return False
    return fnmatch.fnmatchcase(narrow, wide)


def _as_list(value: object) -> object:
    return value if isinstance(value, list) else [value]


def _subset(general: Mapping[str, object], specific: Mapping[str, object]) -> bool:
    return all(
        key in specific and _as_list(specific[key]) == _as_list(value) for key, value in general.items()
    )


def shadowed(policy: Policy) -> Iterator[Finding]:
    ordered = sorted(policy.rules, key=lambda r: r.rank)
    for index, rule in enumerate(ordered):
        mine = conditions(rule)
        for earlier in ordered[:index]:
            if earlier.mode == "shadow":
                continue  # it never decides, so it hides nothing
            if covers(earlier.capability, rule.capability) and _subset(conditions(earlier), mine):
                where = (
                    f"line {earlier.line}"
                    if earlier.source == rule.source
                    else f"{earlier.source}:{earlier.line}"
                )
                yield _finding(
                    rule,
                    "shadowed",
                    f"never decides: {earlier.id} ({earlier.section}, {where}) matches every call it matches",
                    "remove it, or move it above, or narrow the earlier rule",
                )
                break


# --- never-matches ------------------------------------------------------------


def _bounds(ops: Mapping[str, object]) -> bool:
    """True when numeric comparisons on one field can all hold together."""
    low, low_open, high, high_open = Decimal("-Infinity"), False, Decimal("Infinity"), False
    values = {
        op: Decimal(str(v)) for op, v in ops.items() if isinstance(v, int | float) and not isinstance(v, bool)
    }
    for op, value in values.items():
        if op in ("gt", "gte", "eq") and (value > low or (value == low and op == "gt")):
            low, low_open = value, op == "gt"
        if op in ("lt", "lte", "eq") and (value < high or (value == high and op == "lt")):
            high, high_open = value, op == "lt"
    if low > high or (low == high and (low_open or high_open)):
        return False
    return not ("eq" in values and "ne" in values and values["eq"] == values["ne"])


def _impossible_args(spec: object) -> str | None:
    if not isinstance(spec, dict):
        return None
    for field, ops in spec.items():
        if isinstance(ops, dict) and not _bounds(ops):
            return f"args.{field}: no number satisfies {ops}"
    return None


def _impossible_path(spec: object) -> str | None:
    if not isinstance(spec, dict) or "under" not in spec or "not_under" not in spec:
        return None
    under = [normalize_path(p) or p for p in map(str, _as_list(spec["under"]))]  # type: ignore[call-overload]
    not_under = [normalize_path(p) or p for p in map(str, _as_list(spec["not_under"]))]  # type: ignore[call-overload]
    if all(any(is_under(u, n) for n in not_under) for u in under):
        return f"path: everything under {spec['under']} is also under not_under {spec['not_under']}"
    return None


def never_matches(policy: Policy) -> Iterator[Finding]:
    for rule in policy.rules:
        spec = conditions(rule)
        why = _impossible_args(spec.get("args")) or _impossible_path(spec.get("path"))
        if why:
            yield _finding(
                rule, "never-matches", f"can never match: {why}", "fix the bounds, or delete the rule"
            )


# --- contains-on-shell ----------------------------------------------------------


def is_shell_capability(pattern: str) -> bool:
    return bool(_SHELL_NAME.search(pattern)) or any(
        fnmatch.fnmatchcase(name, pattern) for name in _SHELL_SAMPLES
    )


def respellings(needle: str) -> list[str]:
    """Ways to write the same shell command that ``contains: needle`` does not see."""
    words = needle.split()
    if not words:
        return []
    head, rest = words[0], words[1:]
    candidates = [
        " ".join([f'{head[0]}""{head[1:]}', *rest]) if len(head) > 1 else "",
        " ".join([f"\\{head}", *rest]),
    ]
    for i, word in enumerate(rest):
        flags = _SHORT_FLAGS.match(word)
        if flags:
            letters = flags.group(1)
            candidates.insert(
                0, " ".join([head, *rest[:i], " ".join(f"-{c}" for c in letters), *rest[i + 1 :]])
            )
            candidates.insert(0, " ".join([head, *rest[:i], f"-{letters[::-1]}", *rest[i + 1 :]]))
    target = normalize_text(needle)
    return [c for c in dict.fromkeys(candidates) if c and target not in normalize_text(c)][:3]


def command_equivalent(needle: str) -> str | None:
    """The ``command:`` condition that says what ``contains: needle`` means, e.g. ``{program: rm, flags: [-r, -f]}``."""
    words = needle.split()
    if not words or not _PROGRAM.match(words[0]):
        return None
    flags = [f"-{c}" for word in words[1:] if (m := _SHORT_FLAGS.match(word)) for c in m.group(1)]
    flags += [word for word in words[1:] if word.startswith("--")]
    return f"command: {{program: {words[0]}" + (f", flags: [{', '.join(flags)}]" if flags else "") + "}"


def _example_for(needle: str, registered: str | None) -> str | None:
    """The registered example when it is about the same program (it spells out synonyms), else one derived from the needle."""
    derived = command_equivalent(needle)
    if derived is None or (registered and f"program: {needle.split(maxsplit=1)[0]}," in registered):
        return registered
    return derived


def contains_on_shell(policy: Policy, command_example: str | None = None) -> Iterator[Finding]:
    for rule in policy.rules:
        if rule.section == "allow" or not is_shell_capability(rule.capability):
            continue
        for key in ("contains", "matches"):
            for needle in map(str, _as_list(rule.spec.get(key, []))):  # type: ignore[call-overload]
                evasions = respellings(needle) if key == "contains" else []
                how = f" such as {', '.join(repr(e) for e in evasions)}" if evasions else ""
                message = (
                    f"{key} {needle!r} on {rule.capability} is text matching, evaded by respellings{how}"
                )
                example = _example_for(needle, command_example) if key == "contains" else command_example
                hint = "use the shell-aware command: condition" + (f", e.g. {example}" if example else "")
                yield _finding(rule, "contains-on-shell", message, hint)


# --- no-default -------------------------------------------------------------------


def declares_default(path: Path) -> bool:
    from capfence.policy.source import read_source

    data = read_source(path).data
    return isinstance(data, dict) and "default" in data


def no_default(policy: Policy) -> Iterator[Finding]:
    if not any(declares_default(path) for path in policy.files):
        root = str(policy.files[0]) if policy.files else str(policy.path)
        yield Finding(
            root,
            None,
            "no-default",
            "no 'default:': calls that no rule matches are denied",
            hint="write 'default: deny' to say so, or 'default: warn' while observing",
        )


Check = Callable[[Policy], Iterator[Finding]]


def lint(policy: Policy, *, command_example: str | None = None) -> list[Finding]:
    """Every finding for ``policy``, in rule order within each check."""
    checks: list[Check] = [
        shadowed,
        never_matches,
        lambda p: contains_on_shell(p, command_example),
        no_default,
    ]
    return [finding for check in checks for finding in check(policy)]
