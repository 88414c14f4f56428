"""Tokens of POSIX shell (plus the bash forms agents write), with quoting resolved.

The lexer turns characters into words and operators exactly as a shell does
*before* expansion: quotes and backslashes are removed (``'...'``, ``"..."``,
``$'...'`` with its escapes), while parameter expansions, command and process
substitutions and arithmetic are kept as structured parts of the word.
``$(...)`` and ``<(...)`` are parsed by calling back into the parser on the
same character stream, which is how a shell finds the closing parenthesis
(a ``case`` pattern's ``)`` inside ``$(...)`` does not end it). Backquoted
commands are unescaped, then parsed as a separate text.

Anything a shell would reject or wait for more input on (an unterminated
quote, ``$(`` or ``${``) raises :class:`ParseError`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from capfence.policy.shell.ast import Arith, Assign, CmdSub, HereDoc, Lit, Param, Part, ProcSub, Script, Word

if TYPE_CHECKING:
    from capfence.policy.shell.budget import Budget

MAX_NESTING = 24
"""Substitutions and compound commands nested deeper than this are refused (``ParseError``)."""
TOKEN_STEPS = 3
"""Budget steps a token costs: reading it, and the parser's and the analyzer's work on it."""


class ParseError(ValueError):
    """The text is not a complete, valid shell command."""


OPERATORS = (
    ";;&",
    "&>>",
    "<<<",
    "<<-",
    "&&",
    "||",
    ";;",
    ";&",
    "|&",
    "&>",
    ">>",
    ">|",
    ">&",
    "<<",
    "<&",
    "<>",
    "(",
    ")",
    ";",
    "&",
    "|",
    "<",
    ">",
)
REDIRECT_OPS = frozenset({"<", ">", ">>", ">|", "<>", "<&", ">&", "&>", "&>>", "<<", "<<-", "<<<"})
_OP_START = frozenset(";&|()<>")
_BLANKS = frozenset(" \t")
_BLANK_RUN = re.compile(r"[ \t]*")
_OPS = frozenset(OPERATORS)
_WORD_END = frozenset(" \t\n;&|)")
_PLAIN = re.compile(r"[^ \t\n;&|()<>'\"\\$`]+")
_DQ_PLAIN = re.compile(r"[^\"\\$`]+")
_HEREDOC_PLAIN = re.compile(r"[^\\$`]+")
_BRACED_PLAIN = re.compile(r"[^}\\'\"`$]+")
_ARITH_PLAIN = re.compile(r"[^()$`\"\\]+")
_BACKQUOTE_PLAIN = re.compile(r"[^`\\]+")
_ANSI_PLAIN = re.compile(r"[^'\\]+")
_PARENS_PLAIN = re.compile(r"[^()\\]+")
_LEADING_TABS = re.compile(r"^\t+", re.MULTILINE)
_OCTAL = re.compile(r"[0-7]{1,3}")
_HEX = {
    "x": re.compile(r"[0-9A-Fa-f]{1,2}"),
    "u": re.compile(r"[0-9A-Fa-f]{1,4}"),
    "U": re.compile(r"[0-9A-Fa-f]{1,8}"),
}
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SPECIAL_PARAM = frozenset("@*#?$!-0123456789")
_ARRAY_ASSIGN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\+?=")
_ANSI_SIMPLE = {
    "a": "\a",
    "b": "\b",
    "e": "\x1b",
    "E": "\x1b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
    "'": "'",
    '"': '"',
    "?": "?",
}
_EXTGLOB = frozenset("@!+*?")
_T = TypeVar("_T")


@dataclass(slots=True)
class Token:
    kind: str
    """``word``, ``op``, ``io`` (a redirection's fd number), ``newline`` or ``eof``."""
    text: str
    word: Word | None = None
    assign: Assign | None = None
    """Set for an array assignment ``name=(a b c)`` (also given as ``word``)."""


SubParser = Callable[["Lexer"], Script]
"""Parses a command list from the lexer's position through the closing ``)``."""
TextParser = Callable[[str, int, "Budget"], Script]
"""Parses a separate text (a backquoted command) at a nesting depth, spending from the same budget."""


class _Parts:
    """Accumulates word parts, merging adjacent literals of the same quoting.

    The literal being built is kept as a list of pieces (joined once), so a word of many small quoted pieces
    (``a''a''a''...``) takes linear time. Each piece costs one step of the budget.
    """

    __slots__ = ("budget", "items", "quoted", "run")

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.items: list[Part] = []
        """Finished parts; the literal being built (:attr:`run`) comes after them."""
        self.run: list[str] = []
        self.quoted = False

    def lit(self, text: str, quoted: bool) -> None:
        self.budget.spend()
        if not text:
            if quoted and not (self.run and self.quoted):
                self._start("", True)  # '' is an empty word, not no word; {,}'' keeps two words
            return
        if self.run and self.quoted == quoted:
            self.run.append(text)
        else:
            self._start(text, quoted)

    def _start(self, text: str, quoted: bool) -> None:
        self._flush()
        self.run = [text]
        self.quoted = quoted

    def _flush(self) -> None:
        if self.run:
            self.items.append(Lit("".join(self.run), self.quoted))
            self.run = []

    def add(self, part: Part) -> None:
        if isinstance(part, Lit):
            self.lit(part.text, part.quoted)
        else:
            self.budget.spend()
            self._flush()
            self.items.append(part)

    def size(self) -> int:
        """How many parts so far."""
        return len(self.items) + (1 if self.run else 0)

    def expansions(self) -> tuple[Part, ...]:
        """The parts that are not literal text."""
        return tuple(p for p in self.items if not isinstance(p, Lit))

    def word(self) -> Word:
        self._flush()
        return Word(tuple(self.items))


class Lexer:
    def __init__(self, src: str, depth: int, sub: SubParser, text: TextParser, budget: Budget) -> None:
        self.src = src
        self.pos = 0
        self.depth = depth
        self.sub = sub
        self.text = text
        self.budget = budget
        self.heredocs: list[HereDoc] = []
        self.not_arith: set[int] = set()
        """Positions where arithmetic text was tried and is not arithmetic (``$(( a ) )``): not tried again."""

    # --- helpers ------------------------------------------------------------

    def _char(self, offset: int = 0) -> str:
        i = self.pos + offset
        return self.src[i] if i < len(self.src) else ""

    def _fail(self, message: str) -> ParseError:
        return ParseError(f"{message} (at offset {self.pos})")

    def nested(self, parse: Callable[[], _T]) -> _T:
        """Run ``parse`` one nesting level deeper, refusing absurd depths."""
        if self.depth >= MAX_NESTING:
            raise self._fail("nested too deeply")
        self.depth += 1
        try:
            return parse()
        finally:
            self.depth -= 1

    # --- tokens ---------------------------------------------------------------

    def next_token(self) -> Token:
        self.budget.spend(TOKEN_STEPS)
        src = self.src
        end = len(src)
        pos = _BLANK_RUN.match(src, self.pos).end()  # type: ignore[union-attr]
        while pos < end and (src[pos] == "#" or src.startswith("\\\n", pos)):
            if src[pos] == "#":
                newline = src.find("\n", pos)
                pos = end if newline < 0 else newline
            else:
                pos += 2
            pos = _BLANK_RUN.match(src, pos).end()  # type: ignore[union-attr]
        self.pos = pos
        if pos >= end:
            self._read_heredocs()
            return Token("eof", "")
        c = src[pos]
        if c == "\n":
            self.pos += 1
            self._read_heredocs()
            return Token("newline", "\n")
        if c in _OP_START and not (c in "<>" and src.startswith("(", pos + 1)):
            for length in (3, 2, 1):
                op = src[pos : pos + length]
                if op in _OPS:
                    self.pos += length
                    return Token("op", op)
        plain = _PLAIN.match(src, pos)
        if plain is not None and (plain.end() >= end or src[plain.end()] in _WORD_END):
            # the common case: a word of ordinary characters followed by a blank or an operator
            text = plain.group()
            self.pos = plain.end()
            return Token("word", text, Word((Lit(text, False),)))
        return self._word_token()

    def _word_token(self) -> Token:
        parts = self.scan_word()
        word = parts.word()
        bare = word.bare
        if bare is not None:
            if bare.isascii() and bare.isdigit() and self._char() in ("<", ">") and self._char(1) != "(":
                return Token("io", bare)
            if self._char() == "(" and _ARRAY_ASSIGN.fullmatch(bare):
                return self._array(bare)
        return Token("word", bare or "", word)

    def _array(self, head: str) -> Token:
        self.pos += 1
        elements: list[Word] = []
        parts = _Parts(self.budget)
        parts.lit(head + "(", False)
        while True:
            tok = self.next_token()
            if tok.kind == "newline":
                continue
            if tok.kind == "op" and tok.text == ")":
                break
            if tok.kind != "word" or tok.word is None:
                raise self._fail(f"unexpected {tok.text or tok.kind!r} in array assignment")
            elements.append(tok.word)
            for part in tok.word.parts:
                parts.add(part)
            parts.lit(" ", True)
        parts.lit(")", False)
        name = head.rstrip("=").rstrip("+")
        return Token("word", "", parts.word(), Assign(name, None, tuple(elements)))

    # --- words ----------------------------------------------------------------

    def scan_word(self) -> _Parts:
        """Read one word at the current position (unquoted context)."""
        src = self.src
        parts = _Parts(self.budget)
        while self.pos < len(src):
            c = src[self.pos]
            plain = _PLAIN.match(src, self.pos)
            if plain:
                self.pos = plain.end()
                parts.lit(plain.group(), False)
                if self._char() == "(" and plain.group()[-1] in _EXTGLOB:
                    parts.lit(self._balanced_parens(), False)
                continue
            if c in " \t\n" or (c in _OP_START and not (c in "<>" and self._char(1) == "(")):
                break
            self._special(c, parts)
        return parts

    def _special(self, c: str, parts: _Parts) -> None:
        self.budget.spend()
        if c == "\\":
            nxt = self._char(1)
            self.pos += 2 if nxt else 1
            if nxt != "\n":
                parts.lit(nxt or "\\", bool(nxt))
        elif c == "'":
            end = self.src.find("'", self.pos + 1)
            if end < 0:
                raise self._fail("unterminated single quote")
            parts.lit(self.src[self.pos + 1 : end], True)
            self.pos = end + 1
        elif c == '"':
            self.pos += 1
            self._double_quoted(parts)
        elif c == "`":
            parts.add(self._backquote(in_dquote=False))
        elif c == "$":
            self._dollar(parts, quoted=False)
        else:  # <( or >(
            self.pos += 2
            parts.add(ProcSub(self.nested(lambda: self.sub(self)), c))

    def _balanced_parens(self) -> str:
        src = self.src
        start, depth = self.pos, 0
        while self.pos < len(src):
            self.budget.spend()
            plain = _PARENS_PLAIN.match(src, self.pos)
            if plain is not None:
                self.pos = plain.end()
                continue
            c = src[self.pos]
            self.pos += 1
            if c == "\\":
                self.pos += 1
            elif c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
                if depth == 0:
                    return src[start : self.pos]
        raise self._fail("unterminated extended glob")

    def _double_quoted(self, parts: _Parts) -> None:
        src = self.src
        before = parts.size()
        while True:
            if self.pos >= len(src):
                raise self._fail("unterminated double quote")
            c = src[self.pos]
            if c == '"':
                self.pos += 1
                if parts.size() == before:
                    parts.lit("", True)  # "" still makes a word
                return
            plain = _DQ_PLAIN.match(src, self.pos)
            if plain:
                parts.lit(plain.group(), True)
                self.pos = plain.end()
            elif c == "\\":
                nxt = self._char(1)
                self.pos += 2
                if nxt in ('"', "\\", "$", "`"):
                    parts.lit(nxt, True)
                elif nxt != "\n":
                    parts.lit("\\" + nxt, True)
            elif c == "`":
                parts.add(self._backquote(in_dquote=True))
            else:
                self._dollar(parts, quoted=True)

    def heredoc_body(self) -> Word:
        """The whole source read as an unquoted here-document body: only ``\\``, ``$`` and backquotes are special."""
        src = self.src
        parts = _Parts(self.budget)
        parts.lit("", True)
        while self.pos < len(src):
            c = src[self.pos]
            plain = _HEREDOC_PLAIN.match(src, self.pos)
            if plain:
                parts.lit(plain.group(), True)
                self.pos = plain.end()
            elif c == "\\":
                nxt = self._char(1)
                self.pos += 2
                if nxt in ("\\", "$", "`"):
                    parts.lit(nxt, True)
                elif nxt != "\n":
                    parts.lit("\\" + nxt, True)
            elif c == "`":
                parts.add(self._backquote(in_dquote=True))
            else:
                self._dollar(parts, quoted=True)
        return parts.word()

    # --- $ forms ------------------------------------------------------------

    def _dollar(self, parts: _Parts, quoted: bool) -> None:
        self.budget.spend()
        nxt = self._char(1)
        if nxt == "'" and not quoted:
            self.pos += 2
            parts.lit(self._ansi_c(), True)
        elif nxt == '"' and not quoted:
            self.pos += 2
            self._double_quoted(parts)
        elif nxt == "(":
            if self._char(2) == "(":
                arith = self._try_arith()
                if arith is not None:
                    parts.add(arith)
                    return
            self.pos += 2
            parts.add(CmdSub(self.nested(lambda: self.sub(self)), quoted))
        elif nxt == "{":
            self.pos += 2
            parts.add(self._braced_param(quoted))
        else:
            name = _NAME.match(self.src, self.pos + 1)
            if name:
                self.pos = name.end()
                parts.add(Param(name.group(), quoted, True))
            elif nxt and nxt in _SPECIAL_PARAM:
                self.pos += 2
                parts.add(Param(nxt, quoted, True))
            else:
                self.pos += 1
                parts.lit("$", quoted)

    def _ansi_c(self) -> str:
        src = self.src
        out: list[str] = []
        truncated = False
        while True:
            self.budget.spend()
            if self.pos >= len(src):
                raise self._fail("unterminated $'...' string")
            plain = _ANSI_PLAIN.match(src, self.pos)
            if plain is not None:
                self.pos = plain.end()
                if not truncated:
                    out.append(plain.group())
                continue
            c = src[self.pos]
            if c == "'":
                self.pos += 1
                return "".join(out)
            if self.pos + 1 >= len(src):
                raise self._fail("unterminated $'...' string")
            char, self.pos = _ansi_escape(src, self.pos + 1)
            if char == "\x00":
                truncated = True
            elif not truncated:
                out.append(char)

    def _braced_param(self, quoted: bool) -> Param:
        """``${...}``: the operator word may hold quotes and substitutions; ``}`` ends it."""
        return self.nested(lambda: self._braced_param_body(quoted))

    def _braced_param_body(self, quoted: bool) -> Param:
        start = self.pos
        inner = _Parts(self.budget)
        src = self.src
        while True:
            self.budget.spend()
            if self.pos >= len(src):
                raise self._fail("unterminated ${")
            plain = _BRACED_PLAIN.match(src, self.pos)
            if plain is not None:
                self.pos = plain.end()
                continue
            c = src[self.pos]
            if c == "}":
                break
            if c == "\\":
                self.pos += 2
            elif c == "'" and quoted:  # literal inside "${...}"
                self.pos += 1
            elif c == "'":
                end = src.find("'", self.pos + 1)
                if end < 0:
                    raise self._fail("unterminated single quote")
                self.pos = end + 1
            elif c == '"':
                self.pos += 1
                self._double_quoted(inner)
            elif c == "`":
                inner.add(self._backquote(in_dquote=quoted))
            else:  # $
                self._dollar(inner, quoted=True)
        body = src[start : self.pos]
        self.pos += 1
        simple = (
            bool(_NAME.fullmatch(body))
            or (len(body) == 1 and body in _SPECIAL_PARAM)
            or (body.isascii() and body.isdigit())
        )
        name = _NAME.match(body)
        expansions = inner.expansions()
        return Param(name.group() if name else body, quoted, simple, expansions)

    def _try_arith(self) -> Arith | None:
        """``$((...))``; ``None`` (position unchanged) if it is really ``$( (...) ...)``."""
        start = self.pos
        self.pos += 3
        parts = self.arith_until_close()
        if parts is None:
            self.pos = start
            return None
        return Arith(parts)

    def arith_until_close(self) -> tuple[Part, ...] | None:
        """Read arithmetic text through ``))``; ``None`` if a ``)`` closes early.

        Whether the text at a position is arithmetic depends on that position only, so a failed attempt is
        remembered: nested ``$(( ... ) )`` forms, each first tried as arithmetic, are not re-read exponentially often.
        """
        start = self.pos
        if start in self.not_arith:
            return None
        parts = self.nested(self._arith)
        if parts is None:
            self.not_arith.add(start)
        return parts

    def _arith(self) -> tuple[Part, ...] | None:
        src = self.src
        depth = 0
        parts = _Parts(self.budget)
        while True:
            self.budget.spend()
            if self.pos >= len(src):
                raise self._fail("unterminated arithmetic expression")
            plain = _ARITH_PLAIN.match(src, self.pos)
            if plain is not None:
                self.pos = plain.end()
                continue
            c = src[self.pos]
            if c == ")":
                if depth == 0:
                    if self._char(1) != ")":
                        return None
                    self.pos += 2
                    return parts.expansions()
                depth -= 1
                self.pos += 1
            elif c == "(":
                depth += 1
                self.pos += 1
            elif c == "$":
                self._dollar(parts, quoted=True)
            elif c == "`":
                parts.add(self._backquote(in_dquote=True))
            elif c == '"':
                self.pos += 1
                self._double_quoted(parts)
            else:  # a backslash
                self.pos += 2

    def _backquote(self, in_dquote: bool) -> CmdSub:
        src = self.src
        self.pos += 1
        out: list[str] = []
        while True:
            self.budget.spend()
            if self.pos >= len(src):
                raise self._fail("unterminated backquote")
            plain = _BACKQUOTE_PLAIN.match(src, self.pos)
            if plain is not None:
                out.append(plain.group())
                self.pos = plain.end()
                continue
            c = src[self.pos]
            if c == "`":
                self.pos += 1
                break
            if c == "\\":
                nxt = self._char(1)
                if nxt in ("$", "`", "\\") or (in_dquote and nxt == '"'):
                    out.append(nxt)
                    self.pos += 2
                    continue
            out.append(c)
            self.pos += 1
        if self.depth >= MAX_NESTING:
            raise self._fail("nested too deeply")
        return CmdSub(self.text("".join(out), self.depth + 1, self.budget), in_dquote)

    # --- here-documents -------------------------------------------------------

    def _read_heredocs(self) -> None:
        pending, self.heredocs = self.heredocs, []
        for doc in pending:
            doc.body = self._heredoc(doc)

    def _heredoc(self, doc: HereDoc) -> Word:
        self.budget.spend()
        src = self.src
        start = self.pos
        end, self.pos = _delimiter_line(src, start, doc.delimiter, doc.strip_tabs, self.budget)
        text = src[start:end]
        if text and not text.endswith("\n"):
            text += "\n"  # the last line of the text, without its newline
        if doc.strip_tabs:
            text = _LEADING_TABS.sub("", text)
        if doc.quoted:
            return Word((Lit(text, True),))
        body = Lexer(text, self.depth + 1, self.sub, self.text, self.budget)
        return body.heredoc_body()


def _delimiter_line(
    src: str, start: int, delimiter: str, strip_tabs: bool, budget: Budget
) -> tuple[int, int]:
    """Where the here-document body starting at ``start`` ends: (start of the delimiter line, the position after it).

    A line ends the body if it is the delimiter (after leading tabs, with ``<<-``); without one the body is the
    rest of the text. ``start`` begins a line.
    """
    end = len(src)
    if "\n" in delimiter:
        return end, end
    if not strip_tabs and delimiter:  # the common case, found in one search
        if src.startswith(delimiter, start) and start + len(delimiter) in (end, src.find("\n", start)):
            return start, min(start + len(delimiter) + 1, end)
        found = src.find("\n" + delimiter + "\n", start)
        if found < 0 and src.endswith("\n" + delimiter) and end - len(delimiter) - 1 >= start:
            found = end - len(delimiter) - 1
        return (found + 1, min(found + len(delimiter) + 2, end)) if found >= 0 else (end, end)
    line = start
    while line < end:  # one step per line
        budget.spend()
        newline = src.find("\n", line)
        stop = end if newline < 0 else newline
        text = src[line:stop]
        if (text.lstrip("\t") if strip_tabs else text) == delimiter:
            return line, min(stop + 1, end)
        line = stop + 1
    return end, end


def _ansi_escape(src: str, i: int) -> tuple[str, int]:
    """Decode one ``$'...'`` escape starting after the backslash at ``i``; return (char, next index)."""
    c = src[i] if i < len(src) else ""
    if c in _ANSI_SIMPLE:
        return _ANSI_SIMPLE[c], i + 1
    if c in "01234567":
        digits = _OCTAL.match(src, i)
        assert digits is not None
        return chr(int(digits.group(), 8) & 0xFF), i + len(digits.group())
    hexadecimal = _HEX.get(c)
    if hexadecimal is not None:
        digits = hexadecimal.match(src, i + 1)
        if digits:
            value = int(digits.group(), 16)
            return (chr(value) if value <= 0x10FFFF else "\ufffd"), i + 1 + len(digits.group())
        return "\\" + c, i + 1
    if c == "c" and i + 1 < len(src):
        return chr(ord(src[i + 1]) & 0x1F), i + 2
    return "\\" + c, i + 1
