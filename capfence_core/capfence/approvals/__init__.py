"""Approvals: held calls, the requests filed for them, and the approvers that tell people."""
