"""The shortcut for the commands agents write most: plain words joined by ``|``, ``&&``, ``||`` and ``;``.

Such text has no expansion, escape, redirection or compound command; words may
hold quoted strings without ``$``, backquotes or backslashes, and a trailing
comment is allowed. It can be split with regular expressions, several times
faster than the lexer. :func:`split_plain` gives its commands' words (the
analyzer walks them without building a syntax tree; property-tested against
the parser), and :func:`parse_plain` returns exactly the tree
:func:`~capfence.policy.shell.parser.parse` would for such text without quotes
(property-tested). Both return ``None`` for anything else, which then takes the full parser.
"""

from __future__ import annotations

import re

from capfence.policy.shell.ast import AndOr, Lit, Pipeline, Script, Simple, Word

_WORD = r"""(?:[\w./:@%+,=~^*?\[\]-]++|'[^'\n]*+'|"[^"$`\\\n]*+")++"""
"""A word of ordinary characters and simple quotes: no expansion, escape, operator, comment or brace expansion.

(Possessive quantifiers: a word is taken whole, so no text can make the match backtrack.)"""
_PLAIN_LIST = re.compile(rf"([ \t]*+(?:(?:{_WORD}|&&|\|\||\||;)[ \t]*+)*+)(?:(?<=[ \t])#[^\n]*+)?")
"""Plain words and list operators, then perhaps a comment (a ``#`` after a blank, to the end of the line)."""
_TOKEN = re.compile(rf"{_WORD}|&&|\|\||\||;")
_OPERATORS = frozenset({"&&", "||", "|", ";"})
RESERVED = frozenset({"if", "then", "else", "elif", "fi", "do", "done", "case", "esac", "while", "until", "for", "select",
                      "function", "in", "[[", "]]", "!", "{", "}", "time"})
"""Words that mean something else (or may) where a command starts: such text takes the full parser."""

Stages = list[list[str]]
"""One pipeline: the words of each of its commands."""
Chain = tuple[list[Stages], list[str]]
"""One and-or list: its pipelines, and the ``&&`` / ``||`` between them."""


def split_plain(text: str) -> list[Chain] | None:
    """The and-or lists of a plain command list (split at ``;``), or ``None`` if ``text`` needs the full parser.

    Words are given as written, quotes included (:func:`~capfence.policy.shell.analyzer.plain_arg` removes them).
    """
    plain = _PLAIN_LIST.fullmatch(text)
    if plain is None:
        return None
    commands: list[list[str]] = [[]]
    ops: list[str] = []
    for token in _TOKEN.findall(plain.group(1)):
        if token in _OPERATORS:
            ops.append(token)
            commands.append([])
        else:
            commands[-1].append(token)
    if ops and ops[-1] == ";" and not commands[-1]:
        ops.pop()  # one trailing ';' ends the last command
        commands.pop()
    if any(not words or words[0] in RESERVED or "=" in words[0] for words in commands):
        return None  # an empty command, or a reserved word or an assignment where a command starts
    chains: list[Chain] = []
    pipelines: list[Stages] = [[commands[0]]]
    joins: list[str] = []
    for op, words in zip(ops, commands[1:], strict=True):
        if op == "|":
            pipelines[-1].append(words)
        elif op == ";":
            chains.append((pipelines, joins))
            pipelines, joins = [[words]], []
        else:
            joins.append(op)
            pipelines.append([words])
    chains.append((pipelines, joins))
    return chains


def parse_plain(text: str) -> Script | None:
    """The syntax tree of a plain command list, or ``None`` if ``text`` needs the full parser."""
    chains = None if "'" in text or '"' in text else split_plain(text)
    if chains is None:
        return None
    return Script(tuple(_and_or([_pipeline(stages) for stages in pipelines], joins) for pipelines, joins in chains))


def _pipeline(stages: Stages) -> Pipeline:
    return Pipeline(tuple(Simple((), tuple(Word((Lit(w, False),)) for w in words), ()) for words in stages))


def _and_or(pipelines: list[Pipeline], joins: list[str]) -> AndOr:
    return AndOr(pipelines[0], tuple(zip(joins, pipelines[1:], strict=True)))
