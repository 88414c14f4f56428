"""Interpreter one-liners that provably only compute and print: ``node -e``/``-p``, ``perl -e``/``-ne``/``-pe``,
``php -r``, ``ruby -e``.

Each checker reads the code in one pass, token by token, and accepts only what it fully understands: literals,
arithmetic, and names from an allow-list (``console.log``, ``process.versions``, ``PHP_VERSION``, ``RUBY_VERSION``; perl's
``print``, ``s///``, ``tr///``, matches, ``$_``, ``$.``, ``$1``, ``@F``). Anything else is held, with the reason it has
always had ("runs node code that is not checked"), so an unknown name, a computed property (``x["constructor"]``), a
call of what an expression gives (``f()()``), an interpolation that runs code (perl's ``"@{[ system 1 ]}"``, ``s//.../e``,
``(?{ })``; ruby's ``"#{...}"``; JavaScript's ``${...}``), a comment or an escape outside a string all hold the command.
Python's ``-c`` code is read by :func:`capfence.policy.shell.known.harmless_python` (its own parser).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from capfence.policy.shell.model import Arg
from capfence.policy.shell.secrets import why_secret
from capfence.policy.shell.workingtree import written

MAX_CODE: Final = 2000
"""Longer code is held at once (as ``python -c``'s)."""

_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER: Final = re.compile(r"[0-9]{1,6}(?:\.[0-9]{1,6})?(?![0-9A-Za-z_$])")
"""Plain decimal numbers below a million (``1..1e12``, ``2**1e9``: no exponents, so a range or a power stays small)."""
_OPERATORS: Final = re.compile(r"===|!==|==|!=|<=|>=|&&|\|\||\?\?|\.\.|[-+*%<>!?:,;()\[\].]")
"""Operators, longest first: no assignment (``=``, ``+=``), no arrow (``=>``), no ``{`` (blocks and objects)."""
_VALUE_END: Final = frozenset({"num", "str", "name", ")", "]", "data", "key"})
_NODE_MODULES: Final = frozenset({"os", "crypto", "path"})
"""Built-in modules ``node -e`` may require: only their members in :data:`_JS_MEMBERS` are reachable (``os.cpus``,
``crypto.randomBytes``, ``path.join``; not ``os.setPriority``, ``crypto.webcrypto``)."""
_REQUIRING: Final = frozenset({"require", "require(", "required", "required-json"})
"""The states between ``require`` and the ``)`` that closes its one string."""
_NOT_DATA: Final = frozenset({"constructor", "prototype"})
"""Members of a parsed JSON value that lead to code (``x.constructor.constructor`` is ``Function``); ``_x`` too."""


@dataclass(frozen=True)
class _Language:
    quotes: str
    interpolation: re.Pattern[str] | None
    """Inside double quotes (and backquotes for JavaScript): what would run code (``${``, ``#{``, ``$x``)."""
    names: frozenset[str]
    """Names allowed anywhere (globals, functions, constants, keywords)."""
    members: frozenset[str]
    """Names allowed after ``.``."""
    prefixes: frozenset[str] = frozenset()
    """Names that take what follows as their operand (``new Date``, ``echo PHP_VERSION``, ``puts RUBY_VERSION``)."""
    dot_is_member: bool = True
    """``.`` reads a member (PHP's ``.`` joins strings)."""
    forbidden: tuple[str, ...] = ("--", "++")
    """Operators held where code is expected, because the language reads what follows differently from this checker:
    JavaScript's ``<!--`` and ``-->`` start comments; PHP's ``?>`` leaves code for text (and ``<?php`` re-enters);
    ``<<<X``/``<<X`` start here-documents; ruby's ``?'`` is a character, ``%(`` a string, and ``x.split /'/`` a
    regular expression where a checker sees a division."""


_JS_NAMES: Final = frozenset(
    {
        *(
            "console",
            "process",
            "Date",
            "JSON",
            "Math",
            "String",
            "Number",
            "Boolean",
            "Object",
            "Array",
            "Intl",
        ),
        *("parseInt", "parseFloat", "isNaN", "isFinite", "encodeURIComponent", "decodeURIComponent"),
        *("true", "false", "null", "undefined", "NaN", "Infinity", "new", "typeof", "require"),
    }
)
_JS_MEMBERS: Final = frozenset(
    {
        # console, process (versions, platform; not env, binding, mainModule, dlopen, kill, getBuiltinModule)
        *(
            "log",
            "error",
            "info",
            "warn",
            "dir",
            "table",
            "version",
            "versions",
            "node",
            "v8",
            "uv",
            "openssl",
        ),
        *("modules", "platform", "arch", "cwd", "pid", "ppid", "uptime", "memoryUsage", "hrtime", "bigint"),
        *(
            "release",
            "argv",
            "execPath",
            "title",
            "features",
            "stdout",
            "stderr",
            "write",
            "exit",
            "exitCode",
        ),
        # Date, JSON, Math, String, Number, Array, Object.keys, Intl
        *("now", "toISOString", "toString", "toLocaleString", "toLocaleDateString", "toLocaleTimeString"),
        *("toUTCString", "toDateString", "toJSON", "getTime", "getFullYear", "getMonth", "getDate", "getDay"),
        *(
            "getHours",
            "getMinutes",
            "getSeconds",
            "getTimezoneOffset",
            "stringify",
            "parse",
            "keys",
            "length",
        ),
        *(
            "toUpperCase",
            "toLowerCase",
            "trim",
            "split",
            "join",
            "slice",
            "substring",
            "includes",
            "startsWith",
        ),
        *(
            "endsWith",
            "padStart",
            "padEnd",
            "indexOf",
            "toFixed",
            "floor",
            "ceil",
            "round",
            "random",
            "max",
            "min",
        ),
        *(
            "abs",
            "sqrt",
            "pow",
            "PI",
            "E",
            "MAX_SAFE_INTEGER",
            "isArray",
            "sort",
            "reverse",
            "concat",
            "name",
        ),
        *("DateTimeFormat", "resolvedOptions", "timeZone", "locale", "NumberFormat", "format"),
        # require("os")
        *("cpus", "hostname", "totalmem", "freemem", "homedir", "tmpdir", "type", "EOL", "loadavg"),
        *("availableParallelism", "endianness", "userInfo", "username"),
        # require("crypto"), require("path")
        *("randomBytes", "randomUUID", "randomInt", "createHash", "update", "digest", "getHashes"),
        *("basename", "dirname", "extname", "resolve", "relative", "normalize", "sep", "delimiter"),
    }
)
_JS: Final = _Language("'\"`", re.compile(r"\$\{"), _JS_NAMES, _JS_MEMBERS, frozenset({"new", "typeof"}))
_PHP: Final = _Language(
    "'\"",
    re.compile(r"\$"),
    frozenset(
        {
            *(
                "echo",
                "print",
                "PHP_VERSION",
                "PHP_OS",
                "PHP_OS_FAMILY",
                "PHP_EOL",
                "PHP_INT_MAX",
                "PHP_INT_SIZE",
            ),
            *(
                "PHP_MAJOR_VERSION",
                "PHP_MINOR_VERSION",
                "PHP_RELEASE_VERSION",
                "PHP_VERSION_ID",
                "PHP_BINARY",
            ),
            *(
                "phpversion",
                "php_uname",
                "php_sapi_name",
                "php_ini_loaded_file",
                "zend_version",
                "date",
                "time",
            ),
            *("microtime", "json_encode", "strtoupper", "strtolower", "strlen", "implode", "explode", "trim"),
            *(
                "sprintf",
                "printf",
                "var_dump",
                "print_r",
                "var_export",
                "max",
                "min",
                "abs",
                "round",
                "floor",
            ),
            *(
                "ceil",
                "intdiv",
                "md5",
                "sha1",
                "hash",
                "base64_encode",
                "base64_decode",
                "bin2hex",
                "random_bytes",
            ),
            *(
                "random_int",
                "uniqid",
                "extension_loaded",
                "get_loaded_extensions",
                "ini_get",
                "count",
                "range",
            ),
            *("array_sum", "true", "false", "null", "PHP_INT_MIN", "M_PI", "date_default_timezone_get"),
        }
    ),
    frozenset(),
    frozenset({"echo", "print"}),
    dot_is_member=False,
    forbidden=("?", "<<", "--", "++"),
)
"""PHP: no variables, no callbacks (a string names any function: ``array_map("system", ...)``), no ``$`` in strings."""
_RUBY: Final = _Language(
    "'\"",
    re.compile(r"#"),
    frozenset(
        {
            *(
                "puts",
                "p",
                "print",
                "pp",
                "RUBY_VERSION",
                "RUBY_PLATFORM",
                "RUBY_RELEASE_DATE",
                "RUBY_PATCHLEVEL",
            ),
            *("RUBY_ENGINE", "RUBY_ENGINE_VERSION", "RUBY_DESCRIPTION", "RUBY_COPYRIGHT", "Time", "Math"),
            *("true", "false", "nil"),
        }
    ),
    frozenset(
        {
            *(
                "now",
                "strftime",
                "to_s",
                "to_i",
                "to_f",
                "upcase",
                "downcase",
                "length",
                "size",
                "sum",
                "join",
            ),
            *("reverse", "sort", "sqrt", "round", "floor", "ceil", "abs", "utc", "iso8601", "year", "split"),
        }
    ),
    frozenset({"puts", "p", "print", "pp"}),
    forbidden=("?", "%", "/", "<<", "--", "++"),
)
"""Ruby: no blocks, no ``$``/``@`` variables, no ``%x()``, ``::``, backquotes or ``#{}`` (any ``#``: comments too)."""


def harmless_node(args: Sequence[Arg]) -> bool:
    """``node [-e|-p|--eval|--print] CODE [-- ARGS]``: code the JavaScript checker accepts, and no other option
    (``-r``/``--require``/``--import`` load modules; ``node -e x --require y`` still reads the option)."""
    code = _code_options(args, {"-e", "--eval", "-p", "--print", "-pe"}, frozenset({"--no-warnings"}))
    return code is not None and all(_harmless(text, _JS) for text in code)


def harmless_php(args: Sequence[Arg]) -> bool:
    """``php -r CODE``: ``echo``/``print`` of constants, literals and pure functions (``-d`` could set
    ``auto_prepend_file``; ``-B``/``-R``/``-E`` run code per input line, not checked)."""
    code = _code_options(args, {"-r"}, frozenset({"-n"}))
    return code is not None and all(_harmless(text, _PHP) for text in code)


def harmless_ruby(args: Sequence[Arg]) -> bool:
    """``ruby -e CODE``: ``puts``/``p`` of constants and literals (``-r`` loads a library, ``-n``/``-p`` loop)."""
    code = _code_options(args, {"-e"}, frozenset({"-w", "-W0"}))
    return code is not None and all(_harmless(text, _RUBY) for text in code)


_INPUT_OPTIONS: Final = {
    "node": frozenset({"--no-warnings"}),
    "perl": frozenset({"-w"}),
    "php": frozenset({"-n"}),
    "ruby": frozenset({"-w", "-W0"}),
}
"""Per interpreter, the options that may come with code read from standard input (as with its command-line code)."""
_PHP_OPEN: Final = re.compile(r"\s*<\?php\s")
_PHP_CLOSE: Final = re.compile(r"\?>\s*\Z")


def harmless_input(kind: str, args: Sequence[Arg], code: str) -> bool:
    """Code ``kind`` reads from its standard input (``node <<'EOF'``, ``perl - <<< CODE``): nothing on its command line
    but ``-`` and a harmless option, and code its checker accepts. PHP reads a file there: one ``<?php`` at the start
    (before it, text is printed), an optional ``?>`` at the end, and its code between."""
    kind = "node" if kind == "nodejs" else kind
    plain = _INPUT_OPTIONS.get(kind)
    if plain is None or len(code) > MAX_CODE:
        return False
    if not all(a.static and (a.text in plain or a.text in ("-", "--")) for a in args):
        return False
    if kind == "perl":
        return _harmless_perl(code)
    if kind == "php":
        opening = _PHP_OPEN.match(code)
        if opening is None:
            return False
        closing = _PHP_CLOSE.search(code, opening.end())
        code = code[opening.end() : closing.start() if closing else len(code)]
    return _harmless(code, _JS if kind == "node" else _PHP if kind == "php" else _RUBY)


def _code_options(args: Sequence[Arg], code_options: set[str], plain: frozenset[str]) -> list[str] | None:
    """The code of each code option, when every argument is static and a code option, its code, a harmless option,
    or comes after ``--``; else ``None``."""
    code: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.static:
            return None
        if arg.text == "--":
            break
        name, eq, value = arg.text.partition("=")
        if arg.text in plain:
            i += 1
            continue
        if name not in code_options:
            return None
        if eq and name.startswith("--"):
            code.append(value)
            i += 1
            continue
        if i + 1 >= len(args) or not args[i + 1].static:
            return None
        code.append(args[i + 1].text)
        i += 2
    return code or None


def _harmless(code: str, lang: _Language) -> bool:
    if len(code) > MAX_CODE:
        return False
    previous = ""  # the kind of the last token: "num", "str", "name", "prefix", an operator, "require"...
    i = 0
    while i < len(code):
        if code[i] in " \t\n":
            i += 1
            continue
        if previous in _REQUIRING and not _requires(code, i, previous):
            return False  # only require("os") and require("./x.json"): the name is one constant string
        token = _token(code, i, lang, previous)
        if token is None:
            return False
        i, previous = token
    return previous not in _REQUIRING and previous not in (".", ".data")


def _token(code: str, i: int, lang: _Language, previous: str) -> tuple[int, str] | None:
    """The token at ``i`` if it may follow ``previous``: where it ends and its kind."""
    c = code[i]
    if c in lang.quotes:
        return _string(code, i, lang, previous)
    if previous in (".", ".data") and lang.dot_is_member:
        return _member(code, i, lang, previous)
    found = _NAME.match(code, i) if c.isascii() and (c.isalpha() or c == "_") else None
    if found is not None:
        word = found.group()
        if word not in lang.names or previous in _VALUE_END:
            return None
        return found.end(), (
            "require" if word == "require" else "prefix" if word in lang.prefixes else "name"
        )
    number = _NUMBER.match(code, i)
    if number is not None:
        return None if previous in _VALUE_END or previous == "." else (number.end(), "num")
    if code.startswith(lang.forbidden, i):
        return None
    if c == "/" and previous in _VALUE_END and code[i + 1 : i + 2] not in ("/", "*"):
        return i + 1, "/"  # division (a regular expression literal or a comment is held)
    op = _OPERATORS.match(code, i)
    if op is None or not _operator_fits(op.group(), previous):
        return None
    if previous == "require":
        return op.end(), "require("
    if op.group() == ")" and previous in ("required", "required-json"):
        # (the parsed JSON file, whose members are its keys: require("./package.json").version; os, its functions)
        return op.end(), ("data" if previous == "required-json" else "]")
    if op.group() == "." and previous in ("data", "key"):
        return op.end(), ".data"
    return op.end(), op.group()


def _string(code: str, i: int, lang: _Language, previous: str) -> tuple[int, str] | None:
    """A string literal that interpolates nothing; the name ``require`` reads when it follows ``require(``."""
    end = _string_end(code, i)
    if end < 0 or previous in _VALUE_END:
        return None
    if code[i] != "'" and lang.interpolation is not None and lang.interpolation.search(code, i + 1, end):
        return None
    if previous == "require(":
        return end + 1, ("required" if code[i + 1 : end] in _NODE_MODULES else "required-json")
    return end + 1, "str"


def _member(code: str, i: int, lang: _Language, previous: str) -> tuple[int, str] | None:
    """The name after ``.``: one of the language's members, or a key of parsed JSON data."""
    found = _NAME.match(code, i)
    if found is None:
        return None
    word = found.group()
    if previous == ".data":
        return None if word.startswith("_") or word in _NOT_DATA else (found.end(), "key")
    return (found.end(), "name") if word in lang.members else None


def _requires(code: str, i: int, previous: str) -> bool:
    """The next token after ``require``, ``require(`` and its string: ``(``, the name of what it reads, ``)``."""
    if previous == "require":
        return code[i] == "("
    if previous in ("required", "required-json"):
        return code[i] == ")"
    end = _string_end(code, i) if code[i] in "'\"" else -1
    return end > 0 and _required_file(code[i + 1 : end])


def _operator_fits(op: str, previous: str) -> bool:
    """``(`` only calls a named function (not what an expression gives: ``f()()``, ``x[0]()``) or groups; ``[`` only
    starts an array (``x["constructor"]`` looks a name up by a string); ``.`` follows a value."""
    if op == "(":
        return previous in ("name", "key", "require", "prefix") or previous not in _VALUE_END
    if op == "[":
        return previous not in _VALUE_END
    if op == ".":
        return previous in ("name", "str", ")", "]", "data", "key")
    return True


def _string_end(code: str, start: int) -> int:
    """Index of the quote closing the string opened at ``start`` (backslash escapes skipped), or -1."""
    quote = code[start]
    i = start + 1
    while i < len(code):
        c = code[i]
        if c == "\\":
            i += 2
            continue
        if c == quote:
            return i
        i += 1
    return -1


_PATH_CHARS: Final = re.compile(r"[\w./-]*")


def _required_file(path: str) -> bool:
    """``require("os")`` (read-only members only, by the member list) or a relative ``.json`` file, which is read and
    parsed, not run (a file the agent wrote next to it, ``x.json.js``, is the same limit as python's working directory)."""
    return path in _NODE_MODULES or (
        path.startswith(("./", "../"))
        and path.endswith(".json")
        and _PATH_CHARS.fullmatch(path) is not None
        and why_secret("cat", [path]) is None
    )


# --- perl ---------------------------------------------------------------------------------------------------------


_PERL_WORDS: Final = frozenset(
    {
        *(
            "print",
            "say",
            "if",
            "unless",
            "and",
            "or",
            "not",
            "for",
            "foreach",
            "next",
            "last",
            "chomp",
            "chop",
        ),
        *(
            "lc",
            "uc",
            "lcfirst",
            "ucfirst",
            "length",
            "split",
            "join",
            "reverse",
            "eq",
            "ne",
            "lt",
            "gt",
            "le",
        ),
        *("ge", "abs", "int", "sprintf", "printf", "defined", "scalar"),
    }
)
"""Perl built-ins that only compute and print (no ``open``, ``system``, ``exec``, ``eval``, ``require``, ``do``, ``sub``,
``unlink``, ``kill``, ``fork``; no file handle: ``print STDERR`` names one)."""
_PERL_VARIABLE: Final = re.compile(r"\$(?:[1-9][0-9]?|[_.&])(?![\w\[{:])|\$F(?=\[)|@F(?![\w\[{:])")
"""``$_``, ``$.``, ``$&``, ``$1``..``$99``, ``$F[...]`` and ``@F`` (not ``$0``: assigning it renames the process)."""
_PERL_OPERATORS: Final = re.compile(r"=~|!~|==|!=|<=|>=|&&|\|\||\.\.|\.=|[-+*%<>!?:,;()\[\]{}.=/]")
_PERL_INTERPOLATES: Final = re.compile(
    r"[$@](?![1-9][0-9]?(?![\w\[{]|->)|[_.&](?![\w\[{]|->)|F\[-?[0-9]{1,3}\](?![\[{]|->)|[)|]|$)"
)
"""In a double-quoted string, a match or a replacement: a ``$`` or ``@`` other than an anchor, ``$1``, ``$_``, ``$F[0]``
(``"@{[ system 1 ]}"``, ``"${\\ ...}"``, ``"$x[system 1]"`` and ``"$h{...}"`` run code)."""
_ESCAPES: Final = re.compile(r"\\.", re.DOTALL)
"""A backslash and the character it escapes (``\\$`` is a dollar, ``\\\\@{[...]}`` still interpolates)."""
_REPEAT: Final = re.compile(r"[ \t]*x[ \t]*[0-9]{1,3}(?![\w.])")
"""A string literal repeated at most 999 times (``print "-" x 40``); ``x`` on anything else (``("x" x 999) x 999``,
``"x" x 1e9``) is held, as it could fill memory."""
_PERL_CODE_IN_REGEX: Final = re.compile(r"\(\?\??\{|\(\*")
_QUOTE_LIKE: Final = {"s": 2, "tr": 2, "y": 2, "m": 1, "qr": 1, "q": 1, "qq": 1, "qw": 1}
_QUOTE_FLAGS: Final = {
    "s": "gimsxr",
    "tr": "cdsr",
    "y": "cdsr",
    "m": "gimsx",
    "qr": "imsx",
    "q": "",
    "qq": "",
    "qw": "",
}
_BRACKETS: Final = {"{": "}", "(": ")", "[": "]", "<": ">"}
_DELIMITERS: Final = frozenset("/|!#,:~{([<'\"")


def harmless_perl(args: Sequence[Arg]) -> str | bool:
    """``perl [-nplaw0 -F... -i...] -e CODE [FILE...]``: code the perl checker accepts, files read safely; ``-i``
    edits the files, judged as ``sed -i``'s (a reason string when it would write outside the working tree)."""
    parsed = _perl_options(args)
    if parsed is None:
        return False
    code, loops, suffix, operands = parsed
    if not all(_harmless_perl(text) for text in code):
        return False
    if loops and not all(_safe_input(arg) for arg in operands):
        return False
    if suffix is None:
        return True
    if "/" in suffix or "*" in suffix:
        return f"perl -i keeps backups named by `{suffix}`, which can put them outside the working tree"
    return written(operands, need_static=True, verb="edits", replaced=True) or True


_PERL_FLAGS: Final = frozenset("nplawWXtT")
"""Switches that take no value: loops (``-n``, ``-p``, ``-a``), line endings (``-l``), warnings, taint checks."""
_SPLIT_PATTERN: Final = re.compile(r"[\w,;:|.\\/ \t-]*")
"""``-F`` patterns that are plain text (``-F:``, ``-F'\t'``, ``-F/,/``): quoted ones interpolate (``-F"@{[...]}"``)."""
_SEPARATOR: Final = re.compile(r"[0-7]*|x[0-9a-fA-F]*")
"""The octal or hexadecimal value of ``-0`` and ``-l`` (``-0777``, ``-l012``)."""


def _perl_options(args: Sequence[Arg]) -> tuple[list[str], bool, str | None, Sequence[Arg]] | None:
    """The code, whether it loops over input (``-n``/``-p``), the ``-i`` suffix, and the operands; ``None`` for an
    option it does not know (``-M``/``-m`` load modules, ``-I`` adds a path, ``-x``/``-S`` read a script, ``-d`` debugs,
    ``-s`` sets variables from the arguments)."""
    code: list[str] = []
    loops = False
    suffix: str | None = None
    i = 0
    while i < len(args) and args[i].static and args[i].text.startswith("-") and args[i].text != "-":
        text = args[i].text
        i += 1
        if text == "--":
            break
        j = 1
        while j < len(text):
            letter = text[j]
            if letter in "eE":
                rest = text[j + 1 :]
                if not rest:
                    if i >= len(args) or not args[i].static:
                        return None
                    rest = args[i].text
                    i += 1
                code.append(rest)
                break
            if letter == "i":
                suffix = text[j + 1 :]
                break
            if letter == "F":
                if _SPLIT_PATTERN.fullmatch(text[j + 1 :]) is None:
                    return None
                loops = True
                break
            if letter in "0l":
                j += 1 + _SEPARATOR.match(text, j + 1).end() - (j + 1)  # type: ignore[union-attr]
                continue
            if letter not in _PERL_FLAGS:
                return None
            loops = loops or letter in "npa"
            j += 1
    if not code or not all(arg.static for arg in args[i:]):
        return None
    return code, loops, suffix, args[i:]


_SAFE_INPUT: Final = re.compile(r"[\w./][\w./@%+,=~*?\[\]-]*")


def _safe_input(arg: Arg) -> bool:
    """A file ``-n``/``-p`` read through perl's two-argument open, which runs ``cmd|`` and ``|cmd`` as commands: a name
    that starts plainly and has no ``|``, ``<``, ``>``, ``&`` or space; not a device (``/dev/zero`` never ends)."""
    text = arg.text
    return text == "-" or (_SAFE_INPUT.fullmatch(text) is not None and not special_file(text))


_NOT_FILES: Final = ("/dev/", "/proc/", "/sys/")


def special_file(path: str) -> bool:
    """A device or kernel file (``/dev/zero`` never ends; ``/proc/self/environ`` holds secrets), by an absolute path or
    one that climbs out with ``..`` (``../../dev/zero``)."""
    if path.startswith(_NOT_FILES):
        return True
    parts = path.split("/")
    return ".." in parts and any(part in ("dev", "proc", "sys") for part in parts)


def _harmless_perl(code: str) -> bool:
    if len(code) > MAX_CODE:
        return False
    previous = ""
    i = 0
    n = len(code)
    while i < n:
        c = code[i]
        if c in " \t\n":
            i += 1
            continue
        variable = _PERL_VARIABLE.match(code, i) if c in "$@" else None
        if variable is not None:
            i, previous = variable.end(), "value"
            continue
        word = _NAME.match(code, i) if c.isascii() and (c.isalpha() or c == "_") else None
        if (
            word is not None
            and word.group() in _QUOTE_LIKE
            and code[word.end() : word.end() + 1] in _DELIMITERS
        ):
            i = _quote_like(code, word.group(), word.end())
            if i < 0:
                return False
            previous = "value"
            continue
        if word is not None:
            if word.group() not in _PERL_WORDS:
                return False
            i, previous = word.end(), "word"
            continue
        if c in "'\"" or (c == "/" and previous != "value"):
            i = _quote_like(code, "q" if c == "'" else "qq" if c == '"' else "m", i)
            if i < 0:
                return False
            repeated = _REPEAT.match(code, i) if c != "/" else None  # ("-" x 40)
            i, previous = (repeated.end() if repeated else i), "value"
            continue
        number = _NUMBER.match(code, i)
        if number is not None:
            i, previous = number.end(), "value"
            continue
        op = _PERL_OPERATORS.match(code, i)
        # `<` after no value reads a file or a glob (`<STDIN>`, `<*>`); `*`, `%` after none are a glob, a hash;
        # `=` at the start of a line starts documentation (POD), which perl skips up to `=cut`
        if (
            op is None
            or (op.group() in ("<", "*", "%") and previous != "value")
            or (c == "=" and _line_start(code, i))
        ):
            return False
        i, previous = op.end(), ("value" if op.group() in (")", "]") else op.group())
    return True


def _line_start(code: str, i: int) -> bool:
    return i == 0 or code[i - 1] in "\n\r"


def _quote_like(code: str, kind: str, start: int) -> int:
    """Parse ``s{a}{b}g``, ``tr/a/b/``, ``m!x!i``, ``"..."``, ``'...'`` from its delimiter at ``start``; the index after
    it, or -1 when its flags run code (``e``), a part interpolates code, or a pattern embeds code (``(?{ })``)."""
    opening = code[start]
    closing = _BRACKETS.get(opening, opening)
    parts: list[str] = []
    i = start
    for _ in range(_QUOTE_LIKE[kind]):
        if i >= len(code) or code[i] != opening:
            return -1  # (the second part of s{a}{b} opens with the same bracket, right after the first)
        end = _closing(code, i + 1, opening, closing)
        if end < 0:
            return -1
        parts.append(code[i + 1 : end])
        i = end + 1 if opening in _BRACKETS or len(parts) == _QUOTE_LIKE[kind] else end
    flags = _NAME.match(code, i) if _QUOTE_FLAGS[kind] else None  # (strings take none: "-"x40 repeats)
    flag_text = flags.group() if flags is not None else ""
    if any(f not in _QUOTE_FLAGS[kind] for f in flag_text):
        return -1
    interpolates = opening != "'" and kind not in ("q", "qw", "tr", "y")
    if interpolates and any(_PERL_INTERPOLATES.search(_ESCAPES.sub("", part)) for part in parts):
        return -1
    if kind in ("s", "m", "qr") and _PERL_CODE_IN_REGEX.search(parts[0]):
        return -1
    return i + len(flag_text)


def _closing(code: str, i: int, opening: str, closing: str) -> int:
    depth = 0
    while i < len(code):
        c = code[i]
        if c == "\\":
            i += 2
            continue
        if c == closing and depth == 0:
            return i
        if opening != closing:
            depth += (c == opening) - (c == closing)
        i += 1
    return -1
