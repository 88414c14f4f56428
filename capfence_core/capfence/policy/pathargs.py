"""Which paths a call names, for the ``path:`` condition.

Paths are read from arguments with path-like names, at any depth: the names
in :data:`PATH_FIELDS` and every name whose last word is one of
:data:`PATH_WORDS` (``config_path``, ``logFile``, ``output-dir``), or only the
names in a rule's ``field``; names are compared by
:func:`~capfence.call.view.fold_key`. A value is read the way a tool could
read it:

* a string, bytes or ``os.PathLike`` is a path;
* a list, tuple or set holds paths, nested to any depth (``[["/etc/passwd"]]``);
* a mapping (or dataclass, pydantic model) that has path-named keys of its own
  is an entry such as ``{"path": ..., "content": ...}``: those keys are found by
  name, its other keys are attributes. Any other mapping is read both ways a
  tool might: its keys are paths (``{"/srv/a.txt": "text"}``) and its
  single-line string values are paths (``{"main": "/etc/passwd"}``);
* numbers, booleans and ``None`` are no path;
* anything else (an opaque object) is judged by its text, as ``contains`` judges it.

A relative path is judged against the working directory *and* against every
directory the call names in a base-directory argument (:data:`BASE_FIELDS`,
and names ending in one of :data:`BASE_WORDS`: ``cwd``, ``dir``,
``output_folder``, ...), since the tool may join it to either:
``{"directory": "/etc", "filename": "shadow"}`` names ``/etc/shadow``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Final

from capfence.call.view import MAX_DEPTH, CallView, deep_items, fold_key, object_fields, object_text, walk
from capfence.policy.paths import MAX_PATH

__all__ = [
    "BASE_FIELDS",
    "BASE_WORDS",
    "MAX_PATHS",
    "PATH_FIELDS",
    "PATH_WORDS",
    "KeyTest",
    "PathArgument",
    "path_arguments",
    "path_names",
]

BASE_FIELDS: Final = frozenset(
    {"cwd", "working_dir", "workdir", "working_directory", "work_dir", "base_dir", "basedir", "base_path", "root",
     "root_dir", "rootdir", "dir", "dirs", "dirname", "dir_name", "dir_path", "dirpath", "directory", "directories",
     "directory_path", "folder", "folders", "folder_path", "parent", "parent_dir", "target_dir", "dest_dir",
     "destination_dir", "output_dir", "source_dir", "src_dir", "base"}
)  # fmt: skip
"""Arguments naming a directory that a relative path in the same call may be joined to."""

PATH_FIELDS: Final = BASE_FIELDS | frozenset(
    {"path", "paths", "pathname", "pathnames", "path_name", "file", "files", "filename", "filenames", "file_name",
     "file_names", "file_path", "file_paths", "filepath", "filepaths", "name", "location", "dest", "dests",
     "destination", "destinations", "dest_path", "dest_file", "destination_path", "destination_file", "dst", "dst_path",
     "target", "targets", "target_path", "target_file", "src", "srcs", "src_path", "source", "sources", "source_path",
     "source_file", "from", "from_path", "to", "to_path", "old_path", "new_path", "input_path", "input_file", "infile",
     "in_file", "output_path", "output_file", "outfile", "out_file", "out_path", "save_path", "save_as", "save_to",
     "uri", "uris", "url", "urls"}
)  # fmt: skip
"""Argument names read when a rule gives no ``field`` (compared by :func:`fold_key`)."""

BASE_WORDS: Final = frozenset({"cwd", "dir", "dirs", "directory", "directories", "folder", "folders", "root"})
PATH_WORDS: Final = BASE_WORDS | frozenset(
    {"path", "paths", "pathname", "file", "files", "filename", "filenames", "filepath"}
)
"""A name whose last word (``snake_case``, ``camelCase``, ``kebab-case``) is one of these is path-like too."""

_WORDS: Final = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+")

MAX_PATHS: Final = 1000
"""More (path, base) pairs than this in one call make the condition unknown."""

PathArgument = tuple[str | None, str | None]
"""``(raw path, base directory)``: the path ``None`` when it cannot be known, the base ``None`` for the working directory."""

_NOT_PATHS = (bool, int, float, type(None))


KeyTest = Callable[[str], bool]


def path_names(fields: frozenset[str] | None) -> KeyTest:
    """The test for path-like argument names: a rule's ``field`` names, or the defaults when ``None``."""
    if fields is None:
        return _default_path_name
    folded = frozenset(map(fold_key, fields))
    return lambda key: fold_key(key) in folded


def path_arguments(view: CallView, is_path: KeyTest) -> list[PathArgument] | None:
    """Every path the call names under the argument names ``is_path`` accepts (see :func:`path_names`),
    each with the bases it may be relative to; ``None`` if there are too many."""
    raws = [raw for value in _named_values(view, is_path) for raw in _paths_in(value, is_path)]
    bases = [
        raw
        for value in _named_values(view, _base_name)
        for raw in _paths_in(value, is_path)
        if raw is not None
    ]
    found: list[PathArgument] = []
    for raw in raws:
        found.append((raw, None))
        if raw is not None and _is_relative(raw):
            found.extend((raw, base) for base in bases if base != raw)
        if len(found) > MAX_PATHS:
            return None
    return found


_FOLDED_PATH_FIELDS: Final = frozenset(map(fold_key, PATH_FIELDS))
_FOLDED_BASE_FIELDS: Final = frozenset(map(fold_key, BASE_FIELDS))


def _last_word(key: str) -> str:
    words = _WORDS.findall(key[-64:])  # no path word is longer: a huge key costs nothing
    return words[-1].lower() if words else ""


def _default_path_name(key: str) -> bool:
    return fold_key(key) in _FOLDED_PATH_FIELDS or _last_word(key) in PATH_WORDS


def _base_name(key: str) -> bool:
    return fold_key(key) in _FOLDED_BASE_FIELDS or _last_word(key) in BASE_WORDS


def _named_values(view: CallView, test: KeyTest) -> list[object]:
    """Values of every mapping key that passes ``test``, at any depth (computed once per call and test)."""
    memo_key = ("capfence.pathargs", test)
    found: list[object] | None = view.memo.get(memo_key)
    if found is None:
        found = []
        for path, node in walk(view.payload):
            if path and isinstance(path[-1], str) and test(path[-1]):
                found.append(node)
            if len(path) >= MAX_DEPTH:  # not walked further: its fields still count
                found.extend(value for key, value in deep_items(node) if isinstance(key, str) and test(key))
        view.memo[memo_key] = found
    return found


def _is_relative(raw: str) -> bool:
    text = raw.strip()
    return not text.startswith(("/", "~")) and text[:5].lower() != "file:"


def _paths_in(value: object, is_path: KeyTest) -> Iterator[str | None]:
    """The paths in one argument's value (see the module docstring); iterative, cycle-safe."""
    stack: list[tuple[object, bool]] = [(value, False)]
    seen: set[int] = set()
    while stack:
        node, as_value = stack.pop()
        if isinstance(node, str):
            if not as_value or ("\n" not in node and len(node) <= MAX_PATH):
                yield node
        elif isinstance(node, bytes | os.PathLike):
            yield _decode(node)
        elif isinstance(node, _NOT_PATHS) or id(node) in seen:
            continue
        else:
            seen.add(id(node))
            items = _items(node)
            if items is None:  # an opaque object: judged by its text, as everywhere
                yield object_text(node)
            elif isinstance(node, list | tuple | set | frozenset):
                stack.extend((item, as_value) for _, item in items)
            elif not any(isinstance(key, str) and is_path(key) for key, _ in items):
                stack.extend((key, False) for key, _ in items if isinstance(key, str))
                stack.extend((item, True) for _, item in items)


def _items(node: object) -> list[tuple[object, object]] | None:
    """``(key, value)`` pairs of a container (index keys for sequences); ``None`` for an opaque object."""
    if isinstance(node, Mapping):
        return list(node.items())
    if isinstance(node, list | tuple | set | frozenset):
        return list(enumerate(node))
    fields = object_fields(node)
    return None if fields is None else list(fields)


def _decode(node: bytes | os.PathLike[str] | os.PathLike[bytes]) -> str | None:
    try:
        return os.fsdecode(node)
    except Exception:  # noqa: BLE001 - a hostile __fspath__ makes the path unknown
        return None
