"""Tools that take the workflow ``Context``.

No ``from __future__ import annotations`` here on purpose: LlamaIndex finds the
context parameter by comparing the *evaluated* annotation with ``Context``, so
a string annotation would hide it.
"""

from collections.abc import Callable
from pathlib import Path

from llama_index.core.workflow import Context, HumanResponseEvent, InputRequiredEvent


def remember_tool(workdir: Path) -> Callable[..., object]:
    async def remember(ctx: Context, note: str) -> str:
        """Remember a note in the workflow state."""
        await ctx.store.set("note", note)
        (workdir / "remembered").write_text(note)
        return f"remembered {note}"

    return remember


def confirm_write_tool(workdir: Path) -> Callable[..., object]:
    async def confirm_write(ctx: Context, name: str) -> str:
        """Write a file once a human confirms."""
        answer = await ctx.wait_for_event(
            HumanResponseEvent,
            waiter_id=f"confirm:{name}",
            waiter_event=InputRequiredEvent(prefix=f"write {name}?"),
        )
        if answer.response == "yes":
            (workdir / name).write_text("confirmed")
        return f"human said {answer.response}"

    return confirm_write


def probe_with_context(body: Callable[..., str]) -> Callable[..., str]:
    def probe(ctx: Context, command: str) -> str:
        """Probe tool."""
        return body(command=command)

    return probe
