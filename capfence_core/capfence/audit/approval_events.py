"""Approval transitions as chained audit records, and whether an ``approvals`` row is backed by them.

The ``approvals`` table is an index for finding a request by its call digest;
the hash chain is the source of truth. Every transition (created, approved,
denied, consumed, expired) appends a record of kind ``approval`` in the same
transaction as the row change. Its ``ref`` is the sequence number of the
decision that filed the request, and its ``detail`` carries the request's
state after the transition::

    {"id": "apr_...", "from": "pending", "status": "approved", "decided_by": "alice",
     "digest": "<digest of the bound call>", "expires": "<ISO time>", ...}

(``from`` is null for the record that created the request; ``decided_by`` is
null until someone decides; ``shown`` is the digest of the fields a human
judges the request by, :data:`SHOWN`.) A row is *backed* when the latest such
record for its id agrees with it on every field of :data:`BOUND`, and on
``shown`` (records written before it existed carry none). The runtime
honours a row only when it is backed by a record whose stored hash is right
(recomputed, with the key when there is one); ``capfence verify`` reports
every row that is not backed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from capfence.audit.chain import HASHED_FIELDS, record_hash

KIND = "approval"
BOUND = ("status", "decided_by", "digest", "expires")
"""The fields of a row that its latest chained record must carry unchanged."""
SHOWN = ("agent_id", "framework", "tool", "capability", "payload", "policy_digest", "rule")
"""The fields ``approvals show`` displays to the human who decides: an edit to any of them (a harmless payload shown
for a held call whose digest is unchanged) must not be approvable, so their digest is chained too."""

_LATEST = "SELECT * FROM records WHERE ref = ? AND kind = 'approval' ORDER BY seq DESC"


class _Cursor(Protocol):
    def fetchall(self) -> list[Any]: ...


class _Transaction(Protocol):
    def execute(self, sql: str, params: tuple[object, ...]) -> _Cursor: ...


def event_detail(
    request_id: str,
    status: str,
    previous: str | None,
    *,
    digest: str,
    expires: str,
    decided_by: str | None,
    shown: str,
    **extra: str | None,
) -> dict[str, object]:
    """The ``detail`` of the record for one transition: the request's state after it (``extra`` entries only when set)."""
    state: dict[str, object] = {
        "id": request_id,
        "from": previous,
        "status": status,
        "decided_by": decided_by,
    }
    state.update({name: value for name, value in extra.items() if value})
    state.update(digest=digest, expires=expires, shown=shown)
    return state


def shown_digest(row: Mapping[str, Any]) -> str:
    """SHA-256 of the :data:`SHOWN` fields of a request's row."""
    text = json.dumps([row[name] for name in SHOWN], ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def event_state(record: Mapping[str, Any]) -> dict[str, Any] | None:
    """The state an ``approval`` record carries (its parsed ``detail``), or None for any other record."""
    if record["kind"] != KIND or not record["detail"]:
        return None
    try:
        state = json.loads(record["detail"])
    except ValueError:
        return None
    return state if isinstance(state, dict) and isinstance(state.get("id"), str) else None


def mismatch(row: Mapping[str, Any], state: Mapping[str, Any]) -> str | None:
    """How ``row`` differs from the chained ``state`` of its request (None when it is backed)."""
    differ = [name for name in BOUND if row[name] != state.get(name)]
    problems = [
        f"{name} is {row[name]!r} in the table but {state.get(name)!r} in the chain" for name in differ
    ]
    if "shown" in state and shown_digest(row) != state["shown"]:
        problems.append(
            "its agent, tool, capability, arguments, policy or rule in the table differ from the chain"
        )
    return "; ".join(problems) or None


def chained_problem(tx: _Transaction, row: Mapping[str, Any], key: bytes | None) -> str | None:
    """Why ``row`` (read in the write transaction ``tx``) is not backed by the chain, or None when it is.

    The latest ``approval`` record for the row's id must agree with the row and
    match its stored hash (an HMAC when the log is keyed), so neither an edited
    row nor an edited record is honoured.
    """
    for record in tx.execute(_LATEST, (row["decision_seq"],)).fetchall():
        state = event_state(record)
        if state is None or state["id"] != row["id"]:
            continue
        if not intact(record, key):
            return f"its latest approval record (seq {record['seq']}) does not match its hash"
        return mismatch(row, state)
    return "no approval record for it in the audit chain"


def intact(record: Mapping[str, Any], key: bytes | None) -> bool:
    """Whether ``record``'s stored hash is the one its fields and ``prev_hash`` give."""
    fields = {name: record[name] for name in HASHED_FIELDS}
    return record_hash(str(record["prev_hash"]), fields, key) == str(record["hash"])


@dataclass(frozen=True)
class Unbacked:
    """An ``approvals`` row the chain does not back: the request id and what is wrong."""

    id: str
    message: str


class Trails:
    """The chained state of every approval request, collected while ``verify`` walks the chain.

    Only records up to ``upto`` count: the sequence number of the head when the
    rows were read (in the same statement), so a transition committed after
    that cannot make a row look stale.
    """

    def __init__(self, upto: int) -> None:
        self.upto = upto
        self.created: set[str] = set()
        self.latest: dict[str, dict[str, Any]] = {}

    def add(self, record: Mapping[str, Any]) -> None:
        if int(record["seq"]) > self.upto:
            return
        state = event_state(record)
        if state is None:
            return
        if state.get("from") is None and state.get("status") == "pending":
            self.created.add(state["id"])
        self.latest[state["id"]] = state

    def check(self, rows: Iterable[Mapping[str, Any]]) -> list[Unbacked]:
        """One :class:`Unbacked` per row that has no created record, or whose latest record says otherwise."""
        found = []
        for row in rows:
            request_id = str(row["id"])
            state = self.latest.get(request_id)
            if request_id not in self.created or state is None:
                found.append(
                    Unbacked(request_id, "no record of its creation in the audit chain: the row was inserted")
                )
            elif (problem := mismatch(row, state)) is not None:
                found.append(Unbacked(request_id, f"{problem}: the row was edited"))
        return found
