"""The shortcut for the commands agents write most: plain words joined by ``|``, ``&&``, ``||`` and ``;``.

Such text has no quoting, expansion, redirection or compound command
(a trailing comment is allowed), so its syntax tree can be built from a regular-expression split,
several times faster than the lexer. :func:`parse_plain` returns exactly
the tree :func:`~capfence.policy.shell.parser.parse` would (property-tested),
or ``None`` for anything else, which then takes the full parser.
"""

from __future__ import annotations

import re

from capfence.policy.shell.ast import AndOr, Lit, Pipeline, Script, Simple, Word

PLAIN_WORDS = re.compile(r"[\w./:@%+,=~^*?\[\] \t-]*")
"""Words of ordinary characters only: no quoting, expansion, operator, comment or brace expansion."""
_PLAIN_LIST = re.compile(r"([\w./:@%+,=~^*?\[\] \t|&;-]*?)(?:(?<=[ \t])#[^\n]*)?")
"""Plain words and list operators, then perhaps a comment (a ``#`` after a blank, to the end of the line)."""
_OPERATOR = re.compile(r"(&&|\|\||\||;)")
RESERVED = frozenset({"if", "then", "else", "elif", "fi", "do", "done", "case", "esac", "while", "until", "for", "select",
                      "function", "in", "[[", "]]", "!", "{", "}", "time"})
"""Words that mean something else (or may) where a command starts: such text takes the full parser."""


def command_words(segment: str) -> list[str] | None:
    """The words of one plain simple command, or ``None`` if it is empty or starts like something else."""
    words = segment.split()
    if not words or words[0] in RESERVED or "=" in words[0]:
        return None
    return words


def _pipeline(segment: str) -> Pipeline | None:
    words = command_words(segment)
    if words is None:
        return None
    return Pipeline((Simple((), tuple(Word((Lit(w, False),)) for w in words), ()),))


def parse_plain(text: str) -> Script | None:
    """The syntax tree of a plain command list, or ``None`` if ``text`` needs the full parser."""
    plain = _PLAIN_LIST.fullmatch(text)
    if plain is None:
        return None
    pieces = _OPERATOR.split(plain.group(1))
    if len(pieces) > 2 and pieces[-2] == ";" and not pieces[-1].strip():
        pieces = pieces[:-2]  # one trailing ';' ends the last command
    items: list[AndOr] = []
    current: list[Pipeline] = []
    joins: list[str] = []
    for index in range(0, len(pieces), 2):
        if "&" in pieces[index]:
            return None  # '&' alone (background) or '|&'
        command = _pipeline(pieces[index])
        if command is None:
            return None
        op = pieces[index - 1] if index else ""
        if op == "|":
            current[-1] = Pipeline((*current[-1].commands, *command.commands))
        elif op in ("&&", "||"):
            joins.append(op)
            current.append(command)
        else:  # start, or after ';'
            if current:
                items.append(_and_or(current, joins))
            current, joins = [command], []
    items.append(_and_or(current, joins))
    return Script(tuple(items))


def _and_or(pipelines: list[Pipeline], joins: list[str]) -> AndOr:
    return AndOr(pipelines[0], tuple(zip(joins, pipelines[1:], strict=True)))
