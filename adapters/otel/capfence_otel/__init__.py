"""CapFence for OpenTelemetry: each decision as a span in the agent's trace, with its provenance, and decision metrics.

Install it next to the core (``pip install ./adapters/otel``) and configure the
OpenTelemetry SDK as usual in the application: the plugin is found through the
``capfence`` entry-point group and uses the global tracer and meter providers.
See docs/opentelemetry.md for the spans, attributes and metrics, and a collector set-up.
"""

from __future__ import annotations

from capfence_otel.config import ARGUMENTS_ENV, configure, flush, telemetry_in_use
from capfence_otel.telemetry import DecisionTelemetry, redacted_arguments, span_attributes

__all__ = [
    "ARGUMENTS_ENV",
    "DecisionTelemetry",
    "configure",
    "flush",
    "redacted_arguments",
    "span_attributes",
    "telemetry_in_use",
]
