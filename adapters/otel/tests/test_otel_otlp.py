"""A real OTLP/HTTP export, and exporters that fail or hang.

The receiver is an HTTP server on loopback started by the test; it decodes what
arrives with the official protobuf definitions (``opentelemetry-proto``). The SDK's
batch span processor and periodic metric reader do the exporting, in their own threads.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

import capfence_otel
from capfence import ActionRuntime


class Receiver:
    """An OTLP/HTTP receiver on 127.0.0.1: decoded requests per path, and a condition to wait on."""

    def __init__(self) -> None:
        self.traces: list[ExportTraceServiceRequest] = []
        self.metrics: list[ExportMetricsServiceRequest] = []
        self.changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                assert self.headers["Content-Type"] == "application/x-protobuf"
                if self.path == "/v1/traces":
                    request: ExportTraceServiceRequest | ExportMetricsServiceRequest = (
                        ExportTraceServiceRequest.FromString(body)
                    )
                    target = receiver.traces
                else:
                    request = ExportMetricsServiceRequest.FromString(body)
                    target = receiver.metrics
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()
                with receiver.changed:
                    target.append(request)  # type: ignore[arg-type]
                    receiver.changed.notify_all()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def wait_for(self, predicate: object, timeout: float = 30) -> None:
        with self.changed:
            assert self.changed.wait_for(predicate, timeout), "nothing arrived in time"  # type: ignore[arg-type]

    def spans(self) -> list[object]:
        return [
            span for r in self.traces for rs in r.resource_spans for ss in rs.scope_spans for span in ss.spans
        ]

    def metric_names(self) -> set[str]:
        return {
            m.name
            for r in self.metrics
            for rm in r.resource_metrics
            for sm in rm.scope_metrics
            for m in sm.metrics
        }


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    found.thread.start()
    yield found
    found.server.shutdown()
    found.server.server_close()


def attributes(span: object) -> dict[str, object]:
    out: dict[str, object] = {}
    for kv in span.attributes:  # type: ignore[attr-defined]
        value = kv.value
        out[kv.key] = getattr(value, value.WhichOneof("value"))
    return out


def test_spans_and_metrics_reach_an_otlp_http_receiver(receiver: Receiver, runtime: ActionRuntime) -> None:
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(
        BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{receiver.url}/v1/traces"))
    )
    reader = PeriodicExportingMetricReader(
        OTLPMetricExporter(endpoint=f"{receiver.url}/v1/metrics"), export_interval_millis=60_000
    )
    meter_provider = MeterProvider(metric_readers=[reader])
    capfence_otel.configure(tracer_provider=tracer_provider, meter_provider=meter_provider)
    try:
        decision = runtime.evaluate(
            "shell.execute", {"command": "ls"}, agent_id="agent-1", tool="run_shell", call_id="call_9"
        )
        assert capfence_otel.flush()
        tracer_provider.force_flush()
        meter_provider.force_flush()
        receiver.wait_for(lambda: receiver.spans() and receiver.metric_names())
    finally:
        capfence_otel.config._telemetry = None
        tracer_provider.shutdown()
        meter_provider.shutdown()
    (span,) = receiver.spans()
    assert span.name == "capfence.decision run_shell"  # type: ignore[attr-defined]
    sent = attributes(span)
    assert sent["gen_ai.tool.call.id"] == "call_9" and sent["gen_ai.agent.id"] == "agent-1"
    assert sent["capfence.decision"] == "warn" and sent["capfence.rule.id"] == "observe-shell"
    assert sent["capfence.audit.seq"] == decision.record_id and sent["capfence.rule.line"] == 12
    assert {
        "capfence.decisions",
        "capfence.gate.evaluation.duration",
        "capfence.gate.audit.duration",
    } <= receiver.metric_names()


def closed_port() -> int:
    """A loopback port nothing listens on (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def black_hole() -> Iterator[int]:
    """A loopback port that accepts connections and never answers: an exporter sending there hangs until its timeout."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    yield int(sock.getsockname()[1])
    sock.close()


CALLS = 300
BOUND = 0.5
"""Seconds any one decision may take here; an exporter's wait (its 5 s timeout, its retries) would show far above it."""


@pytest.mark.parametrize("where", ["unreachable", "hanging"])
def test_a_failing_or_hanging_exporter_neither_changes_nor_delays_decisions(
    runtime: ActionRuntime, black_hole: int, where: str
) -> None:
    port = closed_port() if where == "unreachable" else black_hole
    endpoint = f"http://127.0.0.1:{port}"
    tracer_provider = TracerProvider()
    exporter = OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces", timeout=5)
    processor = BatchSpanProcessor(
        exporter, max_queue_size=64, max_export_batch_size=16, schedule_delay_millis=10
    )
    tracer_provider.add_span_processor(processor)
    reader = PeriodicExportingMetricReader(
        OTLPMetricExporter(endpoint=f"{endpoint}/v1/metrics", timeout=5), export_interval_millis=10
    )
    meter_provider = MeterProvider(metric_readers=[reader])
    capfence_otel.configure(tracer_provider=tracer_provider, meter_provider=meter_provider)
    slowest = 0.0
    try:
        for i in range(CALLS):
            start = time.perf_counter()
            decision = runtime.evaluate("shell.execute", {"command": f"ls {i}"}, agent_id="a")
            slowest = max(slowest, time.perf_counter() - start)
            assert (
                decision.action == "warn" and decision.rule == "observe-shell" and decision.record_id == i + 1
            )
        # the plugin's worker hands every span to the batch processor without waiting on the exporter
        assert capfence_otel.flush()
    finally:
        capfence_otel.config._telemetry = None
        started = time.perf_counter()
        # may wait out the exporter's timeout: not our concern
        threading.Thread(target=tracer_provider.shutdown, daemon=True).start()
        threading.Thread(target=meter_provider.shutdown, daemon=True).start()
        assert time.perf_counter() - started < BOUND
    assert slowest < BOUND, f"a decision took {slowest:.3f} s with the exporter {where}"
