"""A closed pipe (``capfence logs --format jsonl | head -1``) ends the command quietly with status 0, like other Unix tools."""

from __future__ import annotations

import os
import sys
from typing import NoReturn


def quiet_broken_pipe() -> NoReturn:
    """The reader went away: drop what is still buffered (standard output now goes to /dev/null) and exit 0."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    sys.exit(0)
