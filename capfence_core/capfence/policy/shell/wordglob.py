"""Linear-time glob patterns with exclusions, for matching words of a command.

Syntax: ``*`` any run of characters (``/`` included: words are not only
paths), ``?`` one character, ``[abc]`` / ``[a-z]`` / ``[!a]`` (or ``[^a]``)
one character of a class, ``\\x`` the character ``x`` literally. In a
:class:`GlobSet` an item starting with ``!`` excludes what it matches.

A pattern is split at its ``*`` into segments of fixed length (literal
characters, ``?`` and classes). A word matches if the first segment matches
its start, the last its end, and the others occur in order in between; each
is found at its leftmost place (which leaves the most room for the rest), by
a regular expression of fixed length. So matching is linear in the word
(times the pattern's length) and runs in the regular-expression engine, not
character by character in Python: a 64 KiB word costs well under a
millisecond. :meth:`Glob.may_match_prefix` answers whether *some* word
starting with a known prefix could match, which is how words built partly
from run-time expansions are judged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from capfence.policy.spec import SpecError

# A token is ("lit", c), ("any", ""), ("star", ""), or ("class", body) where body is (negated, chars, ranges).
_Class = tuple[bool, frozenset[str], tuple[tuple[str, str], ...]]
_Token = tuple[str, str | _Class]


def _parse_class(pattern: str, start: int) -> tuple[_Class, int]:
    i = start + 1
    negated = i < len(pattern) and pattern[i] in "!^"
    i += negated
    chars: set[str] = set()
    ranges: list[tuple[str, str]] = []
    first = True
    while i < len(pattern) and (pattern[i] != "]" or first):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            i += 1
            c = pattern[i]
        if i + 2 < len(pattern) and pattern[i + 1] == "-" and pattern[i + 2] != "]":
            ranges.append((c, pattern[i + 2]))
            i += 3
        else:
            chars.add(c)
            i += 1
        first = False
    if i >= len(pattern):
        raise SpecError(f"bad glob {pattern!r}: unclosed '['", hint="close the class, e.g. /dev/sd[a-z]")
    return (negated, frozenset(chars), tuple(ranges)), i + 1


def _tokens(pattern: str) -> tuple[_Token, ...]:
    out: list[_Token] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            if not out or out[-1][0] != "star":
                out.append(("star", ""))
            i += 1
        elif c == "?":
            out.append(("any", ""))
            i += 1
        elif c == "[":
            body, i = _parse_class(pattern, i)
            out.append(("class", body))
        elif c == "\\" and i + 1 < len(pattern):
            out.append(("lit", pattern[i + 1]))
            i += 2
        else:
            out.append(("lit", c))
            i += 1
    return tuple(out)


def _regex(token: _Token) -> str:
    """The token as a regular expression matching one character."""
    kind, arg = token
    if kind == "lit":
        assert isinstance(arg, str)
        return re.escape(arg)
    if kind == "any":
        return "."
    assert isinstance(arg, tuple)
    negated, chars, ranges = arg
    items = "".join(re.escape(c) for c in sorted(chars)) + "".join(
        f"{re.escape(lo)}-{re.escape(hi)}" for lo, hi in ranges if lo <= hi
    )
    if not items:
        return "." if negated else "(?!)"
    return f"[{'^' if negated else ''}{items}]"


@dataclass(frozen=True)
class _Segment:
    """Tokens between two ``*``: matched by a regular expression of fixed length."""

    tokens: tuple[_Token, ...]
    regex: re.Pattern[str]

    @staticmethod
    def of(tokens: tuple[_Token, ...]) -> _Segment:
        return _Segment(tokens, re.compile("".join(_regex(t) for t in tokens), re.DOTALL))

    def starts(self, text: str) -> bool:
        """Does ``text`` (which may be shorter) agree with the segment's start, character by character?"""
        return len(text) <= len(self.tokens) and all(
            _accepts(t, c) for t, c in zip(self.tokens, text, strict=False)
        )


def _segments(tokens: tuple[_Token, ...]) -> tuple[_Segment, ...]:
    out: list[_Segment] = []
    start = 0
    for i, (kind, _) in enumerate(tokens):
        if kind == "star":
            out.append(_Segment.of(tokens[start:i]))
            start = i + 1
    out.append(_Segment.of(tokens[start:]))
    return tuple(out)


def _find_in_order(segments: tuple[_Segment, ...], text: str, pos: int, end: int) -> int:
    """Where the last of ``segments`` ends when each is found leftmost in ``text[pos:end]`` after the previous one; -1 if one is not."""
    for segment in segments:
        if not segment.tokens:
            continue
        found = segment.regex.search(text, pos, end)
        if found is None:
            return -1
        pos = found.end()
    return pos


def _accepts(token: _Token, c: str) -> bool:
    kind, arg = token
    if kind == "lit":
        return c == arg
    if kind == "class":
        assert isinstance(arg, tuple)
        negated, chars, ranges = arg
        inside = c in chars or any(lo <= c <= hi for lo, hi in ranges)
        return inside != negated
    return True


@dataclass(frozen=True)
class Glob:
    pattern: str
    fold: bool = False
    """Compare case-insensitively (program names)."""

    def __post_init__(self) -> None:
        text = self.pattern.casefold() if self.fold else self.pattern
        tokens = _tokens(text)
        object.__setattr__(self, "_tokens", tokens)
        plain = all(kind == "lit" for kind, _ in tokens)
        object.__setattr__(self, "_literal", "".join(str(arg) for _, arg in tokens) if plain else None)
        stars = [i for i, (kind, _) in enumerate(tokens) if kind == "star"]
        simple = len(stars) == 1 and all(kind in ("lit", "star") for kind, _ in tokens)
        affixes = (
            (
                "".join(str(a) for _, a in tokens[: stars[0]]),
                "".join(str(a) for _, a in tokens[stars[0] + 1 :]),
            )
            if simple
            else None
        )
        object.__setattr__(self, "_affixes", affixes)
        head = ""
        for kind, arg in tokens:
            if kind != "lit":
                break
            head += str(arg)
        object.__setattr__(self, "_head", head)
        object.__setattr__(self, "_segments", _segments(tokens))

    _tokens: tuple[_Token, ...] = field(init=False, repr=False, compare=False)
    _literal: str | None = field(init=False, repr=False, compare=False)
    _affixes: tuple[str, str] | None = field(init=False, repr=False, compare=False)
    """``(prefix, suffix)`` for the common one-star pattern (``/dev/*``, ``mkfs.*``): matched by two string tests."""
    _head: str = field(init=False, repr=False, compare=False)
    """The literal text every match starts with: a cheap first test."""
    _segments: tuple[_Segment, ...] = field(init=False, repr=False, compare=False)
    """The pattern split at its stars (one segment more than stars; the first or last is empty if it starts or ends with one)."""

    def _matches(self, text: str) -> bool:
        """Does the whole of ``text`` (case-folded if folding) match?"""
        segments = self._segments
        first, last = segments[0], segments[-1]
        if len(segments) == 1:
            return len(text) == len(first.tokens) and first.regex.match(text) is not None
        end = len(text) - len(last.tokens)
        if end < len(first.tokens) or first.regex.match(text) is None or last.regex.match(text, end) is None:
            return False
        return _find_in_order(segments[1:-1], text, len(first.tokens), end) >= 0

    def match(self, text: str) -> bool:
        if self.fold:
            text = text.casefold()
        if self._literal is not None:
            return text == self._literal
        if self._affixes is not None:
            head, tail = self._affixes
            return len(text) >= len(head) + len(tail) and text.startswith(head) and text.endswith(tail)
        if not text.startswith(self._head):
            return False
        return self._matches(text)

    def may_match_prefix(self, prefix: str) -> bool:
        """Could some word that starts with ``prefix`` match?

        Yes if the prefix agrees with the pattern up to its first ``*`` (after which anything may follow), or is
        a start of a pattern without one.
        """
        if self.fold:
            prefix = prefix.casefold()
        if self._literal is not None:
            return self._literal.startswith(prefix)
        if self._affixes is not None:
            head = self._affixes[0]
            return prefix.startswith(head) or head.startswith(prefix)
        first = self._segments[0]
        if len(prefix) <= len(first.tokens):
            return first.starts(prefix)
        return len(self._segments) > 1 and first.regex.match(prefix) is not None

    def matches_every_extension(self, prefix: str) -> bool:
        """Does *every* word that starts with ``prefix`` match (the pattern ends in ``*`` after it)?

        That is: the pattern ends with ``*`` and some start of ``prefix`` matches the pattern before it (or
        ``prefix`` matches the whole pattern).
        """
        if self.fold:
            prefix = prefix.casefold()
        if not self._tokens:
            return False
        segments = self._segments
        if segments[-1].tokens:  # no final star: only the prefix itself can be sure to match
            return self._matches(prefix)
        core = segments[:-1]
        first = core[0]
        if len(prefix) < len(first.tokens) or first.regex.match(prefix) is None:
            return False
        return len(core) == 1 or _find_in_order(core[1:], prefix, len(first.tokens), len(prefix)) >= 0


@dataclass(frozen=True)
class GlobSet:
    """Patterns with ``!`` exclusions: a word matches if it matches an inclusion and no exclusion."""

    include: tuple[Glob, ...]
    exclude: tuple[Glob, ...] = ()
    _words: frozenset[str] = field(init=False, repr=False, compare=False)
    """The plain-word inclusions (case-folded if folding), matched by one set lookup."""
    _patterns: tuple[Glob, ...] = field(init=False, repr=False, compare=False)
    """The other inclusions."""
    _fold: bool = field(init=False, repr=False, compare=False)
    _excluded_words: frozenset[str] = field(init=False, repr=False, compare=False)
    """The plain-word exclusions (case-folded if folding, like :attr:`_words`), matched by one set lookup."""
    _excluded_patterns: tuple[Glob, ...] = field(init=False, repr=False, compare=False)
    """The other exclusions."""

    def __post_init__(self) -> None:
        fold = bool(self.include) and self.include[0].fold
        words = [g for g in self.include if g._literal is not None and g.fold == fold]
        object.__setattr__(self, "_fold", fold)
        object.__setattr__(self, "_words", frozenset(g._literal for g in words if g._literal is not None))
        object.__setattr__(self, "_patterns", tuple(g for g in self.include if g not in words))
        excluded = [g for g in self.exclude if g._literal is not None and g.fold == fold]
        object.__setattr__(
            self, "_excluded_words", frozenset(g._literal for g in excluded if g._literal is not None)
        )
        object.__setattr__(self, "_excluded_patterns", tuple(g for g in self.exclude if g not in excluded))

    @classmethod
    def parse(cls, patterns: list[str], *, fold: bool = False) -> GlobSet:
        include = tuple(Glob(p, fold) for p in patterns if not p.startswith("!"))
        exclude = tuple(Glob(p[1:], fold) for p in patterns if p.startswith("!"))
        if not include:
            raise SpecError(
                "a pattern list needs at least one pattern that is not an exclusion ('!...')",
                hint='e.g. ["/dev/*", "!/dev/null"]',
            )
        return cls(include, exclude)

    @property
    def literal(self) -> frozenset[str] | None:
        """The exact words matched, if the set is plain words (no wildcard, no exclusion); case-folded if folding."""
        words = [g._literal for g in self.include]
        if self.exclude or any(w is None for w in words):
            return None
        return frozenset(w for w in words if w is not None)

    def beginnings(self, size: int) -> tuple[frozenset[str], frozenset[str]] | None:
        """``(words, beginnings)``: every match is one of the plain words or starts with one of the ``size``-character
        beginnings of the other patterns; ``None`` if a pattern's literal start is shorter (case-folded if folding)."""
        heads = [g._head for g in self._patterns]
        if any(len(head) < size for head in heads):
            return None
        return self._words, frozenset(head[:size] for head in heads)

    def match(self, text: str) -> bool:
        folded = text.casefold() if self._fold else text
        if folded in self._words or (self._patterns and any(g.match(text) for g in self._patterns)):
            excluded = self._excluded_patterns
            return folded not in self._excluded_words and not (
                excluded and any(g.match(text) for g in excluded)
            )
        return False

    def match_partial(self, prefix: str) -> bool | None:
        """For a word known only up to ``prefix``: False if no completion can match, else None (unknown)."""
        if not any(g.may_match_prefix(prefix) for g in self.include):
            return False
        if any(g.matches_every_extension(prefix) for g in self.exclude):
            return False
        return None
