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
from capfence.policy.shell.budget import Budget
from capfence.policy.shell.expand import has_glob
from capfence.policy.shell.model import Arg, Kind

_WORD = r"""(?:[\w./:@%+,=~^*?\[\]-]++|'[^'\n]*+'|"[^"$`\\\n]*+")++"""
"""A word of ordinary characters and simple quotes: no expansion, escape, operator, comment or brace expansion.

(Possessive quantifiers: a word is taken whole, so no text can make the match backtrack.)"""
_PLAIN_LIST = re.compile(rf"([ \t]*+(?:(?:{_WORD}|&&|\|\||\||;)[ \t]*+)*+)(?:(?<=[ \t])#[^\n]*+)?")
"""Plain words and list operators, then perhaps a comment (a ``#`` after a blank, to the end of the line)."""
_TOKEN = re.compile(rf"{_WORD}|&&|\|\||\||;")
_BARE_LIST = re.compile(r"([\w./:@%+,=~^*?\[\]\- \t]*+)(?:(?<=[ \t])#[^\n]*+)?")
""":data:`_PLAIN_LIST` for text without quotes or list operators: one command of plain words, perhaps a comment. (Its words are
then what ``str.split`` gives: the only blanks such text can hold are spaces and tabs.)"""
_BARE_OPERATORS = re.compile(r"([\w./:@%+,=~^*?\[\]\- \t|&;]*+)(?:(?<=[ \t])#[^\n]*+)?")
""":data:`_BARE_LIST` with list operators: plain words without quotes, joined by ``|``, ``&&``, ``||`` and ``;``."""
_OPERATORS = frozenset({"&&", "||", "|", ";"})
RESERVED = frozenset(
    {
        "if",
        "then",
        "else",
        "elif",
        "fi",
        "do",
        "done",
        "case",
        "esac",
        "while",
        "until",
        "for",
        "select",
        "function",
        "in",
        "[[",
        "]]",
        "!",
        "{",
        "}",
        "time",
        "coproc",
    }
)
"""Words that mean something else (or may) where a command starts: such text takes the full parser."""

MAX_PLAIN_CHARS = 16384
"""Longer texts take the parser (matching these expressions costs about 0.1 ms per KiB; the parser's work is bounded)."""

Stages = list[list[str]]
"""One pipeline: the words of each of its commands."""
Chain = tuple[list[Stages], list[str]]
"""One and-or list: its pipelines, and the ``&&`` / ``||`` between them."""


def split_plain(text: str) -> list[Chain] | None:
    """The and-or lists of a plain command list (split at ``;``), or ``None`` if ``text`` needs the full parser.

    Words are given as written, quotes included (:func:`plain_arg` removes them).
    """
    if len(text) > MAX_PLAIN_CHARS:
        return None  # (a longer text is left to the parser, which is bounded by the budget)
    bare = _BARE_LIST.fullmatch(text)
    if bare is not None:
        # the most common text of all, matched by a simpler expression and split without one
        words = bare.group(1).split()
        # (:func:`_one_command`, spelled out)
        return [([[words]], [])] if words and words[0] not in RESERVED and "=" not in words[0] else None
    if "\n" in text:
        return None  # a plain list has no newline
    if "|" in text or "&" in text or ";" in text:
        bare = _BARE_OPERATORS.fullmatch(text)
        if bare is not None:
            # words and operators without quotes: if each operator stands between blanks, what str.split gives
            body = bare.group(1)
            chains = _list(body.split(), body.count("|") + body.count("&") + body.count(";"))
            if chains is not None:
                return chains
    plain = _PLAIN_LIST.fullmatch(text)
    if plain is None:
        return None
    body = plain.group(1)
    if "|" not in body and "&" not in body and ";" not in body:  # one command (the common case)
        return _one_command(_TOKEN.findall(body))
    return _list(_TOKEN.findall(body))


def _list(tokens: list[str], operators: int = -1) -> list[Chain] | None:
    """The and-or lists of a plain list's words and operators, or ``None`` if a command is empty or starts with a reserved
    word or an assignment.

    ``operators``: for tokens split at blanks, how many operator characters the text has; ``None`` unless the operators
    found hold them all (an operator glued to a word, ``ls|wc``, or a token of operator characters that is no list
    operator, ``&``, ``;;``, ``|&``: the caller splits such text with :data:`_TOKEN`).
    """
    # one pass (this runs for every new command): the chains are built as the tokens come
    words: list[str] = []
    stages: Stages = [words]
    pipelines: list[Stages] = [stages]
    joins: list[str] = []
    chains: list[Chain] = [(pipelines, joins)]
    found = 0
    for token in tokens:
        if token in _OPERATORS:
            if not words:
                return None  # an empty command
            found += len(token)
            words = []
            if token == "|":
                stages.append(words)
            elif token == ";":
                stages = [words]
                pipelines = [stages]
                joins = []
                chains.append((pipelines, joins))
            else:
                joins.append(token)
                stages = [words]
                pipelines.append(stages)
        elif words or (token not in RESERVED and "=" not in token):
            words.append(token)
        else:
            return None  # a reserved word or an assignment where a command starts
    if operators >= 0 and found != operators:
        return None
    if not words:
        if not found or tokens[-1] != ";":
            return None  # no command at all, or an empty one at the end
        chains.pop()  # one trailing ';' ends the last command
    return chains


def _one_command(words: list[str]) -> list[Chain] | None:
    """The and-or list of one command's words, unless it has none or starts with a reserved word or an assignment."""
    return [([[words]], [])] if words and words[0] not in RESERVED and "=" not in words[0] else None


def parse_plain(text: str, budget: Budget | None = None) -> Script | None:
    """The syntax tree of a plain command list, or ``None`` if ``text`` needs the full parser. Each word costs a step."""
    chains = None if "'" in text or '"' in text else split_plain(text)
    if chains is None:
        return None
    if budget is None:
        budget = Budget()
    return Script(
        tuple(
            _and_or([_pipeline(stages, budget) for stages in pipelines], joins) for pipelines, joins in chains
        )
    )


def _pipeline(stages: Stages, budget: Budget) -> Pipeline:
    for words in stages:
        budget.spend(len(words) + 1)
    return Pipeline(tuple(Simple((), tuple(Word((Lit(w, False),)) for w in words), ()) for words in stages))


def _and_or(pipelines: list[Pipeline], joins: list[str]) -> AndOr:
    return AndOr(pipelines[0], tuple(zip(joins, pipelines[1:], strict=True)))


_QUOTED_PARTS = re.compile(r"""'[^']*'|"[^"]*"|[^'"]+""")


def plain_arg(word: str) -> Arg:
    """The argument a word of a plain command list (:func:`split_plain`) gives: quotes removed, nothing else to expand."""
    if "'" not in word and '"' not in word:
        return Arg(word, Kind.STATIC, word, ("*" in word or "?" in word or "[" in word) and has_glob(word))
    text: list[str] = []
    globbing = False
    for part in _QUOTED_PARTS.findall(word):
        if part[0] in "'\"":
            text.append(part[1:-1])
        else:
            text.append(part)
            globbing = globbing or has_glob(part)
    joined = "".join(text)
    return Arg(joined, Kind.STATIC, joined, globbing)


def plain_args(words: list[str], budget: Budget | None = None) -> list[Arg]:
    """:func:`plain_arg` of each word; ``budget`` pays a step per word and per pair of quotes."""
    if budget is not None:
        budget.spend(len(words) + quote_pairs(words))
    return [plain_arg(w) for w in words]


def quote_pairs(words: list[str]) -> int:
    """How many quoted strings the words hold (at most): what removing them costs."""
    return sum((w.count("'") + w.count('"')) // 2 for w in words if "'" in w or '"' in w)
