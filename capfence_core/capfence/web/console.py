"""The console's settings and state: one audit log, its summary, chain status, policies, sessions and API clients."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from capfence.errors import AuditError
from capfence.plugins import build_registry
from capfence.web.auth import ApiClients, Sessions
from capfence.web.chainstatus import ChainStatus
from capfence.web.policies import PolicyIndex
from capfence.web.render import environment
from capfence.web.source import Source
from capfence.web.summary import Summary

if TYPE_CHECKING:
    from capfence.approvals.requests import Approvals

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")


@dataclass(frozen=True)
class Settings:
    """How ``capfence serve`` runs (see ``capfence serve --help``)."""

    audit_log: str
    users: Mapping[str, str]
    """User name -> sign-in token (``capfence serve``: ``--user`` with the one token, or ``$CAPFENCE_CONSOLE_USERS``)."""
    policy_dir: Path | None = None
    read_only: bool = False
    api_clients: Mapping[str, bytes] = field(default_factory=dict)
    allowed_hosts: tuple[str, ...] = LOOPBACK_HOSTS
    """Host header values accepted (DNS-rebinding protection); ``*`` accepts any."""
    secure_cookies: bool = False
    """Mark cookies ``Secure`` (set when the console is reached over HTTPS, e.g. behind a TLS proxy)."""


class Console:
    """Everything the pages share. Never writes to the log except through :meth:`approvals` (absent in read-only mode)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.plugins = build_registry()
        """The console's plugin registry (store types to read and write the log, condition types for policies)."""
        self.source = Source(settings.audit_log, self.plugins.stores)
        self.summary = Summary(self.source)
        self.chain = ChainStatus(self.source)
        self.policies = PolicyIndex(settings.policy_dir, self.plugins.conditions)
        self.sessions = Sessions(settings.users)
        self.api = ApiClients(settings.api_clients)
        self.templates = environment()
        self._approvals: Approvals | None = None
        self._lock = threading.Lock()
        self.warmed = threading.Event()

    @property
    def read_only(self) -> bool:
        return self.settings.read_only

    def approvals(self) -> Approvals:
        """The approval queue, through the store's own write path (single transition per request, chained records)."""
        if self.read_only:
            raise PermissionError("the console is read-only")
        with self._lock:
            if self._approvals is None:
                from capfence.approvals.requests import Approvals
                from capfence.audit.store import open_store, transactional

                store = transactional(open_store(self.settings.audit_log, self.plugins.stores))
                if store is None:
                    raise AuditError(f"the audit store {self.settings.audit_log} does not support approvals")
                self._approvals = Approvals(store)
            return self._approvals

    def warm_up(self) -> None:
        """Build the overview summary and start a chain verification, in the background."""

        def run() -> None:
            try:
                self.summary.refresh()
            finally:
                self.warmed.set()

        threading.Thread(target=run, name="capfence-summary", daemon=True).start()
        self.chain.start()

    def close(self) -> None:
        self.source.close()
        if self._approvals is not None:
            self._approvals.store.close()
