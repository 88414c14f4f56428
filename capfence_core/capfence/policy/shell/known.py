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
import posixpath
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from fnmatch import fnmatchcase
from functools import lru_cache
from itertools import pairwise

from capfence.policy.shell.catalogue import (
    ADD_PACKAGE,
    CATALOGUE,
    CHANGES_DIR,
    CHDIR_OPTIONS,
    COMPRESSORS,
    GIT_RISKY_KEY,
    HIDES_HISTORY,
    HISTORY_VARIABLES,
    INSTALLS,
    KNOWN_WRAPPERS,
    KUBE_DRY_RUNS,
    PRIVILEGED_WRAPPERS,
    PROJECT_BIN_DIRS,
    PROJECT_BINSTUBS,
    PROJECT_SCRIPTS,
    PYTHON_CODE_MODULES,
    PYTHON_MODULE_PROGRAMS,
    PYTHON_PATH_MODULES,
    REPLACERS,
    SAFE_PYTHON_MODULES,
    Entry,
    variable_reason,
)
from capfence.policy.shell.context import norm_path
from capfence.policy.shell.expand import has_glob
from capfence.policy.shell.fetched import RUNS_PROJECT_CODE, TEXT_WRITERS, code_file, fetches
from capfence.policy.shell.forkbomb import BUSY_LOOP, SPAWNING_LOOP
from capfence.policy.shell.invoke import Reading, read_code, runner_command, search_start
from capfence.policy.shell.judges import JUDGES, MODE_AS_OPTION
from capfence.policy.shell.model import PAYLOAD_HOLD, Arg, Invocation, Kind, Options
from capfence.policy.shell.network import FILE_OPTIONS, SENDERS, git_push, nmcli, sends_file, why_sends
from capfence.policy.shell.oneliners import (
    harmless_input,
    harmless_node,
    harmless_perl,
    harmless_php,
    harmless_ruby,
    special_file,
)
from capfence.policy.shell.options import PLAIN, parse_options
from capfence.policy.shell.programs import (
    ASSIGNERS,
    CODE_VARIABLES,
    INTERPRETERS,
    OPTION_SPECS,
    RUNNERS,
    STDIN_PATHS,
    WRAPPERS,
    family,
)
from capfence.policy.shell.scripts import awk_code, awk_risk, sed_args, sed_risk
from capfence.policy.shell.secrets import (
    ENVIRONMENT_PRINTERS,
    reads_environment,
    searches_for_secret,
    why_secret,
)
from capfence.policy.shell.workingtree import (
    CWD,
    REMOTE_PATH,
    RUNTIME_DIR,
    contained,
    lexically_outside,
    moved,
    outside,
    resolve,
    run_time_target,
    shown,
    visible_in_home,
    written,
)

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
        "break",
        "continue",
        "ulimit",
        "((",
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
    if inv.program == PAYLOAD_HOLD:
        return inv.args[0].text
    if inv.code_from:
        return "runs code produced by " + ", ".join(sorted(inv.code_from))
    reason = _settings(inv.env, inv.program) if inv.env else None
    if reason is not None:
        return reason
    reason = _redirects(inv)
    if reason is not None or inv.program == "":
        return reason or why_secret("", _static_words(inv))
    if inv.redirects:
        reason = _fills(inv)
        if reason is not None:
            return reason
    # (after the program's own judgement, whose reason says more: `ln -s ~/.ssh k` makes a link out of the tree)
    return (
        _program(inv)
        or _deploys(inv)
        or why_secret(inv.program, [arg.text if arg.static else "" for arg in inv.args], _read_targets(inv))
        or _prints_secret(inv)
    )


_TASK_RUNNERS = frozenset(
    {
        *(
            "make",
            "gmake",
            "bmake",
            "just",
            "task",
            "mage",
            "rake",
            "invoke",
            "inv",
            "fab",
            "npm",
            "pnpm",
            "yarn",
        ),
        *(
            "bun",
            "deno",
            "mvn",
            "mvnw",
            "gradle",
            "gradlew",
            "ant",
            "sbt",
            "lein",
            "mix",
            "grunt",
            "gulp",
            "nx",
        ),
        *(
            "turbo",
            "lerna",
            "poetry",
            "hatch",
            "pdm",
            "uv",
            "rye",
            "composer",
            "cargo",
            "dotnet",
            "earthly",
            "doit",
        ),
    }
)
"""Programs that run a project's tasks by name (``make deploy``, ``npm run deploy``, ``mvn deploy``)."""
_DEPLOY_TASK = re.compile(
    r"(?:^|[-_:.])(?:deploy|undeploy|redeploy|publish|destroy|teardown|rollback|upload|ship)(?:$|[-_:.])",
    re.IGNORECASE,
)
"""A task name that says it deploys, publishes or tears down: what it changes lies outside the working tree."""


def _deploys(inv: Invocation) -> str | None:
    """A project task whose name says it deploys, publishes or destroys (``make deploy``, ``npm run deploy:prod``,
    ``mvn deploy``): its code is the project's, but what it changes is elsewhere. Paths and settings are not names."""
    if inv.program not in _TASK_RUNNERS:
        return None
    for arg in inv.options.operands:
        if arg.static and "/" not in arg.text and "=" not in arg.text and _DEPLOY_TASK.search(arg.text):
            return f"runs a project task that deploys, publishes or tears down ({inv.program} {arg.text})"
    return None


_PRINTERS = frozenset({"echo", "printf", "print"})
"""Programs that print their arguments: a secret variable among them is printed."""


def _prints_secret(inv: Invocation) -> str | None:
    """A secret variable (``$GITHUB_TOKEN``) printed (``echo``) or given as a here-string or here-document
    (``base64 <<< "$TOKEN"``): the program reads it, and most print or send what they read."""
    name = inv.program or ""
    found = next((arg.secret for arg in inv.args if arg.secret), "") if name in _PRINTERS else ""
    if not found and inv.redirects:
        found = next((redirect.secret for redirect in inv.redirects if redirect.secret), "")
    return f"prints a secret from the environment (${found}, {name})" if found else None


_CONTAINER_RUNNERS = frozenset({"docker", "podman", "nerdctl", "kubectl", "oc"})
"""Programs whose ``exec`` runs a command in a container: its environment is the container's, with its secrets."""
_SEARCHERS = frozenset({"grep", "egrep", "fgrep", "rg", "ag", "ack", "ugrep", "awk", "sed"})


def _environment(inv: Invocation, printed: bool) -> str | None:
    """The whole environment printed in a container (``docker exec c env``), or searched for a secret after being printed
    (``env | grep -i token``; ``printed``: an earlier command of the text printed it)."""
    name = inv.program or ""
    if printed and name in _SEARCHERS and searches_for_secret(_static_words(inv)):
        return f"searches the environment for secrets ({name})"
    if inv.via and not _CONTAINER_RUNNERS.isdisjoint(inv.via) and reads_environment(name, _static_words(inv)):
        return f"prints a container's environment, which holds its secrets ({name})"
    return None


def _static_words(inv: Invocation) -> list[str]:
    """The words of ``inv`` known as written, and the files its redirections read."""
    return [arg.text for arg in inv.args if arg.static] + _read_targets(inv)


def _read_targets(inv: Invocation) -> list[str]:
    """The files its redirections read (``< ~/.ssh/id_rsa``; one written, ``> .env.local``, is judged as a write)."""
    return [r.target.text for r in inv.redirects if r.target is not None and r.target.static and not r.writes]


_ENDLESS = frozenset({"/dev/zero", "/dev/urandom", "/dev/random"})
"""Devices that never run out: copied into a file, they fill the disk."""
_HUGE = 64 << 30
"""Bytes from an endless device into a file that deserve a look (a swap file of a few gigabytes does not)."""


def _fills(inv: Invocation) -> str | None:
    """An endless or huge output redirected into a file (``yes > f``, ``cat /dev/zero > f``, ``tr -dc a-z < /dev/urandom >
    f``, ``head -c 500G /dev/zero > f``): whatever reads an endless device, but for ``head`` and ``dd`` with a size."""
    if not any(r.writes for r in inv.redirects):
        return None
    operands = inv.options.operands
    endless = any(arg.static and arg.text in _ENDLESS for arg in operands) or any(
        not r.writes and r.target is not None and r.target.static and r.target.text in _ENDLESS
        for r in inv.redirects
    )
    if inv.program == "dd":
        return None  # (judged with its operands: :func:`_dd_fills`)
    if inv.program == "yes" or (inv.program not in ("head", "tail") and endless and not _bounded(inv)):
        return f"writes without end into a file, filling the disk ({inv.program})"
    if inv.program in ("head", "tail") and endless:
        sizes = option_values(_option_words(inv.args), ("-c", "--bytes"))
        if any(not v.static or _size(v.text.lstrip("+-"), _HUGE) >= _HUGE for _, v in sizes):
            return f"writes 64 GiB or more into a file ({inv.program})"
    return None


_READ_LIMITS = {"od": ("-N", "--read-bytes"), "xxd": ("-l", "-len"), "hexdump": ("-n", "--length")}
"""Options with which a dump program reads only so many bytes (``od -N4 /dev/urandom``)."""


def _bounded(inv: Invocation) -> bool:
    limits = _READ_LIMITS.get(inv.program or "")
    return limits is not None and any(True for _ in option_values(_option_words(inv.args), limits))


def why_held_each(invocations: Sequence[Invocation]) -> tuple[str | None, ...]:
    """:func:`why_held` of each invocation of one command, in order, knowing what the ones before did.

    After a virtual environment's activation (``source .venv/bin/activate``), ``pip install`` installs into it, not
    system-wide. After ``cd DIR`` (``pushd``, ``popd``; ``env -C DIR`` for the command it wraps) relative paths are judged
    in ``DIR`` (:data:`~capfence.policy.shell.workingtree.CWD`): ``cd / && rm -r etc`` removes ``/etc``.
    """
    reasons: list[str | None] = []
    active = printed = False
    dirs: _Directories | None = None
    brought: str | None = (
        None  # what fetched or wrote code earlier in the text (capfence.policy.shell.fetched)
    )
    try:
        for inv in invocations:
            if dirs is not None:
                dirs.enter(inv)
            reason = why_held(inv)
            if reason is None and inv.origin:
                reason = _foreign_program(inv)
            if reason is None and (printed or inv.via):
                reason = _environment(inv, printed)
            if not printed and inv.program in ENVIRONMENT_PRINTERS:
                printed = reads_environment(inv.program, _static_words(inv))
            if reason is None and brought is not None and _runs_project_code(inv):
                reason = f"runs the project's code after {brought} in the same command"
            brought = brought or _brings_code(inv)
            active = active or (inv.program in ("source", ".") and reason is None)
            # a virtual environment's own pip (.venv/bin/pip) installs into it, as after its activation
            into_venv = active or _VENV_BIN.search(inv.origin) is not None
            if into_venv and reason in _PIP_INSTALLS:
                reason = _other_index(inv)
            reasons.append(reason)
            if inv.program in _DIRECTORY_CHANGERS:
                if dirs is None:
                    dirs = _Directories()
                dirs.leave(inv)
    finally:
        if dirs is not None:
            dirs.close()
    return tuple(reasons)


def _brings_code(inv: Invocation) -> str | None:
    """What this invocation does that puts files a later build or test runner may run: fetches them (a download, a
    clone) or writes them from the command's own text (a redirection, ``tee``)."""
    name = inv.program or ""
    if fetches(name, [arg.text for arg in inv.args if arg.static]):
        return f"fetching files ({name})"
    for redirect in inv.redirects:
        target = redirect.target
        if not redirect.writes or target is None or (target.static and target.text.startswith("/dev/")):
            continue
        # text the command gives (printf ... > Makefile), or anything into a file that is code (> conftest.py)
        if name in TEXT_WRITERS or not target.static or code_file(target.text):
            return f"writing {target.text if target.static else 'a file'} ({name or 'a redirection'})"
    if name == "tee" and inv.options.operands:
        return "writing files (tee)"
    return None


_DIRECTORY_CHANGERS = CHANGES_DIR | CHDIR_OPTIONS.keys() | {"find"}
"""Programs after which, or under which, relative paths mean something else (``find -execdir`` runs its command in the
directory of each file found)."""


class _Directories:
    """The current directory along a script, lexically: what ``cd``/``pushd``/``popd`` and ``env -C`` make it."""

    def __init__(self) -> None:
        self.base: str | None = None
        self.stack: list[str | None] = []
        self.wrapped: tuple[tuple[str, ...], str | None] | None = None
        """The ``via`` of the commands a directory-changing wrapper runs, and the directory they run in."""
        self.token = CWD.set(None)

    def enter(self, inv: Invocation) -> None:
        """Set :data:`CWD` for judging ``inv``."""
        base = self.base
        if self.wrapped is not None:
            via, inner = self.wrapped
            if inv.via[: len(via)] == via:
                base = inner
            else:
                self.wrapped = None
        CWD.set(base)

    def leave(self, inv: Invocation) -> None:
        """What ``inv`` (a ``cd``, ``pushd``, ``popd`` or wrapper) does to the directory of what comes after it."""
        name = inv.program or ""
        if name == "find":
            if not inv.options.flags.isdisjoint(_IN_FOUND_DIRECTORY):
                start = search_start(name, inv.args)
                self.wrapped = (
                    (*inv.via, name),
                    _changed(CWD.get(), Arg.of(start)) if start else RUNTIME_DIR,
                )
            return
        if name in CHDIR_OPTIONS:
            for option, value in inv.options.values:
                if option in CHDIR_OPTIONS[name]:
                    self.wrapped = ((*inv.via, name), _changed(CWD.get(), value))
            return
        operands = [
            arg for arg in inv.options.operands if not (arg.static and arg.text in ("-L", "-P", "-e", "-@"))
        ]
        if name == "popd":
            self.base = self.stack.pop() if self.stack and not operands else RUNTIME_DIR
            return
        if name == "pushd":
            if not operands or (operands[0].static and operands[0].text[:1] in ("+", "-")):
                self.base = RUNTIME_DIR  # swaps or rotates the stack
                return
            self.stack.append(self.base)
        self.base = _changed(self.base, operands[0] if operands else Arg.of("~"))

    def close(self) -> None:
        CWD.reset(self.token)


_IN_FOUND_DIRECTORY = frozenset({"-execdir", "-okdir"})


def _changed(base: str | None, target: Arg) -> str | None:
    """The directory ``cd TARGET`` leads to from ``base`` (``None``: the working tree), lexically."""
    other_home = target.text.startswith("~") and not (target.text == "~" or target.text.startswith("~/"))
    if not target.static or target.globbing or target.text in ("-", "") or other_home:
        return RUNTIME_DIR  # a run-time value, the previous directory, another user's home
    path = resolve(target.text, base) if base is not None else target.text
    if path == RUNTIME_DIR:
        return path
    if path.startswith("/"):
        return norm_path(path)
    if path.startswith("~"):
        return path.rstrip("/") or "~"
    path = norm_path(path)
    if path == ".." or path.startswith("../"):
        return RUNTIME_DIR  # above the working tree: where it leads is not known
    return None if path == "." else path


_HOME_PATH = re.compile(r"/(?:home|Users)/[^/]+|/root(?=/|$)")
"""A home directory named by its absolute path (linear: no nested repetition)."""


def _unwritable(path: str) -> bool:
    """A place whose programs are trusted: outside the working tree and the scratch areas, and in the home only where
    tools are installed (``~/.local/bin``): a visible directory there (``~/bin``) may hold anything the user put there."""
    return not visible_in_home(path) if path.startswith("~") else lexically_outside(path, replaced=True)


def _foreign_program(inv: Invocation) -> str | None:
    """Why running a program named by a path deserves a look: a file the working tree or a scratch area holds may be
    anything (``cp /bin/rm ./cat && ./cat -rf /``), whatever its name. The system's program directories and other places
    the catalogue lets no command write are trusted; so are a project's own scripts and tools (``./gradlew``,
    ``node_modules/.bin/jest``)."""
    path = resolve(inv.origin)
    name = inv.program or ""
    home = _HOME_PATH.match(path)
    if home is not None:
        path = (
            "~" + path[home.end() :]
        )  # /home/u/bin/cat is ~/bin/cat: writable like the rest of the home directory
    climbs = not path.startswith(("/", "~")) and (norm_path(path) + "/").startswith("../")
    if path != RUNTIME_DIR and not climbs and _unwritable(path):
        return None  # /usr/bin/rm, ~/.local/bin/black: where nothing allowed writes (../x: another project's file)
    if path != RUNTIME_DIR and not path.startswith(("/", "~")) and in_tree(path):
        folder = posixpath.dirname(norm_path(path))
        if name in PROJECT_SCRIPTS or any(folder == d or folder.endswith("/" + d) for d in PROJECT_BIN_DIRS):
            return None
        if name in PROJECT_BINSTUBS and folder == "bin":
            return None
        return f"runs {inv.origin}, a file in the working tree, not the system's {name}"
    return f"runs {inv.origin}, a file outside the system's program directories, not the system's {name}"


_INDEX_OPTIONS = ("-i", "--index-url", "--extra-index-url", "-f", "--find-links")


def _other_index(inv: Invocation) -> str | None:
    """``pip install`` into a virtual environment from another index or location than the configured one, or of a
    package named by where it comes from (``https://.../x.whl``, ``git+https://...``), as ``npm install``'s."""
    for arg in inv.args:
        if (
            not arg.static
            or arg.text in _INDEX_OPTIONS
            or arg.text.startswith(("--index-url=", "--extra-index-url=", "--find-links="))
        ):
            return f"installs packages from a source given in an option or known only at run time ({inv.program} install)"
    held = _held_operand(ADD_PACKAGE, inv.options.operands)
    return (
        f"{ADD_PACKAGE.hold_operands[held[0]]} ({inv.program} install {held[1]})"
        if held is not None
        else None
    )


_VENV_BIN = re.compile(r"^(?:\./)?(?:\.venv|venv|env|\.env)/bin/pip3?$")
"""A virtual environment's pip in the working tree, named by its path."""
_PIP_INSTALLS = frozenset(f"{INSTALLS} ({name} install)" for name in ("pip", "pip3"))


def _program(inv: Invocation) -> str | None:
    name = inv.program or ""
    if name in _ARITHMETIC and any(arg.static and _EXPANDS_LATER.search(arg.text) for arg in inv.args):
        where = "a variable's value used in arithmetic" if name == "((" else name
        return f"evaluates text as arithmetic or a subscript, which can run commands ({where})"
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
    if name in SENDERS:
        reason = why_sends(inv)
        if reason is not None:
            return reason
    special = _SPECIAL.get(name)
    if special is not None:
        reason = special(inv)
        if reason is not None:
            return reason
    entry = CATALOGUE.get(name)
    return f"unknown program `{name}`" if entry is None else _catalogued(inv, name, entry)


def _catalogued(inv: Invocation, name: str, entry: Entry) -> str | None:
    if name == "kubectl" and _kube_dry_run(inv):
        return _options(inv, name, entry, _option_words(inv.args), ())  # (--kubeconfig)
    return _entry(inv, name, entry, 0)


_KUBE_DRY = frozenset({"client", "server", "true"})
_KUBE_SOURCES = frozenset({"-f", "--filename", "-k", "--kustomize"})


def _kube_dry_run(inv: Invocation) -> bool:
    """``kubectl apply|create|delete|... --dry-run=client|server`` (:data:`KUBE_DRY_RUNS`): nothing changes. Its manifests
    come from the working tree, standard input or a URL; an option that reads another file (``--from-file``,
    ``--from-env-file``, ``-o go-template-file=``, ``--template``) could print a secret, and keeps it held."""
    operands = inv.options.operands
    if not operands or not operands[0].static or operands[0].text not in KUBE_DRY_RUNS:
        return False
    if operands[0].text == "create" and len(operands) > 1 and operands[1].text == "token":
        return False  # a token is issued whatever the mode
    words = _option_words(inv.args)
    if not all(a.static for a in words):
        return False
    modes = [w.text.partition("=")[2] or "true" for w in words if w.text.partition("=")[0] == "--dry-run"]
    if not modes or modes[-1] not in _KUBE_DRY:
        return False
    for _, value in option_values(words, _KUBE_SOURCES):
        if (
            value.text != "-"
            and not value.text.startswith(("https://", "http://"))
            and not in_tree(value.text)
        ):
            return False
    return not any(map(_kube_reads_file, words))


def _kube_reads_file(word: Arg) -> bool:
    """An option naming a file other than the manifests (``--from-file``, ``--template``), or a value naming one (``-o
    go-template-file=PATH``)."""
    text = word.text.casefold()
    name = text.partition("=")[0]
    if "file=" in text or "template" in text:
        return name not in _KUBE_SOURCES
    return text.startswith("-") and "file" in name and name not in _KUBE_SOURCES


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
    replaced = name in REPLACERS
    if entry.moves:
        return moved(operands[:-1]) or written(operands[-1:], need_static=True, replaced=True)
    if entry.writes == "operands":
        return written(operands, entry.static_operands, "changes", replaced=replaced)
    if entry.writes == "creates":
        return written(_not_in_home(operands), entry.static_operands, "changes")
    if entry.writes == "after_first":
        # with --reference=FILE no operand is the mode: all are changed
        # (chmod -x FILE: the mode was an option word, so every operand is a file)
        first = 0 if _given(_REFERENCE, options) or _mode_as_option(inv) else 1
        return _found_outside(operands[first:], inv) or written(
            [arg for arg in operands[first:] if not _found(arg, inv)],
            entry.static_operands,
            "changes",
            replaced=replaced,
        )
    if entry.writes == "last":
        return _copied(inv, name, entry, replaced)
    return None


_REFERENCE = {"--reference": ""}


def _mode_as_option(inv: Invocation) -> bool:
    return inv.program == "chmod" and any(
        arg.static and MODE_AS_OPTION.fullmatch(arg.text) for arg in inv.args
    )


def _copied(inv: Invocation, name: str, entry: Entry, replaced: bool) -> str | None:
    """``cp``/``mv``/``rsync``/``install``: the destination must stay in the tree, and no source may be endless."""
    operands = inv.options.operands
    unknown = next((arg for arg in operands[:-1] if not arg.static and not _found(arg, inv)), None)
    if entry.static_operands and unknown is not None:
        return written((unknown,), need_static=True)
    reason = written(operands[-1:], entry.static_operands, remote=True, replaced=replaced)
    endless = next((arg.text for arg in operands if arg.static and arg.text in _ENDLESS), None)
    if reason is None and endless is not None:
        return f"copies {endless}, which never ends, filling the disk ({name})"
    return reason


def _not_in_home(operands: Sequence[Arg]) -> list[Arg]:
    """The operands that are not static paths in the visible part of the home directory, where they point (``cd ~ &&``)."""
    return [arg for arg in operands if not (arg.static and visible_in_home(resolve(arg.text)))]


def _found_outside(args: Sequence[Arg], inv: Invocation) -> str | None:
    """Why the names ``find -exec`` fills in may be outside the working tree: its search root is (``find /etc -exec chmod
    +x {} +``), or is known only at run time. Under a root in the tree they are in it (``find . -type f -exec chmod 644
    {} +`` changes modes there, as ``chmod -R`` would)."""
    for arg in args:
        if _found(arg, inv) and (not arg.prefix or outside(arg.prefix)):
            where = shown(arg.prefix) if arg.prefix else "a root known only at run time, or through links"
            return f"changes files found under {where}"
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


def _search_path(value: str) -> str | None:
    """Why a ``PATH`` extended at run time (``$PWD/bin:$PATH``) deserves a look: a directory in it that commands the catalogue
    allows can write (the working tree, ``/tmp``, the home directory), so ``cat`` may run a file put there; a project's tool
    directory (``$PWD/node_modules/.bin``) is fine, like :func:`_foreign_program`'s."""
    for entry in value.split(":"):
        if _OUTPUT_MARK in entry:
            continue  # (the value it had: $PATH)
        home = _HOME_PATH.match(entry)
        path = "~" + entry[home.end() :] if home is not None else entry
        if path and _unwritable(path.rstrip("/") + "/x"):
            continue  # (a directory where no file can be put by an allowed command)
        folder = norm_path(path) if path else "."
        if not path.startswith(("/", "~")) and any(
            folder == d or folder.endswith("/" + d) for d in PROJECT_BIN_DIRS
        ):
            continue
        return f"makes programs found in {entry or '.'}, where files can be put"
    return None


_OUTPUT_MARK = "\ufffc"
"""What stands for an expansion in an argument's text."""
_SPLITS_INPUT = frozenset({"read", "mapfile", "readarray"})
"""Builtins for which ``IFS`` only says how to split what they read."""


def _assigned(inv: Invocation) -> str | None:
    """``export``/``declare``/``read``/``printf -v``... of a variable that makes later programs run code."""
    for arg in inv.args:
        if not arg.static and arg.prefix.startswith("PATH="):
            reason = _search_path(arg.text[5:])
            if reason is not None:
                return f"{reason} ({inv.program} PATH)"
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
    if name in ("xargs", "parallel"):
        reason = _unbounded_jobs(inv)
        if reason is not None:
            return reason
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
    """A static path in the working tree: relative, and not climbing out of it (from the current directory, :data:`CWD`;
    ``-``, standard input, is not)."""
    return text != "-" and lexically_in_tree(resolve(text))


def lexically_in_tree(text: str) -> bool:
    """:func:`in_tree` from the working tree itself."""
    if text.startswith(("/", "~")) or text == RUNTIME_DIR:
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
    ``-o FILE``, ``-oFILE``, ``-xo FILE`` (a cluster; with ``long_words``, options are whole words: ``-toolexec=x``), and
    a long option abbreviated (``--outp=FILE``)."""
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
            elif text.startswith("--") and name.startswith("--"):
                # a GNU abbreviation (sort --outp=FILE, git diff --out FILE): taken as the option, even if ambiguous
                given, equals, rest = text.partition("=")
                if len(given) > 2 and name.startswith(given):
                    value = Arg.of(rest) if equals else following
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
        reason = None if value.static else run_time_target(value)
        if reason is not None:
            return f"{reason} ({name} {option})"
    for option, value in option_values(words, entry.code_files, entry.long_words) if entry.code_files else ():
        if not value.static:
            return f"runs code from a file known only at run time ({name} {option})"
        if value.text == "-":
            return f"runs code read from its standard input ({name} {option} -)"
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
    if _only_info(inv.args, kind) or _syntax_only(inv.args, kind):
        return None
    spec = INTERPRETERS[kind]
    reading = read_code(inv.args, spec)
    name = inv.program
    if spec.shell:
        if reading.script is not None:
            return _shell_script(inv, reading.script, reading.start)
        if not reading.code and not reading.stdin:
            return f"starts a shell ({name})"
        if not reading.code and not any(r.op in _INLINE_INPUT for r in inv.redirects):
            return f"reads commands from its standard input ({name})"
        return None  # the code itself was analyzed: each command it runs is judged on its own
    if kind == "node" and _node_tests(inv.args):
        return None
    given = _input_code(inv, reading)
    if kind == "python":
        return _python(inv, reading.code or ([Arg.of(given)] if given is not None else []))
    if kind in ("awk", "gawk", "mawk", "nawk"):
        return _awk(inv)
    checker = _ONE_LINERS.get(kind)
    if given is not None and checker is not None:
        return None if harmless_input(kind, inv.args, given) else f"runs {kind} code that is not checked"
    verdict = checker(inv.args) if checker is not None else False
    if verdict is True:
        return None
    return verdict or f"runs {kind} code that is not checked"


_SHELL_TRACING = re.compile(r"-[exuv]+")
"""Shell options that only trace or stop on errors (``bash -ex ./gradlew``)."""


def _project_script(inv: Invocation) -> tuple[str, Arg, int] | None:
    """A shell given a project's own launch script (``sh ./gradlew``, ``bash mvnw -q package``): the script's catalogue
    name (:data:`PROJECT_SCRIPTS`), its path and where it is among the arguments; ``None`` for any other use."""
    spec = INTERPRETERS.get(family(inv.program or ""))
    if spec is None or not spec.shell:
        return None
    reading = read_code(inv.args, spec)
    script = reading.script
    if script is None or not script.static or not in_tree(script.text):
        return None
    program = posixpath.basename(script.text)
    own = inv.args[: reading.start]
    if program not in PROJECT_SCRIPTS or not all(a.static and _SHELL_TRACING.fullmatch(a.text) for a in own):
        return None
    return program, script, reading.start


def _shell_script(inv: Invocation, script: Arg, start: int) -> str | None:
    """A shell running a script: held unless it is a project's launch script, then judged as running it directly."""
    found = _project_script(inv)
    if found is None:
        return f"runs a shell script whose code is not checked ({inv.program} {script.text})"
    program, _, start = found
    rest = inv.args[start + 1 :]
    direct = Invocation(
        program, rest, inv.redirects, options=parse_options(rest, OPTION_SPECS.get(program, PLAIN))
    )
    return _program(direct)


_NODE_TEST_FLAGS = frozenset(
    {
        *("--test", "--test-only", "--experimental-test-coverage", "--test-force-exit", "--no-warnings"),
        *("--enable-source-maps", "--experimental-test-snapshots", "--test-update-snapshots"),
    }
)
_NODE_TEST_VALUES: Mapping[str, re.Pattern[str]] = {
    "--test-reporter": re.compile(r"spec|tap|dot|junit|lcov"),
    "--test-reporter-destination": re.compile(r"stdout|stderr|[\w.-][\w./-]*"),
    "--test-name-pattern": re.compile(r".*", re.DOTALL),
    "--test-skip-pattern": re.compile(r".*", re.DOTALL),
    "--test-concurrency": re.compile(r"[0-9]{1,4}"),
    "--test-timeout": re.compile(r"[0-9]{1,9}"),
    "--test-shard": re.compile(r"[0-9]{1,4}/[0-9]{1,4}"),
    "--test-coverage-include": re.compile(r".*", re.DOTALL),
    "--test-coverage-exclude": re.compile(r".*", re.DOTALL),
}
"""``node --test`` options with a value, and the values that only choose (a reporter that is a module path loads code;
a destination is a file in the working tree: no ``..``, checked by :func:`in_tree`)."""


def _node_tests(args: Sequence[Arg]) -> bool:
    """``node --test [options] [files]``: node's own test runner on the project's tests, as ``jest``/``vitest`` (and held
    after a fetch, :func:`_runs_project_code`); any option that loads or runs other code (``-r``, ``--import``,
    ``--loader``, ``-e``, ``--inspect``, a reporter module) or watches (``--watch`` never ends) keeps it held."""
    words = [a.text for a in args]
    if "--test" not in words or not all(a.static for a in args):
        return False
    i = 0
    while i < len(words):
        word = words[i]
        i += 1
        if word == "--":
            return all(map(in_tree, words[i:]))
        if not word.startswith("-"):
            if not in_tree(word):
                return False
            continue
        name, equals, value = word.partition("=")
        if not equals and name in _NODE_TEST_FLAGS:
            continue
        pattern = _NODE_TEST_VALUES.get(name)
        if pattern is None:
            return False
        if not equals:
            if i >= len(words):
                return False
            value, i = words[i], i + 1
        if not pattern.fullmatch(value) or (name == "--test-reporter-destination" and not in_tree(value)):
            return False
    return True


def _runs_project_code(inv: Invocation) -> bool:
    """It runs the project's code (:data:`RUNS_PROJECT_CODE`; ``sh ./gradlew``; ``node --test``): held after a fetch."""
    name = inv.program or ""
    if name in RUNS_PROJECT_CODE:
        return True
    kind = family(name)
    return (kind == "node" and _node_tests(inv.args)) or (
        kind in INTERPRETERS and _project_script(inv) is not None
    )


def _input_code(inv: Invocation, reading: Reading) -> str | None:
    """The code an interpreter reads from its standard input when that is its own here-document or here-string, passed
    unchanged (``python3 - <<'PY'``, ``node <<< CODE``: :attr:`Redir.code`); ``None`` for code from a pipe or a file,
    or when its code is elsewhere (``-c``, a script)."""
    if reading.code or not (
        reading.stdin or (reading.script is not None and reading.script.text in STDIN_PATHS)
    ):
        return None
    if reading.script is not None and not reading.script.static:
        return None
    last = next(
        (r for r in reversed(inv.redirects) if r.fd == 0 or (r.fd is None and r.op.startswith("<"))), None
    )
    return last.code if last is not None and last.op in _INLINE_INPUT else None


_ONE_LINERS: Mapping[str, Callable[[Sequence[Arg]], str | bool]] = {
    "node": harmless_node,
    "nodejs": harmless_node,
    "perl": harmless_perl,
    "php": harmless_php,
    "ruby": harmless_ruby,
}
"""Interpreters whose code given on the command line is checked (see :mod:`capfence.policy.shell.oneliners`)."""


_SYNTAX_CHECK: Mapping[str, tuple[str, str, str]] = {
    **dict.fromkeys(("sh", "bash", "dash", "zsh", "ksh", "mksh"), ("n", "vxeuf", "oO")),
    "ruby": ("c", "wv", "W"),
    "php": ("l", "nq", ""),
}
"""Per interpreter: the letter with which it only checks the syntax of its code and runs none of it, the letters that
may be clustered with it (they change only messages), and letters whose value follows (``-o posix``, ``-W0``).
Any other option (``ruby -rLIB`` loads and runs a library; ``php -dextension=x.so`` loads one; ``-e``/``-r`` give code
to run) makes the command not a syntax check."""
_SYNTAX_CHECK_LONG: Mapping[str, frozenset[str]] = {
    "php": frozenset({"--syntax-check"}),
    "node": frozenset({"--check", "-c"}),
    "nodejs": frozenset({"--check", "-c"}),
}


def _syntax_only(args: Sequence[Arg], kind: str) -> bool:
    """``bash -n deploy.sh``, ``php -l x.php``, ``ruby -c app.rb``, ``node --check x.js``: the code is parsed, never run.

    Only options before the first operand count (``bash script.sh -n`` runs the script with ``-n``); each is read
    letter by letter, its values skipped (``php -dmemory_limit=-1`` is ``-d``, not ``-l``).
    """
    check = _SYNTAX_CHECK.get(kind)
    words = _SYNTAX_CHECK_LONG.get(kind, frozenset())
    found = False
    skip = False
    for arg in args:
        if skip:
            skip = False
            continue
        if not arg.static or not arg.text.startswith("-") or arg.text in ("-", "--"):
            break
        if arg.text in words:
            found = True
            continue
        if check is None or arg.text.startswith("--"):
            return False
        flag, quiet, valued = check
        for j, letter in enumerate(arg.text[1:], start=2):
            if letter in valued:
                skip = j == len(arg.text) and letter in "oO"  # a shell's -o NAME; ruby's -W level is attached
                break
            if letter not in flag + quiet:
                return False
            found = found or letter == flag
    return found


_INFO_OPTIONS = frozenset({"--version", "--help", "-V", "-h"})
"""Options with which an interpreter prints and exits, reading no code (not for shells: ``sh -h`` is ``hashall``)."""
_SHELL_INFO_OPTIONS = frozenset({"--version", "--help"})
_VERSION_V = frozenset({"perl", "ruby", "node", "nodejs", "php", "lua", "luajit", "tsx", "ts-node"})
"""Interpreters whose ``-v`` prints the version and exits (``python -v`` is verbose and then reads code from standard
input; ``bash -v`` echoes the commands it reads; ``awk -v`` assigns a variable)."""


_PROGRAM_INFO_OPTIONS = frozenset({"--version", "-V", "--help", "-h", "-v", "-version"})
"""Options with which the other code runners (``java -version``, ``gdb --version``) print and exit."""


def _only_info(args: Sequence[Arg], kind: str = "") -> bool:
    """Only options that print and exit; ``kind`` is an interpreter family, ``""`` for another code runner."""
    shell = bool(kind) and INTERPRETERS[kind].shell
    allowed = _SHELL_INFO_OPTIONS if shell else _INFO_OPTIONS if kind else _PROGRAM_INFO_OPTIONS
    return bool(args) and all(
        a.static and (a.text in allowed or (a.text == "-v" and kind in _VERSION_V)) for a in args
    )


def _python(inv: Invocation, code: list[Arg | None]) -> str | None:
    args = inv.args
    if _python_inspects(args):
        return "reads more python code from its standard input after the rest (python -i)"
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
    if not any(a.static and (a.text == "-" or not a.text.startswith("-")) for a in args):
        return "reads python code from its standard input"  # `python3 -v <<< CODE`, `python3 -q`, `python3`
    return "runs a python script whose code is not checked"


def _python_inspects(args: Sequence[Arg]) -> bool:
    """``-i`` (alone or in a cluster: ``-ic``, ``-qi``) among python's options: after its script or ``-c`` code, it reads
    and runs code from its standard input, which is not checked."""
    skip = False
    for arg in args:
        if skip:
            skip = False
            continue
        if not arg.static or not arg.text.startswith("-") or arg.text in ("-", "--"):
            return False
        if arg.text.startswith("--"):
            continue
        for j, letter in enumerate(arg.text[1:], start=2):
            if letter == "i":
                return True
            if letter in "cm":
                return False  # the code or module follows: what comes after it is its sys.argv
            if letter in "WXQ":
                skip = j == len(arg.text)  # -W/-X take a value, attached or the next word
                break
    return False


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
    if module == "timeit":
        return _timeit(rest)
    if module in ("cProfile", "profile"):
        # -o FILE: where it writes the profile (before the script: the script's own options come after it)
        script = next(
            (
                i
                for i, arg in enumerate(rest)
                if not arg.text.startswith("-") and (i == 0 or rest[i - 1].text not in _PROFILE_VALUES)
            ),
            len(rest),
        )
        outputs = [value for _, value in option_values(_option_words(rest[:script]), ("-o",))]
        return written(outputs, need_static=True) or _runs_python(
            inv, rest, f"python -m {module}", _PROFILE_VALUES
        )
    if module in PYTHON_CODE_MODULES:
        return f"{PYTHON_CODE_MODULES[module]} (python -m {module})"
    program = PYTHON_MODULE_PROGRAMS.get(module)
    if program is not None:
        # the module is that program: the same arguments, the same judgement (python -m pre_commit try-repo URL)
        args = tuple(rest)
        if program in RUNNERS and runner_command(RUNNERS[program], args):
            # (the command a runner runs is analyzed only when the runner is the command's program)
            return f"runs a command through python -m {module}, which is not analyzed"
        return _program(
            Invocation(program, args, options=parse_options(args, OPTION_SPECS.get(program, PLAIN)))
        )
    if module in PYTHON_PATH_MODULES:
        return _module_paths(module, rest)
    if module in SAFE_PYTHON_MODULES:
        return None
    if module == "http.server":
        return "serves files over the network (python -m http.server)"
    return f"runs python module `{module}`, which is not in the catalogue"


_COVERAGE_VALUES = frozenset(
    {"--rcfile", "--source", "--include", "--omit", "--data-file", "--concurrency", "--context", "--debug"}
)


_PROFILE_VALUES = frozenset({"-o", "-s"})
_TIMEIT_VALUES = frozenset({"-n", "--number", "-r", "--repeat", "-u", "--unit"})
_TIMEIT_CODE = frozenset({"-s", "--setup"})


def _coverage(inv: Invocation) -> str | None:
    args = inv.args
    start = next((i for i, arg in enumerate(args) if arg.static and arg.text == "run"), None)
    return None if start is None else _runs_python(inv, args[start + 1 :], "coverage run", _COVERAGE_VALUES)


def _runs_python(inv: Invocation, args: Sequence[Arg], label: str, values: frozenset[str]) -> str | None:
    """``coverage run``/``python -m cProfile`` ``[-m] MODULE|SCRIPT ...`` run what ``python [-m]`` would: a module is judged
    as ``python -m`` judges it, a script is the project's own code in the tree (as ``pytest tests/``), held elsewhere."""
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.static:
            return f"runs a python script or module known only at run time ({label})"
        if arg.text == "-m":
            module = args[i + 1] if i + 1 < len(args) else None
            if module is None or not module.static:
                return f"runs a python module known only at run time ({label} -m)"
            return _python_module(inv, module.text, args[i + 2 :])
        if not arg.text.startswith("-"):
            return (
                None
                if in_tree(arg.text)
                else f"runs a python script outside the working tree ({label} {arg.text})"
            )
        i += 2 if arg.text in values else 1
    return None


def _timeit(args: Sequence[Arg]) -> str | None:
    """``python -m timeit [-s SETUP] STATEMENT...``: the setup and statements are code, checked as ``python -c``'s."""
    i = 0
    while i < len(args):
        arg = args[i]
        text = arg.text if arg.static else ""
        code: Arg | None = arg
        if text in _TIMEIT_VALUES or text in _TIMEIT_CODE:
            code = args[i + 1] if i + 1 < len(args) and text in _TIMEIT_CODE else None
            i += 1
        elif text.startswith("-") and text != "-":
            code = (
                None
                if text[:2] not in _TIMEIT_CODE and not text.startswith("--setup=")
                else Arg.of(text.partition("=")[2] if text.startswith("--") else text[2:])
            )
        if code is not None and not (code.static and harmless_python(code.text)):
            return "runs Python code given as an argument that is not checked (python -m timeit)"
        i += 1
    return None


_ARCHIVE_WRITES = frozenset({"-c", "--create", "-e", "--extract"})
_PYDOC_SERVES = frozenset({"-p", "-b"})


def _module_paths(module: str, rest: Sequence[Arg]) -> str | None:
    """``python -m unittest|doctest|pydoc|zipfile|tarfile``: the paths they import, run or write stay in the working tree."""
    texts = [arg.text for arg in rest if arg.static]
    if len(texts) < len(rest):
        return f"runs python module `{module}` on names known only at run time"
    if module == "pydoc" and _PYDOC_SERVES.intersection(texts):
        return "serves documentation over the network (python -m pydoc)"
    if module in ("zipfile", "tarfile"):
        if _ARCHIVE_WRITES.isdisjoint(texts):
            return None  # lists or tests an archive
        return written([arg for arg in rest if not arg.text.startswith("-")], need_static=True)
    if module == "json.tool":
        return written([arg for arg in rest if not arg.text.startswith("-")][1:], need_static=True)
    for text in texts:
        # an option's attached value (--start-directory=/x, -s/x) counts as a path too
        for path in (text, text.partition("=")[2], text[2:] if text.startswith("-") else ""):
            if path and path not in ("-", "--") and not path.startswith("-") and not in_tree(path):
                return f"{_PATH_MODULE_USES[module]} outside the working tree (python -m {module} {text})"
    return None


_PATH_MODULE_USES = {
    **dict.fromkeys(("unittest", "doctest", "pydoc"), "runs code"),
    **dict.fromkeys(("compileall", "py_compile", "build"), "writes compiled or built files"),
}


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
        "map",
        "filter",
        "next",
        "bytes",
        "frozenset",
        "ascii",
        "callable",
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
        # (pure computation on values given; the files they read are opened by the code, as open() below)
        "secrets",
        "csv",
        "base64",
        "binascii",
        "html",
        "unicodedata",
        "difflib",
        "shlex",
        "ipaddress",
        "pprint",
        "zlib",
        "bisect",
        "heapq",
        "tomllib",
        "colorsys",
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
    ast.AugAssign,
    ast.For,
    ast.With,
    ast.withitem,
    ast.If,
    ast.Pass,
    ast.Break,
    ast.Continue,
)


_PY_ROOTS = _PY_MODULES | _PY_CALLS
"""Names a call is trusted by: code that binds one of them (``sys = sys.modules["os"]``) is not harmless."""
_PY_HELD_ATTRS = frozenset(
    {
        # modules that the trusted modules import and that reach the system (``uuid.os``, ``json.codecs.open``)
        "os",
        "posix",
        "nt",
        "subprocess",
        "warnings",  # (calendar.warnings on Python 3.12: it can install a hook that runs on every warning)
        "types",  # (csv.types on Python 3.12+: types.FunctionType and CodeType build and run any code)
        "shutil",
        "io",
        "builtins",
        "importlib",
        "codecs",
        "encodings",
        "operator",
        "copyreg",
        "enum",
        "numbers",
        "socket",
        "ctypes",
        "pathlib",
        "signal",
        "tempfile",
        "threading",
        "multiprocessing",
        "pickle",
        "marshal",
        "runpy",
        "pdb",
        # the import machinery and the interpreter's hooks (``sys.modules["os"]``, ``sys.breakpointhook()`` runs pdb)
        "modules",
        "meta_path",
        "path_hooks",
        "path_importer_cache",
        "breakpointhook",
        "displayhook",
        "excepthook",
        "unraisablehook",
        "settrace",
        "setprofile",
        "addaudithook",
        "call_tracing",
        "remote_exec",
        "monitoring",
        # frames and what looks attributes up by a string: they reach any module's globals (``f_globals["os"]``)
        "gi_frame",
        "cr_frame",
        "ag_frame",
        "tb_frame",
        "f_globals",
        "f_builtins",
        "f_locals",
        "f_back",
        "get_field",
        "get_value",
        # modules that the trusted ones added for python -c import
        "hmac",
        "contextlib",
        "tokenize",
    }
)
"""Attributes that lead from a trusted module to one that is not, or to code the interpreter runs later."""


def harmless_python(code: str) -> bool:
    """Python code that only computes and prints: literals, arithmetic, a few builtins, safe standard modules.

    A call is trusted by its root name, so the code must not rebind a root (assignment, comprehension target,
    ``import json as sys``, ``from sys import exit as print``) nor reach beyond the trusted modules through their
    attributes (``uuid.os``, ``sys.modules``). Beyond the trusted modules: ``open(CONSTANT)`` read-only (what ``cat``
    may read), named read-only functions of ``os``/``os.path``/``shutil`` (:data:`_PY_LIMITED`), and a third-party
    package imported only to read its version (:data:`_PY_PROBES`); methods may be called on what a call, a
    subscript or a variable of the code gives (``datetime.date.today().isoformat()``)."""
    if len(code) > 2000:
        return False
    try:
        tree = ast.parse(code)
        nodes = list(ast.walk(tree))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    scope = _PyScope()
    for node in nodes:
        if not isinstance(node, _PY_NODES):
            return False
        if isinstance(node, ast.Import | ast.ImportFrom) and not scope.imports(node):
            return False
    # the names the code binds (before the checks: a comprehension's target comes after its element in the walk)
    scope.variables = {n.id for n in nodes if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}
    parents = {id(child): node for node in nodes for child in ast.iter_child_nodes(node)}
    return all(_harmless_node(node, scope, parents) for node in nodes)


def _harmless_node(node: ast.AST, scope: _PyScope, parents: Mapping[int, ast.AST]) -> bool:
    if isinstance(node, ast.Name):
        if node.id in scope.limited or node.id in scope.probes:
            return isinstance(node.ctx, ast.Load) and scope.reached(node, parents)
        if not isinstance(node.ctx, ast.Load) and (node.id in _PY_ROOTS or node.id in scope.functions):
            return False
        return not _dunder(node) or _reads_file(parents.get(id(node)), node)
    if isinstance(node, ast.Attribute):
        if node.attr in _PY_HELD_ATTRS:
            return False
        return not _dunder(node) or (node.attr in _PY_VERSION_ATTRS and _probe_of(node.value, scope))
    if isinstance(node, ast.Call):
        return _safe_call(node, scope)
    if isinstance(node, ast.BinOp | ast.AugAssign) and isinstance(node.op, ast.Pow):
        return isinstance(node, ast.BinOp) and _small_power(node.left, node.right)
    return True


_MAX_EXPONENT = 10_000


def _small_power(base: ast.expr, exponent: ast.expr) -> bool:
    """``2**64``, ``x**0.5``: a literal exponent of at most 10 000, on a base that is not a power itself. A tower
    (``9**9**9**9``, ``pow(9, 9**99)``) would compute for hours and fill memory."""
    if isinstance(exponent, ast.UnaryOp) and isinstance(exponent.op, ast.USub | ast.UAdd):
        exponent = exponent.operand
    value = exponent.value if isinstance(exponent, ast.Constant) else None
    powered = (isinstance(base, ast.BinOp) and isinstance(base.op, ast.Pow)) or (
        isinstance(base, ast.Call) and isinstance(base.func, ast.Name) and base.func.id == "pow"
    )
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and abs(value) <= _MAX_EXPONENT
        and not powered
    )


_PY_VERSION_ATTRS = frozenset(
    {"__version__", "__file__", "VERSION", "version", "version_info", "get_version"}
)
"""What code may read of a third-party package it imports (``numpy.__version__``, ``django.get_version()``)."""
_PY_LIMITED: Mapping[str, frozenset[str]] = {
    "os": frozenset(
        {
            "cpu_count",
            "process_cpu_count",
            "getcwd",
            "listdir",
            "getpid",
            "getppid",
            "getuid",
            "geteuid",
            "getgid",
            "getegid",
            "getlogin",
            "getloadavg",
            "uname",
            "get_terminal_size",
            "sep",
            "linesep",
            "pathsep",
            "curdir",
            "name",
            "path",
        }
    ),
    "os.path": frozenset(
        {
            "join",
            "basename",
            "dirname",
            "split",
            "splitext",
            "normpath",
            "abspath",
            "realpath",
            "relpath",
            "expanduser",
            "commonpath",
            "commonprefix",
            "isabs",
            "exists",
            "lexists",
            "isfile",
            "isdir",
            "islink",
            "getsize",
            "getmtime",
            "getctime",
            "getatime",
            "sep",
        }
    ),
    "shutil": frozenset({"which", "disk_usage", "get_terminal_size"}),
    "site": frozenset(
        {"getsitepackages", "getusersitepackages", "USER_SITE", "USER_BASE", "ENABLE_USER_SITE"}
    ),
    "sqlite3": frozenset({"sqlite_version", "sqlite_version_info"}),
    "ssl": frozenset({"OPENSSL_VERSION", "OPENSSL_VERSION_INFO", "HAS_TLSv1_3"}),
    "socket": frozenset({"gethostname"}),
    "getpass": frozenset({"getuser"}),
    "tempfile": frozenset({"gettempdir"}),
    "multiprocessing": frozenset({"cpu_count"}),
    "importlib": frozenset({"metadata"}),
    "importlib.metadata": frozenset({"version"}),
    "yaml": frozenset({"safe_load", "safe_load_all", "safe_dump", "__version__"}),
}
"""Modules held as a whole (``os.system``, ``shutil.rmtree``, ``yaml.load`` builds any object) of which code may use
only these names, each read-only and giving plain data (``os.listdir``, ``os.path.join``, ``shutil.which``; not
``site.addsitedir``, which runs ``.pth`` files, nor ``socket.gethostbyname``, which asks the network): ``import os`` then ``os.X``,
``import os.path``, ``from os.path import join``. ``os.environ`` is not among them (it prints every secret)."""
_PY_STDLIB = frozenset(sys.stdlib_module_names)
_PY_PACKAGES = frozenset(
    {
        *("numpy", "pandas", "scipy", "sklearn", "matplotlib", "seaborn", "statsmodels", "sympy", "networkx"),
        *(
            "torch",
            "torchvision",
            "torchaudio",
            "tensorflow",
            "keras",
            "jax",
            "flax",
            "transformers",
            "datasets",
        ),
        *(
            "tokenizers",
            "accelerate",
            "peft",
            "safetensors",
            "huggingface_hub",
            "tiktoken",
            "onnx",
            "onnxruntime",
        ),
        *(
            "xgboost",
            "lightgbm",
            "catboost",
            "numba",
            "polars",
            "pyarrow",
            "dask",
            "ray",
            "pyspark",
            "triton",
        ),
        *("django", "flask", "fastapi", "starlette", "uvicorn", "gunicorn", "tornado", "aiohttp", "httpx"),
        *(
            "requests",
            "urllib3",
            "certifi",
            "pydantic",
            "sqlalchemy",
            "alembic",
            "psycopg2",
            "psycopg",
            "pymysql",
        ),
        *("redis", "celery", "boto3", "botocore", "jinja2", "click", "typer", "rich", "pytest", "setuptools"),
        *(
            "pip",
            "wheel",
            "attr",
            "attrs",
            "cryptography",
            "six",
            "dateutil",
            "pytz",
            "lxml",
            "bs4",
            "PIL",
            "cv2",
        ),
        *("openai", "anthropic", "langchain", "tqdm", "black", "mypy", "toml", "tomli", "packaging", "grpc"),
        *("docker", "kubernetes", "paramiko", "ansible", "scrapy", "selenium", "playwright", "nltk", "spacy"),
        *("plotly", "streamlit", "gradio", "markdown", "pygments", "sphinx", "zmq", "websockets", "orjson"),
    }
)
"""Well-known packages that ``python -c`` may import to read their version (``import numpy; print(numpy.__version__)``).
A named list, not any name: ``import deploy`` runs ``./deploy.py``, as ``python deploy.py`` would (held); a file the
agent wrote under one of these names, as under a standard module's (``json.py``), is a known limit."""


class _PyScope:
    """The names a ``python -c`` code binds: limited modules, third-party packages probed, functions, variables."""

    def __init__(self) -> None:
        self.limited: dict[str, str] = {}
        """Name bound -> the limited module it is (``os``, ``path`` from ``from os import path``)."""
        self.probes: set[str] = set()
        self.functions: set[str] = set()
        """Names of read-only functions imported from a limited module (``from shutil import which``)."""
        self.variables: set[str] = set()

    def imports(self, node: ast.Import | ast.ImportFrom) -> bool:
        """Record an import; whether it imports only what code may use."""
        if isinstance(node, ast.ImportFrom):
            return self._imports_from(node)
        for alias in node.names:
            if alias.name.split(".")[0] in _PY_MODULES:
                if not _safe_import(ast.Import(names=[alias])):
                    return False
                if alias.asname is not None:
                    self.functions.add(alias.asname)  # (``import datetime as dt``)
            elif alias.name in _PY_LIMITED and alias.asname is None:
                self.limited[alias.name.split(".")[0]] = alias.name.split(".")[
                    0
                ]  # (``import os.path`` binds os)
            elif _third_party(alias.name):
                # importing runs the package's own code, which is trusted like a test runner's (see the known limits)
                self.probes.add(alias.asname or alias.name)
            else:
                return False
        return not (self.probes | self.limited.keys()) & _PY_ROOTS

    def _imports_from(self, node: ast.ImportFrom) -> bool:
        if node.level or node.module is None:
            return False
        if node.module.split(".")[0] in _PY_MODULES:
            # (``from datetime import date``: ``date`` is ``datetime.date``, trusted as it is)
            self.functions.update(alias.asname or alias.name for alias in node.names)
            return _safe_import(node)
        allowed = _PY_LIMITED.get(node.module)
        if allowed is None or any(alias.asname or (alias.name not in allowed) for alias in node.names):
            return False
        for alias in node.names:
            dotted = f"{node.module}.{alias.name}"
            if dotted in _PY_LIMITED:
                self.limited[alias.name] = dotted  # (``from os import path``)
            else:
                self.functions.add(alias.name)
        return True

    def reached(self, name: ast.Name, parents: Mapping[int, ast.AST]) -> bool:
        """A limited module or probed package used only through a name it allows (``os.path.join``, ``np.__version__``)."""
        node: ast.AST = name
        module = self.limited.get(name.id)
        while module is not None:
            parent = parents.get(id(node))
            if not isinstance(parent, ast.Attribute) or parent.attr not in _PY_LIMITED[module]:
                return False
            node = parent
            module = f"{module}.{parent.attr}" if f"{module}.{parent.attr}" in _PY_LIMITED else None
        if name.id in self.probes:
            parent = parents.get(id(name))
            return isinstance(parent, ast.Attribute) and parent.attr in _PY_VERSION_ATTRS
        return True


def _third_party(name: str) -> bool:
    return name in _PY_PACKAGES and name not in _PY_STDLIB


def _probe_of(node: ast.expr, scope: _PyScope) -> bool:
    return isinstance(node, ast.Name) and node.id in scope.probes


def _no_secret_named(call: ast.Call) -> bool:
    """No constant argument names a secret (``os.listdir("/root/.ssh")``), as for ``ls``."""
    words = [a.value for a in call.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
    return why_secret("ls", words) is None


_READ_MODES = frozenset({"r", "rb", "rt", "br", "tr"})
_READ_OPTIONS = frozenset({"mode", "encoding", "errors", "newline"})


def _reads_file(call: ast.AST | None, func: ast.Name) -> bool:
    """``open("VERSION")``, ``open("data.csv", "rb", encoding="utf-8")``: a file named by a constant, opened for
    reading, that ``cat`` may read (no secret; no device, whose reading may not end)."""
    if not (
        isinstance(call, ast.Call) and call.func is func and func.id == "open" and 1 <= len(call.args) <= 2
    ):
        return False
    constants = [*call.args, *(k.value for k in call.keywords)]
    if not all(isinstance(c, ast.Constant) and isinstance(c.value, str) for c in constants):
        return False
    path = call.args[0].value  # type: ignore[attr-defined]
    modes = [c.value for c in call.args[1:]] + [k.value.value for k in call.keywords if k.arg == "mode"]  # type: ignore[attr-defined]
    return (
        all(k.arg in _READ_OPTIONS for k in call.keywords)
        and all(mode in _READ_MODES for mode in modes)
        and not special_file(path)
        and why_secret("cat", [path]) is None
    )


def _safe_import(node: ast.Import | ast.ImportFrom) -> bool:
    """An import of trusted modules that binds no trusted root to something else and no held attribute."""
    if isinstance(node, ast.ImportFrom):
        return (
            (node.module or "").split(".")[0] in _PY_MODULES
            and node.level == 0
            and all(
                alias.name != "*"
                and alias.name not in _PY_HELD_ATTRS
                # (``from datetime import datetime`` binds the root to one of its attributes, trusted as well)
                and (alias.asname in (None, alias.name) or alias.asname not in _PY_ROOTS)
                for alias in node.names
            )
        )
    return all(
        alias.name.split(".")[0] in _PY_MODULES
        and (alias.asname in (None, alias.name) or alias.asname not in _PY_ROOTS)
        for alias in node.names
    )


def _dunder(node: ast.Name | ast.Attribute) -> bool:
    name = node.id if isinstance(node, ast.Name) else node.attr
    if name == "_" and isinstance(node, ast.Name):
        return False  # the usual throwaway variable (``for _ in ...``)
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
        # (help() imports modules and runs a pager; license() reads standard input)
        "help",
        "license",
        "credits",
        "copyright",
    )


def _safe_call(call: ast.Call, scope: _PyScope) -> bool:
    func = call.func
    if isinstance(func, ast.Name):
        if func.id in scope.functions:
            return _no_secret_named(call)
        if func.id == "pow" and len(call.args) == 2:  # (with a modulus, pow(a, b, m) is quick)
            return _small_power(call.args[0], call.args[1])
        return func.id in _PY_CALLS or _reads_file(call, func)
    if not isinstance(func, ast.Attribute):
        return False  # (``f()()``, ``x[0]()``: a callable the code got from somewhere)
    root: ast.expr = func
    while isinstance(root, ast.Attribute):
        root = root.value
    if not isinstance(root, ast.Name):
        # a method of what a literal, a call or a subscript gives: each call and attribute in it is checked on its own
        return True
    if root.id in scope.limited and not _no_secret_named(call):
        return False
    if root.id in scope.probes:
        # django.get_version(), numpy.__version__.split("."): a version, not the package's other functions
        version = (
            func.value.attr if isinstance(func.value, ast.Attribute) and func.value.value is root else ""
        )
        return (func.value is root and func.attr == "get_version") or version in ("__version__", "VERSION")
    return (
        root.id in _PY_ROOTS
        or root.id in scope.functions
        or root.id in scope.limited
        or root.id in scope.variables
    )


def _awk(inv: Invocation) -> str | None:
    code, reason = awk_code(inv.args)
    if reason is not None:
        return reason
    for arg in code:
        if not arg.static:
            return "runs awk code built at run time"
        reason = awk_risk(arg.text)
        if reason is not None:
            return reason
    return None


# --- programs whose options decide ------------------------------------------------------------------


def _sed(inv: Invocation) -> str | None:
    parsed = sed_args(inv.args)
    if isinstance(parsed, str):
        return parsed
    if parsed.files:
        script = parsed.files[0].text
        if script in STDIN_PATHS:
            return f"runs a sed script read from its standard input (sed -f {script})"
        return f"runs a sed script whose code is not checked (sed -f {script})"
    for arg in parsed.scripts:
        if not arg.static:
            return "sed script built at run time"
        reason = sed_risk(arg.text)
        if reason is not None:
            return reason
    if parsed.suffixes is None:
        return None
    for suffix in parsed.suffixes:
        if "/" in suffix or "*" in suffix:
            return f"sed -i keeps backups named by `{suffix}`, which can put them outside the working tree"
    operands = parsed.operands
    if parsed.scripts and parsed.scripts[0].static and not parsed.scripts[0].text and operands:
        # BSD `sed -i '' SCRIPT FILE`: the empty word is the suffix there, and the script comes next
        reason = sed_risk(operands[0].text) if operands[0].static else "sed script built at run time"
        if reason is not None:
            return reason
    # (sed -i writes a new file and renames it over the old one: /dev/null would become a file)
    return written(operands, need_static=True, verb="edits", replaced=True)


def _transfer(inv: Invocation) -> str | None:
    flags = inv.options.flags
    if flags & _UPLOADS or any(
        f.startswith(("--data", "--form", "--upload", "--post", "--json")) for f in flags
    ):
        return f"sends data to a server ({inv.program})"
    if inv.program in _HTTPIE and _httpie_sends(inv):
        return f"sends data to a server ({inv.program})"
    for option, value in inv.options.values:
        if option in ("-X", "--request") and value.text.upper() in _WRITE_METHODS:
            return f"sends a {value.text.upper()} request ({inv.program})"
        if option in _TRANSFER_OUTPUTS and value.static and value.text != "-" and outside(value.text):
            return f"writes {value.text}, outside the working tree"
        reason = run_time_target(value) if option in _TRANSFER_OUTPUTS and not value.static else None
        if reason is not None:
            return f"{reason} ({inv.program} {option})"
    for option, value in option_values(_option_words(inv.args), _TRANSFER_LATE_OUTPUTS):
        if value.static and value.text != "-" and outside(value.text):
            return f"writes {value.text}, outside the working tree ({inv.program} {option})"
    if CWD.get() is not None and _downloads_here(inv) and outside("."):
        return f"downloads into {shown('.')}, outside the working tree ({inv.program})"
    held = next(
        (f for f in flags if f in _TRANSFER_RUNS or f.startswith(("--on-download", "--on-bt-download"))), None
    )
    if held is not None:
        return f"runs a command or reads options from a file given in an option ({inv.program} {held})"
    return None


def _downloads_here(inv: Invocation) -> bool:
    """``curl -O`` and ``wget`` without ``-O``: the file is written into the current directory."""
    if inv.program == "wget":
        return not any(option in ("-O", "--output-document") for option, _ in inv.options.values)
    flags = inv.options.flags
    return inv.program == "curl" and bool(flags & {"-O", "--remote-name", "--remote-name-all", "-J"})


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
    if CWD.get() is not None and outside("."):
        return f"extracts into {shown('.')}, outside the working tree ({inv.program})"
    return None


_SEVENZIP_WRITES = frozenset({"a", "u", "d", "rn", "m", "f", "c", "ch", "k", "r", "rc", "rr", "rv", "s"})
"""7-Zip's and RAR's commands that write the archive named after them (add, update, delete, rename, move, freshen,
comment, change, lock, repair, recovery records, self-extracting)."""


def _sevenzip(inv: Invocation) -> str | None:
    """``7z x -oDIR`` extracts into ``DIR``; ``7z a ARCHIVE`` (``rar a``) writes ``ARCHIVE``: both in the working tree
    only."""
    operands = inv.options.operands
    command = operands[0].text if operands and operands[0].static else ""
    if len(operands) > 1 and command in _SEVENZIP_WRITES:
        reason = written(operands[1:2], need_static=True)
        if reason is not None:
            return f"{reason} ({inv.program} {command})"
    # (rar x ARCHIVE [FILES] DIR/: a last operand ending in / is where it extracts)
    if inv.program in ("rar", "unrar") and command in ("x", "e") and len(operands) > 2:
        last = operands[-1]
        if not last.static or last.text.endswith("/"):
            reason = written((last,), need_static=True)
            if reason is not None:
                return f"{reason} ({inv.program} {command})"
    return _extract_target(inv)


_LOOPBACK_URL = re.compile(r"[a-z+]+://(?:localhost|127\.[\d.]+|\[::1\]|0\.0\.0\.0)(?:[:/]|$)", re.IGNORECASE)
"""A URL of this machine: loading one's own development server is a benchmark, not an attack."""


def _load_generator(inv: Invocation) -> str | None:
    """``ab``/``wrk``/``hey`` sending load at a host other than this machine (``ab -n 1000 http://localhost:8080/`` is fine)."""
    for arg in inv.args:
        if not arg.static or ("://" in arg.text and _LOOPBACK_URL.match(arg.text) is None):
            return f"sends load at a host (load generator {inv.program})"
    return None


_JAR_OPERAND_LETTERS = "fme"
"""Letters of ``jar``'s mode word that take the next operands, in their order (``jar cfm app.jar manifest``)."""


def _jar(inv: Invocation) -> str | None:
    """``jar c``/``u`` with ``f`` (``cf``, ``-c -f``, ``--create --file``) writes the archive named: in the working tree
    only."""
    args = inv.args
    archive = _jar_mode_archive(args) or _jar_option_archive(args)
    if archive is None:
        return None
    reason = written((archive,), need_static=True)
    return f"{reason} (jar)" if reason is not None else None


def _jar_mode_archive(args: Sequence[Arg]) -> Arg | None:
    """The archive a first word of mode letters (``cvfm``, ``-cf``) names: the operands follow in their letters' order."""
    first = args[0].text if args and args[0].static else ""
    if first.startswith("--") or first in ("", "-"):
        return None
    mode = first.lstrip("-")
    if not ("c" in mode or "u" in mode) or "f" not in mode:
        return None
    index = 1 + [letter for letter in mode if letter in _JAR_OPERAND_LETTERS].index("f")
    return args[index] if index < len(args) else None


def _jar_option_archive(args: Sequence[Arg]) -> Arg | None:
    """The archive ``-f FILE``/``--file[=]FILE`` names when ``-c``/``-u``/``--create``/``--update`` is among the options."""
    creating = False
    archive: Arg | None = None
    for index, arg in enumerate(args):
        word = arg.text if arg.static else ""
        following = args[index + 1] if index + 1 < len(args) else None
        if word in ("--create", "--update"):
            creating = True
        elif word.startswith("--file="):
            archive = Arg.of(word.partition("=")[2])
        elif word == "--file":
            archive = following
        elif word.startswith("-") and not word.startswith("--"):
            creating = creating or "c" in word or "u" in word
            if word.endswith("f"):
                archive = following
    return archive if creating else None


def _dd(inv: Invocation) -> str | None:
    for arg in inv.args:
        if arg.text.startswith("of="):
            if not arg.static:
                return "dd writes to a path known only at run time"
            if outside(arg.text[3:]):
                return f"dd writes {arg.text[3:]}, outside the working tree"
    return _dd_fills(inv)


_DD_SIZE = re.compile(r"(\d{1,30})([kKMGTPE]?)(?:i?B)?\Z")
_UNITS = {
    "": 1,
    "k": 1 << 10,
    "K": 1 << 10,
    "M": 1 << 20,
    "G": 1 << 30,
    "T": 1 << 40,
    "P": 1 << 50,
    "E": 1 << 60,
}


def _dd_fills(inv: Invocation) -> str | None:
    """``dd if=/dev/zero of=FILE`` without ``count=`` or with 64 GiB or more: fills the disk."""
    given = {
        a.text.partition("=")[0]: a.text.partition("=")[2] for a in inv.args if a.static and "=" in a.text
    }
    source = given.get("if") or next(
        (r.target.text for r in inv.redirects if r.op == "<" and r.target is not None), None
    )
    if source not in _ENDLESS or not ("of" in given or any(r.writes for r in inv.redirects)):
        return None
    if "count" not in given:
        return "dd copies an endless device into a file, filling the disk"
    size = _size(given.get("bs", "512"), _HUGE) * _size(given["count"], _HUGE)
    return "dd writes 64 GiB or more into a file" if size >= _HUGE else None


def _size(text: str, unknown: int) -> int:
    """``512``, ``4M``, ``2GiB``, ``1kB`` in bytes (powers of 1024, near enough here); ``unknown`` if not a size."""
    found = _DD_SIZE.match(text)
    return int(found[1]) * _UNITS[found[2]] if found else unknown


def _ln(inv: Invocation) -> str | None:
    """A link whose target is outside the working tree makes later paths through it lead there (``ln -s / x; rm -r
    x/etc``, ``ln -s /dev/sda d; cat /dev/zero > d``): held wherever it is made. Targets in the tree (from the link's
    directory, for a symbolic link) and in ``/tmp`` are fine."""
    options = inv.options
    operands = options.operands
    into = "-t" in options.flags or _given({"--target-directory": ""}, options) is not None
    sources = operands if into or len(operands) < 2 else operands[:-1]
    symbolic = "-s" in options.flags or _given({"--symbolic": ""}, options) is not None
    relative = "-r" in options.flags or _given({"--relative": ""}, options) is not None
    link = operands[-1] if not into and len(operands) > 1 else None
    if link is not None and link.static and outside(link.text, replaced=True):
        return None  # held for where it puts the link (ln -sf x /dev/null), by its entry
    folder = "." if link is None or not link.static else posixpath.dirname(link.text)
    for source in sources:
        if not source.static:
            continue  # (held as a run-time operand)
        target = source.text
        if symbolic and not relative and not target.startswith(("/", "~")):
            target = norm_path(posixpath.join(folder or ".", target))
        if target.startswith("/") and not outside(target):
            continue
        if not target.startswith(("/", "~")) and in_tree(target):
            continue
        return f"makes a link to {shown(source.text)}, outside the working tree: paths through it lead there (ln)"
    return None


_CP_HELD = {
    "--symbolic-link": "makes links instead of copies: paths through them lead outside",
    "--link": "makes links instead of copies: paths through them lead outside",
    "--remove-destination": "removes the destination before copying",
}


def _cp(inv: Invocation) -> str | None:
    """``cp``'s long options that make links or remove what it copies onto (``--remove-destination x /dev/null``)."""
    flag = _given(_CP_HELD, inv.options) if inv.options.long else None
    return None if flag is None else f"{_CP_HELD[flag]} (cp {flag})"


def _tee(inv: Invocation) -> str | None:
    # a run-time name is allowed (``tee "$LOG"``), but not names an input supplies (``xargs tee``: any file the input names)
    if any(arg.kind is Kind.PLACEHOLDER for arg in inv.options.operands):
        return "writes files named by its input (tee run by a launcher)"
    return written(inv.options.operands, need_static=False)


def _find(inv: Invocation) -> str | None:
    flags = inv.options.flags
    if "-delete" in flags:
        return "bulk deletion by a filter (find -delete)"
    for option, value in inv.options.values:
        if option in ("-fprint", "-fprint0", "-fls", "-fprintf") and value.static and outside(value.text):
            return f"writes {value.text}, outside the working tree"
        reason = run_time_target(value) if option.startswith(("-fp", "-fl")) and not value.static else None
        if reason is not None:
            return f"{reason} (find {option})"
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
        statement = _sqlite_change(arg.text)
        if statement is not None:
            return f"SQL that changes the database ({statement}) (sqlite3)"
    return None


_SQL_STRINGS = re.compile(r"'[^']*'|\"[^\"]*\"")
_SQL_READS = frozenset({"select", "explain", "values", "with", "pragma"})
_SQL_CHANGES = re.compile(
    r"\b(insert|update|delete|replace|drop|alter|create|attach|detach|vacuum|reindex|analyze|returning|begin|commit)\b"
)


def _sqlite_change(sql: str) -> str | None:
    """The first statement of ``sql`` that is not a read (``SELECT``, ``EXPLAIN``, a ``PRAGMA`` that sets nothing), or ``None``.

    Quoted strings are removed first; a changing word anywhere else (``WITH x AS (...) DELETE``) counts."""
    for piece in _SQL_STRINGS.sub("''", sql).lower().split(";"):
        statement = piece.strip()
        if not statement or statement.startswith("."):
            continue
        word = statement.split(None, 1)[0].split("(", 1)[0]
        if (
            word not in _SQL_READS
            or _SQL_CHANGES.search(statement)
            or (word == "pragma" and "=" in statement)
        ):
            return statement.split(None, 1)[0].upper()
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
    return _tar_options(inv.program or "tar", _tar_words(inv.args)) or _extract_target(inv)


_TAR_VALUE_LETTERS = frozenset("bCfFgHIKLNTVX")
"""GNU tar's short options that take a value (attached, ``-C/``, or the next word)."""
_TAR_LONG = (
    "--absolute-names",
    "--append",
    "--catenate",
    "--concatenate",
    "--create",
    "--delete",
    "--directory",
    "--file",
    "--index-file",
    "--listed-incremental",
    "--remove-files",
    "--update",
    "--volno-file",
)
"""The long options :func:`_tar_options` looks at (given abbreviated to any prefix: ``--dir``, ``--abs``)."""
_TAR_WRITES = frozenset(
    {"-c", "-r", "-u", "-A", "--create", "--append", "--update", "--catenate", "--concatenate", "--delete"}
)
_TAR_OUTPUTS = frozenset({"--index-file", "-g", "--listed-incremental", "--volno-file"})


def _tar_words(args: Sequence[Arg]) -> list[tuple[str, str | None]]:
    """tar's options as ``(name, value)``: clusters split, old-style letters (``tar xPf a.tar``), long ones unabbreviated."""
    found: list[tuple[str, str | None]] = []
    # a word known only at run time by the part of it that is known (`-f backup-$(date +%F).tgz`: in the tree)
    words = [a.text if a.static else a.prefix for a in _option_words(args)]
    i = 0
    if words and words[0].isalpha():
        words[0] = "-" + words[0]  # old-style: the first word is letters without a dash
    while i < len(words):
        text = words[i]
        i += 1
        if text.startswith("--"):
            name, eq, value = text.partition("=")
            full = (
                next((option for option in _TAR_LONG if option.startswith(name)), name)
                if len(name) > 3
                else name
            )
            if not eq and full in (
                "--file",
                "--directory",
                "--index-file",
                "--listed-incremental",
                "--volno-file",
            ):
                value, i = (words[i] if i < len(words) else ""), i + 1
            found.append((full, value if eq or full in _TAR_VALUES else None))
        elif text.startswith("-") and len(text) > 1:
            for j, letter in enumerate(text[1:], start=1):
                if letter in _TAR_VALUE_LETTERS:
                    rest = text[j + 1 :]
                    if not rest:
                        rest, i = (words[i] if i < len(words) else ""), i + 1
                    found.append(("-" + letter, rest))
                    break
                found.append(("-" + letter, None))
    return found


_TAR_VALUES = frozenset({"--file", "--directory", "--index-file", "--listed-incremental", "--volno-file"})


def _tar_options(name: str, options: list[tuple[str, str | None]]) -> str | None:
    """Archives written outside the working tree, files it deletes, names it extracts as absolute, directories outside."""
    writes = any(option in _TAR_WRITES for option, _ in options)
    for option, value in options:
        if option in ("-P", "--absolute-names"):
            return f"extracts with absolute names ({name} {option})"
        if option == "--remove-files":
            return f"deletes the files it archives ({name} --remove-files)"
        if option in ("-C", "--directory") and value is not None and outside(value or "/"):
            return f"extracts into {value}, outside the working tree"
        written_file = (option in ("-f", "--file") and writes) or option in _TAR_OUTPUTS
        if written_file and value is not None and value != "-" and outside(value or "/"):
            return f"writes {value}, outside the working tree ({name} {option})"
    return None


_KEEPS_INPUT = frozenset({"-c", "--stdout", "--to-stdout", "-l", "--list", "-t", "--test"})


def _compressor(inv: Invocation) -> str | None:
    """``gzip FILE`` replaces FILE by FILE.gz (``gunzip ~/.bashrc.gz`` writes ``~/.bashrc``), unless writing to standard output."""
    if inv.options.flags & _KEEPS_INPUT:
        return None
    for option, value in option_values(_option_words(inv.args), ("-o", "--output")):
        if value.static and outside(value.text):
            return f"writes {value.text}, outside the working tree ({inv.program} {option})"
    return written(inv.options.operands, need_static=False, verb="replaces", replaced=True)


_MAKE_COMMANDS = frozenset({"SHELL", ".SHELLFLAGS", "MAKEFLAGS", "MAKEFILES", "MAKE", "MAKESHELL"})


def _make(inv: Invocation) -> str | None:
    """``make VAR=value``: a value that expands to commands (``$(shell ...)``), or a variable recipes run as a command;
    ``make -j`` without a number, which starts every job it can at once."""
    jobs = "-j" in inv.options.flags or any(arg.text.startswith("--j") for arg in inv.args)
    if jobs and _make_jobs_unbounded([arg.text for arg in inv.args]):
        return f"{_UNBOUNDED} ({inv.program} -j without a number)"
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


_UNBOUNDED = "starts processes without bound"
_MAX_JOBS = 256
"""More parallel jobs than this (``xargs -P 100000``) is as good as no bound."""
_MAKE_VALUE_LETTERS = frozenset("CfIoWE")
"""make's short options that take the rest of their word (or the next) as a value: a ``j`` after them is not ``-j``."""


def _make_jobs_unbounded(words: Sequence[str]) -> bool:
    """``make -j``/``--jobs`` given no number (its value is optional: a separate word counts only if it is a number)."""
    for index, word in enumerate(words):
        if word == "--":
            break
        following = words[index + 1] if index + 1 < len(words) else ""
        if word.startswith("--"):
            name, eq, _ = word.partition("=")
            if len(name) > 3 and "--jobs".startswith(name) and not eq and not following.isdigit():
                return True
            continue
        if not word.startswith("-"):
            continue
        for at, letter in enumerate(word[1:], 2):
            if letter in _MAKE_VALUE_LETTERS:
                break
            if letter == "j":
                if not word[at:] and not following.isdigit():
                    return True
                break
    return False


def _unbounded_jobs(inv: Invocation) -> str | None:
    """``xargs -P 0``, ``parallel -j 0`` (as many processes at once as there are inputs), or more than :data:`_MAX_JOBS`."""
    for option, value in inv.options.values:
        jobs = option in ("-P", "-j") or (
            len(option) > 3 and ("--max-procs".startswith(option) or "--jobs".startswith(option))
        )
        text = value.text
        if jobs and value.static and text.isdigit() and (len(text) > 6 or not 0 < int(text) <= _MAX_JOBS):
            return f"{_UNBOUNDED} ({inv.program} {option} {text})"
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
    """``git config KEY VALUE`` of a key that makes git run a command (``core.pager``, ``alias.x '!cmd'``, ``core.hooksPath``);
    ``git checkout -- PATH`` and ``git restore PATH``, which discard the uncommitted changes of the paths."""
    operands = inv.options.operands
    if operands and operands[0].text == "push":
        return git_push(inv.args[inv.args.index(operands[0]) + 1 :])
    if operands and operands[0].text in ("checkout", "restore"):
        return _git_restores(inv, operands[0].text)
    if not operands or operands[0].text != "config":
        return None
    words = list(inv.args[inv.args.index(operands[0]) + 1 :])
    for option, value in option_values(_option_words(words), ("-f", "--file")):
        if not value.static or outside(value.text):
            return f"writes git configuration to {value.text}, outside the working tree (git config {option})"
    return _git_config(words)


def _git_restores(inv: Invocation, sub: str) -> str | None:
    """Paths given to ``git checkout ... -- PATHS`` or ``git restore PATHS`` lose their uncommitted changes: fine for a file
    named as such (``src/app.js``), held for what may be a directory or many files (``.``, ``src``, ``'*.py'``, ``:/``)."""
    args = inv.args[inv.args.index(inv.options.operands[0]) + 1 :]
    flags = inv.options.flags
    if sub == "checkout":
        dashes = next((i for i, arg in enumerate(args) if arg.static and arg.text == "--"), None)
        if dashes is not None:
            paths = list(args[dashes + 1 :])
        elif flags.isdisjoint(_NEW_BRANCH):
            paths = list(
                inv.options.operands[2:]
            )  # `git checkout TREE-ISH PATH...`: what follows the tree-ish
        else:
            paths = []
    else:
        if flags & {"-S", "--staged"} and not flags & {"-W", "--worktree"}:
            return None  # only unstages: the working tree is left alone
        paths = [arg for arg in args if not (arg.static and arg.text.startswith("-"))]
    if "--pathspec-from-file" in flags:
        return f"{_DISCARDS_PATHS} (git {sub} --pathspec-from-file)"
    many = next((arg for arg in paths if not _one_file(arg)), None)
    return None if many is None else f"{_DISCARDS_PATHS} (git {sub} {many.text})"


_DISCARDS_PATHS = "discards the uncommitted changes of every file the path names"
_NEW_BRANCH = frozenset({"-b", "-B", "--orphan"})
"""``git checkout -b NEW START``: its two operands are a branch and where it starts, not a tree-ish and paths."""
_SINGLE_FILE = re.compile(r"(?:[\w.-]+/)*[\w-][\w-]*\.[\w.-]+")
"""A relative path whose last part has a file extension and no pattern character: one file (``src/app.js``)."""


def _one_file(arg: Arg) -> bool:
    return arg.static and _SINGLE_FILE.fullmatch(arg.text) is not None and in_tree(arg.text)


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
        return (
            f"sets git configuration that can run commands or change where it pushes (git config {key.text})"
        )
    return None


def _min_operands(count: int, what: str) -> Callable[[Invocation], str | None]:
    def check(inv: Invocation) -> str | None:
        return f"{what} ({inv.program})" if len(inv.options.operands) >= count else None

    return check


def _fc(inv: Invocation) -> str | None:
    return None if "-l" in inv.options.flags else "runs commands from the history, through an editor (fc)"


_KEYGEN_READS = frozenset({"-l", "-y", "-B", "-e", "-i", "-F"})
"""ssh-keygen options with which ``-f FILE`` is a key it reads (a fingerprint, the public half), not one it writes."""


def _ssh_keygen(inv: Invocation) -> str | None:
    """``ssh-keygen -f FILE`` writes FILE when it makes or changes a key: outside the working tree that is held."""
    if inv.options.flags & _KEYGEN_READS:
        return None
    for option, value in option_values(_option_words(inv.args), ("-f",)):
        if not value.static or outside(value.text):
            what = value.text if value.static else "a key file named at run time"
            return f"writes {what}, outside the working tree (ssh-keygen {option})"
    return None


def _busy_loop(inv: Invocation) -> str | None:
    """The analysis's record of an endless loop that never pauses (a program named ``while`` with arguments is unknown)."""
    if inv.args:
        return None
    return "loops without end and never pauses (while true without sleep, read or break)"


def _spawning_loop(inv: Invocation) -> str | None:
    """The analysis's record of a ``for`` loop starting a background job for each item."""
    if inv.args:
        return None
    return "starts a background job for every item of a loop: as many processes at once as items"


def _truncate(inv: Invocation) -> str | None:
    """``truncate -s 10T f`` makes a file of that size: sparse, but any copy of it writes every byte."""
    sizes = option_values(_option_words(inv.args), ("-s", "--size"))
    if any(not v.static or _size(v.text.lstrip("+<>/%"), _HUGE) >= _HUGE for _, v in sizes):
        return f"makes a file of 64 GiB or more ({inv.program} -s)"
    return None


def _history(inv: Invocation) -> str | None:
    """``unset HISTFILE``, ``set +o history``: the shell stops keeping what runs."""
    words = [arg.text for arg in inv.args if arg.static]
    off = (inv.program == "unset" and not HISTORY_VARIABLES.isdisjoint(words)) or (
        inv.program == "set" and any(a == "+o" and b == "history" for a, b in pairwise(words))
    )
    return f"{HIDES_HISTORY} ({inv.program})" if off else None


_SPECIAL: dict[str, Callable[[Invocation], str | None]] = {
    BUSY_LOOP: _busy_loop,
    SPAWNING_LOOP: _spawning_loop,
    "truncate": _truncate,
    "unset": _history,
    "set": _history,
    "sqlite3": _sqlite,
    "ssh-keygen": _ssh_keygen,
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
    "7z": _sevenzip,
    "7za": _sevenzip,
    "7zz": _sevenzip,
    "jar": _jar,
    "rar": _sevenzip,
    "unrar": _sevenzip,
    "ab": _load_generator,
    "wrk": _load_generator,
    "hey": _load_generator,
    "dd": _dd,
    "tee": _tee,
    "ln": _ln,
    "cp": _cp,
    "find": _find,
    "ip": _ip,
    "date": _date,
    "java": _java,
    "coverage": _coverage,
    "hostname": _operands_change("changes the host name"),
    "nmcli": nmcli,
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
    if name in FILE_OPTIONS and sends_file(name, words):
        return False  # (an option sends a file: why_sends says which)
    if why_secret(name, words) is not None:
        return False  # (it reads a secret: why_held says which)
    if name in _TASK_RUNNERS and any(_DEPLOY_TASK.search(word) for word in words):
        return False  # (a task that deploys: _deploys says which)
    entry = _plain_entry(name)
    if entry is None:
        return _harmless_transfer(name, words)
    if name in _SPECIAL_SUBS and _SPECIAL_SUBS[name](words):
        return False  # judged by its special function, or in the light of the commands around it
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
            return not entry.writes or (
                depth == 0 and _plain_written(entry.writes, operands, flags, name in REPLACERS)
            )
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


def _plain_written(writes: str, operands: list[str], flags: set[str], replaced: bool) -> bool:
    """No file a writer writes (``writes`` of its entry; ``replaced``: removes or replaces) is outside the working tree."""
    if writes == "after_first" and any(
        flag.startswith("--r") or MODE_AS_OPTION.fullmatch(flag) for flag in flags
    ):
        return False  # --reference=FILE, chmod -x FILE: every operand is changed (left to the full judgement)
    if writes == "operands":
        targets = operands
    elif writes == "creates":
        targets = [target for target in operands if not visible_in_home(target)]
    elif writes == "after_first":
        targets = operands[1:]
    elif writes == "last":
        targets = operands[-1:]
        if any(REMOTE_PATH.match(target) for target in targets) or not _ENDLESS.isdisjoint(operands):
            return False
    else:
        return False
    return not any(lexically_outside(target, replaced=replaced) for target in targets)


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


def _leaves_tree(words: Sequence[str]) -> bool:
    """``cd``/``pushd`` words that may lead out of the working tree (anything but one plain relative path inside it)."""
    operands = [word for word in words if word not in ("-L", "-P", "--")]
    if len(operands) != 1:
        return True
    path = operands[0]
    return path.startswith(("/", "~", "-", "+")) or has_glob(path) or not lexically_in_tree(path)


def _links_far(words: Sequence[str]) -> bool:
    """``ln`` words that may make a link leading out of the working tree (left to :func:`_ln`)."""
    # (`-` too: in_tree does not count it as a path in the tree, so _ln judges it)
    return any(word.startswith(("/", "~")) or ".." in word or word == "-" for word in words)


def _whole_environment(words: Sequence[str]) -> bool:
    return all(word.startswith("-") for word in words)


_SPECIAL_SUBS: dict[str, Callable[[Sequence[str]], bool]] = {
    "git": lambda words: (
        not {"config", "push", "restore"}.isdisjoint(words)
        # `git checkout TREE-ISH PATH`: its paths are judged by _git
        or ("checkout" in words and sum(not word.startswith("-") for word in words) > 2)
    ),
    "go": lambda words: "run" in words,
    "ln": _links_far,
    "cp": lambda words: any(word.startswith("--") for word in words),
    "cd": _leaves_tree,
    "pushd": _leaves_tree,
    "popd": lambda words: True,
    # the whole environment: a search after it may look for secrets (why_held_each)
    "printenv": _whole_environment,
    "set": lambda words: _whole_environment(words) or "+o" in words,  # (set +o history: _history)
}
"""Programs judged from plain words unless these words need their special judgement (:data:`_SPECIAL`: ``git config``,
``git push``, ``git restore``) or the commands after them depend on them (``cd /``: :func:`why_held_each`)."""


def clear() -> None:
    """Forget which programs :func:`known_plain` judges by their entry (after changing the catalogue)."""
    _plain_entry.cache_clear()
