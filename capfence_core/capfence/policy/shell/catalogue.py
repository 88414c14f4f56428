"""The catalogue of known programs: what each does with its arguments, as reviewable data.

A program in :data:`CATALOGUE` is *known*; one that is not is held
("unknown program ``nsenter``"). An :class:`Entry` says which of a known
program's uses are safe to run without a person looking:

* ``writes``: which operands are files it writes (``"operands"``: all of
  them, ``"last"``: the destination of ``cp``/``mv``/``ln``, ``"after_first"``:
  all but the first, as for ``chmod MODE FILE...``; ``"creates"``: all of
  them, only created, as by ``mkdir`` and ``touch``). Written paths must stay in the
  working tree (relative, or under ``/tmp``); a path known only at run time
  is held. What is only created may also be in the home directory's visible
  part (``mkdir -p ~/projects/demo``), not in a hidden directory there.
* ``hold``: options that make a use risky, with why (``rm -r``: recursive
  deletion).
* ``subs``: subcommands (``git status``); a subcommand not listed is held
  (``other`` says why), a listed one is judged by its own entry, or held
  with the reason given as a string.
* ``contained``: options that are fine only when every operand is a plain
  path inside the working tree (``rm -r build``, not ``rm -r ../x``, ``rm -r .``,
  ``rm -r src/*`` or ``rm -r $DIR``), with why they are held otherwise.
* ``hold_operands``: operands (shell patterns) that make a use risky, with
  why (``git push origin main``, ``chmod 777 x``).
* ``moves``: the operands before the last are moved away (``mv``): they must be
  static paths in the working tree, not the tree itself.
* ``bare``: with ``subs``, whether the program alone (``git``, ``npm``) is fine.

Programs that need more than this (``python -m``, ``find`` actions, ``sed -i``,
``curl -o``, ``tar -x``, wrappers, shells) are judged in
:mod:`capfence.policy.shell.known`. The table is sized from the tldr-pages
corpus (the everyday programs) and errs on holding: adding a program here, or
an ``allow`` rule naming it in a policy, is how it stops being held.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


@dataclass(frozen=True)
class Entry:
    writes: str = ""
    hold: Mapping[str, str] = field(default_factory=dict)
    subs: Mapping[str, Entry | str] | None = None
    other: str = ""
    """Why a subcommand not in ``subs`` is held (default: it is not in the catalogue)."""
    bare: bool = True
    static_operands: bool = False
    """Hold when an operand is known only at run time (``rm $X``: what it removes matters)."""
    contained: Mapping[str, str] = field(default_factory=dict)
    hold_operands: Mapping[str, str] = field(default_factory=dict)
    moves: bool = False
    outputs: frozenset[str] = frozenset()
    """Options whose value is a file it writes (``sort -o FILE``): held outside the working tree, or when the value is a
    command (``strace -o '|cmd'``)."""
    code_files: frozenset[str] = frozenset()
    """Options whose value is a file or directory of code or commands it runs (``make -f FILE``, ``make -C DIR``): held
    unless in the working tree (the project's own code, like its ``Makefile``)."""
    risky_values: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    """Options held when their value matches a pattern (searched, ignoring case), with why (``git -c core.pager=...``)."""
    held_subs: Mapping[str, str] = field(default_factory=dict)
    """First operands that make a use risky, with why (``mix cmd``), for a program that takes any other."""
    runs_operands: bool = False
    """Operands are code files or directories it runs (``pytest tests/``): held unless in the working tree."""
    long_words: bool = False
    """Options are whole words with one dash (``gcc -fplugin=x``, ``go build -toolexec x``): their letters are not options."""
    operand_rules: bool = field(init=False, repr=False, compare=False)
    """It judges its operands beyond where they are written (:attr:`contained`, :attr:`hold_operands`, :attr:`moves`)."""
    by_options: bool = field(init=False, repr=False, compare=False)
    """Its options or operands need judging beyond whether a held flag is among the words (options with values, held
    subcommands, long or ``+``/``@`` options held)."""
    by_name: bool = field(init=False, repr=False, compare=False)
    """It holds no flag, has no subcommands, writes nothing and judges no operand (``ls``, ``grep``, ``jq``)."""

    def __post_init__(self) -> None:
        # (what the shortcut for plain commands asks of every entry it meets, found once: the fields never change)
        operand_rules = bool(self.contained or self.hold_operands or self.moves)
        by_options = bool(
            self.outputs
            or self.code_files
            or self.risky_values
            or self.held_subs
            or self.runs_operands
            or self.long_words
        ) or any(option in ("+", "@") or option.startswith("--") or len(option) > 2 for option in self.hold)
        object.__setattr__(self, "operand_rules", operand_rules)
        object.__setattr__(self, "by_options", by_options)
        object.__setattr__(
            self, "by_name", not self.hold and self.subs is None and not self.writes and not operand_rules
        )


READ = Entry()
"""Reads, prints or computes; writes nothing but its standard output."""


def _reads(*names: str) -> dict[str, Entry]:
    return dict.fromkeys(names, READ)


def _subs(
    entries: Mapping[str, Entry | str],
    other: str = "",
    *,
    bare: bool = True,
    hold: Mapping[str, str] | None = None,
    risky_values: Mapping[str, tuple[str, str]] | None = None,
    code_files: frozenset[str] = frozenset(),
    outputs: frozenset[str] = frozenset(),
    long_words: bool = False,
) -> Entry:
    return Entry(
        subs=MappingProxyType(dict(entries)),
        other=other,
        bare=bare,
        hold=hold or {},
        risky_values=risky_values or {},
        code_files=code_files,
        outputs=outputs,
        long_words=long_words,
    )


_RUNS = "runs a command given in an option"
_LOADS = "loads a library or plugin given in an option"
_SCRIPT = "runs commands from a file given in an option"
_EVAL = "evaluates code given in an option"
_EDITOR = "runs editor commands given in an option (they can run shell commands)"
_CONFIG = "reads a configuration that can run commands"
_CALLS_APP = "calls a function given as the application, which can run commands"


def _held(why: str, *options: str) -> dict[str, str]:
    return dict.fromkeys(options, why)


def _files(*options: str) -> frozenset[str]:
    return frozenset(options)


INSTALLS = "installs packages system-wide"
_REMOTE = "runs commands on another machine"
_SERVICE = "starts, stops or changes a service"
_GLOBAL = {
    "-g": "installs packages globally",
    "--global": "installs packages globally",
    "--location=global": "installs packages globally",
}

_TEXT = _reads(
    "cat",
    "tac",
    "head",
    "tail",
    "less",
    "more",
    "most",
    "grep",
    "egrep",
    "fgrep",
    "zgrep",
    "rg",
    "ag",
    "ack",
    "wc",
    "uniq",
    "cut",
    "tr",
    "paste",
    "join",
    "comm",
    "diff",
    "diff3",
    "sdiff",
    "cmp",
    "colordiff",
    "column",
    "nl",
    "fold",
    "fmt",
    "rev",
    "expand",
    "unexpand",
    "jq",
    "yq",
    "gojq",
    "jless",
    "xmllint",
    "xq",
    "csvlook",
    "bat",
    "batcat",
    "od",
    "hexdump",
    "xxd",
    "strings",
    "base64",
    "base32",
    "basenc",
    "md5sum",
    "sha1sum",
    "sha224sum",
    "sha256sum",
    "sha384sum",
    "sha512sum",
    "b2sum",
    "cksum",
    "sum",
    "shasum",
    "md5",
    "iconv",
    "numfmt",
    "look",
    "zcat",
    "zless",
    "zmore",
    "bzcat",
    "xzcat",
    "zstdcat",
    "lzcat",
    "pr",
    "tsort",
    "envsubst",
    "gettext",
    "ngettext",
    "delta",
    "difft",
    "dos2unix",
    "unix2dos",
    "fzf",
    "glow",
    "pandoc",
    "wdiff",
    "split",
    "csplit",
)
_FILES = _reads(
    "ls",
    "dir",
    "vdir",
    "ll",
    "tree",
    "exa",
    "eza",
    "lsd",
    "stat",
    "file",
    "du",
    "df",
    "dust",
    "duf",
    "ncdu",
    "realpath",
    "readlink",
    "basename",
    "dirname",
    "pwd",
    "locate",
    "plocate",
    "mlocate",
    "which",
    "whereis",
    "type",
    "fd",
    "fdfind",
    "namei",
    "lsattr",
    "getfacl",
    "findmnt",
    "lsblk",
    "blkid",
    "mountpoint",
    "sync",
)
_SYSTEM = _reads(
    "echo",
    "printf",
    "true",
    "false",
    "test",
    "[",
    "sleep",
    "seq",
    "yes",
    "expr",
    "bc",
    "dc",
    "factor",
    "cal",
    "ncal",
    "whoami",
    "id",
    "groups",
    "users",
    "who",
    "w",
    "last",
    "lastlog",
    "uptime",
    "sw_vers",
    "deactivate",
    "uname",
    "arch",
    "nproc",
    "lscpu",
    "lsmem",
    "lspci",
    "lsusb",
    "lsmod",
    "free",
    "vmstat",
    "iostat",
    "mpstat",
    "sar",
    "ps",
    "pgrep",
    "pidof",
    "top",
    "htop",
    "btop",
    "atop",
    "pstree",
    "lsof",
    "printenv",
    "tty",
    "stty",
    "tput",
    "clear",
    "reset",
    "locale",
    "getconf",
    "getent",
    "logname",
    "env",
    "man",
    "info",
    "help",
    "tldr",
    "apropos",
    "whatis",
    "history",
    "fc",
    "jobs",
    "dmesg",
    "journalctl",
    "timedatectl",
    "hostnamectl",
    "localectl",
    "loginctl",
    "ulimit",
    "umask",
    "shopt",
    "set",
    "unset",
    "export",
    "declare",
    "typeset",
    "local",
    "readonly",
    "read",
    "mapfile",
    "readarray",
    "shift",
    "exit",
    "return",
    "break",
    "continue",
    "wait",
    "cd",
    "pushd",
    "popd",
    "dirs",
    "getopts",
    "let",
    "alias",
    "unalias",
    "trap",
    "time",
    "times",
    "caller",
    "compgen",
    "complete",
    "bind",
    "disown",
    "bg",
    "fg",
    "suspend",
    ":",
    "true",
    "nvidia-smi",
    "sensors",
    "watch",
    "tmux",
    "screen",
    "nohup",
    "xdg-open",
    "open",
    "notify-send",
    "say",
    "espeak",
    "uuidgen",
    "mktemp",
    "pv",
    "cowsay",
    "figlet",
    "toilet",
    "lolcat",
    "neofetch",
    "fastfetch",
    "screenfetch",
)
_NETWORK = _reads(
    "dig",
    "nslookup",
    "host",
    "whois",
    "traceroute",
    "tracepath",
    "mtr",
    "netstat",
    "ss",
    "ifconfig",
    "iwconfig",
    "nmcli",
    "arp",
    "route",
    "ipcalc",
    "openssl",
    "ssh-keygen",
    "ssh-add",
    "gpg",
    "gpg2",
    "httpstat",
)
_DEV = _reads(
    "make",
    "gmake",
    "cmake",
    "ctest",
    "ninja",
    "meson",
    "bazel",
    "bazelisk",
    "buck",
    "gradle",
    "gradlew",
    "mvn",
    "mvnw",
    "ant",
    "sbt",
    "lein",
    "tsc",
    "eslint",
    "prettier",
    "jest",
    "vitest",
    "mocha",
    "ava",
    "tap",
    "pytest",
    "py.test",
    "tox",
    "nox",
    "mypy",
    "pyright",
    "ruff",
    "black",
    "isort",
    "flake8",
    "pylint",
    "pyflakes",
    "pycodestyle",
    "bandit",
    "coverage",
    "rustc",
    "rustfmt",
    "clippy-driver",
    "gcc",
    "g++",
    "cc",
    "c++",
    "clang",
    "clang++",
    "clang-format",
    "clang-tidy",
    "ld",
    "as",
    "nm",
    "objdump",
    "readelf",
    "ldd",
    "strip",
    "ar",
    "javac",
    "kotlinc",
    "scalac",
    "swiftc",
    "swift",
    "zig",
    "dotnet",
    "ghc",
    "stack",
    "cabal",
    "mix",
    "elixirc",
    "erlc",
    "rebar3",
    "dune",
    "ocamlfind",
    "shellcheck",
    "shfmt",
    "hadolint",
    "yamllint",
    "jsonlint",
    "markdownlint",
    "actionlint",
    "golangci-lint",
    "gofmt",
    "goimports",
    "staticcheck",
    "terraform-docs",
    "tflint",
    "pre-commit",
    "gdb",
    "lldb",
    "valgrind",
    "perf",
    "hyperfine",
    "cloc",
    "tokei",
    "scc",
    "ctags",
    "cscope",
    "sqlite3",
    "hugo",
    "jekyll",
    "mkdocs",
    "sphinx-build",
    "webpack",
    "vite",
    "rollup",
    "esbuild",
    "parcel",
    "turbo",
    "nx",
    "lerna",
    "deno",
    "bun",
    "tsx",
    "ts-node",
    "uvicorn",
    "gunicorn",
    "flask",
    "jupyter",
    "ipython",
    "code",
    "autoreconf",
    "autoconf",
    "automake",
    "configure",
    "pkg-config",
    "protoc",
    "buf",
)
_RECURSIVE_RM = "recursive deletion"
_TARGET_DIR = _files("-t", "--target-directory")
_WRITERS = {
    **dict.fromkeys(("rmdir", "truncate", "mkfifo"), Entry(writes="operands", static_operands=True)),
    # creating a directory or an empty file (or setting a file's times) destroys nothing: in the home's visible part too;
    # mkdir's names known at run time are fine
    "touch": Entry(writes="creates", static_operands=True),
    "mkdir": Entry(writes="creates"),
    **dict.fromkeys(("rsync", "scp"), Entry(writes="last", static_operands=True)),
    # -t DIR names the directory they write into (the operands are then all sources)
    **dict.fromkeys(("ln", "install"), Entry(writes="last", static_operands=True, outputs=_TARGET_DIR)),
    # a link made by cp leads wherever its source is (the long spellings, and --remove-destination, are judged in
    # capfence.policy.shell.known)
    "cp": Entry(
        writes="last",
        static_operands=True,
        hold=_held("makes links instead of copies: paths through them lead outside", "-s", "-l"),
        outputs=_TARGET_DIR,
    ),
    "mv": Entry(writes="last", static_operands=True, moves=True, outputs=_TARGET_DIR),
    "rm": Entry(
        writes="operands",
        static_operands=True,
        contained={"-r": _RECURSIVE_RM, "-R": _RECURSIVE_RM, "--recursive": _RECURSIVE_RM},
    ),
    "unlink": Entry(writes="operands", static_operands=True),
    "shred": Entry(
        writes="operands", static_operands=True, hold={"-u": "destroys files", "--remove": "destroys files"}
    ),
    # a recursive change outside the working tree is held as outside it
    "chmod": Entry(writes="after_first", static_operands=True),
    **dict.fromkeys(
        ("chown", "chgrp"),
        Entry(
            writes="after_first",
            static_operands=True,
            hold=_held("changes the owner of every file in a tree", "-R", "--recursive"),
        ),
    ),
    "patch": Entry(),
    "sort": Entry(),
    "dd": Entry(),
    **dict.fromkeys(("vim", "vi", "nvim", "nano", "emacs", "micro", "ed"), Entry(writes="operands")),
}
REPLACERS = frozenset(
    {"rm", "unlink", "rmdir", "mv", "ln", "link", "install", "rsync", "chmod", "chown", "chgrp"}
)
"""Writers whose targets are removed, replaced or changed as files, not written into: ``/dev/null``, ``/dev/tty`` and the
scratch directories themselves are outside the working tree for them (``rm /dev/null``, ``mv x /dev/stdout``)."""
CHANGES_DIR = frozenset({"cd", "pushd", "popd"})
"""Builtins that change the current directory: later relative paths are judged where they then point."""
CHDIR_OPTIONS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "env": frozenset({"-C", "--chdir"}),
        "sudo": frozenset({"-D", "--chdir"}),
        "run0": frozenset({"-D", "--chdir"}),
        "systemd-run": frozenset({"--working-directory"}),
    }
)
"""Wrapper options that run the wrapped command in another directory (``env -C / rm -r etc`` removes ``/etc``)."""
PROJECT_SCRIPTS = frozenset({"gradlew", "mvnw", "configure"})
"""Programs the catalogue knows as a project's own launch scripts, run by path from the working tree (``./gradlew``): they
run the project's build like ``make``. Any other program named by a path in the tree is the file there, not the catalogue's."""
PROJECT_BIN_DIRS = ("node_modules/.bin", ".venv/bin", "venv/bin", "env/bin", ".env/bin", "vendor/bin")
"""Directories of the working tree where package managers install a project's tools (``node_modules/.bin/jest``,
``.venv/bin/pytest``): a catalogued program there is the project's copy of it."""
PROJECT_BINSTUBS = frozenset({"rails", "rake", "rspec", "bundle"})
"""Programs a Rails project runs through its generated ``bin/`` stubs (``bin/rails test``, ``bin/rspec``): judged as the
program itself. Another program in ``bin/`` is the project's file (``bin/cat`` may be anything)."""

COMPRESSORS = (
    "gzip",
    "gunzip",
    "bzip2",
    "bunzip2",
    "xz",
    "unxz",
    "zstd",
    "unzstd",
    "lz4",
    "brotli",
    "compress",
    "uncompress",
)
"""Compression tools: they read their operands and write next to them (``known`` judges their options)."""

_ARCHIVES = {
    **_reads(*COMPRESSORS),
    "zip": Entry(writes="operands"),
    "unzip": Entry(),
    "7z": Entry(),
    "7za": Entry(),
    "7zz": Entry(),
    "unrar": Entry(),
    "rar": Entry(),
    "tar": Entry(),
    "bsdtar": Entry(),
    "cpio": Entry(),
}

_DOCKER_READ = (
    "ps",
    "logs",
    "images",
    "inspect",
    "version",
    "info",
    "stats",
    "top",
    "port",
    "history",
    "search",
    "diff",
    "events",
    "build",
    "pull",
    "tag",
    "login",
    "logout",
    "create",
    "save",
    "load",
    "commit",
    "export",
    "import",
    "scout",
    "init",
)
_RMI = Entry(static_operands=True, hold=_held("removes images that containers use", "-f", "--force"))
_DOCKER = _subs(
    {
        **dict.fromkeys(_DOCKER_READ, READ),
        "cp": Entry(writes="last"),
        "compose": _subs(
            {
                **_reads(
                    "ps",
                    "logs",
                    "config",
                    "build",
                    "pull",
                    "images",
                    "ls",
                    "version",
                    "top",
                    "events",
                    "port",
                ),
                "up": _SERVICE,
                "down": _SERVICE,
                "start": _SERVICE,
                "stop": _SERVICE,
                "restart": _SERVICE,
                "run": "runs a container",
                "exec": "runs a command in a container",
                "rm": "removes containers",
            },
            bare=False,
        ),
        "container": _subs(
            _reads("ls", "list", "ps", "inspect", "logs", "top", "stats", "port", "diff"),
            "changes containers",
        ),
        "volume": _subs(_reads("ls", "list", "inspect", "create"), "removes or changes volumes (their data)"),
        # groups whose other verbs delete (prune, rm) or change what later commands talk to (context use)
        "image": _subs(
            {
                **_reads(
                    "ls", "list", "inspect", "history", "build", "pull", "tag", "save", "load", "import"
                ),
                **dict.fromkeys(("rm", "remove"), _RMI),
            },
            "removes or publishes images",
        ),
        "network": _subs(_reads("ls", "list", "inspect", "create"), "removes or changes networks"),
        "buildx": _subs(
            _reads("build", "bake", "ls", "inspect", "version", "du", "history", "imagetools", "create"),
            "removes build caches or changes builders",
        ),
        "context": _subs(
            _reads("ls", "list", "show", "inspect", "create"), "changes which Docker daemon commands reach"
        ),
        "manifest": _subs(_reads("inspect"), "publishes or changes image manifests"),
        "system": _subs(_reads("df", "info", "events"), "bulk deletion (prune)"),
        "run": "runs a container (it may mount the host or run privileged)",
        "exec": READ,  # the command it runs in the container is judged on its own
        "rm": Entry(static_operands=True, hold=_held("removes every container", "-a", "--all")),
        "rmi": _RMI,
        "start": _SERVICE,
        "stop": _SERVICE,
        "restart": _SERVICE,
        "kill": _SERVICE,
        "pause": _SERVICE,
        "unpause": _SERVICE,
        "push": "publishes an image",
        "prune": "bulk deletion (prune)",
    },
    "changes containers or the Docker daemon",
    hold={},
)
_DOCKER = Entry(
    subs=_DOCKER.subs,
    other=_DOCKER.other,
    outputs=_files("-o", "--output"),
    risky_values={
        "-o": (r"dest=(/|~)", "writes build output outside the working tree"),
        "--output": (r"dest=(/|~)", "writes build output outside the working tree"),
    },
)

_KUBE_READ = (
    "get",
    "describe",
    "logs",
    "explain",
    "version",
    "api-resources",
    "api-versions",
    "top",
    "diff",
    "cluster-info",
    "events",
    "wait",
    "completion",
    "kustomize",
    "plugin",
)
_KUBE = _subs(
    {
        **dict.fromkeys(_KUBE_READ, READ),
        "kustomize": Entry(
            hold=_held(
                "runs plugins or helm while building",
                "--enable-alpha-plugins",
                "--enable-exec",
                "--enable-helm",
            )
        ),
        "config": _subs(
            _reads("view", "get-contexts", "current-context", "get-clusters", "get-users"),
            "changes kubeconfig",
        ),
        "rollout": _subs(_reads("status", "history"), "changes a rollout"),
        "auth": _subs(_reads("can-i", "whoami"), "changes access control (RBAC)"),
    },
    "changes the cluster or runs a command in it",
    hold={},
)
_KUBE = Entry(subs=_KUBE.subs, other=_KUBE.other, code_files=_files("--kubeconfig"))
KUBE_DRY_RUNS = frozenset(
    {
        *(
            "apply",
            "create",
            "delete",
            "replace",
            "patch",
            "run",
            "expose",
            "label",
            "annotate",
            "set",
            "scale",
        ),
        *("autoscale", "taint", "cordon", "uncordon", "drain"),
    }
)
"""``kubectl`` subcommands that change the cluster but, with ``--dry-run=client`` or ``=server`` (bare ``--dry-run`` and
``=true`` are client, deprecated), only print or validate what they would do (``kubectl create deployment x
--image=y --dry-run=client -o yaml``); ``--dry-run=none``/``=false`` change it (the last ``--dry-run`` given counts)."""

_GIT_READ = (
    "status",
    "diff",
    "log",
    "show",
    "switch",
    "add",
    "commit",
    "fetch",
    "pull",
    "merge",
    "rebase",
    "tag",
    "init",
    "clone",
    "rm",
    "mv",
    "blame",
    "grep",
    "describe",
    "rev-parse",
    "rev-list",
    "ls-files",
    "ls-tree",
    "ls-remote",
    "cat-file",
    "show-ref",
    "for-each-ref",
    "shortlog",
    "reflog",
    "cherry-pick",
    "revert",
    "worktree",
    "help",
    "version",
    "am",
    "apply",
    "format-patch",
    "notes",
    "whatchanged",
    "cherry",
    "range-diff",
    "name-rev",
    "merge-base",
    "bundle",
    "count-objects",
    "fsck",
    "verify-commit",
    "switch",
    "sparse-checkout",
    "lfs",
    "annotate",
    "mergetool",
    "var",
    "check-ignore",
    "check-attr",
    "hash-object",
    "update-index",
    "symbolic-ref",
    "gc",
    "sh-shortlog",
    "citool",
    "gui",
    "credential",
)
GIT_RISKY_KEY = (
    r"^\s*(core\.(pager|editor|sshcommand|fsmonitor|hookspath|askpass|gitproxy|worktree|attributesfile|"
    r"excludesfile|alternaterefscommand)|pager\.|sequence\.editor|diff\.(external|.*\.(textconv|command))|"
    r"merge\..*\.driver|filter\.|credential\.|alias\.|gpg\.|web\.browser|browser\.|(diff|merge)tool\.|man\.|"
    r"include\.|includeif\.|protocol\.|remote\.|url\.|branch\..*\.(remote|pushremote|merge)|uploadpack\.|"
    r"receive\.|submodule\..*\.update|trailer\.|interactive\.difffilter|init\.templatedir|safe\.directory|ssh\.|"
    r"http\..*(proxy|sslverify|extraheader)|sendemail\.|instaweb\.|guitool\.|status\.|maintenance\.|"
    r"mailmap\.blob|gc\.|.*\.hookspath)"
)
"""Git configuration keys that make git run a program, load code or configuration, trust another repository, or change
where and how it pushes (``remote.*``, ``url.*.pushInsteadOf``, ``push.*``: a push that was safe goes elsewhere or forced)."""
_GIT_CONFIG = "sets git configuration that can run commands or change where and how it pushes"
_GIT_RUNS = {"--upload-pack": _RUNS, "--receive-pack": _RUNS, "--exec": _RUNS}
_DISCARDS = "discards uncommitted changes"
_RESETS_BRANCH = "resets a branch to another commit"
_PATHSPECS = dict.fromkeys((".", "./", ":/", ":/*", "*/", "[*]", "*[*?[]*"), _DISCARDS)
"""Pathspecs that name a directory or many files (``.``, ``src/``, ``'*.py'``)."""
_REMOTE_DELETE = "deletes a remote branch"
_GIT = _subs(
    {
        **dict.fromkeys(_GIT_READ, READ),
        **dict.fromkeys(("fetch", "pull", "ls-remote"), Entry(hold=_GIT_RUNS)),
        **dict.fromkeys(
            ("fetch", "pull"),
            Entry(hold=_GIT_RUNS, hold_operands={"+*": "force-updates local branches (a + refspec)"}),
        ),
        "archive": Entry(hold=_GIT_RUNS, outputs=_files("-o", "--output")),
        "clone": Entry(
            hold={
                **_GIT_RUNS,
                "-u": _RUNS,
                **_held("installs hooks from a template directory", "--template"),
            },
            risky_values={"-c": (GIT_RISKY_KEY, _GIT_CONFIG), "--config": (GIT_RISKY_KEY, _GIT_CONFIG)},
        ),
        "init": Entry(hold=_held("installs hooks from a template directory", "--template")),
        "rebase": Entry(hold=_held(_RUNS, "-x", "--exec")),
        "grep": Entry(hold=_held("runs a pager given in an option", "-O", "--open-files-in-pager")),
        "difftool": Entry(hold=_held(_RUNS, "-x", "--extcmd", "-t", "--tool")),
        "apply": Entry(hold=_held("writes outside the working tree", "--unsafe-paths", "--directory")),
        "format-patch": Entry(outputs=_files("-o", "--output-directory")),
        **dict.fromkeys(("log", "diff", "show"), Entry(outputs=_files("--output"))),
        # plumbing that only reads the repository or its input
        **dict.fromkeys(("diff-tree", "diff-index", "diff-files"), Entry(outputs=_files("--output"))),
        **_reads("show-branch", "verify-tag", "verify-pack", "check-ref-format", "column", "stripspace"),
        **_reads("show-index", "check-mailmap"),
        # keys: capfence.policy.shell.known
        "config": Entry(
            hold={
                "--global": "changes the user's git configuration",
                "--system": "changes the system's git configuration",
            }
        ),
        "bisect": _subs(
            _reads(
                "start",
                "bad",
                "good",
                "new",
                "old",
                "terms",
                "skip",
                "reset",
                "log",
                "replay",
                "visualize",
                "view",
                "help",
            ),
            "runs a command given as an argument (git bisect run)",
        ),
        "submodule": _subs(
            {
                **_reads(
                    "status",
                    "init",
                    "update",
                    "summary",
                    "sync",
                    "add",
                    "set-branch",
                    "set-url",
                    "absorbgitdirs",
                ),
                "deinit": Entry(hold=_held(_DISCARDS, "-f", "--force")),
            },
            "runs a command in each submodule (git submodule foreach)",
        ),
        "maintenance": _subs(_reads("run"), "schedules background jobs (git maintenance)"),
        # the file it creates is an operand: written only in the working tree
        "bundle": _subs({**_reads("verify", "list-heads", "unbundle"), "create": Entry(writes="operands")}),
        # which paths they restore: capfence.policy.shell.known (any pathspec discards its uncommitted changes)
        "checkout": Entry(
            hold={**_held(_DISCARDS, "-f", "--force", "--discard-changes"), "-B": _RESETS_BRANCH},
            hold_operands=_PATHSPECS,
        ),
        "restore": READ,
        "switch": Entry(
            hold={
                **_held(_DISCARDS, "-f", "--force", "--discard-changes"),
                **_held(_RESETS_BRANCH, "-C", "--force-create"),
            },
        ),
        "rm": Entry(hold=_held("removes files whatever their uncommitted changes", "-f", "--force")),
        "reflog": Entry(
            hold_operands=dict.fromkeys(("expire", "delete"), "deletes reflog entries (git reflog)")
        ),
        "gc": Entry(hold=_held("deletes unreachable objects now", "--prune")),
        "worktree": Entry(
            hold=_held("removes a working tree whatever its uncommitted changes", "-f", "--force")
        ),
        "push": Entry(
            hold={
                **_GIT_RUNS,
                "--delete": _REMOTE_DELETE,
                "-d": _REMOTE_DELETE,
                "--prune": "deletes remote branches",
                "--mirror": "makes the remote a mirror (deleting what it lacks)",
            },
            hold_operands={
                ":?*": _REMOTE_DELETE,
                **dict.fromkeys(
                    ("*://*", "*@*:*", "/*", "~*", "../*"), "pushes to a URL or path, not a configured remote"
                ),
                "*[*]*": "pushes every ref a pattern matches",
            },
        ),
        "stash": _subs(
            {**_reads("list", "show", "push", "save", "apply", "pop", "branch", "create", "store")},
            "deletes stashed changes",
        ),
        "branch": Entry(
            hold={
                **_held("deletes, moves or overwrites a branch whatever its merge state", "-D", "-M", "-C"),
                **_held("forces a branch deletion, move or reset", "-f", "--force"),
            }
        ),
        "remote": _subs(
            _reads("show", "get-url", "prune", "update"), "changes where the repository pushes and pulls"
        ),
        "clean": Entry(hold={"-f": "deletes untracked files", "--force": "deletes untracked files"}),
        "reset": Entry(hold={"--hard": _DISCARDS, "--merge": _DISCARDS}),
        "filter-branch": "rewrites history",
        "filter-repo": "rewrites history",
        "prune": "deletes unreachable objects",
        "update-ref": "rewrites a ref",
        "replace": "replaces objects",
    },
    hold={"--exec-path": "runs git commands from a directory given in an option"},
    risky_values={"-c": (GIT_RISKY_KEY, _GIT_CONFIG), "--config-env": (GIT_RISKY_KEY, _GIT_CONFIG)},
)

_NPM_SAFE = (
    "run",
    "run-script",
    "test",
    "t",
    "tst",
    "start",
    "stop",
    "restart",
    "build",
    "install",
    "i",
    "ci",
    "add",
    "ls",
    "list",
    "ll",
    "outdated",
    "view",
    "info",
    "show",
    "audit",
    "version",
    "help",
    "get",
    "why",
    "explain",
    "pack",
    "prune",
    "dedupe",
    "update",
    "up",
    "upgrade",
    "uninstall",
    "remove",
    "rm",
    "un",
    "link",
    "fund",
    "doctor",
    "search",
    "root",
    "bin",
    "prefix",
    "cache",
    "workspaces",
    "workspace",
    "lint",
    "dev",
    "format",
    "typecheck",
    "check",
    "store",
    "why",
    "licenses",
    "whoami",
    "--version",
    "-v",
    "clean",
)
_FROM_REGISTRY = "runs a package from the registry (it may be downloaded)"
_FROM_SOURCE = "installs a package from a URL, a repository or a path (its install code runs unreviewed)"
_PACKAGE_SOURCES = dict.fromkeys(
    (
        "*://*",
        "*git+*",
        "*git@*:*",
        "*github:*",
        "*gitlab:*",
        "*bitbucket:*",
        "*gist:*",
        "*file:*",
        "*.tgz",
        "*.tar.gz",
        "*.tar",
        "*.zip",
        "*.whl",
        "[!@-]*/*",  # owner/repo (a GitHub shorthand for npm), ./dir, ../dir
        "/*",
        "~*",
    ),
    _FROM_SOURCE,
)
"""Operands of ``npm install``/``uv add``... naming a package by where it comes from rather than by its registry name."""
ADD_PACKAGE = Entry(hold_operands=_PACKAGE_SOURCES)
_PM_CONFIG = "changes the package manager's configuration (it can make later commands run code)"
_NODE_PM = _subs(
    {
        **dict.fromkeys(_NPM_SAFE, READ),
        **dict.fromkeys(("install", "i", "add"), ADD_PACKAGE),
        "publish": "publishes a package",
        "global": "installs packages globally",
        **dict.fromkeys(("exec", "x", "dlx"), _FROM_REGISTRY),
        **dict.fromkeys(("init", "create"), _subs({}, "runs a package's initializer from the registry")),
        "config": _subs(_reads("list", "ls", "get"), _PM_CONFIG),
        "set": _PM_CONFIG,
        "unpublish": "unpublishes a package",
        "deprecate": "changes a published package",
        "adduser": "changes registry users",
        "token": "changes registry tokens",
    },
    "is not a known package-manager command",
    hold={
        **_GLOBAL,
        **_held(
            "sets the shell or program that runs scripts",
            "--script-shell",
            "--shell",
            "--node-options",
            "--editor",
            "--browser",
            "--git",
            "--node-gyp",
            "--init-module",
            "--userconfig",
            "--globalconfig",
            "--call",
        ),
    },
)

_PIP = _subs(
    {
        **_reads(
            "list",
            "show",
            "freeze",
            "check",
            "search",
            "help",
            "hash",
            "debug",
            "inspect",
            "index",
            "cache",
            "--version",
            "-V",
        ),
        "config": _subs(_reads("list", "get", "debug"), "changes pip configuration"),
        **dict.fromkeys(
            ("download", "wheel"), "downloads packages and may build them (running their setup code)"
        ),
        "install": INSTALLS,
        "uninstall": "removes packages",
    }
)
_CARGO = _subs(
    {
        **_reads(
            "build",
            "b",
            "test",
            "t",
            "run",
            "r",
            "check",
            "c",
            "clippy",
            "fmt",
            "doc",
            "d",
            "bench",
            "new",
            "init",
            "tree",
            "metadata",
            "update",
            "add",
            "remove",
            "rm",
            "clean",
            "fetch",
            "search",
            "version",
            "--version",
            "help",
            "vendor",
            "fix",
            "locate-project",
            "pkgid",
            "verify-project",
            "nextest",
            "expand",
            "audit",
            "deny",
            "outdated",
            "llvm-cov",
            "tarpaulin",
            "miri",
            "generate-lockfile",
        ),
        "watch": Entry(hold=_held("runs a shell command given in an option", "-s", "--shell")),
        "install": "installs a program",
        "publish": "publishes a crate",
        "yank": "changes a published crate",
        "uninstall": "removes a program",
    },
    hold=_held("sets cargo configuration that can run commands", "--config"),
    code_files=_files("--manifest-path", "-C"),
    outputs=_files("--target-dir", "--artifact-dir", "--out-dir"),
)
_GO = _subs(
    {
        **_reads(
            "build",
            "test",
            "run",
            "vet",
            "fmt",
            "mod",
            "get",
            "version",
            "list",
            "doc",
            "generate",
            "clean",
            "work",
            "tool",
            "help",
            "bug",
            "fix",
        ),
        "env": Entry(hold=_held("changes the go configuration", "-w", "-u")),
        "install": "installs a program",
    },
    hold={
        **_held("runs build tools through a program given in an option", "-toolexec"),
        **_held("runs the program through another given in an option", "-exec"),
    },
    code_files=_files("-C", "-modfile", "-overlay"),
    outputs=_files("-o"),
    long_words=True,
)
_INTO_VENV = Entry(
    hold={
        **dict.fromkeys(
            ("--system", "--break-system-packages", "--target", "--prefix", "--python", "-p"), INSTALLS
        ),
        # packages from another index or place than the configured one: whatever is there runs on install
        **_held(
            "installs packages from an index or location given in an option",
            "-i",
            "--index-url",
            "--extra-index-url",
            "--index",
            "--default-index",
            "-f",
            "--find-links",
        ),
    },
    # (a package named by where it comes from: a URL, a repository, a file, as npm install's)
    hold_operands=_PACKAGE_SOURCES,
)
"""``uv pip install``/``sync`` install into the project's virtual environment (uv refuses a system Python unless told)."""
_UV = _subs(
    {
        **_reads(
            "run",
            "sync",
            "lock",
            "add",
            "remove",
            "venv",
            "init",
            "tree",
            "export",
            "version",
            "build",
            "help",
            "cache",
        ),
        "pip": _subs({**(_PIP.subs or {}), "install": _INTO_VENV, "sync": _INTO_VENV}),
        "add": ADD_PACKAGE,
        "tool": "installs or runs a tool from the registry",
        "python": "installs or manages Python versions",
        "publish": "publishes a package",
    }
)
_POETRY = _subs(
    {
        **_reads(
            "run",
            "install",
            "add",
            "remove",
            "lock",
            "update",
            "show",
            "build",
            "check",
            "init",
            "new",
            "env",
            "shell",
            "version",
            "export",
            "config",
            "search",
            "about",
            "help",
            "sync",
        ),
        "add": ADD_PACKAGE,
        "publish": "publishes a package",
        "self": "changes poetry itself",
    }
)

_SYSTEM_PM = {
    **dict.fromkeys(
        (
            "apt",
            "apt-get",
            "aptitude",
            "dnf",
            "yum",
            "zypper",
            "pacman",
            "apk",
            "brew",
            "port",
            "snap",
            "flatpak",
            "pkg",
            "emerge",
            "xbps-install",
            "nix-env",
            "yay",
            "paru",
            "choco",
            "winget",
            "scoop",
        ),
        _subs(
            {
                **_reads(
                    "list",
                    "search",
                    "show",
                    "info",
                    "policy",
                    "depends",
                    "rdepends",
                    "madison",
                    "changelog",
                    "-Q",
                    "-Ss",
                    "-Si",
                    "-Qi",
                    "-Ql",
                    "-Qs",
                    "-Qe",
                    "-Qm",
                    "-Ss",
                    "outdated",
                    "deps",
                    "uses",
                    "leaves",
                    "doctor",
                    "config",
                    "--version",
                    "help",
                    "provides",
                    "repolist",
                    "check-update",
                    "history",
                    "why",
                ),
            },
            INSTALLS,
        ),
    ),
    **_reads("dpkg-query", "rpm-q", "apt-cache", "apt-file"),
}

_SERVICES = {
    "service": _subs({}, _SERVICE),
    "systemctl": _subs(
        _reads(
            "status",
            "show",
            "cat",
            "help",
            "list-units",
            "list-unit-files",
            "list-timers",
            "list-sockets",
            "list-dependencies",
            "list-jobs",
            "list-machines",
            "is-active",
            "is-enabled",
            "is-failed",
            "is-system-running",
            "get-default",
            "show-environment",
        ),
        _SERVICE,
    ),
    **dict.fromkeys(
        ("shutdown", "reboot", "poweroff", "halt", "init", "telinit"),
        _subs({}, "shuts down or restarts the machine", bare=False),
    ),
    **dict.fromkeys(("kill", "pkill", "killall", "skill"), _subs({}, "stops processes", bare=False)),
}

_INFRA_TESTS = "creates real infrastructure to run its tests (terraform test)"
_CLOUD = {
    "gh": _subs(
        {
            "pr": _subs(
                _reads("list", "view", "status", "diff", "checks", "checkout", "create"),
                "changes a pull request",
            ),
            "issue": _subs(_reads("list", "view", "status", "create", "comment"), "changes an issue"),
            "run": _subs(_reads("list", "view", "watch", "download"), "changes a workflow run"),
            "repo": _subs(_reads("view", "clone", "list"), "changes a repository"),
            **_reads("status", "auth", "search", "browse", "help", "version"),
            "api": Entry(
                hold=_held(
                    "sends a request that may change GitHub resources (gh api)",
                    "-X",
                    "--method",
                    "-f",
                    "-F",
                    "--field",
                    "--raw-field",
                    "--input",
                )
            ),
            "workflow": _subs(_reads("list", "view"), "runs or changes a workflow"),
            "release": _subs(_reads("list", "view", "download"), "changes a release"),
            "gist": _subs(_reads("list", "view", "clone"), "changes a gist"),
            "label": _subs(_reads("list"), "changes a label"),
        },
        "changes a GitHub resource",
    ),
    "helm": _subs(
        _reads(
            "list",
            "ls",
            "status",
            "get",
            "history",
            "show",
            "search",
            "template",
            "lint",
            "version",
            "env",
            "repo",
            "dependency",
            "package",
            "pull",
            "verify",
        ),
        "changes a release in the cluster",
        hold=_held(_RUNS, "--post-renderer"),
    ),
    "terraform": Entry(
        subs=MappingProxyType(
            {
                **_reads(
                    "plan",
                    "validate",
                    "fmt",
                    "init",
                    "show",
                    "output",
                    "version",
                    "providers",
                    "graph",
                    "console",
                    "get",
                    "-version",
                    "--version",
                ),
                "init": Entry(
                    hold=_held("copies in a module from a source given in an option", "-from-module"),
                    code_files=_files("-plugin-dir"),
                    long_words=True,
                ),
                "test": _INFRA_TESTS,
                "state": _subs(_reads("list", "show", "pull"), "changes the infrastructure state"),
                "workspace": _subs(_reads("list", "show"), "changes a workspace"),
            }
        ),
        other="changes infrastructure",
        code_files=_files("-chdir"),
        long_words=True,
    ),
    "tofu": _subs(
        {
            **_reads("plan", "validate", "fmt", "init", "show", "output", "version", "providers", "graph"),
            "test": _INFRA_TESTS,
        },
        "changes infrastructure",
        hold={},
    ),
}
_CLOUD["tofu"] = Entry(
    subs=_CLOUD["tofu"].subs, other="changes infrastructure", code_files=_files("-chdir"), long_words=True
)

_DOWNLOAD = dict.fromkeys(("curl", "wget", "http", "https", "xh", "aria2c", "httpie"), READ)

_EVERYDAY = {
    **_reads(
        "shuf",
        "pathchk",
        "dircolors",
        "hostid",
        "pinky",
        "ptx",
        "lsb_release",
        "ipcs",
        "ac",
        "pmap",
        "pwdx",
        "lsns",
        "lslocks",
        "lsipc",
        "lslogins",
        "finger",
        "getfattr",
        "ffprobe",
        "mediainfo",
        "pdfinfo",
        "pdffonts",
        "hexyl",
        "hd",
        "units",
        "colrm",
        "col",
        "ul",
        "banner",
        "qalc",
        "slabtop",
        "speedtest-cli",
        "speedtest",
        "trivy",
        "grype",
        "syft",
        "semgrep",
        "gitleaks",
        "trufflehog",
        "codespell",
        "cspell",
        "vale",
        "sqlfluff",
        "yamlfmt",
        "taplo",
        "dprint",
        "stylelint",
        "biome",
        "oxlint",
        "revive",
        "ktlint",
        "detekt",
        "swiftlint",
        "rubocop",
        "standardrb",
        "phpcs",
        "phpstan",
        "psalm",
        "cppcheck",
        "cpplint",
        "pydocstyle",
        "autopep8",
        "yapf",
        "pyupgrade",
        "vulture",
        "radon",
        "pip-audit",
        "deptry",
        "pip-compile",
        "just",
        "task",
        "dart",
        "flutter",
        "elm",
        "kustomize",
        "stern",
        "jar",
        "javap",
        "jdeps",
        "jps",
        "jstack",
        "jstat",
        "pg_dump",
        "pg_dumpall",
        "mysqldump",
        "pg_isready",
        "pg_config",
        "xmlstarlet",
        "virtualenv",
        "git-lfs",
        "tig",
        "lazygit",
        "pngquant",
        "cwebp",
        "svgo",
        "html-minifier",
        "terser",
        "uglifyjs",
        "sass",
        "lessc",
        "postcss",
        "tailwindcss",
        "babel",
        "swc",
        "wasm-pack",
        "trunk",
        "maturin",
        "cython",
        "nuitka",
        "pyinstaller",
        "hatch",
        "flit",
        "rye",
        "conan",
        "vcpkg",
        "scons",
        "premake5",
        "xmake",
        "gcov",
        "lcov",
        "genhtml",
        "gprof",
    ),
    **dict.fromkeys(("ffmpeg", "pdftotext", "pdftoppm", "sox", "qpdf"), Entry(writes="last")),
    **dict.fromkeys(("optipng", "jpegoptim"), Entry(writes="operands")),
    "fuser": Entry(hold={"-k": "stops processes", "--kill": "stops processes"}),
    "crontab": _subs({}, "installs a crontab", hold={"-r": "removes the crontab", "-e": "edits the crontab"}),
    "mount": _subs({}, "mounts a file system"),
    "umount": _subs({}, "unmounts a file system", bare=False),
    "sysctl": Entry(
        hold=dict.fromkeys(("-w", "--write", "-p", "--load", "--system"), "changes kernel parameters"),
        hold_operands={"*=*": "changes kernel parameters"},
    ),
    **dict.fromkeys(
        ("psql", "mysql", "mariadb", "mongosh", "mongo", "redis-cli", "sqlcmd", "cqlsh", "clickhouse-client"),
        _subs({}, "runs database statements", bare=False),
    ),
    "svn": _subs(
        _reads(
            "status",
            "st",
            "log",
            "diff",
            "di",
            "info",
            "list",
            "ls",
            "cat",
            "blame",
            "annotate",
            "praise",
            "update",
            "up",
            "checkout",
            "co",
            "add",
            "commit",
            "ci",
            "help",
            "--version",
            "export",
            "propget",
            "pg",
            "proplist",
            "pl",
        ),
        "is not a known svn command",
        hold=_held(_RUNS, "--editor-cmd", "--diff-cmd", "--diff3-cmd"),
        code_files=_files("--config-dir"),
        risky_values={
            "--config-option": (
                r"(editor|diff|diff3|merge-tool)-cmd|helpers|tunnels",
                "sets a command svn runs",
            )
        },
    ),
    "hg": _subs(
        _reads(
            "status",
            "st",
            "log",
            "diff",
            "summary",
            "sum",
            "heads",
            "branches",
            "branch",
            "tags",
            "identify",
            "id",
            "cat",
            "annotate",
            "blame",
            "files",
            "locate",
            "grep",
            "incoming",
            "in",
            "outgoing",
            "out",
            "pull",
            "update",
            "up",
            "checkout",
            "co",
            "add",
            "commit",
            "ci",
            "help",
            "version",
            "--version",
            "paths",
            "root",
            "parents",
            "tip",
            "manifest",
            "bookmarks",
            "book",
            "shelve",
            "unshelve",
            "export",
            "clone",
            "init",
        ),
        "is not a known hg command",
        hold={
            **_held("sets configuration that can run commands (hooks, editors, extensions)", "--config"),
            **_held(_RUNS, "-e", "--ssh", "--remotecmd"),
        },
    ),
    "pipenv": _subs(
        _reads(
            "install",
            "sync",
            "lock",
            "graph",
            "run",
            "check",
            "requirements",
            "--venv",
            "--py",
            "--where",
            "update",
            "uninstall",
            "clean",
            "verify",
            "scripts",
            "--version",
        ),
        "is not a known pipenv command",
    ),
    "pyenv": _subs(
        _reads(
            "versions",
            "version",
            "which",
            "whence",
            "local",
            "root",
            "prefix",
            "commands",
            "help",
            "--version",
        ),
        "installs or changes Python versions",
    ),
    "nvm": _subs(
        _reads("ls", "list", "use", "current", "which", "version", "ls-remote", "--version"),
        "installs or changes Node versions",
    ),
    "playwright": _subs(
        _reads("test", "show-report", "codegen", "--version"),
        "installs browsers or system packages",
        bare=False,
    ),
    "dbt": _subs(
        _reads(
            "compile",
            "test",
            "ls",
            "list",
            "parse",
            "docs",
            "debug",
            "deps",
            "clean",
            "source",
            "show",
            "--version",
            "init",
        ),
        "changes the data warehouse",
    ),
    "alembic": _subs(
        _reads("current", "history", "heads", "branches", "show", "check", "revision"),
        "changes the database schema",
    ),
    **dict.fromkeys(("tcpdump", "tshark"), READ),
    **dict.fromkeys(("nc", "ncat", "netcat"), READ),
    "grpcurl": READ,
    **dict.fromkeys(("aws", "gcloud", "az", "doctl"), READ),
    "npx": READ,
    "bunx": READ,
}
"""Everyday programs beyond the core tables (several judged further in :mod:`capfence.policy.shell.known`)."""

_SPECIAL = {
    # judged in capfence.policy.shell.known beyond their entry
    "find": READ,
    "sed": READ,
    "gsed": READ,
    "perl": READ,
    "awk": READ,
    "gawk": READ,
    "mawk": READ,
    "nawk": READ,
    "python": READ,
    "pypy": READ,
    "node": READ,
    "nodejs": READ,
    "ruby": READ,
    "php": READ,
    "lua": READ,
    "luajit": READ,
    "tee": Entry(),
    "xargs": READ,
    "ip": READ,
    "hostname": READ,
    "date": READ,
    "java": READ,
}

# --- programs that run code or write files through an option, an operand or a subcommand ------------------------------
# (GTFOBins "shell", "command", "file write" and "library load" functions, man pages.) Everyday uses stay allowed:
# ``tar xzf a.tgz``, ``make -j4``, ``vim notes.txt``, ``less log``, ``rsync -av src/ dst/``, ``sqlite3 db 'select 1'``.

_COMPILER = Entry(
    hold={
        **_held("runs compiler passes through a program given in an option", "-wrapper", "-B"),
        **_held(_LOADS, "-fplugin", "-fpass-plugin", "-load", "-Xclang"),
        **_held("reads a specs file, which can run programs", "-specs", "--specs"),
        **_held("reads more options from a file", "@", "--config"),
    },
    outputs=_files("-o"),
    long_words=True,
)
_VIM = Entry(
    writes="operands",
    outputs=_files("-w", "-W", "--startuptime"),
    hold={
        **_held(_EDITOR, "-c", "--cmd", "+", "--remote-send", "--remote-expr"),
        **_held(
            "runs editor commands from a file or its input (they can run shell commands)",
            "-S",
            "-s",
            "-e",
            "-E",
            "-u",
            "-U",
            "-i",
        ),
    },
)
_PAGER = Entry(
    outputs=_files("-o", "-O", "--log-file", "--LOG-FILE"),
    hold={
        **_held("runs pager commands given as `+` (they can run shell commands)", "+"),
        **_held("reads key bindings that can run commands", "-k", "--lesskey-file", "--lesskey-src"),
    },
)
_JS_TOOL = Entry(
    code_files=_files(
        "-c",
        "--config",
        "--configLoader",
        "-r",
        "--require",
        "--rootDir",
        "--plugin",
        "--rulesdir",
        "--resolve-plugins-relative-to",
        "-f",
        "--format",
        "--testRunner",
        "--setupFiles",
    ),
    outputs=_files(
        "-o",
        "--output-file",
        "--outfile",
        "--outdir",
        "--outputFile",
        "--outDir",
        "--out-dir",
        "--output-path",
        "--dist-dir",
        "--dir",
    ),
    runs_operands=True,
)
_DROPS_DATA = "drops, resets or rolls back a database (its data is lost)"
_RAILS_TEST = Entry(code_files=_files("-r", "--require"), runs_operands=True)
"""``rails test [FILES]``: the project's tests (``rails db:migrate``, ``runner``, ``console``, ``server`` and the rest
are held: they change the database or the project, or run code given to them)."""
_DB_TASKS = dict.fromkeys(
    (
        "*flyway:clean*",
        "*flyway:undo*",
        "*flywayClean*",
        "*flywayUndo*",
        "*liquibase:drop*",
        "*liquibase:rollback*",
        "*liquibaseDrop*",
        "*liquibaseRollback*",
        "db:drop*",
        "db:reset*",
        "db:purge*",
        "db:rollback*",
        "db:truncate*",
        "db:schema:load*",
        "db:structure:load*",
        "db:migrate:down*",
        "db:migrate:redo*",
        "db:migrate:reset*",
        "db:seed:replant*",
        "db:fixtures:load*",
        "db:wipe*",
        "migrate:fresh*",
        "migrate:reset*",
        "migrate:rollback*",
        "DISABLE_DATABASE_ENVIRONMENT_CHECK=*",
    ),
    _DROPS_DATA,
)
"""Build and task runners' tasks (Maven/Gradle Flyway and Liquibase, Rails' rake) that destroy a database's data."""
_ESCAPES: dict[str, Entry] = {
    # build tools: the project's own build files run; one named outside the working tree, or code in an option, is held
    **dict.fromkeys(
        ("make", "gmake"),
        Entry(
            hold=_held("evaluates make code given in an option", "--eval", "-E"),
            code_files=_files("-f", "--file", "--makefile", "-C", "--directory"),
        ),
    ),
    "cmake": Entry(
        hold={
            **_held("runs a command-mode tool (cmake -E)", "-E"),
            **_held("runs a CMake script", "-P", "-C"),
            "--install": "installs the project",
        },
        code_files=_files("-S"),
        risky_values={
            "-D": (
                r"(LAUNCHER|_INCLUDE|_INCLUDE_BEFORE|TOOLCHAIN_FILE|RULES_OVERRIDE)(:\w+)?=",
                "makes the build run a program or code given in an option",
            )
        },
        long_words=True,
    ),
    "ctest": Entry(
        hold={
            **_held("runs a CTest script", "-S", "-SP", "-SR"),
            "--build-and-test": "builds and runs another project",
        },
        long_words=True,
    ),
    "openssl": Entry(
        hold=_held(_LOADS, "-engine", "-provider", "-provider-path", "-keygen_engine"),
        outputs=_files("-out", "-keyout", "-sess_out", "-msgfile", "-keylogfile", "-CAserial"),
        long_words=True,
    ),
    "ninja": Entry(code_files=_files("-f", "-C")),
    "meson": Entry(
        held_subs={"devenv": "runs a command in the build environment (meson devenv)"},
        hold=_held(_RUNS, "--wrapper"),
    ),
    **dict.fromkeys(
        ("bazel", "bazelisk"), Entry(hold=_held(_RUNS, "--run_under"), code_files=_files("--bazelrc"))
    ),
    **dict.fromkeys(
        ("gradle", "gradlew"),
        Entry(
            hold=_held("runs an init script given in an option", "-I", "--init-script"),
            code_files=_files("-p", "--project-dir", "-b", "--build-file", "-c", "--settings-file"),
            hold_operands=_DB_TASKS,
        ),
    ),
    **dict.fromkeys(
        ("mvn", "mvnw"),
        # the exec plugin's exec goal runs any program (-Dexec.executable=rm); antrun runs build-file tasks given inline
        Entry(
            code_files=_files("-f", "--file"),
            hold_operands={**_DB_TASKS, **dict.fromkeys(("*:exec", "*antrun*:run"), _RUNS)},
        ),
    ),
    "ant": Entry(code_files=_files("-f", "-file", "-buildfile"), long_words=True),
    # Ruby and PHP test runners: the project's specs and tests, like pytest (and their helpers, loaded from the tree)
    "rspec": Entry(
        code_files=_files("-r", "--require", "-I", "--options", "--default-path"),
        outputs=_files("-o", "--out"),
        runs_operands=True,
    ),
    "phpunit": Entry(
        code_files=_files("--bootstrap", "-c", "--configuration", "--include-path", "--extension"),
        outputs=_files(
            "--log-junit",
            "--log-teamcity",
            "--testdox-html",
            "--testdox-text",
            "--testdox-xml",
            "--coverage-html",
            "--coverage-clover",
            "--coverage-cobertura",
            "--coverage-crap4j",
            "--coverage-php",
            "--coverage-text",
            "--coverage-xml",
            "--cache-result-file",
            "--cache-directory",
        ),
        runs_operands=True,
    ),
    "rails": _subs(
        {
            **dict.fromkeys(
                ("test", "t", "test:all", "test:models", "test:controllers", "test:system"), _RAILS_TEST
            ),
            **_reads("routes", "about", "stats", "notes", "version", "middleware", "initializers"),
            **_reads("db:migrate:status", "db:version", "time:zones", "time:zones:all"),
        },
        "changes the project or its database, or runs code given to it",
    ),
    "tsc": Entry(outputs=_files("--outDir", "--outFile", "--out", "--declarationDir")),
    **dict.fromkeys(
        (
            "eslint",
            "prettier",
            "jest",
            "vitest",
            "mocha",
            "ava",
            "tap",
            "webpack",
            "vite",
            "rollup",
            "parcel",
            "esbuild",
        ),
        _JS_TOOL,
    ),
    **dict.fromkeys(
        ("pytest", "py.test"),
        Entry(
            code_files=_files("-c", "--rootdir", "--confcutdir", "--config-file"),
            runs_operands=True,
            outputs=_files(
                "--junitxml",
                "--junit-xml",
                "--basetemp",  # emptied first
                "--html",
                "--result-log",
                "--resultlog",
                "--report-log",
                "--json-report-file",
            ),
            risky_values={
                "--cov-report": (r":\s*(/|~|\.\.)", "writes a coverage report outside the working tree"),
                "-o": (r"=\s*(/|~|\.\.)", "sets a path outside the working tree in an ini option"),
                "--override-ini": (
                    r"=\s*(/|~|\.\.)",
                    "sets a path outside the working tree in an ini option",
                ),
            },
        ),
    ),
    "tox": Entry(
        code_files=_files("-c", "--conf", "--workdir"),
        hold=_held("overrides its configuration, which holds the commands it runs", "-x", "--override"),
    ),
    "nox": Entry(code_files=_files("-f", "--noxfile")),
    "mypy": Entry(
        hold=_held(_RUNS, "--python-executable"),
        code_files=_files("--config-file"),
        outputs=_files(
            "--junit-xml",
            "--cache-dir",
            "--html-report",
            "--txt-report",
            "--xml-report",
            "--linecount-report",
            "--linecoverage-report",
            "--lineprecision-report",
            "--any-exprs-report",
            "--cobertura-xml-report",
            "--memory-xml-report",
            "--xslt-html-report",
            "--xslt-txt-report",
        ),
    ),
    "pylint": Entry(
        hold=_held("runs Python code given in an option", "--init-hook"),
        code_files=_files("--rcfile"),
        outputs=_files("--output"),
        risky_values={"--output-format": (r":\s*(/|~|\.\.)", "writes a report outside the working tree")},
    ),
    "flake8": Entry(
        code_files=_files("--config", "--append-config"), outputs=_files("--output-file", "--tee")
    ),
    "bandit": Entry(outputs=_files("-o", "--output")),
    # writers of reports, builds and dumps: their output options
    "hugo": Entry(outputs=_files("-d", "--destination", "--cacheDir")),
    "jekyll": Entry(
        outputs=_files("-d", "--destination"), code_files=_files("-p", "--plugins", "-s", "--source")
    ),
    "babel": Entry(outputs=_files("-d", "--out-dir", "-o", "--out-file"), code_files=_files("--config-file")),
    "tailwindcss": Entry(outputs=_files("-o", "--output"), code_files=_files("-c", "--config")),
    "postcss": Entry(outputs=_files("-o", "--output", "-d", "--dir"), code_files=_files("--config")),
    "svgo": Entry(outputs=_files("-o", "--output"), code_files=_files("--config")),
    **dict.fromkeys(("terser", "uglifyjs"), Entry(outputs=_files("-o", "--output"))),
    # sass IN OUT, sass IN:OUT
    **dict.fromkeys(
        ("sass", "lessc"),
        Entry(
            writes="after_first",
            hold_operands=dict.fromkeys(("*:/*", "*:~*", "*:..*"), "writes outside the working tree"),
        ),
    ),
    "pip-compile": Entry(outputs=_files("-o", "--output-file")),
    "trivy": Entry(outputs=_files("-o", "--output", "--cache-dir")),
    "semgrep": Entry(
        outputs=_files(
            "-o",
            "--output",
            "--json-output",
            "--sarif-output",
            "--text-output",
            "--junit-xml-output",
            "--gitlab-sast-output",
            "--gitlab-secrets-output",
            "--emacs-output",
            "--vim-output",
        )
    ),
    "gitleaks": Entry(outputs=_files("-r", "--report-path")),
    **dict.fromkeys(("pg_dump", "pg_dumpall"), Entry(outputs=_files("-f", "--file"))),
    "mysqldump": Entry(outputs=_files("-r", "--result-file", "-T", "--tab")),
    "xmlstarlet": Entry(hold=_held("edits files in place", "-L", "--inplace")),
    **dict.fromkeys(("yq", "xq"), Entry(contained=_held("edits files in place", "-i", "--inplace"))),
    "lastlog": Entry(hold=_held("changes the login records", "-C", "--clear", "-S", "--set")),
    "ss": Entry(hold=_held("closes connections", "-K", "--kill"), outputs=_files("-D", "--diag")),
    "lein": Entry(hold_operands={"clojure.main": _EVAL}),
    "kustomize": Entry(
        hold=_held(
            "runs plugins or helm while building",
            "--enable-alpha-plugins",
            "--enable-exec",
            "--enable-helm",
            "--helm-command",
        ),
        outputs=_files("-o", "--output"),
    ),
    "golangci-lint": Entry(code_files=_files("-c", "--config")),
    "markdownlint": Entry(code_files=_files("-c", "--config", "-r", "--rules")),
    "actionlint": Entry(
        hold=_held("runs a program given in an option", "-shellcheck", "-pyflakes"), long_words=True
    ),
    "tflint": Entry(code_files=_files("-c", "--config", "--chdir")),
    "pre-commit": Entry(
        code_files=_files("-c", "--config"),
        held_subs={
            "try-repo": "runs hooks from another repository",
            "install": "installs git hooks",
            "install-hooks": "installs hook environments",
            "init-templatedir": "installs git hooks",
        },
    ),
    **dict.fromkeys(("gcc", "g++", "cc", "c++", "clang", "clang++"), _COMPILER),
    "clang-tidy": Entry(hold=_held(_LOADS, "--load", "-load"), long_words=True),
    "ld": Entry(hold=_held(_LOADS, "-plugin", "--plugin"), outputs=_files("-o", "--output")),
    "as": Entry(outputs=_files("-o")),
    "strip": Entry(writes="operands", outputs=_files("-o")),
    "ar": Entry(writes="after_first"),
    "rustc": Entry(
        outputs=_files("-o", "--out-dir"),
        risky_values={
            "-C": (
                r"^\s*(linker|link-arg|link-args|llvm-args|passes|codegen-backend)",
                "runs or loads a program given in an option (rustc -C)",
            )
        },
        long_words=True,
    ),
    "javac": Entry(
        hold={**_held("passes options to the JVM (it can load agents)", "-J"), **_held(_LOADS, "-Xplugin")},
        outputs=_files("-d"),
        long_words=True,
    ),
    "kotlinc": Entry(
        hold={
            **_held("passes options to the JVM (it can load agents)", "-J"),
            **_held("runs a Kotlin script or expression", "-script", "-e", "-expression"),
            **_held(_LOADS, "-Xplugin"),
        },
        long_words=True,
    ),
    "scalac": Entry(
        hold={**_held("passes options to the JVM (it can load agents)", "-J"), **_held(_LOADS, "-Xplugin")},
        long_words=True,
    ),
    "swiftc": Entry(
        hold=_held(_LOADS, "-load-plugin-library", "-plugin-path", "-load-plugin-executable"), long_words=True
    ),
    "swift": _subs(
        {
            **_reads("build", "test", "run", "package", "--version", "-version", "help"),
            "repl": "starts a REPL",
        },
        "runs a Swift script whose code is not checked",
    ),
    "dotnet": _subs(
        _reads(
            "build",
            "test",
            "run",
            "restore",
            "clean",
            "format",
            "publish",
            "pack",
            "new",
            "add",
            "remove",
            "list",
            "sln",
            "--version",
            "--info",
            "--list-sdks",
            "--list-runtimes",
            "watch",
            "help",
            "build-server",
        ),
        "runs a program or installs tools (dotnet)",
    ),
    "ghc": Entry(
        hold={
            **_held("evaluates Haskell code given in an option", "-e", "--run", "--interactive"),
            **_held("runs a preprocessor or compiler pass given in an option", "-F", "-pgm"),
            **_held(_LOADS, "-fplugin"),
        },
        long_words=True,
    ),
    "stack": _subs(
        _reads(
            "build",
            "test",
            "bench",
            "setup",
            "init",
            "new",
            "clean",
            "ls",
            "path",
            "--version",
            "query",
            "list",
            "haddock",
            "purge",
            "templates",
            "run",
            "update",
        ),
        "runs a command or code, or installs programs (stack)",
    ),
    "cabal": _subs(
        _reads(
            "build",
            "test",
            "bench",
            "run",
            "configure",
            "update",
            "clean",
            "check",
            "sdist",
            "haddock",
            "freeze",
            "gen-bounds",
            "outdated",
            "list",
            "info",
            "init",
            "--version",
            "v2-build",
            "v2-test",
            "v2-run",
            "list-bin",
            "path",
        ),
        "runs a command or code, or installs programs (cabal)",
    ),
    "mix": Entry(
        hold=_held("evaluates Elixir code given in an option", "-e", "--eval"),
        held_subs={
            **dict.fromkeys(("ecto.drop", "ecto.reset", "ecto.rollback", "ecto.load"), _DROPS_DATA),
            "cmd": "runs a shell command (mix cmd)",
            "do": "runs several tasks, which may include `cmd` (mix do)",
            "archive.install": INSTALLS,
            "escript.install": INSTALLS,
            "local.rebar": INSTALLS,
        },
    ),
    "rebar3": Entry(held_subs={"shell": "starts an Erlang shell"}),
    # held unless only asked for its version: capfence.policy.shell.known
    **dict.fromkeys(("gdb", "lldb"), READ),
    "perf": _subs(
        _reads(
            "list", "report", "annotate", "diff", "evlist", "version", "--version", "help", "buildid-list"
        ),
        "runs a command or a script under the profiler (perf)",
    ),
    "valgrind": Entry(outputs=_files("--log-file", "--xml-file")),
    **dict.fromkeys(("strace", "ltrace", "time"), Entry(outputs=_files("-o", "--output"))),
    "script": Entry(writes="operands"),
    "hyperfine": Entry(
        outputs=_files(
            "--export-json", "--export-csv", "--export-markdown", "--export-asciidoc", "--export-orgmode"
        )
    ),
    "cloc": Entry(outputs=_files("--report-file", "--out")),
    "ctags": Entry(outputs=_files("-f", "-o")),
    "cscope": Entry(outputs=_files("-f")),
    "sqlite3": READ,  # its SQL and dot-commands are judged in capfence.policy.shell.known
    "mkdocs": Entry(
        code_files=_files("-f", "--config-file"),
        held_subs={"gh-deploy": "publishes the site"},
        outputs=_files("-d", "--site-dir"),
    ),
    "sphinx-build": Entry(code_files=_files("-c"), runs_operands=True),
    "lerna": Entry(held_subs={"exec": "runs a command in each package (lerna exec)"}),
    "nx": Entry(held_subs={"exec": "runs a command (nx exec)"}),
    "deno": _subs(
        _reads(
            "test", "check", "fmt", "lint", "doc", "info", "task", "bench", "types", "--version", "-V", "help"
        ),
        "runs code that is not checked (deno)",
    ),
    "jupyter": _subs(
        {
            **_reads("--version", "--paths", "kernelspec", "troubleshoot"),
            # its --Class.trait=value options: capfence.policy.shell.known
            "nbconvert": Entry(
                # (traits that turn execution on, or load preprocessors: code named in the option)
                hold=_held(
                    "runs the notebook's code",
                    "--execute",
                    "--ExecutePreprocessor.enabled",
                    "--Exporter.preprocessors",
                    "--NbConvertApp.preprocessors",
                    "--Exporter.default_preprocessors",
                ),
                code_files=_files("--config"),
                outputs=_files("--output-dir"),
            ),
        },
        "runs notebook code or a notebook server (jupyter)",
    ),
    # an application given as a call (`module:factory(args)`) is called: `os:system("reboot")` runs a command
    "gunicorn": Entry(
        code_files=_files("-c", "--config", "--paste", "--paster"), hold_operands={"*(*": _CALLS_APP}
    ),
    "flask": Entry(
        risky_values=dict.fromkeys(("--app", "-A"), (r"\(", _CALLS_APP)),
        hold_operands={"downgrade": _DROPS_DATA},
    ),
    "virtualenv": Entry(contained=_held("deletes the directory's contents", "--clear")),
    "sbt": Entry(
        hold_operands=dict.fromkeys(
            ("eval", "eval *", "*[ ;]eval *", "set", "set *", "*[ ;]set *", "console*", "*[ ;]console*"),
            _EVAL,
        )
    ),
    "rake": Entry(
        hold={
            **_held(_EVAL, "-e", "--execute", "-p", "--execute-print", "-E", "--execute-continue"),
            **_held(_LOADS, "-r", "--require", "-I", "--libdir"),
            **_held("runs the user's or the system's global rakefiles", "-g", "--system"),
        },
        code_files=_files("-f", "--rakefile", "-R", "--rakelibdir", "--rakelib", "-C", "--directory"),
        hold_operands=_DB_TASKS,
    ),
    "just": Entry(
        hold={
            **_held(_RUNS, "--command"),
            **_held("runs recipes with a program given in an option", "--shell"),
        },
        code_files=_files("-f", "--justfile"),
    ),
    "task": Entry(code_files=_files("-t", "--taskfile", "-d", "--dir")),
    # its configuration loads plugins; its reports are written where told
    "coverage": Entry(
        code_files=_files("--rcfile"), outputs=_files("-d", "--directory", "-o", "--data-file")
    ),
    "code": Entry(
        hold={
            **_held("installs an editor extension", "--install-extension"),
            **_held("loads editor extensions from a directory", "--extensions-dir"),
        },
        held_subs={
            "tunnel": "opens remote access to this machine (code tunnel)",
            "serve-web": "serves the editor over the network",
        },
    ),
    "protoc": Entry(hold=_held("runs a plugin program given in an option", "--plugin")),
    # text tools and pagers
    **dict.fromkeys(("less", "more", "most", "zless", "zmore"), _PAGER),
    **dict.fromkeys(("bat", "batcat", "delta"), Entry(hold=_held(_RUNS, "--pager"))),
    "fzf": Entry(
        hold={
            **_held(_RUNS, "--preview", "--with-shell"),
            "--bind": "binds keys to actions that can run commands",
            **_held("listens for actions over the network", "--listen", "--listen-unsafe"),
        }
    ),
    "pandoc": Entry(
        hold=_held("runs a filter given in an option", "-F", "--filter", "-L", "--lua-filter"),
        outputs=_files("-o", "--output", "--extract-media"),
    ),
    "sort": Entry(hold=_held(_RUNS, "--compress-program"), outputs=_files("-o", "--output")),
    "split": Entry(writes="after_first", hold=_held(_RUNS, "--filter")),
    "csplit": Entry(outputs=_files("-f", "--prefix")),
    "iconv": Entry(outputs=_files("-o", "--output")),
    "sdiff": Entry(outputs=_files("-o", "--output")),
    "xmllint": Entry(outputs=_files("-o", "--output")),
    "tree": Entry(outputs=_files("-o")),
    "ncdu": Entry(outputs=_files("-o")),
    **dict.fromkeys(("uniq", "xxd"), Entry(writes="after_first")),
    **dict.fromkeys(("dos2unix", "unix2dos"), Entry(writes="operands")),
    "patch": Entry(writes="operands", outputs=_files("-o", "--output")),
    "cowsay": Entry(code_files=_files("-f")),
    "neofetch": Entry(code_files=_files("--config")),
    "man": Entry(
        hold={
            **_held("runs a pager given in an option", "-P", "--pager"),
            **_held("runs a browser given in an option", "-H", "--html"),
        }
    ),
    "info": Entry(outputs=_files("-o", "--output")),
    "history": Entry(
        hold={
            **_held("writes the shell history to a file", "-w", "-a"),
            "-c": "clears the shell history",
            "-d": "deletes shell history entries",
        }
    ),
    "fc": Entry(),  # held unless listing (-l): capfence.policy.shell.known
    "bind": Entry(hold=_held("binds a key to a shell command", "-x")),
    # -W's word list is expanded when completing: `$(cmd)` in it runs cmd
    **dict.fromkeys(
        ("complete", "compgen"),
        Entry(
            hold=_held(_RUNS, "-C"),
            risky_values={"-W": (r"\$\(|`", "expands a word list that runs commands")},
        ),
    ),
    **dict.fromkeys(
        ("mapfile", "readarray"), Entry(hold=_held("runs a command given in an option (callback)", "-C"))
    ),
    "dc": _subs({}, "runs a calculator program, which can run shell commands (dc)", bare=False),
    "ed": _subs({}, "runs editing commands from its input, which can run shell commands (ed)", bare=False),
    "tmux": _subs(
        {
            **_reads(
                "ls",
                "list-sessions",
                "list-windows",
                "list-panes",
                "list-clients",
                "list-buffers",
                "list-keys",
                "list-commands",
                "has-session",
                "has",
                "show-options",
                "show",
                "show-window-options",
                "showw",
                "show-environment",
                "showenv",
                "info",
                "-V",
            ),
        },
        "runs commands in a terminal multiplexer session (tmux)",
        bare=False,
        hold=_held("formats output with a template that can run commands", "-F"),
    ),
    "screen": _subs({}, "runs commands in a terminal multiplexer session (screen)", bare=False),
    **dict.fromkeys(
        ("xdg-open", "open"), _subs({}, "opens a file or URL with another program, which may run it")
    ),
    "espeak": Entry(outputs=_files("-w")),
    "say": Entry(outputs=_files("-o", "--output-file")),
    "atop": Entry(outputs=_files("-w")),
    "sar": Entry(outputs=_files("-o")),
    "journalctl": Entry(
        hold=_held(
            "deletes or rotates journal files",
            "--vacuum-size",
            "--vacuum-time",
            "--vacuum-files",
            "--rotate",
            "--flush",
            "--setup-keys",
            "--relinquish-var",
        )
    ),
    "dmesg": Entry(
        hold=_held(
            "clears or changes the kernel log",
            "-C",
            "--clear",
            "-c",
            "--read-clear",
            "-D",
            "--console-off",
            "-E",
            "--console-on",
            "-n",
            "--console-level",
        )
    ),
    "timedatectl": _subs(
        _reads("status", "show", "list-timezones", "timesync-status", "show-timesync"),
        "changes system settings",
    ),
    "hostnamectl": _subs(_reads("status", "show"), "changes system settings"),
    "localectl": _subs(
        _reads(
            "status",
            "list-locales",
            "list-keymaps",
            "list-x11-keymap-models",
            "list-x11-keymap-layouts",
            "list-x11-keymap-variants",
            "list-x11-keymap-options",
        ),
        "changes system settings",
    ),
    "loginctl": _subs(
        _reads(
            "list-sessions",
            "list-users",
            "list-seats",
            "show-session",
            "show-user",
            "show-seat",
            "session-status",
            "user-status",
            "seat-status",
        ),
        "changes sessions or users",
    ),
    # network and keys
    # (-f: capfence.policy.shell.known, as it is written or only read depending on the other options)
    "ssh-keygen": Entry(hold={**_held(_LOADS, "-D", "-w"), "-R": "removes a host's key from known_hosts"}),
    "ssh-add": Entry(
        hold={
            **_held(_LOADS, "-s", "-S", "-e"),
            "-D": "removes every identity from the agent",
            "-d": "removes an identity from the agent",
        }
    ),
    **dict.fromkeys(
        ("gpg", "gpg2"),
        Entry(
            hold={
                **_held(_RUNS, "--photo-viewer", "--exec-path"),
                **_held(_LOADS, "--load-extension"),
                **_held(
                    "deletes keys",
                    "--delete-keys",
                    "--delete-key",
                    "--delete-secret-keys",
                    "--delete-secret-key",
                    "--delete-secret-and-public-key",
                    "--delete-secret-and-public-keys",
                ),
            },
            outputs=_files("-o", "--output"),
        ),
    ),
    "arp": Entry(hold=_held("changes the ARP table", "-s", "-d", "-f")),
    "route": _subs(_reads("-n"), "changes the routing table"),
    # writers
    "rsync": Entry(
        writes="last",
        static_operands=True,
        hold={
            **_held("runs a remote shell command given in an option", "-e", "--rsh", "--rsync-path"),
            "--daemon": "runs the rsync daemon",
            "--config": "runs the rsync daemon",
        },
        # (in the tree, mirroring one folder into another is fine: rsync --delete build/ out/; not into `.`)
        contained={
            **_held("deletes the files it copies", "--remove-source-files", "--remove-sent-files"),
            **_held(
                "deletes the destination's files that the source lacks",
                "--delete",
                "--del",
                "--delete-before",
                "--delete-during",
                "--delete-delay",
                "--delete-after",
                "--delete-excluded",
                "--delete-missing-args",
            ),
        },
        outputs=_files(
            "--log-file", "--write-batch", "--only-write-batch", "--backup-dir", "--temp-dir", "-T"
        ),
    ),
    "scp": Entry(
        writes="last",
        static_operands=True,
        hold={
            **_held("runs a program given in an option instead of ssh", "-S"),
            **_held("reads an ssh configuration that can run commands", "-F"),
        },
        risky_values={
            "-o": (
                r"^\s*(proxycommand|localcommand|permitlocalcommand|knownhostscommand|pkcs11provider|"
                r"securitykeyprovider|include|match)",
                "sets an ssh option that runs commands",
            )
        },
    ),
    **dict.fromkeys(("vim", "vi", "nvim"), _VIM),
    "emacs": Entry(
        writes="operands",
        hold={
            **_held(_EVAL, "--eval", "--execute", "--script", "-x"),
            **_held(
                "runs Lisp code from a file or function given in an option",
                "-f",
                "--funcall",
                "-l",
                "--load",
                "--init-directory",
            ),
        },
    ),
    "nano": Entry(
        writes="operands",
        hold={
            **_held("runs a spell-checking program given in an option", "-s", "--speller"),
            **_held(_CONFIG, "-f", "--rcfile"),
        },
    ),
    "micro": Entry(
        writes="operands",
        hold={"-plugin": "manages editor plugins (code)"},
        code_files=_files("-config-dir"),
        long_words=True,
    ),
    # archives
    **dict.fromkeys(
        ("tar", "bsdtar"),
        Entry(
            hold={
                **_held(
                    _RUNS,
                    "--checkpoint-action",
                    "--to-command",
                    "-I",
                    "--use-compress-program",
                    "--rsh-command",
                    "--rmt-command",
                    "--info-script",
                    "--new-volume-script",
                    "-F",
                )
            },
            risky_values={
                "-f": (r"^[^/]*:", "reads or writes an archive on another machine (through rsh)"),
                "--file": (r"^[^/]*:", "reads or writes an archive on another machine (through rsh)"),
            },
        ),
    ),
    "cpio": Entry(
        hold={
            **_held(_RUNS, "--rsh-command"),
            **_held("overwrites newer files with older ones from the archive", "-u", "--unconditional"),
        },
        risky_values={"-F": (r"^[^/]*:", "reads or writes an archive on another machine (through rsh)")},
        # the archive it writes (cpio -o -O /dev/sda, -F /dev/sda): in the working tree only (so is one it reads with -F)
        outputs=_files("-O", "-F", "--file"),
    ),
    "zip": Entry(
        writes="operands",
        hold=_held("runs a command given in an option to test the archive", "-TT", "--unzip-command"),
    ),
}

# --- everyday reads: package queries, resolver and cloud listings, data tools, probes ---------------------------------
_PACKAGES_CHANGE = "installs, removes or configures packages"


@dataclass(frozen=True)
class QueryModes:
    """A program whose mode is an option (``dpkg -l``, ``rpm -qa``): known safe only in a mode that reads.

    Every option given must be one of :attr:`reads` or :attr:`modifiers`, and one of :attr:`reads` must be given (``rpm -i``
    installs, ``rpm -qi`` shows information). Any other option, an abbreviation included, is held with :attr:`why`.
    """

    reads: frozenset[str]
    modifiers: frozenset[str] = frozenset()
    why: str = _PACKAGES_CHANGE


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


QUERY_MODES: Mapping[str, QueryModes] = MappingProxyType(
    {
        "dpkg": QueryModes(
            reads=_words(
                "-l --list -L --listfiles -s --status -S --search -p --print-avail --get-selections --print-architecture"
                " --print-foreign-architectures -C --audit -c --contents -I --info --compare-versions --validate-pkgname"
                " --validate-version --version --help"
            ),
            modifiers=_words("--no-pager"),
        ),
        # (not -V/--verify: it runs the package's %verifyscript; not --eval/-D/--specfile: rpm macros run shell commands)
        "rpm": QueryModes(
            reads=_words("-q --query -K --checksig --querytags --version --help"),
            modifiers=_words(
                "-a --all -i --info -l --list -f --file -p --package -c --configfiles -d --docfiles -R --requires"
                " --provides -s --state --whatprovides --whatrequires --changelog --changes --scripts --triggers --last"
                " --qf --queryformat -g --group --dump --conflicts --obsoletes --recommends --suggests --supplements"
                " --enhances --filesbypkg --licensefiles --nodigest --nosignature -v --verbose --quiet"
            ),
        ),
    }
)
"""Programs judged by their mode option (:func:`capfence.policy.shell.judges.query_mode`)."""

SIGNAL_ZERO: Mapping[str, tuple[tuple[str, ...], ...]] = MappingProxyType(
    {
        "kill": (("-0",), ("-s", "0"), ("-n", "0"), ("--signal", "0"), ("--signal=0",)),
        "killall": (("-0",), ("-s", "0"), ("--signal", "0"), ("--signal=0",)),
        # (not -s or -n: for pkill they choose a session or the newest process, and the signal stays TERM)
        "pkill": (("-0",), ("--signal", "0"), ("--signal=0",)),
    }
)
"""Programs that send a signal, with the spellings of signal 0 at the start of their arguments: signal 0 sends nothing,
it only asks whether the processes exist (``kill -0 PID``, ``killall -0 node``; judged in
:func:`capfence.policy.shell.judges.signal`). ``kill -l`` lists the signals."""
SIGNAL_SELECTORS = _words("-f --full -x --exact -e -i -I --ignore-case -u --user -U -q --quiet")
"""Options of ``pkill``/``killall`` that choose which processes signal 0 probes, or print less: none sends a signal."""
PID_SOURCES = _words("cat head tail pgrep pidof")
"""Programs whose output may name the processes ``kill -0`` probes (``kill -0 "$(cat server.pid)"``): they print what a
file holds or process ids, not options made up in the command (``kill -0 $(echo -s 9 -1)`` is held)."""

REDIS_READS = _words(
    "ping echo info dbsize time lastsave role exists type ttl pttl get mget strlen getrange hget hmget hgetall hkeys"
    " hvals hlen hexists hstrlen lrange llen lindex lpos scard smembers sismember smismember zrange zrevrange"
    " zrangebyscore zrevrangebyscore zcard zscore zmscore zrank zrevrank zcount scan hscan sscan zscan keys xlen xrange"
    " xrevrange bitcount getbit geopos geodist randomkey srandmember hrandfield zrandmember"
)
"""Redis commands that only read (``redis-cli get k``, ``redis-cli info memory``): the agent already talks to this
database, and they change nothing in it. Not ``config`` (``config get requirepass`` prints the password), nor ``client``,
``debug``, ``eval``, ``flushall``, ``shutdown``, ``monitor`` (every command, with its passwords)."""
REDIS_READ_PAIRS = frozenset(
    pair.replace("_", " ")
    for pair in _words(
        "memory_usage memory_stats memory_doctor slowlog_get slowlog_len cluster_info cluster_nodes cluster_slots"
        " cluster_shards cluster_myid command_count command_docs command_info command_list object_encoding object_freq"
        " object_idletime object_refcount xinfo_stream xinfo_groups xinfo_consumers latency_latest latency_history"
        " latency_doctor client_list client_info client_getname client_id acl_whoami"
    )
)
"""Redis commands of two words that only read (``redis-cli memory usage k``)."""
REDIS_MODES = _words(
    "--scan --bigkeys --memkeys --keystats --hotkeys --stat --latency --latency-history --latency-dist --help -v --version"
)
"""``redis-cli`` options that read without a command (``redis-cli --scan --pattern 'session:*'``)."""
REDIS_FLAGS = _words(
    "--raw --no-raw --csv --json --quoted-json --no-auth-warning -c -e -2 -3 -4 -6 --tls --insecure --verbose --askpass"
)
REDIS_VALUES = _words(
    "-h -p -s -a -u -n -r -i -d --user --pass --sni --pattern --quoted-pattern --count --memkeys-samples --cacert"
    " --cacertdir --cert --key --tls-ciphers --tls-ciphersuites"
)
"""``redis-cli`` options a read may be given (connection, output format, repetition; :data:`REDIS_VALUES` take the next
word): not ``--eval`` (runs a script in the server), ``--pipe`` (commands from its input), ``--rdb``/``--functions-rdb``
(write a dump), ``--cluster`` (changes the cluster), ``--replica``, ``-x`` (an argument from its input)."""

NAMES_ONLY = _words(
    "ls dir vdir ll exa eza lsd stat namei lsattr getfacl realpath readlink basename dirname test [ chmod chown chgrp"
    " touch mkdir"
)
"""Programs that list, test or change the names and modes of their operands, never their contents: naming a file that
holds secrets (``ls -la ~/.ssh``, ``stat -c %a /etc/shadow``, ``chmod 600 .env.local``) reveals none. Not ``find``
(its actions read), ``tree``/``du`` (they read names from a file given in an option), ``file`` (it prints parts)."""
DESTINATION_UNREAD = _words("cp install")
"""Programs whose last operand is the file they write, not one they read (``cp config/example.env .env.local``)."""
UNREAD_SUBCOMMANDS: Mapping[str, tuple[str, frozenset[str]]] = MappingProxyType(
    {"git": ("rm", _words("--cached -r -q --quiet -n --dry-run --ignore-unmatch -f --force --"))}
)
"""Subcommands, with the options they may be given, that do not read their operands (``git rm --cached .env``)."""

SQL_READS = _words("select show describe desc explain values table with use")
"""Statements that read (``SELECT``, ``SHOW``, ``DESCRIBE``, ``EXPLAIN``): a database client given only these (``psql -c``,
``mysql -e``) is allowed (judged in :func:`capfence.policy.shell.judges.sql_client`)."""
SQL_CHANGES = _words(
    "insert update delete replace merge upsert drop alter create truncate grant revoke into outfile dumpfile copy call"
    " do load lock prepare execute handler"
)
"""Words that make a statement change something, anywhere in it (``WITH x AS (DELETE ...)``, ``SELECT ... INTO
OUTFILE``, ``SELECT ... FOR UPDATE``, ``EXPLAIN ANALYZE`` runs the statement it explains)."""
SQL_FUNCTIONS = _words(
    "count sum avg min max now version current_database current_user current_schema current_timestamp current_date"
    " coalesce nullif ifnull lower upper length char_length octet_length round floor ceil ceiling abs greatest least"
    " concat substring substr trim ltrim rtrim date date_trunc date_part extract to_char to_date cast convert"
    " array_agg string_agg json_agg jsonb_agg group_concat row_number rank dense_rank lag lead first_value last_value"
    " pg_size_pretty pg_database_size pg_relation_size pg_total_relation_size pg_table_size pg_indexes_size"
    " datediff date_format from_unixtime unix_timestamp database schema user"
)
"""Functions a read may call: they compute (``count(*)``, ``pg_size_pretty(...)``). Any other function may change data
(``pg_terminate_backend``, ``lo_export``, ``setval``, a user's own function) or read the server's files (``load_file``,
``pg_read_file``)."""
SQL_PAREN_WORDS = _words(
    "in exists any all some from join on and or not where select values as over using filter within case when then"
    " else lateral is by having limit offset union intersect except distinct"
)
"""Keywords followed by a parenthesis that is not a function call (``IN (...)``, ``FROM (SELECT ...)``)."""
PSQL_META = _words(
    r"\d \dt \dt+ \d+ \dn \dn+ \di \di+ \dv \dv+ \ds \df \df+ \du \dx \dx+ \dp \dT \dm \l \l+ \conninfo \encoding"
)
"""``psql`` meta-commands that describe (``\\d+ users``, ``\\l``): not ``\\!`` (a shell), ``\\o``/``\\w``/``\\copy`` (files),
``\\i`` (a script), ``\\gexec`` (runs its results as SQL)."""
SQL_CLIENTS: Mapping[str, tuple[frozenset[str], frozenset[str], frozenset[str], frozenset[str]]] = (
    MappingProxyType(
        {
            # (flags, options taking a value, the options giving SQL, the options that print and exit)
            "psql": (
                _words(
                    "-A --no-align -t --tuples-only -q --quiet -X --no-psqlrc -x --expanded -H --html --csv -w"
                    " --no-password -W --password -e --echo-queries -E --echo-hidden -n --no-readline -a --echo-all -b"
                    " --echo-errors -S --single-line -z -0"
                ),
                _words(
                    "-h --host -p --port -U --username -d --dbname -F --field-separator -R --record-separator -P --pset"
                ),
                _words("-c --command"),
                _words("-l --list -V --version --help -?"),
            ),
            **dict.fromkeys(
                ("mysql", "mariadb"),
                (
                    _words(
                        "-N --skip-column-names -B --batch -s --silent -t --table -v --verbose -X --xml -H --html -r --raw -E"
                        " --vertical --column-names -A --no-auto-rehash -q --quick -n --unbuffered -C --compress --password"
                    ),
                    _words(
                        "-h --host -P --port -u --user -D --database -S --socket --default-character-set --protocol"
                    ),
                    _words("-e --execute"),
                    _words("-V --version --help -?"),
                ),
            ),
        }
    )
)
"""Database clients whose statements, given in an option, are judged (``psql -c 'SELECT ...'``, ``mysql -e 'SHOW
DATABASES'``): only these options, and only reads (:data:`SQL_READS`). Not ``-f``/``source`` (a file of SQL),
``-o``/``--tee``/``-L`` (files written), ``--pager``, ``--init-command``, ``--defaults-file``, ``--plugin-dir``."""

_READ_ONLY_TOOLS: dict[str, Entry] = {
    # judged by mode in capfence.policy.shell.judges: the entry decides what the judge lets through
    **dict.fromkeys(QUERY_MODES, READ),
    **dict.fromkeys(SIGNAL_ZERO, READ),
    "redis-cli": READ,
    **dict.fromkeys(SQL_CLIENTS, READ),
    # runs the interpreter it is given to inspect its packages
    "pipdeptree": Entry(hold=_held("runs the Python interpreter given in an option", "--python")),
    "resolvectl": _subs(
        _reads(
            *_words(
                "status query statistics service openpgp tlsa show-cache show-server-state --version help"
            )
        ),
        "changes the resolver's configuration",
    ),
    "networkctl": _subs(_reads(*_words("list status lldp label --version help")), "changes network links"),
    "gsutil": _subs(
        _reads(*_words("ls du stat version help hash")), "changes or reads cloud storage objects"
    ),
    "pulumi": _subs(
        {
            **_reads("whoami", "version", "about", "help"),
            "stack": _subs(
                {
                    **_reads("ls", "history", "hist"),
                    "output": Entry(hold=_held("prints secrets", "--show-secrets")),
                },
                "changes or reveals a stack",
                hold=_held("prints secrets", "--show-secrets"),
            ),
            "config": _subs(
                {},
                "changes or reveals the stack's configuration",
                hold=_held("prints secrets", "--show-secrets"),
            ),
        },
        "changes infrastructure or runs the project's program",
    ),
    # csvkit's readers print to their standard output (not csvsql, sql2csv, csvpy: databases and a Python shell)
    **_reads(*_words("csvcut csvgrep csvstat csvsort csvjson csvformat csvjoin csvstack in2csv gron")),
    "dasel": Entry(
        hold_operands=dict.fromkeys(("put", "delete"), "edits files in place"), outputs=_files("-o", "--out")
    ),
    "toml": _subs(_reads("get"), "edits a TOML file"),
    "xsv": Entry(
        held_subs=dict.fromkeys(("split", "partition"), "writes files into a directory"),
        outputs=_files("-o", "--output"),
    ),
    # a capture's file and the command it runs on each file (-z) are judged; listing interfaces is a read
    "tcpdump": Entry(hold=_held(_RUNS, "-z"), outputs=_files("-w")),
    "tshark": Entry(hold=_held("runs Lua code given in an option", "-X"), outputs=_files("-w")),
}
"""Everyday reads, several judged further in :mod:`capfence.policy.shell.judges` (a mode, a signal, a command)."""

CATALOGUE: Mapping[str, Entry] = MappingProxyType(
    {
        **_TEXT,
        **_FILES,
        **_SYSTEM,
        **_NETWORK,
        # a flood or a preload sends packets as fast as the network takes them
        **dict.fromkeys(
            ("ping", "ping6"),
            Entry(hold=_held("floods the network with packets", "-f", "--flood", "-l", "--preload")),
        ),
        **_DEV,
        **_WRITERS,
        **_ARCHIVES,
        **_DOWNLOAD,
        **_SPECIAL,
        **_SYSTEM_PM,
        **_SERVICES,
        **_CLOUD,
        **_EVERYDAY,
        **_ESCAPES,
        "git": _GIT,
        "docker": _DOCKER,
        "podman": _DOCKER,
        "nerdctl": _DOCKER,
        "kubectl": _KUBE,
        "oc": _KUBE,
        "k9s": READ,
        "npm": _NODE_PM,
        "pnpm": _NODE_PM,
        "yarn": _NODE_PM,
        "pip": _PIP,
        "pip3": _PIP,
        "pipx": _subs({**_reads("list"), "run": _FROM_REGISTRY}, INSTALLS),
        "uv": _UV,
        "poetry": _POETRY,
        "pdm": _POETRY,
        "cargo": _CARGO,
        "go": _GO,
        "rustup": _subs(_reads("show", "which", "doc", "--version", "run"), "changes installed toolchains"),
        "conda": _subs(
            {
                **_reads("list", "info", "search", "run", "--version"),
                "env": _subs(_reads("list", "export"), "creates, changes or removes a conda environment"),
            },
            INSTALLS,
        ),
        "composer": _subs(
            _reads(
                "install",
                "update",
                "require",
                "dump-autoload",
                "show",
                "validate",
                "run",
                "run-script",
                "test",
                "--version",
            ),
            "is not a known composer command",
        ),
        "bundle": _subs(
            _reads("install", "exec", "update", "list", "show", "check", "outdated"),
            "is not a known bundler command",
        ),
        "bun": _subs(
            {
                **_reads(
                    "test",
                    "outdated",
                    "pm",
                    "--version",
                    "-v",
                    "ci",
                    "link",
                    "build",
                    "init",
                ),
                "run": Entry(runs_operands=True),
                # judged like npm's: a package named by where it comes from (a URL, git, a tarball) is held
                # (and -g changes the packages every project sees, as npm's; `bun pm bin -g` only prints a path)
                **dict.fromkeys(("install", "i", "add"), Entry(hold_operands=_PACKAGE_SOURCES, hold=_GLOBAL)),
                **dict.fromkeys(("remove", "rm", "update"), Entry(hold=_GLOBAL)),
                **dict.fromkeys(("x", "exec"), _FROM_REGISTRY),
            },
            "runs code that is not checked (bun)",
            hold=_held(_EVAL, "-e", "--eval", "-p", "--print"),
        ),
        "gem": _subs(
            _reads("list", "search", "info", "contents", "env", "which", "--version", "query", "help"),
            INSTALLS,
        ),
        "hash": Entry(hold={"-p": "redefines which program a name runs"}),
        "enable": Entry(hold={"-f": "loads a builtin from a shared library"}),
        # load generators: judged by the host they load (capfence.policy.shell.known: only this machine's)
        **_reads("ab", "wrk", "hey"),
        "ssh": _subs({}, _REMOTE, bare=False),
        "sftp": _subs({}, _REMOTE, bare=False),
        **_READ_ONLY_TOOLS,
    }
)
"""Every known program, by name."""
SUBCOMMAND_PROGRAMS = frozenset(name for name, entry in CATALOGUE.items() if entry.subs)
"""Programs whose first operand names a subcommand (``git push``): a command's index keys name it, so a rule on
``git push`` is not looked at for ``git status`` (:func:`~capfence.policy.shell.model.subcommand_key`)."""

_LIBRARY = "makes programs load a library"
_STARTUP = "makes programs run code or read options at startup"
_ELSEWHERE = "makes programs read their configuration (which can run commands) from elsewhere"
HISTORY_VARIABLES = frozenset({"HISTFILE", "HISTSIZE", "HISTFILESIZE", "HISTCONTROL", "HISTIGNORE"})
HIDES_HISTORY = "turns off or redirects the shell's history, hiding what runs"
VARIABLES: Mapping[str, str] = MappingProxyType(
    {
        **dict.fromkeys(HISTORY_VARIABLES, HIDES_HISTORY),
        **_held(
            _LIBRARY,
            "LD_PRELOAD",
            "LD_LIBRARY_PATH",
            "LD_AUDIT",
            "GCONV_PATH",
            "PYTHONPATH",
            "PYTHONHOME",
            "PERL5LIB",
            "PERLLIB",
            "RUBYLIB",
            "NODE_PATH",
            "GIT_EXEC_PATH",
            "LUA_PATH",
            "LUA_CPATH",
            "OPENSSL_CONF",
            "OPENSSL_ENGINES",
            "OPENSSL_MODULES",
        ),
        **_held(
            _STARTUP,
            "BASH_ENV",
            "ENV",
            "PYTHONSTARTUP",
            "PYTHONINSPECT",
            "PERL5OPT",
            "RUBYOPT",
            "NODE_OPTIONS",
            "PHPRC",  # (a php.ini there can set auto_prepend_file: php -r runs that file first)
            "PHP_INI_SCAN_DIR",
            "JAVA_TOOL_OPTIONS",
            "_JAVA_OPTIONS",
            "JDK_JAVA_OPTIONS",
            "PS4",
            "PS1",
            "PS0",
            "SHELLOPTS",
            "BASHOPTS",
            "IFS",
            "TAR_OPTIONS",
            "MAKEFLAGS",
            "MAKEFILES",
            "GNUMAKEFLAGS",
            "GOFLAGS",
            "RUSTFLAGS",
            "RUSTDOCFLAGS",
            "CARGO_ENCODED_RUSTFLAGS",
            "CFLAGS",
            "CXXFLAGS",
            "CPPFLAGS",
            "LDFLAGS",
            "ZIPOPT",
            "GZIP",
            "LESS",
            "LESSKEYIN",
            "LESSKEY",
            "PIP_CONFIG_FILE",
            "GIT_CONFIG_PARAMETERS",
            "GIT_CONFIG_COUNT",
            "LESSOPEN",
            "LESSCLOSE",
            "PROMPT_COMMAND",
            "SHELL",
            "TF_CLI_CONFIG_FILE",
            "HISTFILE",
            "WGETRC",
            "CURL_HOME",
            "SSH_AUTH_SOCK",
            "GIT_TEMPLATE_DIR",
            "GIT_DIR",
            "GIT_WORK_TREE",
            "GIT_CEILING_DIRECTORIES",
            "DOCKER_HOST",
            "DOCKER_CONFIG",
            "KUBECONFIG",
            "NPM_CONFIG_USERCONFIG",
            "YARN_RC_FILENAME",
        ),
        **_held(
            _ELSEWHERE,
            "HOME",
            "XDG_CONFIG_HOME",
            "ZDOTDIR",
            "GIT_CONFIG_GLOBAL",
            "GIT_CONFIG_SYSTEM",
            "GIT_CONFIG",
            "GIT_CONFIG_NOSYSTEM",
            "CARGO_HOME",
            "RUSTUP_HOME",
            "GNUPGHOME",
            "INPUTRC",
            "VIMINIT",
            "EXINIT",
            "MYVIMRC",
            "GDBHISTFILE",
        ),
        "PATH": "changes where programs are found",
        # cd etc would go to /etc: relative paths after it would not be what they look like
        "CDPATH": "changes where cd finds directories",
    }
)
"""Environment variables that make the programs run with them load code, read options or configuration from elsewhere, or
run code at startup, with why. (Those whose value is a command line, ``PAGER`` or ``EDITOR``, are analyzed as commands:
:data:`capfence.policy.shell.programs.CODE_VARIABLES`.)"""
VARIABLE_PREFIXES: Mapping[str, str] = MappingProxyType(
    {
        "LD_": _LIBRARY,
        "DYLD_": _LIBRARY,
        "GIT_CONFIG_KEY_": _ELSEWHERE,
        "GIT_CONFIG_VALUE_": _ELSEWHERE,
        "NPM_CONFIG_": _ELSEWHERE,
        "npm_config_": _ELSEWHERE,
        "YARN_": _ELSEWHERE,
        "PNPM_": _ELSEWHERE,
        "PIP_": _ELSEWHERE,
        "CARGO_TARGET_": _STARTUP,
        "CARGO_BUILD_": _STARTUP,
        "BASH_FUNC_": _STARTUP,
        "PYTHON": _STARTUP,
        "MAVEN_": _STARTUP,
        "GRADLE_": _STARTUP,
    }
)
"""Families of such variables, by how their names start (``LD_*``, ``npm_config_*``)."""


def variable_reason(name: str) -> str | None:
    """Why running a program with the environment variable ``name`` set deserves a look, or ``None``."""
    found = VARIABLES.get(name)
    if found is not None:
        return found
    return next((why for prefix, why in VARIABLE_PREFIXES.items() if name.startswith(prefix)), None)


KNOWN_WRAPPERS = frozenset(
    {
        "env",
        "nice",
        "timeout",
        "time",
        "nohup",
        "stdbuf",
        "xargs",
        "command",
        "builtin",
        "exec",
        "setsid",
        "unbuffer",
        "chronic",
        "ionice",
        "flock",
        "watch",
        "parallel",
        "caffeinate",
        "taskset",
        "chrt",
        "busybox",
        "toybox",
        "script",
        "catchsegv",
        "strace",
        "ltrace",
        "fakeroot",
        "valgrind",
    }
)
"""Wrappers that change nothing about what the wrapped command may do (the wrapped command is judged on its own)."""

PRIVILEGED_WRAPPERS: Mapping[str, str] = MappingProxyType(
    {
        **dict.fromkeys(
            ("sudo", "doas", "pkexec", "run0", "su", "runuser", "gosu", "su-exec", "setpriv"),
            "runs as another user",
        ),
        "chroot": "runs in another root directory",
        "systemd-run": "runs a command as a system service",
        "ssh": _REMOTE,
        "firejail": "runs in a sandbox profile",
        "torsocks": "runs through a proxy",
        "proxychains": "runs through a proxy",
        "proxychains4": "runs through a proxy",
        "coproc": "runs in the background",
    }
)
"""Wrappers whose use is itself worth a look, with why."""

SAFE_PYTHON_MODULES = frozenset(
    {
        "site",
        "sysconfig",
        "platform",
        "tabnanny",
        "pyflakes",
        "pycodestyle",
        "calendar",
        "this",
        "tokenize",
        "ast",
        "dis",
        "django",
        "sphinx",
        "twine",
        "wheel",
        "ensurepip",
        "setuptools_scm",
    }
)
"""``python -m MODULE`` modules that are development tools and take no code, file to run or file to write (``pip`` is
judged like the pip program, the modules below as their programs or by their operands)."""

PYTHON_MODULE_PROGRAMS: Mapping[str, str] = MappingProxyType(
    {
        **{
            name: name
            for name in (
                "pytest",
                "mypy",
                "black",
                "ruff",
                "flake8",
                "pylint",
                "isort",
                "coverage",
                "tox",
                "nox",
                "uvicorn",
                "gunicorn",
                "flask",
                "pyright",
                "mkdocs",
                "hatch",
                "virtualenv",
            )
        },
        "pre_commit": "pre-commit",
        "venv": "virtualenv",
        "sphinx": "sphinx-build",
    }
)
"""``python -m MODULE`` modules that are a catalogued program: judged exactly as that program with the same arguments."""

PYTHON_CODE_MODULES: Mapping[str, str] = MappingProxyType(
    {
        **dict.fromkeys(("code", "runpy", "idlelib", "pdb"), "runs Python code given as an argument"),
        "trace": "runs a Python script or module under a tracer",
    }
)
"""``python -m MODULE`` modules that run code given to them (held like ``python -c``), with why. ``timeit`` (code checked
like ``python -c``) and ``cProfile``/``profile`` (a script judged like ``coverage run``) are judged in
:mod:`capfence.policy.shell.known`."""

PYTHON_PATH_MODULES = frozenset(
    {"unittest", "doctest", "pydoc", "zipfile", "tarfile", "json.tool", "compileall", "py_compile", "build"}
)
"""``python -m MODULE`` modules judged by the paths they are given: tests and documentation import the code they name,
compilers and builders write beside it or where told (held outside the working tree); archives and ``json.tool`` write
where they are told (held outside it)."""


# --- what programs read and contact (the ``reads:``, ``writes:`` and ``hosts:`` conditions) ----------------------------------

_OPERANDS = "operands"
_AFTER_FIRST = "after_first"
_NONE = "none"
OPERAND_READS: Mapping[str, str] = MappingProxyType(
    {
        **dict.fromkeys(
            (
                "cat",
                "tac",
                "head",
                "tail",
                "less",
                "more",
                "most",
                "wc",
                "uniq",
                "cut",
                "tr",
                "paste",
                "join",
                "comm",
                "diff",
                "diff3",
                "sdiff",
                "cmp",
                "colordiff",
                "column",
                "nl",
                "fold",
                "fmt",
                "rev",
                "expand",
                "unexpand",
                "xmllint",
                "csvlook",
                "bat",
                "batcat",
                "od",
                "hexdump",
                "xxd",
                "strings",
                "base64",
                "base32",
                "basenc",
                "md5sum",
                "sha1sum",
                "sha224sum",
                "sha256sum",
                "sha384sum",
                "sha512sum",
                "b2sum",
                "cksum",
                "sum",
                "shasum",
                "md5",
                "iconv",
                "zcat",
                "zless",
                "zmore",
                "bzcat",
                "xzcat",
                "zstdcat",
                "lzcat",
                "pr",
                "tsort",
                "delta",
                "difft",
                "dos2unix",
                "unix2dos",
                "glow",
                "pandoc",
                "wdiff",
                "split",
                "csplit",
                "file",
                "sort",
                "shuf",
                *COMPRESSORS,
                "unzip",
                "7z",
                "7za",
                "7zz",
                "unrar",
                "rar",
                "xdg-open",
                "open",
                "cp",
                "ln",
                "install",
                "rsync",
                "scp",
                "mv",
                "vim",
                "vi",
                "nvim",
                "nano",
                "emacs",
                "micro",
                "ed",
                "patch",
                "shred",
                "gpg",
                "gpg2",
                "sqlite3",
                "zip",
                "cpio",
            ),
            _OPERANDS,
        ),
        **dict.fromkeys(
            (
                "grep",
                "egrep",
                "fgrep",
                "zgrep",
                "rg",
                "ag",
                "ack",
                "jq",
                "yq",
                "gojq",
                "jless",
                "xq",
                "look",
                "sed",
            ),
            _AFTER_FIRST,
        ),
        **dict.fromkeys(
            (
                "echo",
                "printf",
                "true",
                "false",
                "test",
                "[",
                "sleep",
                "seq",
                "yes",
                "expr",
                "bc",
                "dc",
                "factor",
                "cal",
                "ncal",
                "whoami",
                "id",
                "groups",
                "users",
                "who",
                "w",
                "last",
                "lastlog",
                "uptime",
                "sw_vers",
                "deactivate",
                "uname",
                "arch",
                "nproc",
                "lscpu",
                "lsmem",
                "lspci",
                "lsusb",
                "lsmod",
                "free",
                "vmstat",
                "iostat",
                "mpstat",
                "sar",
                "ps",
                "pgrep",
                "pidof",
                "top",
                "htop",
                "btop",
                "atop",
                "pstree",
                "lsof",
                "printenv",
                "tty",
                "stty",
                "tput",
                "clear",
                "reset",
                "locale",
                "getconf",
                "getent",
                "logname",
                "man",
                "info",
                "help",
                "tldr",
                "apropos",
                "whatis",
                "history",
                "fc",
                "jobs",
                "dmesg",
                "journalctl",
                "timedatectl",
                "hostnamectl",
                "localectl",
                "loginctl",
                "ulimit",
                "umask",
                "shopt",
                "set",
                "unset",
                "export",
                "declare",
                "typeset",
                "local",
                "readonly",
                "read",
                "mapfile",
                "readarray",
                "shift",
                "exit",
                "return",
                "break",
                "continue",
                "wait",
                "cd",
                "pushd",
                "popd",
                "dirs",
                "getopts",
                "let",
                "alias",
                "unalias",
                "trap",
                "times",
                "caller",
                "compgen",
                "complete",
                "bind",
                "disown",
                "bg",
                "fg",
                "suspend",
                ":",
                "nvidia-smi",
                "sensors",
                "tmux",
                "screen",
                "notify-send",
                "say",
                "espeak",
                "uuidgen",
                "mktemp",
                "pv",
                "cowsay",
                "figlet",
                "toilet",
                "lolcat",
                "neofetch",
                "fastfetch",
                "screenfetch",
                "ls",
                "dir",
                "vdir",
                "ll",
                "tree",
                "exa",
                "eza",
                "lsd",
                "stat",
                "du",
                "df",
                "dust",
                "duf",
                "ncdu",
                "realpath",
                "readlink",
                "basename",
                "dirname",
                "pwd",
                "locate",
                "plocate",
                "mlocate",
                "which",
                "whereis",
                "type",
                "fd",
                "fdfind",
                "find",
                "namei",
                "lsattr",
                "getfacl",
                "findmnt",
                "lsblk",
                "blkid",
                "mountpoint",
                "sync",
                "touch",
                "rm",
                "rmdir",
                "unlink",
                "truncate",
                "mkfifo",
                "mkdir",
                "chmod",
                "chown",
                "chgrp",
                "kill",
                "pkill",
                "killall",
                "netstat",
                "ss",
                "ifconfig",
                "iwconfig",
                "arp",
                "route",
                "ipcalc",
                "hash",
                "enable",
                "tee",
            ),
            _NONE,
        ),
    }
)
"""Which operands of a program are files whose contents it reads: ``operands`` (all of them; for ``cp``/``mv``/``rsync`` all
but the destination, which :attr:`Entry.writes` says it writes), ``after_first`` (the first operand is a pattern, filter or
script, as for ``grep``, ``jq`` and ``sed``, unless an option gives it: ``grep -e PAT FILE``), ``none`` (it reads no file
named on its command line; listing names and metadata, as ``ls``, ``find`` and ``stat`` do, is not reading a file). A program
not listed here, nor described in :mod:`capfence.policy.shell.resources` (tar, dd, curl, wget, git, ssh, ...), is one whose
resources are not known: a ``reads:``/``writes:``/``hosts:`` condition counts it as matching in a deny or
require_approval rule and as not matching in an allow rule."""

CONTACTS_OPERANDS = frozenset(
    {
        "ping",
        "ping6",
        "dig",
        "nslookup",
        "host",
        "whois",
        "traceroute",
        "tracepath",
        "mtr",
        "nc",
        "ncat",
        "netcat",
        "telnet",
        "ftp",
        "httpstat",
    }
)
"""Programs whose operands are hosts (or URLs) they contact."""
RECURSIVE: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        **dict.fromkeys(
            ("cp", "scp", "zip", "chmod", "chown", "chgrp"),
            frozenset({"-r", "-R", "--recursive", "-a", "--archive"}),
        ),
        "rm": frozenset({"-r", "-R", "--recursive"}),
        "rsync": frozenset({"-r", "--recursive", "-a", "--archive"}),
        **dict.fromkeys(
            ("grep", "egrep", "fgrep", "zgrep"),
            frozenset({"-r", "-R", "--recursive", "--dereference-recursive"}),
        ),
        **dict.fromkeys(("rg", "ag", "ack"), frozenset()),
    }
)
"""Options that make a program read (or write) directory operands with everything below them; an empty set: always."""
