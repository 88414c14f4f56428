"""The documentation as the tests read it: the YAML examples of a page under ``docs/``."""

from __future__ import annotations

import re

from tests.support.paths import DOCS


def yaml_examples(page: str) -> list[str]:
    """Every fenced ``yaml`` block of ``docs/<page>``, in order."""
    return re.findall(r"```yaml\n(.*?)```", (DOCS / page).read_text(encoding="utf-8"), flags=re.DOTALL)
