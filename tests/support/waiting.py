"""Waiting on a condition, never on a fixed window: poll until it holds, fail with what was awaited after a generous bound."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

PATIENCE = 60.0
"""Seconds to wait for something that takes milliseconds on an idle machine (the machine may be busy)."""


def wait_for(condition: Callable[[], T], what: str = "condition", timeout: float = PATIENCE) -> T:
    """Poll ``condition`` until it returns something truthy, and return that (sleeping a little more each time).

    Fails with ``what`` once ``timeout`` seconds have passed.
    """
    deadline = time.monotonic() + timeout
    delay = 0.01
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"gave up after {timeout} s waiting for {what}"
        time.sleep(delay)
        delay = min(delay * 2, 0.1)
