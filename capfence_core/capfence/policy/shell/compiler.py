"""The ``command:`` condition: YAML spec -> compiled predicate over a call.

Every sub-key becomes a check on one :class:`~capfence.policy.shell.model.Invocation`
(``program``, ``flags``, ``subcommand``, ``args``, ``redirect_to``,
``code_from``, ``via``, ``dynamic``) or on a whole
:class:`~capfence.policy.shell.model.Analysis` (``fork_bomb``,
``unparseable``). Each check answers True, False or None (cannot be known);
checks are and-ed with False winning over None.

In ``deny``/``require_approval``/``warn`` rules the condition holds if *some*
invocation of *some* command in the call matches; in ``allow`` rules *every*
invocation must match, so allowing ``git`` does not allow ``git status; rm -rf /``.
A command that cannot be parsed makes the condition unknown (``None``) --
except for ``unparseable:``, which is about exactly that.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from capfence.call.view import CallView
from capfence.policy.shell import shortcuts
from capfence.policy.shell.catalogue import SUBCOMMAND_PROGRAMS
from capfence.policy.shell.context import norm_path
from capfence.policy.shell.known_rule import Known
from capfence.policy.shell.model import (
    ANY_SUBCOMMAND,
    BEGINNINGS,
    HELD,
    SUBCOMMAND,
    Analysis,
    Arg,
    Invocation,
    Kind,
)
from capfence.policy.shell.targets import Fields, analyses, fields, known_by_sketch, summary
from capfence.policy.shell.wordglob import GlobSet
from capfence.policy.spec import CompileContext, Condition, Prefilter, SpecError

Tri = bool | None
Check = Callable[[Invocation], Tri]
STATIC = Kind.STATIC

KEYS = (
    "program",
    "flags",
    "subcommand",
    "args",
    "argv",
    "redirect_to",
    "code_from",
    "via",
    "dynamic",
    "fork_bomb",
    "unparseable",
    "field",
    "known",
    "definite",
)
DYNAMIC_KINDS = ("name", "variable", "code", "template", "input", "decoded", "eval", "options")
EXAMPLE = "command: {program: rm, flags: [[-r, -R, --recursive], [-f, --force]]}"


# --- tri-state logic --------------------------------------------------------------


def all3(results: Iterable[Tri]) -> Tri:
    """False if any is False, else None if any is None, else True (True for none at all)."""
    unknown = False
    for result in results:
        if result is False:
            return False
        unknown = unknown or result is None
    return None if unknown else True


def any3(results: Iterable[Tri]) -> Tri:
    """True if any is True, else None if any is None, else False."""
    unknown = False
    for result in results:
        if result is True:
            return True
        unknown = unknown or result is None
    return None if unknown else False


# --- value validation --------------------------------------------------------------


def _strings(value: object, key: str, example: str) -> list[str]:
    items = value if isinstance(value, list) else [value]
    if not items:
        raise SpecError(f"{key} must not be empty", key=(key,), hint=f"e.g. {example}")
    for i, item in enumerate(items):
        if not isinstance(item, str) or not item:
            where = (key, i) if isinstance(value, list) else (key,)
            if isinstance(item, int | float) and not isinstance(item, bool):
                raise SpecError(
                    f"{key} items must be strings, got the number {item!r}",
                    key=where,
                    hint="quote it: YAML reads 0777 as the number 511",
                )
            raise SpecError(
                f"{key} items must be non-empty strings, got {type(item).__name__}",
                key=where,
                hint=f"e.g. {example}",
            )
    return list(items)


def _groups(value: object, key: str, example: str) -> list[list[str]]:
    """A string, or a list whose items are strings (required) or lists of strings (any one of them)."""
    items = value if isinstance(value, list) else [value]
    if not items:
        raise SpecError(f"{key} must not be empty", key=(key,), hint=f"e.g. {example}")
    groups: list[list[str]] = []
    for i, item in enumerate(items):
        try:
            groups.append(_strings(item, key, example))
        except SpecError as exc:
            where = (key, i, *exc.key[1:]) if isinstance(value, list) else exc.key
            raise SpecError(exc.message, key=where, hint=exc.hint) from None
    return groups


def _globs(value: object, key: str, example: str, *, fold: bool = False) -> GlobSet:
    try:
        return GlobSet.parse(_strings(value, key, example), fold=fold)
    except SpecError as exc:
        raise SpecError(exc.message, key=exc.key or (key,), hint=exc.hint) from None


def _bool(value: object, key: str) -> bool:
    if not isinstance(value, bool):
        raise SpecError(f"{key} must be true or false, got {value!r}", key=(key,), hint=f"{key}: true")
    return value


# --- per-invocation checks -------------------------------------------------------------


def _glob_word(arg: Arg, globs: GlobSet) -> Tri:
    """Does the word match? Unknown if it is built at run time and could."""
    # (:attr:`Arg.static`, without a property call: this runs for every word a rule looks at)
    if arg.kind is STATIC:
        return globs.match(_normal(arg.text))
    return globs.match_partial(arg.prefix)


def _normal(text: str) -> str:
    """Paths are compared normalized: ``//dev/./sda`` -> ``/dev/sda``, ``of=/dev//sda`` -> ``of=/dev/sda``."""
    if text.startswith("/"):
        return norm_path(text)
    key, eq, value = text.partition("=")
    if eq and value.startswith("/") and "/" not in key:
        return key + "=" + norm_path(value)
    return text


def _program(value: object) -> Check:
    globs = _globs(value, "program", "rm or [mkfs, 'mkfs.*']", fold=True)

    def program(inv: Invocation) -> Tri:
        return None if inv.program is None else globs.match(inv.program)

    return program


def _flags(value: object) -> Check:
    groups = _groups(value, "flags", "[[-r, -R, --recursive], [-f, --force]]")
    for i, group in enumerate(groups):
        for spelling in group:
            if not spelling.startswith("-") or spelling in ("-", "--"):
                raise SpecError(
                    f"flag {spelling!r} must start with '-'", key=("flags", i), hint="e.g. -f or --force"
                )
    pairs = [(frozenset(group), tuple(s for s in group if s.startswith("--"))) for group in groups]

    def flags(inv: Invocation) -> Tri:
        """Each group: True if one of its spellings is given, None if maybe, else False; and-ed (:func:`all3`)."""
        options = inv.options
        unknown = False
        for spellings, long in pairs:
            if not spellings.isdisjoint(options.flags):
                continue
            if options.long and any(
                len(given) > 2 and spelling.startswith(given) for given in options.long for spelling in long
            ):
                # a GNU abbreviation (--rec): getopt_long takes any unambiguous prefix as the option (an
                # ambiguous one is an error, and nothing runs)
                continue
            if options.maybe_option:  # a word known only at run time may be any option
                unknown = True
                continue
            return False
        return None if unknown else True

    return flags


def _subcommand(value: object) -> Check:
    globs = _globs(value, "subcommand", "[stop, restart]")

    def subcommand(inv: Invocation) -> Tri:
        operands = inv.options.operands
        if not operands:
            return None if inv.options.maybe_option else False
        return _glob_word(operands[0], globs)

    return subcommand


def _args(value: object) -> Check:
    groups = []
    for i, group in enumerate(_groups(value, "args", '["of=/dev/*"] or [["777", "0777"], "/"]')):
        try:
            groups.append(GlobSet.parse(group))
        except SpecError as exc:
            raise SpecError(
                exc.message,
                key=("args", i),
                hint='put exclusions with what they refine: [["/dev/*", "!/dev/null"]]',
            ) from None

    def args(inv: Invocation) -> Tri:
        unknown = False
        for globs in groups:
            found: Tri = False
            for arg in inv.args:
                result = _glob_word(arg, globs)
                if result:
                    found = True
                    break
                if result is None:
                    found = None
            if found is False:
                return False
            unknown = unknown or found is None
        return None if unknown else True

    return args


def _argv(value: object) -> Check:
    """Every argument, in order, one pattern (or list of patterns) per word: the exact shape of a use (``capfence suggest``)."""
    if not isinstance(value, list):
        raise SpecError(
            "argv must be a list: one pattern (or list of patterns) per argument",
            key=("argv",),
            hint='e.g. argv: [plan, "-out=tfplan"] (argv: [] is the program alone)',
        )
    positions = []
    for i, item in enumerate(value):
        try:
            positions.append(GlobSet.parse(_strings(item, "argv", '[plan, ["-out=a", "-out=b"]]')))
        except SpecError as exc:
            raise SpecError(exc.message, key=("argv", i), hint=exc.hint) from None

    def argv(inv: Invocation) -> Tri:
        args = inv.args
        if any(not arg.static or arg.globbing for arg in args):
            return None  # run-time or file-name-pattern words: how many words, and which, is not known
        if any(r.writes for r in inv.redirects):
            # the shape of a use does not say where its output may go: an allow rule must not cover that
            return None
        if len(args) != len(positions):
            return False
        return all(globs.match(arg.text) for arg, globs in zip(args, positions, strict=True))

    return argv


def _redirect_to(value: object) -> Check:
    globs = _globs(value, "redirect_to", '["/dev/sd*", "!/dev/null"]')

    def redirect_to(inv: Invocation) -> Tri:
        return any3(_glob_word(r.target, globs) for r in inv.redirects if r.writes and r.target is not None)

    return redirect_to


def _names(key: str, attribute: Callable[[Invocation], Iterable[str]]) -> Callable[[object], Check]:
    def compile_names(value: object) -> Check:
        globs = _globs(value, key, "[curl, wget]", fold=True)

        def names(inv: Invocation) -> Tri:
            return any(globs.match(name) for name in attribute(inv))

        return names

    return compile_names


def dynamic_kind(reason: str) -> str:
    """The class of a dynamic invocation's reason (:data:`DYNAMIC_KINDS`)."""
    if reason.startswith("the command name comes from a variable"):
        return "variable"
    if reason.startswith("the command name"):
        return "name"
    if reason.startswith("eval"):
        return "eval"
    if reason.startswith("decodes"):
        return "decoded"
    if reason.startswith("runs code whose fixed text"):
        return "template"
    if reason.startswith("its options"):
        return "options"
    if "input" in reason or "pipe" in reason or "process substitution" in reason:
        return "input"
    return "code"


def _dynamic(value: object) -> Check:
    if isinstance(value, list):
        kinds = frozenset(_strings(value, "dynamic", "[name, eval, input]"))
        for kind in sorted(kinds - set(DYNAMIC_KINDS)):
            raise SpecError(
                f"unknown dynamic kind {kind!r}", key=("dynamic",), hint="kinds: " + ", ".join(DYNAMIC_KINDS)
            )

        def dynamic_of(inv: Invocation) -> Tri:
            return inv.dynamic is not None and dynamic_kind(inv.dynamic) in kinds

        return dynamic_of
    wanted = _bool(value, "dynamic")

    def dynamic(inv: Invocation) -> Tri:
        return (inv.dynamic is not None) == wanted

    return dynamic


_INVOCATION_KEYS: dict[str, Callable[[object], Check]] = {
    "program": _program,
    "flags": _flags,
    "subcommand": _subcommand,
    "args": _args,
    "argv": _argv,
    "redirect_to": _redirect_to,
    "code_from": _names("code_from", lambda inv: inv.code_from),
    "via": _names("via", lambda inv: inv.via),
    "dynamic": _dynamic,
}


# --- the condition ----------------------------------------------------------------------


@dataclass(frozen=True)
class Index:
    """Facts that let a rule skip an analysis without looking at its invocations."""

    programs: frozenset[str] | None = None
    """The rule names exactly these programs (case-folded)."""
    code_from: frozenset[str] | None = None
    dynamic: bool = False
    """The rule needs a dynamic invocation."""
    fork_bomb: bool = False
    """The rule needs a fork bomb."""
    unparseable: bool = False
    """The rule needs an unparseable command."""
    redirects: bool = False
    """The rule needs output redirected into a file."""
    program_beginnings: tuple[frozenset[str], frozenset[str]] | None = None
    """For program patterns that are not all plain words: the plain words, and the patterns' first characters (as many as
    :data:`~capfence.policy.shell.model.BEGINNINGS` allows)."""
    held: bool = False
    """The rule needs an invocation that may not be known safe (``known: false``)."""
    subcommands: frozenset[str] | None = None
    """The rule names exactly these programs (all with subcommands, :data:`SUBCOMMAND_PROGRAMS`) and these subcommands
    (plain words without ``/``): the index keys of their pairs (``subcommand:git:push``), and ``subcommand:git:*``."""

    def excludes(self, analysis: Analysis) -> bool:
        """True only if a rule with this index certainly does not match ``analysis``."""
        if analysis.error is not None:
            return False
        if self.unparseable:
            return True
        if (
            self.programs is not None
            and not analysis.unknown_program
            and self.programs.isdisjoint(analysis.programs)
        ):
            return True
        if self.code_from is not None and self.code_from.isdisjoint(analysis.code_from):
            return True
        return (
            (self.dynamic and not analysis.dynamic)
            or (self.fork_bomb and not analysis.fork_bomb)
            or (self.redirects and not analysis.redirects)
        )

    def keys(self) -> frozenset[str] | None:
        """Prefilter keys: the rule can only match a call whose summary has one of them (``None``: no such set)."""
        if self.subcommands is not None:
            return self.subcommands
        if self.programs is not None:
            return frozenset("program:" + name for name in self.programs)
        if self.program_beginnings is not None:
            words, beginnings = self.program_beginnings
            return frozenset(
                {"program:" + word for word in words} | {"beginning:" + start for start in beginnings}
            )
        if self.code_from is not None:
            return frozenset("code_from:" + name for name in self.code_from)
        if self.held:
            return frozenset({HELD})
        for flag in ("dynamic", "fork_bomb", "redirects", "unparseable"):
            if getattr(self, flag):
                # "unparseable" is never a key: a call with an unparseable command is not summarized
                return frozenset({flag})
        return None


@dataclass(frozen=True, eq=False)
class CommandSpec:
    checks: tuple[Check, ...]
    fork_bomb: bool | None
    unparseable: bool | None
    fields: Fields
    every: bool
    """Allow rules: every invocation must match."""
    index: Index = Index()
    prefilter: Prefilter | None = None
    """Lets the evaluator skip this rule for a call without running it (not for allow rules)."""
    definite: bool = False
    """Match only what is known for certain: an answer that cannot be known is no match."""
    known: Known | None = None
    """``known:``: the condition is about the catalogue (every other check is empty)."""

    def judge_once(self, analysis: Analysis) -> Tri:
        """:meth:`judge`, remembered on the analysis (cached per command text, so a repeated command is judged once)."""
        if analysis.error is not None:
            return self.judge(analysis)
        verdicts = analysis.verdicts
        if self in verdicts:
            return verdicts[self]
        result = self.judge(analysis)
        if result is None and self.definite:
            result = False
        verdicts[self] = result
        return result

    def judge(self, analysis: Analysis) -> Tri:
        if analysis.error is not None:
            return self.unparseable if self.unparseable is not None else None
        if self.unparseable is not None:
            return not self.unparseable
        if self.fork_bomb is not None and analysis.fork_bomb != self.fork_bomb:
            return False
        if not self.checks:
            return True
        if not analysis.invocations:
            return False
        if self.every:
            return all3(self.one(inv) for inv in analysis.invocations)
        if shortcuts.ENABLED and self.index.excludes(analysis):
            return False
        unknown = False
        checks = self.checks
        # any3 of :meth:`one` for each, spelled out (this runs for every rule a new command meets)
        for inv in analysis.invocations:
            result: Tri = True
            for check in checks:
                found = check(inv)
                if found is False:
                    result = False
                    break
                if found is None:
                    result = None
            if result is True:
                return True
            unknown = unknown or result is None
        return None if unknown else False

    def one(self, inv: Invocation) -> Tri:
        unknown = False
        for check in self.checks:
            result = check(inv)
            if result is False:
                return False
            unknown = unknown or result is None
        return None if unknown else True

    def __call__(self, view: CallView) -> Tri:
        if self.known is not None:
            # (known_by_sketch's answer, usually found by the prefilter's summary on its way)
            known = view.memo.get(self.fields.known_key)
            if known is None:
                known = known_by_sketch(view, self.fields)
            if known:
                # every command known safe: known: true matches, known: false does not
                return self.known.wanted
            return self.known.judge(analyses(view, self.fields), view, self.every)
        found = analyses(view, self.fields)
        if not found:
            return False
        if len(found) == 1:
            return self.judge_once(found[0])
        results = (self.judge_once(a) for a in found)
        return all3(results) if self.every else any3(results)

    def covers(self, inv: Invocation) -> bool:
        """Does this (allow rule's) condition match ``inv`` for certain? How an allow rule extends the catalogue."""
        if (
            self.known is not None
            or self.fork_bomb is not None
            or self.unparseable is not None
            or not self.checks
        ):
            return False
        return self.one(inv) is True

    @property
    def explains(self) -> bool:
        """:meth:`explain` may say something (only a ``known: false`` condition does)."""
        return self.known is not None and not self.known.wanted

    def explain(self, view: CallView) -> str | None:
        """Why a ``known: false`` condition matched: the first invocation that is not known safe."""
        if self.known is None or self.known.wanted:
            return None
        return self.known.first_reason(analyses(view, self.fields), view)


def _spec(value: object) -> dict[str, object]:
    if isinstance(value, str | list):
        return {"program": value}
    if not isinstance(value, dict):
        raise SpecError(
            f"command must be a mapping (or a program name), got {type(value).__name__}",
            hint=f"e.g. {EXAMPLE}",
        )
    if not value:
        raise SpecError("command needs at least one key", hint="known keys: " + ", ".join(KEYS))
    for key in value:
        if key not in KEYS:
            close = difflib.get_close_matches(str(key), KEYS, n=1, cutoff=0.6)
            hint = f"did you mean {close[0]!r}?" if close else "known keys: " + ", ".join(KEYS)
            raise SpecError(f"unknown key {key!r} in command", key=(str(key),), hint=hint)
    return value


def compile_command(value: object, context: CompileContext) -> Condition:
    spec = _spec(value)
    unparseable = _bool(spec["unparseable"], "unparseable") if "unparseable" in spec else None
    if unparseable is not None and set(spec) - {"unparseable", "field"}:
        raise SpecError(
            "unparseable cannot be combined with other command keys",
            key=("unparseable",),
            hint="write a separate rule: command: {unparseable: true}",
        )
    known = Known(_bool(spec["known"], "known"), context.allow_rules) if "known" in spec else None
    if known is not None and set(spec) - {"known", "field"}:
        raise SpecError(
            "known cannot be combined with other command keys",
            key=("known",),
            hint="write a separate rule: command: {known: false}",
        )
    definite = _bool(spec["definite"], "definite") if "definite" in spec else False
    selected = fields()
    if "field" in spec:
        selected = fields(
            frozenset(f.lower() for f in _strings(spec["field"], "field", "[command, cmd]")), True
        )
    checks = tuple(compile_key(spec[key]) for key, compile_key in _INVOCATION_KEYS.items() if key in spec)
    if not checks and known is None and "fork_bomb" not in spec and unparseable is None and definite:
        raise SpecError(
            "definite needs another command key to qualify",
            key=("definite",),
            hint="e.g. command: {program: find, flags: [-delete], definite: true}",
        )
    fork_bomb = _bool(spec["fork_bomb"], "fork_bomb") if "fork_bomb" in spec else None
    every = context.section == "allow"
    index = _index(spec)
    keys = index.keys()
    prefilter = Prefilter(summary(selected), keys) if keys is not None and not every else None
    return CommandSpec(checks, fork_bomb, unparseable, selected, every, index, prefilter, definite, known)


def _index(spec: dict[str, object]) -> Index:
    program_globs = _globs(spec["program"], "program", "", fold=True) if "program" in spec else None
    programs = program_globs.literal if program_globs else None
    beginnings = None
    if program_globs and programs is None:
        beginnings = next(
            (b for size in BEGINNINGS if (b := program_globs.beginnings(size)) is not None), None
        )
    code_from = _globs(spec["code_from"], "code_from", "", fold=True).literal if "code_from" in spec else None
    dynamic = spec.get("dynamic") is True or isinstance(spec.get("dynamic"), list)
    return Index(
        programs,
        code_from,
        dynamic,
        spec.get("fork_bomb") is True,
        spec.get("unparseable") is True,
        "redirect_to" in spec,
        beginnings,
        spec.get("known") is False,
        _subcommand_keys(programs, spec),
    )


def _subcommand_keys(programs: frozenset[str] | None, spec: dict[str, object]) -> frozenset[str] | None:
    """The index keys of a rule on given subcommands of given programs (:attr:`Index.subcommands`), if it is one.

    A ``subcommand:`` check compares the first operand's text (paths normalized) with the words: for a word without ``/``
    that is the text itself, which is what the key of an invocation's first operand holds
    (:func:`~capfence.policy.shell.model.subcommand_key`); any other first operand gives the ``*`` key.
    """
    if programs is None or "subcommand" not in spec or not programs <= SUBCOMMAND_PROGRAMS:
        return None
    words = _globs(spec["subcommand"], "subcommand", "[stop, restart]").literal
    if words is None or any("/" in word for word in words):
        return None
    return frozenset(
        SUBCOMMAND + program + ":" + word for program in programs for word in (*words, ANY_SUBCOMMAND)
    )
