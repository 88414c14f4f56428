"""A command's index keys without its analysis, for the commands where that is cheap and exact.

The evaluator first asks which ``command:`` rules a call could match at all
(:mod:`capfence.policy.plan`); for most commands an agent runs (``ls -la``,
``cat a | grep b``, ``npm test && npm run build``) the answer is none, and
the full analysis (options, arguments, wrapped commands) is never needed.

A plain command list (:func:`~capfence.policy.shell.plain.split_plain`) whose
every command word names an *ordinary* program (not a wrapper, shell,
interpreter or other code runner, nor a launcher such as ``find`` given an
action such as ``-exec``; and written without ``/``) runs
exactly those programs, once each, with nothing dynamic, no code read from
anywhere and no redirection (unless it has more commands than the analyzer
accepts, or may need more work than an analysis's budget: it is then left to
the analyzer, which may find it unknowable). Its keys are then those of its program names,
and its analysis is one invocation per command: both are what
:func:`~capfence.policy.shell.analyzer.analyze_script` gives for it
(property-tested). For anything else the keys are ``None``: analyze it.

The sketch also says whether such a list is *known safe* from its words alone
(:func:`~capfence.policy.shell.known.known_plain`: ``ls -la``, ``git status``,
``npm run build``). Its prefilter keys then lack ``held``, so a
``command: {known: false}`` rule is skipped, and ``known: true`` is answered
without an analysis: an everyday command no other rule names is decided from
the split alone (property-tested against the full judgement).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import NamedTuple

from capfence.policy.shell import budget
from capfence.policy.shell.catalogue import SUBCOMMAND_PROGRAMS
from capfence.policy.shell.expand import has_glob
from capfence.policy.shell.fetched import RUNS_PROJECT_CODE, fetches
from capfence.policy.shell.invoke import canonical, launches_nothing, options_of, ordinary
from capfence.policy.shell.known import clear as known_cache_clear
from capfence.policy.shell.known import known_plain
from capfence.policy.shell.model import (
    ANY_SUBCOMMAND,
    HELD,
    MAX_INVOCATIONS,
    SUBCOMMAND,
    Analysis,
    Arg,
    Invocation,
    Kind,
    index_keys,
)
from capfence.policy.shell.plain import Chain, plain_arg, split_plain

_NONE: frozenset[str] = frozenset()


class Sketch(NamedTuple):
    chains: list[Chain] | None
    """:func:`split_plain` of the text (kept for its analysis, if one is needed)."""
    programs: frozenset[str] = _NONE
    """Case-folded program names, when :attr:`keys` is set."""
    keys: frozenset[str] | None = None
    """The index keys of its analysis, when known without it."""
    known: bool = False
    """Every invocation of its analysis is known safe, as its words alone show (:func:`~capfence.policy.shell.known.known_plain`):
    ``command: {known: ...}`` is decided without the analysis, and :attr:`filter_keys` lack
    :data:`~capfence.policy.shell.model.HELD`. ``False`` says nothing (the analysis decides)."""
    filter_keys: frozenset[str] | None = None
    """The keys the prefilter uses: :attr:`keys`, without :data:`~capfence.policy.shell.model.HELD` when :attr:`known`."""
    cost: int = 0
    """With keys: budget steps its analysis takes at most (what building it directly is charged)."""

    def analysis(self) -> Analysis | None:
        """The analysis of an all-ordinary plain list, built directly; ``None`` for other text."""
        if self.keys is None or self.chains is None:
            return None
        invocations = []
        for pipelines, _ in self.chains:
            for stages in pipelines:
                for words in stages:
                    # a command word with keys is a program name (:data:`_NAME`): no quotes to remove
                    name = canonical(words[0])
                    args: list[Arg] = []
                    for word in words[1:]:
                        if "'" in word or '"' in word:
                            args.append(plain_arg(word))
                        else:  # (:func:`_unquoted` spelled out, and the tuple built as Arg() would)
                            globbing = ("*" in word or "?" in word or "[" in word) and has_glob(word)
                            args.append(_new(Arg, (word, _STATIC, word, globbing, _NONE, False, "")))
                    rest = tuple(args)
                    invocations.append(
                        _new(Invocation, (name, rest, (), (), None, _NONE, options_of(name, rest), (), ""))
                    )
        # (positional arguments: this runs for every new command that rules must judge)
        return Analysis(tuple(invocations), None, False, self.programs, False, False, _NONE, False, self.keys)


def _unquoted(word: str) -> Arg:
    """:func:`~capfence.policy.shell.plain.plain_arg` of a word without quotes."""
    return Arg(word, _STATIC, word, ("*" in word or "?" in word or "[" in word) and has_glob(word))


_STATIC = Kind.STATIC
_new = tuple.__new__


def sketch_text(text: str) -> Sketch:
    """The split of ``text`` and, if they can be had without analyzing it, the index keys of ``analyze_script(text)``."""
    chains = split_plain(text)
    if chains is None:
        return Sketch(None)
    heads: set[str] = set()
    subcommands: set[str] | None = None
    count = size = 0
    known = True
    fetched = False  # (capfence.policy.shell.fetched: a runner of project code after a fetch is not known from words)
    quotes = text.count("'") + text.count('"')
    for pipelines, _ in chains:
        for stages in pipelines:
            count += len(stages)
            size += len(stages) * len(stages) // 2  # each stage's input comes from the programs before it
            for words in stages:
                head = words[0]
                ordinary_head, name, folded = _head(head)
                if not ordinary_head and not _launches_nothing(words):
                    return Sketch(chains)
                heads.add(head)
                if folded is not None:
                    if subcommands is None:
                        subcommands = set()
                    subcommands.add(_subcommand_key(folded, words))
                if known:  # (:func:`_known`, spelled out; quotes removed once, for both questions)
                    args = (
                        [plain_arg(word).text if "'" in word or '"' in word else word for word in words[1:]]
                        if quotes
                        else words[1:]
                    )
                    known = not (fetched and name in RUNS_PROJECT_CODE) and known_plain(name, args)
                    fetched = fetched or fetches(name, args)
                size += len(words) + 2
    cost = 2 * size + quotes  # more than the analyzer spends on it
    if count > MAX_INVOCATIONS or cost > budget.MAX_STEPS:
        return Sketch(chains)  # the analyzer reports it unknowable, or may run out of budget
    programs, keys, known_keys = _keys(frozenset(heads), frozenset(subcommands) if subcommands else _NONE)
    # (tuple.__new__: what Sketch() does, without its Python-level __new__)
    return _new(Sketch, (chains, programs, keys, known, known_keys if known else keys, cost))


@lru_cache(maxsize=1024)
def _head(word: str) -> tuple[bool, str, str | None]:
    """What the sketch asks of a command word: is it an ordinary program's name (:func:`_ordinary_head`), its canonical name,
    and :func:`_subcommand_program` (one lookup for the three)."""
    return _ordinary_head(word), canonical(word), _subcommand_program(word)


@lru_cache(maxsize=1024)
def _subcommand_program(word: str) -> str | None:
    """The case-folded name of a command word's program if its index keys name its subcommand, else ``None``."""
    folded = word.casefold()
    return folded if folded in SUBCOMMAND_PROGRAMS else None


def _subcommand_key(folded: str, words: list[str]) -> str:
    """:func:`~capfence.policy.shell.model.subcommand_key` of the command's invocation, from its words: the first argument
    is its first operand unless it is an option (a plain list has no other run-time word)."""
    if len(words) > 1:
        first = words[1]
        if "'" in first or '"' in first:
            first = plain_arg(first).text
        if not first.startswith("-") or first == "-":
            return SUBCOMMAND + folded + ":" + first
    return SUBCOMMAND + folded + ":" + ANY_SUBCOMMAND


def _known(words: list[str], quoted: bool = True) -> bool:
    """The command's one invocation is known safe from its words alone (``quoted``: the text may hold quotes to remove)."""
    args = (
        [plain_arg(word).text if "'" in word or '"' in word else word for word in words[1:]]
        if quoted
        else words[1:]
    )
    return known_plain(canonical(words[0]), args)


def argv_keys(argv: Sequence[str]) -> frozenset[str] | None:
    """The index keys of ``analyze_argv(argv)`` if they can be had without it, else ``None``."""
    if not argv:
        return _NONE
    head = argv[0]
    if "/" in head or not (ordinary(head) or launches_nothing(head, argv[1:])):
        return None
    folded = _subcommand_program(head)
    if folded is None:
        return _keys(frozenset({head}), _NONE)[1]
    first = argv[1] if len(argv) > 1 and (not argv[1].startswith("-") or argv[1] == "-") else ANY_SUBCOMMAND
    return _keys(frozenset({head}), frozenset({SUBCOMMAND + folded + ":" + first}))[1]


_NAME = re.compile(r"[\w.+@%,:-]++")
"""A command word that is its own program name: no quotes, glob, tilde or ``/`` (others are left to the analyzer)."""


@lru_cache(maxsize=1024)
def _ordinary_head(word: str) -> bool:
    return _NAME.fullmatch(word) is not None and ordinary(word)


def _launches_nothing(words: list[str]) -> bool:
    if _NAME.fullmatch(words[0]) is None or any(
        len(word) > _QUOTED_WORD for word in words[1:] if "'" in word or '"' in word
    ):
        return False  # (a long word with quotes might be an action option quoted many times over: analyze it)
    texts = (plain_arg(word).text if "'" in word or '"' in word else word for word in words[1:])
    return launches_nothing(words[0], texts)


_QUOTED_WORD = 64
"""Longer words with quotes are not unquoted by the sketch (what that costs is only bounded in the analysis)."""


@lru_cache(maxsize=1024)
def _keys(
    names: frozenset[str], subcommands: frozenset[str]
) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """The case-folded program names, their index keys (with ``subcommands``' keys), and those keys when every command is
    known safe."""
    programs = frozenset(map(str.casefold, names))
    keys = index_keys(
        programs, _NONE, dynamic=False, fork_bomb=False, redirects=False, subcommands=subcommands
    )
    return programs, keys, keys - {HELD}


def clear() -> None:
    """Forget what is cached about program names (after changing the knowledge tables)."""
    _ordinary_head.cache_clear()
    _subcommand_program.cache_clear()
    _head.cache_clear()
    _keys.cache_clear()
    known_cache_clear()
