"""Decisions as OpenTelemetry spans and metrics.

One :class:`DecisionTelemetry` turns each decision the runtime reports
(``capfence_on_decision``) into:

* a span ``capfence.decision {tool}``, a child of whatever span is current where the
  tool call was decided (the framework's ``execute_tool`` or tool-node span), from the
  moment the gate started deciding to the moment the decision was written. A span, not
  an event on the current span: it carries the gate's own duration, it is there when
  no span is open (a root span then), and OpenTelemetry is retiring span events;
* ``capfence.decisions`` (a counter by decision, capability, rule and what decided),
  ``capfence.gate.evaluation.duration`` and ``capfence.gate.audit.duration``
  (histograms, seconds) and ``capfence.approvals.pending`` (an up-down counter).

On the call path the hook only notes the decision (the current OpenTelemetry context,
the clock, the decision and call objects) in a bounded queue: building spans and
recording measurements with the Python SDK costs tens of microseconds per decision, so a
worker thread does it, with the span's parent and start and end times taken at the
decision, so the trace is the same as if it had been done in line. A full queue
(:data:`QUEUE_LIMIT` decisions waiting) drops the oldest; :attr:`DecisionTelemetry.dropped`
counts them. :meth:`DecisionTelemetry.flush` waits for the queue to drain (tests, shutdown;
it also runs at exit). Exporting is then the SDK's processors' and readers' work in
their own threads: with a batch span processor and a periodic metric reader (what the
SDK's OTLP set-up uses), an exporter that fails or hangs never delays a decision.
Nothing is recorded until the application configures the SDK.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections import OrderedDict, deque
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

from opentelemetry import context as otel_context
from opentelemetry import metrics, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from capfence_otel import attributes as attr

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.util.types import AttributeValue

    from capfence.call.decision import Decision, Timing
    from capfence.call.view import CallView
    from capfence.policy.compiled import Policy

log = logging.getLogger("capfence")
SCOPE = "capfence"
TRACKED_APPROVALS = 10_000
"""Approval requests remembered as pending by this process (the oldest is forgotten past it)."""
_RESOLVED_BY = frozenset({"approval", "approval_timeout"})
QUEUE_LIMIT = 10_000
"""Decisions waiting for the worker; past it the oldest is dropped (and counted) rather than anything waiting."""
INTERVAL = 0.05
"""Seconds the worker sleeps between drains of the queue when nothing asks it to flush."""

Noted = tuple["CallView", "Decision", "Timing | None", "Policy | None", "Context", int]
"""What the hook keeps of one decision: call, decision, timing, policy, the current context, and the wall clock (ns) at the end."""


def _version() -> str | None:
    try:
        return version("capfence-otel")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return None


class DecisionTelemetry:
    """Spans and metrics for decisions, from the given providers (default: the global ones, set up by the application).

    ``export_arguments``: also put the call's arguments on the span
    (``gen_ai.tool.call.arguments``), as the audit log stores them: after the
    policy's ``redact`` keys and its ``max_payload_bytes`` truncation. Off by default.
    """

    def __init__(
        self,
        tracer_provider: trace.TracerProvider | None = None,
        meter_provider: metrics.MeterProvider | None = None,
        *,
        export_arguments: bool = False,
    ) -> None:
        self.export_arguments = export_arguments
        self.tracer = trace.get_tracer(SCOPE, _version(), tracer_provider)
        meter = metrics.get_meter(SCOPE, _version() or "", meter_provider)
        self.decisions = meter.create_counter(attr.DECISIONS, "{decision}", "Tool calls decided by CapFence")
        self.evaluation = meter.create_histogram(
            attr.EVALUATION_DURATION,
            "s",
            "Time CapFence took to evaluate a call against the policy",
            explicit_bucket_boundaries_advisory=attr.DURATION_BUCKETS,
        )
        self.audit = meter.create_histogram(
            attr.AUDIT_DURATION,
            "s",
            "Time CapFence took to write a decision to the audit log",
            explicit_bucket_boundaries_advisory=attr.DURATION_BUCKETS,
        )
        self.pending = meter.create_up_down_counter(
            attr.PENDING_APPROVALS,
            "{request}",
            "Approval requests this process filed that no decision has resolved yet",
        )
        self._pending_ids: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()
        self._queue: deque[Noted] = deque(maxlen=QUEUE_LIMIT)
        self._wake = threading.Event()
        self._done = threading.Condition()
        self._busy = False
        self.dropped = 0
        """Decisions dropped because :data:`QUEUE_LIMIT` were already waiting."""
        self._worker: threading.Thread | None = None
        self._pid = 0

    def note(self, call: CallView, decision: Decision, timing: Timing | None, policy: Policy | None) -> None:
        """On the call path: keep what the span and measurements need, for the worker. Never blocks."""
        item: Noted = (call, decision, timing, policy, otel_context.get_current(), time.time_ns())
        queue = self._queue
        if len(queue) >= QUEUE_LIMIT:
            self.dropped += 1  # the append below pushes the oldest out
        queue.append(item)
        if self._pid != os.getpid():  # first use, or a forked child (threads do not survive a fork)
            self._start()

    def record(
        self, call: CallView, decision: Decision, timing: Timing | None, policy: Policy | None
    ) -> None:
        """The span and the measurements of one decision, now, in this thread (what the worker does per decision)."""
        self._handle((call, decision, timing, policy, otel_context.get_current(), time.time_ns()))

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every decision noted so far has its span and measurements (False if ``timeout`` passed first)."""
        self._wake.set()
        with self._done:
            return self._done.wait_for(lambda: not self._queue and not self._busy, timeout)

    def _start(self) -> None:
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self._worker = threading.Thread(target=self._run, name="capfence-otel", daemon=True)
            self._worker.start()
        atexit.register(self.flush, 2.0)

    def _run(self) -> None:
        while True:
            self._wake.wait(INTERVAL)
            self._wake.clear()
            self._drain()

    def _drain(self) -> None:
        queue = self._queue
        while True:
            with self._done:
                if not queue:
                    self._busy = False
                    self._done.notify_all()
                    return
                item = queue.popleft()
                self._busy = True
            try:
                self._handle(item)
            except Exception:
                log.exception("capfence-otel: could not record a decision; skipped")

    def _handle(self, item: Noted) -> None:
        call, decision, timing, policy, parent, end = item
        self._span(call, decision, timing, policy, parent, end)
        self._metrics(call, decision, timing)

    def _span(
        self,
        call: CallView,
        decision: Decision,
        timing: Timing | None,
        policy: Policy | None,
        parent: Context,
        end: int,
    ) -> None:
        start = end
        if timing is not None:
            start = end - int((timing.evaluation + timing.audit) * 1e9)
        name = f"{attr.SPAN_NAME} {call.tool or call.capability}"
        span = self.tracer.start_span(name, context=parent, kind=SpanKind.INTERNAL, start_time=start)
        if span.is_recording():
            span.set_attributes(span_attributes(call, decision))
            if self.export_arguments and policy is not None:
                span.set_attribute(attr.GEN_AI_TOOL_CALL_ARGUMENTS, redacted_arguments(call, policy))
            if decision.decided_by == "internal_error":
                span.set_attribute(attr.ERROR_TYPE, "capfence.internal_error")
                span.set_status(Status(StatusCode.ERROR, decision.reason))
        span.end(end)

    def _metrics(self, call: CallView, decision: Decision, timing: Timing | None) -> None:
        labels: dict[str, AttributeValue] = {
            attr.DECISION: decision.action,
            attr.CAPABILITY: call.capability,
            attr.DECIDED_BY: decision.decided_by,
        }
        if decision.rule is not None:
            labels[attr.RULE_ID] = decision.rule
        self.decisions.add(1, labels)
        if timing is not None:
            outcome = {attr.DECISION: decision.action}
            self.evaluation.record(timing.evaluation, outcome)
            self.audit.record(timing.audit, outcome)
        if decision.approval_id is not None:
            self._track_approval(decision)

    def _track_approval(self, decision: Decision) -> None:
        """+1 when a held decision names a request not seen before; -1 when a decision resolves a request seen pending."""
        request = decision.approval_id
        assert request is not None
        with self._lock:
            if decision.action == "require_approval":
                if request in self._pending_ids:
                    return
                self._pending_ids[request] = None
                change = 1
                if len(self._pending_ids) > TRACKED_APPROVALS:
                    self._pending_ids.popitem(last=False)
                    change = 0  # one forgotten, one added
            elif decision.decided_by in _RESOLVED_BY and request in self._pending_ids:
                del self._pending_ids[request]
                change = -1
            else:
                return
        if change:
            self.pending.add(change)


def span_attributes(call: CallView, decision: Decision) -> dict[str, AttributeValue]:
    """The GenAI and ``capfence.*`` attributes of a decision's span (unset values left out)."""
    provenance = decision.provenance
    values: tuple[tuple[str, AttributeValue | None], ...] = (
        (attr.GEN_AI_TOOL_NAME, call.tool),
        (attr.GEN_AI_TOOL_CALL_ID, call.call_id),
        (attr.GEN_AI_AGENT_ID, call.agent_id),
        (attr.DECISION, decision.action),
        (attr.DECIDED_BY, decision.decided_by),
        (attr.CAPABILITY, call.capability),
        (attr.RULE_ID, decision.rule),
        (attr.RULE_SOURCE, provenance.source if provenance else None),
        (attr.RULE_LINE, provenance.line if provenance else None),
        (attr.POLICY_DIGEST, decision.policy_digest),
        (attr.REASON, decision.reason),
        (attr.AUDIT_SEQ, decision.record_id),
        (attr.APPROVAL_ID, decision.approval_id),
        (attr.APPROVER, provenance.approver if provenance else None),
        (attr.FRAMEWORK, call.framework),
        (attr.ENVIRONMENT, call.environment),
    )
    return {name: value for name, value in values if value is not None}


def redacted_arguments(call: CallView, policy: Policy) -> str:
    """The arguments as the audit record stores them: the policy's ``redact`` keys masked, truncated past ``max_payload_bytes``."""
    from capfence.audit.payload import serialize

    return serialize(call.payload, redact=policy.redact, max_bytes=policy.max_payload_bytes).text
