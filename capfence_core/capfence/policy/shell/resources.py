"""The files a command reads and writes and the hosts it contacts, from its analysis (``reads:``, ``writes:``, ``hosts:``).

Each :class:`~capfence.policy.shell.model.Invocation` of an analysis adds to a :class:`Touched`:

* redirections: ``< FILE`` is read, ``> FILE``/``>> FILE`` written, ``<> FILE`` both, whatever the program;
* operands of the programs in :data:`~capfence.policy.shell.catalogue.OPERAND_READS` (read) and of the catalogue's
  :attr:`~capfence.policy.shell.catalogue.Entry.writes` (written), directories with everything below them when an option of
  :data:`~capfence.policy.shell.catalogue.RECURSIVE` says so (``cp -r``, ``grep -r``, ``rg``);
* the programs described here: ``source``/``.`` (reads its file, then runs code that is not known), ``tar``, ``dd``,
  ``tee``, ``sort -o``, ``curl``, ``wget`` and the other downloaders, ``ssh``, ``scp``, ``rsync``, ``git`` and the programs
  of :data:`~capfence.policy.shell.catalogue.CONTACTS_OPERANDS`;
* wrappers (``sudo``, ``env``, ``xargs``, ...) touch nothing themselves: what they run is its own invocation.

What cannot be known is recorded as such, with why: a word built at run time (``cat $F``), a program whose
command name is built at run time, an interpreter's code (``python x.py``, ``sh script``), and every program not
described anywhere here. A ``reads:``/``writes:``/``hosts:`` condition counts an unknown as a match in a deny,
require_approval or warn rule and as no match in an allow rule.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from capfence.policy.shell.catalogue import CATALOGUE, CONTACTS_OPERANDS, OPERAND_READS, RECURSIVE
from capfence.policy.shell.model import PAYLOAD_HOLD, Analysis, Arg, Invocation
from capfence.policy.shell.programs import DOWNLOADERS, INTERPRETERS, SOURCE_COMMANDS, WRAPPERS, family

KINDS = ("reads", "writes", "hosts")


class File(NamedTuple):
    """A file a call touches: ``path`` as written (``None``: built at run time), ``tree``: the directory and all below it."""

    path: str | None
    tree: bool = False
    pattern: bool = False
    """The shell replaces it with the file names it matches (``src/*.py``)."""


@dataclass
class Touched:
    """What one call touches. ``unknown`` maps a kind (:data:`KINDS`) to why some of it cannot be known."""

    reads: list[File] = field(default_factory=list)
    writes: list[File] = field(default_factory=list)
    hosts: list[str | None] = field(default_factory=list)
    """Host names or URLs; ``None``: built at run time."""
    unknown: dict[str, str] = field(default_factory=dict)
    bases: list[str] = field(default_factory=list)
    """Directories the command changes into (``cd DIR``, ``pushd DIR``): a relative path may be relative to any of them."""
    moved: str | None = None
    """Why relative paths cannot be placed (``cd $DIR``, ``cd -``, ``popd``), if they cannot."""
    dotglob: bool = False
    """The command may make ``*`` match names that start with a dot (``shopt``, ``setopt``, ``GLOBIGNORE=``)."""

    def not_known(self, why: str, kinds: Sequence[str] = KINDS) -> None:
        for kind in kinds:
            self.unknown.setdefault(kind, why)


def _file(arg: Arg, tree: bool = False) -> File:
    return File(arg.text if arg.static else None, tree, arg.globbing)


def of_analysis(analysis: Analysis, out: Touched) -> None:
    """Add what ``analysis`` touches to ``out``."""
    if analysis.error is not None:
        out.not_known(f"the command cannot be parsed ({analysis.error})")
        return
    for inv in analysis.invocations:
        of_invocation(inv, out)


def of_invocation(inv: Invocation, out: Touched) -> None:
    _redirects(inv, out)
    name = inv.program
    if name in ("shopt", "setopt") or any(e.prefix.startswith("GLOBIGNORE") for e in inv.env):
        out.dotglob = True
    if inv.dynamic is not None:
        out.not_known(f"{name or 'a command'}: {inv.dynamic}")
        return
    if name is None:
        out.not_known("the command name is built at run time")
        return
    if not name or name == PAYLOAD_HOLD or (name in WRAPPERS and name != "ssh"):
        return  # (the payload's mark that its working directory holds the call touches nothing itself)
    if name in _CHANGES_DIRECTORY:
        _directory(inv, out)
        return
    special = _SPECIAL.get(name) or (_downloader if name in DOWNLOADERS else None)
    if special is not None:
        special(inv, out)
    elif name in SOURCE_COMMANDS or family(name) in INTERPRETERS:
        _interpreter(inv, out)
    elif name in CONTACTS_OPERANDS:
        out.hosts.extend(a.text if a.static else None for a in _words(inv.options.operands))
    elif name in OPERAND_READS:
        _operands(inv, out, OPERAND_READS[name])
    else:
        out.not_known(f"{name}: which files it reads or writes and which hosts it contacts is not known")


def _words(args: Sequence[Arg]) -> list[Arg]:
    return [a for a in args if a.text != "-" or not a.static]


def _redirects(inv: Invocation, out: Touched) -> None:
    for redirect in inv.redirects:
        if redirect.target is None:
            continue
        if redirect.op in ("<", "<>"):
            out.reads.append(_file(redirect.target))
        if redirect.writes:
            out.writes.append(_file(redirect.target))


def _tree(inv: Invocation) -> bool:
    options = RECURSIVE.get(inv.program or "")
    return options is not None and (not options or bool(options & inv.options.flags))


def _operands(inv: Invocation, out: Touched, mode: str) -> None:
    operands = _words(inv.options.operands)
    tree = _tree(inv)
    entry = CATALOGUE.get(inv.program or "")
    writes = entry.writes if entry is not None else ""
    if inv.options.maybe_option:
        out.not_known(f"{inv.program}: an option is built at run time", ("reads", "writes"))
    if mode == "after_first":
        given = inv.options.flags & {"-e", "-f", "--regexp", "--file", "--from-file", "--expression"}
        operands = operands if given else operands[1:]
        if inv.program in ("rg", "ag", "ack", "grep", "egrep", "fgrep") and tree and not operands:
            operands = [Arg.of(".")]
        if inv.program == "sed" and inv.options.flags & {"-i", "--in-place"}:
            out.writes.extend(_file(a) for a in operands)
    if writes in ("operands", "creates"):
        out.writes.extend(_file(a, tree) for a in operands)
    elif writes == "last" and operands:
        out.writes.append(_file(operands[-1], tree))
        operands = operands[:-1]
    elif writes == "after_first":
        out.writes.extend(_file(a, tree) for a in operands[1:])
    if mode != "none":
        out.reads.extend(_file(a, tree) for a in operands)


def _interpreter(inv: Invocation, out: Touched) -> None:
    name = inv.program or ""
    operands = _words(inv.options.operands)
    if name in SOURCE_COMMANDS:
        out.reads.extend(_file(a) for a in operands[:1])
        out.not_known(f"{name} runs the commands of a file", ("writes", "hosts"))
        return
    if name in ("sh", "bash", "dash", "zsh", "ksh", "ash") and "-c" in inv.options.flags:
        return  # the code is analyzed as invocations of its own (or is dynamic)
    out.reads.extend(_file(a) for a in operands[:1])
    out.not_known(f"{name} runs code: what it reads, writes and contacts is not known")


def _values(inv: Invocation, names: frozenset[str]) -> list[Arg]:
    """Values of the options in ``names``, from the option spec (``curl -o FILE``) or the words after them."""
    found = [value for option, value in inv.options.values if option in names]
    if found or not inv.options.values:
        args = inv.args
        for i, arg in enumerate(args[:-1]):
            if arg.static and arg.text in names and args[i + 1] not in found:
                found.append(args[i + 1])
        found.extend(
            Arg(a.text.split("=", 1)[1], a.kind, a.prefix)
            for a in args
            if a.static and a.text.split("=", 1)[0] in names and "=" in a.text
        )
    return found


def _downloader(inv: Invocation, out: Touched) -> None:
    name = inv.program
    out.hosts.extend(a.text if a.static else None for a in _words(inv.options.operands))
    out.hosts.extend(
        a.text if a.static else None for a in _values(inv, frozenset({"-x", "--proxy", "--url"}))
    )
    if _values(inv, frozenset({"-K", "--config", "-i", "--input-file"})):
        out.not_known(f"{name} reads the URLs it fetches from a file", ("hosts",))
    if name == "curl":
        out.writes.extend(_file(a) for a in _values(inv, frozenset({"-o", "--output", "-c", "--cookie-jar"})))
        out.reads.extend(_file(a) for a in _values(inv, frozenset({"-T", "--upload-file", "-K", "--config"})))
        for value in _values(
            inv, frozenset({"-d", "--data", "--data-binary", "--data-urlencode", "-F", "--form"})
        ):
            text = value.text.rpartition("=")[2] if "=@" in value.text or "=<" in value.text else value.text
            if text.startswith(("@", "<")):
                out.reads.append(File(text[1:] if value.static else None))
        if inv.options.flags & {"-O", "--remote-name", "--remote-name-all"}:
            out.writes.append(File("."))  # a file named after the URL, in the working directory
    elif name == "wget":
        out.writes.extend(
            _file(a) for a in _values(inv, frozenset({"-O", "--output-document", "-o", "--output-file"}))
        )
        out.writes.extend(_file(a, True) for a in _values(inv, frozenset({"-P", "--directory-prefix"})))
        out.reads.extend(_file(a) for a in _values(inv, frozenset({"-i", "--input-file"})))
        if not inv.options.flags & {"-O", "--output-document", "--spider"}:
            out.writes.append(
                File(".", tree=bool(inv.options.flags & {"-r", "--recursive", "-m", "--mirror"}))
            )
    else:
        out.not_known(f"{name}: which files it writes is not known", ("reads", "writes"))


def _tar(inv: Invocation, out: Touched) -> None:
    args = list(inv.args)
    bundle = args[0].text if args and args[0].static and not args[0].text.startswith("-") else ""
    letters = set(bundle) | {f[1] for f in inv.options.flags if len(f) == 2}
    longs = inv.options.flags
    operands = _words(inv.options.operands)[1 if bundle else 0 :]
    archive = _values(inv, frozenset({"-f", "--file"}))
    if not archive and "f" in letters and operands:
        archive, operands = operands[:1], operands[1:]
    directory = _values(inv, frozenset({"-C", "--directory"}))
    if letters & {"c", "r", "u"} or longs & {"--create", "--append", "--update"}:
        out.writes.extend(_file(a) for a in archive)
        out.reads.extend(_file(a, True) for a in operands)
    elif "x" in letters or longs & {"--extract", "--get"}:
        out.reads.extend(_file(a) for a in archive)
        out.writes.extend([_file(a, True) for a in directory] or [File(".", tree=True)])
    else:
        out.reads.extend(_file(a) for a in archive)
    if not archive and not letters & {"t"}:
        out.not_known("tar without -f reads or writes the archive named by $TAPE", ("reads", "writes"))


def _dd(inv: Invocation, out: Touched) -> None:
    for arg in inv.args:
        key, eq, value = arg.text.partition("=")
        if eq and key in ("if", "of"):
            target = File(value if arg.static else None)
            (out.reads if key == "if" else out.writes).append(target)


def _tee(inv: Invocation, out: Touched) -> None:
    out.writes.extend(_file(a) for a in _words(inv.options.operands))


def _sort(inv: Invocation, out: Touched) -> None:
    written = _values(inv, frozenset({"-o", "--output"}))
    out.writes.extend(_file(a) for a in written)
    out.reads.extend(_file(a) for a in _words(inv.options.operands) if a not in written)


def _remote(text: str) -> str | None:
    """The host of an ``scp``/``rsync`` operand (``user@host:path``, ``rsync://host/x``), ``None`` for a local path."""
    if "://" in text:
        return text
    head, colon, _ = text.partition(":")
    if colon and "/" not in head and head:
        return head.rpartition("@")[2]
    return None


def _copier(inv: Invocation, out: Touched) -> None:
    tree = _tree(inv)
    operands = _words(inv.options.operands)
    for i, arg in enumerate(operands):
        host = _remote(arg.text) if arg.static else None
        if host is not None:
            out.hosts.append(host)
        elif i == len(operands) - 1 and len(operands) > 1:
            out.writes.append(_file(arg, tree))
        else:
            out.reads.append(_file(arg, tree))
    if inv.program == "rsync" and inv.options.flags & {"-e", "--rsh"}:
        out.not_known("rsync -e runs a command given in an option")


_SSH_VALUES = frozenset("-" + letter for letter in "bcDEeFIiJLlmOopQRSWw")


def _ssh(inv: Invocation, out: Touched) -> None:
    args = list(inv.args)
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.static:
            out.hosts.append(None)
            return
        if arg.text in _SSH_VALUES and i + 1 < len(args):
            value = args[i + 1]
            if arg.text in ("-i", "-F"):
                out.reads.append(_file(value))
            elif arg.text == "-J":
                out.hosts.extend(h.rpartition("@")[2] for h in value.text.split(","))
            i += 2
            continue
        if arg.text.startswith("-"):
            i += 1
            continue
        out.hosts.append(arg.text.rpartition("@")[2])
        return


_GIT_NETWORK = frozenset({"clone", "fetch", "pull", "push", "ls-remote", "remote", "submodule"})
_GIT_WRITES = frozenset(
    {
        "checkout",
        "restore",
        "reset",
        "apply",
        "am",
        "merge",
        "rebase",
        "pull",
        "stash",
        "cherry-pick",
        "revert",
        "switch",
        "mv",
        "rm",
        "clean",
        "worktree",
        "submodule",
    }
)


def _git(inv: Invocation, out: Touched) -> None:
    operands = _words(inv.options.operands)
    if not operands:
        return
    sub = operands[0].text if operands[0].static else None
    rest = operands[1:]
    if sub is None:
        out.not_known("git: the subcommand is built at run time")
        return
    if sub in _GIT_NETWORK:
        urls = [a.text for a in rest if a.static and ("://" in a.text or _remote(a.text))]
        if urls:
            out.hosts.extend(u if "://" in u else _remote(u) for u in urls)
        else:
            out.not_known(f"git {sub} contacts the remote's host, which is configured elsewhere", ("hosts",))
    if sub == "clone":
        local = [a for a in rest if not (a.static and ("://" in a.text or _remote(a.text)))]
        out.writes.extend(_file(a, True) for a in local[-1:]) if local else out.writes.append(
            File(".", tree=True)
        )
        return
    if sub in _GIT_WRITES:
        out.writes.append(File(".", tree=True))  # the working tree
    if sub not in _GIT_NETWORK:
        out.reads.extend(_git_path(a) for a in rest)


def _git_path(arg: Arg) -> File:
    """A git operand as a file: ``HEAD:.env`` names ``.env`` (as the repository holds it)."""
    if arg.static and ":" in arg.text and not arg.text.startswith(("/", ".")):
        return File(arg.text.partition(":")[2].lstrip("/") or ".")
    return _file(arg)


def _zip(inv: Invocation, out: Touched) -> None:
    operands = _words(inv.options.operands)
    out.writes.extend(_file(a) for a in operands[:1])
    out.reads.extend(_file(a, _tree(inv)) for a in operands[1:])


_CHANGES_DIRECTORY = frozenset({"cd", "pushd", "popd", "chdir"})


def _directory(inv: Invocation, out: Touched) -> None:
    """``cd DIR``: later relative paths may be relative to DIR (a directory known only at run time: they cannot be placed)."""
    operands = [
        a for a in inv.options.operands if not (a.static and a.text.startswith("-") and a.text != "-")
    ]
    if inv.program == "popd" or inv.options.maybe_option:
        out.moved = f"{inv.program} changes to a directory known only at run time"
    elif not operands:
        out.bases.append("~")
    elif not operands[0].static or operands[0].text == "-":
        out.moved = f"{inv.program} {operands[0].text if operands[0].static else '$...'} changes to a directory known only at run time"
    else:
        out.bases.append(operands[0].text)


_SPECIAL: dict[str, Callable[[Invocation, Touched], None]] = {
    "tar": _tar,
    "bsdtar": _tar,
    "dd": _dd,
    "tee": _tee,
    "sort": _sort,
    "scp": _copier,
    "rsync": _copier,
    "ssh": _ssh,
    "git": _git,
    "zip": _zip,
}
"""Programs whose resources take more than a table row (their names are documented in docs/policy-reference.md)."""
