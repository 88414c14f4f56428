"""Added latency of ``capfence mcp proxy`` per ``tools/call`` over stdio, against calling the server directly.

    python benchmarks/bench_mcp_proxy.py [--calls N]

The same SDK server (adapters/mcp/tests/demo_server.py, tool ``echo``) is called N times with the
SDK's ClientSession, directly and through the proxy (policy: allow, audit log on disk), in
alternating rounds. Prints median and p99 per call and the difference (target: <= 1 ms median added).
Needs capfence-mcp installed; without it the script says so and exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVER = ROOT / "adapters" / "mcp" / "tests" / "demo_server.py"


async def timings(command: list[str], calls: int) -> list[float]:
    from mcp import ClientSession, StdioServerParameters, stdio_client

    params = StdioServerParameters(command=command[0], args=command[1:], env=dict(os.environ))
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        for _ in range(50):  # warm up
            await session.call_tool("echo", {"text": "warm"})
        out = []
        for i in range(calls):
            started = time.perf_counter()
            await session.call_tool("echo", {"text": f"call {i}"})
            out.append(time.perf_counter() - started)
        return out


def p99(values: list[float]) -> float:
    return sorted(values)[int(len(values) * 0.99) - 1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    calls, rounds = parser.parse_known_args()[0].calls, parser.parse_known_args()[0].rounds
    try:
        import capfence_mcp  # noqa: F401
    except ImportError:
        print("bench_mcp_proxy: capfence-mcp is not installed (pip install -e adapters/mcp); skipped")
        return
    capfence = Path(sys.executable).with_name("capfence")
    with tempfile.TemporaryDirectory() as tmp:
        policy = Path(tmp) / "policy.yaml"
        policy.write_text("allow:\n  - capability: 'mcp.*'\n")
        direct_cmd = [sys.executable, str(SERVER), "--workdir", tmp]
        proxy_cmd = [
            str(capfence),
            "mcp",
            "proxy",
            "--policy",
            str(policy),
            "--audit-log",
            str(Path(tmp) / "audit.db"),
            "--",
            *direct_cmd,
        ]
        direct: list[float] = []
        proxied: list[float] = []
        for _ in range(rounds):
            direct += asyncio.run(timings(direct_cmd, calls // rounds))
            proxied += asyncio.run(timings(proxy_cmd, calls // rounds))
    dm, pm = statistics.median(direct), statistics.median(proxied)
    print(
        f"bench_mcp_proxy ({len(direct)} tools/call each over stdio, SDK client and server, interleaved rounds)"
    )
    print(f"  direct to the server       median {dm * 1e3:7.3f} ms   p99 {p99(direct) * 1e3:7.3f} ms")
    print(f"  through capfence mcp proxy median {pm * 1e3:7.3f} ms   p99 {p99(proxied) * 1e3:7.3f} ms")
    print(
        f"  added by the proxy         median {(pm - dm) * 1e3:7.3f} ms   p99 {(p99(proxied) - p99(direct)) * 1e3:7.3f} ms"
        "   (target: <= 1 ms median; includes the decision's audit write)"
    )


if __name__ == "__main__":
    main()
