"""Fixtures: an SDK tracer provider with an in-memory exporter, an in-memory metric reader, and a runtime.

The plugin is installed (it loads through the ``capfence`` entry point like any plugin);
each test points it at fresh providers with :func:`capfence_otel.configure`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import capfence_otel
from capfence import ActionRuntime

POLICY = """\
redact: [password]
deny:
  - id: no-secrets
    capability: "*"
    contains: secret
    reason: secrets are off limits
require_approval:
  - id: hold-deploys
    capability: deploy.production
    approval_timeout: 1h
warn:
  - id: observe-shell
    capability: shell.execute
allow:
  - id: reads
    capability: filesystem.read
"""


@dataclass
class Telemetry:
    spans: InMemorySpanExporter
    metrics: InMemoryMetricReader
    tracer_provider: TracerProvider

    def finished(self) -> list[ReadableSpan]:
        assert capfence_otel.flush()  # the plugin's worker has handed every decision so far to the SDK
        return list(self.spans.get_finished_spans())

    def decision_spans(self) -> list[ReadableSpan]:
        return [s for s in self.finished() if s.name.startswith("capfence.decision")]

    def points(self, name: str) -> list[Any]:
        """The data points of metric ``name`` collected now."""
        assert capfence_otel.flush()
        data = self.metrics.get_metrics_data()
        found = []
        for resource in data.resource_metrics if data else ():
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name == name:
                        found.extend(metric.data.data_points)
        return found


@pytest.fixture
def telemetry() -> Iterator[Telemetry]:
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    capfence_otel.configure(
        tracer_provider=tracer_provider, meter_provider=meter_provider, export_arguments=False
    )
    yield Telemetry(spans, reader, tracer_provider)
    capfence_otel.config._telemetry = None
    tracer_provider.shutdown()
    meter_provider.shutdown()


@pytest.fixture
def policy_file(tmp_path: Path) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY)
    return path


@pytest.fixture
def runtime(tmp_path: Path, policy_file: Path) -> Iterator[ActionRuntime]:
    rt = ActionRuntime.from_policy(policy_file, audit_log=tmp_path / "audit.db")
    yield rt
    rt.close()
