"""Walks a parsed command and lists every program it would run.

The walk follows the shell's own order, so facts established earlier in a
text are known later: variables assigned statically (``X=rm; $X -rf /``),
files written (``curl -o a.sh URL && sh a.sh``). Each pipeline stage knows
where its standard input comes from, which is how a shell reading code from
a pipe (``curl URL | sh``) is recognized. What each program does with its
arguments is decided in :mod:`capfence.policy.shell.invoke`.

Anything that makes the result unknowable (nested code that does not parse,
absurd nesting or size) raises :class:`Unknowable`; the caller turns it into
an :class:`~capfence.policy.shell.model.Analysis` with ``error`` set. So does
running out of the analysis's :class:`~capfence.policy.shell.budget.Budget`
(:class:`~capfence.policy.shell.budget.TooComplex`): every command found, and
each of its arguments and redirections, costs a step, as do the tokens and
expansions of the parser and the expander, which spend from the same budget.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence

from capfence.policy.shell import invoke, shortcuts
from capfence.policy.shell.ast import (
    AndOr,
    ArithCommand,
    Case,
    Command,
    For,
    FunctionDef,
    Group,
    If,
    Lit,
    Loop,
    Pipeline,
    Redirect,
    Script,
    Simple,
    Test,
    Word,
)
from capfence.policy.shell.budget import Budget, TooComplex
from capfence.policy.shell.catalogue import variable_reason
from capfence.policy.shell.context import Site, Stdin, Unknowable, norm_path
from capfence.policy.shell.embedded import embedded
from capfence.policy.shell.expand import Env, Expander, loop_start
from capfence.policy.shell.forkbomb import (
    BUSY_LOOP,
    SPAWNING_LOOP,
    is_busy_loop,
    is_fork_bomb_function,
    is_fork_bomb_loop,
    is_spawning_loop,
)
from capfence.policy.shell.lexer import ParseError
from capfence.policy.shell.model import MAX_INVOCATIONS, Analysis, Arg, Invocation, Kind, Redir
from capfence.policy.shell.parser import parse
from capfence.policy.shell.plain import Chain, Stages, plain_args
from capfence.policy.shell.programs import CODE_VARIABLES, DOWNLOADERS
from capfence.policy.shell.sketch import Sketch, sketch_text

MAX_CODE_DEPTH = 12
EMIT_STEPS = 4
"""Budget steps a command found costs (besides one per argument and redirection): walking to it and recording it."""
NESTED_CODE_STEPS = 8
"""Budget steps parsing and analyzing a piece of nested code costs (``sh -c``, ``eval``, code in a script), besides its tokens."""
SUBSTITUTION_STEPS = 4
"""Budget steps analyzing a ``$(...)``, ``<(...)`` or backquoted body costs (besides what is in it)."""

_ENV_SETTERS = frozenset({"export", "readonly"})
_ENV_CLOBBERS = frozenset(
    {
        "declare",
        "typeset",
        "local",
        "read",
        "readarray",
        "mapfile",
        "getopts",
        "unset",
        "let",
        "printf",
        "wait",
    }
)
_ENV_OPAQUE = frozenset({"eval", "source", "."})
_DECLARES = frozenset({"declare", "typeset", "local", "export", "readonly"})
_TOP, _LATER = Site(), Site(uncertain=True)
_LATE_EXPANSION = re.compile(r"\$\(|`")
"""Text that runs a command if bash evaluates it as arithmetic or a subscript."""
_ARITHMETIC_USE = "(("
"""The invocation recorded for a value with a command substitution's text used in arithmetic (judged as ``let``)."""
_ARITHMETIC_TESTS = frozenset({"-eq", "-ne", "-lt", "-le", "-gt", "-ge"})
_ARITHMETIC_OPTION = re.compile(r"-[a-zA-Z]*i")
"""``declare -i``, ``local -gi``...: later assignments to the name are evaluated as arithmetic."""
_NO_SKETCH = Sketch(None)
"""What :func:`analyze_script` takes with the shortcuts off: no split, so the lexer and the parser."""


class Analyzer:
    def __init__(self, budget: Budget | None = None) -> None:
        self.budget = budget if budget is not None else Budget()
        self.found: list[Invocation] = []
        self.fork_bomb = False
        self.written: dict[str, frozenset[str]] = {}
        """Files written earlier in the text -> the programs whose output went into them."""
        self.code_depth = 0
        self.late_text: Arg | None = None
        """A variable's value that runs a command if evaluated as arithmetic (``x='a[$(cmd)]'``)."""
        self.arithmetic = False
        """Some text is evaluated as arithmetic or a subscript (``(( x ))``, ``$((x))``, ``let``, ``declare -i``, ``${a[x]}``)."""

    def result(self) -> Analysis:
        if self.late_text is not None and self.arithmetic:
            # bash evaluates a variable's value as arithmetic where its name is used in one (and through other names
            # that hold it): `x='a[$(cmd)]'; (( x ))` runs cmd. Which names reach which context is not tracked: held
            self.emit(Invocation(_ARITHMETIC_USE, (self.late_text,)))
            self.late_text = None
        return Analysis.of(tuple(self.found), self.fork_bomb)

    def emit(self, invocation: Invocation) -> None:
        if len(self.found) >= MAX_INVOCATIONS:
            raise Unknowable(f"more than {MAX_INVOCATIONS} commands")
        # its arguments were paid for by invoke.dispatch
        self.budget.spend(EMIT_STEPS + len(invocation.redirects))
        self.found.append(invocation)

    def programs_since(self, start: int) -> frozenset[str]:
        return frozenset(inv.program for inv in self.found[start:] if inv.program)

    # --- lists and pipelines --------------------------------------------------------

    def script(self, script: Script, site: Site, env: Env) -> None:
        for item in script.items:
            self.and_or(item, site, env)

    def and_or(self, item: AndOr, site: Site, env: Env) -> None:
        if item.background:
            site = Site(site.via, site.redirects, site.stdin, True)
        self.pipeline(item.first, site, env)
        later = Site(site.via, site.redirects, site.stdin, True)
        for _, pipeline in item.rest:
            self.pipeline(pipeline, later, env)

    def pipeline(self, pipeline: Pipeline, site: Site, env: Env) -> None:
        if len(pipeline.commands) == 1:
            self.command(pipeline.commands[0], site, env)
            return
        upstream = site.stdin.sources if site.stdin else frozenset()
        echoed: str | None = None
        for index, command in enumerate(pipeline.commands):
            self.budget.spend(len(upstream))
            stdin = site.stdin if index == 0 else Stdin(upstream, dynamic=True, echoed=echoed)
            start = len(self.found)
            self.command(command, Site(site.via, site.redirects, stdin, True), env)
            echoed = _echoed(self.found[start:], site.via)
            upstream = upstream | self.programs_since(start)

    def plain(self, chains: list[Chain]) -> None:
        """What :meth:`script` does for a plain command list (:func:`~capfence.policy.shell.plain.split_plain`), without its syntax tree.

        Such text has no expansions, redirections or assignments, so each command's words are its arguments.
        """
        for pipelines, _ in chains:
            for position, stages in enumerate(pipelines):
                self.plain_pipeline(stages, _LATER if position else _TOP)

    def plain_pipeline(self, stages: Stages, site: Site) -> None:
        if len(stages) == 1:
            invoke.dispatch(self, plain_args(stages[0], self.budget), site)
            return
        upstream: frozenset[str] = frozenset()
        echoed: str | None = None
        for index, words in enumerate(stages):
            self.budget.spend(len(upstream))
            start = len(self.found)
            invoke.dispatch(
                self,
                plain_args(words, self.budget),
                Site((), (), Stdin(upstream, dynamic=True, echoed=echoed) if index else None, True),
            )
            echoed = _echoed(self.found[start:], ())
            upstream = upstream | self.programs_since(start)

    # --- commands -------------------------------------------------------------------

    def command(self, node: Command, site: Site, env: Env) -> None:
        if isinstance(node, Simple):
            self.simple(node, site, env)
            return
        if isinstance(node, FunctionDef):
            self.fork_bomb = self.fork_bomb or is_fork_bomb_function(node)
            self.command(node.body, Site(site.via, (), None, True), env)
            return
        expander = self.expander(site, env)
        redirects, stdin = self.redirects(node.redirects, expander)
        inner = Site(site.via, site.redirects + redirects, stdin or site.stdin, site.uncertain)
        branch = Site(inner.via, inner.redirects, inner.stdin, True)
        if isinstance(node, Group):
            self.script(node.body, branch if node.subshell else inner, env)
        elif isinstance(node, If):
            for condition, body in node.clauses:
                self.script(condition, branch, env)
                self.script(body, branch, env)
            self.script(node.otherwise or Script(), branch, env)
        elif isinstance(node, Loop):
            self.fork_bomb = self.fork_bomb or is_fork_bomb_loop(node)
            if is_busy_loop(node):
                self.emit(Invocation(BUSY_LOOP))
            self.script(node.condition, branch, env)
            self.script(node.body, branch, env)
        elif isinstance(node, For):
            if is_spawning_loop(node):
                self.emit(Invocation(SPAWNING_LOOP))
            self.for_loop(node, expander, branch, env)
        elif isinstance(node, Case):
            self.case(node, expander, branch, env)
        else:
            self.words_only(node, expander)

    def case(self, node: Case, expander: Expander, site: Site, env: Env) -> None:
        expander.word(node.subject)
        for patterns, body in node.items:
            for pattern in patterns:
                expander.word(pattern)
            self.script(body, site, env)

    def words_only(self, node: ArithCommand | Test, expander: Expander) -> None:
        """``(( ))`` and ``[[ ]]`` run nothing but the substitutions in their words."""
        if isinstance(node, ArithCommand):
            self.arithmetic = True
            for part in node.parts:
                expander.sources(part)
        else:
            args = [arg for word in node.words for arg in expander.word(word)]
            self.arithmetic = self.arithmetic or any(
                arg.text in _ARITHMETIC_TESTS for arg in args if arg.static
            )
            if any(arg.static and _LATE_EXPANSION.search(arg.text) for arg in args):
                # [[ x -eq 'a[$(cmd)]' ]] evaluates the text: judged like let
                self.emit(Invocation("[[", tuple(args)))

    def for_loop(self, node: For, expander: Expander, site: Site, env: Env) -> None:
        words = [arg for word in node.words or () for arg in expander.word(word)]
        # for (( ... )) has no variable and no word list (its parts are only the expansions in it)
        self.arithmetic = self.arithmetic or (not node.var and node.words is None)
        for part in node.arith:
            expander.sources(part)
        if node.var:
            env.assign(node.var, None)
            start = loop_start(words)
            if start is not None:
                env.starts[node.var] = start
        self.script(node.body, site, env)

    def simple(self, node: Simple, site: Site, env: Env) -> None:
        expander = self.expander(site, env)
        values = [expander.joined(a.value) if a.value is not None else None for a in node.assigns]
        for assign in node.assigns:
            for word in assign.array or ():
                expander.word(word)
        redirects, stdin = self.redirects(node.redirects, expander, own=True)
        args = [arg for word in node.words for arg in expander.word(word)]
        self.note_arithmetic(node, values, args, expander)
        if not node.words:
            for assign, value in zip(node.assigns, values, strict=True):
                known = value is not None and value.static and assign.array is None and not site.uncertain
                env.assign(assign.name, value.text if known and value is not None else None)
                if (
                    value is not None
                    and not value.static
                    and value.prefix
                    and assign.array is None
                    and not site.uncertain
                ):
                    # (how a run-time value is known to start: tmp=$(mktemp) is a name under /tmp)
                    env.starts[assign.name] = (value.prefix, value.sources)
        full = Site(site.via, site.redirects + redirects, stdin or site.stdin, site.uncertain)
        settings = tuple(
            invoke.setting(a.name, v) for a, v in zip(node.assigns, values, strict=True) if v is not None
        )
        if not args:
            notable = tuple(w for w in settings if _notable(w.text.partition("=")[0]))
            if redirects or notable:
                self.emit(Invocation("", (), full.redirects, full.via, env=notable))
            invoke.settings_code(self, notable, full)
            return
        start = len(self.found)
        invoke.dispatch(self, args, full)
        if settings:
            self.found[start] = self.found[start]._replace(env=settings + self.found[start].env)
            invoke.settings_code(self, settings, full)
        self.track_env(args, env, site.uncertain)

    def note_arithmetic(
        self, node: Simple, values: Sequence[Arg | None], args: Sequence[Arg], expander: Expander
    ) -> None:
        """Record a value with a command substitution's text, and whether the command evaluates anything as arithmetic."""
        for value in values:
            if value is not None and value.static and _LATE_EXPANSION.search(value.text):
                self.late_text = value
        if self.arithmetic:
            return
        head = args[0].text if args and args[0].static else ""
        self.arithmetic = (
            expander.arithmetic
            or any(assign.subscript for assign in node.assigns)
            or head == "let"
            or (
                head in _DECLARES
                and any(arg.static and _ARITHMETIC_OPTION.match(arg.text) for arg in args[1:])
            )
        )

    def track_env(self, args: Sequence[Arg], env: Env, uncertain: bool) -> None:
        """Builtins that set variables make them known (``export X=1``) or unknown (``read X``)."""
        head = args[0]
        if not head.static:
            return
        if head.text in _ENV_OPAQUE:
            env.opaque = True
            return
        if head.text not in _ENV_SETTERS and head.text not in _ENV_CLOBBERS:
            return
        for arg in args[1:]:
            if not arg.static:
                env.opaque = True
                continue
            name, eq, value = arg.text.partition("=")
            if name.isidentifier():
                known = head.text in _ENV_SETTERS and eq and not uncertain
                env.assign(name, value if known else None)

    # --- words and redirections -------------------------------------------------------

    def expander(self, site: Site, env: Env) -> Expander:
        return Expander(env, lambda body: self.substitution(body, site, env), self.budget)

    def substitution(self, body: Script, site: Site, env: Env) -> frozenset[str]:
        """Analyze the body of ``$(...)`` / ``<(...)``; the programs it runs."""
        self.budget.spend(SUBSTITUTION_STEPS)
        start = len(self.found)
        self.script(body, Site(site.via, (), site.stdin, True), env)
        return self.programs_since(start)

    def redirects(
        self, redirects: tuple[Redirect, ...], expander: Expander, own: bool = False
    ) -> tuple[tuple[Redir, ...], Stdin | None]:
        """The redirections as the program sees them; ``own``: a simple command's, whose here-document or here-string
        text it alone reads (a compound command's is shared: ``while read l; do python3; done <<EOF``)."""
        if not redirects:
            return (), None
        out: list[Redir] = []
        stdin: Stdin | None = None
        for redirect in redirects:
            reads_stdin = redirect.fd in (None, 0)
            if redirect.heredoc is not None or redirect.op == "<<<":
                word = redirect.heredoc.body if redirect.heredoc is not None else redirect.target
                arg = expander.joined(word or Word(()))
                code = _passed_unchanged(word, arg) if own and reads_stdin else None
                out.append(Redir(redirect.op, redirect.fd, None, arg.secret, code))
                if reads_stdin:
                    text = arg.text if redirect.heredoc is not None else arg.text + "\n"
                    stdin = Stdin(text=text) if arg.static else Stdin(arg.sources, dynamic=True)
                continue
            target = expander.joined(redirect.target or Word(()))
            duplicate = (
                redirect.op in ("<&", ">&")
                and target.static
                and (target.text.isdigit() or target.text == "-")
            )
            out.append(Redir(redirect.op, redirect.fd, None if duplicate else target))
            if reads_stdin and redirect.op in ("<", "<>"):
                stdin = self.file_stdin(target)
            elif reads_stdin and redirect.op == "<&" and not duplicate:
                stdin = Stdin(target.sources, dynamic=True)
        return tuple(out), stdin

    def file_stdin(self, target: Arg) -> Stdin:
        if target.procsub:
            return Stdin(target.sources, dynamic=True)
        if target.static:
            path = norm_path(target.text)
            return Stdin(self.written.get(path, frozenset()), file=path)
        return Stdin()

    # --- nested code ----------------------------------------------------------------------

    def code(self, arg: Arg | None, site: Site) -> tuple[str | None, frozenset[str]]:
        """Analyze shell code given as a word (``sh -c WORD``); report why it is unknowable, and from where."""
        if arg is None:
            return None, frozenset()
        if arg.kind is Kind.PLACEHOLDER:
            return "runs code taken from its input", arg.sources
        if not arg.static:
            if arg.prefix.strip() and not arg.sources:
                return "runs code whose fixed text has parts filled in at run time", arg.sources
            return "runs code built at run time", arg.sources
        self.nested_code(arg.text, site)
        return None, frozenset()

    def nested_code(self, text: str, site: Site) -> None:
        if self.code_depth >= MAX_CODE_DEPTH:
            raise Unknowable("shell code nested too deeply")
        self.budget.spend(NESTED_CODE_STEPS)
        try:
            script = parse(text, budget=self.budget)
        except TooComplex:
            raise  # the whole analysis is over, not just this piece of code
        except ParseError as exc:
            raise Unknowable(f"nested shell code does not parse: {exc}") from None
        self.code_depth += 1
        try:
            self.script(script, Site(site.via, (), site.stdin, True), Env())
        finally:
            self.code_depth -= 1

    def foreign_code(self, arg: Arg | None, language: str, site: Site) -> tuple[str | None, frozenset[str]]:
        """Code of a non-shell interpreter: the shell commands it embeds are analyzed; it must not come from run time."""
        if arg is None:
            return None, frozenset()
        if not arg.static:
            return "runs code built at run time", arg.sources
        found = embedded(arg.text, language, self.budget)
        self.fork_bomb = self.fork_bomb or found.fork_bomb
        for command in found.commands:
            # a literal that is not a whole command line (a fragment) is skipped
            with contextlib.suppress(Unknowable):
                self.nested_code(command, site)
        return ("decodes or generates code and runs it" if found.hidden else None), frozenset()

    def stdin_code(
        self, stdin: Stdin | None, shell: bool, site: Site, language: str = "sh"
    ) -> tuple[str | None, frozenset[str]]:
        """Code an interpreter reads from its standard input."""
        if stdin is None:
            return None, frozenset()
        if stdin.text is not None:
            if shell:
                self.nested_code(stdin.text, Site(site.via, (), None, True))
                return None, frozenset()
            return self.foreign_code(Arg.of(stdin.text), language, Site(site.via, (), None, True))
        if stdin.dynamic:
            return "reads code from a pipe or another run-time source", stdin.sources
        return None, stdin.sources

    # --- files ------------------------------------------------------------------------------

    def track_writes(self, invocation: Invocation, stdin: Stdin | None) -> None:
        """Remember which files this invocation writes, and whose output goes into them."""
        if not invocation.redirects and invocation.program != "tee" and invocation.program not in DOWNLOADERS:
            return
        producers = frozenset({invocation.program or ""}) | (stdin.sources if stdin else frozenset())
        for redirect in invocation.redirects:
            target = redirect.target
            if redirect.writes and target is not None and target.static and redirect.fd in (None, 1):
                self.written[norm_path(target.text)] = producers
        if invocation.program == "tee":
            for operand in invocation.options.operands:
                if operand.static:
                    self.written[norm_path(operand.text)] = producers
        if invocation.program in DOWNLOADERS:
            for path in invoke.downloaded_files(invocation):
                self.written[norm_path(path)] = frozenset({invocation.program})


def _passed_unchanged(word: Word | None, arg: Arg) -> str | None:
    """The text of a here-document or here-string exactly as the program reads it: static and with no expansion at all
    (a quoted delimiter, or a body without ``$``/backquotes; an expanded ``$HOME`` is only a guess at the text), and not
    starting with a ``~`` the shell may replace; else ``None``."""
    if word is None or word.literal is None or not arg.static:
        return None
    first = word.parts[0] if word.parts else None
    if isinstance(first, Lit) and not first.quoted and first.text.startswith("~"):
        return None
    return arg.text


def _echoed(found: list[Invocation], via: tuple[str, ...]) -> str | None:
    """What a pipeline stage that is one ``echo`` of literal words writes, or ``None``: not with an option or a backslash
    (``echo -e``, and ``sh``'s ``echo`` without it, turn a backslash and ``n`` into a new line)."""
    if len(found) != 1:
        return None
    inv = found[0]
    if inv.program != "echo" or inv.via != via or inv.redirects or not inv.args:
        return None
    if inv.args[0].text.startswith("-") or not all(a.static and "\\" not in a.text for a in inv.args):
        return None
    return " ".join(a.text for a in inv.args) + "\n"


def _notable(name: str) -> bool:
    """A variable whose value changes what programs run later do (``PAGER``, ``LD_PRELOAD``), even set without a command."""
    return name in CODE_VARIABLES or variable_reason(name) is not None


def analyze_script(text: str, sketch: Sketch | None = None, budget: Budget | None = None) -> Analysis:
    """Analyze a command line (shell syntax). ``sketch``: :func:`sketch_text` of it, when already made.

    ``budget``: what the analysis may spend (a whole one if not given); what is left of it shows what it cost.
    """
    if not shortcuts.ENABLED:
        sketch = _NO_SKETCH  # the full route: the lexer and the parser, nothing built from split words
    elif sketch is None:
        sketch = sketch_text(text)
    if budget is None:
        budget = Budget()
    if sketch.keys is not None and sketch.cost <= budget.left:
        budget.spend(sketch.cost)  # no more than the analyzer would
        built = sketch.analysis()
        if built is not None:
            return built
    chains = sketch.chains
    analyzer = Analyzer(budget)
    try:
        if chains is not None:  # fast path, equivalent to parsing such text (property-tested)
            analyzer.plain(chains)
        else:
            # split_plain said no
            analyzer.script(parse(text, budget=analyzer.budget, plain=False), Site(), Env())
    except (ParseError, Unknowable) as exc:
        return Analysis(error=str(exc))
    except RecursionError:
        return Analysis(error="command nested too deeply")
    return analyzer.result()


def analyze_argv(argv: Sequence[str], budget: Budget | None = None) -> Analysis:
    """Analyze an argument vector (no shell parsing of its words; ``sh -c`` code is still parsed)."""
    if not argv:
        return Analysis()
    analyzer = Analyzer(budget)
    try:
        analyzer.budget.spend(len(argv))
        invoke.dispatch(analyzer, [Arg.of(word) for word in argv], Site())
    except (TooComplex, Unknowable) as exc:
        return Analysis(error=str(exc))
    except RecursionError:
        return Analysis(error="command nested too deeply")
    return analyzer.result()
