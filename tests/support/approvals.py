"""Holding a call for approval, and checking the approvals table against the chain with ``capfence verify``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from capfence import ApprovalRequired
from tests.support.cli import run


def held(tool: Callable[..., Any], **kwargs: object) -> str:
    """Call the gated ``tool``, which must be held for approval; the request's id."""
    with pytest.raises(ApprovalRequired) as info:
        tool(**kwargs)
    return str(info.value.request_id)


def verify(audit_log: str | Path, key: str | None) -> tuple[int, str]:
    """``capfence verify`` on ``audit_log`` (a SQLite path or a PostgreSQL URL) with ``key``: status and output."""
    done = run(
        "verify", "--audit-log", audit_log, env={"CAPFENCE_AUDIT_KEY": key} if key else None, check=None
    )
    return done.returncode, done.stdout + done.stderr
