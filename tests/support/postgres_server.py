"""A real, throwaway PostgreSQL server for tests and benchmarks.

:class:`PostgresServer` finds Debian's PostgreSQL binaries
(``/usr/lib/postgresql/<version>/bin``, or ``initdb``/``pg_ctl`` on ``PATH``),
runs ``initdb`` in a temporary directory and starts the server on a free
loopback port with its Unix socket in that directory. PostgreSQL refuses to
run as root, so under root the data directory is handed to the ``postgres``
system user (created by Debian's package; a ``capfence-pg`` system user is
created if it is missing) and every server command runs through ``runuser``.

Nothing here is mocked: the store tests, the CLI tests and
``benchmarks/bench_stores.py`` all talk to this server over TCP on 127.0.0.1.
:func:`find_binaries` returns ``None`` when PostgreSQL is not installed; the
test fixtures then skip with a message saying how to install it
(``.ci/run`` installs it on CI machines).

The server runs with PostgreSQL's defaults (``fsync`` and
``synchronous_commit`` on), so benchmark figures include a real WAL flush per
commit, except what is passed in ``settings``.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from capfence.audit.postgres_schema import CHAIN_LOCK, DEFAULT_PARTITIONS, PARTITION_LOCK

INSTALL_HINT = "install Debian's postgresql package (apt-get install postgresql), as .ci/run does"
SERVICE_USERS = ("postgres", "capfence-pg")
SUPERUSER = "capfence"


def find_binaries() -> Path | None:
    """The directory holding ``initdb``, ``pg_ctl`` and ``postgres`` (newest version first), or ``None``."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True)
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(str(Path(on_path).resolve().parent))
    for candidate in candidates:
        path = Path(candidate)
        if all((path / name).exists() for name in ("initdb", "pg_ctl", "postgres")):
            return path
    return None


def _version_key(path: str) -> tuple[int, ...]:
    version = Path(path).parent.name
    return tuple(int(part) for part in version.split(".") if part.isdigit())


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _service_user() -> str | None:
    """The unprivileged user the server runs as, or ``None`` when we are not root (run as ourselves)."""
    if os.geteuid() != 0:
        return None
    for name in SERVICE_USERS:
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SERVICE_USERS[1]],
        check=True,
    )
    return SERVICE_USERS[1]


class PostgresServer:
    """One PostgreSQL cluster in a temporary directory, listening on 127.0.0.1:``port``.

    Use as a context manager, or call :meth:`start` and :meth:`destroy`.
    :meth:`stop` and :meth:`start` may be called again to simulate an outage;
    the data directory and port are kept.
    """

    def __init__(self, bindir: Path | None = None, *, settings: dict[str, str] | None = None) -> None:
        found = bindir or find_binaries()
        if found is None:
            raise RuntimeError(f"no PostgreSQL binaries found: {INSTALL_HINT}")
        self.bindir = found
        self.user = _service_user()
        self.port = free_port()
        self.settings = {
            "listen_addresses": "'127.0.0.1'",
            "max_connections": "200",
            "shared_buffers": "128MB",
            "log_min_messages": "warning",
            **(settings or {}),
        }
        self.root = Path(tempfile.mkdtemp(prefix="capfence-pg-"))
        self.data = self.root / "data"
        self.logfile = self.root / "server.log"
        self._initialized = False

    # --- lifecycle ------------------------------------------------------------------
    def _run(self, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        command = [str(self.bindir / argv[0]), *argv[1:]]
        if self.user is not None:
            command = ["runuser", "-u", self.user, "--", *command]
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "LANG": "C", "TZ": "UTC"}
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, env=env, cwd=self.root, check=False
        )
        if result.returncode != 0:
            log = self.logfile.read_text(errors="replace")[-4000:] if self.logfile.exists() else ""
            raise RuntimeError(
                f"{' '.join(argv[:2])} failed ({result.returncode}): {result.stdout}{result.stderr}\n{log}"
            )
        return result

    def _init(self) -> None:
        if self.user is not None:
            shutil.chown(self.root, self.user)
        self.root.chmod(0o700)
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--no-locale",
            "--no-sync",
        )
        with (self.data / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write("\n# capfence test server\n")
            for name, value in self.settings.items():
                conf.write(f"{name} = {value}\n")
            conf.write(f"port = {self.port}\nunix_socket_directories = '{self.root}'\n")
        self._initialized = True

    def start(self) -> PostgresServer:
        """Start the server (initializing the cluster the first time) and wait until it accepts connections."""
        if not self._initialized:
            self._init()
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.logfile), "-w", "-t", "60", "start")
        return self

    def stop(self, mode: str = "fast") -> None:
        """Stop the server: ``fast`` (roll back open transactions, clean shutdown) or ``immediate`` (like a crash)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def running(self) -> bool:
        command = [str(self.bindir / "pg_ctl"), "-D", str(self.data), "status"]
        if self.user is not None:
            command = ["runuser", "-u", self.user, "--", *command]
        return subprocess.run(command, capture_output=True, check=False).returncode == 0

    def destroy(self) -> None:
        """Stop the server if it runs and delete its directory."""
        with contextlib.suppress(Exception):
            if self._initialized and self.running():
                self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        try:
            return self.start()
        except BaseException:
            self.destroy()
            raise

    def __exit__(self, *exc: object) -> None:
        self.destroy()

    # --- databases --------------------------------------------------------------------
    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str | None = None) -> str:
        """Create a fresh database and return its URL."""
        import psycopg

        name = name or f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def wait_ready(self, timeout: float = 30) -> None:
        import psycopg

        deadline = time.monotonic() + timeout
        while True:
            try:
                with psycopg.connect(self.url(), connect_timeout=2):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)


def hold_every_chain_lock(conn: object, partitions: int = DEFAULT_PARTITIONS) -> None:
    """Take the lock of every chain (partition 0 and 1..``partitions``) in ``conn``'s open transaction: a writer stuck inside."""
    execute = conn.execute  # type: ignore[attr-defined]
    execute(CHAIN_LOCK)
    for part in range(1, partitions + 1):
        execute(PARTITION_LOCK.format(part=part))
