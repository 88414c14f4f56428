"""Word expansion, as far as it can be done without running anything.

A parsed :class:`~capfence.policy.shell.ast.Word` becomes zero or more
:class:`~capfence.policy.shell.model.Arg` values, in the shell's order:
brace expansion (``{rm,-rf,/}`` is three words), then parameter expansion
for variables whose value is known statically (assigned earlier in the same
text, or a conventional variable such as ``$HOME``), with field splitting of
unquoted values. Everything else -- unknown variables, ``$(...)``,
arithmetic -- leaves the word *dynamic*: known only up to its static prefix.
The bodies of substitutions are handed to ``run`` so the commands in them are
analyzed too. Every word produced, and every character of a value copied,
costs the analysis's budget (:mod:`capfence.policy.shell.budget`), so the
total output of expansion is bounded, not only each word's.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence

from capfence.policy.shell.ast import Arith, CmdSub, Lit, Param, Part, ProcSub, Script, Simple, Word
from capfence.policy.shell.budget import Budget
from capfence.policy.shell.model import Arg, Kind
from capfence.policy.shell.secrets import secret_variable

MAX_BRACE_WORDS = 256
"""A word whose brace expansion gives more words than this is treated as dynamic."""
MAX_BRACE_CHARS = 512
"""A word with braces and more unquoted characters than this is not brace-expanded but treated as dynamic
(finding groups is quadratic in the worst case)."""
MAX_BRACE_SCAN = 4096
"""A word whose groups take more than this many ``{``, ``}``, ``,`` and ``.`` looked at to find is treated as dynamic too."""
SCAN_PER_STEP = 4
"""Characters looked at while finding groups that cost one step of the budget."""
BRACE_STEPS = 4
"""Budget steps brace-expanding a word costs, besides the scan and the words it gives."""
BRACE_WORD_STEPS = 5
"""Budget steps each word that brace expansion gives costs (it is then expanded and matched like any other)."""

DEFAULT_VALUES = {
    "HOME": "~",
    "PWD": ".",
    "OLDPWD": "..",
    "TMPDIR": "/tmp",
    "USER": "user",
    "LOGNAME": "user",
    "SHELL": "/bin/sh",
}
"""Variables assumed to hold their conventional kind of value when the text does not assign them."""

_GLOB_CHARS = re.compile(r"[*?]|\[[^\]]")
"""A wildcard, or a ``[`` followed by a character that is not ``]`` (a class if a ``]`` follows: see :func:`has_glob`)."""
_SEQUENCE = re.compile(r"(-?\d+)\.\.(-?\d+)(?:\.\.(-?\d+))?|([A-Za-z])\.\.([A-Za-z])(?:\.\.(-?\d+))?")
_BLANK = " \t\n"
_DYNAMIC_MARK = "\ufffc"

Runner = Callable[[Script], frozenset[str]]
"""Analyzes a substitution's body; returns the programs it runs."""


def has_glob(text: str) -> bool:
    """Would this unquoted text undergo pathname expansion? (A ``*`` or ``?``, or ``[`` + something + ``]``.)

    Linear: a class ``[x...]`` exists if some ``[`` that is not followed by ``]`` has a ``]`` after it, so only the
    first such ``[`` needs looking at.
    """
    found = _GLOB_CHARS.search(text)
    if found is None:
        return False
    if found.group() in ("*", "?"):
        return True
    return "]" in text[found.end() :] or "*" in text or "?" in text


class Env:
    """Variables with statically known values. ``None`` marks a variable whose value cannot be known."""

    def __init__(self) -> None:
        self.values: dict[str, str | None] = {}
        self.opaque = False
        """Set after ``eval``, ``source`` or an ``IFS`` change: nothing is resolved any more."""
        self.starts: dict[str, tuple[str, frozenset[str]]] = {}
        """How the value of a variable known only at run time is known to start, and the programs whose output it may
        be: a ``for`` variable ranging over ``/var/log/*.log`` starts with ``/var/log/``, one over ``$(find ...)`` is
        ``find``'s output (a file written through it is judged where it may lie)."""

    def start(self, name: str) -> tuple[str, frozenset[str]] | None:
        """The known start of a variable's run-time value and where it comes from, if known."""
        return None if self.opaque or not self.starts else self.starts.get(name)

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
        if self.starts:
            self.starts.pop(name, None)


# --- brace expansion ------------------------------------------------------------
#
# A word is flattened into a string: its unquoted characters as they are, every other part (quoted text, an
# expansion) as one private-use character standing for it. The groups are then found and expanded with string
# operations, and the results split back into parts.

_MARK = 0xF0000
"""The first private-use character standing for a part that is not unquoted text."""
_MARKS = re.compile("([\U000f0000-\U000ffffd])")
_MAX_MARKS = 0xFFFD - 0x0000
_SPECIALS = re.compile(r"[{},.]")


class _TooMany(Exception):
    pass


class _Scan:
    """Counts the characters examined while looking for groups (quadratic in the worst case, so bounded)."""

    __slots__ = ("count", "limit")

    def __init__(self, limit: int) -> None:
        self.count = 0
        self.limit = limit

    def add(self, steps: int) -> None:
        self.count += steps
        if self.count > self.limit:
            raise _TooMany


def brace_expand(parts: tuple[Part, ...], budget: Budget | None = None) -> list[tuple[Part, ...]] | None:
    """The words ``parts`` brace-expands to; ``None`` if there would be too many, or finding them is too much work.

    ``budget`` pays for the search and for the characters produced.
    """
    unquoted = [p.text for p in parts if isinstance(p, Lit) and not p.quoted]
    if not (any("{" in text for text in unquoted) and any("}" in text for text in unquoted)):
        return [parts]
    if sum(map(len, unquoted)) > MAX_BRACE_CHARS:
        return None
    if budget is not None:
        budget.spend(BRACE_STEPS)
    flat = _flatten(parts)
    if flat is None:
        return None
    text, others = flat
    scan = _Scan(MAX_BRACE_SCAN)
    try:
        words = _expand(text, [0], scan)
    except _TooMany:
        return None
    finally:
        if budget is not None:
            budget.spend(scan.count // SCAN_PER_STEP + 1)
    if budget is not None:
        budget.spend(BRACE_WORD_STEPS * len(words))
        budget.chars(sum(map(len, words)))
    return [_unflatten(word, others) for word in words]


def _flatten(parts: tuple[Part, ...]) -> tuple[str, list[Part]] | None:
    out: list[str] = []
    others: list[Part] = []
    for part in parts:
        if isinstance(part, Lit) and not part.quoted:
            if _MARKS.search(part.text):
                return None  # the text holds the characters used as marks: not expanded (dynamic)
            out.append(part.text)
        elif len(others) >= _MAX_MARKS:
            return None
        else:
            out.append(chr(_MARK + len(others)))
            others.append(part)
    return "".join(out), others


def _unflatten(word: str, others: list[Part]) -> tuple[Part, ...]:
    out: list[Part] = []
    for index, piece in enumerate(_MARKS.split(word)):
        if index % 2:
            out.append(others[ord(piece) - _MARK])
        elif piece:
            out.append(Lit(piece, False))
    return tuple(out)


def _expand(word: str, count: list[int], scan: _Scan) -> list[str]:
    """Bash's algorithm: preamble x (alternatives | sequence) x expanded postamble."""
    scan.add(SCAN_PER_STEP)  # a call costs what looking at a few characters does
    start, close = _find_group(word, scan)
    if start < 0:
        return [word]
    head, amble, tail = word[:start], word[start + 1 : close], word[close + 1 :]
    pieces = _split_commas(amble, scan)
    if len(pieces) > 1:
        choices = [expanded for piece in pieces for expanded in _expand(piece, count, scan)]
    else:
        seq = _sequence(amble)
        if seq is None:  # "{x..}" and the like: literal, but the rest may still expand
            if not tail:
                return [word]
            return [head + "{" + amble + "}" + rest for rest in _expand(tail, count, scan)]
        choices = seq
    rests = _expand(tail, count, scan) if tail else [""]
    count[0] += len(choices) * len(rests)
    if count[0] > MAX_BRACE_WORDS:
        raise _TooMany
    return [head + choice + rest for choice in choices for rest in rests]


def _find_group(word: str, scan: _Scan) -> tuple[int, int]:
    """The first ``{`` that has a valid closing ``}``, and that ``}``; ``(-1, -1)`` if none.

    A ``{`` opening the word and followed by ``}`` or nothing is literal (``find -exec ... {}``).
    """
    start = word.find("{")
    while start >= 0:
        if not (start == 0 and word[1:2] in ("", "}")):
            close = _find_close(word, start, scan)
            if close >= 0:
                return start, close
        start = word.find("{", start + 1)
    return -1, -1


def _find_close(word: str, start: int, scan: _Scan) -> int:
    """A ``}`` closes the group only at nesting level 0 and after a top-level ``,`` or ``..``."""
    level = separators = steps = 0
    for special in _SPECIALS.finditer(word, start + 1):
        steps += 1
        c, k = special.group(), special.start()
        if c == "}" and level == 0 and separators:
            scan.add(steps)
            return k
        if c == "{":
            level += 1
        elif c == "}":
            if level:
                level -= 1
        elif level == 0 and (c == "," or (word.startswith("..", k) and word[k + 2 : k + 3] != "}")):
            separators += 1
    scan.add(steps)
    return -1


def _split_commas(amble: str, scan: _Scan) -> list[str]:
    if "," not in amble:
        return [amble]
    pieces: list[str] = []
    level = begin = 0
    for special in _SPECIALS.finditer(amble):
        scan.add(1)
        c = special.group()
        if c == "," and level == 0:
            pieces.append(amble[begin : special.start()])
            begin = special.end()
        elif c == "{":
            level += 1
        elif c == "}" and level:
            level -= 1
    pieces.append(amble[begin:])
    return pieces


def _sequence(inner: str) -> list[str] | None:
    match = _SEQUENCE.fullmatch(inner)  # a mark (a part that is not unquoted text) never matches
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


# --- fields -------------------------------------------------------------------------


class _Field:
    """One word being assembled."""

    __slots__ = ("dynamic", "globbing", "has", "prefix", "procsub", "secret", "sources", "text")

    def __init__(self) -> None:
        self.text: list[str] = []
        self.prefix: str | None = None
        self.dynamic = False
        self.globbing = False
        self.has = False
        self.procsub = False
        self.sources: set[str] = set()
        self.secret = ""

    def add(self, text: str, quoted: bool) -> None:
        self.text.append(text)
        self.has = self.has or bool(text) or quoted
        if not quoted and not self.globbing and has_glob(text):
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
            return Arg(
                text,
                Kind.DYNAMIC,
                self.prefix or "",
                self.globbing,
                frozenset(self.sources),
                self.procsub,
                self.secret,
            )
        return Arg(text, Kind.STATIC, text, self.globbing, frozenset(self.sources), self.procsub)


class Expander:
    """Expands words; every word it produces, and every character of a variable's value it copies, costs ``budget``.

    So does brace expansion: the total it produces, over every word of a command, is bounded by the budget.
    """

    def __init__(self, env: Env, run: Runner, budget: Budget | None = None) -> None:
        self.env = env
        self.run = run
        self.budget = budget if budget is not None else Budget()
        self._seen: dict[int, frozenset[str]] = {}
        self.arithmetic = False
        """It expanded ``$((...))``, a subscript or an offset (``${a[i]}``, ``${s:i}``): text evaluated as arithmetic."""

    def word(self, word: Word) -> list[Arg]:
        """Expand into fields (brace expansion and splitting of known unquoted values included)."""
        self.budget.spend()
        if len(word.parts) == 1:
            part = word.parts[0]
            if isinstance(part, Lit) and (part.quoted or "{" not in part.text):
                quoted = part.quoted
                return [Arg(part.text, Kind.STATIC, part.text, not quoted and has_glob(part.text))]
        variants = brace_expand(word.parts, self.budget)
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
        self.budget.spend()
        field = _Field()
        field.has = True
        self._parts(word.parts, field, [], split=False)
        return field.arg()

    def fields(self, parts: tuple[Part, ...]) -> list[Arg]:
        done: list[Arg] = []
        field = self._parts(parts, _Field(), done, split=True)
        if field.has:
            done.append(field.arg())
        self.budget.spend(len(done))
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
                known = self._known_output(part.body) if isinstance(part, CmdSub) else None
                if known is not None:
                    field.add(known, True)
                if known is None or known.endswith("/"):
                    field.unknown()
        return field

    def _known_output(self, body: Script) -> str | None:
        """What a substitution of a program whose output is known in kind starts with: ``$(pwd)`` is the current
        directory (``.``, as ``$PWD``); ``$(mktemp)`` and ``$(mktemp -d)`` a new name in the scratch directory
        (``$TMPDIR/``, then a name known only at run time)."""
        words = _lone_command(body)
        if words == ["pwd"] or words in (["pwd", "-P"], ["pwd", "-L"]):
            return self.env.get("PWD")
        if words in (["mktemp"], ["mktemp", "-d"]):
            tmpdir = self.env.get("TMPDIR")
            return tmpdir.rstrip("/") + "/" if tmpdir else None
        return None

    def _param(self, part: Param, field: _Field, done: list[Arg], split: bool) -> _Field:
        self.arithmetic = self.arithmetic or not part.simple
        for inner in part.inner:
            field.sources |= self.sources(inner)
        value = self.env.get(part.name) if part.simple else None
        if value is None:
            start = self.env.start(part.name) if part.simple else None
            if start is not None:
                field.add(start[0], True)
                field.sources |= start[1]
            # (only a value the text does not set: `T=x; echo $T` prints no secret; `${#T}` is a length, `${!T}` a name)
            if part.name[:1] not in ("#", "!") and secret_variable(part.name):
                field.secret = part.name
            field.unknown()
            return field
        self.budget.chars(len(value))  # one step, and one more per 64 characters
        if part.quoted or not split:
            field.add(value, True)
            return field
        if value and value[0] in _BLANK and field.has:
            done.append(field.arg())
            field = _Field()
        # each field costs a step: no more than the budget allows
        pieces = value.split(None, max(self.budget.left, 0))
        self.budget.spend(len(pieces))
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
            self.arithmetic = True
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


def _lone_command(body: Script) -> list[str] | None:
    """The literal words of a script that is one plain command (no assignment, redirection or pipe), else ``None``."""
    if len(body.items) != 1 or body.items[0].rest or body.items[0].background:
        return None
    commands = body.items[0].first.commands
    if len(commands) != 1 or not isinstance(commands[0], Simple):
        return None
    simple = commands[0]
    if simple.assigns or simple.redirects:
        return None
    words = [word.literal for word in simple.words]
    return None if any(word is None for word in words) else [w for w in words if w is not None]


_GLOB_START = re.compile(r"[*?\[]")


def loop_start(args: Sequence[Arg]) -> tuple[str, frozenset[str]] | None:
    """How a ``for`` variable ranging over ``args`` is known to start (:meth:`Env.start`): the literal start of the first
    absolute or ``~`` word (the one that matters where it is written), else what every word starts with, up to a file-name
    pattern; with the programs whose output makes a word (``$(find /etc)``)."""
    starts: list[str] = []
    outputs: frozenset[str] = frozenset()
    for arg in args:
        text = arg.prefix
        if arg.globbing:
            found = _GLOB_START.search(text)
            text = text[: found.start()] if found else text
        if not text and not arg.static:
            outputs |= arg.sources
        if text.startswith(("/", "~")):
            return text, outputs
        starts.append(text)
    # (a character prefix, not whole components: the value starts with it)
    common = os.path.commonprefix(starts) if starts else ""  # noqa: RUF071
    return (common, outputs) if common or outputs else None
