"""One ``command:`` condition compiled on its own and asked about one shell call: True, False or None (unknown).

Used by ``tests/policy/shell/test_shell_matcher.py`` (the condition's every sub-key) and
``tests/cli/test_cli_suggest_held.py`` (the ``argv`` shape that ``capfence suggest --held`` writes).
"""

from __future__ import annotations

from typing import Any

import capfence.policy.shell as shell
from capfence.call.view import CallView
from capfence.policy.spec import CompileContext, Condition


def compile_spec(spec: object, section: str = "deny") -> Condition:
    """The ``command:`` condition ``spec`` compiled as a rule of ``section`` would be."""
    return shell.CONDITION.compile(spec, CompileContext(section=section, policy_dir="."))


def view(payload: Any) -> CallView:
    """A ``shell.execute`` call: ``payload`` itself if a dict, else the command line ``{"command": payload}``."""
    return CallView(
        capability="shell.execute", payload=payload if isinstance(payload, dict) else {"command": payload}
    )


def check(spec: object, payload: Any, section: str = "deny") -> bool | None:
    """What the condition ``spec`` (in ``section``) answers on a shell call with ``payload``."""
    return compile_spec(spec, section)(view(payload))
