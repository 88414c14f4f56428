"""Which :class:`~capfence_otel.telemetry.DecisionTelemetry` the plugin uses: built on first use from the global providers.

``CAPFENCE_OTEL_ARGUMENTS=1`` (or ``configure(export_arguments=True)``) opts in to exporting
the call's arguments, redacted as the audit log stores them. :func:`configure` also takes
explicit providers (tests, or an application that keeps its providers out of the globals).
"""

from __future__ import annotations

import os
import threading

from opentelemetry import metrics, trace

from capfence_otel.telemetry import DecisionTelemetry

ARGUMENTS_ENV = "CAPFENCE_OTEL_ARGUMENTS"
_TRUE = frozenset({"1", "true", "yes", "on"})

_lock = threading.Lock()
_telemetry: DecisionTelemetry | None = None


def configure(
    *,
    tracer_provider: trace.TracerProvider | None = None,
    meter_provider: metrics.MeterProvider | None = None,
    export_arguments: bool | None = None,
) -> DecisionTelemetry:
    """Use these providers (default: the global ones) from the next decision on; returns the telemetry now in use.

    ``export_arguments`` defaults to ``$CAPFENCE_OTEL_ARGUMENTS`` (off unless ``1``/``true``).
    """
    global _telemetry
    if export_arguments is None:
        export_arguments = os.environ.get(ARGUMENTS_ENV, "").strip().lower() in _TRUE
    telemetry = DecisionTelemetry(tracer_provider, meter_provider, export_arguments=export_arguments)
    with _lock:
        _telemetry = telemetry
    return telemetry


def flush(timeout: float = 10.0) -> bool:
    """Wait until every decision so far has its span and measurements handed to the SDK (False if ``timeout`` passed first).

    The SDK's own ``force_flush`` then exports them; both also happen at exit.
    """
    telemetry = _telemetry
    return telemetry.flush(timeout) if telemetry is not None else True


def telemetry_in_use() -> DecisionTelemetry:
    """The telemetry decisions go to (built from the global providers on first use)."""
    telemetry = _telemetry
    if telemetry is not None:
        return telemetry
    with _lock:
        if _telemetry is not None:
            return _telemetry
    return configure()
