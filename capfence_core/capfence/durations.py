"""Durations written as ``90``, ``"30s"``, ``"15m"``, ``"1h"``, ``"2d"``, ``"1w"``."""

from __future__ import annotations

import re

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")


def parse_duration(value: object) -> float:
    """Seconds in ``value``; raises ``ValueError`` with an example on bad input."""
    if isinstance(value, bool):
        raise ValueError("a duration must be a number of seconds or a string like '15m'")
    if isinstance(value, int | float):
        if value <= 0:
            raise ValueError("a duration must be positive")
        return float(value)
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            seconds = float(match.group(1)) * _UNITS[match.group(2) or "s"]
            if seconds > 0:
                return seconds
    raise ValueError(f"invalid duration {value!r}: use seconds or a number with s, m, h, d or w, e.g. '15m'")
