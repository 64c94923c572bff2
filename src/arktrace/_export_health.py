"""Export failures told once per outage: a backend that is down costs one warning, not one per batch or span.

OpenTelemetry's OTLP exporter logs every failed batch and every retry, and the SDK's batch processor logs
every span it drops from a full queue, on the application's thread. With a backend down for an hour that is
thousands of log lines. arktrace's exporters and processors run their OpenTelemetry code with a thread-local
marker set; a filter on OpenTelemetry's loggers turns the records made under that marker into a count and a
reason on that backend's :class:`ExportHealth`, which logs one warning when export starts failing and one
when it works again, with the number of spans lost in between. Records from the application's own
exporters carry no marker and pass untouched. The reason in the warning is the exporter's or the HTTP
library's text, which may quote the request URL or a header: it goes through :func:`arktrace._redact.redact`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from arktrace._redact import redact

__all__ = [
    "ExportHealth",
    "ReportingBatchSpanProcessor",
    "ReportingSpanExporter",
    "install_filter",
    "remove_filter",
    "reporting_metric_exporter",
]

logger = logging.getLogger("arktrace")

# Where OpenTelemetry (old and new layouts) logs export failures, retries and queue overflow. A filter on a
# logger only sees records made on that very logger, so each one is listed.
_OTEL_LOGGERS = (
    "opentelemetry.exporter.otlp.proto.http",
    "opentelemetry.exporter.otlp.proto.http._common",
    "opentelemetry.exporter.otlp.proto.http.trace_exporter",
    "opentelemetry.exporter.otlp.proto.http.metric_exporter",
    "opentelemetry.exporter.otlp.common.http",
    "opentelemetry.sdk._shared_internal",
    "opentelemetry.sdk.trace.export",
    "opentelemetry.sdk.metrics._internal.export",
)
_REASON_LIMIT = 300

_local = threading.local()
_installed: _Absorb | None = None
_install_lock = threading.Lock()


class ExportHealth:
    """Whether one backend's exports of one signal work; logs each change of state once."""

    def __init__(
        self,
        backend: str,
        where: str,
        signal: str = "spans",
        secrets: Sequence[str] = (),
        unit: str = "spans",
        spool: str | None = None,
    ) -> None:
        self.backend = backend
        self.spool = spool  # the folder failed batches are kept in (arktrace._spool), when it is on
        self.where = where
        self.signal = signal
        self.unit = unit  # what `dropped` counts
        self._secrets = tuple(s for s in secrets if s)
        self._lock = threading.Lock()
        self.failing = False
        self.outages = 0
        self.dropped = 0  # items not delivered since the current outage began
        self.kept = 0  # of those, spans kept in the spool, to be sent from there
        self._reason: str | None = None

    def absorb(self, record: logging.LogRecord) -> None:
        """Take in a record OpenTelemetry logged while working for this backend."""
        try:
            message = record.getMessage()
        except Exception:  # a malformed record must not break the exporter thread
            return
        if record.levelno >= logging.WARNING and "queue" in message.lower() and "full" in message.lower():
            # The processor drops the span it was just given: count it, and it is an outage in itself.
            self.failed(1, "the export queue is full (the backend is slower than the span rate, or down)")
        elif record.levelno >= logging.WARNING:
            # Keep the first and the last word on the failure: "retrying after 429" then "gave up".
            self._reason = message if self._reason is None else f"{self._reason.split(' / ')[0]} / {message}"

    def failed(self, count: int, reason: str | None = None) -> None:
        with self._lock:
            self.dropped += count
            if self.failing:
                return
            self.failing = True
            self.outages += 1
        # The reason is the HTTP library's or the exporter's text, which may quote the request URL.
        why = redact(reason or self._reason or "no reason given", self._secrets)
        if len(why) > _REASON_LIMIT:
            why = why[:_REASON_LIMIT] + "…"
        self._reason = None
        fate = "dropped" if self.spool is None else f"kept in the spool folder {self.spool}"
        logger.warning(
            "arktrace: cannot export %s to %s (%s): %s. They are %s until it recovers; this is logged "
            "once per outage",
            self.signal,
            self.backend,
            redact(self.where, self._secrets),
            why,
            fate,
        )

    def spooled(self, count: int) -> None:
        """``count`` spans of a batch about to be counted as failed are safe on disk, not lost."""
        with self._lock:
            self.kept += count

    def succeeded(self) -> None:
        if not self.failing:  # the common case: no lock, no work
            return
        with self._lock:
            if not self.failing:
                return
            self.failing, dropped, self.dropped = False, self.dropped, 0
            kept, self.kept = self.kept, 0
            self._reason = None
        logger.warning(
            "arktrace: exporting %s to %s works again; %d %s were dropped while it failed%s",
            self.signal,
            self.backend,
            dropped - kept,
            self.unit,
            f" ({kept} kept in the spool are sent from there)" if kept else "",
        )


class _Absorb(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        health = getattr(_local, "health", None)
        if health is None:
            return True
        health.absorb(record)
        return False


def install_filter() -> None:
    """Put the filter on OpenTelemetry's loggers (once per process; it is inert for other exporters)."""
    global _installed
    with _install_lock:
        if _installed is not None:
            return
        absorb = _Absorb()
        for name in _OTEL_LOGGERS:
            # First in line: OpenTelemetry's own duplicate filter would otherwise hide repeats from the count.
            logging.getLogger(name).filters.insert(0, absorb)
        _installed = absorb


def remove_filter() -> None:
    """Take the filter off OpenTelemetry's loggers again (at shutdown)."""
    global _installed
    with _install_lock:
        absorb, _installed = _installed, None
        if absorb is None:
            return
        for name in _OTEL_LOGGERS:
            logging.getLogger(name).removeFilter(absorb)


class _Working:
    """Marks the current thread as working for ``health`` (re-entrant: restores what was there)."""

    __slots__ = ("_health", "_previous")

    def __init__(self, health: ExportHealth) -> None:
        self._health = health
        self._previous: ExportHealth | None = None

    def __enter__(self) -> None:
        self._previous = getattr(_local, "health", None)
        _local.health = self._health

    def __exit__(self, *exc: object) -> None:
        _local.health = self._previous


class ReportingSpanExporter(SpanExporter):
    """Wraps a span exporter: its outcome feeds :class:`ExportHealth`, its own log lines are absorbed."""

    def __init__(self, exporter: SpanExporter, health: ExportHealth) -> None:
        self.exporter = exporter
        self.health = health

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        with _Working(self.health):
            try:
                result = self.exporter.export(spans)
            except Exception as error:  # the processor would log it per batch: count it instead
                self.health.failed(len(spans), f"{type(error).__name__}: {error}")
                return SpanExportResult.FAILURE
        if result is SpanExportResult.SUCCESS:
            self.health.succeeded()
        else:
            self.health.failed(len(spans))
        return result

    def shutdown(self) -> None:
        with _Working(self.health):
            self.exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        with _Working(self.health):
            return self.exporter.force_flush(timeout_millis)


class ReportingBatchSpanProcessor(BatchSpanProcessor):
    """A ``BatchSpanProcessor`` whose queue-full drops count towards its backend's health, unlogged."""

    def __init__(self, exporter: ReportingSpanExporter, **kwargs: Any) -> None:
        super().__init__(exporter, **kwargs)
        self._health = exporter.health

    def on_end(self, span: ReadableSpan) -> None:
        # On the application's thread for every span: kept to two attribute writes (nothing nests here).
        _local.health = self._health
        try:
            BatchSpanProcessor.on_end(self, span)
        finally:
            _local.health = None

    def shutdown(self) -> None:
        with _Working(self._health):
            super().shutdown()

    def force_flush(self, timeout_millis: int | None = None) -> bool:
        with _Working(self._health):
            return super().force_flush(timeout_millis)  # type: ignore[arg-type]


def reporting_metric_exporter(exporter: Any, health: ExportHealth) -> Any:
    """Wrap an SDK ``MetricExporter`` like :class:`ReportingSpanExporter` wraps a span exporter."""
    from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult

    class ReportingMetricExporter(MetricExporter):
        def __init__(self) -> None:
            # The reader asks its exporter for these; they must be the wrapped exporter's.
            super().__init__(
                preferred_temporality=exporter._preferred_temporality,
                preferred_aggregation=exporter._preferred_aggregation,
            )
            self.exporter = exporter
            self.health = health

        def export(self, metrics_data: Any, timeout_millis: float = 10_000, **kwargs: Any) -> Any:
            with _Working(health):
                try:
                    result = exporter.export(metrics_data, timeout_millis=timeout_millis, **kwargs)
                except Exception as error:
                    health.failed(1, f"{type(error).__name__}: {error}")
                    return MetricExportResult.FAILURE
            if result is MetricExportResult.SUCCESS:
                health.succeeded()
            else:
                health.failed(1)
            return result

        def force_flush(self, timeout_millis: float = 10_000) -> bool:
            with _Working(health):
                return exporter.force_flush(timeout_millis=timeout_millis)

        def shutdown(self, *args: Any, **kwargs: Any) -> None:
            with _Working(health):
                exporter.shutdown(*args, **kwargs)

    return ReportingMetricExporter()
