"""Is an invocation fully understood and known safe? If not, why it deserves a person's look.

:func:`why_held` answers ``None`` for an invocation that the catalogue
(:mod:`capfence.policy.shell.catalogue`) knows and whose arguments keep it
safe, and a short reason otherwise ("unknown program `nsenter`", "recursive
deletion", "writes /etc/hosts, outside the working tree"). It is what the
``command: {known: ...}`` condition asks of every invocation of a command.

The rule for words known only at run time (``$DIR``, ``$(pwd)``): they are
held where the word's meaning matters (a target of ``rm``/``mv``/``chmod``, a
subcommand, the command name, code) and allowed where they cannot change what
runs (a search path of ``grep``/``find``, an output file of a redirection or
``tee``). Catastrophic uses are not this module's business: the pack's deny
rules decide those first.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Mapping, Sequence
from fnmatch import fnmatchcase
from functools import lru_cache

from capfence.policy.shell.catalogue import (
    CATALOGUE,
    COMPRESSORS,
    GIT_RISKY_KEY,
    INSTALLS,
    KNOWN_WRAPPERS,
    PRIVILEGED_WRAPPERS,
    SAFE_INTERPRETER_OPTIONS,
    SAFE_PYTHON_MODULES,
    Entry,
    variable_reason,
)
from capfence.policy.shell.context import norm_path
from capfence.policy.shell.invoke import read_code
from capfence.policy.shell.judges import JUDGES
from capfence.policy.shell.model import Arg, Invocation, Kind, Options
from capfence.policy.shell.options import PLAIN, parse_options
from capfence.policy.shell.programs import (
    ASSIGNERS,
    CODE_VARIABLES,
    INTERPRETERS,
    OPTION_SPECS,
    WRAPPERS,
    family,
)
from capfence.policy.shell.workingtree import REMOTE_PATH, contained, moved, outside, written

_UPLOADS = frozenset(
    {
        "-T",
        "--upload-file",
        "-d",
        "--data",
        "--data-binary",
        "--data-raw",
        "--data-urlencode",
        "-F",
        "--form",
        "--post-data",
        "--post-file",
        "--body-data",
        "--body-file",
        "--method",
    }
)
_WRITE_METHODS = frozenset({"POST", "PUT", "DELETE", "PATCH"})
_AWK_RISK = re.compile(r"\bsystem\s*\(|\|\s*\"|\"\s*\|\s*getline|\|&|\bclose\s*\(")
_SED_RISK = re.compile(
    r"(?:^|[;{}\n])[^\S\n]*+[\d,$/!^\\.*+?]*+[^\S\n]*+[ewWrR](?:\s|$)|/[gpiImM\d]*+e[gpiImM\d]*+\s*+(?:$|[;}])"
)
r"""Only searched for. Blanks before the command are ``[^\S\n]``, not ``\s``: where ``\s`` took in a newline, the match
from that newline is found instead, so no run of newlines is scanned again from each one (cubic time before: 2 s for
1,000 newlines); nothing can backtrack."""
_INLINE_INPUT = frozenset({"<<", "<<-", "<<<"})
"""Here-documents and here-strings: standard input whose text is in the command (and was analyzed)."""
_ARITHMETIC = frozenset(
    {
        "let",
        "declare",
        "typeset",
        "local",
        "readonly",
        "export",
        "printf",
        "read",
        "[[",
        "test",
        "[",
        "unset",
        "mapfile",
        "readarray",
        "getopts",
        "wait",
        "shift",
        "return",
        "exit",
        "ulimit",
    }
)
"""Builtins that evaluate some arguments as arithmetic or array subscripts, where ``a[$(cmd)]`` runs ``cmd``."""
_EXPANDS_LATER = re.compile(r"\$\(|`|\$\{[^}]*\$|\[[^\]\[$]*+\$")
r"""Only searched for: a ``[`` with a ``$`` before the next ``]`` (the last ``[`` before that ``$`` has one too, so a
scan stops at the next ``[``: each character is looked at once, where ``[^\]]*`` took seconds on 60 KB of ``[``)."""
_IP_OBJECTS = frozenset(
    {
        "a",
        "addr",
        "address",
        "r",
        "ro",
        "route",
        "l",
        "link",
        "n",
        "neigh",
        "neighbor",
        "neighbour",
        "maddr",
        "rule",
        "monitor",
        "-br",
        "-brief",
    }
)
_IP_READS = frozenset({"show", "list", "ls", "get", "sh", "s", "lst"})


def _redirects(inv: Invocation) -> str | None:
    targets = [r.target for r in inv.redirects if r.writes and r.target is not None and not r.target.procsub]
    return written(targets, need_static=False)


def why_held(inv: Invocation) -> str | None:
    """``None`` if the invocation is known safe, else why it should be held."""
    if inv.program is None or inv.dynamic is not None:
        return inv.dynamic or "the command name is built at run time"
    if inv.code_from:
        return "runs code produced by " + ", ".join(sorted(inv.code_from))
    reason = _settings(inv.env, inv.program) if inv.env else None
    if reason is not None:
        return reason
    reason = _redirects(inv)
    if reason is not None or inv.program == "":
        return reason
    return _program(inv)


def why_held_each(invocations: Sequence[Invocation]) -> tuple[str | None, ...]:
    """:func:`why_held` of each invocation of one command, in order, knowing what the ones before did.

    After a virtual environment's activation (``source .venv/bin/activate``), ``pip install`` installs into it, not
    system-wide.
    """
    reasons: list[str | None] = []
    active = False
    for inv in invocations:
        reason = why_held(inv)
        active = active or (inv.program in ("source", ".") and reason is None)
        reasons.append(None if active and reason in _PIP_INSTALLS else reason)
    return tuple(reasons)


_PIP_INSTALLS = frozenset(f"{INSTALLS} ({name} install)" for name in ("pip", "pip3"))


def _program(inv: Invocation) -> str | None:
    name = inv.program or ""
    if name in _ARITHMETIC and any(arg.static and _EXPANDS_LATER.search(arg.text) for arg in inv.args):
        return f"evaluates text as arithmetic or a subscript, which can run commands ({name})"
    if name in ("source", "."):
        return _source(inv)
    if name in PRIVILEGED_WRAPPERS:
        return f"{PRIVILEGED_WRAPPERS[name]} ({name})"
    if name in KNOWN_WRAPPERS:
        return _wrapper(inv, name)
    if name in ASSIGNERS:
        reason = _assigned(inv)
        if reason is not None:
            return reason
    kind = family(name)
    if kind in INTERPRETERS:
        return _interpreter(inv, kind)
    special = _SPECIAL.get(name)
    if special is not None:
        reason = special(inv)
        if reason is not None:
            return reason
    entry = CATALOGUE.get(name)
    if entry is None:
        return f"unknown program `{name}`"
    return _entry(inv, name, entry, 0)


def _entry(inv: Invocation, name: str, entry: Entry, depth: int) -> str | None:
    options = inv.options
    operands = options.operands
    reason = _options(inv, name, entry, _option_words(inv.args), operands[depth:])
    if reason is not None:
        return reason
    flag = _given(entry.contained, options)
    if flag is not None and not (operands[depth:] and all(map(contained, operands[depth:]))):
        return f"{entry.contained[flag]} ({name} {flag})"
    held = _held_operand(entry, operands[depth:])
    if held is not None:
        return f"{entry.hold_operands[held[0]]} ({name} {held[1]})"
    if entry.subs is not None:
        return _sub(inv, name, entry, operands, depth)
    if entry.static_operands and options.maybe_option:
        return "its options are known only at run time"
    if entry.static_operands and not entry.writes and not all(arg.static for arg in operands[depth:]):
        return f"operates on names known only at run time ({name})"
    if entry.moves:
        return moved(operands[:-1]) or written(operands[-1:], need_static=True)
    if entry.writes == "operands":
        return written(operands, entry.static_operands, "changes")
    if entry.writes == "after_first":
        return written(operands[1:], entry.static_operands, "changes")
    if entry.writes == "last":
        unknown = next((arg for arg in operands[:-1] if not arg.static and not _found(arg, inv)), None)
        if entry.static_operands and unknown is not None:
            return written((unknown,), need_static=True)
        return written(operands[-1:], entry.static_operands, remote=True)
    return None


def _found(arg: Arg, inv: Invocation) -> bool:
    """A name ``find -exec`` fills in: it starts with the search root, so it is never an option (unlike an ``xargs`` item)."""
    return arg.kind is Kind.PLACEHOLDER and bool(inv.via) and inv.via[-1] == "find"


def _given(options_held: Mapping[str, str], options: Options) -> str | None:
    """The first of ``options_held`` among the given options, long ones also as GNU abbreviations (``--rec``)."""
    if not options_held:
        return None
    for flag in options_held:
        if flag in options.flags:
            return flag
    for given in options.long:
        if len(given) > 3:
            found = next((flag for flag in options_held if flag.startswith(given)), None)
            if found is not None:
                return found
    return None


def _held_operand(entry: Entry, operands: Sequence[Arg]) -> tuple[str, str] | None:
    """The first static operand that a ``hold_operands`` pattern matches, as (pattern, operand)."""
    if not entry.hold_operands:
        return None
    for arg in operands:
        if arg.static:
            found = next((pattern for pattern in entry.hold_operands if fnmatchcase(arg.text, pattern)), None)
            if found is not None:
                return found, arg.text
    return None


def _sub(inv: Invocation, name: str, entry: Entry, operands: tuple[Arg, ...], depth: int) -> str | None:
    assert entry.subs is not None
    if not entry.subs and not entry.bare:
        return f"{entry.other} ({name})"
    if len(operands) <= depth:
        return None if entry.bare else f"{entry.other or 'not in the catalogue'} ({name})"
    word = operands[depth]
    if not word.static:
        return f"the {name} subcommand is known only at run time"
    sub = entry.subs.get(word.text)
    label = f"{name} {word.text}"
    if sub is None:
        return f"{entry.other} ({label})" if entry.other else f"`{label}` is not in the catalogue"
    if isinstance(sub, str):
        return f"{sub} ({label})"
    return _entry(inv, label, sub, depth + 1)


# --- the environment ----------------------------------------------------------------------------------


def _settings(settings: Sequence[Arg], program: str | None = None) -> str | None:
    """Why running with these ``NAME=value`` settings deserves a look (``LD_PRELOAD=x``), or ``None``.

    A command line in ``PAGER``/``EDITOR``/``GIT_SSH_COMMAND``... known in the text was analyzed as a command (and is judged
    as one); one known only at run time is held. ``IFS`` for a builtin that only splits its input (``IFS=, read a b``) is fine."""
    for word in settings:
        name, _, _ = word.prefix.partition("=") if not word.static else word.text.partition("=")
        if name == "IFS" and program in _SPLITS_INPUT:
            continue
        why = variable_reason(name)
        if why is not None:
            return f"{why} ({name})"
        if name in CODE_VARIABLES and not word.static:
            return f"runs a command known only at run time ({name})"
    return None


_SPLITS_INPUT = frozenset({"read", "mapfile", "readarray"})
"""Builtins for which ``IFS`` only says how to split what they read."""


def _assigned(inv: Invocation) -> str | None:
    """``export``/``declare``/``read``/``printf -v``... of a variable that makes later programs run code."""
    for arg in inv.args:
        if not arg.static or arg.text.startswith(("-", "+")):
            continue
        name, eq, _ = arg.text.partition("=")
        if not name.isidentifier():
            continue
        if eq and name in CODE_VARIABLES:
            continue  # its command was analyzed
        reason = _settings((arg,)) if eq else None
        if reason is not None:
            return reason
        if not eq and (name in CODE_VARIABLES or variable_reason(name) is not None):
            return f"sets or exports {name}, whose value is known only at run time ({inv.program} {name})"
    return None


def _wrapper(inv: Invocation, name: str) -> str | None:
    """A transparent wrapper's own options that write a file or run something (``strace -o '|cmd'``, ``time -o FILE``)."""
    entry = CATALOGUE.get(name)
    if entry is None:
        return None
    own = inv.args[: len(inv.args) - len(inv.options.operands)] if name in WRAPPERS else inv.args
    reason = _options(inv, name, entry, _option_words(own), ())
    if reason is None and entry.writes == "operands" and name == "script":
        return written(inv.options.operands, need_static=False)
    return reason


# --- options that run code or write files ---------------------------------------------------------

_SAFE_PLUS = re.compile(r"\+(?:\d*[FGgN]?|/[^|!]*)")
"""A ``+`` command of a pager or editor that only moves (``less +F``, ``vim +42``, ``less +/ERROR``)."""


def in_tree(text: str) -> bool:
    """A static path in the working tree: relative, and not climbing out of it."""
    if text.startswith(("/", "~")):
        return False
    path = norm_path(text)
    return path != ".." and not path.startswith("../")


def _option_words(args: Sequence[Arg]) -> tuple[Arg, ...]:
    """The arguments before ``--`` (where options end)."""
    for i, arg in enumerate(args):
        if arg.static and arg.text == "--":
            return tuple(args[:i])
    return tuple(args)


def option_values(
    words: Sequence[Arg], names: frozenset[str] | Sequence[str], long_words: bool = False
) -> list[tuple[str, Arg]]:
    """The values given to the options ``names`` (each taking a value), however written: ``--out FILE``, ``--out=FILE``,
    ``-o FILE``, ``-oFILE``, ``-xo FILE`` (a cluster; with ``long_words``, options are whole words: ``-toolexec=x``)."""
    found: list[tuple[str, Arg]] = []
    for i, arg in enumerate(words):
        if not arg.static or not arg.text.startswith("-") or arg.text == "-":
            continue
        text = arg.text
        following = words[i + 1] if i + 1 < len(words) else None
        for name in names:
            value: Arg | None = None
            if text == name:
                value = following
            elif text.startswith(name + "="):
                value = Arg.of(text[len(name) + 1 :])
            elif len(name) == 2 and name[0] == "-" and not text.startswith("--"):
                if long_words:
                    value = Arg.of(text[2:]) if text.startswith(name) and len(text) > 2 else None
                elif name[1] in text[1:]:
                    at = text.index(name[1], 1)
                    value = Arg.of(text[at + 1 :]) if at + 1 < len(text) else following
            if value is not None:
                found.append((name, value))
    return found


def _held_option(inv: Invocation, entry: Entry, words: Sequence[Arg], operands: Sequence[Arg]) -> str | None:
    """The first option of ``entry.hold`` given, however spelled (a cluster, ``--name=x``, a GNU abbreviation, ``-name=x``)."""
    flags = inv.options.flags
    given_long = [f for f in inv.options.long if len(f) >= 4]
    texts = [a.text for a in words if a.static]
    for option in entry.hold:
        if option == "+":
            if any(
                a.static and a.text.startswith("+") and not _SAFE_PLUS.fullmatch(a.text) for a in operands
            ):
                return option
            continue
        if option == "@":
            if any(a.static and a.text.startswith("@") for a in operands):
                return option
            continue
        if entry.long_words:
            if any(_long_word(text, option) for text in texts):
                return option
            continue
        if option in flags:
            return option
        if option.startswith("--") and any(option.startswith(given) for given in given_long):
            return option  # a GNU abbreviation (--eval -> --ev)
        if not option.startswith("--") and len(option) > 2 and any(text.startswith(option) for text in texts):
            return option  # a single-dash long option with its value (-fplugin=x.so)
    return None


def _long_word(text: str, option: str) -> bool:
    if text == option or text.startswith(option + "="):
        return True
    # -B/tmp/x, -J-javaagent:x: attached, but not another option that starts with the letter (-eventlog)
    if len(option) == 2:
        return text.startswith(option) and len(text) > 2 and not text[2].isalpha()
    return text.startswith(option) or text.startswith("-" + option)


def _options(
    inv: Invocation, name: str, entry: Entry, words: Sequence[Arg], operands: Sequence[Arg]
) -> str | None:
    """Why an option or operand of ``entry``'s program makes this use risky: it runs code, loads a library, runs code
    from outside the working tree, or writes a file outside it."""
    option = _held_option(inv, entry, words, operands) if entry.hold else None
    if option is not None:
        return f"{entry.hold[option]} ({name} {option})"
    if entry.held_subs and operands:
        if not operands[0].static:
            return f"the {name} subcommand is known only at run time"
        if operands[0].text in entry.held_subs:
            return f"{entry.held_subs[operands[0].text]}"
    return _option_files(name, entry, words) or (
        _operand_files(name, operands) if entry.runs_operands else None
    )


def _option_files(name: str, entry: Entry, words: Sequence[Arg]) -> str | None:
    """Files its options write outside the working tree, code they run from outside it, values that make it run something."""
    for option, value in option_values(words, entry.outputs, entry.long_words) if entry.outputs else ():
        if value.static and value.text.startswith(("|", "!")):
            return f"pipes its output into a command given in an option ({name} {option})"
        if value.static and outside(value.text):
            return f"writes {value.text}, outside the working tree ({name} {option})"
    for option, value in option_values(words, entry.code_files, entry.long_words) if entry.code_files else ():
        if not value.static:
            return f"runs code from a file known only at run time ({name} {option})"
        if not in_tree(value.text):
            return f"runs code from {value.text}, outside the working tree ({name} {option})"
    for option, value in (
        option_values(words, tuple(entry.risky_values), entry.long_words) if entry.risky_values else ()
    ):
        pattern, why = entry.risky_values[option]
        if not value.static or re.search(pattern, value.text, re.IGNORECASE):
            return f"{why} ({name} {option} {value.text})"
    return None


def _operand_files(name: str, operands: Sequence[Arg]) -> str | None:
    for operand in operands:
        if not operand.static:
            return f"runs code from a path known only at run time ({name})"
        if not in_tree(operand.text):
            return f"runs code from {operand.text}, outside the working tree ({name})"
    return None


# --- interpreters -------------------------------------------------------------------------------


def _interpreter(inv: Invocation, kind: str) -> str | None:
    if _only_info(inv.args) or _syntax_only(inv.args, kind):
        return None
    spec = INTERPRETERS[kind]
    reading = read_code(inv.args, spec)
    name = inv.program
    if spec.shell:
        if reading.script is not None:
            return f"runs a shell script whose code is not checked ({name} {reading.script.text})"
        if not reading.code and not reading.stdin:
            return f"starts a shell ({name})"
        if not reading.code and not any(r.op in _INLINE_INPUT for r in inv.redirects):
            return f"reads commands from its standard input ({name})"
        return None  # the code itself was analyzed: each command it runs is judged on its own
    if kind == "python":
        return _python(inv, reading.code)
    if kind in ("awk", "gawk", "mawk", "nawk"):
        return _awk(inv, reading.code, reading.script)
    return f"runs {kind} code that is not checked"


_SYNTAX_CHECK = {
    "sh": "n",
    "bash": "n",
    "dash": "n",
    "zsh": "n",
    "ksh": "n",
    "mksh": "n",
    "ruby": "c",
    "php": "l",
    "node": "c",
}
"""The option letter with which an interpreter only checks the syntax of its code and runs none of it."""
_SYNTAX_CHECK_LONG = frozenset({"--syntax-check", "--check"})


def _syntax_only(args: Sequence[Arg], kind: str) -> bool:
    """``bash -n deploy.sh``, ``php -l x.php``, ``ruby -c app.rb``, ``node --check x.js``: the code is parsed, never run.

    Only options before the first operand count (``bash script.sh -n`` runs the script with ``-n``).
    """
    letter = _SYNTAX_CHECK.get(kind)
    if letter is None:
        return False
    for arg in args:
        if not arg.static or not arg.text.startswith("-") or arg.text == "-":
            return False
        if arg.text in _SYNTAX_CHECK_LONG and kind in ("php", "node"):
            return True
        if not arg.text.startswith("--") and letter in arg.text[1:] and (kind != "node" or arg.text == "-c"):
            return True
    return False


def _only_info(args: Sequence[Arg]) -> bool:
    return bool(args) and all(a.static and a.text in SAFE_INTERPRETER_OPTIONS for a in args)


def _python(inv: Invocation, code: list[Arg | None]) -> str | None:
    args = inv.args
    for i, arg in enumerate(args):
        if arg.static and arg.text.startswith("-m"):
            module = arg.text[2:] or (args[i + 1].text if i + 1 < len(args) and args[i + 1].static else "")
            rest = args[i + 2 :] if arg.text == "-m" else args[i + 1 :]
            return _python_module(inv, module, rest)
    if code:
        return (
            None
            if all(c is not None and c.static and harmless_python(c.text) for c in code)
            else "runs python code that is not checked"
        )
    return "runs a python script whose code is not checked" if args else "starts python"


def _python_module(inv: Invocation, module: str, rest: Sequence[Arg]) -> str | None:
    if module in ("pip", "pip3"):
        sub = next((a for a in rest if not a.text.startswith("-")), None)
        entry = CATALOGUE["pip"].subs or {}
        found = entry.get(sub.text) if sub is not None and sub.static else None
        if sub is None or isinstance(found, Entry):
            return None
        return (
            f"{found} (pip {sub.text})"
            if isinstance(found, str)
            else "`python -m pip` command not in the catalogue"
        )
    if module in SAFE_PYTHON_MODULES:
        return None
    if module == "http.server":
        return "serves files over the network (python -m http.server)"
    return f"runs python module `{module}`, which is not in the catalogue"


_PY_CALLS = frozenset(
    {
        "print",
        "len",
        "str",
        "int",
        "float",
        "repr",
        "sorted",
        "sum",
        "min",
        "max",
        "range",
        "list",
        "dict",
        "set",
        "tuple",
        "abs",
        "round",
        "hex",
        "oct",
        "bin",
        "bool",
        "format",
        "enumerate",
        "zip",
        "ord",
        "chr",
        "type",
        "isinstance",
        "any",
        "all",
        "reversed",
        "divmod",
        "pow",
        "hash",
    }
)
_PY_MODULES = frozenset(
    {
        "sys",
        "platform",
        "json",
        "math",
        "datetime",
        "time",
        "re",
        "string",
        "random",
        "uuid",
        "hashlib",
        "textwrap",
        "statistics",
        "decimal",
        "fractions",
        "itertools",
        "functools",
        "collections",
        "struct",
        "calendar",
        "locale",
        "keyword",
        "this",
        "sysconfig",
        "zoneinfo",
    }
)
_PY_NODES = (
    ast.Module,
    ast.Expr,
    ast.Constant,
    ast.Name,
    ast.Load,
    ast.Store,
    ast.BinOp,
    ast.UnaryOp,
    ast.BoolOp,
    ast.Compare,
    ast.JoinedStr,
    ast.FormattedValue,
    ast.Subscript,
    ast.Slice,
    ast.List,
    ast.Tuple,
    ast.Dict,
    ast.Set,
    ast.Assign,
    ast.operator,
    ast.unaryop,
    ast.boolop,
    ast.cmpop,
    ast.keyword,
    ast.Attribute,
    ast.Call,
    ast.Import,
    ast.ImportFrom,
    ast.alias,
    ast.IfExp,
    ast.ListComp,
    ast.comprehension,
    ast.GeneratorExp,
    ast.Starred,
)


def harmless_python(code: str) -> bool:
    """Python code that only computes and prints: literals, arithmetic, a few builtins, safe standard modules."""
    if len(code) > 2000:
        return False
    try:
        tree = ast.parse(code)
        nodes = list(ast.walk(tree))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    for node in nodes:
        if not isinstance(node, _PY_NODES):
            return False
        if isinstance(node, ast.Import | ast.ImportFrom) and not _safe_import(node):
            return False
        if isinstance(node, ast.Name | ast.Attribute) and _dunder(node):
            return False
        if isinstance(node, ast.Call) and not _safe_call(node.func):
            return False
    return True


def _safe_import(node: ast.Import | ast.ImportFrom) -> bool:
    if isinstance(node, ast.ImportFrom):
        return (node.module or "").split(".")[0] in _PY_MODULES and node.level == 0
    return all(alias.name.split(".")[0] in _PY_MODULES for alias in node.names)


def _dunder(node: ast.Name | ast.Attribute) -> bool:
    name = node.id if isinstance(node, ast.Name) else node.attr
    return name.startswith("_") or name in (
        "exec",
        "eval",
        "compile",
        "open",
        "getattr",
        "setattr",
        "globals",
        "locals",
        "vars",
        "system",
        "popen",
        "input",
        "breakpoint",
        "delattr",
        "memoryview",
    )


def _safe_call(func: ast.expr) -> bool:
    if isinstance(func, ast.Name):
        return func.id in _PY_CALLS
    if isinstance(func, ast.Attribute):
        root: ast.expr = func
        while isinstance(root, ast.Attribute):
            root = root.value
        if isinstance(root, ast.Name):
            return root.id in _PY_MODULES
        return isinstance(root, ast.Constant | ast.JoinedStr | ast.List | ast.Dict | ast.Tuple)
    return False


_AWK_FILE = re.compile(r">>?\s*\"([^\"]*)\"")


def _awk(inv: Invocation, code: list[Arg | None], script: Arg | None) -> str | None:
    if script is not None:
        return "runs an awk script whose code is not checked"
    if inv.options.flags & {"-l", "--load", "-i", "--include", "-E", "--exec"}:
        return "loads an awk extension library or source file"
    for arg in code:
        if arg is None or not arg.static:
            return "runs awk code built at run time"
        if _AWK_RISK.search(arg.text):
            return "awk code runs commands"
        for path in _AWK_FILE.findall(arg.text):
            if outside(path):
                return f"awk code writes {path}, outside the working tree"
    return None


# --- programs whose options decide ------------------------------------------------------------------


def _sed(inv: Invocation) -> str | None:
    operands = inv.options.operands
    flags = inv.options.flags
    scripted = bool(flags & {"-e", "--expression", "-f", "--file"})
    words = _option_words(inv.args)
    given = option_values(words, ("-e", "--expression", "-f", "--file"))
    scripts = [v for o, v in given if o in ("-e", "--expression")] if scripted else list(operands[:1])
    for option, value in given:
        if option in ("-f", "--file") and (not value.static or not in_tree(value.text)):
            return f"runs a sed script from outside the working tree (sed {option} {value.text})"
    for arg in scripts:
        if arg.static and _SED_RISK.search(arg.text):
            return "sed script runs commands or writes files"
        if not arg.static:
            return "sed script built at run time"
    if flags & {"-i", "--in-place"} or any(f.startswith(("-i", "--in-place")) for f in flags):
        return written(operands[0 if scripted else 1 :], need_static=True, verb="edits")
    return None


def _transfer(inv: Invocation) -> str | None:
    flags = inv.options.flags
    if flags & _UPLOADS or any(f.startswith(("--data", "--form", "--upload", "--post")) for f in flags):
        return f"sends data to a server ({inv.program})"
    if inv.program in _HTTPIE and _httpie_sends(inv):
        return f"sends data to a server ({inv.program})"
    for option, value in inv.options.values:
        if option in ("-X", "--request") and value.text.upper() in _WRITE_METHODS:
            return f"sends a {value.text.upper()} request ({inv.program})"
        if option in _TRANSFER_OUTPUTS and value.static and value.text != "-" and outside(value.text):
            return f"writes {value.text}, outside the working tree"
    for option, value in option_values(_option_words(inv.args), _TRANSFER_LATE_OUTPUTS):
        if value.static and value.text != "-" and outside(value.text):
            return f"writes {value.text}, outside the working tree ({inv.program} {option})"
    held = next(
        (f for f in flags if f in _TRANSFER_RUNS or f.startswith(("--on-download", "--on-bt-download"))), None
    )
    if held is not None:
        return f"runs a command or reads options from a file given in an option ({inv.program} {held})"
    return None


_HTTPIE = frozenset({"http", "https", "xh", "xhs"})
_HTTPIE_ITEM = re.compile(r"[^=:@/]+(?:=|:=|@|=@|:=@)(?!=)")
"""An httpie request item that sends data: ``name=value``, ``name:=json``, ``field@file`` (``name==value`` is a query)."""


def _httpie_sends(inv: Invocation) -> bool:
    """``http POST url``, ``http url name=value``, ``http -f url ...``: httpie sends a body (or uses a method that changes)."""
    operands = inv.options.operands
    if inv.options.flags & {"-f", "--form", "--multipart", "--raw"}:
        return True
    if operands and operands[0].static and operands[0].text.upper() in _WRITE_METHODS:
        return True
    return any(not arg.static or _HTTPIE_ITEM.match(arg.text) for arg in operands[1:])


_TRANSFER_OUTPUTS = frozenset(
    {
        "-o",
        "--output",
        "-O",
        "--output-document",
        "--output-dir",
        "-P",
        "--directory-prefix",
        "-D",
        "--dump-header",
        "-c",
        "--cookie-jar",
        "--output-file",
        "-a",
        "--append-output",
    }
)
_TRANSFER_LATE_OUTPUTS = (
    "--dump-header",
    "--trace",
    "--trace-ascii",
    "--stderr",
    "--libcurl",
    "--etag-save",
    "--hsts",
    "--alt-svc",
    "--cookie-jar",
    "--output-file",
    "--append-output",
    "--save-cookies",
    "--warc-file",
    "--session",
    "--log",
    "-l",
    "--save-session",
)
_TRANSFER_RUNS = frozenset({"-K", "--config", "--use-askpass", "-e", "--execute", "--conf-path", "--engine"})


def _extract_target(inv: Invocation) -> str | None:
    args = inv.args
    for i, arg in enumerate(args):
        if not arg.static:
            continue
        target = None
        if arg.text in ("-C", "--directory", "-d") and i + 1 < len(args):
            target = args[i + 1]
        elif arg.text.startswith("--directory="):
            target = Arg.of(arg.text.split("=", 1)[1])
        elif arg.text.startswith("-o") and inv.program in ("7z", "7za", "7zz") and len(arg.text) > 2:
            target = Arg.of(arg.text[2:])
        if target is not None:
            if not target.static:
                return "extracts into a directory known only at run time"
            if outside(target.text):
                return f"extracts into {target.text}, outside the working tree"
    if inv.program in ("tar", "bsdtar") and any(
        a.static and a.text in ("-P", "--absolute-names") for a in args
    ):
        return "extracts with absolute names"
    return None


def _dd(inv: Invocation) -> str | None:
    for arg in inv.args:
        if arg.text.startswith("of="):
            if not arg.static:
                return "dd writes to a path known only at run time"
            if outside(arg.text[3:]):
                return f"dd writes {arg.text[3:]}, outside the working tree"
    return None


def _tee(inv: Invocation) -> str | None:
    return written(inv.options.operands, need_static=False)


def _find(inv: Invocation) -> str | None:
    flags = inv.options.flags
    if "-delete" in flags:
        return "bulk deletion by a filter (find -delete)"
    for option, value in inv.options.values:
        if option in ("-fprint", "-fprint0", "-fls", "-fprintf") and value.static and outside(value.text):
            return f"writes {value.text}, outside the working tree"
    return None


def _ip(inv: Invocation) -> str | None:
    operands = [a for a in inv.options.operands]
    if not operands:
        return None
    words = [a.text if a.static else "" for a in operands[:2]]
    if words[0] in _IP_OBJECTS and (len(words) == 1 or words[1] in _IP_READS or words[1].startswith("dev")):
        return None
    return "changes network configuration or runs a command in a namespace (ip " + " ".join(words) + ")"


def _operands_change(what: str) -> Callable[[Invocation], str | None]:
    def check(inv: Invocation) -> str | None:
        return f"{what} ({inv.program})" if inv.options.operands else None

    return check


def _source(inv: Invocation) -> str | None:
    operands = inv.options.operands
    script = operands[0] if operands else None
    if (
        script is not None
        and script.static
        and script.text.endswith("/bin/activate")
        and not outside(script.text)
    ):
        return None  # a virtual environment's activation script
    return f"runs a shell script whose code is not checked ({inv.program} {script.text if script else ''})".replace(
        " )", ")"
    )


def _date(inv: Invocation) -> str | None:
    return "sets the clock (date -s)" if inv.options.flags & {"-s", "--set"} else None


def _java(inv: Invocation) -> str | None:
    return None if _only_info(inv.args) else "runs a Java program whose code is not checked"


_SQLITE_SAFE_DOT = re.compile(
    r"\.(tables|schema|indexes|indices|headers|mode|width|databases|dbinfo|show|help|nullvalue|separator|"
    r"timer|changes|bail|echo|eqp|fullschema|lint|stats|version|print|quit|exit|timeout|explain|"
    r"expert|selftest|sha3sum|dump|parameter|limit|tables)\b"
)
_SQLITE_RISK = re.compile(
    r"\b(attach|vacuum\s+into|load_extension|writefile|edit|readfile|fts3_tokenizer)\b", re.IGNORECASE
)


def _sqlite(inv: Invocation) -> str | None:
    """``sqlite3 DB SQL``: SQL and dot-commands that only read or print; dot-commands that run a shell or write files
    (``.shell``, ``.system``, ``.output``, ``.once``, ``.load``, ``.import``...) and SQL that writes or loads files are held, and so
    are commands read from its input or a file (not seen)."""
    words = _option_words(inv.args)
    texts = [v for o, v in option_values(words, ("-cmd", "--cmd"), long_words=True)]
    if any(a.static and a.text.lstrip("-") in ("init", "A", "archive", "safe") for a in words):
        return "runs commands from a file or archive given in an option (sqlite3)"
    operands = [a for a in inv.options.operands if a not in texts]
    if len(operands) < 2 and not texts:
        return "reads SQL and dot-commands from its input (they can run shell commands) (sqlite3)"
    for arg in [*texts, *operands[1:]]:
        if not arg.static:
            return "runs SQL built at run time (sqlite3)"
        for piece in re.split(r"[\n;]", arg.text):
            line = piece.strip()
            if line.startswith(".") and not _SQLITE_SAFE_DOT.match(line):
                return f"runs a dot-command that can run shell commands or write files (sqlite3 {line.split()[0]})"
        if _SQLITE_RISK.search(arg.text):
            return "SQL that writes or loads files (sqlite3)"
    return None


def _debugger(inv: Invocation) -> str | None:
    return (
        None
        if _only_info(inv.args)
        else f"runs debugger commands, which can run shell commands ({inv.program})"
    )


def _tar(inv: Invocation) -> str | None:
    first = inv.args[0] if inv.args else None
    if first is not None and first.static and first.text.isalpha() and set(first.text) & set("IF"):
        # old-style letters: tar xIf zstd a.tar
        return f"runs a command given in an option ({inv.program} {first.text})"
    return _extract_target(inv)


_KEEPS_INPUT = frozenset({"-c", "--stdout", "--to-stdout", "-l", "--list", "-t", "--test"})


def _compressor(inv: Invocation) -> str | None:
    """``gzip FILE`` replaces FILE by FILE.gz (``gunzip ~/.bashrc.gz`` writes ``~/.bashrc``), unless writing to standard output."""
    if inv.options.flags & _KEEPS_INPUT:
        return None
    for option, value in option_values(_option_words(inv.args), ("-o", "--output")):
        if value.static and outside(value.text):
            return f"writes {value.text}, outside the working tree ({inv.program} {option})"
    return written(inv.options.operands, need_static=False, verb="replaces")


_MAKE_COMMANDS = frozenset({"SHELL", ".SHELLFLAGS", "MAKEFLAGS", "MAKEFILES", "MAKE", "MAKESHELL"})


def _make(inv: Invocation) -> str | None:
    """``make VAR=value``: a value that expands to commands (``$(shell ...)``), or a variable recipes run as a command."""
    for arg in inv.options.operands:
        name, eq, value = arg.text.partition("=")
        if not eq or not name.replace(".", "_").isidentifier():
            continue
        if not arg.static or re.search(r"\$[({]|`", value):
            return f"a make variable whose value can run commands ({inv.program} {name}=...)"
        if name in _MAKE_COMMANDS:
            return f"sets a make variable that decides how recipes run ({inv.program} {name})"
        if name in CODE_VARIABLES and not (
            value.split() and value.split()[0] in CATALOGUE and len(value.split()) == 1
        ):
            return f"sets a command recipes run to one the catalogue does not know ({inv.program} {name}={value})"
    return None


def _go(inv: Invocation) -> str | None:
    operands = inv.options.operands
    if len(operands) > 1 and operands[0].text == "run" and any("@" in a.text for a in operands[1:]):
        return "downloads and runs a module (go run PACKAGE@VERSION)"
    return None


_GIT_CONFIG_READS = frozenset(
    {
        "--get",
        "--get-all",
        "--get-regexp",
        "--get-urlmatch",
        "-l",
        "--list",
        "--get-color",
        "--get-colorbool",
        "--unset",
        "--unset-all",
        "--remove-section",
        "-e",
        "--edit",
        "--show-origin",
        "--show-scope",
        "--name-only",
    }
)
_GIT_CONFIG_VERBS = {
    "get": 1,
    "list": 0,
    "unset": 0,
    "edit": 0,
    "remove-section": 0,
    "set": 2,
    "rename-section": 2,
}
_GIT_CONFIG_VALUES = frozenset(
    {"-f", "--file", "--blob", "--type", "--default", "--comment", "--value", "--url"}
)


def _git(inv: Invocation) -> str | None:
    """``git config KEY VALUE`` of a key that makes git run a command (``core.pager``, ``alias.x '!cmd'``, ``core.hooksPath``)."""
    operands = inv.options.operands
    if not operands or operands[0].text != "config":
        return None
    words = list(inv.args[inv.args.index(operands[0]) + 1 :])
    for option, value in option_values(_option_words(words), ("-f", "--file")):
        if not value.static or outside(value.text):
            return f"writes git configuration to {value.text}, outside the working tree (git config {option})"
    return _git_config(words)


def _git_config(words: Sequence[Arg]) -> str | None:
    rest: list[Arg] = []
    skip = False
    for word in words:
        if skip:
            skip = False
        elif word.static and word.text in _GIT_CONFIG_VALUES:
            skip = True
        elif not (word.static and word.text.startswith("-")):
            rest.append(word)
    flags = {w.text.partition("=")[0] for w in words if w.static and w.text.startswith("-")}
    if rest and rest[0].static and rest[0].text in _GIT_CONFIG_VERBS:
        verb = rest.pop(0).text
        if verb == "rename-section":
            return "renames a configuration section (git config rename-section)"
        if verb != "set":
            return None
    elif flags & _GIT_CONFIG_READS or len(rest) < 2:
        if "--rename-section" in flags:
            return "renames a configuration section (git config --rename-section)"
        return None
    key = rest[0]
    value = rest[1] if len(rest) > 1 else None
    if not key.static:
        return "sets a git configuration key known only at run time (git config)"
    if key.text.lower().startswith("alias."):
        shell = value is not None and (not value.static or value.text.lstrip().startswith("!"))
        return f"defines a git alias that runs a shell command (git config {key.text})" if shell else None
    if re.search(GIT_RISKY_KEY, key.text, re.IGNORECASE):
        return f"sets git configuration that can run commands (git config {key.text})"
    return None


def _min_operands(count: int, what: str) -> Callable[[Invocation], str | None]:
    def check(inv: Invocation) -> str | None:
        return f"{what} ({inv.program})" if len(inv.options.operands) >= count else None

    return check


def _fc(inv: Invocation) -> str | None:
    return None if "-l" in inv.options.flags else "runs commands from the history, through an editor (fc)"


_SPECIAL: dict[str, Callable[[Invocation], str | None]] = {
    "sqlite3": _sqlite,
    "fc": _fc,
    "gdb": _debugger,
    "lldb": _debugger,
    "make": _make,
    "gmake": _make,
    "go": _go,
    "git": _git,
    "ifconfig": _min_operands(2, "changes network configuration"),
    "iwconfig": _min_operands(2, "changes network configuration"),
    **dict.fromkeys(
        COMPRESSORS,
        _compressor,
    ),
    "sed": _sed,
    "gsed": _sed,
    "curl": _transfer,
    "wget": _transfer,
    "http": _transfer,
    "https": _transfer,
    "xh": _transfer,
    "aria2c": _transfer,
    "tar": _tar,
    "bsdtar": _tar,
    "unzip": _extract_target,
    "7z": _extract_target,
    "7za": _extract_target,
    "7zz": _extract_target,
    "dd": _dd,
    "tee": _tee,
    "find": _find,
    "ip": _ip,
    "date": _date,
    "java": _java,
    "hostname": _operands_change("changes the host name"),
    **JUDGES,
}


# --- the shortcut for plain commands ----------------------------------------------------------------


def known_plain(name: str, words: Sequence[str]) -> bool:
    """``True`` only if :func:`why_held` is ``None`` for ``name`` run with ``words``, decided from the words alone.

    For the commands of a sketched plain list (:mod:`capfence.policy.shell.sketch`): ``name`` is the canonical name of an
    ordinary program, ``words`` its argument texts (quotes removed), and there is no redirection, nothing dynamic and no code
    read from anywhere. ``False`` means "not this way": the full judgement of the analysis decides. A program whose entry
    reads, computes or prints whatever its arguments (``ls``, ``grep``, ``jq``) is known from its name; one with subcommands
    (``git status``, ``npm run build``) from the words that name them; a writer (``mkdir -p build``, ``cp -r a b``) from its
    operands; ``curl``/``wget`` given only options that neither send data nor name an output file. Property-tested: it never
    says ``True`` where :func:`why_held` gives a reason.
    """
    entry = _plain_entry(name)
    if entry is None:
        return _harmless_transfer(name, words)
    if name in _SPECIAL_SUBS and not _SPECIAL_SUBS[name].isdisjoint(words):
        return False  # judged by its special function
    if name in OPTION_SPECS:
        return _leading_subcommands(name, entry, words)
    if not entry.by_name:
        return _by_subcommands(name, entry, words)
    if entry.by_options:
        options = any(map(_OPTION_START, words))
        if (options or entry.held_subs or entry.runs_operands) and _OptionsJudge(name, words, options)(
            entry, 0
        ):
            return False  # (what the loop of _by_subcommands finds)
    # what the loop of _by_subcommands finds for such an entry, whatever the flags and operands
    return "--" not in words


def _by_subcommands(name: str, entry: Entry, words: Sequence[str]) -> bool:
    """:func:`known_plain` for an entry judged by more than its name: its held flags, the subcommands its operands name,
    the files it writes."""
    split = _plain_split(words)
    if split is None:
        return False
    flags, operands = split
    depth = 0
    # (the judge is made when an entry needs it: most never do)
    judged: _OptionsJudge | None = None
    options: bool | None = None
    while True:
        if (entry.hold and not flags.isdisjoint(entry.hold)) or entry.operand_rules:
            return False
        if entry.by_options:
            if options is None:
                options = any(map(_OPTION_START, words))
            if options or entry.held_subs or entry.runs_operands:
                if judged is None:
                    judged = _OptionsJudge(name, words, options)
                if judged(entry, depth):
                    return False
        if entry.subs is None:
            return not entry.writes or (depth == 0 and _plain_written(entry.writes, operands))
        if not entry.subs and not entry.bare:
            return False
        if depth >= len(operands):
            return entry.bare
        sub = entry.subs.get(operands[depth])
        if not isinstance(sub, Entry):
            return False
        entry, depth = sub, depth + 1


def _plain_split(words: Sequence[str]) -> tuple[set[str], list[str]] | None:
    """The flags and operands :func:`~capfence.policy.shell.options.parse_options` gives static words under the plain option
    spec (no option takes a value); ``None`` for a ``--`` (left to it)."""
    flags: set[str] = set()
    operands: list[str] = []
    for word in words:
        if not word.startswith("-") or word == "-":
            operands.append(word)
        elif word == "--":
            return None
        elif word.startswith("--"):
            flags.add(word.partition("=")[0])
        else:
            flags.add(word)
            for letter in word[1:]:
                flags.add("-" + letter)
    return flags, operands


def _plain_written(writes: str, operands: list[str]) -> bool:
    """No file a writer writes (``writes`` of its entry) is outside the working tree."""
    if writes == "operands":
        targets = operands
    elif writes == "after_first":
        targets = operands[1:]
    elif writes == "last":
        targets = operands[-1:]
        if any(REMOTE_PATH.match(target) for target in targets):
            return False
    else:
        return False
    return not any(outside(target) for target in targets)


class _OptionsJudge:
    """:func:`_options` of an entry for a plain command's words, as :func:`why_held` would judge them."""

    def __init__(self, name: str, words: Sequence[str], options: bool) -> None:
        self.name = name
        self.words = words
        self.inv: Invocation | None = None
        self.options = options
        """Some word may be an option: every option the catalogue names starts with ``-``, ``+`` or ``@``."""

    def __call__(self, entry: Entry, depth: int, always: bool = False) -> bool:
        if not always and not entry.by_options:
            return False
        if not self.options and not entry.held_subs and not entry.runs_operands:
            return False  # nothing _options looks at is among the words
        if self.inv is None:
            args = tuple(Arg.of(word) for word in self.words)
            self.inv = Invocation(
                self.name, args, options=parse_options(args, OPTION_SPECS.get(self.name, PLAIN))
            )
        inv = self.inv
        return (
            _options(inv, self.name, entry, _option_words(inv.args), inv.options.operands[depth:]) is not None
        )


_OPTION_START = re.compile(r"[-+@]").match


def _leading_subcommands(name: str, entry: Entry, words: Sequence[str]) -> bool:
    """For a program whose options may take values (``git -C repo``): known only from subcommands before any option."""
    depth = 0
    judged: _OptionsJudge | None = None
    options = any(map(_OPTION_START, words))
    while True:
        if entry.operand_rules:
            return False  # its operands need judging
        if (entry.hold or entry.by_options) and (options or entry.held_subs or entry.runs_operands):
            if judged is None:
                judged = _OptionsJudge(name, words, options)
            if judged(entry, depth, always=bool(entry.hold)):
                return False  # an option it holds for is among them
        if entry.subs is None:
            return not entry.writes
        if not entry.subs and not entry.bare:
            return False
        if depth >= len(words):
            return entry.bare  # every word so far was a subcommand, so there is no operand at this depth
        word = words[depth]
        if word.startswith("-"):
            return False  # an option before the subcommand may take the next word as its value
        sub = entry.subs.get(word)
        if not isinstance(sub, Entry):
            return False
        entry, depth = sub, depth + 1


_HARMLESS_TRANSFER = {
    "curl": (
        frozenset("sSLfIivk"),
        frozenset(
            {
                "--silent",
                "--show-error",
                "--location",
                "--fail",
                "--head",
                "--include",
                "--verbose",
                "--insecure",
                "--compressed",
                "--fail-with-body",
                "--http1.1",
                "--http2",
            }
        ),
    ),
    "wget": (
        frozenset("qvc"),
        frozenset({"--quiet", "--verbose", "--no-verbose", "--continue", "--spider", "--server-response"}),
    ),
}
"""Options of ``curl``/``wget`` that take no value, send nothing and write no file: all :func:`_transfer` looks at is absent."""


def _harmless_transfer(name: str, words: Sequence[str]) -> bool:
    spec = _HARMLESS_TRANSFER.get(name)
    if spec is None:
        return False
    letters, longs = spec
    for word in words:
        if word.startswith("--"):
            if word not in longs:
                return False
        elif word.startswith("-") and word != "-" and not letters.issuperset(word[1:]):
            return False
    entry = CATALOGUE.get(name)
    return entry is not None and not entry.hold and entry.subs is None and not entry.writes


@lru_cache(maxsize=1024)
def _plain_entry(name: str) -> Entry | None:
    """The catalogue entry :func:`why_held` judges ``name`` by whatever its arguments, or ``None`` (judged by more than its entry)."""
    if (
        name in _ARITHMETIC
        or name in ("source", ".")
        or name in PRIVILEGED_WRAPPERS
        or name in KNOWN_WRAPPERS
    ):
        return None
    if name in _SPECIAL and name not in _SPECIAL_SUBS:
        return None
    if family(name) in INTERPRETERS or name in ASSIGNERS:
        return None
    return CATALOGUE.get(name)


_SPECIAL_SUBS = {"git": frozenset({"config"}), "go": frozenset({"run"})}
"""Programs whose special judgement (:data:`_SPECIAL`) looks only at these subcommands: otherwise judged from plain words."""


def clear() -> None:
    """Forget which programs :func:`known_plain` judges by their entry (after changing the catalogue)."""
    _plain_entry.cache_clear()
