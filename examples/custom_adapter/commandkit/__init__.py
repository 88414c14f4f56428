"""commandkit: a tiny, made-up agent tool framework (it stands in for a framework CapFence does not ship).

A :class:`Command` is what a model can call: a name, a description, a
parameter spec and a handler. ``execute(**kwargs)`` runs it and returns a
:class:`Result`; ``aexecute`` is the async twin (it runs ``execute`` in a
worker thread). Failures are results, not exceptions: the :class:`Runner`
(commandkit's "agent loop") hands every result back to the model and carries on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any


@dataclass
class Result:
    """What a command returns: its output, or an error the model can read."""

    ok: bool
    output: Any = None
    error: str | None = None


class Command:
    """One callable command."""

    def __init__(
        self, name: str, description: str, params: dict[str, str], handler: Callable[..., Any]
    ) -> None:
        self.name = name
        self.description = description
        self.params = params
        self.handler = handler

    def spec(self) -> dict[str, Any]:
        """What the model is shown."""
        return {"name": self.name, "description": self.description, "params": dict(self.params)}

    def execute(self, **kwargs: Any) -> Result:
        try:
            return Result(ok=True, output=self.handler(**kwargs))
        except Exception as exc:  # commandkit reports failures as results
            return Result(ok=False, error=f"{type(exc).__name__}: {exc}")

    async def aexecute(self, **kwargs: Any) -> Result:
        return await asyncio.to_thread(self.execute, **kwargs)


class Runner:
    """commandkit's agent loop, reduced to its core: run each requested call, collect every result."""

    def __init__(self, commands: Iterable[Command]) -> None:
        self.commands = {c.name: c for c in commands}

    def run(self, calls: Iterable[tuple[str, dict[str, Any]]]) -> list[Result]:
        return [self._one(name, args) for name, args in calls]

    def _one(self, name: str, args: dict[str, Any]) -> Result:
        command = self.commands.get(name)
        return command.execute(**args) if command else Result(ok=False, error=f"no command named {name!r}")
