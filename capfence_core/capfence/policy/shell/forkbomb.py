"""Recognizing fork bombs: code that multiplies processes without bound.

* A function that calls itself in the background or in a pipeline
  (``:(){ :|:& };:``, ``bomb(){ bomb & bomb; }``): every call starts at least
  one more process that does the same.
* An endless loop (``while true``, ``while :``, ``until false``) whose body
  only starts background jobs, so nothing throttles it.

And, held rather than denied, a ``for`` loop starting a background job for each
item, and an endless loop that never pauses nor leaves
(no ``sleep``, ``read``, ``wait``, ``break``, ``exit``...): it runs flat out
until killed (``while :; do echo x >> log; done`` fills the disk,
``while true; do mkdir x; cd x; done`` the file system).
"""

from __future__ import annotations

from collections.abc import Iterator

from capfence.policy.shell.ast import Case, Command, For, FunctionDef, Group, If, Loop, Script, Simple

_ALWAYS = {"while": frozenset({"true", ":"}), "until": frozenset({"false"})}


def is_fork_bomb_function(node: FunctionDef) -> bool:
    return any(_self_calls(node.body, frozenset({node.name}), spawning=False))


def is_fork_bomb_loop(node: Loop) -> bool:
    if not _is_constant(node.condition, _ALWAYS[node.kind]):
        return False
    items = node.body.items
    return bool(items) and all(item.background for item in items)


SPAWNING_LOOP = "for"
"""The program of the invocation recorded for a ``for`` loop starting background jobs (:func:`is_spawning_loop`)."""
BUSY_LOOP = "while"
"""The program of the invocation the analysis records for a busy loop, judged by the catalogue's judgement."""
_PAUSES = frozenset(
    {"sleep", "wait", "read", "break", "exit", "return", "inotifywait", "select", "timeout", "usleep", "kill"}
)
"""What makes an endless loop wait or end (``timeout`` and ``kill`` end something the loop waits for)."""


def is_busy_loop(node: Loop) -> bool:
    """An endless loop whose body never waits nor leaves."""
    return (
        _is_constant(node.condition, _ALWAYS[node.kind])
        and next(_script_calls(node.body, _PAUSES, False), None) is None
    )


def is_spawning_loop(node: For) -> bool:
    """A ``for`` loop that starts a background job for each item (``for i in $(seq 100000); do sleep 1000 & done``):
    as many processes at once as items, which nothing bounds."""
    return any(item.background for item in node.body.items)


def _is_constant(script: Script, words: frozenset[str]) -> bool:
    if len(script.items) != 1 or script.items[0].rest:
        return False
    commands = script.items[0].first.commands
    if len(commands) != 1 or not isinstance(commands[0], Simple):
        return False
    simple = commands[0]
    return len(simple.words) == 1 and simple.words[0].literal in words


def _self_calls(node: Command, names: frozenset[str], spawning: bool) -> Iterator[bool]:
    """For each call of one of ``names`` inside ``node``: whether it starts a new process (background, pipeline)."""
    if isinstance(node, Simple):
        if node.words and node.words[0].literal in names:
            yield spawning
    elif isinstance(node, Group):
        yield from _script_calls(node.body, names, spawning)
    elif isinstance(node, If):
        for condition, body in node.clauses:
            yield from _script_calls(condition, names, spawning)
            yield from _script_calls(body, names, spawning)
        if node.otherwise is not None:
            yield from _script_calls(node.otherwise, names, spawning)
    elif isinstance(node, Loop):
        yield from _script_calls(node.condition, names, spawning)
        yield from _script_calls(node.body, names, spawning)
    elif isinstance(node, For):
        yield from _script_calls(node.body, names, spawning)
    elif isinstance(node, Case):
        for _, body in node.items:
            yield from _script_calls(body, names, spawning)


def _script_calls(script: Script, names: frozenset[str], spawning: bool) -> Iterator[bool]:
    for item in script.items:
        for pipeline in (item.first, *(p for _, p in item.rest)):
            piped = len(pipeline.commands) > 1
            for command in pipeline.commands:
                yield from _self_calls(command, names, spawning or item.background or piped)
