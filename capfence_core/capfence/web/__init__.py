"""``capfence serve``: a web console over the audit log (``pip install '.[web]'``).

Server-rendered pages (Starlette + Jinja2, served by uvicorn): an overview,
the decisions with filters, one decision in full, the approval queue with
approve/deny, and replay. Nothing here is imported by the core; the
``serve`` command imports it only when it runs.

Modules, one concept each: :mod:`~capfence.web.app` (routes, sign-in and CSRF
checks, headers), :mod:`~capfence.web.console` (settings and shared state),
:mod:`~capfence.web.auth` (tokens, sessions, API callers),
:mod:`~capfence.web.source` (read-only SQL on SQLite or PostgreSQL),
:mod:`~capfence.web.queries` (decision pages), :mod:`~capfence.web.summary`
(incremental overview counts), :mod:`~capfence.web.chainstatus` (background
verify), :mod:`~capfence.web.policies` (policy directory, pasted policies),
:mod:`~capfence.web.replaying`, :mod:`~capfence.web.chart` (SVG),
:mod:`~capfence.web.render` (templates), :mod:`~capfence.web.pages` (GET),
:mod:`~capfence.web.actions` (POST), :mod:`~capfence.web.api` (approval API).
"""
