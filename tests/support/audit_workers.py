"""Several processes, each with several threads, writing to one audit log at once through a real runtime.

Used by ``tests/audit/test_audit_deadline.py`` (SQLite) and ``tests/audit/test_postgres_deadline.py`` (PostgreSQL)
to check that timestamps never go backwards along the chain; :func:`released_together` also by
``tests/audit/test_audit_store.py`` with a worker of its own.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

WORKER = textwrap.dedent("""
    import sys, threading
    from capfence import ActionRuntime
    policy, db, threads, calls = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    print("ready", flush=True)
    sys.stdin.readline()
    with ActionRuntime.from_policy(policy, audit_log=db) as rt:
        def work(t):
            for i in range(calls):
                d = rt.evaluate("shell.execute", {"command": "echo " + "x" * (i * 37 % 2000)}, agent_id=f"t{t}")
                rt.record_outcome(d, "ran")
        pool = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
""")
"""A worker process's code (arguments: policy, audit log, threads, calls): it prints ``ready``, waits for a line on
its standard input, then makes ``calls`` calls, each with its outcome, in each of ``threads`` threads."""


def run_workers(policy: Path, audit_log: str, processes: int, threads: int, calls: int) -> None:
    """Run :data:`WORKER` in ``processes`` processes on ``audit_log``, all started together; wait for every one."""
    args = [str(policy), audit_log, str(threads), str(calls)]
    released_together(WORKER, [args] * processes, timeout=300)


def released_together(code: str, argvs: list[list[str]], *, timeout: float) -> list[str]:
    """Run ``python -c code`` once per argument list; each prints ``ready`` and waits for a line on its standard input,
    which all get at once when all are ready. Each must exit 0 within ``timeout`` seconds; their standard outputs."""
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", code, *argv],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for argv in argvs
    ]
    try:
        for w in workers:
            assert w.stdout is not None
            assert w.stdout.readline().strip() == "ready", w.stderr.read() if w.stderr else ""
        for w in workers:  # release them together
            assert w.stdin is not None
            w.stdin.write("go\n")
            w.stdin.flush()
        results = [w.communicate(timeout=timeout) for w in workers]
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
    for w, (_, err) in zip(workers, results, strict=True):
        assert w.returncode == 0, err
    return [out for out, _ in results]
