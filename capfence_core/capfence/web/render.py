"""Templates: a Jinja2 environment that escapes everything, and the filters the pages use.

Autoescaping is on for every template (not only ``.html``): agent ids,
tool names, payloads and reasons come from callers and are always shown as
text. Nothing in the templates uses ``|safe``; the only markup inserted is the
chart, which escapes its own labels (:mod:`capfence.web.chart`).
"""

from __future__ import annotations

import json
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from capfence.call.decision import ACTIONS

PREVIEW_CHARS = 240
LABELS = {"allow": "allow", "warn": "WARN", "deny": "DENY", "require_approval": "APPROVAL"}


def pretty(text: object) -> str:
    """A stored payload as indented JSON when it parses, else the text as stored."""
    if text is None:
        return ""
    try:
        return json.dumps(json.loads(str(text)), indent=2, ensure_ascii=False)
    except ValueError:
        return str(text)


def preview(text: object) -> str:
    value = "" if text is None else str(text)
    return value if len(value) <= PREVIEW_CHARS else value[:PREVIEW_CHARS] + "…"


def stamp(value: object) -> str:
    """``2026-01-31T12:00:00.123456+00:00`` -> ``2026-01-31 12:00:00.123 UTC``."""
    text = "" if value is None else str(value)
    if len(text) < 19:
        return text
    return text[: 23 if text[19:20] == "." else 19].replace("T", " ") + " UTC"


def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("capfence.web", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        pretty=pretty, preview=preview, stamp=stamp, label=lambda d: LABELS.get(str(d), str(d or "-"))
    )
    env.globals.update(ACTIONS=ACTIONS, PREVIEW_CHARS=PREVIEW_CHARS)
    return env


def render(env: Environment, name: str, **context: Any) -> str:
    return env.get_template(name).render(**context)
