"""PostgreSQL audit log: connection settings from the URL, the schema and its migrations.

Shared by the store (:mod:`capfence.audit.postgres`) and the reader
(:mod:`capfence.audit.postgres_reader`). Nothing here imports psycopg at
module level.

URL forms (libpq's, plus three CapFence parameters that are removed before
the URL reaches libpq)::

    postgresql://user:password@host:5432/dbname
    postgres://user@host/dbname?sslmode=verify-full&application_name=agents
    postgresql:///dbname?host=/var/run/postgresql          (Unix socket)
    postgresql://user@host/db?timeout=3&pool_max=8          (CapFence parameters)

``timeout`` (seconds, default 5) bounds connecting, waiting for a pooled
connection, lock waits and statements; ``pool_min``/``pool_max`` (default
1/4) size the per-process connection pool; ``partitions`` (default
:data:`DEFAULT_PARTITIONS`; 0: one chain) is how many chains plain appends
spread over, and ``crosslink`` (seconds, default 1) how often each writer
pins the other chains' heads (see :mod:`capfence.audit.postgres`). A
password may also come from ``PGPASSWORD`` or ``~/.pgpass``, as usual for libpq.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from capfence.audit.partitions import STRIDE
from capfence.errors import AuditError

if TYPE_CHECKING:
    import psycopg

SCHEMES = ("postgresql://", "postgres://")
DEFAULT_TIMEOUT = 5.0
DEFAULT_POOL = (1, 4)
DEFAULT_PARTITIONS = 64
MAX_PARTITIONS = 4096
DEFAULT_CROSSLINK = 1.0
OURS = ("timeout", "pool_min", "pool_max", "partitions", "crosslink")
"""CapFence's own URL parameters, removed before libpq sees the URL."""
INSTALL_HINT = "install the core's postgres extra: pip install 'psycopg[binary]>=3.2' 'psycopg-pool>=3.2'"

SCHEMA_VERSION = 5
CALL_DETAIL = "strpos(detail, '\"call_id\"') > 0"
"""A decision record whose ``detail`` names a call id (see ``capfence.audit.sqlite.CALL_DETAIL``)."""
LOCK_CLASS = 0x43464E43
"""First key of CapFence's advisory locks ('CFNC'); the second is derived from the schema name."""
CHAIN_LOCK = f"SELECT pg_advisory_xact_lock({LOCK_CLASS}, hashtext('chain:' || current_schema()))"
MIGRATE_LOCK = f"SELECT pg_advisory_xact_lock({LOCK_CLASS}, hashtext('migrate:' || current_schema()))"
PARTITION_LOCK = (
    f"SELECT pg_advisory_xact_lock({LOCK_CLASS}, hashtext('chain:' || current_schema() || ':' || {{part}}))"
)
"""The lock of partition ``part`` >= 1 (partition 0's is :data:`CHAIN_LOCK`, the lock of the single chain before v5)."""


def partition_head(part: int) -> str:
    """The head of partition ``part``: a backward probe of the primary key within its range."""
    lo, hi = part * STRIDE, (part + 1) * STRIDE
    return f"SELECT seq, hash, ts FROM records WHERE seq > {lo} AND seq < {hi} ORDER BY seq DESC LIMIT 1"


HEADS = (
    "SELECT p.part, h.seq, h.hash FROM partitions p CROSS JOIN LATERAL"
    f" (SELECT seq, hash FROM records WHERE seq > p.part::bigint * {STRIDE} AND seq < (p.part::bigint + 1) * {STRIDE}"
    " ORDER BY seq DESC LIMIT 1) h WHERE p.part <> %s ORDER BY p.part"
)
"""The head of every partition but one (the cross-link's own)."""

_DECISIONS = "WHERE kind = 'decision'"
MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        "CREATE TABLE IF NOT EXISTS meta (key text PRIMARY KEY, value text NOT NULL)",
        """CREATE TABLE IF NOT EXISTS records (
            seq bigint PRIMARY KEY,
            ts text COLLATE "C" NOT NULL,
            kind text COLLATE "C" NOT NULL,
            agent_id text COLLATE "C", framework text, tool text COLLATE "C", capability text COLLATE "C", environment text,
            payload text, payload_sha256 text, payload_bytes bigint,
            truncated integer NOT NULL DEFAULT 0, redacted integer NOT NULL DEFAULT 0,
            decision text COLLATE "C", rule text, reason text, policy_digest text,
            ref bigint, outcome text, detail text,
            prev_hash text NOT NULL, hash text NOT NULL
        )""",
        # logs/export: newest-first and time-range scans of decisions, alone or filtered by one column
        f"CREATE INDEX IF NOT EXISTS records_decisions_ts ON records (ts, seq) {_DECISIONS}",
        f"CREATE INDEX IF NOT EXISTS records_decisions_decision ON records (decision, ts, seq) {_DECISIONS}",
        f"CREATE INDEX IF NOT EXISTS records_decisions_agent ON records (agent_id, ts, seq) {_DECISIONS}",
        f"CREATE INDEX IF NOT EXISTS records_decisions_capability ON records (capability, ts, seq) {_DECISIONS}",
        f"CREATE INDEX IF NOT EXISTS records_decisions_tool ON records (tool, ts, seq) {_DECISIONS}",
        # the latest outcome linked to a decision
        "CREATE INDEX IF NOT EXISTS records_outcomes_ref ON records (ref, seq) WHERE kind = 'outcome'",
        # append_decision_once: the decision already recorded for a call id (hash: no length limit)
        "CREATE INDEX IF NOT EXISTS records_decisions_call ON records USING hash (detail) WHERE kind = 'decision' AND detail IS NOT NULL",
        """CREATE TABLE IF NOT EXISTS approvals (
            id text PRIMARY KEY,
            created text COLLATE "C" NOT NULL, expires text COLLATE "C" NOT NULL,
            agent_id text, framework text, tool text, capability text NOT NULL,
            payload text NOT NULL, digest text NOT NULL, policy_digest text, rule text,
            status text NOT NULL, decided_by text, decided_at text, comment text,
            consumed_at text, decision_seq bigint
        )""",
        "CREATE INDEX IF NOT EXISTS approvals_digest ON approvals (digest, status)",
        "CREATE INDEX IF NOT EXISTS approvals_status ON approvals (status, expires)",
        # one row per server process: the synchronous commit that waits for the WAL flush (see postgres.py)
        "CREATE TABLE IF NOT EXISTS flush_ticks (pid integer PRIMARY KEY, ticks bigint NOT NULL)",
    ),
    2: (
        # the latest chained record of an approval request, which must back its row (capfence.audit.approval_events)
        "CREATE INDEX IF NOT EXISTS records_approvals_ref ON records (ref, seq) WHERE kind = 'approval'",
    ),
    3: (
        # rate and budget limits: what each allowed call counted, written with its decision record (capfence.call.limiting)
        "CREATE TABLE IF NOT EXISTS usage (key text NOT NULL, ts text NOT NULL, amount double precision NOT NULL, seq bigint NOT NULL)",
        "CREATE INDEX IF NOT EXISTS usage_key ON usage (key, ts) INCLUDE (amount)",
        # the text of each policy decisions were made under, by digest (capfence suggest keeps its rules)
        "CREATE TABLE IF NOT EXISTS policies (digest text PRIMARY KEY, path text, body text NOT NULL)",
    ),
    4: (
        # every decision's detail carries its provenance now: index only those with a call id, all the lookup needs
        "DROP INDEX IF EXISTS records_decisions_call",
        f"CREATE INDEX IF NOT EXISTS records_decisions_call ON records USING hash (detail) WHERE kind = 'decision' AND {CALL_DETAIL}",
    ),
    5: (
        # partitioned chains (capfence.audit.partitions): every partition that holds records, for the cross-links;
        # a log written before is partition 0 as it stands
        "CREATE TABLE IF NOT EXISTS partitions (part integer PRIMARY KEY)",
        "INSERT INTO partitions (part) VALUES (0) ON CONFLICT (part) DO NOTHING",
        # the newest cross-link (what a checkpoint pins)
        "CREATE INDEX IF NOT EXISTS records_heads ON records (ts, seq) WHERE kind = 'heads'",
    ),
}


@dataclass(frozen=True)
class Settings:
    """What a ``postgresql://`` location means: libpq conninfo, a password-free display form, limits."""

    conninfo: str
    display: str
    timeout: float
    pool_min: int
    pool_max: int
    partitions: int = DEFAULT_PARTITIONS
    """Plain appends spread over partitions 1..N (0: every record in partition 0, the single chain)."""
    crosslink: float = DEFAULT_CROSSLINK
    """Seconds between a writer's cross-links of the other partitions' heads."""


def accepts(location: str) -> bool:
    return location.startswith(SCHEMES)


def parse_location(location: str) -> Settings:
    """Split CapFence's own parameters off a PostgreSQL URL. Raises :class:`AuditError` for bad values."""
    parts = urlsplit(location)
    query = parse_qsl(parts.query, keep_blank_values=True)
    ours = {key: value for key, value in query if key in OURS}
    rest = [(key, value) for key, value in query if key not in ours]
    display = urlunsplit(parts._replace(netloc=_mask_password(parts.netloc), query=urlencode(rest)))
    try:
        timeout = float(ours.get("timeout", DEFAULT_TIMEOUT))
        pool_min = int(ours.get("pool_min", DEFAULT_POOL[0]))
        pool_max = int(ours.get("pool_max", max(DEFAULT_POOL[1], pool_min)))
        partitions = int(ours.get("partitions", DEFAULT_PARTITIONS))
        crosslink = float(ours.get("crosslink", DEFAULT_CROSSLINK))
    except ValueError as exc:
        raise AuditError(f"invalid audit log URL {display}: {exc}") from None
    if not (0 < timeout <= 3600) or pool_min < 0 or pool_max < max(pool_min, 1):
        raise AuditError(
            f"invalid audit log URL {display}: need 0 < timeout <= 3600 and 0 <= pool_min <= pool_max, pool_max >= 1"
        )
    if not (0 <= partitions <= MAX_PARTITIONS) or not (0 < crosslink <= 3600):
        raise AuditError(
            f"invalid audit log URL {display}: need 0 <= partitions <= {MAX_PARTITIONS} and 0 < crosslink <= 3600"
        )
    conninfo = urlunsplit(parts._replace(query=urlencode(rest)))
    return Settings(conninfo, display, timeout, pool_min, pool_max, partitions, crosslink)


def _mask_password(netloc: str) -> str:
    userinfo, at, host = netloc.rpartition("@")
    if not at or ":" not in userinfo:
        return netloc
    return f"{userinfo.split(':', 1)[0]}:***@{host}"


def connect_kwargs(settings: Settings, *, writer: bool) -> dict[str, Any]:
    """libpq parameters: bounded connect, dead-peer detection, and (for writers) server-side time limits.

    Values already in the URL win, except ``options``, to which ours are appended.
    """
    from psycopg.conninfo import conninfo_to_dict

    given = conninfo_to_dict(settings.conninfo)
    ms = int(settings.timeout * 1000)
    defaults: dict[str, Any] = {
        "connect_timeout": max(2, math.ceil(settings.timeout)),
        "application_name": "capfence",
        "keepalives": 1,
        "keepalives_idle": 5,
        "keepalives_interval": 2,
        "keepalives_count": 3,
        "tcp_user_timeout": ms,
    }
    kwargs = {key: value for key, value in defaults.items() if key not in given}
    if writer:
        ours = (
            f"-c statement_timeout={ms} -c lock_timeout={ms} -c idle_in_transaction_session_timeout={3 * ms}"
        )
    else:
        ours = "-c default_transaction_read_only=on"
    kwargs["options"] = f"{given['options']} {ours}" if given.get("options") else ours
    return kwargs


def migrate(conn: psycopg.Connection[Any], chain_mode: str) -> None:
    """Bring the schema to :data:`SCHEMA_VERSION` and check the chain mode. ``conn`` is in autocommit mode."""
    with conn.transaction():
        conn.execute(MIGRATE_LOCK)
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)")
        row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
        version = int(row[0]) if row is not None and row[0] is not None else 0
        if version > SCHEMA_VERSION:
            raise AuditError(
                f"audit log schema v{version} is newer than this CapFence (v{SCHEMA_VERSION}); upgrade capfence"
            )
        for step in range(version + 1, SCHEMA_VERSION + 1):
            for statement in MIGRATIONS[step]:
                conn.execute(statement)
            conn.execute("DELETE FROM schema_version")
            conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (step,))
        conn.execute(
            "INSERT INTO meta (key, value) VALUES ('chain', %s) ON CONFLICT (key) DO NOTHING", (chain_mode,)
        )
        stored_row = conn.execute("SELECT value FROM meta WHERE key = 'chain'").fetchone()
    stored = str(stored_row[0]) if stored_row else chain_mode
    if stored != chain_mode:
        hint = (
            "set CAPFENCE_AUDIT_KEY"
            if stored == "hmac-sha256"
            else "unset CAPFENCE_AUDIT_KEY or use a new audit log"
        )
        raise AuditError(
            f"audit log chain uses {stored} but this process is configured for {chain_mode}: {hint}"
        )


def glob_regex(pattern: str) -> str:
    """A ``Filters`` glob (``*``, ``?``, ``[abc]``, ``[!abc]``; case-sensitive) as an anchored POSIX regex."""
    out = ["^"]
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "*":
            out.append(".*")
        elif ch == "?":
            out.append(".")
        elif (
            ch == "["
            and (end := pattern.find("]", i + 2 if pattern[i + 1 : i + 2] in ("!", "^") else i + 1)) != -1
        ):
            body = pattern[i + 1 : end]
            if body[:1] in ("!", "^"):
                body = "^" + body[1:]
            out.append("[" + body.replace("\\", "\\\\") + "]")
            i = end
        elif ch.isalnum() or ch == "_" or ord(ch) > 127:
            out.append(ch)
        else:
            out.append("\\" + ch)
        i += 1
    out.append("$")
    return "".join(out)
