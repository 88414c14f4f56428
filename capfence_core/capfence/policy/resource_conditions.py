"""The ``reads:``, ``writes:`` and ``hosts:`` conditions: rules on what a call touches, whatever the tool.

```yaml
deny:
  - capability: "*"
    reads: ["**/.env", "~/.ssh/**"]       # file tools, cat/grep/cp/source/< .env, tar of ~/.ssh ...
  - capability: "*"
    hosts: ["*.internal", "169.254.169.254"]   # HTTP tools and curl/wget/ssh/scp/git in the shell
```

What a call touches is computed by :mod:`capfence.policy.resources`. In deny, require_approval and warn rules the
condition holds when *some* resource of the kind matches a pattern, and also when some cannot be known (``cat $F``,
``python x.py``): ``None``, which the evaluator counts as a match there. In allow rules *every* resource of the kind
must match and an unknown one is no match, so an allow rule never lets through what it cannot see.

File patterns are path globs (``**`` crosses directories) over the normalized absolute path (``~`` expanded, relative
paths joined to the working directory); they must start with ``/``, ``~`` or ``**``. A directory read or written with
everything below it (``tar c``, ``cp -r``, ``grep -r``, ``rg``) matches a pattern whose fixed part lies below it, and
counts as unknown for a pattern that could lie anywhere below it (``**/.env``). Host patterns are those of ``url.host``.
"""

from __future__ import annotations

import fnmatch
import os
import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass

from capfence.call.view import CallView
from capfence.policy.conditions import combine, string_list
from capfence.policy.paths import is_under, normalize_path
from capfence.policy.patterns import GLOB_CHARS, path_glob_regex
from capfence.policy.resources import touched
from capfence.policy.shell.resources import File, Touched
from capfence.policy.spec import CompileContext, Condition, ConditionType, SpecError

Tri = bool | None


@dataclass(frozen=True)
class _Pattern:
    regex: re.Pattern[str]
    fixed: str | None
    """The directory before the first wildcard (``/home/u/.ssh`` for ``~/.ssh/*``); ``None`` for ``**/...``."""
    last: str
    """The last component as written (``.env``)."""

    def file(self, file: File, cwd: str | None, dotglob: bool = False) -> Tri:
        if file.path is None:
            return None
        path = normalize_path(file.path, cwd=cwd)
        if path is None:
            return None
        if file.pattern:
            return self._pattern(path, dotglob)
        if self.regex.match(path):
            return True
        return self._tree(path) if file.tree else False

    def _tree(self, directory: str) -> Tri:
        if self.fixed is None:
            return None  # anything below it could match
        if is_under(self.fixed, directory):
            return True
        return None if is_under(directory, self.fixed) else False

    def _pattern(self, path: str, dotglob: bool) -> Tri:
        """A shell pattern (``src/*.py``): no match if the names it can stand for cannot match, else unknown."""
        if self.regex.match(path):
            return True  # every name it can stand for matches too (``src/*.py`` under ``/srv/app/**``)
        head, _, tail = path.rpartition("/")
        if not any(ch in GLOB_CHARS for ch in tail) or any(ch in GLOB_CHARS for ch in head):
            return None
        if not any(ch in GLOB_CHARS for ch in self.last) and not fnmatch.fnmatchcase(self.last, tail):
            return False  # (and a shell * does not match a leading dot)
        if self.last.startswith(".") and not tail.startswith(".") and not dotglob:
            return False
        return (
            None
            if self.fixed is None or is_under(head or "/", self.fixed) or is_under(self.fixed, head or "/")
            else False
        )


def _compile_pattern(raw: str, key: str) -> _Pattern:
    text = os.path.expanduser(raw.strip())
    if not text.startswith(("/", "**")):
        raise SpecError(
            f"{key} pattern {raw!r} must start with /, ~ or **",
            hint=f'write "**/{raw.lstrip("./")}" for that name in any directory',
        )
    parts = text.split("/")
    fixed_parts = []
    for part in parts[:-1]:
        if any(ch in GLOB_CHARS for ch in part):
            break
        fixed_parts.append(part)
    fixed = None if text.startswith("**") else (posixpath.normpath("/".join(fixed_parts) or "/"))
    try:
        return _Pattern(path_glob_regex(text), fixed, parts[-1])
    except SpecError as exc:
        raise SpecError(exc.message, hint='e.g. "~/.ssh/**"') from None


def _cwd(view: CallView) -> str | None:
    for key in ("cwd", "working_dir", "workdir", "working_directory"):
        value = view.payload.get(key) if hasattr(view.payload, "get") else None
        if isinstance(value, str) and value.startswith("/"):
            return value
    return None


def _bases(found: Touched, cwd: str | None) -> list[str | None]:
    """The directories a relative path of the call may be relative to: the working directory and every ``cd`` target."""
    bases: list[str | None] = [cwd]
    for target in found.bases:
        bases += [normalize_path(target, cwd=base) for base in list(bases)]
    return list(dict.fromkeys(bases))


def _one_file(patterns: list[_Pattern], file: File, found: Touched, cwd: str | None, every: bool) -> Tri:
    """Does ``file`` match one of ``patterns``? A relative path, wherever a ``cd`` may have put it."""
    relative = file.path is not None and not file.path.startswith(("/", "~"))
    if relative and found.moved is not None:
        return None
    if not relative or not found.bases:
        return _any(p.file(file, cwd, found.dotglob) for p in patterns)
    return combine(
        [_any(p.file(file, base, found.dotglob) for p in patterns) for base in _bases(found, cwd)],
        every=every,
    )


def _files(kind: str) -> Callable[[object, CompileContext], Condition]:
    def compile_files(value: object, context: CompileContext) -> Condition:
        patterns = [_compile_pattern(p, kind) for p in string_list(value, kind, '["**/.env", "~/.ssh/**"]')]
        every = context.section == "allow"

        def files(view: CallView) -> Tri:
            found = touched(view)
            cwd = _cwd(view)
            results: list[Tri] = [_one_file(patterns, f, found, cwd, every) for f in getattr(found, kind)]
            if kind in found.unknown:
                results.append(None)
            return combine(results, every=every)

        def explain(view: CallView) -> str | None:
            found, cwd = touched(view), _cwd(view)
            hit = next(
                (f.path for f in getattr(found, kind) if _one_file(patterns, f, found, cwd, False)), None
            )
            return f"it {_VERBS[kind]} {hit}" if hit is not None else _why(view, kind)

        files.explain = explain  # type: ignore[attr-defined]
        return files

    return compile_files


def _any(results: object) -> Tri:
    unknown = False
    for result in results:  # type: ignore[attr-defined]
        if result is True:
            return True
        unknown = unknown or result is None
    return None if unknown else False


_VERBS = {"reads": "reads", "writes": "writes", "hosts": "contacts"}


def _why(view: CallView, kind: str) -> str | None:
    found = touched(view).unknown.get(kind)
    return f"what it {_VERBS[kind]} cannot be known ({found})" if found else None


def _compile_hosts(value: object, context: CompileContext) -> Condition:
    from capfence.policy.url import host_patterns, parse_url

    patterns = host_patterns(value, "hosts")
    every = context.section == "allow"

    def one(raw: str | None) -> Tri:
        if raw is None:
            return None
        url = parse_url(raw if "://" in raw else f"http://{raw}")
        if url is None or url.host is None:
            return None
        return any(p.matches(url) for p in patterns)

    def hosts(view: CallView) -> Tri:
        found = touched(view)
        results = [one(raw) for raw in found.hosts]
        if "hosts" in found.unknown:
            results.append(None)
        return combine(results, every=every)

    def explain(view: CallView) -> str | None:
        hit = next((raw for raw in touched(view).hosts if one(raw)), None)
        return f"it contacts {hit}" if hit is not None else _why(view, "hosts")

    hosts.explain = explain  # type: ignore[attr-defined]
    return hosts


CONDITIONS: tuple[ConditionType, ...] = (
    ConditionType(
        "reads",
        _files("reads"),
        "path globs (any of) on the files the call reads: file tools' paths, and in shell commands "
        "redirections, known programs' file operands, source",
        'reads: ["**/.env", "~/.ssh/**"]',
    ),
    ConditionType(
        "writes",
        _files("writes"),
        "path globs (any of) on the files the call writes: file tools' paths, and in shell "
        "commands redirections, known programs' output operands",
        'writes: ["/etc/**", "~/.bashrc"]',
    ),
    ConditionType(
        "hosts",
        _compile_hosts,
        "host patterns (any of) on the hosts the call contacts: HTTP tools' URLs, and curl, wget, "
        "ssh, scp, rsync, git in shell commands",
        'hosts: ["*.internal", "10.0.0.0/8"]',
    ),
)
