"""A recursive-descent parser for POSIX shell commands (with the common bash forms).

Grammar (simplified from POSIX XCU 2.10)::

    list      := and_or ((';' | '&' | NEWLINE) and_or)*
    and_or    := pipeline (('&&' | '||') NEWLINE* pipeline)*
    pipeline  := ['!'] command (('|' | '|&') NEWLINE* command)*
    command   := simple | compound redirect* | name '(' ')' command | 'function' name ['(' ')'] command
    compound  := '{' list '}' | '(' list ')' | if | while | until | for | select | case | '((' .. '))' | '[[' .. ']]'
    simple    := (assignment | redirect)* (word | redirect)*

Reserved words are recognized only where a command may start, and only when
written unquoted (``'if'`` is a command named if). Here-documents are read at
the end of the line that opened them. Errors raise :class:`ParseError`.
"""

from __future__ import annotations

import dataclasses
import re

from capfence.policy.shell import shortcuts
from capfence.policy.shell.ast import (
    AndOr,
    ArithCommand,
    Assign,
    Case,
    Command,
    For,
    FunctionDef,
    Group,
    HereDoc,
    If,
    Lit,
    Loop,
    Pipeline,
    Redirect,
    Script,
    Simple,
    Test,
    Word,
)
from capfence.policy.shell.budget import Budget
from capfence.policy.shell.lexer import REDIRECT_OPS, Lexer, ParseError, Token
from capfence.policy.shell.plain import parse_plain

__all__ = ["ParseError", "parse"]

_ASSIGNMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(\[[^\]]*\])?\+?=")
_LIST_END_OPS = frozenset({")", ";;", ";&", ";;&"})
_CASE_END_OPS = frozenset({";;", ";&", ";;&"})
_TERMINATORS = frozenset({"then", "else", "elif", "fi", "do", "done", "esac", "}", "in", "]]"})
_NO_STOPS: frozenset[str] = frozenset()
_SEMI, _AMP, _ANDOR, _PIPES, _LPAREN, _BAR = (
    frozenset(x) for x in ({";"}, {"&"}, {"&&", "||"}, {"|", "|&"}, {"("}, {"|"})
)
_BANG, _ELIF, _ELSE, _IN, _ESAC = (frozenset(x) for x in ({"!"}, {"elif"}, {"else"}, {"in"}, {"esac"}))
_TIME, _TIME_P = frozenset({"time"}), frozenset({"-p"})
COMMAND_STEPS = 3
"""Budget steps each command (simple or compound) costs to parse, besides its tokens."""


def parse(text: str, depth: int = 0, budget: Budget | None = None, *, plain: bool = True) -> Script:
    """Parse a complete command text; raise :class:`ParseError` if a shell would reject it.

    Parsing spends from ``budget`` (a fresh one if not given) and raises
    :class:`~capfence.policy.shell.budget.TooComplex` (a ``ParseError``) when it runs out.
    ``plain=False``: the caller knows the text is not a plain command list (no need to look again).
    """
    if budget is None:
        budget = Budget()
    budget.chars(len(text))
    script = parse_plain(text, budget) if plain and shortcuts.ENABLED else None
    if script is not None:
        return script
    lexer = Lexer(text, depth, _parse_substitution, parse, budget)
    parser = _Parser(lexer)
    script = parser.list(_NO_STOPS)
    token = parser.peek()
    if token.kind != "eof":
        raise ParseError(f"unexpected {_describe(token)}")
    return script


def _parse_substitution(lexer: Lexer) -> Script:
    """Body of ``$(...)`` / ``<(...)``: a list through the closing parenthesis."""
    parser = _Parser(lexer)
    body = parser.list(_NO_STOPS)
    token = parser.take()
    if token.kind != "op" or token.text != ")":
        raise ParseError(
            "unterminated $( or <(" if token.kind == "eof" else f"unexpected {_describe(token)} in $( )"
        )
    return body


def _describe(token: Token) -> str:
    return {"eof": "end of input", "newline": "newline"}.get(token.kind, repr(token.text))


class _Parser:
    def __init__(self, lexer: Lexer) -> None:
        self.lexer = lexer
        self.token: Token | None = None

    # --- token helpers --------------------------------------------------------

    def peek(self) -> Token:
        token = self.token
        if token is None:
            token = self.token = self.lexer.next_token()
        return token

    def take(self) -> Token:
        token = self.token
        if token is None:
            return self.lexer.next_token()
        self.token = None
        return token

    def at_op(self, ops: frozenset[str]) -> bool:
        token = self.token
        if token is None:
            token = self.token = self.lexer.next_token()
        return token.kind == "op" and token.text in ops

    def at_word(self, words: frozenset[str]) -> bool:
        token = self.token
        if token is None:
            token = self.token = self.lexer.next_token()
        return (
            token.kind == "word"
            and token.assign is None
            and token.word is not None
            and token.word.bare in words
        )

    def expect_op(self, op: str) -> None:
        token = self.take()
        if token.kind != "op" or token.text != op:
            raise ParseError(f"expected {op!r}, got {_describe(token)}")

    def expect_word(self, word: str) -> None:
        if not self.at_word(frozenset((word,))):
            raise ParseError(f"expected {word!r}, got {_describe(self.peek())}")
        self.take()

    def newlines(self) -> None:
        while self.peek().kind == "newline":
            self.take()

    def nested(self, stops: frozenset[str]) -> Script:
        """The list inside a compound command: must not be empty (``{ }`` and ``if then fi`` are errors)."""
        body = self.lexer.nested(lambda: self.list(stops))
        if not body.items:
            raise ParseError(f"empty command list before {_describe(self.peek())}")
        return body

    # --- lists ----------------------------------------------------------------

    def list(self, stops: frozenset[str]) -> Script:
        items: list[AndOr] = []
        while True:
            self.newlines()
            token = self.peek()
            if token.kind == "eof" or self.at_op(_LIST_END_OPS) or (stops and self.at_word(stops)):
                break
            item = self.and_or()
            if self.at_op(_SEMI):
                self.take()
            elif self.at_op(_AMP):
                self.take()
                item = AndOr(item.first, item.rest, background=True)
            elif self.peek().kind != "newline":
                items.append(item)
                break
            items.append(item)
        return Script(tuple(items))

    def and_or(self) -> AndOr:
        first = self.pipeline()
        rest: list[tuple[str, Pipeline]] = []
        while self.at_op(_ANDOR):
            op = self.take().text
            self.newlines()
            rest.append((op, self.pipeline()))
        return AndOr(first, tuple(rest))

    def pipeline(self) -> Pipeline:
        negated = False
        while self.at_word(_BANG):
            self.take()
            negated = not negated
        commands = [self.timed() if self.at_word(_TIME) else self.command()]
        while self.at_op(_PIPES):
            self.take()
            self.newlines()
            if self.at_word(_BANG):  # (bash and dash reject it too)
                raise ParseError("unexpected '!' after '|' (it may only start a pipeline)")
            commands.append(self.command())
        return Pipeline(tuple(commands), negated)

    def timed(self) -> Command:
        """``time [-p] pipeline``: a keyword before a compound command, a wrapper before a simple one."""
        words = [self.take().word]
        if self.at_word(_TIME_P):
            words.append(self.take().word)
        token = self.peek()
        if token.kind in ("eof", "newline") or (
            token.kind == "op" and token.text not in REDIRECT_OPS and token.text != "("
        ):
            return Simple((), tuple(w for w in words if w is not None), ())
        command = self.command()
        if isinstance(command, Simple):
            return Simple(
                command.assigns, tuple(w for w in words if w is not None) + command.words, command.redirects
            )
        return command

    # --- commands ---------------------------------------------------------------

    def command(self) -> Command:
        self.lexer.budget.spend(COMMAND_STEPS)
        token = self.peek()
        if token.kind == "op" and token.text == "(":
            self.take()
            return self.redirected(self.paren())
        if token.kind == "word" and token.assign is None and token.word is not None:
            keyword = token.word.bare
            if keyword in _COMPOUND:
                self.take()
                return self.redirected(_COMPOUND[keyword](self))
            if keyword in _TERMINATORS:
                raise ParseError(f"unexpected {keyword!r}")
            if keyword == "function":
                self.take()
                return self.function()
            if keyword == "coproc":
                return self.coproc()
        return self.simple()

    def coproc(self) -> Command:
        """``coproc [NAME] compound-command`` (the compound is what runs), or ``coproc simple-command`` (a wrapper, as
        ``time`` is: bash takes no NAME there, so the word after ``coproc`` is the program)."""
        coproc = self.take().word
        if self.at_compound():
            return self.command()
        token = self.peek()
        if (
            token.kind != "word"
            or token.word is None
            or (token.assign or _assignment(token.word)) is not None
        ):
            return self.prefixed(coproc)  # (coproc X=1 cmd: an assignment starts the simple command)
        name = self.take().word
        if self.at_compound():
            return self.command()
        return self.prefixed(coproc, name)

    def at_compound(self) -> bool:
        """The next token starts a compound command: ``(`` or a reserved word such as ``{``, ``while``, ``[[``."""
        token = self.peek()
        return (token.kind == "op" and token.text == "(") or (
            token.kind == "word"
            and token.assign is None
            and token.word is not None
            and token.word.bare in _COMPOUND
        )

    def prefixed(self, *words: Word | None) -> Command:
        """A simple command whose first words (taken already) are ``words``; the rest, if any, follows."""
        taken = tuple(w for w in words if w is not None)
        token = self.peek()
        if token.kind not in ("word", "io") and not self.at_op(REDIRECT_OPS):
            return Simple((), taken, ())
        rest = self.simple()
        if not isinstance(rest, Simple):
            raise ParseError("expected a command")
        return Simple(rest.assigns, taken + rest.words, rest.redirects)

    def redirected(self, command: Command) -> Command:
        redirects = self.redirects()
        if not redirects or isinstance(command, FunctionDef | Simple):
            return command
        return dataclasses.replace(command, redirects=redirects)

    def redirects(self) -> tuple[Redirect, ...]:
        out: list[Redirect] = []
        while self.peek().kind == "io" or self.at_op(REDIRECT_OPS):
            out.append(self.redirect())
        return tuple(out)

    def redirect(self) -> Redirect:
        token = self.take()
        fd = None
        if token.kind == "io":
            fd = int(token.text)
            token = self.take()
            if token.kind != "op" or token.text not in REDIRECT_OPS:
                raise ParseError(f"expected a redirection after {fd}, got {_describe(token)}")
        target = self.take()
        if target.kind != "word" or target.word is None:
            raise ParseError(f"redirection {token.text!r} has no target (got {_describe(target)})")
        if token.text in ("<<", "<<-"):
            delimiter = target.word.literal
            if delimiter is None:
                raise ParseError("here-document delimiter must be literal")
            quoted = any(isinstance(p, Lit) and p.quoted for p in target.word.parts)
            doc = HereDoc(delimiter, quoted, token.text == "<<-")
            self.lexer.heredocs.append(doc)
            return Redirect(token.text, fd, target.word, doc)
        return Redirect(token.text, fd, target.word)

    def simple(self) -> Command:
        assigns: list[Assign] = []
        words: list[Word] = []
        redirects: list[Redirect] = []
        while True:
            token = self.peek()
            if token.kind == "io" or self.at_op(REDIRECT_OPS):
                redirects.append(self.redirect())
                continue
            if token.kind != "word" or token.word is None:
                break
            self.take()
            assign = token.assign or (None if words else _assignment(token.word))
            if assign is not None and not words:
                assigns.append(assign)
            else:
                words.append(token.word)
        if not (assigns or words or redirects):
            raise ParseError(f"unexpected {_describe(self.peek())}")
        if len(words) == 1 and not assigns and not redirects and self.at_op(_LPAREN):
            name = words[0].literal
            if name is None:
                raise ParseError("function name must be literal")
            self.take()
            self.expect_op(")")
            return FunctionDef(name, self.function_body())
        return Simple(tuple(assigns), tuple(words), tuple(redirects))

    def function_body(self) -> Command:
        """A function's body must be a compound command (``f() { ...; }``), as in bash."""
        self.newlines()
        if not self.at_compound():
            raise ParseError(f"a function body must be a compound command, got {_describe(self.peek())}")
        return self.command()

    def function(self) -> Command:
        token = self.take()
        name = token.word.literal if token.kind == "word" and token.word is not None else None
        if name is None:
            raise ParseError("expected a function name after 'function'")
        if self.at_op(_LPAREN):
            self.take()
            self.expect_op(")")
        return FunctionDef(name, self.function_body())

    # --- compound commands -----------------------------------------------------------

    def paren(self) -> Command:
        lexer = self.lexer
        if lexer.pos < len(lexer.src) and lexer.src[lexer.pos] == "(":
            start = lexer.pos
            lexer.pos += 1
            parts = lexer.arith_until_close()
            if parts is not None:
                return ArithCommand(parts)
            lexer.pos = start
        body = self.nested(_NO_STOPS)
        self.expect_op(")")
        return Group(body, subshell=True)

    def brace(self) -> Command:
        body = self.nested(frozenset({"}"}))
        self.expect_word("}")
        return Group(body, subshell=False)

    def if_(self) -> Command:
        clauses: list[tuple[Script, Script]] = []
        while True:
            condition = self.nested(frozenset({"then"}))
            self.expect_word("then")
            clauses.append((condition, self.nested(frozenset({"elif", "else", "fi"}))))
            if not self.at_word(_ELIF):
                break
            self.take()
        otherwise = None
        if self.at_word(_ELSE):
            self.take()
            otherwise = self.nested(frozenset({"fi"}))
        self.expect_word("fi")
        return If(tuple(clauses), otherwise)

    def loop(self, kind: str) -> Command:
        condition = self.nested(frozenset({"do"}))
        body = self.do_done()
        return Loop(kind, condition, body)

    def do_done(self) -> Script:
        self.expect_word("do")
        body = self.nested(frozenset({"done"}))
        self.expect_word("done")
        return body

    def for_(self) -> Command:
        if self.at_op(_LPAREN) and self.lexer.src.startswith("(", self.lexer.pos):
            self.take()
            self.lexer.pos += 1
            parts = self.lexer.arith_until_close()
            if parts is None:
                raise ParseError("bad for (( )) header")
            if self.at_op(_SEMI):
                self.take()
            self.newlines()
            return For("", None, self.do_done(), parts)
        token = self.take()
        name = token.word.literal if token.kind == "word" and token.word is not None else None
        if name is None or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ParseError(f"bad for loop variable {_describe(token)}")
        self.newlines()
        words: tuple[Word, ...] | None = None
        if self.at_word(_IN):
            self.take()
            collected: list[Word] = []
            while self.peek().kind == "word" and self.peek().word is not None:
                word = self.take().word
                assert word is not None
                collected.append(word)
            words = tuple(collected)
        if self.at_op(_SEMI):
            self.take()
        self.newlines()
        return For(name, words, self.do_done())

    def case(self) -> Command:
        token = self.take()
        if token.kind != "word" or token.word is None:
            raise ParseError("expected a word after 'case'")
        self.newlines()
        self.expect_word("in")
        items: list[tuple[tuple[Word, ...], Script]] = []
        while True:
            self.newlines()
            if self.at_word(_ESAC):
                self.take()
                return Case(token.word, tuple(items))
            if self.at_op(_LPAREN):
                self.take()
            patterns = [self.pattern()]
            while self.at_op(_BAR):
                self.take()
                patterns.append(self.pattern())
            self.expect_op(")")
            body = self.lexer.nested(lambda: self.list(_ESAC))  # a case item may be empty: "*) ;;"
            items.append((tuple(patterns), body))
            if self.at_op(_CASE_END_OPS):
                self.take()
            elif not self.at_word(_ESAC):
                raise ParseError(f"expected ';;' or 'esac', got {_describe(self.peek())}")

    def pattern(self) -> Word:
        token = self.take()
        if token.kind != "word" or token.word is None:
            raise ParseError(f"expected a case pattern, got {_describe(token)}")
        return token.word

    def test(self) -> Command:
        words: list[Word] = []
        while True:
            token = self.take()
            if token.kind == "eof":
                raise ParseError("unterminated [[")
            if token.kind == "word" and token.word is not None:
                if token.word.bare == "]]":
                    return Test(tuple(words))
                words.append(token.word)
            elif token.kind != "newline":
                words.append(Word((Lit(token.text, True),)))


def _assignment(word: Word) -> Assign | None:
    first = word.parts[0] if word.parts else None
    if not isinstance(first, Lit) or first.quoted:
        return None
    match = _ASSIGNMENT.match(first.text)
    if match is None:
        return None
    rest = first.text[match.end() :]
    parts = ((Lit(rest, False),) if rest else ()) + word.parts[1:]
    return Assign(match.group(1), Word(parts), subscript=match.group(2) is not None)


_COMPOUND = {
    "{": _Parser.brace,
    "if": _Parser.if_,
    "while": lambda p: p.loop("while"),
    "until": lambda p: p.loop("until"),
    "for": _Parser.for_,
    "select": _Parser.for_,
    "case": _Parser.case,
    "[[": _Parser.test,
}
