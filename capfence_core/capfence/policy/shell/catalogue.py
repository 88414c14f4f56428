"""The catalogue of known programs: what each does with its arguments, as reviewable data.

A program in :data:`CATALOGUE` is *known*; one that is not is held
("unknown program ``nsenter``"). An :class:`Entry` says which of a known
program's uses are safe to run without a person looking:

* ``writes``: which operands are files it writes (``"operands"``: all of
  them, ``"last"``: the destination of ``cp``/``mv``/``ln``, ``"after_first"``:
  all but the first, as for ``chmod MODE FILE...``). Written paths must stay
  in the working tree (relative, or under ``/tmp``); a path known only at
  run time is held.
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


READ = Entry()
"""Reads, prints or computes; writes nothing but its standard output."""


def _reads(*names: str) -> dict[str, Entry]:
    return dict.fromkeys(names, READ)


def _subs(entries: Mapping[str, Entry | str], other: str = "", *, bare: bool = True, hold: Mapping[str, str] | None = None) -> Entry:
    return Entry(subs=MappingProxyType(dict(entries)), other=other, bare=bare, hold=hold or {})


INSTALLS = "installs packages system-wide"
_INSTALLS = INSTALLS
_REMOTE = "runs commands on another machine"
_SERVICE = "starts, stops or changes a service"
_GLOBAL = {"-g": "installs packages globally", "--global": "installs packages globally", "--location=global": "installs packages globally"}

_TEXT = _reads(
    "cat", "tac", "head", "tail", "less", "more", "most", "grep", "egrep", "fgrep", "zgrep", "rg", "ag", "ack", "wc", "uniq", "cut",
    "tr", "paste", "join", "comm", "diff", "diff3", "sdiff", "cmp", "colordiff", "column", "nl", "fold", "fmt", "rev", "expand",
    "unexpand", "jq", "yq", "gojq", "jless", "xmllint", "xq", "csvlook", "bat", "batcat", "od", "hexdump", "xxd", "strings",
    "base64", "base32", "basenc", "md5sum", "sha1sum", "sha224sum", "sha256sum", "sha384sum", "sha512sum", "b2sum", "cksum", "sum",
    "shasum", "md5", "iconv", "numfmt", "look", "zcat", "zless", "zmore", "bzcat", "xzcat", "zstdcat", "lzcat", "pr", "tsort",
    "envsubst", "gettext", "ngettext", "delta", "difft", "dos2unix", "unix2dos", "fzf", "glow", "pandoc", "wdiff", "split", "csplit",
)
_FILES = _reads(
    "ls", "dir", "vdir", "ll", "tree", "exa", "eza", "lsd", "stat", "file", "du", "df", "dust", "duf", "ncdu", "realpath", "readlink",
    "basename", "dirname", "pwd", "locate", "plocate", "mlocate", "which", "whereis", "type", "fd", "fdfind", "namei", "lsattr",
    "getfacl", "findmnt", "lsblk", "blkid", "mountpoint", "sync",
)
_SYSTEM = _reads(
    "echo", "printf", "true", "false", "test", "[", "sleep", "seq", "yes", "expr", "bc", "dc", "factor", "cal", "ncal", "whoami",
    "id", "groups", "users", "who", "w", "last", "lastlog", "uptime", "uname", "arch", "nproc", "lscpu", "lsmem", "lspci", "lsusb",
    "lsmod", "free", "vmstat", "iostat", "mpstat", "sar", "ps", "pgrep", "pidof", "top", "htop", "btop", "atop", "pstree", "lsof",
    "printenv", "tty", "stty", "tput", "clear", "reset", "locale", "getconf", "getent", "logname", "env", "man", "info", "help",
    "tldr", "apropos", "whatis", "history", "fc", "jobs", "dmesg", "journalctl", "timedatectl", "hostnamectl", "localectl",
    "loginctl", "ulimit", "umask", "shopt", "set", "unset", "export", "declare", "typeset", "local", "readonly", "read",
    "mapfile", "readarray", "shift", "exit", "return", "wait", "cd", "pushd", "popd", "dirs", "getopts", "let", "alias",
    "unalias", "trap", "time", "times", "caller", "compgen", "complete", "bind", "disown", "bg", "fg", "suspend", ":",
    "true", "nvidia-smi", "sensors", "watch", "tmux", "screen", "nohup", "xdg-open", "open", "notify-send", "say", "espeak",
    "uuidgen", "mktemp", "pv", "cowsay", "figlet", "toilet", "lolcat", "neofetch", "fastfetch", "screenfetch",
)
_NETWORK = _reads(
    "ping", "ping6", "dig", "nslookup", "host", "whois", "traceroute", "tracepath", "mtr", "netstat", "ss", "ifconfig", "iwconfig",
    "nmcli", "arp", "route", "ipcalc", "openssl", "ssh-keygen", "ssh-add", "gpg", "gpg2", "httpstat",
)
_DEV = _reads(
    "make", "gmake", "cmake", "ctest", "ninja", "meson", "bazel", "bazelisk", "buck", "gradle", "gradlew", "mvn", "mvnw", "ant",
    "sbt", "lein", "tsc", "eslint", "prettier", "jest", "vitest", "mocha", "ava", "tap", "pytest", "py.test", "tox", "nox", "mypy",
    "pyright", "ruff", "black", "isort", "flake8", "pylint", "pyflakes", "pycodestyle", "bandit", "coverage", "rustc", "rustfmt",
    "clippy-driver", "gcc", "g++", "cc", "c++", "clang", "clang++", "clang-format", "clang-tidy", "ld", "as", "nm", "objdump",
    "readelf", "ldd", "strip", "ar", "javac", "kotlinc", "scalac", "swiftc", "swift", "zig", "dotnet", "ghc", "stack", "cabal",
    "mix", "elixirc", "erlc", "rebar3", "dune", "ocamlfind", "shellcheck", "shfmt", "hadolint", "yamllint", "jsonlint", "markdownlint",
    "actionlint", "golangci-lint", "gofmt", "goimports", "staticcheck", "terraform-docs", "tflint", "pre-commit", "gdb", "lldb",
    "valgrind", "perf", "hyperfine", "cloc", "tokei", "scc", "ctags", "cscope", "sqlite3", "hugo", "jekyll", "mkdocs", "sphinx-build",
    "webpack", "vite", "rollup", "esbuild", "parcel", "turbo", "nx", "lerna", "deno", "bun", "tsx", "ts-node", "uvicorn", "gunicorn",
    "flask", "jupyter", "ipython", "code", "autoreconf", "autoconf", "automake", "configure", "pkg-config", "protoc", "buf",
)
_RECURSIVE_RM = "recursive deletion"
_WRITERS = {
    **dict.fromkeys(("touch", "rmdir", "truncate", "mkfifo"), Entry(writes="operands", static_operands=True)),
    "mkdir": Entry(writes="operands"),  # creating a directory destroys nothing: a name known at run time is fine
    **dict.fromkeys(("cp", "ln", "install", "rsync", "scp"), Entry(writes="last", static_operands=True)),
    "mv": Entry(writes="last", static_operands=True, moves=True),
    "rm": Entry(writes="operands", static_operands=True,
                contained={"-r": _RECURSIVE_RM, "-R": _RECURSIVE_RM, "--recursive": _RECURSIVE_RM}),
    "unlink": Entry(writes="operands", static_operands=True),
    "shred": Entry(writes="operands", static_operands=True, hold={"-u": "destroys files", "--remove": "destroys files"}),
    **dict.fromkeys(("chmod", "chown", "chgrp"), Entry(
        writes="after_first", static_operands=True)),  # a recursive change outside the working tree is held as outside it
    "patch": Entry(),
    "sort": Entry(),
    "dd": Entry(),
    **dict.fromkeys(("vim", "vi", "nvim", "nano", "emacs", "micro", "ed"), Entry(writes="operands")),
}
_ARCHIVES = {
    **_reads("gzip", "gunzip", "bzip2", "bunzip2", "xz", "unxz", "zstd", "unzstd", "lz4", "brotli", "compress", "uncompress"),
    "zip": Entry(writes="operands"),
    "unzip": Entry(),
    "7z": Entry(), "7za": Entry(), "7zz": Entry(), "unrar": Entry(), "rar": Entry(),
    "tar": Entry(), "bsdtar": Entry(), "cpio": Entry(),
}

_DOCKER_READ = ("ps", "logs", "images", "image", "inspect", "version", "info", "stats", "top", "port", "history", "search", "diff",
                "events", "build", "buildx", "pull", "tag", "login", "logout", "create", "cp", "save", "load", "commit",
                "export", "import", "network", "context", "manifest", "scout", "init")
_DOCKER = _subs({**dict.fromkeys(_DOCKER_READ, READ),
                 "compose": _subs({**_reads("ps", "logs", "config", "build", "pull", "images", "ls", "version", "top", "events", "port"),
                                   "up": _SERVICE, "down": _SERVICE, "start": _SERVICE, "stop": _SERVICE, "restart": _SERVICE,
                                   "run": "runs a container", "exec": "runs a command in a container", "rm": "removes containers"},
                                  bare=False),
                 "container": _subs(_reads("ls", "list", "ps", "inspect", "logs", "top", "stats", "port", "diff"), "changes containers"),
                 "volume": _subs(_reads("ls", "list", "inspect", "create"), "removes or changes volumes (their data)"),
                 "system": _subs(_reads("df", "info", "events"), "bulk deletion (prune)"),
                 "run": "runs a container (it may mount the host or run privileged)",
                 "exec": READ,  # the command it runs in the container is judged on its own
                 **dict.fromkeys(("rm", "rmi"), Entry(static_operands=True)),
                 "start": _SERVICE, "stop": _SERVICE, "restart": _SERVICE, "kill": _SERVICE, "pause": _SERVICE, "unpause": _SERVICE,
                 "push": "publishes an image", "prune": "bulk deletion (prune)"},
                "changes containers or the Docker daemon")

_KUBE_READ = ("get", "describe", "logs", "explain", "version", "api-resources", "api-versions", "top", "diff", "cluster-info",
              "auth", "events", "wait", "completion", "kustomize", "plugin")
_KUBE = _subs({**dict.fromkeys(_KUBE_READ, READ),
               "config": _subs(_reads("view", "get-contexts", "current-context", "get-clusters", "get-users"), "changes kubeconfig"),
               "rollout": _subs(_reads("status", "history"), "changes a rollout")},
              "changes the cluster or runs a command in it")

_GIT_READ = ("status", "diff", "log", "show", "switch", "add", "commit", "fetch", "pull", "merge", "rebase", "tag", "init", "clone",
             "rm", "mv", "blame", "grep", "describe", "rev-parse", "rev-list", "ls-files", "ls-tree", "ls-remote", "cat-file",
             "show-ref", "for-each-ref", "shortlog", "reflog", "cherry-pick", "revert", "bisect", "worktree", "submodule", "help",
             "version", "am", "apply", "format-patch", "notes", "whatchanged", "cherry", "range-diff", "name-rev", "merge-base",
             "archive", "bundle", "count-objects", "fsck", "verify-commit", "sparse-checkout", "lfs", "annotate", "difftool",
             "mergetool", "var", "check-ignore", "check-attr", "hash-object", "update-index", "symbolic-ref", "maintenance", "gc",
             "sh-shortlog", "citool", "gui", "credential")
_DISCARDS = "discards uncommitted changes"
_REMOTE_DELETE = "deletes a remote branch"
_GIT = _subs({**dict.fromkeys(_GIT_READ, READ),
              "checkout": Entry(hold={"-f": _DISCARDS, "--force": _DISCARDS}, hold_operands=dict.fromkeys((".", ":/", "[*]"), _DISCARDS)),
              "restore": Entry(hold_operands=dict.fromkeys((".", ":/", "[*]"), _DISCARDS)),
              "push": Entry(hold={"--delete": _REMOTE_DELETE, "-d": _REMOTE_DELETE, "--prune": "deletes remote branches",
                                  "--mirror": "makes the remote a mirror (deleting what it lacks)"},
                            hold_operands={":?*": _REMOTE_DELETE}),
              "stash": _subs({**_reads("list", "show", "push", "save", "apply", "pop", "branch", "create", "store")},
                             "deletes stashed changes"),
              "branch": Entry(hold={"-D": "deletes a branch whatever its merge state"}),
              "config": Entry(hold={"--global": "changes the user's git configuration",
                                    "--system": "changes the system's git configuration"}),
              "remote": _subs(_reads("show", "get-url", "prune", "update"), "changes where the repository pushes and pulls"),
              "clean": Entry(hold={"-f": "deletes untracked files", "--force": "deletes untracked files"}),
              "reset": Entry(hold={"--hard": _DISCARDS, "--merge": _DISCARDS}),
              "filter-branch": "rewrites history", "filter-repo": "rewrites history", "prune": "deletes unreachable objects",
              "update-ref": "rewrites a ref", "replace": "replaces objects"})

_NPM_SAFE = ("run", "run-script", "test", "t", "tst", "start", "stop", "restart", "build", "install", "i", "ci", "add", "ls", "list",
             "ll", "outdated", "view", "info", "show", "init", "create", "audit", "version", "help", "config", "get", "why", "explain",
             "pack", "prune", "dedupe", "update", "up", "upgrade", "uninstall", "remove", "rm", "un", "link", "exec", "x", "dlx",
             "fund", "doctor", "search", "root", "bin", "prefix", "cache", "workspaces", "workspace", "lint", "dev", "format", "typecheck",
             "check", "store", "why", "licenses", "set", "whoami", "--version", "-v", "clean")
_NODE_PM = _subs({**dict.fromkeys(_NPM_SAFE, READ), "publish": "publishes a package", "global": "installs packages globally",
                  "unpublish": "unpublishes a package", "deprecate": "changes a published package", "adduser": "changes registry users",
                  "token": "changes registry tokens"},
                 "is not a known package-manager command", hold=_GLOBAL)

_PIP = _subs({**_reads("list", "show", "freeze", "check", "search", "help", "download", "wheel", "hash", "debug", "inspect", "index",
                       "config", "cache", "--version", "-V"),
              "install": _INSTALLS, "uninstall": "removes packages"})
_CARGO = _subs({**_reads("build", "b", "test", "t", "run", "r", "check", "c", "clippy", "fmt", "doc", "d", "bench", "new", "init", "tree",
                         "metadata", "update", "add", "remove", "rm", "clean", "fetch", "search", "version", "--version", "help", "vendor",
                         "fix", "locate-project", "pkgid", "verify-project", "nextest", "expand", "audit", "deny", "outdated", "watch",
                         "llvm-cov", "tarpaulin", "miri", "generate-lockfile"),
                "install": "installs a program", "publish": "publishes a crate", "yank": "changes a published crate",
                "uninstall": "removes a program"})
_GO = _subs({**_reads("build", "test", "run", "vet", "fmt", "mod", "get", "version", "env", "list", "doc", "generate", "clean", "work",
                      "tool", "help", "bug", "fix"),
             "install": "installs a program"})
_INTO_VENV = Entry(hold=dict.fromkeys(("--system", "--break-system-packages", "--target", "--prefix", "--python", "-p"), _INSTALLS))
"""``uv pip install``/``sync`` install into the project's virtual environment (uv refuses a system Python unless told)."""
_UV = _subs({**_reads("run", "sync", "lock", "add", "remove", "venv", "init", "tree", "export", "version", "build", "help", "cache"),
             "pip": _subs({**(_PIP.subs or {}), "install": _INTO_VENV, "sync": _INTO_VENV}),
             "tool": "installs or runs a tool from the registry", "python": "installs or manages Python versions",
             "publish": "publishes a package"})
_POETRY = _subs({**_reads("run", "install", "add", "remove", "lock", "update", "show", "build", "check", "init", "new", "env", "shell",
                          "version", "export", "config", "search", "about", "help", "sync"),
                 "publish": "publishes a package", "self": "changes poetry itself"})

_SYSTEM_PM = {
    **dict.fromkeys(("apt", "apt-get", "aptitude", "dnf", "yum", "zypper", "pacman", "apk", "brew", "port", "snap", "flatpak", "pkg",
                     "emerge", "xbps-install", "nix-env", "yay", "paru", "choco", "winget", "scoop"),
                    _subs({**_reads("list", "search", "show", "info", "policy", "depends", "rdepends", "madison", "changelog", "-Q", "-Ss",
                                    "-Si", "-Qi", "-Ql", "-Qs", "-Qe", "-Qm", "-Ss", "outdated", "deps", "uses", "leaves", "doctor",
                                    "config", "--version", "help", "provides", "repolist", "check-update", "history", "why"),
                           }, _INSTALLS)),
    **_reads("dpkg-query", "rpm-q", "apt-cache", "apt-file"),
}

_SERVICES = {
    "service": _subs({}, _SERVICE),
    "systemctl": _subs(_reads("status", "show", "cat", "help", "list-units", "list-unit-files", "list-timers", "list-sockets",
                              "list-dependencies", "list-jobs", "list-machines", "is-active", "is-enabled", "is-failed",
                              "is-system-running", "get-default", "show-environment"), _SERVICE),
    **dict.fromkeys(("shutdown", "reboot", "poweroff", "halt", "init", "telinit"), _subs({}, "shuts down or restarts the machine",
                                                                                       bare=False)),
    **dict.fromkeys(("kill", "pkill", "killall", "skill"), _subs({}, "stops processes", bare=False)),
}

_CLOUD = {
    "gh": _subs({"pr": _subs(_reads("list", "view", "status", "diff", "checks", "checkout", "create"), "changes a pull request"),
                 "issue": _subs(_reads("list", "view", "status", "create", "comment"), "changes an issue"),
                 "run": _subs(_reads("list", "view", "watch", "download"), "changes a workflow run"),
                 "release": _subs(_reads("list", "view", "download"), "changes a release"),
                 "repo": _subs(_reads("view", "clone", "list"), "changes a repository"),
                 **_reads("status", "auth", "search", "browse", "help", "version", "workflow", "gist", "label"),
                 "api": Entry(hold=dict.fromkeys(("-X", "--method", "-f", "-F", "--field", "--raw-field", "--input"),
                                                 "sends a request that may change GitHub resources"))},
                "changes a GitHub resource"),
    "helm": _subs(_reads("list", "ls", "status", "get", "history", "show", "search", "template", "lint", "version", "env", "repo",
                         "dependency", "package", "pull", "verify"), "changes a release in the cluster"),
    "terraform": _subs({**_reads("plan", "validate", "fmt", "init", "show", "output", "version", "providers", "graph", "console",
                               "workspace", "get", "-version", "--version", "test"),
                       "state": _subs(_reads("list", "show", "pull"), "changes the infrastructure state")}, "changes infrastructure"),
    "tofu": _subs(_reads("plan", "validate", "fmt", "init", "show", "output", "version", "providers", "graph", "test"),
                  "changes infrastructure"),
}

_DOWNLOAD = dict.fromkeys(("curl", "wget", "http", "https", "xh", "aria2c", "httpie"), READ)

_EVERYDAY = {
    **_reads("shuf", "pathchk", "dircolors", "hostid", "pinky", "ptx", "lsb_release", "ipcs", "ac", "pmap", "pwdx", "lsns", "lslocks",
             "lsipc", "lslogins", "finger", "getfattr", "ffprobe", "mediainfo", "pdfinfo", "pdffonts", "hexyl", "hd", "units", "colrm",
             "col", "ul", "banner", "qalc", "slabtop", "ab", "wrk", "hey", "speedtest-cli", "speedtest", "trivy", "grype", "syft",
             "semgrep", "gitleaks", "trufflehog", "codespell", "cspell", "vale", "sqlfluff", "yamlfmt", "taplo", "dprint", "stylelint",
             "biome", "oxlint", "revive", "ktlint", "detekt", "swiftlint", "rubocop", "standardrb", "phpcs", "phpstan", "psalm",
             "cppcheck", "cpplint", "pydocstyle", "autopep8", "yapf", "pyupgrade", "vulture", "radon", "pip-audit", "deptry",
             "pip-compile", "just", "task", "dart", "flutter", "elm", "kustomize", "stern", "jar", "javap", "jdeps", "jps", "jstack",
             "jstat", "pg_dump", "pg_dumpall", "mysqldump", "pg_isready", "pg_config", "xmlstarlet", "virtualenv",
             "git-lfs", "tig", "lazygit",
             "pngquant", "cwebp", "svgo", "html-minifier", "terser", "uglifyjs", "sass", "lessc", "postcss", "tailwindcss", "babel",
             "swc", "wasm-pack", "trunk", "maturin", "cython", "nuitka", "pyinstaller", "hatch", "flit",
             "rye", "conan", "vcpkg", "scons", "premake5", "xmake", "gcov", "lcov", "genhtml", "gprof"),
    **dict.fromkeys(("ffmpeg", "pdftotext", "pdftoppm", "sox", "qpdf"), Entry(writes="last")),
    **dict.fromkeys(("optipng", "jpegoptim"), Entry(writes="operands")),
    "fuser": Entry(hold={"-k": "stops processes", "--kill": "stops processes"}),
    "history": Entry(hold={"-c": "clears the shell history", "-d": "deletes shell history entries"}),
    **dict.fromkeys(("gpg", "gpg2"), Entry(hold=dict.fromkeys(
        ("--delete-keys", "--delete-key", "--delete-secret-keys", "--delete-secret-key", "--delete-secret-and-public-key",
         "--delete-secret-and-public-keys"), "deletes keys"))),
    "ssh-add": Entry(hold={"-D": "removes every identity from the agent", "-d": "removes an identity from the agent"}),
    "ssh-keygen": Entry(hold={"-R": "removes a host's key from known_hosts"}),
    "crontab": _subs({}, "installs a crontab", hold={"-r": "removes the crontab", "-e": "edits the crontab"}),
    "mount": _subs({}, "mounts a file system"),
    "umount": _subs({}, "unmounts a file system", bare=False),
    "sysctl": Entry(hold=dict.fromkeys(("-w", "--write", "-p", "--load", "--system"), "changes kernel parameters"),
                    hold_operands={"*=*": "changes kernel parameters"}),
    **dict.fromkeys(("psql", "mysql", "mariadb", "mongosh", "mongo", "redis-cli", "sqlcmd", "cqlsh", "clickhouse-client"),
                    _subs({}, "runs database statements", bare=False)),
    "svn": _subs(_reads("status", "st", "log", "diff", "di", "info", "list", "ls", "cat", "blame", "annotate", "praise", "update", "up",
                        "checkout", "co", "add", "commit", "ci", "help", "--version", "export", "propget", "pg", "proplist", "pl"),
                 "is not a known svn command"),
    "hg": _subs(_reads("status", "st", "log", "diff", "summary", "sum", "heads", "branches", "branch", "tags", "identify", "id", "cat",
                       "annotate", "blame", "files", "locate", "grep", "incoming", "in", "outgoing", "out", "pull", "update", "up",
                       "checkout", "co", "add", "commit", "ci", "help", "version", "--version", "paths", "root", "parents", "tip",
                       "manifest", "bookmarks", "book", "shelve", "unshelve", "export", "clone", "init"),
                "is not a known hg command"),
    "pipenv": _subs(_reads("install", "sync", "lock", "graph", "run", "check", "requirements", "--venv", "--py", "--where", "update",
                           "uninstall", "clean", "verify", "scripts", "--version"), "is not a known pipenv command"),
    "pyenv": _subs(_reads("versions", "version", "which", "whence", "local", "root", "prefix", "commands", "help", "--version"),
                   "installs or changes Python versions"),
    "nvm": _subs(_reads("ls", "list", "use", "current", "which", "version", "ls-remote", "--version"), "installs or changes Node versions"),
    "playwright": _subs(_reads("test", "show-report", "codegen", "--version"), "installs browsers or system packages", bare=False),
    "dbt": _subs(_reads("compile", "test", "ls", "list", "parse", "docs", "debug", "deps", "clean", "source", "show", "--version",
                        "init"), "changes the data warehouse"),
    "alembic": _subs(_reads("current", "history", "heads", "branches", "show", "check", "revision"), "changes the database schema"),
    **dict.fromkeys(("tcpdump", "tshark"), READ),
    **dict.fromkeys(("nc", "ncat", "netcat"), READ),
    "grpcurl": READ,
    **dict.fromkeys(("aws", "gcloud", "az", "doctl"), READ),
    "npx": READ, "bunx": READ,
}
"""Everyday programs beyond the core tables (several judged further in :mod:`capfence.policy.shell.known`)."""

_SPECIAL = {
    # judged in capfence.policy.shell.known beyond their entry
    "find": READ, "sed": READ, "gsed": READ, "perl": READ, "awk": READ, "gawk": READ, "mawk": READ, "nawk": READ,
    "python": READ, "pypy": READ, "node": READ, "nodejs": READ, "ruby": READ, "php": READ, "lua": READ, "luajit": READ,
    "tee": Entry(), "xargs": READ, "ip": READ, "hostname": READ, "date": READ, "java": READ,
}

CATALOGUE: Mapping[str, Entry] = MappingProxyType({
    **_TEXT, **_FILES, **_SYSTEM, **_NETWORK, **_DEV, **_WRITERS, **_ARCHIVES, **_DOWNLOAD, **_SPECIAL, **_SYSTEM_PM, **_SERVICES,
    **_CLOUD, **_EVERYDAY,
    "git": _GIT, "docker": _DOCKER, "podman": _DOCKER, "nerdctl": _DOCKER, "kubectl": _KUBE, "oc": _KUBE, "k9s": READ,
    "npm": _NODE_PM, "pnpm": _NODE_PM, "yarn": _NODE_PM, "bun": _NODE_PM,
    "pip": _PIP, "pip3": _PIP, "pipx": _subs(_reads("list", "run"), _INSTALLS), "uv": _UV, "poetry": _POETRY, "pdm": _POETRY,
    "cargo": _CARGO, "go": _GO, "rustup": _subs(_reads("show", "which", "doc", "--version", "run"), "changes installed toolchains"),
    "conda": _subs(_reads("list", "info", "search", "env", "run", "--version"), _INSTALLS),
    "composer": _subs(_reads("install", "update", "require", "dump-autoload", "show", "validate", "run", "run-script", "test",
                             "--version"), "is not a known composer command"),
    "bundle": _subs(_reads("install", "exec", "update", "list", "show", "check", "outdated"), "is not a known bundler command"),
    "gem": _subs(_reads("list", "search", "info", "contents", "env", "which", "--version", "query", "help"), _INSTALLS),
    "hash": Entry(hold={"-p": "redefines which program a name runs"}),
    "enable": Entry(hold={"-f": "loads a builtin from a shared library"}),
    "rake": READ, "ssh": _subs({}, _REMOTE, bare=False), "sftp": _subs({}, _REMOTE, bare=False),
})
"""Every known program, by name."""

KNOWN_WRAPPERS = frozenset({
    "env", "nice", "timeout", "time", "nohup", "stdbuf", "xargs", "command", "builtin", "exec", "setsid", "unbuffer", "chronic",
    "ionice", "flock", "watch", "parallel", "caffeinate", "taskset", "chrt", "busybox", "toybox", "script", "catchsegv", "strace",
    "ltrace", "fakeroot",
})
"""Wrappers that change nothing about what the wrapped command may do (the wrapped command is judged on its own)."""

PRIVILEGED_WRAPPERS: Mapping[str, str] = MappingProxyType({
    **dict.fromkeys(("sudo", "doas", "pkexec", "run0", "su", "runuser", "gosu", "su-exec", "setpriv"), "runs as another user"),
    "chroot": "runs in another root directory", "systemd-run": "runs a command as a system service",
    "ssh": _REMOTE, "firejail": "runs in a sandbox profile", "torsocks": "runs through a proxy", "proxychains": "runs through a proxy",
    "proxychains4": "runs through a proxy", "coproc": "runs in the background",
})
"""Wrappers whose use is itself worth a look, with why."""

SAFE_PYTHON_MODULES = frozenset({
    "pytest", "unittest", "doctest", "venv", "virtualenv", "json.tool", "mypy", "black", "ruff", "flake8", "pylint", "isort",
    "compileall", "py_compile", "timeit", "pydoc", "build", "coverage", "tox", "nox", "cProfile", "profile", "pdb", "site",
    "sysconfig", "platform", "tabnanny", "pyflakes", "pycodestyle", "calendar", "this", "tokenize", "ast", "dis", "zipfile", "tarfile",
    "uvicorn", "flask", "django", "pyright", "pre_commit", "sphinx", "mkdocs", "twine", "wheel", "ensurepip", "hatch", "setuptools_scm",
})
"""``python -m MODULE`` modules that are development tools (``pip`` is judged like the pip program)."""

SAFE_INTERPRETER_OPTIONS = frozenset({"--version", "-V", "--help", "-h", "-v", "-version"})
"""An interpreter given only these runs no code."""
