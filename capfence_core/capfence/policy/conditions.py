"""Built-in conditions: ``contains``, ``matches``, ``agent``, ``environment``, ``tool``, ``args`` and ``path``.

Each is a :class:`~capfence.policy.spec.ConditionType`. They are registered
through the ``capfence_register_matchers`` hook like a plugin's would be (see
:mod:`capfence.builtins`); the shell ``command`` and ``url`` conditions live in
their own modules.
"""

from __future__ import annotations

import difflib
import math
import os
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation

from capfence.call.view import CallView, normalize_text
from capfence.policy.pathargs import path_arguments, path_names
from capfence.policy.paths import is_under, normalize_path
from capfence.policy.patterns import check_name_glob, name_matcher, path_glob_regex
from capfence.policy.spec import CompileContext, Condition, ConditionType, SpecError


def did_you_mean(word: str, choices: Sequence[str]) -> str | None:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else None


def string_list(value: object, what: str, example: str) -> list[str]:
    """A string or a non-empty list of non-empty strings."""
    items = value if isinstance(value, list) else [value]
    if not items:
        raise SpecError(f"{what} must not be an empty list", hint=f"e.g. {example}")
    for i, item in enumerate(items):
        if not isinstance(item, str) or not item.strip():
            got = type(item).__name__ if not isinstance(item, str) else "an empty string"
            key = (i,) if isinstance(value, list) else ()
            raise SpecError(
                f"{what} must be a non-empty string or a list of them, got {got}",
                key=key,
                hint=f"e.g. {example}",
            )
    return list(items)


def strict_mapping(value: object, what: str, known: Sequence[str], example: str) -> dict[str, object]:
    if not isinstance(value, dict):
        raise SpecError(f"{what} must be a mapping, got {type(value).__name__}", hint=f"e.g. {example}")
    for key in value:
        if key not in known:
            raise SpecError(
                f"unknown key {key!r} in {what}",
                key=(str(key),),
                hint=did_you_mean(str(key), known) or f"known keys: {', '.join(known)}",
            )
    return value


# --- contains ---------------------------------------------------------------


def _compile_contains(value: object, context: CompileContext) -> Condition:
    needles = tuple(normalize_text(s) for s in string_list(value, "contains", '"rm -rf" or ["curl", "wget"]'))
    if any("\x00" in n for n in needles):
        raise SpecError("contains must not include a NUL character")

    if len(needles) == 1:
        (needle,) = needles

        def contains_one(view: CallView) -> bool:
            return needle in view.joined_text

        return contains_one

    def contains(view: CallView) -> bool:
        joined = view.joined_text
        return any(n in joined for n in needles)

    return contains


# --- matches ----------------------------------------------------------------


def _compile_matches(value: object, context: CompileContext) -> Condition:
    from capfence.policy.saferegex import compile_pattern

    patterns = []
    for i, pattern in enumerate(string_list(value, "matches", r'"(?:^|\s)sudo\s"')):
        try:
            patterns.append(compile_pattern(pattern, ignore_case=True))
        except ValueError as exc:
            raise SpecError(
                f"invalid regex {pattern!r}: {exc}", key=(i,) if isinstance(value, list) else ()
            ) from None

    def matches(view: CallView) -> bool:
        return any(p.search(text) for text in view.texts for p in patterns)

    return matches


# --- agent / tool / environment ---------------------------------------------


def _name_condition(attr: str, key: str) -> Callable[[object, CompileContext], Condition]:
    def compile_names(value: object, context: CompileContext) -> Condition:
        globs = [check_name_glob(p, key) for p in string_list(value, key, '"prod-*"')]
        tests = [name_matcher(p) for p in globs]

        def names(view: CallView) -> bool:
            name = getattr(view, attr)
            return name is not None and any(test(name) for test in tests)

        return names

    return compile_names


def _compile_environment(value: object, context: CompileContext) -> Condition:
    wanted = frozenset(
        s.strip().lower() for s in string_list(value, "environment", '"production" or [staging, production]')
    )

    def environment(view: CallView) -> bool:
        return view.environment is not None and view.environment.strip().lower() in wanted

    return environment


# --- args (numeric comparisons) ---------------------------------------------

_OPS: dict[str, Callable[[Decimal, Decimal], bool]] = {
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
}
ARGS_EXAMPLE = "args: {amount: {gt: 1000}}"


def as_number(value: object) -> Decimal | None:
    """A payload value as a number: ints, floats, ``Decimal`` and numeric strings; ``None`` otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return None if value.is_nan() else value
    if isinstance(value, int):
        return Decimal(value)  # exact, and no str(): ints over 4300 digits cannot be converted to text
    if isinstance(value, float):
        return None if math.isnan(value) else Decimal(str(value))
    if isinstance(value, str) and len(value) <= 64:
        try:
            number = Decimal(value.strip().replace("_", ""))
        except InvalidOperation:
            return None
        return None if number.is_nan() else number
    return None


def _compile_one_field(field: str, spec: object, *, every: bool) -> Callable[[CallView], bool | None]:
    ops = strict_mapping(spec, f"args.{field}", list(_OPS), ARGS_EXAMPLE)
    if not ops:
        raise SpecError(f"args.{field} needs a comparison", hint="one of " + ", ".join(_OPS))
    checks: list[tuple[Callable[[Decimal, Decimal], bool], Decimal]] = []
    for op, bound in ops.items():
        if isinstance(bound, bool) or not isinstance(bound, int | float):
            raise SpecError(
                f"{op} must be a number, got {type(bound).__name__} {bound!r}",
                key=(op,),
                hint=f"write {op}: 1000 without quotes",
            )
        checks.append((_OPS[op], Decimal(str(bound))))

    def one(raw: object) -> bool | None:
        number = as_number(raw)
        if number is None:
            return None
        return all(test(number, bound) for test, bound in checks)

    def compare(view: CallView) -> bool | None:
        return combine([one(raw) for raw in view.field_values(field)], every=every)

    return compare


def combine(results: list[bool | None], *, every: bool) -> bool | None:
    """Several values for one condition: any of them (deny, require_approval, warn) or every one (allow).

    No value at all never holds. An unknown value makes the result unknown unless a definite answer
    decides it (any: one value holds; every: one value fails).
    """
    if not results:
        return False
    if every:
        return False if False in results else (None if None in results else True)
    return True if True in results else (None if None in results else False)


def _compile_args(value: object, context: CompileContext) -> Condition:
    if not isinstance(value, dict) or not value:
        raise SpecError(
            "args must be a mapping of argument field to comparisons", hint=f"e.g. {ARGS_EXAMPLE}"
        )
    fields = []
    for field, spec in value.items():
        if not isinstance(field, str) or not field:
            raise SpecError("args keys must be argument names (dotted for nested fields)", key=(str(field),))
        try:
            fields.append(_compile_one_field(field, spec, every=context.section == "allow"))
        except SpecError as exc:
            raise SpecError(exc.message, key=(field, *exc.key), hint=exc.hint) from None
    return _all_of(fields)


def _all_of(parts: list[Callable[[CallView], bool | None]]) -> Condition:
    """All parts must hold; a definite False wins over an unknown."""

    def all_of(view: CallView) -> bool | None:
        unknown = False
        for part in parts:
            result = part(view)
            if result is False:
                return False
            unknown = unknown or result is None
        return None if unknown else True

    return all_of


# --- path ---------------------------------------------------------------------

_PATH_KEYS = ("field", "under", "not_under", "glob", "resolve_symlinks", "case_sensitive")
PATH_EXAMPLE = 'path: {under: ["/etc", "~/.ssh"]}'


def _flag(spec: dict[str, object], key: str, *, default: bool) -> bool:
    value = spec.get(key, default)
    if not isinstance(value, bool):
        raise SpecError(
            f"{key} must be true or false, got {value!r}",
            key=(key,),
            hint=f"write {key}: {str(not default).lower()} without quotes",
        )
    return value


def _compile_path(value: object, context: CompileContext) -> Condition:
    spec = strict_mapping(value, "path", _PATH_KEYS, PATH_EXAMPLE)
    is_path = path_names(
        frozenset(string_list(spec["field"], "path.field", "file_path")) if "field" in spec else None
    )
    sensitive = _flag(spec, "case_sensitive", default=True)
    resolve = _flag(spec, "resolve_symlinks", default=False)
    fold = (lambda s: s) if sensitive else str.casefold
    under = (
        [fold(normalize_path(p) or p) for p in string_list(spec["under"], "path.under", '["/etc"]')]
        if "under" in spec
        else None
    )
    not_under = (
        [fold(normalize_path(p) or p) for p in string_list(spec["not_under"], "path.not_under", '["/tmp"]')]
        if "not_under" in spec
        else None
    )
    globs = (
        [
            path_glob_regex(os_expand(g), case_sensitive=sensitive)
            for g in string_list(spec["glob"], "path.glob", '"**/*.pem"')
        ]
        if "glob" in spec
        else None
    )
    if under is None and not_under is None and globs is None:
        raise SpecError("path needs at least one of under, not_under, glob", hint=PATH_EXAMPLE)

    def one(raw: str | None, base: str | None) -> bool | None:
        cwd = None if base is None else normalize_path(base)
        if raw is None or (base is not None and cwd is None):
            return None
        norm = normalize_path(raw, resolve_symlinks=resolve, cwd=cwd)
        if norm is None:
            return None
        norm = fold(norm)
        return (
            (under is None or any(is_under(norm, p) for p in under))
            and (not_under is None or not any(is_under(norm, p) for p in not_under))
            and (globs is None or any(g.match(norm) for g in globs))
        )

    every = context.section == "allow"

    def path(view: CallView) -> bool | None:
        found = path_arguments(view, is_path)
        if found is None:
            return None
        return combine([one(raw, base) for raw, base in found], every=every)  # an allow rule: every path

    return path


def os_expand(pattern: str) -> str:
    return os.path.expanduser(pattern)


BUILTIN_CONDITIONS: tuple[ConditionType, ...] = (
    ConditionType(
        "contains",
        _compile_contains,
        "substring (any of), case-insensitive, NFKC and whitespace-normalized, over every string in the payload",
        'contains: "rm -rf"',
    ),
    ConditionType(
        "matches",
        _compile_matches,
        "regular expression (any of) searched in the same normalized strings; linear-time engine",
        r'matches: "\bsudo\b"',
    ),
    ConditionType(
        "agent",
        _name_condition("agent_id", "agent"),
        "glob (any of) on the calling agent's id",
        'agent: "prod-*"',
    ),
    ConditionType(
        "tool", _name_condition("tool", "tool"), "glob (any of) on the tool's name", 'tool: "run_*"'
    ),
    ConditionType(
        "environment",
        _compile_environment,
        "the runtime's environment name (any of), case-insensitive",
        "environment: production",
    ),
    ConditionType(
        "args",
        _compile_args,
        "numeric comparisons (gt, gte, lt, lte, eq, ne) on named argument fields",
        ARGS_EXAMPLE,
    ),
    ConditionType(
        "path",
        _compile_path,
        "normalized paths in path-like arguments: under / not_under / glob",
        PATH_EXAMPLE,
    ),
)
