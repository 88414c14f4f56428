"""Load, validate and compile a policy file (and the files it ``extends``).

Validation collects *every* problem before failing, so ``capfence check`` can
report them all; :func:`load_policy` raises one :class:`~capfence.PolicyError`
carrying the list. Each problem names the file, line, column, key path and,
for near-miss keys, a did-you-mean.

Layering: ``extends: base.yaml`` (or a list) is resolved relative to the
including file. The including file's rules come first in each section, then
the bases' in the order listed; the including file's ``default``,
``max_payload_bytes`` and ``approval_timeout`` win; ``redact`` lists are
merged. Rules from an extended file get ids prefixed with its stem
(``base:deny[0]``) so the including file's ids stay stable.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from capfence.call.decision import ACTIONS, Action
from capfence.durations import parse_duration
from capfence.errors import PolicyError, PolicyProblem
from capfence.policy.compiled import Policy, Rule
from capfence.policy.conditions import did_you_mean
from capfence.policy.examples import check_examples
from capfence.policy.limits import Limit, compile_limit
from capfence.policy.patterns import check_name_glob, is_glob, name_matcher
from capfence.policy.source import DISK, KeyPath, PolicyFiles, Source, read_source
from capfence.policy.spec import CompileContext, Condition, ConditionType, SpecError

SECTIONS: tuple[str, ...] = ACTIONS
TOP_KEYS = (
    *SECTIONS,
    "default",
    "extends",
    "redact",
    "max_payload_bytes",
    "approval_timeout",
    "version",
    "description",
)
RULE_KEYS = ("capability", "id", "reason", "approval_timeout", "mode", "limit", "examples")
MODES = ("enforce", "shadow")
DEFAULTS = ("deny", "warn")
DEFAULT_REDACT = frozenset(
    {
        "password",
        "passwd",
        "secret",
        "client_secret",
        "token",
        "access_token",
        "refresh_token",
        "api_key",
        "apikey",
        "authorization",
        "private_key",
        "cookie",
    }
)


@dataclass
class _Merged:
    rules: list[Rule] = field(default_factory=list)
    default: Action | None = None
    redact: set[str] = field(default_factory=set)
    max_payload_bytes: int | None = None
    approval_timeout: float | None = None
    files: list[Path] = field(default_factory=list)
    canonical: list[object] = field(default_factory=list)


class _Compiler:
    def __init__(self, conditions: Mapping[str, ConditionType], files: PolicyFiles) -> None:
        self.conditions = conditions
        self.files = files
        self.merged = _Merged()
        self.problems: list[PolicyProblem] = []
        self.allow_rules: list[Rule] = []

    def load(self, path: Path, prefix: str, chain: tuple[Path, ...]) -> None:
        path = path.resolve()
        if path in chain:
            names = " -> ".join(p.name for p in (*chain, path))
            self.problems.append(
                PolicyProblem(str(chain[-1]), None, None, "extends", f"extends cycle: {names}")
            )
            return
        source = read_source(path, self.files)
        self.merged.files.append(path)
        if not source.problems:
            self._top(source, prefix, (*chain, path))
        self.problems.extend(source.problems)

    def _top(self, source: Source, prefix: str, chain: tuple[Path, ...]) -> None:
        data = source.data
        if not isinstance(data, dict):
            source.problem(
                (),
                f"a policy must be a mapping of sections, got {type(data).__name__}",
                "start with 'deny:', 'warn:' or 'allow:'",
            )
            return
        for key in data:
            if key not in TOP_KEYS:
                source.problem(
                    (str(key),),
                    "unknown top-level key",
                    did_you_mean(str(key), TOP_KEYS) or "sections are deny, require_approval, warn, allow",
                )
        self.merged.canonical.append(data)
        self._settings(source, data)
        for section in SECTIONS:
            if section in data:
                self._section(source, cast(Action, section), data[section], prefix)
        for key, base in self._extends(source, data):
            if base in chain:
                names = " -> ".join(p.name for p in (*chain, base))
                source.problem(
                    key,
                    f"extends cycle: {names}",
                    "a policy cannot extend itself, directly or through another file",
                )
            elif base not in self.merged.files:  # a file reached twice (A -> B, C -> D) is layered once
                self.load(base, base.stem + ":", chain)

    def _settings(self, source: Source, data: dict[object, object]) -> None:
        merged = self.merged
        if "default" in data:
            value = data["default"]
            if value not in DEFAULTS:
                hint = (
                    "write an allow rule with capability: '*' to allow by default"
                    if value == "allow"
                    else "use deny or warn"
                )
                source.problem(("default",), f"default must be deny or warn, got {value!r}", hint)
            elif merged.default is None:
                merged.default = cast(Action, value)
        if "redact" in data:
            try:
                merged.redact.update(s.lower() for s in _strings(data["redact"]))
            except SpecError as exc:
                source.problem(("redact", *exc.key), exc.message, "e.g. redact: [password, api_key]")
        if "max_payload_bytes" in data:
            value = data["max_payload_bytes"]
            if isinstance(value, bool) or not isinstance(value, int) or value < 256:
                source.problem(
                    ("max_payload_bytes",), f"max_payload_bytes must be an integer >= 256, got {value!r}"
                )
            elif merged.max_payload_bytes is None:
                merged.max_payload_bytes = value
        if "approval_timeout" in data:
            seconds = _duration(source, ("approval_timeout",), data["approval_timeout"])
            if seconds is not None and merged.approval_timeout is None:
                merged.approval_timeout = seconds

    def _extends(self, source: Source, data: dict[object, object]) -> list[tuple[KeyPath, Path]]:
        if "extends" not in data:
            return []
        try:
            names = _strings(data["extends"])
        except SpecError as exc:
            source.problem(("extends", *exc.key), exc.message, "e.g. extends: packs/shell.yaml")
            return []
        out: list[tuple[KeyPath, Path]] = []
        for i, name in enumerate(names):
            target = (source.path.parent / name).resolve()
            key: KeyPath = ("extends", i) if isinstance(data["extends"], list) else ("extends",)
            if not self.files.is_file(target):
                source.problem(key, f"extended policy {name!r} not found (looked for {target})")
            else:
                out.append((key, target))
        return out

    def _section(self, source: Source, section: Action, rules: object, prefix: str) -> None:
        if rules is None:
            return
        if not isinstance(rules, list):
            source.problem(
                (section,),
                f"a section must be a list of rules, got {type(rules).__name__}",
                f"write '{section}:' followed by '- capability: ...' lines",
            )
            return
        context = CompileContext(
            section=section, policy_dir=str(source.path.parent), allow_rules=self.allow_rules
        )
        for index, raw in enumerate(rules):
            rule = self._rule(source, context, section, index, raw, prefix)
            if rule is not None:
                self.merged.rules.append(rule)
                if (
                    section == "allow"
                    and rule.mode == "enforce"
                    and any(key == "command" for key, _ in rule.conditions)
                ):
                    self.allow_rules.append(rule)

    def _rule(
        self, source: Source, context: CompileContext, section: Action, index: int, raw: object, prefix: str
    ) -> Rule | None:
        where: KeyPath = (section, index)
        if not isinstance(raw, dict):
            source.problem(
                where,
                f"a rule must be a mapping, got {type(raw).__name__} {raw!r}",
                f"write '- capability: {raw}'" if isinstance(raw, str) else None,
            )
            return None
        if not raw:
            source.problem(where, "empty rule", "a rule needs at least 'capability:'")
            return None
        before = len(source.problems)
        capability = self._capability(source, where, raw)
        conditions = self._conditions(source, context, where, raw)
        rule_id = self._rule_id(source, where, raw, prefix)
        reason = raw.get("reason")
        if reason is not None and not isinstance(reason, str):
            source.problem((*where, "reason"), "reason must be a string")
        timeout = (
            _duration(source, (*where, "approval_timeout"), raw["approval_timeout"])
            if "approval_timeout" in raw
            else None
        )
        mode = _mode(source, where, raw)
        limit = _limit(source, where, raw, section)
        if len(source.problems) > before or capability is None:
            return None
        line, _ = source.where(where)
        rule = Rule(
            id=rule_id,
            section=section,
            order=len(self.merged.rules),
            capability=capability,
            reason=reason if isinstance(reason, str) else _describe(section, raw),
            conditions=tuple(conditions),
            source=str(source.path),
            line=line,
            approval_timeout=timeout,
            spec={str(k): v for k, v in raw.items()},
            mode=mode,
            limit=limit,
            owners=self._owners(conditions),
        )
        if "examples" in raw:
            for exc in check_examples(rule, raw["examples"]):
                source.problem((*where, "examples", *exc.key), exc.message, exc.hint)
        return rule

    def _owners(self, conditions: list[tuple[str, Condition]]) -> dict[str, str]:
        owners = ((key, self.conditions[key].plugin) for key, _ in conditions)
        return {key: plugin for key, plugin in owners if plugin is not None}

    def _capability(self, source: Source, where: KeyPath, raw: dict[object, object]) -> str | None:
        if "capability" not in raw:
            near = next((str(k) for k in raw if did_you_mean(str(k), ["capability"])), None)
            hint = (
                f"{near!r}: did you mean 'capability'?"
                if near
                else "add 'capability: shell.execute' (or a glob such as 'shell.*')"
            )
            source.problem(where, "rule has no capability", hint)
            return None
        try:
            return check_name_glob(raw["capability"], "capability")
        except SpecError as exc:
            source.problem((*where, "capability"), exc.message, exc.hint)
            return None

    def _conditions(
        self, source: Source, context: CompileContext, where: KeyPath, raw: dict[object, object]
    ) -> list[tuple[str, Condition]]:
        out: list[tuple[str, Condition]] = []
        for key, value in raw.items():
            if key in RULE_KEYS:
                continue
            kind = self.conditions.get(str(key))
            if kind is None:
                known = [*RULE_KEYS, *self.conditions]
                source.problem(
                    (*where, str(key)),
                    "unknown rule key",
                    did_you_mean(str(key), known) or "known keys: " + ", ".join(known),
                )
                continue
            try:
                out.append((str(key), kind.compile(value, context)))
            except SpecError as exc:
                source.problem((*where, str(key), *exc.key), exc.message, exc.hint or f"e.g. {kind.example}")
        return out

    def _rule_id(self, source: Source, where: KeyPath, raw: dict[object, object], prefix: str) -> str:
        explicit = raw.get("id")
        if explicit is None:
            return f"{prefix}{where[0]}[{where[1]}]"
        if not isinstance(explicit, str) or not explicit.strip():
            source.problem((*where, "id"), "id must be a non-empty string")
            return f"{prefix}{where[0]}[{where[1]}]"
        if any(r.id == explicit for r in self.merged.rules):
            source.problem((*where, "id"), f"duplicate rule id {explicit!r}")
        return explicit


def _mode(source: Source, where: KeyPath, raw: dict[object, object]) -> str:
    mode = raw.get("mode", "enforce")
    if mode not in MODES:
        source.problem(
            (*where, "mode"),
            f"mode must be enforce or shadow, got {mode!r}",
            did_you_mean(str(mode), MODES)
            or "mode: shadow records what the rule would decide without deciding",
        )
        return "enforce"
    if mode == "shadow" and "limit" in raw:
        source.problem(
            (*where, "mode"), "a shadow rule cannot have a limit", "stage the limit as a warn rule instead"
        )
    return str(mode)


def _limit(source: Source, where: KeyPath, raw: dict[object, object], section: str) -> Limit | None:
    if "limit" not in raw:
        return None
    try:
        return compile_limit(raw["limit"], section)
    except SpecError as exc:
        source.problem(
            (*where, "limit", *exc.key), exc.message, exc.hint or "e.g. limit: {max: 20, per: 1m, by: agent}"
        )
        return None


def _strings(value: object) -> list[str]:
    items = value if isinstance(value, list) else [value]
    for i, item in enumerate(items):
        if not isinstance(item, str) or not item:
            raise SpecError(
                f"expected a string or a list of strings, got {item!r}",
                key=(i,) if isinstance(value, list) else (),
            )
    return cast(list[str], items)


def _duration(source: Source, key: KeyPath, value: object) -> float | None:
    try:
        return parse_duration(value)
    except ValueError as exc:
        source.problem(key, str(exc))
        return None


_NOT_DESCRIBED = ("id", "reason", "approval_timeout", "mode", "examples")


def _describe(section: str, raw: dict[object, object]) -> str:
    parts = [f"{k} {json.dumps(v, default=str)}" for k, v in raw.items() if k not in _NOT_DESCRIBED]
    return f"{section} rule: " + ", ".join(parts)


def canonical_text(canonical: list[object]) -> str:
    """The text a policy's digest is the SHA-256 of: every file's data, in load order, as compact sorted JSON."""
    return json.dumps(canonical, sort_keys=True, default=str, separators=(",", ":"))


def _digest(canonical: list[object]) -> str:
    return hashlib.sha256(canonical_text(canonical).encode()).hexdigest()


def _index(
    rules: list[Rule],
) -> tuple[dict[str, tuple[Rule, ...]], tuple[tuple[Callable[[str], bool], tuple[Rule, ...]], ...]]:
    exact: dict[str, list[Rule]] = {}
    globs: dict[str, list[Rule]] = {}
    for rule in rules:
        (globs if is_glob(rule.capability) else exact).setdefault(rule.capability, []).append(rule)
    return (
        {cap: tuple(rs) for cap, rs in exact.items()},
        tuple((name_matcher(pattern), tuple(rs)) for pattern, rs in globs.items()),
    )


def load_policy(
    path: str | Path,
    conditions: Mapping[str, ConditionType],
    *,
    files: PolicyFiles | None = None,
) -> Policy:
    """Load, validate and compile ``path``; raise :class:`PolicyError` listing every problem.

    ``conditions``: the condition keys a rule may use (a plugin registry's ``conditions``).

    ``files``: where to read it and the files it extends (default: the disk). The hot-reload
    watcher passes a snapshot, so the policy it swaps in is built from exactly the bytes it
    checked were stable.
    """
    compiler = _Compiler(conditions, files if files is not None else DISK)
    root = Path(path)
    if not compiler.files.is_file(root):
        raise PolicyError([PolicyProblem(str(root), None, None, "", "policy file not found")])
    compiler.load(root, "", ())
    if compiler.problems:
        raise PolicyError(compiler.problems)
    merged = compiler.merged
    deciding = [r for r in merged.rules if r.mode == "enforce" and r.limit is None]
    shadow = tuple(r for r in merged.rules if r.mode == "shadow")
    policy = _policy(root, merged, deciding)
    policy.conditions = conditions
    policy.shadow = shadow
    policy.limited = tuple(r for r in merged.rules if r.limit is not None)
    if shadow:
        policy.enforced = _policy(root, merged, sorted([*deciding, *shadow], key=lambda r: r.order))
    return policy


def _policy(root: Path, merged: _Merged, deciding: list[Rule]) -> Policy:
    """The compiled policy; only ``deciding`` rules are indexed (shadow and limit rules are consulted apart)."""
    exact, globs = _index(deciding)
    return Policy(
        path=root.resolve(),
        digest=_digest(merged.canonical),
        default=merged.default or "deny",
        rules=tuple(merged.rules),
        exact=exact,
        globs=globs,
        files=tuple(merged.files),
        redact=frozenset(DEFAULT_REDACT | merged.redact),
        max_payload_bytes=merged.max_payload_bytes or 65536,
        approval_timeout=merged.approval_timeout or 3600.0,
        canonical=canonical_text(merged.canonical),
    )
