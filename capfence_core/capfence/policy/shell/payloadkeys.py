"""What a payload says about how its command runs, besides the command: other command keys, environment, input, directory.

A tool may run ``{"command": "git status", "env": {"GIT_CONFIG_COUNT": "1", ...}}`` with that environment,
``{"command": "make -f -", "stdin": "..."}`` with that input and ``{"command": "rm -r etc", "cwd": "/"}`` in that
directory. Each is judged by the same code that judges the shell spelling of it:

* environment variables as ``export NAME=value; COMMAND`` (the analyzer's rules for ``LD_PRELOAD``, ``GIT_*``,
  ``PAGER``... decide);
* standard input as ``{ COMMAND; } <<< INPUT`` (a shell reading it runs it as code, which is analyzed; a program
  reading code or arguments from its input is judged as such: ``make -f -``, ``xargs tee``);
* a working directory outside the working tree (absolute, ``~``, climbing out or built at run time) is held when
  the command writes a relative path that lands outside the tree there, writes what cannot be known, or sends
  files named relative to it to the network (:func:`placed_hold`).

Keys are compared case-folded without ``_`` and ``-`` (``working_dir``, ``workingDirectory``). Other keys that
may hold what the tool runs (``commands``, ``cmdline``, ``run``...) are judged as commands too (:func:`with_payload`).
"""

from __future__ import annotations

import posixpath
import shlex
from collections.abc import Iterator, Mapping
from typing import Any, Final

from capfence.policy.shell.model import PAYLOAD_HOLD, Analysis, Arg, Invocation
from capfence.policy.shell.resources import Touched, of_analysis
from capfence.policy.shell.workingtree import outside

ENV_KEYS: Final = frozenset(
    {
        "env",
        "envs",
        "environ",
        "environment",
        "envvars",
        "environmentvariables",
        "extraenv",
        "setenv",
        "envvariables",
    }
)
STDIN_KEYS: Final = frozenset(
    {"stdin", "input", "stdindata", "stdintext", "standardinput", "inputdata", "inputtext", "stdininput"}
)
DIR_KEYS: Final = frozenset(
    {"cwd", "workdir", "workingdir", "workingdirectory", "workdirectory", "workdirpath", "cwdpath", "dir",
     "directory", "chdir", "cd", "currentdir", "currentdirectory", "currentworkingdirectory", "rootdir", "basedir",
     "rundir", "execdir", "folder", "workspace", "workspacedir"}
)  # fmt: skip
MORE_COMMAND_KEYS: Final = frozenset(
    {"commands", "cmds", "scripts", "shellcommands", "shellcommand", "commandline", "commandlines", "cmdline",
     "cmdlines", "shellcmd", "bashcommand", "shellscript", "bashscript", "commandstring", "cmdstring", "run", "exec",
     "execute", "commandargs", "commandargv"}
)  # fmt: skip
"""Keys besides the command keys that may hold what the tool runs: every one is judged (the strictest wins)."""
_CONTEXT: Final = ENV_KEYS | STDIN_KEYS | DIR_KEYS


class Placed(str):
    """A command line that runs in a directory that may be outside the working tree (:attr:`where`)."""

    where: str


def fold(key: str) -> str:
    return key.lower().replace("_", "").replace("-", "")


_FOLDED: dict[str, str] = {}
"""Key -> its :func:`fold` when it is one of ours, ``""`` otherwise: payload keys repeat from call to call, so this runs
once per key name, and a payload with none of ours (``{"command": ..., "description": ...}``) costs a lookup a key."""
_MAX_FOLDED = 4096


def _ours(key: str) -> str:
    found = _FOLDED.get(key)
    if found is None:
        folded = fold(key)
        found = folded if folded in _CONTEXT or folded in MORE_COMMAND_KEYS else ""
        if len(_FOLDED) >= _MAX_FOLDED:
            _FOLDED.clear()  # (a bound against payloads with ever new keys)
        _FOLDED[key] = found
    return found


def with_payload(
    commands: list[str | tuple[str, ...]], node: Mapping[Any, object], explicit: bool
) -> list[str | tuple[str, ...]]:
    """``commands`` (found under the command keys of ``node``) with the commands of :data:`MORE_COMMAND_KEYS` (unless
    the keys are ``explicit``), each as it runs with the environment, input and directory ``node`` gives it."""
    ours: list[tuple[str, object]] = []
    folded = _FOLDED.get
    for key, value in node.items():  # (one lookup a key: this runs for every payload of more than one key)
        found = folded(key) if isinstance(key, str) else ""
        if found is None:
            found = _ours(key)
        if found:
            ours.append((found, value))
        elif isinstance(
            value, Mapping
        ):  # the options of a call (``{"command": ..., "options": {"cwd": "/"}}``)
            ours += [(k, v) for k, v in _context_of(value)]
    if not ours:
        return commands
    if not explicit:
        commands = commands + [c for k, v in ours if k in MORE_COMMAND_KEYS for c in _more(v)]
    context = [(k, v) for k, v in ours if k in _CONTEXT]
    return _in_context(commands, context) if context and commands else commands


def _context_of(options: Mapping[Any, object]) -> Iterator[tuple[str, object]]:
    for key, value in options.items():
        found = _ours(key) if isinstance(key, str) else ""
        if found in _CONTEXT:
            yield found, value


def _more(value: object) -> Iterator[str | tuple[str, ...]]:
    """A string is a command line, a list both an argument vector and a list of command lines
    (``{"commands": ["ls", "rm -rf /"]}``)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list | tuple):
        words = [str(v) for v in value if isinstance(v, str | int | float) and not isinstance(v, bool)]
        yield from (word for word in words if len(words) == 1 or " " in word)
        if len(words) > 1:
            yield tuple(words)
        yield from (tuple(map(str, v)) for v in value if isinstance(v, list | tuple) and v)


def _in_context(
    commands: list[str | tuple[str, ...]], context: list[tuple[str, object]]
) -> list[str | tuple[str, ...]]:
    """The commands as they run with the environment, input and directory the payload gives them."""
    prefix = _environment([v for k, v in context if k in ENV_KEYS])
    stdin = next((v for k, v in context if k in STDIN_KEYS and isinstance(v, str | bytes) and v), None)
    where = next((v for k, v in context if k in DIR_KEYS and isinstance(v, str) and v), None)
    return [_placed(c, prefix, stdin, where) for c in commands]


def _environment(values: list[object]) -> str:
    """``export NAME=value ...`` and a newline for the settings given (a name no shell can set is left out: the
    programs the catalogue knows read none)."""
    settings: list[str] = []
    for value in values:
        if isinstance(value, Mapping):
            settings += [f"{k}={'' if v is None else v}" for k, v in value.items()]
        elif isinstance(value, list | tuple):
            settings += [str(v) for v in value if isinstance(v, str)]
    good = [s for s in settings if s.partition("=")[0].isidentifier()]
    return "export " + " ".join(map(shlex.quote, good)) + "\n" if good else ""


def _placed(
    command: str | tuple[str, ...], prefix: str, stdin: str | bytes | None, where: str | None
) -> str | tuple[str, ...]:
    if not prefix and stdin is None and (where is None or _inside(where)):
        return command
    text = command if isinstance(command, str) else shlex.join(command)
    if stdin is not None:
        data = stdin.decode("utf-8", "replace") if isinstance(stdin, bytes) else stdin
        text = f"{{ {text}\n}} <<< {shlex.quote(data)}"
    text = prefix + text
    if where is None or _inside(where):
        return text
    found = Placed(text)
    found.where = where
    return found


def _inside(where: str) -> bool:
    """A plain relative directory in the working tree (``src``, ``./build``): relative paths there stay in it."""
    if where.startswith(("/", "~", "-")) or any(c in where for c in "$`\\\n"):
        return False
    return ".." not in where.split("/")


def placed_hold(analysis: Analysis, where: str) -> Analysis | None:
    """An analysis that holds the call, if a command that runs in ``where`` (outside the working tree) writes a relative
    path that lands outside it, writes what cannot be known, or sends files named relative to it to the network."""
    if analysis.error is not None:
        return None
    out = Touched()
    of_analysis(analysis, out)
    reason = _why_placed(out, where)
    if reason is None:
        return None
    return Analysis.of(
        (Invocation(PAYLOAD_HOLD, (Arg.of(f"runs in {where}, outside the working tree: {reason}"),)),)
    )


def _why_placed(out: Touched, where: str) -> str | None:
    if "writes" in out.unknown:
        return f"what it writes there is not known ({out.unknown['writes']})"
    known = where.startswith(("/", "~")) and not any(c in where for c in "$`")
    for file in out.writes:
        if file.path is None:
            return "writes a path known only at run time"
        if file.path.startswith(("/", "~")):
            continue
        joined = posixpath.normpath(posixpath.join(where, file.path)) if known else None
        if joined is None or outside(joined):
            return f"writes {joined or file.path}"
    relative_reads = [f for f in out.reads if f.path is None or not f.path.startswith(("/", "~"))]
    if relative_reads and (out.hosts or "hosts" in out.unknown):
        return "sends files read there to the network"
    return None
