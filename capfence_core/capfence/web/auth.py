"""Who is using the console: login tokens, sessions, CSRF tokens, and the approval API's callers.

* **People** sign in with a token (``$CAPFENCE_CONSOLE_TOKEN``, or one
  printed when ``capfence serve`` starts; or each their own, named in
  ``$CAPFENCE_CONSOLE_USERS="alice=TOKEN,bob=TOKEN2"``) and get a random session id in an
  ``HttpOnly``, ``SameSite=Strict`` cookie (``Secure`` when served over
  HTTPS). Sessions live in memory and end after :data:`SESSION_SECONDS` or at
  sign-out. Each session has a CSRF token that every form that changes
  anything must send back (``csrf`` field); the sign-in form itself is
  protected by a double-submit cookie.
* **Approvers' identity** is the session's user (the name the token belongs to
  in ``$CAPFENCE_CONSOLE_USERS``; for the single token ``--user``, default
  ``$CAPFENCE_APPROVER`` or the OS user) recorded as ``console:<user>``;
  nothing a form sends can change it.
* **API callers** (chat bots, ticketing systems) are named clients with a
  secret each (``$CAPFENCE_CONSOLE_API_CLIENTS="slack=SECRET,jira=SECRET2"``).
  A request is authenticated either by ``Authorization: Bearer SECRET`` or by
  an HMAC signature over ``"<timestamp>.<body>"`` (:mod:`capfence.approvals.signatures`)
  plus ``X-CapFence-Client: NAME``, with the timestamp window and a
  single-use ``nonce`` in the body against replay. The identity recorded is
  ``api:<client>``; a *signed* body may add ``"approver": "alice"`` (the bot
  vouches for the person who clicked), recorded as ``api:<client>/alice``.
"""

from __future__ import annotations

import hmac
import os
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

from capfence.approvals.signatures import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    NonceCache,
    SignatureError,
    verify,
)

TOKEN_ENV = "CAPFENCE_CONSOLE_TOKEN"
USERS_ENV = "CAPFENCE_CONSOLE_USERS"
API_CLIENTS_ENV = "CAPFENCE_CONSOLE_API_CLIENTS"
CLIENT_HEADER = "X-CapFence-Client"
SESSION_COOKIE = "capfence_session"
LOGIN_COOKIE = "capfence_login"
SESSION_SECONDS = 12 * 3600
MAX_SESSIONS = 1000


class Unauthorized(Exception):
    """The request carries no valid credentials (the message says why, without secrets)."""


@dataclass(frozen=True)
class Session:
    id: str
    user: str
    csrf: str
    expires: float

    @property
    def identity(self) -> str:
        return f"console:{self.user}"


class Sessions:
    """Signed-in sessions, in memory. ``users``: user name -> that user's token."""

    def __init__(self, users: Mapping[str, str]) -> None:
        self.users = dict(users)
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def _user(self, offered: str) -> str:
        found = None
        # compare with every token: the time taken says nothing about which matched
        for user, token in self.users.items():
            if hmac.compare_digest(offered.encode(), token.encode()):
                found = user
        if not offered or found is None:
            raise Unauthorized("wrong token")
        return found

    def login(self, offered: str) -> Session:
        """A new session for the user whose token this is; raises :class:`Unauthorized`."""
        user = self._user(offered)
        session = Session(
            secrets.token_urlsafe(32), user, secrets.token_urlsafe(32), time.time() + SESSION_SECONDS
        )
        with self._lock:
            self._prune()
            self._sessions[session.id] = session
        return session

    def get(self, session_id: str | None) -> Session | None:
        if not session_id:
            return None
        with self._lock:
            session = self._sessions.get(session_id)
            if session is not None and session.expires < time.time():
                del self._sessions[session_id]
                return None
            return session

    def logout(self, session_id: str) -> None:
        with self._lock:
            self._sessions.pop(session_id, None)

    def _prune(self) -> None:
        now = time.time()
        for key in [k for k, s in self._sessions.items() if s.expires < now]:
            del self._sessions[key]
        while len(self._sessions) >= MAX_SESSIONS:
            del self._sessions[next(iter(self._sessions))]


def csrf_ok(session: Session, offered: str | None) -> bool:
    return bool(offered) and hmac.compare_digest(str(offered).encode(), session.csrf.encode())


def new_token() -> str:
    return secrets.token_urlsafe(24)


def token_from_env() -> str | None:
    value = os.environ.get(TOKEN_ENV, "").strip()
    return value or None


def parse_users(text: str) -> dict[str, str]:
    """``alice=TOKEN,bob=TOKEN2`` -> ``{alice: TOKEN}``; raises ValueError for a malformed entry or a token under 16 characters."""
    return {name: secret.decode() for name, secret in parse_clients(text, USERS_ENV).items()}


def parse_clients(text: str, variable: str = API_CLIENTS_ENV) -> dict[str, bytes]:
    """``name=secret,name2=secret2`` -> ``{name: secret}``; raises ValueError for a malformed entry."""
    clients: dict[str, bytes] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, secret = part.partition("=")
        if not sep or not name.strip() or len(secret.strip()) < 16:
            raise ValueError(
                f"{variable} entries are NAME=SECRET with a secret of at least 16 characters (got {name.strip()!r})"
            )
        clients[name.strip()] = secret.strip().encode()
    return clients


class ApiClients:
    """The approval API's callers and the nonces they have used."""

    def __init__(self, clients: Mapping[str, bytes]) -> None:
        self.clients = dict(clients)
        self.nonces = NonceCache()

    def authenticate(self, headers: Mapping[str, str], body: bytes, payload: Mapping[str, object]) -> str:
        """The caller's identity (``api:<client>`` or, for a signed body naming one, ``api:<client>/<approver>``)."""
        if not self.clients:
            raise Unauthorized("the approval API has no clients configured")
        bearer = headers.get("authorization", "")
        if bearer.lower().startswith("bearer "):
            return f"api:{self._bearer(bearer[7:].strip())}"
        name = headers.get(CLIENT_HEADER.lower(), "")
        secret = self.clients.get(name)
        if secret is None:
            raise Unauthorized(f"unknown or missing {CLIENT_HEADER}")
        try:
            verify(secret, headers.get(TIMESTAMP_HEADER.lower()), headers.get(SIGNATURE_HEADER.lower()), body)
        except SignatureError as exc:
            raise Unauthorized(str(exc)) from None
        nonce = payload.get("nonce")
        if not isinstance(nonce, str) or not 16 <= len(nonce) <= 200:
            raise Unauthorized("a signed request needs a random 'nonce' of 16 to 200 characters in its body")
        if not self.nonces.claim(f"{name}:{nonce}"):
            raise Unauthorized("this nonce was already used (replayed request)")
        approver = payload.get("approver")
        if isinstance(approver, str) and approver.strip():
            return f"api:{name}/{approver.strip()[:200]}"
        return f"api:{name}"

    def _bearer(self, offered: str) -> str:
        found = None
        # compare with every secret: timing says nothing about which matched
        for name, secret in self.clients.items():
            if hmac.compare_digest(offered.encode(), secret):
                found = name
        if found is None:
            raise Unauthorized("wrong bearer token")
        return found
