r"""A linear-time regular-expression matcher for policy ``matches:`` conditions.

Python's :mod:`re` backtracks: ``re.search(r"(a+)+$", "a" * 40 + "b")`` runs
for minutes, and even ``.*x`` is quadratic. A policy evaluates hostile agent
payloads, so a pattern written by an honest policy author must never let a
payload hang the gate. This module answers the only question a condition asks
(*is there a match anywhere?*) in time linear in the text.

API
---
:func:`compile_pattern` validates and compiles a pattern (``ValueError`` with a
readable message for anything outside the supported subset or over the size
bounds); :meth:`SafePattern.search` returns ``True``/``False``.

Supported subset (the semantics are exactly :mod:`re`'s)
----------------------------------------------------------
literals, ``.``, character classes (ranges, negation, ``\d \w \s \D \W \S``),
anchors ``^ $ \A \Z \b \B``, groups of every kind that only group
(``(...)``, ``(?:...)``, ``(?P<n>...)``, scoped flags ``(?i:...)``),
alternation, and the quantifiers ``* + ? {m} {m,} {m,n}``, greedy or lazy.
Flags ``i m s x`` (inline or scoped) and ``a`` (for the whole pattern only:
``re`` itself answers a scoped ``(?a:...)`` inconsistently, e.g.
``re.search(r"(?a:\W)", "É")`` finds nothing although ``\W`` matches ``É`` in
ASCII mode). Rejected, because no finite automaton can express them or
because their answer depends on backtracking order: backreferences,
lookahead/lookbehind, conditionals ``(?(1)...)``, possessive quantifiers and
atomic groups.

Greedy and lazy quantifiers accept the same strings; they only choose *which*
match ``re`` reports. For a yes/no answer they are interchangeable, so the
automaton ignores laziness.

How it works
------------
1. ``re._parser`` (the parser behind :mod:`re`) turns the pattern into a tree,
   which is checked against the subset and compiled into a Thompson NFA
   (``{m,n}`` is unrolled; the NFA is bounded by :data:`MAX_POSITIONS`
   character tests and anchors and :data:`MAX_NFA_STATES` nodes). Epsilon
   edges are then compiled away: each node knows which character tests,
   anchors and accept node follow it.
2. Each single-character test (a literal, a class, ``.``) is compiled *by re*
   as a one-character pattern with the flags in force at that point, so case
   folding, ``\w`` and friends are re's own. A character's *class* is the
   bitmask of tests it passes plus what the anchors need to know about it
   (newline? word character in Unicode / ASCII terms?). Classes are cached.
3. The NFA is simulated as a lazily built DFA: a DFA state is a set of NFA
   threads plus what the anchors need about the previous character. Each
   state is a ``dict`` subclass mapping characters to successor states, so
   the inner loop is ``state = state[ch]``; a missing entry
   (``__missing__``) computes the transition from the NFA in O(pattern size)
   and caches it. A pattern anchored at ``\A`` stops as soon as no thread is
   left.
4. Zero-width assertions are decided while computing the closure: the
   previous character is part of the state and the next character is the
   one being consumed. Non-multiline ``$`` also matches before a newline that
   ends the text; a thread passing it there carries a "the text must end
   after this newline" mark that kills it if more text follows.
5. The cache is bounded (:data:`MAX_DFA_STATES` states,
   :data:`MAX_DFA_ENTRIES` character edges). When it overflows it is flushed
   and rebuilt. If one search flushes more than :data:`MAX_FLUSHES_PER_SEARCH`
   times (a pattern/text pair that creates new states at almost every
   character), the rest of that text is scanned by plain NFA set simulation,
   which needs no cache at all.

Cost: every character costs one dict lookup when its transition is cached and
O(m) (m = pattern positions) when not, so a search is O(n * m) in the worst
case and O(n) with a small constant once the DFA is warm. Thread sets are
int bitmasks; for patterns without anchors a step is bit-parallel (one table
lookup per 8 positions). Memory is bounded by the cache limits. Measured on
CPython 3.11 (``python -m capfence.policy.saferegex``): typical patterns scan
a 10 MB ASCII string at 15-35 MB/s and random BMP text at 10-13 MB/s; the
``(a+)+$`` family runs at that speed too. The worst case is a pattern whose
DFA is exponential, so that every character is an NFA step. For example,
``(a|b)*a(a|b){12}c`` on random ``ab`` text needs 2**13 states and runs at
about 1 MB/s. The rate falls in proportion to the pattern size: about
0.2 MB/s at 200 positions and 0.08 MB/s at the 500-position limit. That is
still linear and never a hang; the policy's ``max_payload_bytes`` caps the
text for a hard time bound.

Fast path: delegating to re when re is provably linear
-------------------------------------------------------
``re`` only backtracks at choice points: the opcodes it emits for alternation
(``BRANCH``) and repetition (``REPEAT``, ``REPEAT_ONE``, ``MIN_REPEAT_ONE``,
``MAX_UNTIL``, ``MIN_UNTIL``). A pattern that is a flat sequence of
single-character tests and anchors (groups allowed, no ``|`` across more than
single characters, which the parser folds into a class, and no quantifier at
all) compiles to a program without choice points: an attempt at one start
position executes at most m instructions and either fails or succeeds without
ever revisiting a decision. ``search`` tries each of the n + 1 start positions
once (its literal-prefix scan is KMP-style and only skips positions), so the
total is O(n * m): linear in the text. Such patterns (``sudo``,
``\brm\s-rf\b``, ``[0-9]\.[0-9]``) run on re's C engine. Everything else runs
on the automaton.
"""

from __future__ import annotations

import importlib
import itertools
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Final

__all__ = [
    "MAX_DFA_ENTRIES",
    "MAX_DFA_STATES",
    "MAX_NFA_STATES",
    "MAX_PATTERN_LENGTH",
    "MAX_POSITIONS",
    "SafePattern",
    "compile_pattern",
]

_parser: Any = importlib.import_module("re._parser")
_const: Any = importlib.import_module("re._constants")

MAX_PATTERN_LENGTH: Final = 4096
"""Longest pattern source accepted (characters)."""
MAX_POSITIONS: Final = 500
"""Most character tests and anchors a pattern may have after unrolling ``{m,n}``: bounds the per-character worst case."""
MAX_NFA_STATES: Final = 20_000
"""Most NFA nodes (positions plus epsilon nodes) a pattern may compile to."""
MAX_DFA_STATES: Final = 4_096
"""DFA states cached per pattern before the cache is flushed."""
MAX_DFA_ENTRIES: Final = 200_000
"""Character edges cached per pattern before the cache is flushed."""
MAX_CLASS_CACHE: Final = 65_536
"""Distinct characters whose class is cached per pattern."""
MAX_FLUSHES_PER_SEARCH: Final = 4
"""A search that flushes the cache more often finishes with plain NFA simulation."""

_SUPPORTED_FLAGS: Final = re.IGNORECASE | re.MULTILINE | re.DOTALL | re.VERBOSE | re.ASCII | re.UNICODE
_ATOM_FLAGS: Final = re.IGNORECASE | re.DOTALL | re.ASCII | re.UNICODE

# --- what the anchors need to know about a neighbouring character ----------
_BOF: Final = 1  # previous position is the start of the text
_NL: Final = 2  # the character is "\n"
_UWORD: Final = 4  # \w in Unicode mode
_AWORD: Final = 8  # \w in ASCII mode
_EOF: Final = 16  # next position is the end of the text
_KIND_BITS: Final = 5  # atom test bits start here in a character class
_KIND_MASK: Final = (1 << _KIND_BITS) - 1

_UNI_WORD = re.compile(r"\w")
_ASCII_WORD = re.compile(r"\w", re.ASCII)

# --- NFA node kinds and assertion codes -------------------------------------
_EPS, _CHAR, _ASSERT, _MATCH = 0, 1, 2, 3
(_A_BOS, _A_BOL, _A_EOS, _A_EOL, _A_END, _A_WB_U, _A_NWB_U, _A_WB_A, _A_NWB_A) = range(9)
_ASSERT_PREV_BITS: Final = {
    _A_BOS: _BOF,
    _A_BOL: _BOF | _NL,
    _A_EOS: 0,
    _A_EOL: 0,
    _A_END: 0,
    _A_WB_U: _BOF | _UWORD,
    _A_NWB_U: _BOF | _UWORD,
    _A_WB_A: _BOF | _AWORD,
    _A_NWB_A: _BOF | _AWORD,
}

# Thread marks for non-multiline "$" before a final newline (see module doc).
_FREE, _NEWLINE_THEN_END, _AT_END = 0, 1, 2

_CATEGORIES: Final = {
    "CATEGORY_DIGIT": r"\d",
    "CATEGORY_NOT_DIGIT": r"\D",
    "CATEGORY_SPACE": r"\s",
    "CATEGORY_NOT_SPACE": r"\S",
    "CATEGORY_WORD": r"\w",
    "CATEGORY_NOT_WORD": r"\W",
}
_UNSUPPORTED: Final = {
    "GROUPREF": "backreferences (\\1, (?P=name)) are not supported",
    "GROUPREF_EXISTS": "conditionals (?(group)yes|no) are not supported",
    "ASSERT": "lookahead/lookbehind assertions ((?=...), (?<=...)) are not supported",
    "ASSERT_NOT": "negative lookahead/lookbehind assertions ((?!...), (?<!...)) are not supported",
    "POSSESSIVE_REPEAT": "possessive quantifiers (*+, ++, ?+, {m,n}+) are not supported",
    "ATOMIC_GROUP": "atomic groups (?>...) are not supported",
}
_CHAR_OPS: Final = frozenset({"LITERAL", "NOT_LITERAL", "ANY", "IN"})


class _Found(Exception):
    """Raised from inside the DFA loop when a match is certain."""


class _Flushed(Exception):
    """Raised when the DFA cache was flushed in the middle of a transition (the search retries it)."""


class _Dead(Exception):
    """Raised from inside the DFA loop when no match is possible any more."""


def _name(op: object) -> str:
    return str(getattr(op, "name", op))


# --- parsing and validation ---------------------------------------------------


def _parse(pattern: str, flags: int) -> tuple[list[tuple[Any, Any]], int]:
    if not isinstance(pattern, str):
        raise ValueError(f"pattern must be a string, got {type(pattern).__name__}")
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise ValueError(f"pattern is {len(pattern)} characters long; the limit is {MAX_PATTERN_LENGTH}")
    try:
        tree = _parser.parse(pattern, flags)
    except re.error as exc:
        raise ValueError(f"not a valid regular expression: {exc}") from None
    except RecursionError:
        raise ValueError("pattern is nested too deeply") from None
    global_flags = int(tree.state.flags)
    _check_flags(global_flags)
    items = list(tree.data)
    _validate(items)
    return items, global_flags


def _check_flags(flags: int) -> None:
    if flags & ~_SUPPORTED_FLAGS:
        raise ValueError("only the flags i, m, s, x and a are supported")


def _check_scoped_flags(flags: int) -> None:
    _check_flags(flags)
    if flags & (re.ASCII | re.UNICODE):
        # re's search-prefix optimisation ignores a scoped type flag: re.search(r"(?a:\W)", "É") finds
        # nothing although \W matches "É" in ASCII mode. Rather than pick one of two answers, refuse.
        raise ValueError(
            "scoped (?a:...)/(?u:...) groups are not supported; put (?a) at the start of the pattern instead"
        )


def _validate(items: Iterable[tuple[Any, Any]], depth: int = 0) -> None:
    if depth > 200:
        raise ValueError("pattern is nested too deeply")
    for op, av in items:
        name = _name(op)
        if name in _UNSUPPORTED:
            raise ValueError(_UNSUPPORTED[name])
        if name == "SUBPATTERN":
            _check_scoped_flags(int(av[1]) | int(av[2]))
            _validate(av[3], depth + 1)
        elif name == "BRANCH":
            for alternative in av[1]:
                _validate(alternative, depth + 1)
        elif name in ("MAX_REPEAT", "MIN_REPEAT"):
            _validate(av[2], depth + 1)
        elif name == "IN":
            _validate_set(av)
        elif name not in _CHAR_OPS and name != "AT":
            raise ValueError(f"unsupported regular-expression construct {name}")


def _validate_set(members: Iterable[tuple[Any, Any]]) -> None:
    for op, av in members:
        if _name(op) == "CATEGORY" and _name(av) not in _CATEGORIES:
            raise ValueError(f"unsupported character category {_name(av)}")


def _is_flat(items: Iterable[tuple[Any, Any]]) -> bool:
    """No choice points: only single-character tests and anchors, possibly grouped."""
    for op, av in items:
        name = _name(op)
        if name == "SUBPATTERN":
            if not _is_flat(av[3]):
                return False
        elif name not in _CHAR_OPS and name != "AT":
            return False
    return True


def _combine_flags(flags: int, add: int, remove: int) -> int:
    if add & (re.ASCII | re.UNICODE):
        flags &= ~(re.ASCII | re.UNICODE)
    return (flags | add) & ~remove


# --- single-character tests ---------------------------------------------------


def _escape(code: int) -> str:
    return f"\\U{code:08x}"


def _atom_source(op_name: str, av: Any) -> str:
    if op_name == "LITERAL":
        return _escape(int(av))
    if op_name == "NOT_LITERAL":
        return f"[^{_escape(int(av))}]"
    if op_name == "ANY":
        return "."
    parts: list[str] = []
    for member_op, member in av:
        member_name = _name(member_op)
        if member_name == "NEGATE":
            parts.insert(0, "^")
        elif member_name == "LITERAL":
            parts.append(_escape(int(member)))
        elif member_name == "RANGE":
            parts.append(f"{_escape(int(member[0]))}-{_escape(int(member[1]))}")
        elif member_name == "CATEGORY":
            parts.append(_CATEGORIES[_name(member)])
        else:  # pragma: no cover - the parser emits nothing else in a set
            raise ValueError(f"unsupported character-set member {member_name}")
    return "[" + "".join(parts) + "]"


# --- NFA construction -----------------------------------------------------------


@dataclass
class _Frag:
    entry: int
    exit: int


class _Builder:
    """Thompson construction: every fragment has one entry and one (epsilon) exit node."""

    def __init__(self) -> None:
        self.kinds: list[int] = []
        self.args: list[int] = []
        self.outs: list[list[int]] = []
        self.atoms: list[re.Pattern[str]] = []
        self._atom_ids: dict[tuple[str, int], int] = {}
        self.prev_bits = 0
        self.positions = 0

    def node(self, kind: int, arg: int = 0) -> int:
        if kind in (_CHAR, _ASSERT):
            self.positions += 1
        if self.positions > MAX_POSITIONS or len(self.kinds) >= MAX_NFA_STATES:
            raise ValueError(
                f"pattern is too large: after unrolling {{m,n}} it has more than {MAX_POSITIONS} character tests"
                f" or {MAX_NFA_STATES} automaton states"
            )
        self.kinds.append(kind)
        self.args.append(arg)
        self.outs.append([])
        return len(self.kinds) - 1

    def single(self, kind: int, arg: int) -> _Frag:
        first, last = self.node(kind, arg), self.node(_EPS)
        self.outs[first].append(last)
        return _Frag(first, last)

    def sequence(self, items: Iterable[tuple[Any, Any]], flags: int) -> _Frag:
        entry = exit_ = self.node(_EPS)
        for op, av in items:
            frag = self.item(_name(op), av, flags)
            self.outs[exit_].append(frag.entry)
            exit_ = frag.exit
        return _Frag(entry, exit_)

    def item(self, name: str, av: Any, flags: int) -> _Frag:
        if name in _CHAR_OPS:
            return self.single(_CHAR, self.atom(name, av, flags))
        if name == "AT":
            code = _assertion(_name(av), flags)
            self.prev_bits |= _ASSERT_PREV_BITS[code]
            return self.single(_ASSERT, code)
        if name == "SUBPATTERN":
            return self.sequence(av[3], _combine_flags(flags, int(av[1]), int(av[2])))
        if name == "BRANCH":
            return self.alternation(av[1], flags)
        return self.repeat(int(av[0]), int(av[1]), av[2], flags)

    def atom(self, name: str, av: Any, flags: int) -> int:
        key = (_atom_source(name, av), flags & _ATOM_FLAGS)
        found = self._atom_ids.get(key)
        if found is None:
            found = self._atom_ids[key] = len(self.atoms)
            self.atoms.append(re.compile(*key))
        return 1 << (found + _KIND_BITS)

    def alternation(self, alternatives: Iterable[Any], flags: int) -> _Frag:
        entry, exit_ = self.node(_EPS), self.node(_EPS)
        for alternative in alternatives:
            frag = self.sequence(alternative, flags)
            self.outs[entry].append(frag.entry)
            self.outs[frag.exit].append(exit_)
        return _Frag(entry, exit_)

    def repeat(self, low: int, high: int, body: Any, flags: int) -> _Frag:
        entry = exit_ = self.node(_EPS)
        for _ in range(low):
            frag = self.sequence(body, flags)
            self.outs[exit_].append(frag.entry)
            exit_ = frag.exit
        if high == int(_const.MAXREPEAT):
            return _Frag(entry, self._star(exit_, body, flags))
        for _ in range(high - low):
            frag = self.sequence(body, flags)
            after = self.node(_EPS)
            self.outs[exit_] += [frag.entry, after]
            self.outs[frag.exit].append(after)
            exit_ = after
        return _Frag(entry, exit_)

    def _star(self, before: int, body: Any, flags: int) -> int:
        loop, after = self.node(_EPS), self.node(_EPS)
        frag = self.sequence(body, flags)
        self.outs[before].append(loop)
        self.outs[loop] += [frag.entry, after]
        self.outs[frag.exit].append(loop)
        return after


def _assertion(at: str, flags: int) -> int:
    ascii_mode = bool(flags & re.ASCII)
    multiline = bool(flags & re.MULTILINE)
    table = {
        "AT_BEGINNING": _A_BOL if multiline else _A_BOS,
        "AT_BEGINNING_STRING": _A_BOS,
        "AT_END": _A_EOL if multiline else _A_END,
        "AT_END_STRING": _A_EOS,
        "AT_BOUNDARY": _A_WB_A if ascii_mode else _A_WB_U,
        "AT_NON_BOUNDARY": _A_NWB_A if ascii_mode else _A_NWB_U,
    }
    if at not in table:
        raise ValueError(f"unsupported anchor {at}")
    return table[at]


def _check_assertion(code: int, prev: int, nxt: int, mark: int) -> int:
    """The thread mark after passing the assertion, or -1 if it fails here."""
    if code == _A_END:
        if nxt & _EOF:
            return mark
        return _NEWLINE_THEN_END if nxt & _NL else -1
    if code == _A_BOS:
        ok = bool(prev & _BOF)
    elif code == _A_BOL:
        ok = bool(prev & (_BOF | _NL))
    elif code == _A_EOS:
        ok = bool(nxt & _EOF)
    elif code == _A_EOL:
        ok = bool(nxt & (_EOF | _NL))
    else:
        bit = _UWORD if code in (_A_WB_U, _A_NWB_U) else _AWORD
        empty_text = bool(prev & _BOF and nxt & _EOF)  # re: \b and \B never match in ""
        boundary = bool(prev & bit) != bool(nxt & bit)
        ok = not empty_text and boundary == (code in (_A_WB_U, _A_WB_A))
    return mark if ok else -1


# --- the automaton ------------------------------------------------------------
#
# Threads are numbered ``mark * P + p`` where ``p`` indexes the P *positions* (character tests,
# anchors and the accept node: the NFA nodes left once epsilon edges are compiled away) and
# ``mark`` is the "$ before the final newline" mark. A set of threads is a Python int used as a
# bitmask, so DFA keys hash fast and, for patterns without anchors (only mark 0, bits 0..P-1),
# a step is bit-parallel: ``follow(kernel & tests_passed_by(ch))`` with the union of follow sets
# read from per-chunk tables (one lookup per CHUNK_BITS positions instead of one per thread).

_CHUNK_BITS: Final = 8
_CHUNK_MASK: Final = (1 << _CHUNK_BITS) - 1


class _State(dict[str, "_State"]):
    """A DFA state: NFA threads at a position + what anchors need about the previous character."""

    __slots__ = ("by_class", "dfa", "kernel", "prev")

    def __init__(self, dfa: _Automaton, kernel: int, prev: int) -> None:
        super().__init__()
        self.dfa = dfa
        self.kernel = kernel
        self.prev = prev
        self.by_class: dict[int, _State] = {}

    def __missing__(self, ch: str) -> _State:
        return self.dfa.transition(self, ch)


def _epsilon_targets(kinds: list[int], outs: list[list[int]], root: int) -> list[int]:
    """The non-epsilon nodes reachable from ``root`` through epsilon edges only."""
    found: list[int] = []
    seen = {root}
    stack = [root]
    while stack:
        node = stack.pop()
        if kinds[node] != _EPS:
            found.append(node)
            continue
        for nxt in outs[node]:
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return found


def _bits(mask: int) -> Iterator[int]:
    while mask:
        low = mask & -mask
        yield low.bit_length() - 1
        mask ^= low


class _Automaton:
    """The epsilon-free NFA, simulated as a lazily built, bounded DFA (or directly, as a fallback)."""

    def __init__(self, builder: _Builder, start: int) -> None:
        nodes = [n for n, kind in enumerate(builder.kinds) if kind != _EPS]
        index = {node: p for p, node in enumerate(nodes)}
        self.size = size = len(nodes)
        self.kinds = [builder.kinds[n] for n in nodes]
        self.args = [builder.args[n] for n in nodes]
        self.atoms = builder.atoms
        self.prev_mask = builder.prev_bits
        self.simple = _ASSERT not in self.kinds
        """No anchors: every thread has mark 0 and a kernel is its own closure."""

        def mask(targets: Iterable[int], mark: int) -> int:
            return sum(1 << (mark * size + index[t]) for t in set(targets))

        successors = [
            _epsilon_targets(builder.kinds, builder.outs, builder.outs[n][0]) if builder.outs[n] else []
            for n in nodes
        ]
        self.follow = [tuple(mask(targets, mark) for mark in range(3)) for targets in successors]
        self.start_kernel = mask(_epsilon_targets(builder.kinds, builder.outs, start), _FREE)
        self.match_mask = mask([n for n in nodes if builder.kinds[n] == _MATCH], _FREE)
        self.tables: list[dict[int, int]] = [{} for _ in range(-(-size // _CHUNK_BITS))]
        self.passed: dict[int, int] = {}
        self.classes: dict[str, int] = {}
        self.states: dict[tuple[int, int], _State] = {}
        self.entries = 0
        self.flushes = 0
        self.restart = 0
        if not self._anchored():
            self.restart = self.start_kernel
        self.start = self.intern(self.start_kernel, _BOF & self.prev_mask)

    # character classes

    def classify(self, ch: str) -> int:
        cls = self.classes.get(ch)
        if cls is None:
            cls = _NL if ch == "\n" else 0
            if _UNI_WORD.match(ch):
                cls |= _UWORD
            if _ASCII_WORD.match(ch):
                cls |= _AWORD
            for i, atom in enumerate(self.atoms):
                if atom.match(ch):
                    cls |= 1 << (i + _KIND_BITS)
            if len(self.classes) >= MAX_CLASS_CACHE:
                self.classes.clear()
                self.passed.clear()
            self.classes[ch] = cls
        return cls

    def _passed(self, cls: int) -> int:
        """Mark-0 character-test threads that accept a character of class ``cls``."""
        passed = self.passed.get(cls)
        if passed is None:
            passed = sum(1 << p for p, kind in enumerate(self.kinds) if kind == _CHAR and cls & self.args[p])
            self.passed[cls] = passed
        return passed

    def _follow_union(self, active: int) -> int:
        """Union of the mark-0 follow sets of the mark-0 threads in ``active``, a table lookup per chunk."""
        out = 0
        tables = self.tables
        chunk = 0
        while active:
            bits = active & _CHUNK_MASK
            if bits:
                table = tables[chunk]
                union = table.get(bits)
                if union is None:
                    base = chunk * _CHUNK_BITS
                    union = table[bits] = _or_all(self.follow[base + b][_FREE] for b in _bits(bits))
                out |= union
            active >>= _CHUNK_BITS
            chunk += 1
        return out

    # NFA stepping

    def step(self, kernel: int, prev: int, cls: int) -> int | None:
        """Threads after consuming a character of class ``cls``; None if a match was reached first."""
        if self.simple:
            if kernel & self.match_mask:
                return None
            return self._follow_union(kernel & self._passed(cls)) | self.restart
        return self._step_marked(kernel, prev, cls)

    def _step_marked(self, kernel: int, prev: int, cls: int) -> int | None:
        kinds, args, follow, size = self.kinds, self.args, self.follow, self.size
        nxt = cls & _KIND_MASK
        out = 0
        seen = work = kernel
        while work:
            low = work & -work
            work ^= low
            mark, p = divmod(low.bit_length() - 1, size)
            kind = kinds[p]
            if mark == _AT_END:
                continue  # the text had to end here, but a character follows
            if kind == _CHAR:
                if cls & args[p]:
                    out |= follow[p][_AT_END if mark else _FREE]
            elif kind == _ASSERT:
                new_mark = _check_assertion(args[p], prev, nxt, mark)
                if new_mark >= 0:
                    new = follow[p][new_mark] & ~seen
                    seen |= new
                    work |= new
            elif mark == _FREE:
                return None
            else:  # matched before the final newline, which is consumed now
                out |= 1 << (_AT_END * size + p)
        return out | self.restart

    def accepts_at_end(self, kernel: int, prev: int) -> bool:
        if self.simple:
            return bool(kernel & self.match_mask)
        kinds, args, follow, size = self.kinds, self.args, self.follow, self.size
        seen = work = kernel
        while work:
            low = work & -work
            work ^= low
            mark, p = divmod(low.bit_length() - 1, size)
            if kinds[p] == _MATCH:
                return True
            if kinds[p] == _ASSERT:
                new_mark = _check_assertion(args[p], prev, _EOF, mark)
                if new_mark >= 0:
                    new = follow[p][new_mark] & ~seen
                    seen |= new
                    work |= new
        return False

    def _anchored(self) -> bool:
        """True if a thread started after position 0 can never do anything (the pattern starts with ``\\A``).

        Probed with a character that passes every test (an over-approximation of any real character)
        for every combination of what the anchors can see around it.
        """
        every_atom = ((1 << len(self.atoms)) - 1) << _KIND_BITS
        kinds = [bits for bits in range(_KIND_MASK + 1) if not bits & (_BOF | _EOF)]
        for prev in kinds:
            if self.accepts_at_end(self.start_kernel, prev):
                return False
            for nxt in kinds:
                result = self.step(self.start_kernel, prev, every_atom | nxt)
                if result is None or result:
                    return False
        return True

    # DFA cache

    def intern(self, kernel: int, prev: int) -> _State:
        key = (kernel, prev)
        state = self.states.get(key)
        if state is None:
            if len(self.states) >= MAX_DFA_STATES:
                self.flush()
            state = self.states[key] = _State(self, kernel, prev)
        return state

    def flush(self) -> None:
        """Drop every cached state and edge (keeping the start state) and tell the running search.

        Safe against concurrent searches: the states are snapshotted before they are cleared, and a
        search still holding a dropped state just recomputes its edges (each state's meaning is its own).
        """
        stale = list(self.states.values())
        self.states.clear()
        self.entries = 0
        self.flushes += 1
        self.states[(self.start.kernel, self.start.prev)] = self.start
        for state in stale:
            state.clear()
            state.by_class.clear()
        raise _Flushed

    def transition(self, state: _State, ch: str) -> _State:
        if self.entries >= MAX_DFA_ENTRIES:
            self.flush()
        cls = self.classify(ch)
        target = state.by_class.get(cls)
        if target is None:
            kernel = self.step(state.kernel, state.prev, cls)
            if kernel is None:
                raise _Found
            if not kernel:
                raise _Dead
            target = self.intern(kernel, cls & self.prev_mask)
            state.by_class[cls] = target
        self.entries += 1
        state[ch] = target
        return target

    # searching

    def search(self, text: str) -> bool:
        state = self.start
        flushes_before = self.flushes
        chars: Iterator[str] = iter(text)
        ch = ""
        try:
            while True:
                try:
                    for ch in chars:
                        state = state[ch]
                    return self.accepts_at_end(state.kernel, state.prev)
                except _Flushed:
                    # redo the character whose transition was interrupted
                    chars = itertools.chain((ch,), chars)
                    if self.flushes - flushes_before > MAX_FLUSHES_PER_SEARCH:
                        return self.nfa_search(state.kernel, state.prev, chars)
        except _Found:
            return True
        except _Dead:
            return False

    def nfa_search(self, kernel: int, prev: int, chars: Iterable[str]) -> bool:
        """Plain NFA set simulation over the rest of the text; only the character-class cache is used."""
        for ch in chars:
            cls = self.classify(ch)
            stepped = self.step(kernel, prev, cls)
            if stepped is None:
                return True
            if not stepped:
                return False
            kernel, prev = stepped, cls & self.prev_mask
        return self.accepts_at_end(kernel, prev)


def _or_all(masks: Iterable[int]) -> int:
    out = 0
    for mask in masks:
        out |= mask
    return out


# --- public API -------------------------------------------------------------------


class SafePattern:
    """A compiled pattern; :meth:`search` runs in time linear in the text."""

    __slots__ = ("_search", "engine", "flags", "pattern")

    def __init__(self, pattern: str, flags: int, engine: str, search: Callable[[str], bool]) -> None:
        self.pattern = pattern
        self.flags = flags
        self.engine = engine
        """``"re"`` (flat pattern, delegated; see the module docstring) or ``"dfa"``."""
        self._search = search

    def search(self, text: str) -> bool:
        """Whether the pattern matches anywhere in ``text`` (like ``re.search(...) is not None``)."""
        return self._search(text)

    def __repr__(self) -> str:
        return f"SafePattern({self.pattern!r}, flags={self.flags!r}, engine={self.engine!r})"


def compile_pattern(pattern: str, *, ignore_case: bool = True) -> SafePattern:
    """Validate and compile ``pattern``; raise ``ValueError`` for unsupported constructs or oversized patterns."""
    return _compile(pattern, re.IGNORECASE if ignore_case else 0, fast_path=True)


def _compile(pattern: str, flags: int, *, fast_path: bool) -> SafePattern:
    items, global_flags = _parse(pattern, flags)
    if fast_path and _is_flat(items):
        compiled = re.compile(pattern, flags)
        return SafePattern(pattern, flags, "re", lambda text: compiled.search(text) is not None)
    builder = _Builder()
    body = builder.sequence(items, global_flags)
    accept = builder.node(_MATCH)
    builder.outs[body.exit].append(accept)
    automaton = _Automaton(builder, body.entry)
    return SafePattern(pattern, flags, "dfa", automaton.search)


def _benchmark(
    patterns: Iterable[str] = (r".*x", r"(a|b)*c\d+", r"\bcurl\b.*\|\s*(ba)?sh", r"(a+)+$"),
) -> None:
    import time

    text = ("lorem ipsum dolor sit amet, consectetur adipiscing elit 0123 " * 200_000)[:10_000_000]
    for source in patterns:
        compiled = _compile(source, re.IGNORECASE, fast_path=False)
        began = time.perf_counter()
        found = compiled.search(text)
        elapsed = time.perf_counter() - began
        sys.stdout.write(f"{source!r:32} {found!s:5} {len(text) / elapsed / 1e6:6.1f} MB/s (chars/s)\n")


if __name__ == "__main__":  # pragma: no cover
    _benchmark()
