"""What a call touches, whatever the tool: the files it reads, the files it writes, the hosts it contacts.

Computed once per call (kept in the call view's memo) from three sources:

* **shell commands** in the payload (the fields the ``command:`` condition reads; for a capability or tool whose name
  says it runs commands (``shell``, ``bash``, ``zsh``, ``terminal``, ``console``, ``command``, ``sh``, ``cmd``), every
  string too), through the
  shell analyzer and :mod:`capfence.policy.shell.resources`;
* **file arguments**: path-like arguments (the names the ``path:`` condition reads, :mod:`capfence.policy.pathargs`) of a
  call that is not a command. Whether they are read or written is told by the words of the capability and tool names
  (:data:`READ_WORDS`, :data:`WRITE_WORDS`); a name that says neither, or both (``copy``, ``move``), counts its paths as
  read *and* written;
* **URLs** in URL-named arguments (the ``url:`` condition's fields) and, for a capability or tool whose name says it
  fetches (``http.*``, ``*fetch*``, ``*request*``, ``*browse*``, ``*web*``), ``scheme://`` URLs in any string.

Anything that cannot be known (a command that cannot be parsed, an interpreter's code, a program whose resources are
not described, a word built at run time, too many paths) is recorded with why; the conditions
(:mod:`capfence.policy.resource_conditions`) resolve it fail-closed.
"""

from __future__ import annotations

import re
from typing import Final

from capfence.call.view import CallView
from capfence.policy.pathargs import path_arguments, path_names
from capfence.policy.shell.resources import File, Touched, of_analysis
from capfence.policy.shell.targets import DEFAULT_FIELDS as COMMAND_FIELDS
from capfence.policy.shell.targets import analyses, commands_in, fields

READ_WORDS: Final = frozenset(
    {
        "read",
        "get",
        "cat",
        "view",
        "open",
        "load",
        "search",
        "grep",
        "glob",
        "head",
        "tail",
        "show",
        "fetch",
        "download",
        "inspect",
        "query",
        "find",
        "list",
        "ls",
        "stat",
        "watch",
    }
)
WRITE_WORDS: Final = frozenset(
    {
        "write",
        "edit",
        "create",
        "delete",
        "remove",
        "rm",
        "save",
        "put",
        "append",
        "mkdir",
        "touch",
        "truncate",
        "patch",
        "update",
        "replace",
        "insert",
        "upload",
        "chmod",
        "chown",
        "unlink",
        "copy",
        "cp",
        "move",
        "mv",
        "rename",
    }
)
BOTH_WORDS: Final = frozenset({"copy", "cp", "move", "mv", "rename", "upload", "download"})
"""Words of a tool that reads some of its paths and writes others: all of them count as both."""
_SHELL_NAME: Final = re.compile(r"shell|bash|zsh|terminal|console|command|\bsh\b|\bcmd\b", re.IGNORECASE)
_FETCH_NAME: Final = re.compile(
    r"^https?\b|^http\.|fetch|request|brows|web|curl|wget|scrape|crawl", re.IGNORECASE
)
_WORD: Final = re.compile(r"[a-z]+")
_EXPLICIT_COMMANDS: Final = fields(COMMAND_FIELDS, True)
_ANY_STRING: Final = fields()
_MEMO: Final = "capfence.resources"


def touched(view: CallView) -> Touched:
    """What the call touches (computed once per call)."""
    found: Touched | None = view.memo.get(_MEMO)
    if found is None:
        found = view.memo[_MEMO] = _compute(view)
    return found


def _names(view: CallView) -> str:
    return f"{view.capability} {view.tool or ''}"


def is_shell(view: CallView) -> bool:
    return _SHELL_NAME.search(_names(view).replace("_", " ").replace(".", " ")) is not None


def _compute(view: CallView) -> Touched:
    out = Touched()
    shell = is_shell(view)
    selected = _ANY_STRING if shell else _EXPLICIT_COMMANDS
    commands = analyses(view, selected)
    for analysis in commands:
        of_analysis(analysis, out)
    if commands:
        _assumed(commands_in(view.payload, selected), out)
    if not commands:
        _files(view, out)
    _urls(view, out)
    return out


_ASSUMED: Final = re.compile(r"\$\{?(USER|LOGNAME|OLDPWD|TMPDIR|SHELL)\b")
"""Variables the shell analysis gives a conventional value when the command does not set them (``$USER`` is ``user``):
fine for naming programs, not for placing files, so a command that uses one has paths that cannot be known."""


def _assumed(commands: list[str | tuple[str, ...]], out: Touched) -> None:
    for command in commands:
        text = command if isinstance(command, str) else " ".join(command)
        if "GLOBIGNORE" in text or "dotglob" in text or "globdots" in text:
            out.dotglob = True  # (a bare assignment is no invocation: the text tells)
        found = _ASSUMED.search(text)
        if found is not None:
            out.not_known(
                f"the command uses ${found.group(1)}, whose value is not known", ("reads", "writes")
            )
            return


def direction(view: CallView) -> tuple[bool, bool]:
    """``(reads, writes)``: what a file tool does with the paths it is given, from the words of its names."""
    words = set(_WORD.findall(_split_camel(_names(view)).lower()))
    reads, writes = bool(words & READ_WORDS), bool(words & WRITE_WORDS)
    if words & BOTH_WORDS or reads == writes:
        return True, True
    return reads, writes


def _split_camel(text: str) -> str:
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", text)


def _files(view: CallView, out: Touched) -> None:
    found = path_arguments(view, path_names(None))
    if found is None:
        out.not_known("the call names too many paths", ("reads", "writes"))
        return
    reads, writes = direction(view)
    for raw, base in found:
        if raw is not None and "://" in raw and raw[:5].lower() != "file:":
            continue  # a URL, not a path (hosts are found below)
        path = (
            None
            if raw is None
            else (raw if base is None or raw.startswith(("/", "~")) else f"{base.rstrip('/')}/{raw}")
        )
        if reads:
            out.reads.append(File(path))
        if writes:
            out.writes.append(File(path))


def _urls(view: CallView, out: Touched) -> None:
    # the url condition imports this package's modules
    from capfence.policy.url import DEFAULT_FIELDS, MAX_URLS, candidates

    found = candidates(view, DEFAULT_FIELDS, scan_text=_FETCH_NAME.search(_names(view)) is not None)
    if len(found) > MAX_URLS:
        out.not_known("the call names too many URLs", ("hosts",))
        return
    out.hosts.extend(found)
