"""Page long output on a terminal the way ``git`` does.

Only when standard output is a terminal: ``$CAPFENCE_PAGER``, else ``$PAGER``,
else ``less``; an empty value or ``cat`` means no pager, and so does
``--no-pager``. ``less`` gets ``LESS=FRX`` unless ``$LESS`` is set (quit when
the output fits one screen, keep colours, leave the text on the screen), as
``git`` sets it.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import IO


def pager_command() -> list[str] | None:
    """The pager to run, or None for none (see the module's doc)."""
    value = os.environ.get("CAPFENCE_PAGER", os.environ.get("PAGER", "less"))
    words = shlex.split(value)
    return None if not words or words == ["cat"] else words


@contextmanager
def paged(enabled: bool = True) -> Iterator[IO[str]]:
    """A stream to write to: a pager's input on a terminal, else standard output.

    Quitting the pager early ends the command quietly (a closed pipe, status 0).
    """
    command = pager_command() if enabled and _isatty(sys.stdout) else None
    if command is None:
        yield sys.stdout
        return
    env = {**os.environ, "LESS": os.environ.get("LESS", "FRX"), "LV": os.environ.get("LV", "-c")}
    try:
        process = subprocess.Popen(
            command, stdin=subprocess.PIPE, env=env, text=True, encoding="utf-8", errors="replace"
        )
    except OSError:  # no such pager: print directly
        yield sys.stdout
        return
    assert process.stdin is not None
    try:
        with suppress(BrokenPipeError):  # the pager was quit before the end
            yield process.stdin
            process.stdin.close()
    finally:
        _close_quietly(process.stdin)
        process.wait()


def _close_quietly(stream: IO[str]) -> None:
    with suppress(BrokenPipeError):
        stream.close()


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
