"""The shortcut for the commands agents write most: plain words joined by ``|``, ``&&``, ``||`` and ``;``.

Such text has no quoting, expansion, redirection or compound command
(a trailing comment is allowed), so it can be split with regular expressions,
several times faster than the lexer. :func:`split_plain` gives its commands' words
(the analyzer walks them without building a syntax tree), and :func:`parse_plain`
returns exactly the tree :func:`~capfence.policy.shell.parser.parse` would
(property-tested). Both return ``None`` for anything else, which then takes the full parser.
"""

from __future__ import annotations

import re

from capfence.policy.shell.ast import AndOr, Lit, Pipeline, Script, Simple, Word

_PLAIN_LIST = re.compile(r"([\w./:@%+,=~^*?\[\] \t|&;-]*?)(?:(?<=[ \t])#[^\n]*)?")
"""Plain words and list operators, then perhaps a comment (a ``#`` after a blank, to the end of the line)."""
_OPERATOR = re.compile(r"(&&|\|\||\||;)")
RESERVED = frozenset({"if", "then", "else", "elif", "fi", "do", "done", "case", "esac", "while", "until", "for", "select",
                      "function", "in", "[[", "]]", "!", "{", "}", "time"})
"""Words that mean something else (or may) where a command starts: such text takes the full parser."""

Stages = list[list[str]]
"""One pipeline: the words of each of its commands."""
Chain = tuple[list[Stages], list[str]]
"""One and-or list: its pipelines, and the ``&&`` / ``||`` between them."""


def command_words(segment: str) -> list[str] | None:
    """The words of one plain simple command, or ``None`` if it is empty or starts like something else."""
    words = segment.split()
    if not words or words[0] in RESERVED or "=" in words[0]:
        return None
    return words


def split_plain(text: str) -> list[Chain] | None:
    """The and-or lists of a plain command list (split at ``;``), or ``None`` if ``text`` needs the full parser."""
    plain = _PLAIN_LIST.fullmatch(text)
    if plain is None:
        return None
    pieces = _OPERATOR.split(plain.group(1))
    if len(pieces) > 2 and pieces[-2] == ";" and not pieces[-1].strip():
        pieces = pieces[:-2]  # one trailing ';' ends the last command
    chains: list[Chain] = []
    pipelines: list[Stages] = []
    joins: list[str] = []
    for index in range(0, len(pieces), 2):
        words = command_words(pieces[index])
        if words is None or "&" in pieces[index]:
            return None  # an empty command, a reserved word or assignment first, '&' alone (background) or '|&'
        op = pieces[index - 1] if index else ""
        if op == "|":
            pipelines[-1].append(words)
        elif op in ("&&", "||"):
            joins.append(op)
            pipelines.append([words])
        else:  # start, or after ';'
            if pipelines:
                chains.append((pipelines, joins))
            pipelines, joins = [[words]], []
    chains.append((pipelines, joins))
    return chains


def parse_plain(text: str) -> Script | None:
    """The syntax tree of a plain command list, or ``None`` if ``text`` needs the full parser."""
    chains = split_plain(text)
    if chains is None:
        return None
    return Script(tuple(_and_or([_pipeline(stages) for stages in pipelines], joins) for pipelines, joins in chains))


def _pipeline(stages: Stages) -> Pipeline:
    return Pipeline(tuple(Simple((), tuple(Word((Lit(w, False),)) for w in words), ()) for words in stages))


def _and_or(pipelines: list[Pipeline], joins: list[str]) -> AndOr:
    return AndOr(pipelines[0], tuple(zip(joins, pipelines[1:], strict=True)))
