"""Recognizing fork bombs: code that multiplies processes without bound.

* A function that calls itself in the background or in a pipeline
  (``:(){ :|:& };:``, ``bomb(){ bomb & bomb; }``): every call starts at least
  one more process that does the same.
* An endless loop (``while true``, ``while :``, ``until false``) whose body
  only starts background jobs, so nothing throttles it.
"""

from __future__ import annotations

from collections.abc import Iterator

from capfence.policy.shell.ast import Case, Command, For, FunctionDef, Group, If, Loop, Script, Simple

_ALWAYS = {"while": frozenset({"true", ":"}), "until": frozenset({"false"})}


def is_fork_bomb_function(node: FunctionDef) -> bool:
    return any(_self_calls(node.body, node.name, spawning=False))


def is_fork_bomb_loop(node: Loop) -> bool:
    if not _is_constant(node.condition, _ALWAYS[node.kind]):
        return False
    items = node.body.items
    return bool(items) and all(item.background for item in items)


def _is_constant(script: Script, words: frozenset[str]) -> bool:
    if len(script.items) != 1 or script.items[0].rest:
        return False
    commands = script.items[0].first.commands
    if len(commands) != 1 or not isinstance(commands[0], Simple):
        return False
    simple = commands[0]
    return len(simple.words) == 1 and simple.words[0].literal in words


def _self_calls(node: Command, name: str, spawning: bool) -> Iterator[bool]:
    """For each call of ``name`` inside ``node``: whether it starts a new process (background, pipeline)."""
    if isinstance(node, Simple):
        if node.words and node.words[0].literal == name:
            yield spawning
    elif isinstance(node, Group):
        yield from _script_calls(node.body, name, spawning)
    elif isinstance(node, If):
        for condition, body in node.clauses:
            yield from _script_calls(condition, name, spawning)
            yield from _script_calls(body, name, spawning)
        if node.otherwise is not None:
            yield from _script_calls(node.otherwise, name, spawning)
    elif isinstance(node, Loop):
        yield from _script_calls(node.condition, name, spawning)
        yield from _script_calls(node.body, name, spawning)
    elif isinstance(node, For):
        yield from _script_calls(node.body, name, spawning)
    elif isinstance(node, Case):
        for _, body in node.items:
            yield from _script_calls(body, name, spawning)


def _script_calls(script: Script, name: str, spawning: bool) -> Iterator[bool]:
    for item in script.items:
        for pipeline in (item.first, *(p for _, p in item.rest)):
            piped = len(pipeline.commands) > 1
            for command in pipeline.commands:
                yield from _self_calls(command, name, spawning or item.background or piped)
