"""CapFence adapter for commandkit: ``CapFenceTool(tool=<commandkit.Command>, ...)`` returns a gated Command.

Installed, it is found through the ``capfence`` entry-point group
(:mod:`capfence_commandkit.plugin`); there is nothing to import by hand.
"""

from __future__ import annotations

__all__: list[str] = []
