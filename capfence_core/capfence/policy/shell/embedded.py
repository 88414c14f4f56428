"""Shell commands embedded in other languages' code (``python -c``, ``perl -e``, ``awk``, ...).

This is a heuristic, not a parser for those languages. It looks for the
common ways a script starts a command -- ``system("...")``, ``os.system``,
``subprocess.run([...])``, ``child_process.execSync(...)``, ``os.execute``,
``shell_exec``, Perl/Ruby/PHP backquotes, ``qx{...}``, ``%x(...)``, awk's
``"cmd" | getline`` -- and hands the literal command text to the shell
analyzer, so ``python -c "import os; os.system('rm -rf /')"`` is seen as
``rm -rf /``. It also flags code that decodes hidden text and runs it
(``exec(base64.b64decode(...))``), code that pipes generated text into a
shell (awk's ``print ... | "sh"``) and the classic interpreter fork bombs
(``fork while fork``). A command that is built by concatenation is seen up to
its literal part (``os.system("rm -rf " + path)`` is ``rm -rf``).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from capfence.policy.shell.budget import Budget

# Patterns that must start at a word boundary are written without the leading ``\b`` and checked with
# :func:`_at_word_start`: a pattern that starts with literal text is searched for far faster.
_CALL = re.compile(
    r"(?:system|popen[23]?|exec|execSync|execFile|execFileSync|spawn|spawnSync|shell_exec|passthru|proc_open|check_output"
    r"|check_call|call|run|Popen|getoutput|getstatusoutput|execute|capture2e?|capture3|execvp?|spawnl?p?)\s*+\(\s*+"
)
_WORD_CHAR = re.compile(r"\w")
_OPENING = re.compile(r"""[rRbBuUfF]{0,2}+(?=['"])""")
_BODIES = {
    q: re.compile(
        rf"(?:[^{q[0]}\\]++|\\.|{q[0]}(?!{q[1:]}))*+{q}" if len(q) == 3 else rf"(?:[^{q}\\]++|\\.)*+{q}", re.S
    )
    for q in ("'''", '"""', "'", '"')
}
"""Per quote: a string's body (backslash escapes skipped) and its closing quote. Possessive: no backtracking."""
_BLANKS = re.compile(r"[ \t\n]*+")
_BACKQUOTE = re.compile(r"`([^`]*)`")
_QX = re.compile(r"(?:qx|%x)\s*+([{(\[/!|])")
_QX_CLOSE = {"{": "}", "(": ")", "[": "]", "/": "/", "!": "!", "|": "|"}
_QUOTE = re.compile(r"[\"']")
_GETLINE = re.compile(r"\s*+\|\s*+getline")
_QUOTE_GETLINE = re.compile(r"([\"'])\s*+\|\s*+getline")
_TO_SHELL = re.compile(r"""\|\s*["'](?:/bin/)?(?:sh|bash|zsh|dash|ksh)["']""")
_DECODE = re.compile(
    r"b64decode|base64|decodebytes|fromhex|unhexlify|Buffer\.from|rot13|decode\(\s*['\"](?:base64|hex)"
)
_ATOB = re.compile(r"atob\b")
_RUN = re.compile(r"(?:exec|eval|system|popen|subprocess|spawn|execSync|compile|__import__)\b")
_WHITESPACE = re.compile(r"\s+")
_FORK_BOMB = re.compile(
    r"fork while fork|while ?\(? ?(?:1|true|True) ?\)? ?[:{]? ?(?:os\.|POSIX::)?fork\b|for ?\( ?; ?; ?\) ?\{? ?(?:os\.)?fork\b"
)
"""Matched on the code with every run of whitespace made one space (so no run of blanks can make it backtrack)."""
_ESCAPE = re.compile(r"\\(.)", re.S)
_ESCAPES = {"n": "\n", "t": "\t"}
_BACKQUOTE_LANGUAGES = frozenset({"perl", "ruby", "php"})


@dataclass
class Embedded:
    commands: list[str] = field(default_factory=list)
    """Command lines the code would run."""
    hidden: bool = False
    """It decodes text and runs it, or pipes generated text into a shell."""
    fork_bomb: bool = False


def _at_word_start(code: str, pos: int) -> bool:
    """Is there a word boundary before ``pos`` (where a word character starts)?"""
    return pos == 0 or _WORD_CHAR.match(code, pos - 1) is None


def _any_word(pattern: re.Pattern[str], code: str, budget: Budget) -> bool:
    """Does ``pattern`` match somewhere at the start of a word? Each candidate looked at costs a step."""
    for found in pattern.finditer(code):
        budget.spend()
        if _at_word_start(code, found.start()):
            return True
    return False


def _unescape(text: str) -> str:
    return _ESCAPE.sub(lambda m: _ESCAPES.get(m.group(1), m.group(1)), text)


def _string_at(code: str, start: int, budget: Budget) -> tuple[str, int] | None:
    """The string literal at ``start`` (its body as written, and the position after it), or ``None``.

    The body ends at the first closing quote not escaped by a backslash; if there is none, at the first closing
    quote (a trailing ``\"`` then closes it). The scan costs the budget what it reads.
    """
    opening = _OPENING.match(code, start)
    if opening is None:
        return None
    char = code[opening.end()]
    for quote in (char * 3, char):  # a triple quote that is never closed may be an empty string and a quote
        if not code.startswith(quote, opening.end()):
            continue
        body = opening.end() + len(quote)
        closed = _BODIES[quote].match(code, body)
        end = closed.end() if closed is not None else code.find(quote, body) + len(quote)
        budget.chars((closed.end() if closed is not None else len(code)) - body)
        if end >= body + len(quote):
            return code[body : end - len(quote)], end
    return None


def _call_argument(code: str, start: int, budget: Budget) -> str | None:
    """The command given to a call at ``start``: a string literal or a list of string literals."""
    if code.startswith("[", start):
        words: list[str] = []
        pos = start + 1
        while True:
            budget.spend()
            literal = _string_at(code, _skip(code, pos), budget)
            if literal is None:
                break
            words.append(_unescape(literal[0]))
            pos = _skip(code, literal[1])
            if not code.startswith(",", pos):
                break
            pos += 1
        return " ".join(shlex.quote(w) for w in words) if words else None
    literal = _string_at(code, start, budget)
    return _unescape(literal[0]) if literal else None


def _skip(code: str, pos: int) -> int:
    return _BLANKS.match(code, pos).end()  # type: ignore[union-attr]  # always matches


def _qx_commands(code: str, budget: Budget) -> list[str]:
    """``qx{...}``, ``%x(...)`` and the other delimiters: the text up to the first closing delimiter.

    Each delimiter's next closing position is remembered, so nested or unclosed forms are read once.
    """
    commands: list[str] = []
    closing: dict[str, int] = {}
    """Closing delimiter -> where its next occurrence is, as last looked up (-1: none after that point)."""
    pos = 0
    while (found := _QX.search(code, pos)) is not None:
        budget.spend()
        if code.startswith("qx", found.start()) and not _at_word_start(code, found.start()):
            pos = found.start() + 1
            continue
        close = _QX_CLOSE[found.group(1)]
        end = closing.get(close, -2)
        if end == -2 or (0 <= end < found.end()):
            end = closing[close] = code.find(close, found.end())
        if end < 0:  # not closed: the text goes on being searched from the next character
            pos = found.start() + 1
            continue
        commands.append(code[found.end() : end])
        pos = end + 1
    return commands


def _getline_commands(code: str, budget: Budget) -> list[str]:
    """awk's ``"cmd" | getline``: each string literal followed by ``| getline``.

    String literals are read from left to right; a ``"|getline`` whose string was not one of them (the quotes
    paired otherwise) is also read back to the nearest quote before it.
    """
    if "getline" not in code:
        return []
    commands: list[str] = []
    ends: set[int] = set()
    unclosed: set[str] = set()
    """Quotes with no closing quote after some point (so none after any later point either)."""
    pos = 0
    while (opening := _QUOTE.search(code, pos)) is not None:
        budget.spend()
        quote = opening.group()
        closed = None if quote in unclosed else _BODIES[quote].match(code, opening.end())
        if closed is None:
            unclosed.add(quote)
            pos = opening.end()
            continue
        budget.chars(closed.end() - opening.end())
        if _GETLINE.match(code, closed.end()):
            commands.append(_unescape(code[opening.end() : closed.end() - 1]))
            ends.add(closed.end() - 1)
        pos = closed.end()
    for piped in _QUOTE_GETLINE.finditer(code):
        budget.spend()
        close = piped.start()
        begin = code.rfind(piped.group(1), 0, close)  # scans back over text no other match scans
        if close not in ends and begin >= 0:
            commands.append(_unescape(code[begin + 1 : close]))
    return commands


def embedded(code: str, language: str, budget: Budget) -> Embedded:
    """What ``code`` written in ``language`` (an interpreter family name) would run in a shell.

    Every scan is linear in the length of ``code``; each command found and each string read costs the budget.
    """
    found = Embedded()
    for call in _CALL.finditer(code):
        budget.spend()
        if not _at_word_start(code, call.start()):
            continue
        command = _call_argument(code, call.end(), budget)
        if command:
            found.commands.append(command)
    if language in _BACKQUOTE_LANGUAGES:
        if "`" in code:
            for quoted in _BACKQUOTE.finditer(code):
                budget.spend()
                found.commands.append(_unescape(quoted.group(1)))
        if "qx" in code or "%x" in code:
            found.commands += _qx_commands(code, budget)
    if language == "awk":
        found.commands += _getline_commands(code, budget)
    found.hidden = _is_hidden(code, budget)
    found.fork_bomb = "fork" in code and bool(_FORK_BOMB.search(_WHITESPACE.sub(" ", code)))
    return found


def _is_hidden(code: str, budget: Budget) -> bool:
    if "|" in code and _TO_SHELL.search(code):
        return True
    decodes = _DECODE.search(code) is not None or ("atob" in code and _any_word(_ATOB, code, budget))
    return decodes and _any_word(_RUN, code, budget)
