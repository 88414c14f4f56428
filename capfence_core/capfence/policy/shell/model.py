"""What the analyzer knows about a command text: every program it would run, and how.

An :class:`Analysis` is the result for one command (a string or an argv
list). It lists every :class:`Invocation` the text could start, with
wrappers peeled off (``sudo``, ``env``, ``xargs``, ...) and nested code
included (``sh -c`` strings, ``$(...)``, ``find -exec``, function bodies).
Wrappers are listed too, so a rule may name them. Analyses are immutable
and cached, so several rules (and later calls) share one. (The per-word
records are named tuples: immutable, and several times cheaper to build than
frozen dataclasses, which matters on the per-call path.)
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import NamedTuple

from capfence.policy.shell.catalogue import SUBCOMMAND_PROGRAMS

MAX_INVOCATIONS = 2000
"""A text that would start more commands than this is unknowable (fails closed)."""
BEGINNINGS = (4, 2)
"""Rules naming programs by patterns (``mkfs.*``) are indexed by the first this-many characters of the patterns (the longest
their literal starts allow: ``mkfs.*`` by ``mkfs``, so ``mkdir`` does not bring it into play)."""
PAYLOAD_HOLD = "<payload>"
"""The program of an invocation that stands for what a payload says besides its command (a working directory outside the
working tree: :mod:`~capfence.policy.shell.payloadkeys`); its one argument is why it is held. No word parses to it."""
HELD = "held"
"""The index key of a command some invocation of which may not be known safe (``command: {known: false}`` rules need it)."""
SUBCOMMAND = "subcommand:"
"""Index keys ``subcommand:git:push`` (a first operand known exactly) and ``subcommand:git:*`` (any other first operand, or
none): for the programs of :data:`~capfence.policy.shell.catalogue.SUBCOMMAND_PROGRAMS` only."""
ANY_SUBCOMMAND = "*"


class Kind(enum.Enum):
    STATIC = "static"
    """Known exactly."""
    DYNAMIC = "dynamic"
    """Built from run-time expansions (``$VAR``, ``$(cmd)``): known only up to :attr:`Arg.prefix`."""
    PLACEHOLDER = "placeholder"
    """Filled in at run time by a launcher (``find -exec ... {}``, ``xargs``): an operand, not an option."""


class Arg(NamedTuple):
    """One word of a command after quote removal and the expansions that can be done statically."""

    text: str
    kind: Kind = Kind.STATIC
    prefix: str = ""
    """The known leading text (the whole text when static)."""
    globbing: bool = False
    """Contains an unquoted ``*``, ``?`` or ``[``: the shell may replace it with file names."""
    sources: frozenset[str] = frozenset()
    """Programs whose output is spliced into this word (``$(curl ...)``, ``<(curl ...)``)."""
    procsub: bool = False
    """The word is a process substitution: a path to the output of :attr:`sources`."""
    secret: str = ""
    """The name of a variable it expands whose name says it holds a secret (``$GITHUB_TOKEN``), known only at run time:
    printing it reads the secret (:func:`~capfence.policy.shell.secrets.secret_variable`)."""

    @property
    def static(self) -> bool:
        return self.kind is Kind.STATIC

    @staticmethod
    def of(text: str) -> Arg:
        return Arg(text, Kind.STATIC, text)


class Redir(NamedTuple):
    op: str
    fd: int | None
    target: Arg | None
    """``None`` for a file-descriptor duplication (``2>&1``) and here-documents."""
    secret: str = ""
    """The name of a secret variable a here-string or here-document expands (``<<< "$TOKEN"``): the program reads it."""
    code: str | None = None
    """A simple command's own here-document or here-string on its standard input, when the shell passes its text
    unchanged (no expansion): an interpreter reading its code there reads exactly this."""

    @property
    def writes(self) -> bool:
        return self.target is not None and self.op in (">", ">>", ">|", "<>", "&>", "&>>", ">&")


class Options(NamedTuple):
    """A command's arguments split getopt-style."""

    flags: frozenset[str] = frozenset()
    """Every option as written (``-rf``, ``--force``, ``-delete``) and each letter of a short cluster (``-r``, ``-f``)."""
    long: tuple[str, ...] = ()
    """Long option names given (``--rec``), for GNU-style abbreviation matching."""
    operands: tuple[Arg, ...] = ()
    maybe_option: bool = False
    """A run-time word stands where an option could be (``rm $FLAGS /``): any option may be present."""
    values: tuple[tuple[str, Arg], ...] = ()
    """Values of the options the program's spec knows to take one (``curl -o FILE`` -> ``("-o", FILE)``)."""


class Invocation(NamedTuple):
    """One program the command would start."""

    program: str | None
    """Base name (``/usr/bin/rm`` -> ``rm``); ``None`` when built at run time; ``""`` when there is no command word."""
    args: tuple[Arg, ...] = ()
    redirects: tuple[Redir, ...] = ()
    via: tuple[str, ...] = ()
    """Wrappers, launchers and shells it runs under, outermost first (``sudo``, ``xargs``, ``find``, ``sh``)."""
    dynamic: str | None = None
    """Why what runs cannot be known statically, if it cannot."""
    code_from: frozenset[str] = frozenset()
    """Programs whose output this invocation runs as code (``curl ... | sh`` -> ``{"curl"}``)."""
    options: Options = Options()
    env: tuple[Arg, ...] = ()
    """``NAME=value`` settings of the environment it runs with (``PAGER=cat git log``, ``env LD_PRELOAD=x ls``), or that a
    command without a program makes (``PAGER=x``)."""
    origin: str = ""
    """The command word when it names the program by a path (``./cat``, ``/tmp/ls``, ``/usr/bin/rm``), else ``""``: a file
    outside the system's program directories may be anything, whatever its name."""


@dataclass(slots=True)
class Analysis:
    """Treat as immutable: analyses are cached and shared between threads. (Not a frozen dataclass only because
    building one costs twice as much, on the path of every command not seen before.)"""

    invocations: tuple[Invocation, ...] = ()
    error: str | None = None
    """Set when the text cannot be parsed (or is over a hard bound): nothing about it is known."""
    fork_bomb: bool = False
    programs: frozenset[str] = frozenset()
    """Case-folded names of every known program (an index: rules naming none of them cannot match)."""
    unknown_program: bool = False
    """Some invocation's program is built at run time."""
    dynamic: bool = False
    """Some invocation is dynamic."""
    code_from: frozenset[str] = frozenset()
    """Union of every invocation's ``code_from`` (case-folded, like :attr:`programs`)."""
    redirects: bool = False
    """Some invocation redirects its output into a file (or device)."""
    keys: frozenset[str] = frozenset()
    """The index fields as prefilter keys (:func:`index_keys`)."""
    verdicts: dict[object, bool | None] = field(default_factory=dict, compare=False, repr=False)
    """What each ``command:`` condition answered for this analysis: a cache, filled as rules judge it."""

    @staticmethod
    def of(invocations: tuple[Invocation, ...], fork_bomb: bool = False) -> Analysis:
        """An analysis with its index fields computed."""
        names: set[str] = set()
        sources: set[str] = set()
        subcommands: set[str] = set()
        unknown = dynamic = redirects = False
        for inv in invocations:
            if inv.program is None:
                unknown = True
            else:
                names.add(inv.program)
                folded = inv.program.casefold()
                if folded in SUBCOMMAND_PROGRAMS:
                    subcommands.add(subcommand_key(folded, inv))
            if inv.dynamic is not None:
                dynamic = True
            if inv.code_from:
                sources.update(inv.code_from)
            if inv.redirects and not redirects:
                redirects = any(r.writes for r in inv.redirects)
        programs = frozenset(map(str.casefold, names))
        code_from = frozenset(map(str.casefold, sources))
        return Analysis(
            invocations,
            None,
            fork_bomb,
            programs,
            unknown,
            dynamic,
            code_from,
            redirects,
            index_keys(
                programs,
                code_from,
                dynamic=dynamic,
                fork_bomb=fork_bomb,
                redirects=redirects,
                subcommands=frozenset(subcommands),
            ),
        )


def subcommand_key(folded: str, inv: Invocation) -> str:
    """The index key of ``inv``'s first operand (``folded``: its program's case-folded name).

    ``subcommand:git:push`` when the first operand is the first argument and known exactly (what a ``subcommand:`` check
    compares), else ``subcommand:git:*``: the first operand may be anything (``git -C dir push``, ``git $X``, no operand).
    """
    args, operands = inv.args, inv.options.operands
    if args and operands and operands[0] is args[0] and args[0].kind is Kind.STATIC:
        return SUBCOMMAND + folded + ":" + args[0].text
    return SUBCOMMAND + folded + ":" + ANY_SUBCOMMAND


def index_keys(
    programs: frozenset[str],
    code_from: frozenset[str],
    *,
    dynamic: bool,
    fork_bomb: bool,
    redirects: bool,
    subcommands: frozenset[str] = frozenset(),
) -> frozenset[str]:
    """What a command does, as the keys a ``command:`` rule's prefilter is indexed under.

    :data:`HELD` is always among them: only a sketch's prefilter keys (:mod:`~capfence.policy.shell.sketch`) leave it out, for
    plain commands the catalogue knows safe by their words alone.
    """
    keys = {"program:" + name for name in programs}
    keys.add(HELD)
    keys.update("beginning:" + name[:size] for name in programs for size in BEGINNINGS)
    if code_from:
        keys.update("code_from:" + name for name in code_from)
    if dynamic:
        keys.add("dynamic")
    if fork_bomb:
        keys.add("fork_bomb")
    if redirects:
        keys.add("redirects")
    keys.update(subcommands)
    return frozenset(keys)
