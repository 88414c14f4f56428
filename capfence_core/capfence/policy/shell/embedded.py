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

_CALL = re.compile(
    r"\b(?:system|popen[23]?|exec|execSync|execFile|execFileSync|spawn|spawnSync|shell_exec|passthru|proc_open|check_output"
    r"|check_call|call|run|Popen|getoutput|getstatusoutput|execute|capture2e?|capture3|execvp?|spawnl?p?)\s*\(\s*"
)
_STRING = re.compile(r"""[rRbBuUfF]{0,2}(?P<q>'''|\"\"\"|'|")(?P<body>(?:\\.|(?!(?P=q)).)*?)(?P=q)""", re.S)
_BACKQUOTE = re.compile(r"`([^`]*)`")
_QX = re.compile(r"(?:\bqx|%x)\s*(?:\{([^}]*)\}|\(([^)]*)\)|\[([^\]]*)\]|/([^/]*)/|!([^!]*)!|\|([^|]*)\|)")
_GETLINE = re.compile(r"""(?P<q>["'])(?P<body>(?:\\.|(?!(?P=q)).)*)(?P=q)\s*\|\s*getline""")
_TO_SHELL = re.compile(r"""\|\s*["'](?:/bin/)?(?:sh|bash|zsh|dash|ksh)["']""")
_DECODE = re.compile(r"b64decode|base64|decodebytes|fromhex|unhexlify|\batob\b|Buffer\.from|rot13|decode\(\s*['\"](?:base64|hex)")
_RUN = re.compile(r"\b(?:exec|eval|system|popen|subprocess|spawn|execSync|compile|__import__)\b")
_FORK_BOMB = re.compile(
    r"fork\s+while\s+fork|while\s*\(?\s*(?:1|true|True)\s*\)?\s*[:{]?\s*(?:os\.|POSIX::)?fork\b|for\s*\(\s*;\s*;\s*\)\s*\{?\s*(?:os\.)?fork\b"
)
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


def _unescape(text: str) -> str:
    return _ESCAPE.sub(lambda m: _ESCAPES.get(m.group(1), m.group(1)), text)


def _call_argument(code: str, start: int) -> str | None:
    """The command given to a call at ``start``: a string literal or a list of string literals."""
    if code.startswith("[", start):
        words: list[str] = []
        pos = start + 1
        while True:
            literal = _STRING.match(code, _skip(code, pos))
            if literal is None:
                break
            words.append(_unescape(literal.group("body")))
            pos = _skip(code, literal.end())
            if not code.startswith(",", pos):
                break
            pos += 1
        return " ".join(shlex.quote(w) for w in words) if words else None
    literal = _STRING.match(code, start)
    return _unescape(literal.group("body")) if literal else None


def _skip(code: str, pos: int) -> int:
    while pos < len(code) and code[pos] in " \t\n":
        pos += 1
    return pos


def embedded(code: str, language: str) -> Embedded:
    """What ``code`` written in ``language`` (an interpreter family name) would run in a shell."""
    found = Embedded()
    for call in _CALL.finditer(code):
        command = _call_argument(code, call.end())
        if command:
            found.commands.append(command)
    if language in _BACKQUOTE_LANGUAGES:
        found.commands += [_unescape(m.group(1)) for m in _BACKQUOTE.finditer(code)]
        found.commands += [next(g for g in m.groups() if g is not None) for m in _QX.finditer(code)]
    if language == "awk":
        found.commands += [_unescape(m.group("body")) for m in _GETLINE.finditer(code)]
    found.hidden = bool(_TO_SHELL.search(code)) or (bool(_DECODE.search(code)) and bool(_RUN.search(code)))
    found.fork_bomb = bool(_FORK_BOMB.search(code))
    return found
