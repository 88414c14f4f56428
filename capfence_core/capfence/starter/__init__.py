"""The walkthrough's two policies, shipped with the package so ``capfence init`` can write them anywhere.

``shell_rollout.yaml`` observes (warns on shell commands, denies ``rm -rf``);
``shell_production.yaml`` enforces. They are byte for byte the repository's
``policies/`` files of the same names (a test keeps them so).
"""

from __future__ import annotations

from importlib.resources import files

STARTER_POLICIES = ("shell_rollout.yaml", "shell_production.yaml")


def starter_policy(name: str) -> str:
    """The text of one of :data:`STARTER_POLICIES`."""
    return files(__package__).joinpath(name).read_text(encoding="utf-8")
