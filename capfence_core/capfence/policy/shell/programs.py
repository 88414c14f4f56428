"""What the analyzer knows about particular programs.

* :data:`WRAPPERS` run another command given as their remaining words
  (``sudo rm``, ``timeout 30 rm``, ``xargs rm``); the wrapped command is
  analyzed as if written alone and the wrapper is recorded in ``via``.
* :data:`INTERPRETERS` run code: shells (whose code is analyzed
  recursively), and other interpreters (whose code is opaque, but whose
  *source* matters: code read from a pipe or a download is suspicious).
* :data:`OPTION_SPECS` say which options take a value for programs whose
  subcommand or operands rules commonly look at.

Unknown options of a wrapper are assumed to take no value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from capfence.policy.shell.options import PLAIN, OptionSpec


def _set(*items: str) -> frozenset[str]:
    return frozenset(items)


@dataclass(frozen=True)
class Wrapper:
    options: OptionSpec = PLAIN
    skip: int = 0
    """Operands before the wrapped command (``timeout DURATION``, ``chroot DIR``, ``ssh HOST``)."""
    no_command: frozenset[str] = frozenset()
    """Options with which nothing is run (``command -v``, ``sudo -l``)."""
    code: frozenset[str] = frozenset()
    """Options whose value is shell code (``su -c``, ``flock -c``, ``env -S``)."""
    shell: frozenset[str] = frozenset()
    """Options that start a shell when no command is given (``sudo -s``)."""
    joined: bool = False
    """The remaining words are joined and run by a shell (``ssh host cmd``, ``watch cmd``)."""
    exec_opts: frozenset[str] = frozenset()
    """Options that turn ``joined`` off (``watch -x``)."""
    runs_operands: bool = True
    """False when operands are not a command (``su [user [shell args]]``)."""
    operands_need: frozenset[str] = frozenset()
    """Options without which operands are not a command (``runuser -u user cmd`` vs ``runuser user``)."""
    permute: bool = False
    """Options may follow operands (``su root -c cmd``)."""


WRAPPERS: dict[str, Wrapper] = {
    "sudo": Wrapper(
        OptionSpec(
            "ugpCrtUDRTc",
            _set(
                "--user",
                "--group",
                "--prompt",
                "--close-from",
                "--role",
                "--type",
                "--other-user",
                "--chdir",
                "--chroot",
                "--command-timeout",
                "--login-class",
                "--host",
            ),
            # sudo [options] [VAR=value] command: the settings are the command's environment
            assignments=True,
        ),
        no_command=_set(
            "-l",
            "--list",
            "-v",
            "--validate",
            "-K",
            "--remove-timestamp",
            "-V",
            "--version",
            "-h",
            "--help",
            "-e",
            "--edit",
        ),
        shell=_set("-s", "--shell", "-i", "--login"),
    ),
    "doas": Wrapper(OptionSpec("uC"), no_command=_set("-L"), shell=_set("-s")),
    "pkexec": Wrapper(OptionSpec("", _set("--user"))),
    "run0": Wrapper(
        OptionSpec(
            "ugD",
            _set(
                "--user",
                "--group",
                "--chdir",
                "--setenv",
                "--unit",
                "--property",
                "--description",
                "--slice",
                "--nice",
                "--machine",
            ),
        )
    ),
    "env": Wrapper(
        OptionSpec("uCS", _set("--unset", "--chdir", "--split-string"), assignments=True),
        code=_set("-S", "--split-string"),
    ),
    "command": Wrapper(no_command=_set("-v", "-V")),
    "builtin": Wrapper(),
    "exec": Wrapper(OptionSpec("a")),
    "nohup": Wrapper(),
    "coproc": Wrapper(),  # a reserved word to bash, but it runs the command after it all the same
    "setsid": Wrapper(),
    "unbuffer": Wrapper(),
    "chronic": Wrapper(),
    "catchsegv": Wrapper(),
    "torsocks": Wrapper(),
    "proxychains": Wrapper(OptionSpec("f")),
    "proxychains4": Wrapper(OptionSpec("f")),
    "firejail": Wrapper(),
    "fakeroot": Wrapper(OptionSpec("lsi", _set("--lib", "--faked"))),
    "caffeinate": Wrapper(OptionSpec("wt")),
    "time": Wrapper(OptionSpec("fo", _set("--format", "--output"))),
    "nice": Wrapper(OptionSpec("n", _set("--adjustment"), numeric=True)),
    "ionice": Wrapper(
        OptionSpec("cnpPu", _set("--class", "--classdata", "--pid", "--pgid", "--uid")),
        no_command=_set("-p", "--pid", "-P", "--pgid", "-u", "--uid"),
    ),
    "chrt": Wrapper(skip=1, no_command=_set("-p", "--pid", "-m", "--max")),
    "timeout": Wrapper(OptionSpec("sk", _set("--signal", "--kill-after")), skip=1),
    "stdbuf": Wrapper(OptionSpec("ioe", _set("--input", "--output", "--error"))),
    "xargs": Wrapper(
        OptionSpec(
            "aEdILnPs",
            _set(
                "--arg-file", "--delimiter", "--max-args", "--max-procs", "--max-chars", "--process-slot-var"
            ),
        )
    ),
    "parallel": Wrapper(OptionSpec("jPSaInNL", _set("--jobs", "--arg-file", "--sshlogin", "--delimiter"))),
    "chroot": Wrapper(OptionSpec("", _set("--userspec", "--groups")), skip=1),
    "taskset": Wrapper(skip=1, no_command=_set("-p", "--pid")),
    "flock": Wrapper(
        OptionSpec("wEc", _set("--timeout", "--conflict-exit-code", "--command")),
        skip=1,
        code=_set("-c", "--command"),
        permute=True,
    ),
    "runuser": Wrapper(
        OptionSpec(
            "ugGcsw",
            _set(
                "--user",
                "--group",
                "--supp-group",
                "--command",
                "--session-command",
                "--shell",
                "--whitelist-environment",
            ),
        ),
        code=_set("-c", "--command", "--session-command"),
        operands_need=_set("-u", "--user"),
        permute=True,
    ),
    "su": Wrapper(
        OptionSpec(
            "cgGsw",
            _set(
                "--command",
                "--session-command",
                "--group",
                "--supp-group",
                "--shell",
                "--whitelist-environment",
            ),
        ),
        code=_set("-c", "--command", "--session-command"),
        runs_operands=False,
        permute=True,
    ),
    "gosu": Wrapper(skip=1),
    "su-exec": Wrapper(skip=1),
    "setpriv": Wrapper(
        OptionSpec(
            "",
            _set(
                "--reuid",
                "--regid",
                "--groups",
                "--inh-caps",
                "--ambient-caps",
                "--bounding-set",
                "--securebits",
                "--pdeathsig",
                "--selinux-label",
                "--apparmor-profile",
            ),
        )
    ),
    "systemd-run": Wrapper(
        OptionSpec(
            "uMHpE",
            _set(
                "--unit",
                "--property",
                "--description",
                "--slice",
                "--setenv",
                "--uid",
                "--gid",
                "--nice",
                "--working-directory",
                "--machine",
                "--host",
                "--on-calendar",
                "--on-active",
                "--service-type",
            ),
        )
    ),
    "strace": Wrapper(OptionSpec("eoOpsSuEPIabX"), no_command=_set("-p")),
    "ltrace": Wrapper(OptionSpec("eoOpsSuEan"), no_command=_set("-p")),
    "ssh": Wrapper(OptionSpec("BbcDEeFIiJLlmOoPpQRSWw"), skip=1, joined=True),
    "watch": Wrapper(
        OptionSpec("n", _set("--interval", "--differences")), joined=True, exec_opts=_set("-x", "--exec")
    ),
    "script": Wrapper(
        OptionSpec(
            "cEIOBTmo",
            _set(
                "--command",
                "--echo",
                "--log-in",
                "--log-out",
                "--log-io",
                "--log-timing",
                "--logging-format",
                "--output-limit",
            ),
        ),
        code=_set("-c", "--command"),
        runs_operands=False,
        permute=True,
    ),
    "busybox": Wrapper(),
    "toybox": Wrapper(),
    "npx": Wrapper(
        OptionSpec(
            "pc", _set("--package", "--call", "--node-options", "--registry", "--cache", "--userconfig")
        ),
        code=_set("-c", "--call"),
    ),
    "bunx": Wrapper(OptionSpec("p", _set("--package", "--bun"))),
    "valgrind": Wrapper(),
}
"""Commands that run the command given in their remaining words."""


@dataclass(frozen=True)
class Runner:
    """A program that runs a command elsewhere through a subcommand (``docker exec web rm -rf /``)."""

    options: OptionSpec
    """Its global options, before the subcommand (``docker -H host exec``)."""
    verbs: tuple[tuple[str, ...], ...]
    """The subcommands that run a command (``exec``, ``container exec``)."""
    exec_options: OptionSpec
    """Options of that subcommand; its first operand is the container or pod, the command follows."""
    after_dashes: bool = False
    """Options may come anywhere before ``--``, after which the command starts (``kubectl exec pod -c app -- ls``);
    without ``--`` the words after the pod are the command (the old ``kubectl exec pod ls``)."""
    target: bool = True
    """The subcommand's first operand is where the command runs (a container, a toolchain), not the command."""


_CONTAINER = Runner(
    OptionSpec(
        "Hcl",
        _set(
            "--host",
            "--context",
            "--config",
            "--log-level",
            "--tlscacert",
            "--tlscert",
            "--tlskey",
            "--url",
            "--connection",
            "--identity",
            "--root",
            "--runroot",
            "--namespace",
            "--address",
        ),
    ),
    (("exec",), ("container", "exec")),
    OptionSpec("euw", _set("--env", "--env-file", "--user", "--workdir", "--detach-keys", "--preserve-fds")),
)
_KUBE = Runner(
    OptionSpec(
        "nsc",
        _set(
            "--namespace",
            "--context",
            "--kubeconfig",
            "--cluster",
            "--user",
            "--server",
            "--token",
            "--as",
            "--as-group",
            "--request-timeout",
            "--certificate-authority",
            "--client-certificate",
            "--client-key",
        ),
    ),
    (("exec",),),
    OptionSpec(
        "cnf",
        _set(
            "--container",
            "--namespace",
            "--filename",
            "--pod-running-timeout",
            "--context",
            "--kubeconfig",
            "--cluster",
            "--user",
            "--server",
            "--token",
            "--as",
            "--request-timeout",
        ),
    ),
    after_dashes=True,
)
_UV = Runner(
    OptionSpec("", _set("--directory", "--project", "--cache-dir", "--config-file", "--python", "--color")),
    (("run",),),
    OptionSpec(
        "p",
        _set(
            "--with",
            "--with-requirements",
            "--with-editable",
            "--python",
            "--package",
            "--extra",
            "--group",
            "--env-file",
            "--directory",
            "--project",
            "--index",
            "--index-url",
            "--extra-index-url",
            "--only-group",
            "--no-group",
            "--script",
        ),
    ),
    target=False,
)
_PY_PROJECT = Runner(
    OptionSpec("CP", _set("--directory", "--project")), (("run",),), OptionSpec(), target=False
)
RUNNERS: dict[str, Runner] = {
    "docker": _CONTAINER,
    "podman": _CONTAINER,
    "nerdctl": _CONTAINER,
    "kubectl": _KUBE,
    "oc": _KUBE,
    "uv": _UV,
    "poetry": _PY_PROJECT,
    "pdm": _PY_PROJECT,
    "bundle": Runner(OptionSpec(), (("exec",),), OptionSpec(), target=False),
    "conda": Runner(
        OptionSpec(), (("run",),), OptionSpec("np", _set("--name", "--prefix", "--cwd")), target=False
    ),
    "rustup": Runner(OptionSpec(), (("run",),), OptionSpec()),
    # project and toolchain managers that run a command in their environment: the command is judged as if run here
    "pipenv": Runner(OptionSpec(), (("run",),), OptionSpec(), target=False),
    "rye": Runner(OptionSpec(), (("run",),), OptionSpec(), target=False),
    "hatch": Runner(
        OptionSpec("e", _set("--env", "--data-dir", "--cache-dir", "--config")),
        (("run",), ("env", "run")),
        OptionSpec("e", _set("--env", "--include", "--exclude", "--filter")),
        target=False,
    ),
    "tox": Runner(
        OptionSpec("cex", _set("--conf", "--workdir", "--root", "--override", "--result-json")),
        (("exec",), ("e",)),
        OptionSpec("cefx", _set("--conf", "--workdir", "--root", "--override", "--result-json", "--factor")),
        target=False,
    ),
    "pixi": Runner(
        OptionSpec(),
        (("run",), ("exec",)),
        OptionSpec("es", _set("--environment", "--manifest-path", "--spec", "--with")),
        target=False,
    ),
    "devbox": Runner(
        OptionSpec(), (("run",),), OptionSpec("c", _set("--config", "--environment")), target=False
    ),
    "asdf": Runner(OptionSpec(), (("exec",),), OptionSpec(), target=False),
    "mise": Runner(
        OptionSpec("C", _set("--cd", "--env")),
        (("exec",), ("x",)),
        OptionSpec("j", _set("--jobs")),
        after_dashes=True,
    ),
    "rtx": Runner(
        OptionSpec("C", _set("--cd", "--env")),
        (("exec",), ("x",)),
        OptionSpec("j", _set("--jobs")),
        after_dashes=True,
    ),
    "direnv": Runner(OptionSpec(), (("exec",),), OptionSpec()),
}
"""Programs whose subcommand runs a command (inside a container or pod, in a project's environment: ``uv run pytest``); the command
is analyzed as if wrapped."""


@dataclass(frozen=True)
class CommandLines:
    """A program that runs command lines given as its operands or as the values of options, through a shell."""

    options: OptionSpec
    code: frozenset[str] = frozenset()
    """Options whose value is a command line (``hyperfine --prepare CMD``)."""
    operands: bool = False
    """Each operand is a command line (``hyperfine 'make' 'make -j4'``)."""


COMMAND_LINES: dict[str, CommandLines] = {
    "hyperfine": CommandLines(
        OptionSpec(
            "wrmMpcsSnLu",
            _set(
                "--warmup",
                "--runs",
                "--min-runs",
                "--max-runs",
                "--prepare",
                "--conclude",
                "--cleanup",
                "--setup",
                "--shell",
                "--command-name",
                "--parameter-scan",
                "--parameter-step-size",
                "--parameter-list",
                "--style",
                "--sort",
                "--time-unit",
                "--export-asciidoc",
                "--export-csv",
                "--export-json",
                "--export-markdown",
                "--export-orgmode",
                "--output",
                "--input",
                "-D",
            ),
        ),
        code=_set("-p", "--prepare", "-c", "--cleanup", "-s", "--setup", "--conclude"),
        operands=True,
    ),
}
"""Programs whose command lines are analyzed as shell code, like ``sh -c``'s."""

CODE_VARIABLES = frozenset(
    {
        "PAGER",
        "GIT_PAGER",
        "MANPAGER",
        "SYSTEMD_PAGER",
        "BAT_PAGER",
        "DELTA_PAGER",
        "PSQL_PAGER",
        "EDITOR",
        "VISUAL",
        "GIT_EDITOR",
        "GIT_SEQUENCE_EDITOR",
        "SVN_EDITOR",
        "FCEDIT",
        "SUDO_EDITOR",
        "GIT_SSH_COMMAND",
        "GIT_SSH",
        "GIT_PROXY_COMMAND",
        "GIT_ASKPASS",
        "SSH_ASKPASS",
        "SUDO_ASKPASS",
        "GIT_EXTERNAL_DIFF",
        "RSYNC_RSH",
        "CVS_RSH",
        "BROWSER",
        "KUBECTL_EXTERNAL_DIFF",
        "CC",
        "CXX",
        "LD",
        "AR",
        "CPP",
        "RUSTC",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTDOC",
        "CARGO",
        "MAKE",
        "FC",
        "NPM_CONFIG_SCRIPT_SHELL",
        "npm_config_script_shell",
        "PERLDOC_PAGER",
        "GIT_DIFF_OPTS",
        "TERMINAL",
    }
)
"""Environment variables whose value is a command line programs run (``PAGER``, ``EDITOR``, ``GIT_SSH_COMMAND``, ``CC``): a value
known in the text is analyzed as a command (``GIT_PAGER=cat git log`` runs ``cat``)."""

ASSIGNERS = frozenset(
    {"export", "declare", "typeset", "local", "readonly", "read", "mapfile", "readarray", "printf", "getopts"}
)
"""Builtins that set (or export) the variables named in their arguments."""

APPLET_HOSTS = frozenset({"busybox", "toybox"})
"""Wrappers whose first operand is an applet name, not a path (``busybox rm``)."""


@dataclass(frozen=True)
class Interpreter:
    shell: bool
    """Its code is shell code (analyzed recursively)."""
    options: OptionSpec = PLAIN
    code: frozenset[str] = frozenset()
    """Options whose value is code (``python -c``, ``perl -e``); for shells ``-c`` makes the first operand code."""
    script: frozenset[str] = frozenset()
    """Options whose value is a script file (``php -f``, ``at -f``)."""
    final: frozenset[str] = frozenset()
    """Options after which no code is read from operands or standard input (``python -m``)."""
    attached: str = ""
    """Short letters whose value is only ever attached (``perl -Ilib``)."""
    operand_is_script: bool = True
    operand_is_code: bool = False
    """The first operand is the program text (``awk '{print}' file``) unless a script option is given."""


_SHELL = Interpreter(True, OptionSpec("oO", _set("--rcfile", "--init-file")), code=_set("-c"))
INTERPRETERS: dict[str, Interpreter] = {
    **{
        name: _SHELL
        for name in (
            "sh",
            "bash",
            "zsh",
            "dash",
            "ksh",
            "mksh",
            "ash",
            "csh",
            "tcsh",
            "fish",
            "rbash",
            "yash",
            "posh",
            "oksh",
            "pdksh",
            "busybox-sh",
        )
    },
    "python": Interpreter(False, OptionSpec("WXQ"), code=_set("-c"), final=_set("-m")),
    "pypy": Interpreter(False, OptionSpec("WXQ"), code=_set("-c"), final=_set("-m")),
    "perl": Interpreter(False, code=_set("-e", "-E"), attached="IMmxFil0CdDV"),
    "ruby": Interpreter(False, OptionSpec("rICEFKTW"), code=_set("-e"), attached="x0l"),
    "node": Interpreter(
        False,
        OptionSpec("rC", _set("--require", "--import", "--loader", "--conditions")),
        code=_set("-e", "--eval", "-p", "--print"),
    ),
    "nodejs": Interpreter(
        False,
        OptionSpec("rC", _set("--require", "--import", "--loader")),
        code=_set("-e", "--eval", "-p", "--print"),
    ),
    "php": Interpreter(
        False, OptionSpec("rfdczBREF"), code=_set("-r", "-B", "-R", "-E"), script=_set("-f", "-F")
    ),
    "lua": Interpreter(False, OptionSpec("el"), code=_set("-e")),
    **{
        name: Interpreter(
            False,
            OptionSpec("rC", _set("--require", "--import", "--loader", "--tsconfig")),
            code=_set("-e", "--eval", "-p", "--print"),
        )
        for name in ("tsx", "ts-node")
    },
    "ipython": Interpreter(
        False,
        OptionSpec("", _set("--profile", "--ipython-dir", "--config")),
        code=_set("-c"),
        final=_set("-m"),
    ),
    "luajit": Interpreter(False, OptionSpec("elbjO"), code=_set("-e")),
    **{
        name: Interpreter(
            False,
            OptionSpec("Fvfe", _set("--field-separator", "--assign", "--file", "--source")),
            code=_set("-e", "--source"),
            script=_set("-f", "--file"),
            operand_is_code=True,
        )
        for name in ("awk", "gawk", "mawk", "nawk")
    },
    "at": Interpreter(True, OptionSpec("qfMtm"), script=_set("-f"), operand_is_script=False),
    "batch": Interpreter(True, OptionSpec("qfMm"), script=_set("-f"), operand_is_script=False),
}
"""Programs that run code; keys are families (``python3.12`` -> ``python``)."""

SOURCE_COMMANDS = frozenset({"source", "."})
STDIN_PATHS = frozenset({"-", "/dev/stdin", "/dev/fd/0", "/proc/self/fd/0"})

DOWNLOADERS = frozenset(
    {
        "curl",
        "wget",
        "fetch",
        "aria2c",
        "axel",
        "http",
        "https",
        "xh",
        "xhs",
        "lwp-download",
        "lwp-request",
        "GET",
    }
)
"""Programs whose output (a file they write, or their standard output) comes from the network."""

LAUNCHER_ACTIONS = {
    "find": (frozenset({"-exec", "-execdir", "-ok", "-okdir"}), True),
    "fd": (frozenset({"-x", "--exec", "-X", "--exec-batch"}), False),
    "fdfind": (frozenset({"-x", "--exec", "-X", "--exec-batch"}), False),
}
"""Programs that run a command given after an action option; ``True`` if it must end with ``;`` or ``+``."""

OPTION_SPECS: dict[str, OptionSpec] = {
    "git": OptionSpec(
        "Cco",
        _set(
            "--git-dir",
            "--work-tree",
            "--namespace",
            "--super-prefix",
            "--config-env",
            "--exec",
            "--receive-pack",
            "--repo",
            "--push-option",
        ),
    ),
    "systemctl": OptionSpec(
        "tpPsHMno",
        _set(
            "--type",
            "--property",
            "--signal",
            "--host",
            "--machine",
            "--lines",
            "--output",
            "--state",
            "--job-mode",
            "--root",
            "--kill-whom",
            "--kill-who",
            "--kill-value",
            "--what",
            "--timestamp",
            "--preset-mode",
            "--boot-loader-menu",
            "--boot-loader-entry",
            "--reboot-argument",
            "--message",
            "--image",
            "--drop-in",
            "--when",
        ),
    ),
    "find": OptionSpec(
        single_dash_long=True,
        value_long=_set(
            "-name",
            "-iname",
            "-path",
            "-ipath",
            "-wholename",
            "-iwholename",
            "-regex",
            "-iregex",
            "-lname",
            "-ilname",
            "-type",
            "-xtype",
            "-user",
            "-group",
            "-uid",
            "-gid",
            "-perm",
            "-size",
            "-mtime",
            "-mmin",
            "-atime",
            "-amin",
            "-ctime",
            "-cmin",
            "-newer",
            "-anewer",
            "-cnewer",
            "-maxdepth",
            "-mindepth",
            "-fstype",
            "-inum",
            "-links",
            "-samefile",
            "-used",
            "-context",
            "-printf",
            "-fprint",
            "-fprint0",
            "-fls",
            "-regextype",
            "-files0-from",
        ),
    ),
    "grep": OptionSpec(
        "efmABCd",
        _set("--regexp", "--file", "--max-count", "--after-context", "--before-context", "--context"),
    ),
    "chmod": OptionSpec("", _set("--reference")),
    "chown": OptionSpec("", _set("--reference", "--from")),
    "curl": OptionSpec(
        "oXHduAeEbcDFhKQrtTwxyYzmC",
        _set(
            "--output",
            "--request",
            "--header",
            "--data",
            "--user",
            "--user-agent",
            "--referer",
            "--cookie",
            "--cookie-jar",
            "--form",
            "--config",
            "--upload-file",
            "--proxy",
            "--max-time",
            "--output-dir",
            "--data-binary",
            "--data-raw",
        ),
    ),
    "wget": OptionSpec(
        "OoaPUeTtiBwQ",
        _set(
            "--output-document",
            "--output-file",
            "--directory-prefix",
            "--user-agent",
            "--header",
            "--tries",
            "--timeout",
            "--input-file",
            "--post-data",
            "--user",
            "--password",
        ),
    ),
}
"""Value-taking options of programs whose operands matter (``git -C repo push``: the subcommand is ``push``)."""

_VERSION = re.compile(r"(?<![\d.])[\d.]+$")
"""A trailing version; tried only where a run of digits and dots starts, so it is linear."""


def family(program: str) -> str:
    """``python3.12`` -> ``python``, ``ksh93`` -> ``ksh``; other names unchanged."""
    if program in INTERPRETERS or not program[-1:].isdigit():
        return program
    stripped = _VERSION.sub("", program)
    return stripped if stripped and stripped in INTERPRETERS else program
