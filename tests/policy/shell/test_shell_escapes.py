"""Known programs that run code, load libraries or write files through an option, operand, subcommand or environment variable.

The catalogue (``capfence.policy.shell.catalogue``) allows programs whose everyday uses are safe; each use of
:data:`~tests.support.shell_escapes.ESCAPES` runs a command, loads code or writes outside the working tree through the
program, so the shell pack must hold (or deny) it, never allow it. The look-alikes of
:data:`~tests.support.shell_escapes.EVERYDAY` are everyday uses of the same programs that stay allowed.
"""

from __future__ import annotations

import pytest

from capfence.policy.compiled import Policy
from tests.support.shell_decide import decide
from tests.support.shell_escapes import ESCAPES, EVERYDAY


@pytest.mark.parametrize("command", ESCAPES)
def test_escape_is_never_allowed(shell_pack: Policy, command: str) -> None:
    action, reason = decide(shell_pack, command)
    assert action in ("require_approval", "deny"), (command, reason)


@pytest.mark.parametrize("command", EVERYDAY)
def test_everyday_use_stays_allowed(shell_pack: Policy, command: str) -> None:
    action, reason = decide(shell_pack, command)
    assert action == "allow", (command, reason)
