"""Policies several test modules write: small enough to read at a glance, named for what they decide."""

from __future__ import annotations

ALLOW_ALL = """
allow:
  - id: everything
    capability: "*"
"""
"""Every call allowed by one rule (``everything``): the tests that are about something other than the policy."""

HOLD_REFUNDS = """
require_approval:
  - id: refunds
    capability: payments.refund
"""
"""Every ``payments.refund`` held for approval (rule ``refunds``); nothing else matches."""

HOLD_PAYMENTS = """
require_approval:
  - id: refunds
    capability: payments.refund
  - id: quick
    capability: payments.quick
    approval_timeout: 1
allow:
  - capability: "*"
"""
"""``payments.refund`` held for approval (rule ``refunds``), ``payments.quick`` held with a one-second approval timeout
(rule ``quick``), every other call allowed: the approvals tests (``tests/approvals/test_approvals.py``,
``test_approvals_chain.py``)."""
