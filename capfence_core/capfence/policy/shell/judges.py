"""Programs whose safety depends on more than their catalogue entry: a mode, a verb deep in the words, a capture source.

Each judge takes an :class:`~capfence.policy.shell.model.Invocation` and
returns why it should be held, or ``None`` to let the program's catalogue
entry (:mod:`capfence.policy.shell.catalogue`) decide the rest.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from capfence.policy.shell.catalogue import (
    PID_SOURCES,
    PSQL_META,
    QUERY_MODES,
    REDIS_FLAGS,
    REDIS_MODES,
    REDIS_READ_PAIRS,
    REDIS_READS,
    REDIS_VALUES,
    SIGNAL_SELECTORS,
    SIGNAL_ZERO,
    SQL_CHANGES,
    SQL_CLIENTS,
    SQL_FUNCTIONS,
    SQL_PAREN_WORDS,
    SQL_READS,
)
from capfence.policy.shell.model import Arg, Invocation

Judge = Callable[[Invocation], "str | None"]

_NUMERIC_MODE = re.compile(r"0?[0-7]{0,3}[2367]")
_SYMBOLIC_MODE = re.compile(r"[ugoa]*[-+=][rwxXst]*(?:,[ugoa]*[-+=][rwxXst]*)*")
_WORLD_WRITE = re.compile(r"(?:^|,)[ug]*+[ao][ugoa]*+[+=][rXxst]*+w")
"""``[ugo]*[ao][ugoa]*`` written so that it cannot backtrack (that took 23 s on 60 KB of ``o``): the users up to the
first ``a`` or ``o``, that one, the rest."""


def chmod_mode(inv: Invocation) -> str | None:
    """``chmod 777``, ``666``, ``2777``, ``o+w``, ``a+rwX``, ``u=rwx,g=rwx,o=rwx``: every user may write the files."""
    operands = inv.options.operands
    if inv.program != "chmod" or not operands or not operands[0].static:
        return None
    mode = operands[0].text
    if _NUMERIC_MODE.fullmatch(mode) or (_SYMBOLIC_MODE.fullmatch(mode) and _WORLD_WRITE.search(mode)):
        return f"makes files writable by every user (chmod {mode})"
    if _SET_ID_NUMERIC.fullmatch(mode) or (_SYMBOLIC_MODE.fullmatch(mode) and _SET_ID.search(mode)):
        return f"sets the set-user-ID or set-group-ID bit: the file then runs with its owner's rights (chmod {mode})"
    if inv.options.flags & {"-R", "--recursive"}:
        # (a mode may also be spelled like an option: chmod -R -x lib)
        for given in (mode, *(a.text for a in inv.args if a.static and _OPTION_MODE.fullmatch(a.text))):
            if _owner_loses(given):
                return (
                    f"takes the owner's read, write or search permission from a whole tree (chmod -R {given})"
                )
    return None


_OPTION_MODE = re.compile(r"-[rwxX]+")
MODE_AS_OPTION = re.compile(r"-[rwxXst]+")
"""A chmod mode spelled like an option (``chmod -x FILE``): every operand is then a file."""


def _owner_loses(mode: str) -> bool:
    """A mode that leaves the owner without read, write or search permission (``000``, ``644`` on directories, ``u-w``,
    ``a=r``, ``-x``): applied to a tree, it locks the owner out of it."""
    if mode.isdigit():
        return len(mode) <= 4 and int(mode.zfill(3)[-3]) != 7
    if not _SYMBOLIC_MODE.fullmatch(mode):
        return False
    for clause in mode.split(","):
        who, op, perms = clause.partition("-") if "-" in clause else clause.partition("=")
        if not op or (who and "u" not in who and "a" not in who):
            continue
        if (op == "-" and set(perms) & set("rwxX")) or (op == "=" and not {"r", "w"} <= set(perms)):
            return True
        if op == "=" and not set(perms) & set("xX"):
            return True
    return False


_SET_ID_NUMERIC = re.compile(r"0?[2-7][0-7]{3}")
"""A four-digit mode whose first digit sets the set-user-ID (4) or set-group-ID (2) bit (``4755``, ``2755``, ``6755``)."""
_SET_ID = re.compile(r"[+=][rwxXt]*+s")
"""A symbolic mode adding ``s`` (``+s``, ``u+s``, ``g=rxs``); searched, and it cannot backtrack."""


_CAPTURE_INFO = {
    "tcpdump": frozenset({"-r", "--read-file", "-D", "--list-interfaces", "--version", "-h", "--help"}),
    "tshark": frozenset({"-r", "--read-file", "-D", "--list-interfaces", "--version", "-v", "-h", "--help"}),
}
"""Options after which they capture nothing: reading a saved capture, listing interfaces, printing their version."""


def capture(inv: Invocation) -> str | None:
    """``tcpdump``/``tshark`` reading a saved capture (``-r``) or listing interfaces is a read; anything else listens on
    the network. (What they write, ``-w FILE``, and run, ``-z CMD``, their catalogue entries judge.)"""
    if inv.options.flags & _CAPTURE_INFO[inv.program or "tcpdump"]:
        return None
    return f"captures network traffic ({inv.program})"


def query_mode(inv: Invocation) -> str | None:
    """``dpkg -l``, ``rpm -qa``: every option one of the program's reading modes or their modifiers (:data:`QUERY_MODES`)."""
    name = inv.program or ""
    modes = QUERY_MODES[name]
    options = inv.options
    if options.maybe_option:
        return f"its options are known only at run time ({name})"
    # (a cluster, -qa, is in the flags with each of its letters: the letters are judged)
    given = {flag for flag in options.flags if flag.startswith("--") or len(flag) == 2}
    if given.isdisjoint(modes.reads):
        return f"{modes.why} ({name})"
    other = sorted(given - modes.reads - modes.modifiers)
    return f"{modes.why} ({name} {other[0]})" if other else None


def signal(inv: Invocation) -> str | None:
    """``kill``/``pkill``/``killall`` sending signal 0 (it sends nothing: are the processes there?), and ``kill -l``.

    Signal 0 must be the first option and the only signal: a later option could choose another (``kill -0 -s 9 PID``:
    the last wins in bash, and ``/bin/kill`` reads options after the process ids). A target known only at run time is
    the output of a program that prints a file or process ids (:data:`PID_SOURCES`), or a variable."""
    name = inv.program or ""
    args = inv.args
    if name == "kill" and args and args[0].static and args[0].text in ("-l", "-L", "--list", "--table"):
        return None if all(arg.static for arg in args) else f"stops processes ({name})"
    form = next(
        (f for f in SIGNAL_ZERO[name] if tuple(a.text if a.static else "" for a in args[: len(f)]) == f), None
    )
    if form is None:
        return f"stops processes ({name})"
    rest = args[len(form) :]
    if rest and rest[0].static and rest[0].text == "--":
        rest = rest[1:]
    if not rest:
        return f"stops processes ({name})"  # (kill -0 alone fails; pkill -0 alone is an error too)
    held = next((arg for arg in rest if not _probed(arg, name)), None)
    return None if held is None else f"stops processes ({name})"


def _probed(arg: Arg, name: str) -> bool:
    """A word after signal 0 that cannot choose another signal."""
    if not arg.static:
        return name == "kill" and arg.sources <= PID_SOURCES and not arg.prefix.startswith("-")
    if not arg.text.startswith("-"):
        return True
    if name == "kill":
        return False  # (-9 after a process id is a process group in bash, a signal for /bin/kill)
    text = arg.text.partition("=")[0]
    return text in SIGNAL_SELECTORS or (
        not text.startswith("--") and all(f"-{letter}" in SIGNAL_SELECTORS for letter in text[1:])
    )


def redis(inv: Invocation) -> str | None:
    """``redis-cli`` given a command that only reads (:data:`REDIS_READS`), or a mode that reads (``--scan``), with options
    that only say where and how (:data:`REDIS_FLAGS`, :data:`REDIS_VALUES`); anything else runs database statements."""
    args = inv.args
    mode = False
    given: set[str] = set()
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.static:
            return "runs database statements known only at run time (redis-cli)"
        if not arg.text.startswith("-"):
            return _redis_sends(given) or _redis_command(args[i:])
        option = arg.text.partition("=")[0]
        if option in REDIS_MODES:
            mode = True
        elif option in REDIS_VALUES:
            given.add(option)
            value = args[i + 1] if "=" not in arg.text and i + 1 < len(args) else arg
            if not value.static and option in _REDIS_CREDENTIALS:
                given.add("run-time credential")
            i += 0 if "=" in arg.text else 1  # (the value, however it is known)
        elif option not in REDIS_FLAGS:
            return f"runs database statements (redis-cli {option})"
        i += 1
    return _redis_sends(given) or (None if mode else "reads database statements from its input (redis-cli)")


_REDIS_CREDENTIALS = frozenset({"-a", "--pass", "--user"})
_REDIS_SERVERS = frozenset({"-h", "-u", "-s", "--sni"})


def _redis_sends(given: set[str]) -> str | None:
    """A password known only at run time (``-a "$REDIS_PASSWORD"``), sent to a server the command names: it may be anyone's."""
    if "run-time credential" in given and not given.isdisjoint(_REDIS_SERVERS):
        return "sends a password known only at run time to a server named in the command (redis-cli)"
    return None


def _redis_command(words: tuple[Arg, ...]) -> str | None:
    command = words[0].text.lower()
    if command in REDIS_READS:
        return None
    if len(words) > 1 and words[1].static and f"{command} {words[1].text.lower()}" in REDIS_READ_PAIRS:
        return None
    return f"runs database statements (redis-cli {command})"


def sql_client(inv: Invocation) -> str | None:
    """``psql -c SQL``, ``mysql -e SQL``: only the options of :data:`SQL_CLIENTS` and statements that read; without
    statements in an option it reads them from its input (held), unless it only prints (``psql -l``, ``--version``)."""
    name = inv.program or ""
    if any(not setting.static for setting in inv.env):
        return f"runs with settings known only at run time, such as a password ({name})"
    statements, printed, reason = _client_words(name, inv.args)
    if reason is not None:
        return reason
    if not statements:
        return None if printed else f"reads database statements from its input ({name})"
    for statement in statements:
        if not statement.static:
            return f"runs database statements built at run time ({name})"
        reason = _sql_read(name, statement.text)
        if reason is not None:
            return f"{reason} ({name})"
    return None


def _client_words(name: str, args: tuple[Arg, ...]) -> tuple[list[Arg], bool, str | None]:
    """The statements given in options, whether an option only prints, and why an argument is held."""
    flags, values, sql_options, info = SQL_CLIENTS[name]
    statements: list[Arg] = []
    printed = False
    i = 0
    while i < len(args):
        arg = args[i]
        text = arg.text
        if not arg.static or not text.startswith("-") or text == "-":
            # (a whole word from a variable, "$DATABASE_URL", is the environment's; a URL with a run-time password
            # and a host written here, "postgresql://u:$PW@host/db", sends the password there)
            if not arg.static and (arg.sources or arg.prefix):
                return [], False, f"its options are known only at run time ({name})"
            i += 1  # a database, a user, a connection string (a variable: the environment's)
            continue
        option, equals, rest = text.partition("=")
        words = (
            [(option, Arg.of(rest) if equals else None)] if text.startswith("--") else _letters(text, name)
        )
        for given, attached in words:
            if given in flags or given in info:
                printed = printed or given in info
                continue
            if given not in values and given not in sql_options:
                return [], False, f"runs database statements ({name} {given})"
            value = attached if attached is not None else (args[i + 1] if i + 1 < len(args) else Arg.of(""))
            i += 0 if attached is not None else 1
            if given in sql_options:
                statements.append(value)
        i += 1
    return statements, printed, None


def _letters(text: str, name: str) -> list[tuple[str, Arg | None]]:
    """A cluster of short options (``-Ne``, ``-uroot``): each letter, and the value attached to the one taking a value."""
    _, values, sql_options, _ = SQL_CLIENTS[name]
    found: list[tuple[str, Arg | None]] = []
    for at, letter in enumerate(text[1:], 1):
        option = "-" + letter
        rest = text[at + 1 :]
        if option == "-p" and option not in values:
            found.append(("--password", None))  # (mysql -pSECRET: the rest is the password)
            break
        if option in values or option in sql_options:
            found.append((option, Arg.of(rest) if rest else None))
            break
        found.append((option, None))
    return found


_SQL_STRING = re.compile(r"'[^']*+'|\"[^\"]*+\"|`[^`]*+`")
_SQL_TOKEN = re.compile(r"[a-z_][a-z0-9_]*+|\S")
_SQL_LONGEST = 4096
"""Longer statements are held: judging them word by word would cost more than a call may take (an everyday read is a
line)."""
_SQL_CALLS = SQL_FUNCTIONS | SQL_PAREN_WORDS
_SQL_DESCRIBES = frozenset({"show", "describe", "desc", "use"})
"""Statements that cannot change anything whatever words follow (``SHOW CREATE TABLE x``)."""
_SQL_VARIABLE = re.compile(r"(?<!:):(?=[a-z_'\"{])")
"""A ``psql`` variable interpolated into the SQL (``:name``, ``:'name'``), not a cast (``::int``)."""


def _sql_read(name: str, sql: str) -> str | None:
    """Why ``sql`` may change something, or ``None`` if every statement only reads."""
    if len(sql) > _SQL_LONGEST:
        return "SQL too long to judge"
    text = sql.strip()
    if name == "psql" and text.startswith("\\"):
        command = text.split(None, 1)[0]
        return None if command in PSQL_META and "\\" not in text[1:] else f"runs a meta-command ({command})"
    if name != "psql" and text[-2:] in ("\\G", "\\g"):
        text = text[:-2]  # (mysql: end the statement, vertical output)
    if "\\" in text:
        return "runs client commands or escapes the judgement does not read"
    code = _SQL_STRING.sub(" 0 ", text.lower())
    if any(mark in code for mark in ("'", '"', "`", "/*", "--", "#", "$")) or _SQL_VARIABLE.search(code):
        return "SQL with comments, variables or quoting the judgement does not read"
    for statement in code.split(";"):
        tokens = _SQL_TOKEN.findall(statement)
        if not tokens:
            continue
        if tokens[0] not in SQL_READS:
            return f"SQL that is not a read ({tokens[0].upper()})"
        previous = ""
        for token in tokens:
            if token in SQL_CHANGES and tokens[0] not in _SQL_DESCRIBES:
                return f"SQL that changes data ({token.upper()})"
            if token == "(" and previous[:1].isidentifier() and previous not in _SQL_CALLS:
                return f"SQL that calls a function that may change data ({previous})"
            previous = token
    return None


_NETCAT_PROBE = frozenset({"-z", "-v", "-w", "-u", "-n", "-4", "-6"})
"""The options of a port check (``nc -zv host 22``): letters, as clusters are split."""


def netcat(inv: Invocation) -> str | None:
    """Only a port check (``nc -z host port``); otherwise a raw connection that can send data, listen or run commands."""
    options = inv.options
    letters = {flag for flag in options.flags if len(flag) == 2}
    if "-z" in options.flags and letters <= _NETCAT_PROBE and all(a.static for a in options.operands):
        return None
    return f"opens a network connection that can send data, listen or run commands ({inv.program})"


def grpcurl(inv: Invocation) -> str | None:
    """Listing or describing services is a read; calling a method may change anything."""
    words = [arg.text for arg in inv.options.operands if arg.static]
    if "list" in words[-2:] or "describe" in words[-2:]:
        return None if "-d" not in inv.options.flags else "calls a gRPC method (grpcurl)"
    return "calls a gRPC method (grpcurl)"


_CLOUD_READS = frozenset(
    {
        "list",
        "ls",
        "describe",
        "show",
        "get",
        "get-value",
        "tail",
        "read",
        "info",
        "version",
        "--version",
        "get-iam-policy",
        "get-credentials",
        "list-tags",
        "wait",
        "logs",
        "whoami",
        "account",
        "help",
    }
)
_CLOUD_CHANGES = frozenset(
    {
        "delete",
        "create",
        "update",
        "set",
        "unset",
        "add",
        "remove",
        "rm",
        "deploy",
        "ssh",
        "scp",
        "start",
        "stop",
        "restart",
        "reset",
        "resize",
        "import",
        "export",
        "run",
        "apply",
        "patch",
        "attach",
        "detach",
        "enable",
        "disable",
        "login",
        "logout",
        "revoke",
        "activate",
        "submit",
        "cancel",
        "rollback",
        "purge",
        "upload",
        "copy",
        "cp",
        "mv",
        "sync",
        "exec",
        "invoke",
        "publish",
        "put",
        "destroy",
        "scale",
        "upgrade",
        "install",
        "uninstall",
        "tag",
        "untag",
        "grant",
        "assign",
        "move",
        "rename",
        "restore",
        "suspend",
        "resume",
        "connect",
        "tunnel",
        "proxy",
        "forward",
        "send",
        "call",
        "terminate",
        "reboot",
        "modify",
        "renew",
        "rotate",
        "regenerate",
        "prune",
        "drop",
        "wipe",
        "erase",
        "clear",
        "kill",
        "abort",
        "evict",
        "drain",
        "cordon",
        "expire",
        "flush",
        "truncate",
        "undelete",
        "replace",
        "rerun",
    }
)
_AWS_READ_PREFIXES = (
    "describe-",
    "list-",
    "get-",
    "filter-",
    "lookup-",
    "search-",
    "batch-get-",
    "head-",
    "estimate-",
    "simulate-",
    "validate-",
    "test-",
)
_AWS_CALLS = ("test-invoke",)
"""Operations that look like reads but run what they test (``test-invoke-method`` sends a real request to the API)."""
_AWS_SECRETS = frozenset(
    {
        "get-secret-value",
        "get-password-data",
        "get-object",
        "batch-get-secret-value",
        "get-session-token",
        "get-federation-token",
        "get-login-password",
        "get-authorization-token",
    }
)
_CLOUD_TOKENS = frozenset({"get-access-token", "print-access-token", "print-identity-token"})
"""Reading verbs that print a credential (``az account get-access-token``)."""
_CLOUD_SECRET_GROUPS = frozenset({"secret", "secrets"})
"""Groups whose reading verbs print secret values (``az keyvault secret show``, ``gcloud secrets versions access``)."""
_AWS_READ_VERBS = frozenset({"ls", "tail", "wait", "help", "presign", "list", "get", "--version", "version"})


def cloud(inv: Invocation) -> str | None:
    """Cloud CLIs (``aws``, ``gcloud``, ``az``, ``doctl``): reading verbs pass, any other verb changes cloud resources."""
    words = [arg.text if arg.static else "" for arg in inv.options.operands]
    if inv.program == "aws":
        return _aws(words)
    path = " ".join(w for w in words[:4] if w)
    # a changing verb anywhere in the command path wins: groups such as `storage account` or `logging logs` read like
    # reading verbs, and the command's own verb (`delete`) comes after them
    changing = next((word for word in words if _changes(word)), None)
    if changing is not None:
        return f"changes cloud resources ({inv.program} {path})"
    if not _CLOUD_TOKENS.isdisjoint(words) or (
        not _CLOUD_SECRET_GROUPS.isdisjoint(words) and not {"show", "access", "download"}.isdisjoint(words)
    ):
        return f"reads secrets or credentials ({inv.program} {path})"
    verb = next((word for word in words if word in _CLOUD_READS or word == ""), None)
    if verb:
        return None
    return (
        f"changes cloud resources ({inv.program} {path})"
        if verb
        else f"`{inv.program} {path}` is not in the catalogue"
    )


def _changes(word: str) -> bool:
    """A verb that changes resources, alone (``delete``) or leading a compound verb (``remove-iam-policy-binding``)."""
    return word in _CLOUD_CHANGES or word.partition("-")[0] in _CLOUD_CHANGES


def _aws(words: list[str]) -> str | None:
    if len(words) < 2:
        return None if words and words[0] in _AWS_READ_VERBS else "`aws` command not in the catalogue"
    service, operation = words[0], words[1]
    if operation in _AWS_SECRETS:
        return f"reads secrets or objects (aws {service} {operation})"
    if operation.startswith(_AWS_CALLS):
        return f"calls a deployed API or function (aws {service} {operation})"
    if operation.startswith(_AWS_READ_PREFIXES) or operation in _AWS_READ_VERBS:
        return None
    if (
        service == "s3"
        and operation in ("cp", "sync")
        and len(words) >= 4
        and words[2].startswith("s3://")
        and not words[3].startswith(("s3://", "/", "~", "-"))
    ):
        return None  # a download into the working tree
    return f"changes cloud resources (aws {service} {operation})"


def package_runner(inv: Invocation) -> str | None:
    """``npx eslint .`` runs the tool it names, judged on its own; ``-p``/``--package`` installs another package first."""
    if inv.options.flags & {"-p", "--package"}:
        return f"installs a package from the registry ({inv.program} --package)"
    return None


JUDGES: dict[str, Judge] = {
    "chmod": chmod_mode,
    "tcpdump": capture,
    "tshark": capture,
    "nc": netcat,
    "ncat": netcat,
    "netcat": netcat,
    "grpcurl": grpcurl,
    "aws": cloud,
    "gcloud": cloud,
    "az": cloud,
    "doctl": cloud,
    **dict.fromkeys(QUERY_MODES, query_mode),
    **dict.fromkeys(SIGNAL_ZERO, signal),
    "redis-cli": redis,
    **dict.fromkeys(SQL_CLIENTS, sql_client),
    "npx": package_runner,
    "bunx": package_runner,
}
"""The judge of each program that has one."""
