"""Offline tools over policies and audit logs: replay, lint, suggest, policy test cases."""
