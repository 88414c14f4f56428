"""Linear-time glob patterns with exclusions, for matching words of a command.

Syntax: ``*`` any run of characters (``/`` included: words are not only
paths), ``?`` one character, ``[abc]`` / ``[a-z]`` / ``[!a]`` (or ``[^a]``)
one character of a class, ``\\x`` the character ``x`` literally. In a
:class:`GlobSet` an item starting with ``!`` excludes what it matches.

Matching simulates the pattern as a set of states (no backtracking), so no
pattern/subject pair can take more than ``len(pattern) * len(subject)``
steps. :meth:`Glob.may_match_prefix` answers whether *some* word starting
with a known prefix could match, which is how words built partly from
run-time expansions are judged.
"""

from __future__ import annotations

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
        affixes = ("".join(str(a) for _, a in tokens[: stars[0]]), "".join(str(a) for _, a in tokens[stars[0] + 1 :])) if simple else None
        object.__setattr__(self, "_affixes", affixes)
        head = ""
        for kind, arg in tokens:
            if kind != "lit":
                break
            head += str(arg)
        object.__setattr__(self, "_head", head)

    _tokens: tuple[_Token, ...] = field(init=False, repr=False, compare=False)
    _literal: str | None = field(init=False, repr=False, compare=False)
    _affixes: tuple[str, str] | None = field(init=False, repr=False, compare=False)
    _head: str = field(init=False, repr=False, compare=False)
    """The literal text every match starts with: a cheap first test."""
    """``(prefix, suffix)`` for the common one-star pattern (``/dev/*``, ``mkfs.*``): matched without the automaton."""

    def _run(self, text: str) -> set[int]:
        """States reachable after consuming ``text`` (state i = next token index)."""
        tokens = self._tokens
        states = self._close({0})
        for c in text:
            step: set[int] = set()
            for i in states:
                if i < len(tokens):
                    kind = tokens[i][0]
                    if kind == "star":
                        step.add(i)
                    elif _accepts(tokens[i], c):
                        step.add(i + 1)
            if not step:
                return step
            states = self._close(step)
        return states

    def _close(self, states: set[int]) -> set[int]:
        """A star may match nothing: add the state after each reachable star."""
        tokens = self._tokens
        out = set(states)
        todo = list(states)
        while todo:
            i = todo.pop()
            if i < len(tokens) and tokens[i][0] == "star" and i + 1 not in out:
                out.add(i + 1)
                todo.append(i + 1)
        return out

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
        return len(self._tokens) in self._run(text)

    def may_match_prefix(self, prefix: str) -> bool:
        """Could some word that starts with ``prefix`` match?"""
        if self.fold:
            prefix = prefix.casefold()
        if self._literal is not None:
            return self._literal.startswith(prefix)
        if self._affixes is not None:
            head = self._affixes[0]
            return prefix.startswith(head) or head.startswith(prefix)
        return bool(self._run(prefix))

    def matches_every_extension(self, prefix: str) -> bool:
        """Does *every* word that starts with ``prefix`` match (the pattern ends in ``*`` after it)?"""
        if self.fold:
            prefix = prefix.casefold()
        tokens = self._tokens
        return any(all(kind == "star" for kind, _ in tokens[i:]) for i in self._run(prefix)) if tokens else False


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

    def __post_init__(self) -> None:
        fold = bool(self.include) and self.include[0].fold
        words = [g for g in self.include if g._literal is not None and g.fold == fold]
        object.__setattr__(self, "_fold", fold)
        object.__setattr__(self, "_words", frozenset(g._literal for g in words if g._literal is not None))
        object.__setattr__(self, "_patterns", tuple(g for g in self.include if g not in words))

    @classmethod
    def parse(cls, patterns: list[str], *, fold: bool = False) -> GlobSet:
        include = tuple(Glob(p, fold) for p in patterns if not p.startswith("!"))
        exclude = tuple(Glob(p[1:], fold) for p in patterns if p.startswith("!"))
        if not include:
            raise SpecError("a pattern list needs at least one pattern that is not an exclusion ('!...')",
                            hint='e.g. ["/dev/*", "!/dev/null"]')
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
        if (text.casefold() if self._fold else text) in self._words or (self._patterns and any(g.match(text) for g in self._patterns)):
            return not (self.exclude and any(g.match(text) for g in self.exclude))
        return False

    def match_partial(self, prefix: str) -> bool | None:
        """For a word known only up to ``prefix``: False if no completion can match, else None (unknown)."""
        if not any(g.may_match_prefix(prefix) for g in self.include):
            return False
        if any(g.matches_every_extension(prefix) for g in self.exclude):
            return False
        return None
