"""Glob patterns for names (capabilities, agents, tools) and for paths."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable

from capfence.policy.spec import SpecError

_NAME_CHARS = re.compile(r"^[A-Za-z0-9_.:/@*?\[\]!\-]+$")
GLOB_CHARS = frozenset("*?[")


def is_glob(pattern: str) -> bool:
    return any(ch in GLOB_CHARS for ch in pattern)


def check_name_glob(pattern: object, what: str) -> str:
    """Validate a capability/agent/tool pattern; return it."""
    if not isinstance(pattern, str):
        raise SpecError(f"{what} must be a string, got {type(pattern).__name__}", hint='e.g. "shell.*"')
    if not pattern:
        raise SpecError(f"{what} must not be empty")
    if not _NAME_CHARS.match(pattern):
        raise SpecError(
            f"{what} {pattern!r} contains characters a name cannot have",
            hint="use letters, digits, . _ - : / and glob wildcards * ? [ ]",
        )
    depth = 0
    for ch in pattern:
        depth += ch == "["
        depth -= ch == "]" and depth > 0
    if depth:
        raise SpecError(
            f"bad glob {pattern!r}: unclosed '['", hint="close the character class, e.g. shell.[ab]*"
        )
    return pattern


def name_matcher(pattern: str) -> Callable[[str], bool]:
    """Exact comparison for plain names, a compiled regex for globs (case-sensitive)."""
    if not is_glob(pattern):
        return pattern.__eq__
    regex = re.compile(fnmatch.translate(pattern))
    return lambda name: regex.match(name) is not None


def path_glob_regex(pattern: str, *, case_sensitive: bool = True) -> re.Pattern[str]:
    """``**`` crosses directories, ``*`` and ``?`` do not, ``[..]`` is a class."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:[^/]*/)*")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if ch == "*":
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                raise SpecError(f"bad glob {pattern!r}: unclosed '['")
            body = pattern[i + 1 : end].replace("\\", "\\\\")
            out.append("[^" + body[1:] + "]" if body.startswith("!") else "[" + body + "]")
            i = end
        else:
            out.append(re.escape(ch))
        i += 1
    return re.compile("".join(out) + r"\Z", 0 if case_sensitive else re.IGNORECASE)
