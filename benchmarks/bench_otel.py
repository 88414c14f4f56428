"""What the OpenTelemetry plugin adds to each decision: ``runtime.evaluate`` with capfence-otel on vs off.

"On": the SDK configured as in production — a ``BatchSpanProcessor`` with the OTLP/HTTP
exporter and a ``PeriodicExportingMetricReader`` with the OTLP/HTTP metric exporter,
both sending to a receiver on loopback started here (so export work competes for the
CPU as it would). "Off": the same runtime set-up with the plugin blocked. Both run
interleaved in the same process on the same policy; we report medians and the
difference (target: <= 10 us added per call at the median), plus what the hook
itself costs the call path (it notes the decision; a worker thread builds the span and
the measurements, whose CPU time competes for the GIL in a tight loop like this one).

    python benchmarks/bench_otel.py [--calls N]      # needs ./adapters/otel[sdk] installed
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

POLICY = """\
deny:
  - capability: shell.execute
    contains: 'rm -rf'
warn:
  - id: observe-shell
    capability: shell.execute
allow:
  - capability: filesystem.read
"""
PAYLOAD = {"command": "git status --short", "cwd": "/srv/app"}


class _Ok(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def time_calls(fn: Callable[[], object], calls: int) -> list[float]:
    samples = []
    for _ in range(calls):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def interleaved(variants: dict[str, Callable[[], object]], calls: int, rounds: int = 10) -> dict[str, float]:
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for fn in variants.values():
        time_calls(fn, 200)
    for _ in range(rounds):
        for name, fn in variants.items():
            samples[name].extend(time_calls(fn, max(1, calls // rounds)))
    return {name: statistics.median(values) for name, values in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=5000)
    args = parser.parse_args()

    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    import capfence_otel
    from capfence import ActionRuntime
    from capfence.call.decision import Timing
    from capfence.call.view import CallView
    from capfence.plugins import BLOCK_ENV, build_registry

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{url}/v1/traces")))
    meter_provider = MeterProvider(
        metric_readers=[
            PeriodicExportingMetricReader(
                OTLPMetricExporter(endpoint=f"{url}/v1/metrics"), export_interval_millis=1000
            )
        ]
    )
    telemetry = capfence_otel.configure(tracer_provider=tracer_provider, meter_provider=meter_provider)
    manager = build_registry().manager
    assert any(manager.get_name(p) == "otel" for p in manager.get_plugins()), "install ./adapters/otel first"

    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        (tmp / "policy.yaml").write_text(POLICY)
        on = ActionRuntime.from_policy(tmp / "policy.yaml", audit_log=tmp / "on.db")
        os.environ[BLOCK_ENV] = "otel"
        blocked = build_registry()  # the same plugins, capfence-otel blocked
        del os.environ[BLOCK_ENV]
        off = ActionRuntime.from_policy(tmp / "policy.yaml", audit_log=tmp / "off.db", plugins=blocked)
        assert off.plugins.manager.hook.capfence_on_decision.get_hookimpls() == []

        view = CallView(
            "shell.execute", PAYLOAD, "bench", tool="run_shell", framework="bench", call_id="call_1"
        )
        decision = on.evaluate("shell.execute", PAYLOAD, agent_id="bench", tool="run_shell", call_id="call_1")
        timing = Timing(time.perf_counter(), 5e-6, 4e-5)
        medians = interleaved(
            {
                "off": lambda: off.evaluate(
                    "shell.execute", PAYLOAD, agent_id="bench", tool="run_shell", call_id="call_1"
                ),
                "on": lambda: on.evaluate(
                    "shell.execute", PAYLOAD, agent_id="bench", tool="run_shell", call_id="call_1"
                ),
                "hook": lambda: telemetry.note(view, decision, timing, on.policy),
            },
            args.calls,
        )
        capfence_otel.flush(60)
        on.close()
        off.close()
    tracer_provider.shutdown()
    meter_provider.shutdown()
    server.shutdown()
    added = (medians["on"] - medians["off"]) * 1e6
    print(f"bench_otel ({args.calls} calls each, interleaved rounds, medians)")
    print(f"  evaluate+audit, plugin off       {medians['off'] * 1e6:7.1f} us   (baseline)")
    print(
        f"  evaluate+audit, plugin on        {medians['on'] * 1e6:7.1f} us   {added:+.1f} us added   (target <= 10 us)"
    )
    print(
        f"  the plugin's hook alone          {medians['hook'] * 1e6:7.1f} us   (the call path's share; a worker builds the rest)"
    )


if __name__ == "__main__":
    main()
