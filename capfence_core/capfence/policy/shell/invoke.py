"""What a program does with its argument vector: run another command, run code, or just run.

:func:`dispatch` is called with the expanded words of a simple command (or an
argv list). It records an :class:`~capfence.policy.shell.model.Invocation`
for the program and, for the programs that run something else, continues
with what they run:

* wrappers (``sudo -u x env A=1 nice -n 5 rm``) -> the wrapped command, with
  the wrapper added to ``via``;
* launchers (``find -exec rm {} ;``, ``fd -x``) -> each command they launch,
  with ``{}`` as an operand filled in at run time;
* shells (``sh -c CODE``, ``sh < file``, ``curl | sh``), ``eval``, ``source``,
  ``alias``, ``trap``, ``ssh host CODE``, ``watch CODE`` -> the code,
  analyzed recursively when it is known, reported as dynamic (with where it
  comes from) when it is not;
* other interpreters (python, perl, ruby, node, php, lua) -> their code is
  opaque, but code read from a pipe, a process substitution, a download or
  built at run time is reported the same way.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from capfence.policy.shell.context import Site, Stdin, norm_path
from capfence.policy.shell.model import Arg, Invocation, Kind, Options, Redir
from capfence.policy.shell.options import PLAIN, OptionSpec, parse_options, split_leading
from capfence.policy.shell.programs import (
    APPLET_HOSTS,
    ASSIGNERS,
    CODE_VARIABLES,
    COMMAND_LINES,
    DOWNLOADERS,
    INTERPRETERS,
    LAUNCHER_ACTIONS,
    OPTION_SPECS,
    RUNNERS,
    SOURCE_COMMANDS,
    STDIN_PATHS,
    WRAPPERS,
    CommandLines,
    Interpreter,
    Runner,
    Wrapper,
    family,
)

if TYPE_CHECKING:
    from capfence.policy.shell.analyzer import Analyzer

_PLACEHOLDERS = ("{}", "{/}", "{//}", "{.}", "{/.}")
_CODE_RUNNERS = frozenset({"eval", "alias", "trap"})
PIPE_SENDERS = frozenset({"http", "https", "xh", "xhs"})
"""Programs that send what is piped into them (httpie's body): recorded with :data:`PIPED` (and never sketched)."""
PIPED = Redir("|", 0, None)
"""Stands for "standard input is a pipe" among the redirections of a :data:`PIPE_SENDERS` invocation."""


def program_name(text: str) -> str:
    """The name a rule sees: the base name of the command word (``/usr/bin/rm`` -> ``rm``)."""
    if "/" not in text:
        return text
    return posixpath.basename(text.rstrip("/")) or text


_NAMES = (
    WRAPPERS,
    LAUNCHER_ACTIONS,
    INTERPRETERS,
    SOURCE_COMMANDS,
    _CODE_RUNNERS,
    RUNNERS,
    OPTION_SPECS,
    DOWNLOADERS,
    APPLET_HOSTS,
    COMMAND_LINES,
    ASSIGNERS,
)
_KNOWN = frozenset(name for table in _NAMES for name in table) | {"tee"}
_FOLDED = {name.casefold(): name for name in sorted(_KNOWN)}


def canonical(name: str) -> str:
    """The analyzer's name for a program it knows, however it is capitalized.

    ``BASH -c ...`` runs bash where file names ignore case (macOS), so it is analyzed as bash; other names stay as written.
    """
    if name in _KNOWN:
        return name
    folded = name.casefold()
    known = _FOLDED.get(folded)
    if known is not None:
        return known
    return folded if folded != name and family(folded) in INTERPRETERS else name


def options_of(name: str, rest: Sequence[Arg]) -> Options:
    """The options of ``name``'s arguments, split by what the program is known to take."""
    return parse_options(rest, OPTION_SPECS.get(name, PLAIN))


def ordinary(name: str) -> bool:
    """True if :func:`dispatch` records just this program when its command word has no ``/``.

    That is one invocation with no code and no wrapped command: not a wrapper, launcher, interpreter or code runner.
    """
    name = canonical(name)
    return not (
        name in WRAPPERS
        or name in LAUNCHER_ACTIONS
        or family(name) in INTERPRETERS
        or name in SOURCE_COMMANDS
        or name in _CODE_RUNNERS
        or name in RUNNERS
        or name in COMMAND_LINES
        or name in ASSIGNERS
        or name in PIPE_SENDERS
        or name in STDIN_AS_OPERAND
    )


def launches_nothing(name: str, args: Iterable[str]) -> bool:
    """True for a launcher given none of its action options (``find . -name x``): :func:`dispatch` records just it.

    ``args``: the texts of its arguments. The command word must have no ``/``, as for :func:`ordinary`.
    """
    name = canonical(name)
    return name in LAUNCHER_ACTIONS and LAUNCHER_ACTIONS[name][0].isdisjoint(args)


def dispatch(an: Analyzer, args: Sequence[Arg], site: Site) -> None:
    an.budget.spend(len(args))  # before any work on them: splitting options, matching rules against them
    head, rest = args[0], tuple(args[1:])
    if not head.static or head.globbing:
        an.emit(
            Invocation(
                None, rest, site.redirects, site.via, _unknown_name(head), head.sources, parse_options(rest)
            )
        )
        return
    name = canonical(program_name(head.text))
    start = len(an.found)
    _dispatch_named(an, name, head, rest, site)
    if "/" in head.text:
        # the invocation this word starts is the first at this level (a wrapper is listed before what it wraps, a shell
        # after the code it runs)
        for i in range(start, len(an.found)):
            if an.found[i].via == site.via:
                an.found[i] = an.found[i]._replace(origin=head.text)
                break


def _dispatch_named(an: Analyzer, name: str, head: Arg, rest: tuple[Arg, ...], site: Site) -> None:
    if name in WRAPPERS:
        _wrapper(an, name, WRAPPERS[name], rest, site)
    elif name in LAUNCHER_ACTIONS:
        _launcher(an, name, rest, site)
    elif (kind := family(name)) in INTERPRETERS:
        _interpreter(an, name, INTERPRETERS[kind], rest, site)
    elif name in SOURCE_COMMANDS:
        _source(an, name, rest, site)
    elif name == "eval":
        _eval(an, rest, site)
    elif name in ("alias", "trap"):
        _deferred(an, name, rest, site)
    elif name in COMMAND_LINES:
        _command_lines(an, name, COMMAND_LINES[name], rest, site)
    else:
        code_from = an.written.get(norm_path(head.text), frozenset()) if "/" in head.text else frozenset()
        if name in STDIN_AS_OPERAND and site.stdin is not None:
            rest = _stdin_operand(rest, site.stdin)
        redirects = site.redirects
        if name in PIPE_SENDERS and site.stdin is not None and site.stdin.dynamic:
            redirects = (*redirects, PIPED)  # (what it sends: :mod:`~capfence.policy.shell.network`)
        invocation = Invocation(name, rest, redirects, site.via, None, code_from, options_of(name, rest))
        an.emit(invocation)
        an.track_writes(invocation, site.stdin)
        if name in ASSIGNERS:
            settings_code(
                an,
                [a for a in rest if a.static and "=" in a.text and not a.text.startswith("-")],
                site.nest(name),
            )
        command = runner_command(RUNNERS[name], rest) if name in RUNNERS else []
        if command:
            dispatch(an, command, site.nest(name))


STDIN_AS_OPERAND = frozenset({"sqlite3"})
"""Programs that read their input as they read their last operand (``sqlite3 DB <<'EOF'`` runs the SQL as ``sqlite3 DB
'SQL'`` does): literal text on their input is judged as that operand."""


def _stdin_operand(rest: tuple[Arg, ...], stdin: Stdin) -> tuple[Arg, ...]:
    text = stdin.text if stdin.text is not None else stdin.echoed
    return rest if text is None else (*rest, Arg.of(text))


def _unknown_name(head: Arg) -> str:
    if head.kind is Kind.PLACEHOLDER:
        return "the command name comes from the launcher's input"
    if head.static:
        return f"the command name {head.text!r} is a file-name pattern"
    if not head.prefix and not head.sources and not head.procsub:
        return "the command name comes from a variable"
    return "the command name is built at run time"


def _emit(
    an: Analyzer,
    name: str,
    rest: tuple[Arg, ...],
    site: Site,
    reasons: list[str],
    sources: frozenset[str],
    options: Options | None = None,
    env: tuple[Arg, ...] = (),
) -> None:
    if options is None:
        options = options_of(name, rest)
    an.emit(
        Invocation(
            name, rest, site.redirects, site.via, reasons[0] if reasons else None, sources, options, env
        )
    )


def setting(name: str, value: Arg) -> Arg:
    """The word ``NAME=value`` of an assignment whose value expanded to ``value``."""
    return Arg(
        f"{name}={value.text}",
        value.kind,
        f"{name}={value.prefix}",
        value.globbing,
        value.sources,
        value.procsub,
    )


def settings_code(an: Analyzer, settings: Sequence[Arg], site: Site) -> None:
    """Analyze the values of settings that are command lines (``PAGER='less -R'``, ``GIT_SSH_COMMAND=...``) as commands."""
    for word in settings:
        name, _, value = word.text.partition("=")
        if name in CODE_VARIABLES and word.static and value.strip():
            an.code(Arg.of(value), site)


def leading_options(rest: Sequence[Arg], start: int, spec: OptionSpec) -> Options:
    """Options of a program whose own options end where the command or script it runs begins."""
    lead = parse_options(rest[:start], spec)
    return Options(lead.flags, lead.long, lead.operands + tuple(rest[start:]), lead.maybe_option, lead.values)


def join_words(words: Sequence[Arg]) -> Arg:
    """Words joined by spaces, as ``ssh host a b`` or ``eval a b`` hand them to a shell."""
    if all(w.static for w in words):
        return Arg.of(" ".join(w.text for w in words))
    sources: frozenset[str] = frozenset().union(*(w.sources for w in words))
    kind = Kind.PLACEHOLDER if any(w.kind is Kind.PLACEHOLDER for w in words) else Kind.DYNAMIC
    return Arg(" ".join(w.text for w in words), kind, "", sources=sources)


# --- wrappers ---------------------------------------------------------------------------


def _wrapper(an: Analyzer, name: str, spec: Wrapper, rest: tuple[Arg, ...], site: Site) -> None:
    options, start = split_leading(rest, spec.options)
    names = {n for n, _ in options}
    runs = spec.runs_operands and (not spec.operands_need or bool(names & spec.operands_need))
    operands = list(rest[start + spec.skip :])
    if spec.permute and not runs:  # su user -c CODE: options anywhere, operands are not a command
        options, operands = _all_options(rest, spec), []
    elif spec.permute:  # flock FILE -c CODE: options may follow the positional operands
        more, used = split_leading(operands, spec.options)
        options, operands = options + more, operands[used:]
    names = {n for n, _ in options}
    inner = site.nest(name, stdin=site.stdin)
    reasons: list[str] = []
    sources: frozenset[str] = frozenset()
    for option, value in options:
        if option in spec.code:
            reason, found = an.code(value, inner)
            reasons += [reason] if reason else []
            sources |= found
    command: list[Arg] = []
    if runs and not names & spec.no_command:
        if name in APPLET_HOSTS:
            command = operands if operands and not operands[0].text.startswith("-") else []
        elif name == "xargs":
            command = _xargs_command(rest[:start], options, operands)
            inner = site.nest(name)  # xargs gives the command /dev/null as input
        elif operands and spec.joined and not names & spec.exec_opts:
            reason, found = an.code(join_words(operands), inner)
            reasons += [reason] if reason else []
            sources |= found
        else:
            command = operands or ([Arg.of("sh")] if names & spec.shell or name == "chroot" else [])
    settings = tuple(value for option, value in options if option == "=" and value is not None)
    _emit(an, name, rest, site, reasons, sources, leading_options(rest, start, spec.options), settings)
    settings_code(an, settings, inner)
    if command:
        dispatch(an, command, inner)


def _all_options(rest: tuple[Arg, ...], spec: Wrapper) -> list[tuple[str, Arg | None]]:
    """Options anywhere among the words (GNU permutation), for wrappers such as ``su user -c CODE``."""
    found: list[tuple[str, Arg | None]] = []
    i = 0
    while i < len(rest):
        options, used = split_leading(rest[i:], spec.options)
        found += options
        i += used + 1
    return found


def _xargs_command(
    leading: tuple[Arg, ...], options: list[tuple[str, Arg | None]], operands: list[Arg]
) -> list[Arg]:
    """The command xargs runs: its words, with input items where ``-I`` says or appended at the end."""
    replace = next((v.text for n, v in options if n == "-I" and v is not None and v.static), None)
    for word in leading:
        if word.text.startswith("--replace"):
            replace = word.text.partition("=")[2] or "{}"
        elif word.text.startswith("-i"):
            replace = word.text[2:] or "{}"
    command = operands or [Arg.of("echo")]
    if replace:
        return [_placeholder(word, (replace,)) for word in command]
    return [*command, Arg("{}", Kind.PLACEHOLDER, "")]


def _placeholder(word: Arg, marks: tuple[str, ...]) -> Arg:
    if not word.static:
        return word
    positions = [word.text.find(mark) for mark in marks if mark in word.text]
    if not positions:
        return word
    return Arg(word.text, Kind.PLACEHOLDER, word.text[: min(positions)], word.globbing, word.sources)


# --- runners ---------------------------------------------------------------------------


def runner_command(runner: Runner, rest: Sequence[Arg]) -> list[Arg]:
    """The command a runner's exec subcommand runs inside the container or pod (``[]`` for other subcommands)."""
    _, start = split_leading(rest, runner.options)
    words = list(rest[start:])
    verb = next(
        (v for v in runner.verbs if [w.text if w.static else None for w in words[: len(v)]] == list(v)), None
    )
    if verb is None:
        return []
    words = words[len(verb) :]
    if not runner.target:
        _, used = split_leading(words, runner.exec_options)
        rest = words[used:]
        return rest[1:] if rest and rest[0].static and rest[0].text == "--" else rest
    if runner.after_dashes:
        dashes = next((i for i, w in enumerate(words) if w.static and w.text == "--"), None)
        if dashes is not None:
            return words[dashes + 1 :]
    options, used = split_leading(words, runner.exec_options)
    if any(name in ("-l", "--latest") for name, _ in options):
        return words[used:]  # ``podman exec -l CMD``: the latest container, no container name
    return words[used + 1 :]


# --- launchers ----------------------------------------------------------------------------


def _launcher(an: Analyzer, name: str, rest: tuple[Arg, ...], site: Site) -> None:
    actions, terminated = LAUNCHER_ACTIONS[name]
    own: list[Arg] = []
    commands: list[list[Arg]] = []
    i = 0
    while i < len(rest):
        own.append(rest[i])
        if not (rest[i].static and rest[i].text in actions):
            i += 1
            continue
        words: list[Arg] = []
        i += 1
        while i < len(rest) and not _ends_action(rest[i], words, terminated):
            words.append(rest[i])
            i += 1
        i += 1
        command = [_placeholder(w, _PLACEHOLDERS) for w in words]
        if command and not terminated and not any(w.kind is Kind.PLACEHOLDER for w in command):
            command.append(Arg("{}", Kind.PLACEHOLDER, ""))
        commands += [command] if command else []
    start = search_start(name, own)
    if start:
        # a name found starts with the search root: ``find /etc -exec tee {} +`` writes files under /etc
        commands = [[_rooted(word, start) for word in command] for command in commands]
    _emit(an, name, rest, site, [], frozenset(), options_of(name, own))
    for command in commands:
        dispatch(an, command, site.nest(name))


_FIND_LEADING = frozenset({"-H", "-L", "-P"})
_FD_ROOTS = frozenset({"--search-path", "--base-directory"})


def search_roots(name: str, words: Sequence[Arg]) -> list[Arg]:
    """Where ``find``/``fd`` search (``.`` if not said), from their own words: ``find``'s paths before its expression,
    ``fd``'s operands after the pattern and its ``--search-path``/``--base-directory``."""
    roots: list[Arg] = []
    if name == "find":
        for i, word in enumerate(words):
            if word.static and (word.text in _FIND_LEADING or word.text.startswith(("-O", "-D"))):
                continue
            if i and words[i - 1].static and words[i - 1].text == "-D":
                continue
            if word.static and (word.text.startswith("-") or word.text in ("(", "!", ")", ",")):
                break
            roots.append(word)
        return roots or [Arg.of(".")]
    pattern = False
    for i, word in enumerate(words):
        if word.static and word.text.startswith("-"):
            continue
        if pattern or (i and words[i - 1].static and words[i - 1].text in _FD_ROOTS):
            roots.append(word)
        pattern = True
    return roots or [Arg.of(".")]


_FOLLOWS_LINKS = frozenset({"-L", "-follow", "--follow"})
"""``find``/``fd`` options that follow symbolic links: the names found may then be anywhere a link in the tree leads."""


def search_start(name: str, words: Sequence[Arg]) -> str:
    """How the names a launcher fills in start: its search root (the first absolute, home or climbing one, which matters
    where they are written), with a ``/``; ``""`` when a root is known only at run time."""
    roots = search_roots(name, words)
    if not all(root.static for root in roots) or any(w.static and w.text in _FOLLOWS_LINKS for w in words):
        return ""
    far = next(
        (r.text for r in roots if r.text.startswith(("/", "~")) or r.text.startswith("..")), roots[0].text
    )
    return far if far.endswith("/") else far + "/"


def _rooted(word: Arg, start: str) -> Arg:
    """A placeholder word that the launcher fills in with a name under ``start``."""
    if word.kind is not Kind.PLACEHOLDER or word.prefix:
        return word
    return word._replace(prefix=start)


def _ends_action(word: Arg, words: list[Arg], terminated: bool) -> bool:
    if not word.static:
        return False
    if word.text == ";":
        return True
    return terminated and word.text == "+" and bool(words) and "{}" in words[-1].text


# --- code runners -----------------------------------------------------------------------------


@dataclass
class Reading:
    """Where an interpreter takes its code from, per its arguments."""

    code: list[Arg | None] = field(default_factory=list)
    script: Arg | None = None
    stdin: bool = False
    dynamic_options: bool = False
    start: int = 0
    """Index of the first operand (the interpreter's own options end there)."""

    def take(self, option: str, value: Arg | None, spec: Interpreter) -> None:
        """Record an option's value: code to analyze, or the script file to read."""
        if option in spec.code:
            self.code.append(value)
        elif option in spec.script:
            self.script = value


def read_code(args: tuple[Arg, ...], spec: Interpreter) -> Reading:
    reading = Reading()
    i = 0
    shell_c = final = False
    while i < len(args):
        arg = args[i]
        if not arg.static:
            starts_like_option = arg.kind is Kind.DYNAMIC and (arg.prefix == "" or arg.prefix.startswith("-"))
            reading.dynamic_options = starts_like_option and i < len(args) - 1
            break
        text = arg.text
        if text in ("--", "-"):
            reading.stdin = reading.stdin or text == "-"
            i += 1
            break
        if text.startswith("--"):
            i, final = _long_option(args, i, spec, reading)
        elif text.startswith("-") or (spec.shell and text.startswith("+") and len(text) > 1):
            i, shell_c, final = _short_options(args, i, spec, reading, shell_c)
        else:
            break
        if final:
            return Reading(reading.code, None, False, reading.dynamic_options, i)
    reading.start = i
    operands = args[i:]
    if shell_c:
        reading.code.append(operands[0] if operands else None)
    elif spec.operand_is_code:
        if not reading.code and reading.script is None and operands:
            reading.code.append(operands[0])
        return reading
    elif (
        not reading.code
        and reading.script is None
        and operands
        and spec.operand_is_script
        and not reading.stdin
    ):
        reading.script = operands[0]
    if not reading.code and reading.script is None:
        reading.stdin = True
    return reading


def _long_option(args: tuple[Arg, ...], i: int, spec: Interpreter, reading: Reading) -> tuple[int, bool]:
    name, eq, value = args[i].text.partition("=")
    i += 1
    takes = name in spec.code or name in spec.script or name in spec.options.value_long
    given: Arg | None = Arg.of(value) if eq else None
    if takes and not eq:
        given = args[i] if i < len(args) else None
        i += 1
    reading.take(name, given, spec)
    return i, name in spec.final


def _short_options(
    args: tuple[Arg, ...], i: int, spec: Interpreter, reading: Reading, shell_c: bool
) -> tuple[int, bool, bool]:
    letters = args[i].text[1:]
    plus = args[i].text.startswith("+")
    i += 1
    for j, letter in enumerate(letters):
        option = "-" + letter
        if spec.shell and not plus and letter in "cs":
            shell_c = shell_c or letter == "c"
            reading.stdin = reading.stdin or letter == "s"
            continue
        if letter in spec.attached:
            break
        if not (
            option in spec.code
            or option in spec.script
            or option in spec.final
            or letter in spec.options.value_short
        ):
            continue
        value: Arg | None = Arg.of(letters[j + 1 :]) if letters[j + 1 :] else None
        if value is None:
            value = args[i] if i < len(args) else None
            i += 1
        reading.take(option, value, spec)
        return i, shell_c, option in spec.final
    return i, shell_c, False


def _interpreter(an: Analyzer, name: str, spec: Interpreter, rest: tuple[Arg, ...], site: Site) -> None:
    reading = read_code(rest, spec)
    inner = site.nest(name, stdin=site.stdin)
    reasons = ["its options are built at run time"] if reading.dynamic_options else []
    sources: frozenset[str] = frozenset()
    for code in reading.code:
        reason, found = an.code(code, inner) if spec.shell else an.foreign_code(code, family(name), inner)
        reasons += [reason] if reason else []
        sources |= found
    stdin = reading.stdin
    script = reading.script
    if script is not None:
        if script.procsub:
            reasons.append("runs code produced at run time (process substitution)")
            sources |= script.sources
        elif script.static and script.text in STDIN_PATHS:
            stdin = True
        elif script.static:
            sources |= an.written.get(norm_path(script.text), frozenset())
    if stdin:
        reason, found = an.stdin_code(site.stdin, spec.shell, inner, family(name))
        reasons += [reason] if reason else []
        sources |= found
    _emit(an, name, rest, site, reasons, sources, leading_options(rest, reading.start, spec.options))


def _source(an: Analyzer, name: str, rest: tuple[Arg, ...], site: Site) -> None:
    operands = rest[1:] if rest and rest[0].static and rest[0].text == "--" else rest
    reasons: list[str] = []
    sources: frozenset[str] = frozenset()
    script = operands[0] if operands else None
    if script is not None and script.procsub:
        reasons.append("runs code produced at run time (process substitution)")
        sources = script.sources
    elif script is not None and script.static and script.text in STDIN_PATHS:
        reason, sources = an.stdin_code(site.stdin, True, site.nest(name, stdin=site.stdin))
        reasons += [reason] if reason else []
    elif script is not None and script.static:
        sources = an.written.get(norm_path(script.text), frozenset())
    _emit(an, name, rest, site, reasons, sources)


def _eval(an: Analyzer, rest: tuple[Arg, ...], site: Site) -> None:
    words = [w for w in rest if not (w.static and w.text == "--")]
    reason, sources = (
        an.code(join_words(words), site.nest("eval", stdin=site.stdin)) if words else (None, frozenset())
    )
    if reason:
        reason = "eval of text built at run time"
    _emit(an, "eval", rest, site, [reason] if reason else [], sources)


def _command_lines(an: Analyzer, name: str, spec: CommandLines, rest: tuple[Arg, ...], site: Site) -> None:
    """``hyperfine 'make' 'make -j4'``: each command line is analyzed as shell code."""
    options = parse_options(rest, spec.options)
    codes = [value for option, value in options.values if option in spec.code]
    codes += list(options.operands) if spec.operands else []
    inner = site.nest(name)
    reasons: list[str] = []
    sources: frozenset[str] = frozenset()
    for code in codes:
        reason, found = an.code(code, inner)
        reasons += [reason] if reason else []
        sources |= found
    _emit(an, name, rest, site, reasons, sources, options)


def _deferred(an: Analyzer, name: str, rest: tuple[Arg, ...], site: Site) -> None:
    """``alias NAME=CODE`` and ``trap CODE SIGNAL``: code that may run later is analyzed now."""
    inner = site.nest(name)
    codes: list[Arg] = []
    if name == "alias":
        for word in rest:
            if word.static and "=" in word.text and not word.text.startswith("-"):
                codes.append(Arg.of(word.text.partition("=")[2]))
            elif not word.static:
                codes.append(word)
    else:
        operands = [w for w in rest if not (w.static and w.text.startswith("-"))]
        if len(operands) >= 2 and not (operands[0].static and operands[0].text in ("", "-")):
            codes.append(operands[0])
    reasons: list[str] = []
    sources: frozenset[str] = frozenset()
    for code in codes:
        reason, found = an.code(code, inner)
        reasons += [reason] if reason else []
        sources |= found
    _emit(an, name, rest, site, reasons, sources)


# --- downloads ----------------------------------------------------------------------------------


def downloaded_files(invocation: Invocation) -> list[str]:
    """Files a downloader writes (``curl -o F``, ``curl -O URL``, ``wget URL``, ``wget -O F``)."""
    options = invocation.options
    outputs = [
        v
        for n, v in options.values
        if n in ("-o", "--output", "--output-document") or (n == "-O" and invocation.program == "wget")
    ]
    urls = [o.text for o in options.operands if o.static and "/" in o.text]
    remote = invocation.program == "wget" and not outputs
    remote = remote or (
        bool(options.flags & {"-O", "--remote-name", "--remote-name-all"}) and invocation.program != "wget"
    )
    files = [v.text for v in outputs if v.static and v.text != "-"]
    if remote:
        prefix = next(
            (
                v.text
                for n, v in options.values
                if n in ("-P", "--directory-prefix", "--output-dir") and v.static
            ),
            "",
        )
        files += [posixpath.join(prefix, _url_name(url)) for url in urls]
    return files


def _url_name(url: str) -> str:
    try:
        path = urlsplit(url if "://" in url else "http://" + url).path
    except ValueError:
        return "index.html"
    return posixpath.basename(path) or "index.html"
