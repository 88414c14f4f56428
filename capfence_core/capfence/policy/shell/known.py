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
    KNOWN_WRAPPERS,
    PRIVILEGED_WRAPPERS,
    SAFE_INTERPRETER_OPTIONS,
    SAFE_PYTHON_MODULES,
    Entry,
)
from capfence.policy.shell.catalogue import (
    INSTALLS as _INSTALLS_WHY,
)
from capfence.policy.shell.invoke import read_code
from capfence.policy.shell.judges import JUDGES
from capfence.policy.shell.model import Arg, Invocation, Kind, Options
from capfence.policy.shell.programs import INTERPRETERS, OPTION_SPECS, family
from capfence.policy.shell.workingtree import REMOTE_PATH, contained, moved, outside, written

_UPLOADS = frozenset({"-T", "--upload-file", "-d", "--data", "--data-binary", "--data-raw", "--data-urlencode", "-F", "--form",
                      "--post-data", "--post-file", "--body-data", "--body-file", "--method"})
_WRITE_METHODS = frozenset({"POST", "PUT", "DELETE", "PATCH"})
_AWK_RISK = re.compile(r"\bsystem\s*\(|\|\s*\"|\"\s*\|\s*getline|\|&|\bclose\s*\(")
_SED_RISK = re.compile(r"(?:^|[;{}\n])\s*[\d,$/!^\\.*+?]*\s*[ewWrR](?:\s|$)|/[gpiImM\d]*e[gpiImM\d]*\s*(?:$|[;}])")
_INLINE_INPUT = frozenset({"<<", "<<-", "<<<"})
"""Here-documents and here-strings: standard input whose text is in the command (and was analyzed)."""
_ARITHMETIC = frozenset({"let", "declare", "typeset", "local", "readonly", "export", "printf", "read", "[[", "test", "[", "unset",
                         "mapfile", "readarray", "getopts", "wait", "shift", "return", "exit", "ulimit"})
"""Builtins that evaluate some arguments as arithmetic or array subscripts, where ``a[$(cmd)]`` runs ``cmd``."""
_EXPANDS_LATER = re.compile(r"\$\(|`|\$\{[^}]*\$|\[[^\]]*\$")
_IP_OBJECTS = frozenset({"a", "addr", "address", "r", "ro", "route", "l", "link", "n", "neigh", "neighbor", "neighbour", "maddr",
                         "rule", "monitor", "-br", "-brief"})
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


_PIP_INSTALLS = frozenset(f"{_INSTALLS_WHY} ({name} install)" for name in ("pip", "pip3"))


def _program(inv: Invocation) -> str | None:
    name = inv.program or ""
    if name in _ARITHMETIC and any(arg.static and _EXPANDS_LATER.search(arg.text) for arg in inv.args):
        return f"evaluates text as arithmetic or a subscript, which can run commands ({name})"
    if name in ("source", "."):
        return _source(inv)
    if name in PRIVILEGED_WRAPPERS:
        return f"{PRIVILEGED_WRAPPERS[name]} ({name})"
    if name in KNOWN_WRAPPERS:
        return None
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
    flag = _given(entry.hold, options)
    if flag is not None:
        return f"{entry.hold[flag]} ({name} {flag})"
    operands = options.operands
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


_SYNTAX_CHECK = {"sh": "n", "bash": "n", "dash": "n", "zsh": "n", "ksh": "n", "mksh": "n", "ruby": "c", "php": "l", "node": "c"}
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
        return None if all(c is not None and c.static and harmless_python(c.text) for c in code) else \
            "runs python code that is not checked"
    return "runs a python script whose code is not checked" if args else "starts python"


def _python_module(inv: Invocation, module: str, rest: Sequence[Arg]) -> str | None:
    if module in ("pip", "pip3"):
        sub = next((a for a in rest if not a.text.startswith("-")), None)
        entry = CATALOGUE["pip"].subs or {}
        found = entry.get(sub.text) if sub is not None and sub.static else None
        if sub is None or isinstance(found, Entry):
            return None
        return f"{found} (pip {sub.text})" if isinstance(found, str) else "`python -m pip` command not in the catalogue"
    if module in SAFE_PYTHON_MODULES:
        return None
    if module == "http.server":
        return "serves files over the network (python -m http.server)"
    return f"runs python module `{module}`, which is not in the catalogue"


_PY_CALLS = frozenset({"print", "len", "str", "int", "float", "repr", "sorted", "sum", "min", "max", "range", "list", "dict", "set",
                       "tuple", "abs", "round", "hex", "oct", "bin", "bool", "format", "enumerate", "zip", "ord", "chr", "type",
                       "isinstance", "any", "all", "reversed", "divmod", "pow", "hash"})
_PY_MODULES = frozenset({"sys", "platform", "json", "math", "datetime", "time", "re", "string", "random", "uuid", "hashlib",
                         "textwrap", "statistics", "decimal", "fractions", "itertools", "functools", "collections", "struct",
                         "calendar", "locale", "keyword", "this", "sysconfig", "zoneinfo"})
_PY_NODES = (ast.Module, ast.Expr, ast.Constant, ast.Name, ast.Load, ast.Store, ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare,
             ast.JoinedStr, ast.FormattedValue, ast.Subscript, ast.Slice, ast.List, ast.Tuple, ast.Dict, ast.Set, ast.Assign,
             ast.operator, ast.unaryop, ast.boolop, ast.cmpop, ast.keyword, ast.Attribute, ast.Call, ast.Import, ast.ImportFrom,
             ast.alias, ast.IfExp, ast.ListComp, ast.comprehension, ast.GeneratorExp, ast.Starred)


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
    return name.startswith("_") or name in ("exec", "eval", "compile", "open", "getattr", "setattr", "globals", "locals", "vars",
                                            "system", "popen", "input", "breakpoint", "delattr", "memoryview")


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


def _awk(inv: Invocation, code: list[Arg | None], script: Arg | None) -> str | None:
    if script is not None:
        return "runs an awk script whose code is not checked"
    for arg in code:
        if arg is None or not arg.static:
            return "runs awk code built at run time"
        if _AWK_RISK.search(arg.text):
            return "awk code runs commands"
    return None


# --- programs whose options decide ------------------------------------------------------------------


def _sed(inv: Invocation) -> str | None:
    operands = inv.options.operands
    flags = inv.options.flags
    scripted = bool(flags & {"-e", "--expression", "-f", "--file"})
    scripts = [] if scripted else list(operands[:1])
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
        if option in ("-o", "--output", "-O", "--output-document", "--output-dir", "-P", "--directory-prefix") and value.static \
                and value.text != "-" and outside(value.text):
            return f"writes {value.text}, outside the working tree"
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
    if inv.program in ("tar", "bsdtar") and any(a.static and a.text in ("-P", "--absolute-names") for a in args):
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
    if script is not None and script.static and script.text.endswith("/bin/activate") and not outside(script.text):
        return None  # a virtual environment's activation script
    return f"runs a shell script whose code is not checked ({inv.program} {script.text if script else ''})".replace(" )", ")")


def _date(inv: Invocation) -> str | None:
    return "sets the clock (date -s)" if inv.options.flags & {"-s", "--set"} else None


def _java(inv: Invocation) -> str | None:
    return None if _only_info(inv.args) else "runs a Java program whose code is not checked"


_SPECIAL: dict[str, Callable[[Invocation], str | None]] = {
    "sed": _sed, "gsed": _sed, "curl": _transfer, "wget": _transfer, "http": _transfer, "https": _transfer, "xh": _transfer,
    "aria2c": _transfer, "tar": _extract_target, "bsdtar": _extract_target, "unzip": _extract_target, "7z": _extract_target,
    "7za": _extract_target, "7zz": _extract_target, "dd": _dd, "tee": _tee, "find": _find, "ip": _ip, "date": _date, "java": _java,
    "hostname": _operands_change("changes the host name"), **JUDGES,
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
    if name in OPTION_SPECS:
        return _leading_subcommands(entry, words)
    if _by_name(entry):
        return "--" not in words  # what the loop below finds for such an entry, whatever the flags and operands
    split = _plain_split(words)
    if split is None:
        return False
    flags, operands = split
    depth = 0
    while True:
        if (entry.hold and not flags.isdisjoint(entry.hold)) or _operand_rules(entry):
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


def _by_name(entry: Entry) -> bool:
    """The entry holds no flag, has no subcommands, writes nothing and judges no operand (``ls``, ``grep``, ``jq``): known
    safe whatever its words (the common case of :func:`known_plain`, decided without splitting them)."""
    return not entry.hold and entry.subs is None and not entry.writes and not _operand_rules(entry)


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


def _operand_rules(entry: Entry) -> bool:
    """The entry judges its operands beyond where they are written (left to :func:`why_held`)."""
    return bool(entry.contained or entry.hold_operands or entry.moves)


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


def _leading_subcommands(entry: Entry, words: Sequence[str]) -> bool:
    """For a program whose options may take values (``git -C repo``): known only from subcommands before any option."""
    depth = 0
    while True:
        if entry.hold and any(word.startswith("-") for word in words):
            return False  # an option it holds for may be among them
        if _operand_rules(entry):
            return False
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
    "curl": (frozenset("sSLfIivk"), frozenset({"--silent", "--show-error", "--location", "--fail", "--head", "--include", "--verbose",
                                                "--insecure", "--compressed", "--fail-with-body", "--http1.1", "--http2"})),
    "wget": (frozenset("qvc"), frozenset({"--quiet", "--verbose", "--no-verbose", "--continue", "--spider", "--server-response"})),
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
    if name in _ARITHMETIC or name in ("source", ".") or name in PRIVILEGED_WRAPPERS or name in KNOWN_WRAPPERS or name in _SPECIAL:
        return None
    if family(name) in INTERPRETERS:
        return None
    return CATALOGUE.get(name)


def clear() -> None:
    """Forget which programs :func:`known_plain` judges by their entry (after changing the catalogue)."""
    _plain_entry.cache_clear()
