"""Read a YAML policy file into plain data, remembering where every key came from.

PyYAML's ``safe_load`` forgets line numbers and silently keeps the last of two
duplicate keys (a second ``deny:`` would drop the first one's rules). We
compose the node tree ourselves so every value keeps its position and
duplicates are errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from capfence.errors import PolicyProblem

KeyPath = tuple[str | int, ...]


class PolicyFiles(Protocol):
    """Where the loader reads policy files: the disk, or a snapshot the hot-reload watcher took."""

    def is_file(self, path: Path) -> bool:
        """Whether ``path`` is a policy file that can be read."""
        ...

    def read_bytes(self, path: Path) -> bytes:
        """The file's content; raises :class:`OSError` when it cannot be read."""
        ...


class DiskFiles:
    """:class:`PolicyFiles` straight from the file system."""

    def is_file(self, path: Path) -> bool:
        return path.is_file()

    def read_bytes(self, path: Path) -> bytes:
        return path.read_bytes()


DISK = DiskFiles()


def format_key(path: KeyPath) -> str:
    """``("deny", 0, "contains")`` -> ``deny[0].contains``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


@dataclass
class Source:
    """A parsed policy file: its data and the position of every node."""

    path: Path
    text: str
    data: object
    marks: dict[KeyPath, tuple[int, int]] = field(default_factory=dict)
    problems: list[PolicyProblem] = field(default_factory=list)

    def where(self, key: KeyPath) -> tuple[int | None, int | None]:
        """1-based line and column of ``key``, or of its nearest located parent."""
        while True:
            if key in self.marks:
                return self.marks[key]
            if not key:
                return None, None
            key = key[:-1]

    def problem(self, key: KeyPath, message: str, hint: str | None = None) -> PolicyProblem:
        line, column = self.where(key)
        found = PolicyProblem(str(self.path), line, column, format_key(key), message, hint)
        self.problems.append(found)
        return found


class _Builder:
    def __init__(self, source: Source) -> None:
        self.source = source
        self.scalars = SafeConstructor()

    def build(self, node: Node, path: KeyPath) -> object:
        self.source.marks[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, MappingNode):
            return self._mapping(node, path)
        if isinstance(node, SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        if isinstance(node, ScalarNode):
            return self.scalars.construct_object(node, deep=True)
        raise ValueError(f"unsupported YAML node {type(node).__name__}")

    def _mapping(self, node: MappingNode, path: KeyPath) -> dict[object, object]:
        self.scalars.flatten_mapping(node)
        out: dict[object, object] = {}
        for key_node, value_node in node.value:
            key = self.scalars.construct_object(key_node, deep=True)
            if not isinstance(key, str | int | float | bool) and key is not None:
                self.source.marks[(*path, str(key))] = (key_node.start_mark.line + 1, 1)
                self.source.problem((*path, str(key)), "keys must be plain scalars")
                continue
            child = (*path, key if isinstance(key, str) else str(key))
            if key in out:
                self.source.marks[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
                self.source.problem(child, "duplicate key (YAML would silently keep only the last one)")
                continue
            out[key] = self.build(value_node, child)
            self.source.marks[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
        return out


def read_source(path: Path, files: PolicyFiles = DISK) -> Source:
    """Parse ``path`` as ``files`` holds it. Syntax errors become problems on the returned source."""
    source = Source(path=path, text="", data=None)
    try:
        source.text = files.read_bytes(path).decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
    except (OSError, UnicodeDecodeError) as exc:
        source.problem((), f"cannot read policy file: {exc}")
        return source
    try:
        node = yaml.compose(source.text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        column = mark.column + 1 if mark else None
        text = " ".join(str(x) for x in (exc.context, exc.problem) if x)
        source.problems.append(PolicyProblem(str(path), line, column, "", f"invalid YAML: {text}"))
        return source
    except yaml.YAMLError as exc:
        source.problem((), f"invalid YAML: {exc}")
        return source
    if node is None:
        source.data = {}
        return source
    try:
        source.data = _Builder(source).build(node, ())
    except yaml.YAMLError as exc:
        source.problem((), f"invalid YAML value: {exc}")
    return source
