"""The context a command is analyzed in: wrappers around it, redirections, standard input."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from capfence.policy.shell.model import Redir


class Unknowable(Exception):
    """Nothing reliable can be said about the text (nested code that does not parse, absurd size)."""


@dataclass(frozen=True, slots=True)
class Stdin:
    """Where a command's standard input comes from, when it matters."""

    sources: frozenset[str] = frozenset()
    """Programs that produce it."""
    dynamic: bool = False
    """Its content is not known statically (a pipe, a process substitution)."""
    text: str | None = None
    """Its content when known (a quoted here-document, a literal here-string)."""
    file: str | None = None
    """The file it is read from (``< file``)."""
    echoed: str | None = None
    """The text piped in by a plain ``echo`` of literal words (``echo 'SELECT 1;' | sqlite3 db``): for the programs that
    judge their input as data (SQL), not for shells, which still count a pipe as code known only at run time."""


@dataclass(frozen=True, slots=True)
class Site:
    via: tuple[str, ...] = ()
    """Wrappers, launchers and shells around the command, outermost first."""
    redirects: tuple[Redir, ...] = ()
    """Redirections that apply (its own and those of enclosing compound commands)."""
    stdin: Stdin | None = None
    uncertain: bool = False
    """Inside a branch, loop, pipeline or subshell: assignments here make variables unknown."""

    def nest(self, program: str, *, stdin: Stdin | None = None) -> Site:
        """The context of a command run by ``program`` (a wrapper, launcher or shell)."""
        return Site((*self.via, program), self.redirects, stdin, self.uncertain)


def norm_path(text: str) -> str:
    """Collapse ``.``, ``..`` and repeated slashes, lexically (``./a.sh`` -> ``a.sh``)."""
    if not text:
        return text
    path = posixpath.normpath(text)
    return "/" + path.lstrip("/") if path.startswith("//") else path
