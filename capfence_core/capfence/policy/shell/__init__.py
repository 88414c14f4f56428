"""The command-aware shell matcher: the ``command:`` policy condition.

A command (string or argv list) is parsed the way a POSIX shell would
(:mod:`.parser`, :mod:`.lexer`), expanded as far as possible without running
anything (:mod:`.expand`), and analyzed into the list of programs it would
start (:mod:`.analyzer`, :mod:`.invoke`): wrappers peeled, nested code
(``sh -c``, ``$(...)``, ``eval``, ``find -exec``) followed, run-time-only
parts marked *dynamic*. Rules then match those programs
(:mod:`.compiler`). See ``docs/shell-matcher.md``.
"""

from __future__ import annotations

from capfence.policy.shell.cache import analysis_of_argv, analysis_of_text
from capfence.policy.shell.compiler import EXAMPLE, compile_command
from capfence.policy.shell.lexer import ParseError
from capfence.policy.shell.model import Analysis, Arg, Invocation, Kind
from capfence.policy.shell.parser import parse
from capfence.policy.spec import ConditionType

__all__ = [
    "CONDITION",
    "Analysis",
    "Arg",
    "Invocation",
    "Kind",
    "ParseError",
    "analysis_of_argv",
    "analysis_of_text",
    "parse",
]

CONDITION = ConditionType(
    key="command",
    compile=compile_command,
    doc="shell-aware: parses the command like a shell, peels wrappers (sudo, env, xargs...), matches program, flags "
    "however spelled, subcommand, args, redirect_to, code_from, via, dynamic, fork_bomb, unparseable, known (the catalogue "
    "of known-safe programs), definite",
    example=EXAMPLE,
)
