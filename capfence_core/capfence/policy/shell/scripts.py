"""awk programs and sed scripts read the way awk and sed read them, to tell which run commands or write files.

A regular expression over the text cannot tell ``print "" | c`` (a pipe into the command held in ``c``) from
``/a|b/`` (an alternation), nor ``s|x|y|e`` (run the pattern space as a command) from ``s/x/y|e/``: the
delimiters, strings, regex literals and statements have to be followed. Both readers here are one pass over the
text (linear in its length, whatever it holds) and answer with the first reason the code is not known safe, or
``None``. Where awks disagree on where a token ends (a ``/`` inside a bracket expression of a regex literal), the
program is held rather than read one way.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from capfence.policy.shell.model import Arg
from capfence.policy.shell.workingtree import outside

# --- awk --------------------------------------------------------------------------------------------------------

MAX_SCRIPT_CHARS = 8_192
"""An awk program or sed script longer than this is not read (held): no one-liner is, and it bounds the work."""

_AWK_TOKEN = re.compile(
    r"""(?P<skip>[ \t\r]+|\\\n|\#[^\n]*)
    |(?P<end>[\n;{}])
    |(?P<string>"(?:[^"\\\n]|\\.)*")
    |(?P<name>[A-Za-z_][A-Za-z0-9_]*)
    |(?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
    |(?P<ops>[-+*%^!=<~?:,&\\]+)
    |(?P<op>\|\||\|&|>>|>=|[^"])""",
    re.VERBOSE | re.DOTALL,
)
"""One token of an awk program; runs of operators that change nothing read here (``+=``, ``!~``, ``&&``) are one token."""
_AWK_KEYWORDS = frozenset(
    {
        "BEGIN",
        "END",
        "BEGINFILE",
        "ENDFILE",
        "function",
        "func",
        "if",
        "else",
        "while",
        "for",
        "do",
        "break",
        "continue",
        "next",
        "nextfile",
        "exit",
        "return",
        "delete",
        "in",
        "print",
        "printf",
        "switch",
        "case",
        "default",
    }
)
"""Words after which a ``/`` starts a regex literal (``getline`` and ``length`` are values: ``length / 2`` divides)."""
_AWK_CONDITIONS = frozenset({"if", "while", "for", "switch"})
_AWK_CONTINUES = frozenset({",", "&&", "||", "{", "do", "else"})
"""Tokens after which a newline does not end the statement."""


class _Awk:
    """The state of one pass over an awk program."""

    def __init__(self, code: str) -> None:
        self.code = code
        self.pos = 0
        self.operand = False  # the last token ends an operand: a `/` now divides
        self.last = ""
        self.parens: list[bool] = []  # per open `(`: whether it holds an if/while/for condition
        self.condition = False  # the last token is if/while/for: its `(` opens a condition
        self.printing = -1  # paren depth of the print/printf statement being read, or -1
        self.target = 0  # 1: a redirection's target comes next; 2: it was a literal, the statement must end


def awk_risk(code: str) -> str | None:
    """Why an awk program is not known safe: it runs commands (``system``, ``|`` pipes to or from commands, ``@f()``
    indirect calls, ``@load``/``@include``), or writes a file outside the working tree or one named at run time
    (``print > f``); ``None`` if it only computes, reads and prints."""
    if len(code) > MAX_SCRIPT_CHARS:
        return f"awk program too long to read (over {MAX_SCRIPT_CHARS:,} characters)"
    st = _Awk(code)
    n = len(code)
    while st.pos < n:
        if code[st.pos] == "/" and not st.operand:
            reason = _awk_regex(st)
        else:
            token = _AWK_TOKEN.match(code, st.pos)
            if token is None:  # only an unclosed string matches nothing
                return "awk code has an unclosed string"
            reason = _awk_token(st, token)
        if reason is not None:
            return reason
    return "awk code writes to a file named at run time" if st.target == 1 else None


def _awk_token(st: _Awk, token: re.Match[str]) -> str | None:
    kind = token.lastgroup
    text = token.group()
    if kind == "skip":
        st.pos = token.end()
        return None
    if kind == "end":
        return _awk_end(st, text)
    if st.target == 2:
        return "awk code writes to a file named at run time"  # `print > "a" b`: the target goes on
    st.pos = token.end()
    if kind == "string":
        return _awk_string(st, text[1:-1])
    if st.target == 1:
        return "awk code writes to a file named at run time"
    if kind == "name":
        return _awk_name(st, text)
    if kind == "number":
        st.operand, st.last, st.condition = True, "0", False
        return None
    if kind == "ops":
        if text not in ("++", "--"):  # `x++ / 2` still divides; `++x` is followed by its operand
            st.operand = False
        st.last, st.condition = text, False
        return None
    return _awk_operator(st, text)


def _awk_end(st: _Awk, c: str) -> str | None:
    st.pos += 1
    if c == "\n" and (st.last in _AWK_CONTINUES or st.last.endswith((",", "&&")) or st.parens):
        return None  # the statement goes on (after `,`, `&&`, `{`..., or inside parentheses)
    if st.target == 1:
        return "awk code writes to a file named at run time"
    st.printing, st.target, st.operand, st.last = -1, 0, False, c
    if c in "{}":
        st.parens.clear()
    return None


def _awk_string(st: _Awk, text: str) -> str | None:
    st.condition = False
    if text.startswith("/inet"):
        return "awk code opens a network connection (gawk /inet special file)"
    if st.target == 1:
        if outside(text):
            return f"awk code writes {text}, outside the working tree"
        st.target = 2
    st.operand, st.last = True, '""'
    return None


def _awk_name(st: _Awk, word: str) -> str | None:
    if word == "system":
        return "awk code runs commands (system)"
    if word in ("print", "printf"):
        st.printing = len(st.parens)
    st.condition = word in _AWK_CONDITIONS
    st.operand = word not in _AWK_KEYWORDS
    st.last = word
    return None


def _awk_regex(st: _Awk) -> str | None:
    """A regex literal from the ``/`` at ``st.pos``; a ``/`` inside a bracket expression ends it for some awks and not
    for others, so it is held."""
    code = st.code
    i = st.pos + 1
    n = len(code)
    bracket = -1  # where the open bracket expression's content starts, or -1
    while i < n:
        ch = code[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "\n":
            break
        if bracket < 0:
            if ch == "/":
                st.pos, st.operand, st.last, st.condition = i + 1, True, "/", False
                return None
            if ch == "[":
                i += 1
                i += code.startswith("^", i)
                bracket = i
                i += code.startswith("]", i)  # `[]...]`: a leading `]` is a member
                continue
        elif ch == "/":
            return "awk regex has a `/` in a bracket expression, which awks read differently"
        elif ch == "[" and code[i + 1 : i + 2] in (":", ".", "="):
            close = code.find(code[i + 1] + "]", i + 2)
            if close < 0:
                break
            i = close + 2
            continue
        elif ch == "]":
            bracket = -1
        i += 1
    return "awk code has an unclosed regex"


def _awk_operator(st: _Awk, op: str) -> str | None:
    if op == "@":
        return "awk code makes an indirect call or loads code (@)"
    if op in ("|", "|&"):
        return "awk code pipes to or from a command (|)"
    if op in (">", ">>", ">=") and st.printing == len(st.parens) and st.printing >= 0:
        st.target = 1  # `print ... > FILE` (not `print (a > b)`, a comparison)
        return None
    if op == "(":
        st.parens.append(st.condition)
    elif op == ")":
        closes_condition = st.parens.pop() if st.parens else False
        st.operand = not closes_condition  # `if (x) /re/`: a statement starts after a condition
        st.last, st.condition = ")", False
        return None
    st.operand = op == "]"
    st.last, st.condition = op, False
    return None


# --- sed --------------------------------------------------------------------------------------------------------

_SED_PLAIN = frozenset("=dDgGhHnNpPxzF")
"""Commands without an argument."""
_SED_NUMBERED = frozenset("lqQL")
"""Commands with an optional number (``q5``, ``l 0``)."""
_SED_END = frozenset(";\n}#")
_SED_DIGITS = re.compile(r"[0-9]+")
_SED_FLAGS = re.compile(r"[gpiImM0-9]*")


def sed_risk(script: str) -> str | None:
    """Why a sed script is not known safe: it runs a command (the ``e`` command or ``s///e``), writes a file outside
    the working tree (``w``/``W`` or ``s///w``), or is not understood; ``None`` otherwise."""
    if len(script) > MAX_SCRIPT_CHARS:
        return f"sed script too long to read (over {MAX_SCRIPT_CHARS:,} characters)"
    i = 0
    n = len(script)
    while True:
        while i < n and script[i] in " \t\r\n;}":
            i += 1
        if i >= n:
            return None
        if script[i] == "#":
            i = _sed_line_end(script, i)
            continue
        i = _sed_address(script, i)
        if i < 0:
            return "sed address not understood"
        while i < n and script[i] in " \t!":
            i += 1
        if i >= n:
            return "sed script ends without a command"
        i, reason = _sed_command(script, i + 1, script[i])
        if reason is not None:
            return reason


def _sed_command(script: str, i: int, cmd: str) -> tuple[int, str | None]:
    if cmd == "{":
        return i, None
    if cmd == "e":
        return i, "sed script runs a command (e)"
    if cmd in "wW":
        return _sed_write(script, i, cmd)
    if cmd in "rRaic":
        return _sed_line_end(script, i), None  # r/R only read; a/i/c text runs to the end of its line
    if cmd in ":btTv":
        while i < len(script) and script[i] in " \t":
            i += 1
        while i < len(script) and script[i] not in " \t\r;\n}":
            i += 1  # the label or version (GNU sed ends a label at a blank or `;`: what follows is a command)
        return i, None
    if cmd in "sy":
        i, reason = _sed_substitute(script, i, cmd)
        if reason is not None:
            return i, reason
    elif cmd in _SED_NUMBERED:
        while i < len(script) and script[i] in " \t":
            i += 1
        found = _SED_DIGITS.match(script, i)
        i = found.end() if found else i
    elif cmd not in _SED_PLAIN:
        return i, f"sed command `{cmd}` not understood"
    return _sed_after(script, i)


def _sed_after(script: str, i: int) -> tuple[int, str | None]:
    """After a command: blanks, then the end of the command (``;``, a newline, ``}``, a comment)."""
    while i < len(script) and script[i] in " \t\r":
        i += 1
    if i < len(script) and script[i] not in _SED_END:
        return i, "sed script not understood (text after a command)"
    return i, None


def _sed_line_end(script: str, i: int) -> int:
    """The end of the line at ``i``, past lines continued with a backslash (a/i/c text)."""
    n = len(script)
    while True:
        end = script.find("\n", i)
        if end < 0:
            return n
        backslashes = 0
        while end - backslashes > i and script[end - 1 - backslashes] == "\\":
            backslashes += 1
        if backslashes % 2 == 0:
            return end
        i = end + 1


def _sed_write(script: str, i: int, what: str) -> tuple[int, str | None]:
    end = _sed_line_end(script, i)
    path = script[i:end].strip(" \t")
    if not path or outside(path):
        return end, f"sed script writes {path or 'a file'}, outside the working tree ({what})"
    return end, None


def _sed_substitute(script: str, i: int, cmd: str) -> tuple[int, str | None]:
    """``s/re/replacement/flags`` or ``y/src/dst/``, with any delimiter."""
    if i >= len(script) or script[i] in "\n\\":
        return i, f"sed `{cmd}` command not understood"
    delim = script[i]
    i = _sed_delimited(script, i + 1, delim, regex=cmd == "s")
    if i >= 0:
        i = _sed_delimited(script, i, delim, regex=False)
    if i < 0:
        return i, f"sed `{cmd}` command not understood (unterminated)"
    if cmd == "y":
        return i, None
    flags = _SED_FLAGS.match(script, i)
    i = flags.end() if flags else i
    if script.startswith("e", i):
        return i, "sed script runs the pattern space as a command (s///e)"
    if script.startswith("w", i):
        return _sed_write(script, i + 1, "s///w")
    return i, None


def _sed_delimited(script: str, i: int, delim: str, *, regex: bool) -> int:
    """The position after the text that ``delim`` closes, or -1 if it is unterminated. In a regex a bracket expression
    is read as GNU and BSD sed read it: the delimiter inside it does not end the text (``s/[^/]*$//``)."""
    n = len(script)
    bracket = False
    while i < n:
        ch = script[i]
        if ch == "\\" and not bracket:
            i += 2
            continue
        if ch == "\n":  # GNU sed: an unescaped newline leaves the command unterminated
            return -1
        if bracket:
            if ch == "[" and script[i + 1 : i + 2] in (":", ".", "="):
                close = script.find(script[i + 1] + "]", i + 2)
                if close < 0:
                    return -1
                i = close + 2
                continue
            bracket = ch != "]"
        elif ch == delim:
            return i + 1
        elif regex and ch == "[":
            bracket = True
            i += 1
            i += script.startswith("^", i)
            i += script.startswith("]", i)  # `[]...]`: a leading `]` is a member
            continue
        i += 1
    return -1


def _sed_address(script: str, i: int) -> int:
    """The position after up to two addresses at ``i``, or -1."""
    i = _sed_one_address(script, i, second=False)
    if i < 0:
        return i
    while i < len(script) and script[i] in " \t":
        i += 1
    if i < len(script) and script[i] == ",":
        i += 1
        while i < len(script) and script[i] in " \t":
            i += 1
        i = _sed_one_address(script, i, second=True)
    return i


def _sed_one_address(script: str, i: int, *, second: bool) -> int:
    n = len(script)
    if i >= n:
        return -1 if second else i
    c = script[i]
    if second and c in "+~":
        found = _SED_DIGITS.match(script, i + 1)
        return found.end() if found else -1
    if c.isdigit():
        found = _SED_DIGITS.match(script, i)
        i = found.end() if found else i
        if script.startswith("~", i):
            step = _SED_DIGITS.match(script, i + 1)
            return step.end() if step else -1
        return i
    if c == "$":
        return i + 1
    if c in "/\\":
        if c == "\\":
            i += 1
            if i >= n or script[i] in "\n\\":
                return -1
        i = _sed_delimited(script, i + 1, script[i], regex=True)
        while 0 <= i < n and script[i] in "IM":
            i += 1
        return i
    return -1 if second else i


# --- their command lines ----------------------------------------------------------------------------------------

_AWK_HELD = {
    "f": "runs an awk script whose code is not checked",
    "E": "runs an awk script whose code is not checked",
    "i": "loads awk source from a file",
    "l": "loads an awk extension library",
    "o": "writes the program to a file",
    "p": "writes a profile to a file",
    "d": "writes its variables to a file",
    "D": "runs the awk debugger, which reads commands",
    "W": "takes an implementation option (mawk -W exec FILE runs a script)",
}
"""Short options of gawk/mawk/nawk that load or run code not in the text, or write a file (``-o``/``-p``/``-d`` take an
attached file name)."""
_AWK_PLAIN = frozenset("bcCghMnNOPrsStVY")
_AWK_LONG = frozenset(
    {
        "--field-separator",
        "--assign",
        "--source",
        "--characters-as-bytes",
        "--traditional",
        "--copyright",
        "--gen-pot",
        "--help",
        "--usage",
        "--lint",
        "--lint-old",
        "--bignum",
        "--use-lc-numeric",
        "--non-decimal-data",
        "--optimize",
        "--no-optimize",
        "--posix",
        "--re-interval",
        "--sandbox",
        "--version",
        "--csv",
    }
)
"""Long options that run nothing but the program in the text (any other, or an abbreviation, is held)."""
_AWK_LONG_VALUE = frozenset({"--field-separator", "--assign", "--source"})


def awk_code(args: Sequence[Arg]) -> tuple[list[Arg], str | None]:
    """The program texts of an awk command line (``-e``/``--source`` values, else the first operand), or why its
    options are not known safe (a script file, an extension, a file it writes, an option not understood)."""
    code: list[Arg] = []
    given = False
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.static:
            return code, "runs awk code built at run time"
        text = arg.text
        if text == "--":
            i += 1
            break
        if text == "-" or not text.startswith("-"):
            break
        i, reason, value = _awk_option(args, i)
        if reason is not None:
            return code, reason
        if value is not None:
            code.append(value)
            given = True
    if not given and i < len(args):
        code.append(args[i])
    return code, None


def _awk_option(args: Sequence[Arg], i: int) -> tuple[int, str | None, Arg | None]:
    """One option word at ``i``: the next index, a reason to hold, and program text it gives (``-e``/``--source``)."""
    text = args[i].text
    following = args[i + 1] if i + 1 < len(args) else Arg.of("")
    if text.startswith("--"):
        name, eq, value = text.partition("=")
        if name not in _AWK_LONG:
            return i, f"awk option `{name}` loads or runs code, writes a file, or is not understood", None
        if name in _AWK_LONG_VALUE and not eq:
            return i + 2, None, following if name == "--source" else None
        return i + 1, None, Arg.of(value) if name == "--source" else None
    for j, letter in enumerate(text[1:], start=2):
        if letter in _AWK_HELD:
            return i, f"{_AWK_HELD[letter]} (awk -{letter})", None
        if letter in "Fve":
            attached = text[j:]
            value_arg = Arg.of(attached) if attached else following
            return i + (1 if attached else 2), None, value_arg if letter == "e" else None
        if letter == "L":
            break  # --lint's optional value is attached
        if letter not in _AWK_PLAIN:
            return i, f"awk option `-{letter}` not understood", None
    return i + 1, None, None


_SED_SHORT = frozenset("nrEsuzb")
_SED_LONG = frozenset(
    {
        "--quiet",
        "--silent",
        "--debug",
        "--follow-symlinks",
        "--posix",
        "--sandbox",
        "--help",
        "--version",
        "--null-data",
        "--zero-terminated",
        "--separate",
        "--unbuffered",
        "--regexp-extended",
        "--binary",
        "--expression",
        "--file",
        "--line-length",
        "--in-place",
    }
)
_SED_LONG_VALUE = frozenset({"--expression", "--file", "--line-length"})


@dataclass
class SedArgs:
    """A sed command line read as GNU sed reads it (options may follow operands)."""

    scripts: list[Arg] = field(default_factory=list)
    files: list[Arg] = field(default_factory=list)
    operands: list[Arg] = field(default_factory=list)
    suffixes: list[str] | None = None
    """The backup suffixes of ``-i``/``--in-place`` (``""`` for none); ``None`` if files are not edited in place."""


def sed_args(args: Sequence[Arg]) -> SedArgs | str:
    """The scripts, script files and operands of a sed command line, or why it is not understood."""
    out = SedArgs()
    ended = False
    i = 0
    while i < len(args):
        arg = args[i]
        text = arg.text
        if ended or not arg.static or text == "-" or not text.startswith("-"):
            out.operands.append(arg)
        elif text == "--":
            ended = True
        else:
            reason = _sed_option(args, i, out)
            if isinstance(reason, str):
                return reason
            i = reason
            continue
        i += 1
    if not out.scripts and not out.files and out.operands:
        out.scripts.append(out.operands.pop(0))
    return out


def _sed_option(args: Sequence[Arg], i: int, out: SedArgs) -> int | str:
    text = args[i].text
    following = args[i + 1] if i + 1 < len(args) else Arg.of("")
    if text.startswith("--"):
        given, eq, value = text.partition("=")
        matches = [name for name in _SED_LONG if name.startswith(given)]
        name = given if given in _SED_LONG else matches[0] if len(matches) == 1 else ""
        if not name:
            return f"sed option `{given}` not understood"
        taken = Arg.of(value) if eq else following
        _sed_take(out, name, taken, value if eq else "")
        return i + (2 if name in _SED_LONG_VALUE and not eq else 1)
    for j, letter in enumerate(text[1:], start=2):
        if letter in _SED_SHORT:
            continue
        if letter == "i":
            _sed_take(out, "--in-place", following, text[j:])
            return i + 1
        if letter in "efl":
            attached = text[j:]
            name = {"e": "--expression", "f": "--file", "l": "--line-length"}[letter]
            _sed_take(out, name, Arg.of(attached) if attached else following, "")
            return i + (1 if attached else 2)
        return f"sed option `-{letter}` not understood"
    return i + 1


def _sed_take(out: SedArgs, name: str, value: Arg, suffix: str) -> None:
    if name == "--expression":
        out.scripts.append(value)
    elif name == "--file":
        out.files.append(value)
    elif name == "--in-place":
        out.suffixes = [*(out.suffixes or []), suffix]
