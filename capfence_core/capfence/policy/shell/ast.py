"""The syntax tree produced by :mod:`capfence.policy.shell.parser`.

Only what the analyzer needs is kept: words with their quoting and
expansions, redirections, simple and compound commands, pipelines and lists.
Nodes are immutable except :class:`HereDoc`, whose body is filled in when the
lexer reaches the end of the line that introduced it (as a shell does).
"""

from __future__ import annotations

from dataclasses import dataclass, field

# --- words ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Lit:
    """Literal text. ``quoted`` text is not subject to globbing, brace expansion or splitting."""

    text: str
    quoted: bool


@dataclass(frozen=True, slots=True)
class Param:
    """``$name``, ``${name}`` or any other ``${...}`` form (``simple`` only for the first two)."""

    name: str
    quoted: bool
    simple: bool
    inner: tuple[Part, ...] = ()
    """Expansions nested in a ``${...}`` operator word (``${x:-$(cmd)}``)."""


@dataclass(frozen=True, slots=True)
class CmdSub:
    """``$(...)`` or a backquoted command: ``body`` runs, its output is spliced in."""

    body: Script
    quoted: bool


@dataclass(frozen=True, slots=True)
class Arith:
    """``$((...))``: a number; nested expansions in ``parts`` still run."""

    parts: tuple[Part, ...]


@dataclass(frozen=True, slots=True)
class ProcSub:
    """``<(...)`` or ``>(...)``: ``body`` runs, the word becomes a ``/dev/fd`` path."""

    body: Script
    direction: str


Part = Lit | Param | CmdSub | Arith | ProcSub


@dataclass(frozen=True, slots=True)
class Word:
    parts: tuple[Part, ...]

    @property
    def literal(self) -> str | None:
        """The word's text if it is made of literal parts only."""
        if all(isinstance(p, Lit) for p in self.parts):
            return "".join(p.text for p in self.parts if isinstance(p, Lit))
        return None

    @property
    def bare(self) -> str | None:
        """The text if the word is one unquoted literal (how reserved words are recognized)."""
        if len(self.parts) == 1:
            part = self.parts[0]
            if isinstance(part, Lit) and not part.quoted:
                return part.text
        return None


# --- redirections ---------------------------------------------------------------


@dataclass(slots=True)
class HereDoc:
    """The body of ``<<`` / ``<<-``; ``quoted`` delimiters suppress expansion."""

    delimiter: str
    quoted: bool
    strip_tabs: bool
    body: Word | None = None


@dataclass(frozen=True, slots=True)
class Redirect:
    op: str
    """``<``, ``>``, ``>>``, ``>|``, ``<>``, ``<&``, ``>&``, ``&>``, ``&>>``, ``<<``, ``<<-``, ``<<<``."""
    fd: int | None
    target: Word | None
    heredoc: HereDoc | None = None


# --- commands -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Assign:
    name: str
    value: Word | None
    array: tuple[Word, ...] | None = None
    subscript: bool = False
    """An array element's assignment (``a[i]=1``): the subscript is evaluated as arithmetic."""


@dataclass(frozen=True, slots=True)
class Simple:
    assigns: tuple[Assign, ...]
    words: tuple[Word, ...]
    redirects: tuple[Redirect, ...]


@dataclass(frozen=True, slots=True)
class Group:
    """``{ ...; }`` (``subshell=False``) or ``( ... )``."""

    body: Script
    subshell: bool
    redirects: tuple[Redirect, ...] = ()


@dataclass(frozen=True, slots=True)
class If:
    clauses: tuple[tuple[Script, Script], ...]
    otherwise: Script | None
    redirects: tuple[Redirect, ...] = ()


@dataclass(frozen=True, slots=True)
class Loop:
    """``while`` / ``until``."""

    kind: str
    condition: Script
    body: Script
    redirects: tuple[Redirect, ...] = ()


@dataclass(frozen=True, slots=True)
class For:
    """``for`` / ``select``; ``words`` is None for ``for x; do`` and C-style loops."""

    var: str
    words: tuple[Word, ...] | None
    body: Script
    arith: tuple[Part, ...] = ()
    redirects: tuple[Redirect, ...] = ()


@dataclass(frozen=True, slots=True)
class Case:
    subject: Word
    items: tuple[tuple[tuple[Word, ...], Script], ...]
    redirects: tuple[Redirect, ...] = ()


@dataclass(frozen=True, slots=True)
class ArithCommand:
    """``(( ... ))``."""

    parts: tuple[Part, ...]
    redirects: tuple[Redirect, ...] = ()


@dataclass(frozen=True, slots=True)
class Test:
    """``[[ ... ]]``: operands only; nothing in it runs except expansions."""

    words: tuple[Word, ...]
    redirects: tuple[Redirect, ...] = ()


@dataclass(frozen=True, slots=True)
class FunctionDef:
    name: str
    body: Command


Command = Simple | Group | If | Loop | For | Case | ArithCommand | Test | FunctionDef


@dataclass(frozen=True, slots=True)
class Pipeline:
    commands: tuple[Command, ...]
    negated: bool = False


@dataclass(frozen=True, slots=True)
class AndOr:
    """``a && b || c``: ``rest`` pairs each operator with the pipeline after it."""

    first: Pipeline
    rest: tuple[tuple[str, Pipeline], ...] = ()
    background: bool = False


@dataclass(frozen=True, slots=True)
class Script:
    items: tuple[AndOr, ...] = field(default=())
