"""Benchmark of ``capfence serve`` (issue 19's target): pages on a 1,000,000-row SQLite log in < 300 ms of server time.

Self-contained: builds the log in a temporary directory (a real schema made by the
store, then 1,000,000 decision records over the last 30 days chained
with the store's own hash function, so ``verify`` passes; then a few held
calls through the runtime so the approvals page has pending requests), starts
the console in-process (Starlette's test client, no network) and reads each
page's ``Server-Timing`` header: the time spent in the application, rendering
included. Each figure is the median of ``--runs`` requests; the worst is shown
too. The overview reads an incremental summary that the console builds in the
background at start; how long that first build takes is printed separately.

    python benchmarks/bench_console.py [--rows N] [--runs N] [--plans]

Needs ``pip install -e '.[web,web-test]'``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import re
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from synthetic_log import build, decision_row

from capfence.call.runtime import ActionRuntime

TARGET_MS = 300.0
CAPABILITIES = ["shell.execute"] * 6 + [
    "filesystem.read",
    "filesystem.write",
    "http.get",
    "deploy.production",
]
POLICY = """
deny:
  - id: no-force-push
    capability: shell.execute
    contains: "push --force"
require_approval:
  - id: hold-deploy
    capability: deploy.*
warn:
  - id: observe-writes
    capability: filesystem.write
allow:
  - id: reads
    capability: filesystem.read
  - id: shell
    capability: shell.execute
  - id: http
    capability: http.get
"""


def _decide(capability: str, payload: str) -> tuple[str, str]:
    if capability == "deploy.production":
        return "require_approval", "hold-deploy"
    if "push --force" in payload:
        return "deny", "no-force-push"
    if capability == "filesystem.write":
        return "warn", "observe-writes"
    return "allow", {"filesystem.read": "reads", "shell.execute": "shell", "http.get": "http"}[capability]


def log_rows(rows: int) -> Iterator[dict[str, object]]:
    """``rows`` decisions over the last 30 days: mostly shell commands, 1% of them denied force pushes."""
    rng = random.Random(19)
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
    step = dt.timedelta(days=30) / rows
    for n in range(rows):
        capability = rng.choice(CAPABILITIES)
        command = (
            "git push --force"
            if rng.random() < 0.01
            else rng.choice(["ls -la", "git status", "make test", "cat notes.txt"])
        )
        payload = json.dumps(
            {"command": f"{command} {n % 97}"}
            if capability == "shell.execute"
            else {"target": f"/srv/{n % 500}"}
        )
        decision, rule = _decide(capability, payload)
        yield decision_row(
            ts=(start + step * n).isoformat(timespec="microseconds"),
            agent_id=f"agent-{n % 50}",
            tool=capability.split(".")[0] + "_tool",
            capability=capability,
            payload=payload,
            decision=decision,
            rule=rule,
            reason=f"{decision} rule {rule}",
        )


def build_log(path: Path, policy: Path, rows: int) -> float:
    """``rows`` chained decision records over the last 30 days, then three held calls through a real runtime; returns seconds."""
    started = time.perf_counter()
    build(path, log_rows(rows))
    with ActionRuntime.from_policy(policy, audit_log=path) as runtime:
        for n in range(3):
            runtime.evaluate(
                "deploy.production", {"version": f"1.{n}"}, agent_id=f"agent-{n}", tool="deploy_tool"
            )
    return time.perf_counter() - started


PAGES = [
    ("overview (24h)", "/?window=24h"),
    ("overview (30d)", "/?window=30d"),
    ("overview (all)", "/?window=all"),
    ("decisions, no filter", "/decisions"),
    ("decisions, decision=deny", "/decisions?decision=deny"),
    ("decisions, agent=agent-7", "/decisions?agent=agent-7"),
    ("decisions, capability=deploy.production", "/decisions?capability=deploy.production"),
    ("decisions, capability glob shell.*", "/decisions?capability=shell.*"),
    ("decisions, agent + decision + since 2d", "/decisions?agent=agent-3&decision=warn&since=2d"),
    ("decisions, rule=no-force-push", "/decisions?rule=no-force-push"),
    ("decisions, tool=deploy_tool (no index)", "/decisions?tool=deploy_tool"),
    ("decisions, rule matching nothing (budget)", "/decisions?rule=never-matched"),
    ("decisions, glob matching nothing (budget)", "/decisions?capability=nothing.*"),
    ("decisions, page 2,000 (keyset)", "/decisions?before={deep}"),
    ("decisions, deny page 200 (keyset)", "/decisions?decision=deny&before={deep_deny}"),
    ("one decision", "/decisions/{deep}"),
    ("approvals", "/approvals"),
]


def server_ms(client: object, path: str) -> float:
    response = client.get(path)  # type: ignore[attr-defined]
    if response.status_code != 200:
        raise SystemExit(f"{path}: HTTP {response.status_code}")
    return float(response.headers["server-timing"].split("dur=")[1])


def sign_in(client: object, token: str) -> None:
    page = client.get("/login").text  # type: ignore[attr-defined]
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    client.post("/login", data={"csrf": csrf, "token": token}, follow_redirects=False)  # type: ignore[attr-defined]


def plans(path: Path) -> None:
    """EXPLAIN QUERY PLAN of the decisions page's main queries."""
    from capfence.audit.query import Filters, newest_order
    from capfence.web.source import Source

    source = Source(str(path))
    conn = sqlite3.connect(path)
    for label, filters in (
        ("no filter", Filters()),
        ("decision", Filters(decisions=("deny",))),
        ("agent", Filters(agent="agent-7")),
        ("capability glob", Filters(capability="shell.*")),
    ):
        clause, params = source.where(filters, newest_first=True)
        order = newest_order(filters, seq_ordered=source.layout().seq_ordered)
        sql = f"SELECT seq FROM records WHERE {clause} AND ts <= ? AND seq < ? ORDER BY {order} LIMIT 51"
        plan = conn.execute(f"EXPLAIN QUERY PLAN {sql}", [*params, "9", 10**9]).fetchall()
        print(f"  plan, {label:<16} " + " / ".join(row[-1] for row in plan))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--plans", action="store_true", help="print the query plans too")
    options = parser.parse_args()
    from starlette.testclient import TestClient

    from capfence.web.app import console_of, create_app
    from capfence.web.console import Settings

    with tempfile.TemporaryDirectory(prefix="capfence-bench-console-") as work:
        path, policy = Path(work) / "audit.db", Path(work) / "policy.yaml"
        policy.write_text(POLICY)
        print(
            f"bench_console: built a {options.rows:,}-decision log in {build_log(path, policy, options.rows):.1f} s"
        )
        if options.plans:
            plans(path)
        token = "bench-token-0123456789"
        started = time.perf_counter()
        app = create_app(Settings(audit_log=str(path), users={"bench": token}, policy_dir=Path(work)))
        console = console_of(app)
        console.warmed.wait(600)
        print(
            f"  overview summary built at start in {time.perf_counter() - started:.1f} s (background; pages render meanwhile)"
        )
        status = console.chain.wait(600)
        print(
            f"  chain verified at start in {time.perf_counter() - started:.1f} s: {status.state}, {status.message}"
        )
        deep = options.rows - 2000 * 50
        deep_deny = _seq_of_nth_newest(path, "deny", 200 * 50)
        with TestClient(app, base_url="http://127.0.0.1") as client:
            sign_in(client, token)
            for label, template in PAGES:
                url = template.format(deep=deep, deep_deny=deep_deny)
                times = [server_ms(client, url) for _ in range(options.runs)]
                median, worst = statistics.median(times), max(times)
                verdict = "ok" if median < TARGET_MS else "OVER TARGET"
                print(
                    f"  {label:<42} {median:7.1f} ms median {worst:7.1f} ms worst   (target < {TARGET_MS:.0f} ms: {verdict})"
                )
        console.close()


def _seq_of_nth_newest(path: Path, decision: str, n: int) -> int:
    conn = sqlite3.connect(path)
    row = conn.execute(
        "SELECT seq FROM records WHERE kind = 'decision' AND decision = ? ORDER BY ts DESC, seq DESC LIMIT 1 OFFSET ?",
        (decision, n),
    ).fetchone()
    conn.close()
    return int(row[0]) if row else 1


if __name__ == "__main__":
    main()
