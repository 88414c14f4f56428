"""Word expansion, as far as it can be done without running anything.

A parsed :class:`~capfence.policy.shell.ast.Word` becomes zero or more
:class:`~capfence.policy.shell.model.Arg` values, in the shell's order:
brace expansion (``{rm,-rf,/}`` is three words), then parameter expansion
for variables whose value is known statically (assigned earlier in the same
text, or a conventional variable such as ``$HOME``), with field splitting of
unquoted values. Everything else -- unknown variables, ``$(...)``,
arithmetic -- leaves the word *dynamic*: known only up to its static prefix.
The bodies of substitutions are handed to ``run`` so the commands in them are
analyzed too.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from capfence.policy.shell.ast import Arith, CmdSub, Lit, Param, Part, ProcSub, Script, Word
from capfence.policy.shell.model import Arg, Kind

MAX_BRACE_WORDS = 256
"""A word whose brace expansion gives more words than this is treated as dynamic."""
MAX_BRACE_CHARS = 512
"""A word with braces and more unquoted characters than this is not brace-expanded but treated as dynamic
(finding groups is quadratic in the worst case)."""

DEFAULT_VALUES = {"HOME": "~", "PWD": ".", "OLDPWD": "..", "TMPDIR": "/tmp", "USER": "user", "LOGNAME": "user", "SHELL": "/bin/sh"}
"""Variables assumed to hold their conventional kind of value when the text does not assign them."""

_GLOB_CHARS = re.compile(r"[*?]|\[[^\]]+\]")
_SEQUENCE = re.compile(r"(-?\d+)\.\.(-?\d+)(?:\.\.(-?\d+))?|([A-Za-z])\.\.([A-Za-z])(?:\.\.(-?\d+))?")
_BLANK = " \t\n"
_DYNAMIC_MARK = "\ufffc"

Runner = Callable[[Script], frozenset[str]]
"""Analyzes a substitution's body; returns the programs it runs."""


def has_glob(text: str) -> bool:
    """Would this unquoted text undergo pathname expansion?"""
    return _GLOB_CHARS.search(text) is not None


class Env:
    """Variables with statically known values. ``None`` marks a variable whose value cannot be known."""

    def __init__(self) -> None:
        self.values: dict[str, str | None] = {}
        self.opaque = False
        """Set after ``eval``, ``source`` or an ``IFS`` change: nothing is resolved any more."""

    def get(self, name: str) -> str | None:
        if self.opaque:
            return None
        if name in self.values:
            return self.values[name]
        return DEFAULT_VALUES.get(name)

    def assign(self, name: str, value: str | None) -> None:
        if name == "IFS":
            self.opaque = True
        self.values[name] = value


# --- brace expansion ------------------------------------------------------------

_Atom = tuple[str, Part | str]  # ("u", char) for an unquoted character, ("x", part) for anything else


class _TooMany(Exception):
    pass


def brace_expand(parts: tuple[Part, ...]) -> list[tuple[Part, ...]] | None:
    """The words ``parts`` brace-expands to; ``None`` if there would be too many."""
    unquoted = [p.text for p in parts if isinstance(p, Lit) and not p.quoted]
    if not (any("{" in text for text in unquoted) and any("}" in text for text in unquoted)):
        return [parts]
    if sum(map(len, unquoted)) > MAX_BRACE_CHARS:
        return None
    atoms: list[_Atom] = []
    for part in parts:
        if isinstance(part, Lit) and not part.quoted:
            atoms.extend(("u", c) for c in part.text)
        else:
            atoms.append(("x", part))
    try:
        words = _expand_atoms(atoms, [0])
    except _TooMany:
        return None
    return [_to_parts(word) for word in words]


_OPEN, _CLOSE, _COMMA, _DOT = ("u", "{"), ("u", "}"), ("u", ","), ("u", ".")


def _expand_atoms(atoms: list[_Atom], count: list[int]) -> list[list[_Atom]]:
    """Bash's algorithm: preamble x (alternatives | sequence) x expanded postamble."""
    start, close = _find_group(atoms)
    if start < 0:
        return [atoms]
    head, amble, tail = atoms[:start], atoms[start + 1 : close], atoms[close + 1 :]
    pieces = _split_commas(amble)
    if len(pieces) > 1:
        choices = [word for piece in pieces for word in _expand_atoms(piece, count)]
    else:
        seq = _sequence(amble)
        if seq is None:  # "{x..}" and the like: literal, but the rest may still expand
            if not tail:
                return [atoms]
            return [[*head, _OPEN, *amble, _CLOSE, *rest] for rest in _expand_atoms(tail, count)]
        choices = [[("u", c) for c in item] for item in seq]
    rests = _expand_atoms(tail, count) if tail else [[]]
    count[0] += len(choices) * len(rests)
    if count[0] > MAX_BRACE_WORDS:
        raise _TooMany
    return [[*head, *choice, *rest] for choice in choices for rest in rests]


def _find_group(atoms: list[_Atom]) -> tuple[int, int]:
    """The first ``{`` that has a valid closing ``}``, and that ``}``; ``(-1, -1)`` if none.

    A ``{`` opening the word and followed by ``}`` or nothing is literal (``find -exec ... {}``).
    """
    for start, atom in enumerate(atoms):
        if atom != _OPEN or (start == 0 and atoms[1:2] in ([], [_CLOSE])):
            continue
        close = _find_close(atoms, start)
        if close >= 0:
            return start, close
    return -1, -1


def _find_close(atoms: list[_Atom], start: int) -> int:
    """A ``}`` closes the group only at nesting level 0 and after a top-level ``,`` or ``..``."""
    level = separators = 0
    for k in range(start + 1, len(atoms)):
        atom = atoms[k]
        if atom == _CLOSE and level == 0 and separators:
            return k
        if atom == _OPEN:
            level += 1
        elif atom == _CLOSE and level:
            level -= 1
        elif level == 0 and (atom == _COMMA or (atom == _DOT and atoms[k + 1 : k + 2] == [_DOT] and atoms[k + 2 : k + 3] != [_CLOSE])):
            separators += 1
    return -1


def _split_commas(amble: list[_Atom]) -> list[list[_Atom]]:
    pieces: list[list[_Atom]] = [[]]
    level = 0
    for atom in amble:
        if atom == _COMMA and level == 0:
            pieces.append([])
            continue
        if atom == _OPEN:
            level += 1
        elif atom == _CLOSE and level:
            level -= 1
        pieces[-1].append(atom)
    return pieces


def _sequence(inner: list[_Atom]) -> list[str] | None:
    if not all(kind == "u" for kind, _ in inner):
        return None
    match = _SEQUENCE.fullmatch("".join(str(c) for _, c in inner))
    if match is None:
        return None
    step = abs(int(match.group(3) or match.group(6) or 1)) or 1
    if match.group(1) is not None:
        first, last = int(match.group(1)), int(match.group(2))
        if abs(last - first) // step + 1 > MAX_BRACE_WORDS:
            raise _TooMany
        padded = [g for g in (match.group(1), match.group(2)) if re.match(r"-?0\d", g)]
        width = max(len(match.group(1)), len(match.group(2))) if padded else 0
        numbers = range(first, last + (1 if last >= first else -1), step if last >= first else -step)
        return [_pad(n, width) for n in numbers]
    a, b = ord(match.group(4)), ord(match.group(5))
    letters = range(a, b + (1 if b >= a else -1), step if b >= a else -step)
    return [chr(n) for n in letters]


def _pad(number: int, width: int) -> str:
    if number < 0:
        return "-" + str(-number).zfill(width - 1)
    return str(number).zfill(width)


def _to_parts(atoms: list[_Atom]) -> tuple[Part, ...]:
    out: list[Part] = []
    for kind, item in atoms:
        if kind == "u":
            assert isinstance(item, str)
            if out and isinstance(out[-1], Lit) and not out[-1].quoted:
                out[-1] = Lit(out[-1].text + item, False)
            else:
                out.append(Lit(item, False))
        else:
            assert not isinstance(item, str)
            out.append(item)
    return tuple(out)


# --- fields -------------------------------------------------------------------------


class _Field:
    """One word being assembled."""

    __slots__ = ("dynamic", "globbing", "has", "prefix", "procsub", "sources", "text")

    def __init__(self) -> None:
        self.text: list[str] = []
        self.prefix: str | None = None
        self.dynamic = False
        self.globbing = False
        self.has = False
        self.procsub = False
        self.sources: set[str] = set()

    def add(self, text: str, quoted: bool) -> None:
        self.text.append(text)
        self.has = self.has or bool(text) or quoted
        if not quoted and _GLOB_CHARS.search(text):
            self.globbing = True

    def unknown(self) -> None:
        if not self.dynamic:
            self.prefix = "".join(self.text)
            self.dynamic = True
        self.text.append(_DYNAMIC_MARK)
        self.has = True

    def arg(self) -> Arg:
        text = "".join(self.text)
        if self.dynamic:
            return Arg(text, Kind.DYNAMIC, self.prefix or "", self.globbing, frozenset(self.sources), self.procsub)
        return Arg(text, Kind.STATIC, text, self.globbing, frozenset(self.sources), self.procsub)


class Expander:
    def __init__(self, env: Env, run: Runner) -> None:
        self.env = env
        self.run = run
        self._seen: dict[int, frozenset[str]] = {}

    def word(self, word: Word) -> list[Arg]:
        """Expand into fields (brace expansion and splitting of known unquoted values included)."""
        if len(word.parts) == 1:
            part = word.parts[0]
            if isinstance(part, Lit) and (part.quoted or "{" not in part.text):
                quoted = part.quoted
                return [Arg(part.text, Kind.STATIC, part.text, not quoted and has_glob(part.text))]
        variants = brace_expand(word.parts)
        if variants is None:
            field = _Field()
            field.unknown()
            self._parts(word.parts, field, [], split=False)
            return [field.arg()]
        out: list[Arg] = []
        for parts in variants:
            out.extend(self.fields(parts))
        return out

    def joined(self, word: Word) -> Arg:
        """Expand as one word, without splitting (redirection targets, here-strings, assignment values)."""
        field = _Field()
        field.has = True
        self._parts(word.parts, field, [], split=False)
        return field.arg()

    def fields(self, parts: tuple[Part, ...]) -> list[Arg]:
        done: list[Arg] = []
        field = self._parts(parts, _Field(), done, split=True)
        if field.has:
            done.append(field.arg())
        return done

    def _parts(self, parts: tuple[Part, ...], field: _Field, done: list[Arg], split: bool) -> _Field:
        for part in parts:
            if isinstance(part, Lit):
                field.add(part.text, part.quoted)
            elif isinstance(part, Param):
                field = self._param(part, field, done, split)
            elif isinstance(part, ProcSub):
                field.sources |= self._sub(part.body)
                field.procsub = True
                field.add("/dev/fd/63", True)
            else:
                field.sources |= self.sources(part)
                field.unknown()
        return field

    def _param(self, part: Param, field: _Field, done: list[Arg], split: bool) -> _Field:
        for inner in part.inner:
            field.sources |= self.sources(inner)
        value = self.env.get(part.name) if part.simple else None
        if value is None:
            field.unknown()
            return field
        if part.quoted or not split:
            field.add(value, True)
            return field
        if value and value[0] in _BLANK and field.has:
            done.append(field.arg())
            field = _Field()
        pieces = value.split()
        for index, piece in enumerate(pieces):
            if index:
                done.append(field.arg())
                field = _Field()
            field.add(piece, False)
        if pieces and value[-1] in _BLANK:
            done.append(field.arg())
            field = _Field()
        return field

    def sources(self, part: Part) -> frozenset[str]:
        """Analyze the substitutions in ``part``; the programs they run."""
        if isinstance(part, CmdSub | ProcSub):
            return self._sub(part.body)
        if isinstance(part, Arith):
            out: frozenset[str] = frozenset()
            for inner in part.parts:
                out |= self.sources(inner)
            return out
        if isinstance(part, Param):
            found: frozenset[str] = frozenset()
            for inner in part.inner:
                found |= self.sources(inner)
            return found
        return frozenset()

    def _sub(self, body: Script) -> frozenset[str]:
        key = id(body)
        if key not in self._seen:
            self._seen[key] = self.run(body)
        return self._seen[key]
