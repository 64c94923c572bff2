"""``arktrace.init()``, ``flush()`` and ``shutdown()``: resource, providers, one exporter per backend.

What ``init()`` does, in this order, so that a configuration error leaves nothing half set up:

1. loads ``.env`` from the working directory (variables already set win);
2. validates every selected backend, the instrument options and the spool (:class:`~arktrace.ConfigError`
   on any problem);
3. lets each backend do its init-time I/O outside the lock (``arktrace.backends.mlflow`` resolves
   ``MLFLOW_EXPERIMENT_NAME`` to an id over MLflow's REST API, creating the experiment when it is missing;
   the only network I/O ``init()`` ever does, 5 s timeout); a failure is a ConfigError;
4. builds the resource and adds one ``BatchSpanProcessor`` per backend to the global SDK ``TracerProvider``,
   creating and registering that provider only when the application has none;
5. sets up a ``MeterProvider`` with one periodic OTLP reader per metrics-capable backend;
6. instruments the OpenAI SDK and registers a bounded shutdown at interpreter exit.

Nothing here prints to stdout or raises after ``init()`` returned: exports run on background threads, and
a failing backend is logged once per outage (``arktrace._export_health``), not once per batch.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import signal
import sys
import threading
import time
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Callable

from opentelemetry import metrics as metrics_api
from opentelemetry import trace as trace_api
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SpanExporter

from arktrace import _events
from arktrace import _instrument as instrumentation
from arktrace._context import detach_span_processor
from arktrace._errors import ConfigError
from arktrace._export_health import (
    ExportHealth,
    ReportingBatchSpanProcessor,
    ReportingSpanExporter,
    install_filter,
    remove_filter,
    reporting_metric_exporter,
)
from arktrace._faults import forget as forget_faults
from arktrace._options import BY_ENV, BY_KEYWORD, keywords, passed_on, unknown_keyword
from arktrace._prices import load_prices
from arktrace._redact import display_url
from arktrace._settings import load_settings
from arktrace._version import __version__
from arktrace.backends import (
    BackendConfig,
    describe_unknown,
    exporter_headers,
    generic,
    incomplete_backends,
    metrics_dropped,
    prepare,
    resolve_backends,
    summarize,
    unknown_variables,
)

__all__ = ["InitResult", "build_resource", "flush", "init", "shutdown"]

logger = logging.getLogger("arktrace")

DEFAULT_SHUTDOWN_TIMEOUT = 5.0


@dataclass(frozen=True)
class InitResult:
    """What :func:`init` set up."""

    backends: tuple[str, ...]
    tracer_provider: trace_api.TracerProvider | None
    meter_provider: metrics_api.MeterProvider | None
    reused_tracer_provider: bool
    metrics: bool
    instrumented: bool


@dataclass
class _State:
    result: InitResult
    processor: _BackendProcessors
    owns_tracer_provider: bool
    owned_meter_provider: Any  # opentelemetry.sdk.metrics.MeterProvider | None
    uninstrument: Callable[[], None] | None
    owned_logger_provider: Any = None  # opentelemetry.sdk._logs.LoggerProvider | None: content events


_lock = threading.RLock()
_state: _State | None = None
_atexit_registered = False
_sessions: weakref.WeakSet[Any] = weakref.WeakSet()  # the HTTP sessions of the exporters made here
_fork_hook_registered = False
_created_provider_ref: weakref.ref[TracerProvider] | None = None  # the global provider init() registered
# Set by `arktrace run`'s bootstrap: there an unknown ARKTRACE_* name stops the program, as a bad value
# does, because the user asked for tracing and a typo would otherwise run it untraced.
unknown_variables_are_errors = False


class _BackendProcessors(SpanProcessor):
    """The per-backend batch processors, added to the tracer provider as one processor.

    After :func:`shutdown` it becomes inert, so an application's own provider, which may live on, neither
    feeds spans to stopped exporters nor logs about them.
    """

    def __init__(self, processors: Sequence[SpanProcessor]) -> None:
        self._processors: tuple[SpanProcessor, ...] = tuple(processors)
        self._active = bool(self._processors)

    @property
    def processors(self) -> tuple[SpanProcessor, ...]:
        return self._processors

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        if not self._active:
            return
        for processor in self._processors:
            try:
                processor.on_start(span, parent_context=parent_context)
            except Exception:  # never raise into the application
                logger.debug("span processor on_start failed", exc_info=True)

    def on_end(self, span: ReadableSpan) -> None:
        if not self._active:
            return
        for processor in self._processors:
            try:
                processor.on_end(span)
            except Exception:  # never raise into the application
                logger.debug("span processor on_end failed", exc_info=True)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        if not self._active:
            return True
        return _run_bounded([p.force_flush for p in self._processors], timeout_millis / 1000)

    def shutdown(self, timeout_millis: int = 30000) -> bool:  # type: ignore[override]
        """Flush and stop every backend's processor; False when one did not finish in time."""
        if not self._active:
            return True
        self._active = False
        # BatchSpanProcessor.shutdown() takes no timeout (it waits up to 30 s): bound it from outside.
        return _run_bounded([p.shutdown for p in self._processors], timeout_millis / 1000)


def _run_bounded(calls: Sequence[Callable[[], object]], timeout: float) -> bool:
    """Run ``calls`` in parallel daemon threads; True when all returned (not False) within ``timeout``.

    The SDK's ``force_flush`` ignores its timeout and an export can block for the exporter's full timeout,
    so every potentially slow call goes through here to keep flush() and shutdown() within their bounds.
    """
    if not calls:
        return True
    results: list[bool] = []
    threads = []

    def run(call: Callable[[], object]) -> None:
        try:
            results.append(call() is not False)
        except Exception:
            logger.debug("arktrace flush/shutdown step failed", exc_info=True)
            results.append(False)

    for call in calls:
        thread = threading.Thread(target=run, args=(call,), name="arktrace-flush", daemon=True)
        thread.start()
        threads.append(thread)
    deadline = time.monotonic() + max(timeout, 0.0)
    for thread in threads:
        thread.join(max(deadline - time.monotonic(), 0.0))
    return len(results) == len(calls) and all(results)


# ------------------------------------------------------------------------------------------- resource


def build_resource(
    service_name: str | None = None,
    service_version: str | None = None,
    environment: str | None = None,
    attributes: Mapping[str, Any] | None = None,
) -> Resource:
    """The resource for our spans and metrics.

    Precedence, highest first: the explicit arguments, ``attributes``, then ``OTEL_SERVICE_NAME`` and
    ``OTEL_RESOURCE_ATTRIBUTES`` (read by the SDK), then the SDK's defaults.
    """
    attrs: dict[str, Any] = {
        "telemetry.distro.name": "arktrace",
        "telemetry.distro.version": __version__,
    }
    attrs.update(attributes or {})
    if service_name is not None:
        attrs["service.name"] = service_name
    if service_version is not None:
        attrs["service.version"] = service_version
    if environment is not None:
        attrs["deployment.environment.name"] = environment
    return Resource.create(attrs)


# ------------------------------------------------------------------------------------------- exporters


def _span_exporter(
    config: BackendConfig, spool: Any = None, health: Any = None, started: list[Any] | None = None
) -> SpanExporter:
    if config.traces_endpoint is None:
        return ConsoleSpanExporter(out=sys.stderr)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    session = _session()
    exporter = OTLPSpanExporter(
        endpoint=config.traces_endpoint,
        headers=exporter_headers(config, "traces"),  # type: ignore[arg-type]
        timeout=config.timeout,
        session=session,
    )
    if spool is None:
        return exporter
    from arktrace._spool import Spool, SpoolingSpanExporter

    backend_spool = Spool(
        os.path.join(spool.directory, config.name),
        spool.max_bytes,
        config.name,
        config.traces_endpoint,
        exporter_headers(config, "traces"),  # type: ignore[arg-type]
        config.timeout,
        _session,
    )
    if started is not None:
        started.append(backend_spool)  # started by init() once everything is registered
    return SpoolingSpanExporter(exporter, backend_spool, session, health.spooled)


def _span_processor(
    config: BackendConfig, spool: Any = None, spools: list[Any] | None = None
) -> ReportingBatchSpanProcessor:
    """The backend's batch processor; queue and batch sizes come from ``OTEL_BSP_*`` (2048 / 512 spans)."""
    where = display_url(config.traces_endpoint) if config.traces_endpoint else "stderr"
    if spool is not None and config.traces_endpoint is not None:
        folder = os.path.join(spool.directory, config.name)
    else:
        spool = folder = None
    health = ExportHealth(config.name, where, "spans", config.secrets(), spool=folder)
    return ReportingBatchSpanProcessor(
        ReportingSpanExporter(_span_exporter(config, spool, health, spools), health)
    )


def _metric_reader(config: BackendConfig) -> Any:
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

    exporter = OTLPMetricExporter(
        endpoint=config.metrics_endpoint,
        headers=exporter_headers(config, "metrics"),  # type: ignore[arg-type]
        timeout=config.timeout,
        session=_session(),
    )
    assert config.metrics_endpoint is not None
    where = display_url(config.metrics_endpoint)
    health = ExportHealth(config.name, where, "metrics", config.secrets(), unit="metric exports")
    return PeriodicExportingMetricReader(reporting_metric_exporter(exporter, health))


def _logs_endpoint(config: BackendConfig) -> str | None:
    """Where the backend takes OTLP logs: beside its metrics (OpenObserve ``/api/{org}/v1/logs``, DataKit
    ``/otel/v1/logs``, an OTLP endpoint's ``/v1/logs``). Langfuse, MLflow and Phoenix take traces only."""
    metrics = config.metrics_endpoint
    if metrics is None or not metrics.endswith("/v1/metrics"):
        return None
    return metrics[: -len("metrics")] + "logs"


def _logger_provider(configs: Sequence[BackendConfig], resource: Resource, options: Mapping[str, Any]) -> Any:
    """A LoggerProvider exporting the ``gen_ai.client.inference.operation.details`` events to the backends
    that take logs, when a capture mode asks for the events; else None (no exporter, no thread)."""
    if not load_settings(**{k: v for k, v in options.items() if k != "prices"}).content_events:
        return None
    targets = [(c, _logs_endpoint(c)) for c in configs]
    targets = [(c, endpoint) for c, endpoint in targets if endpoint is not None]
    if not targets:
        logger.warning(
            "arktrace: content events are on but no configured backend takes logs (OpenObserve, DataKit "
            "and OTLP endpoints do); the events are handed to the application's LoggerProvider, if any"
        )
        return None
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor

    provider = LoggerProvider(resource=resource, shutdown_on_exit=False)
    for config, endpoint in targets:
        exporter = OTLPLogExporter(
            endpoint=endpoint,
            headers=exporter_headers(config, "logs"),  # type: ignore[arg-type]
            timeout=config.timeout,
            session=_session(),
        )
        provider.add_log_record_processor(BatchLogRecordProcessor(exporter))
    return provider


def _session() -> Any:
    """An exporter's HTTP session, registered so that a forked child drops the connections it inherits."""
    import netrc  # noqa: F401 - see below

    import requests  # the OTLP/HTTP exporter's own dependency

    # requests imports `netrc` inside every request (the first one in a process runs the import). An
    # export thread doing that first import while the application forks leaves the module's import lock
    # held in the child, whose exports then wait on it forever: a pre-fork server's workers would lose
    # every span. Imported here instead, on the thread that calls init(), before any export thread runs.
    global _fork_hook_registered
    session = requests.Session()
    _sessions.add(session)
    if not _fork_hook_registered and hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_drop_inherited_connections)
        _fork_hook_registered = True
    return session


def _drop_inherited_connections() -> None:
    # A pre-fork worker inherits the parent's open keep-alive sockets: exporting on them would mix its
    # requests and responses with the parent's and its siblings' on one TCP stream. Closing the pools in
    # the child closes only the child's copies; the next export opens the child's own connection.
    for session in list(_sessions):
        for adapter in list(session.adapters.values()):
            try:
                adapter.close()
            except Exception:
                logger.debug("arktrace: dropping an inherited connection failed", exc_info=True)


def _instrument(
    tracer_provider: trace_api.TracerProvider,
    meter_provider: Any,
    options: Mapping[str, Any],
    backends: Sequence[str] = (),
) -> Callable[[], None] | None:
    """Instrument the OpenAI SDK; returns how to undo it, or None when it was instrumented already.

    Calls then also write the names of their own that ``backends`` read (MLflow's cost, Langfuse's
    usage and cost JSON): instrumented elsewhere, arktrace cannot tell where the spans go.
    """
    if instrumentation.is_instrumented():
        logger.info("arktrace: the OpenAI SDK was already instrumented; that instrumentation is kept as is")
        return None
    instrumentation.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider, **options)
    instrumentation.write_names_for(backends)
    return instrumentation.uninstrument


# ------------------------------------------------------------------------------------------- public API


def init(
    service_name: str | None = None,
    *,
    backends: str | Sequence[str] | None = None,
    service_version: str | None = None,
    environment: str | None = None,
    resource_attributes: Mapping[str, Any] | None = None,
    instrument: bool = True,
    metrics: bool | None = None,
    dotenv: bool = True,
    spool_dir: str | os.PathLike[str] | None = None,
    spool_max_mb: float | None = None,
    **instrument_options: Any,
) -> InitResult:
    """Send LLM spans (and metrics) to the configured backends.

    Args:
        service_name: ``service.name`` of the resource (default: ``OTEL_SERVICE_NAME``, then
            ``OTEL_RESOURCE_ATTRIBUTES``, then the SDK's ``unknown_service``).
        backends: backend names (``openobserve``, ``langfuse``, ``mlflow``, ``phoenix``, ``datakit``,
            ``otlp``, ``console``), a comma-separated string, or ``[]`` for none. Default:
            ``ARKTRACE_BACKENDS``, else every backend whose credentials are in the environment.
        service_version: ``service.version``.
        environment: ``deployment.environment.name``.
        resource_attributes: further resource attributes (the explicit arguments above win).
        instrument: instrument the OpenAI SDK (default True).
        metrics: export metrics to the backends that accept them (default: ``ARKTRACE_METRICS``, else True).
        dotenv: load ``.env`` from the working directory first; variables already set are kept.
        spool_dir: keep batches a backend does not take on disk here, one folder per backend, and send
            them when it answers again (default: ``ARKTRACE_SPOOL_DIR``, else no spool).
        spool_max_mb: the most each backend's spool folder holds; the oldest batches go first (default:
            ``ARKTRACE_SPOOL_MAX_MB``, else 100).
        **instrument_options: passed to ``arktrace.instrument()``.

    Raises:
        ConfigError: a backend's settings are missing or malformed, or an MLflow experiment name cannot
            be resolved. Nothing is set up in that case.

    A second call while initialised logs a warning and returns the first call's result; call
    :func:`shutdown` first to reconfigure. When the application already registered an SDK
    ``TracerProvider``, arktrace adds its processors to it (and the resource arguments do not apply).
    """
    global _state
    _check_arguments(
        service_name,
        service_version,
        environment,
        resource_attributes,
        instrument,
        metrics,
        dotenv,
        instrument_options,
    )
    with _lock:
        if _state is not None:
            return _already_initialised()
        if dotenv:
            _load_dotenv()
        env = os.environ
        if BY_ENV["OTEL_SDK_DISABLED"].resolve(None, env):
            logger.info("arktrace: OTEL_SDK_DISABLED is true; no spans or metrics are set up")
            return InitResult((), None, None, False, False, False)
        metrics_on = BY_KEYWORD["metrics"].resolve(metrics, env)

        # 1. Validate everything before touching any global state.
        _report_unknown_variables(env)
        if instrument:
            _check_instrument_options(instrument_options)
        configs, source = resolve_backends(backends, env)
        spool = None
        if (
            spool_dir is not None
            or spool_max_mb is not None
            or env.get("ARKTRACE_SPOOL_DIR", "").strip()
            or (env.get("ARKTRACE_SPOOL_MAX_MB", "").strip())
        ):
            from arktrace import _spool  # only when asked for: `import arktrace` stays light

            spool = _spool.read_settings(env, spool_dir, spool_max_mb)
            if spool is not None:
                _spool.prepare(spool, from_keyword=spool_dir is not None)

    # A backend's own I/O (MLflow's experiment look-up, the one step with an effect outside this process)
    # comes after every value was checked, and outside the lock: a slow server must not hold up flush()
    # or shutdown() on other threads for its timeout.
    configs = [prepare(c) for c in configs]

    with _lock:
        if _state is not None:  # another thread's init() finished while the look-up ran
            return _already_initialised()
        existing_tp = trace_api.get_tracer_provider()
        # The provider an earlier init() registered is not the application's: OpenTelemetry lets the
        # global be set once, so it is kept, with this call's resource.
        renew = existing_tp is _created_provider()
        reuse = isinstance(existing_tp, TracerProvider) and not renew
        if reuse and source == "detected" and any(generic(c) for c in configs):
            # An application with its own SDK provider most likely exports to OTEL_EXPORTER_OTLP_* itself.
            logger.info(
                "arktrace: not adding the generic OTLP exporter: the application's TracerProvider is "
                "expected to export to OTEL_EXPORTER_OTLP_ENDPOINT already (name 'otlp' in backends= to "
                "add it anyway)"
            )
            configs = [c for c in configs if not generic(c)]

        # 2. Build providers and processors; nothing global is registered yet.
        resource = build_resource(service_name, service_version, environment, resource_attributes)
        spools: list[Any] = []
        processor = _BackendProcessors([_span_processor(c, spool, spools) for c in configs])
        tracer_provider: trace_api.TracerProvider
        if reuse:
            tracer_provider = existing_tp
            if service_name or service_version or environment or resource_attributes:
                logger.info(
                    "arktrace: using the application's TracerProvider; its resource applies, not the "
                    "service_name/service_version/environment/resource_attributes given to init()"
                )
        elif renew:
            tracer_provider = existing_tp
        else:
            tracer_provider = TracerProvider(resource=resource, shutdown_on_exit=False)
        meter_provider = None
        metric_configs = [c for c in configs if c.accepts_metrics] if metrics_on else []
        if metric_configs:
            from opentelemetry.sdk.metrics import MeterProvider

            meter_provider = MeterProvider(
                metric_readers=[_metric_reader(c) for c in metric_configs],
                resource=tracer_provider.resource if reuse else resource,  # type: ignore[attr-defined]
                shutdown_on_exit=False,
            )

        logger_provider = _logger_provider(configs, resource, instrument_options) if instrument else None

        # 3. Instrument: its settings were checked above; anything it still raises undoes the above.
        uninstrument = None
        try:
            if instrument:
                uninstrument = _instrument(
                    tracer_provider, meter_provider, instrument_options, [c.name for c in configs]
                )
        except BaseException:
            processor.shutdown(0)
            if logger_provider is not None:
                logger_provider.shutdown()
            if meter_provider is not None:
                with contextlib.suppress(Exception):
                    meter_provider.shutdown(timeout_millis=100)
            raise

        # 4. Register.
        install_filter()
        if processor.processors:
            tracer_provider.add_span_processor(processor)  # type: ignore[attr-defined]
        if renew:
            _replace_resource(tracer_provider, resource)
        elif not reuse:
            if isinstance(existing_tp, trace_api.ProxyTracerProvider):
                trace_api.set_tracer_provider(tracer_provider)
                _remember_created_provider(tracer_provider)
            else:
                logger.warning(
                    "arktrace: the global TracerProvider is a %s, to which processors cannot be added; LLM "
                    "spans go through arktrace's own provider and will not share traces with other spans",
                    type(existing_tp).__name__,
                )
        if meter_provider is not None:
            existing_mp = metrics_api.get_meter_provider()
            # Until someone sets one, the global is the API's proxy; anything else belongs to the app.
            if type(existing_mp).__name__ == "_ProxyMeterProvider":
                metrics_api.set_meter_provider(meter_provider)
            else:
                logger.info(
                    "arktrace: the application already has a MeterProvider; LLM metrics go to arktrace's "
                    "own provider for %s",
                    ", ".join(c.name for c in metric_configs),
                )

        if logger_provider is not None:
            from opentelemetry import _logs as logs_api  # loaded only when content events are on

            if type(logs_api.get_logger_provider()).__name__ == "ProxyLoggerProvider":
                logs_api.set_logger_provider(logger_provider)
            else:
                logger.info(
                    "arktrace: the application has a LoggerProvider; content events go to arktrace's own"
                )
            _events.use(logger_provider)

        result = InitResult(
            backends=tuple(c.name for c in configs),
            tracer_provider=tracer_provider,
            meter_provider=meter_provider,
            reused_tracer_provider=reuse,
            metrics=bool(metric_configs),
            instrumented=uninstrument is not None,
        )
        _state = _State(result, processor, not reuse, meter_provider, uninstrument, logger_provider)
        _register_atexit()
        if processor.processors:
            _flush_on_sigterm()
        for backend_spool in spools:
            backend_spool.start()  # sends what an earlier process left, on its own thread
        _log_choice(configs, source, metrics_on, reuse)
        if metrics_on:
            dropped = metrics_dropped(configs)
            if dropped:
                logger.warning("arktrace: %s", dropped)
        mismatch = openai_httpx_mismatch()
        if mismatch:
            logger.warning("arktrace: %s", mismatch)
        for line in incomplete_backends(env, [c.name for c in configs]):
            # Said loudly only when nothing is traced: with a backend chosen, the other's variables are
            # often its own SDK's (an MLflow experiment name for MLflow's local store).
            logger.log(logging.INFO if configs else logging.WARNING, "arktrace: %s", line)
        return result


def _already_initialised() -> InitResult:
    assert _state is not None
    logger.warning(
        "arktrace.init() was already called; this call is ignored (call arktrace.shutdown() first "
        "to change the configuration)"
    )
    return _state.result


def flush(timeout: float = DEFAULT_SHUTDOWN_TIMEOUT) -> bool:
    """Export everything buffered now. Returns False when something did not finish within ``timeout`` s.

    True means the exporters were called, not that the backends accepted the data (the OTLP exporter
    logs rejected batches instead of raising).
    """
    with _lock:
        state = _state
    if state is None:
        return True
    calls: list[Callable[[], object]] = [lambda: state.processor.force_flush(int(timeout * 1000))]
    if state.owned_meter_provider is not None:
        calls.append(lambda: state.owned_meter_provider.force_flush(timeout_millis=int(timeout * 1000)))
    if state.owned_logger_provider is not None:
        calls.append(lambda: state.owned_logger_provider.force_flush(int(timeout * 1000)))
    return _run_bounded(calls, timeout)


def shutdown(timeout: float = DEFAULT_SHUTDOWN_TIMEOUT) -> bool:
    """Flush and stop arktrace's exporters, returning within about ``timeout`` seconds.

    An application's own TracerProvider keeps running; only arktrace's processors stop, and they, the
    logging filter, the SIGTERM handler and the instrumentation are taken off again. Returns False
    when something did not finish in time (its thread is a daemon and cannot delay interpreter exit).
    """
    global _state
    with _lock:
        state, _state = _state, None
    if state is None:
        return True
    _restore_sigterm()
    if state.uninstrument is not None:
        try:
            state.uninstrument()
        except Exception:
            logger.debug("arktrace: uninstrument failed", exc_info=True)
    millis = int(timeout * 1000)
    calls: list[Callable[[], object]] = [lambda: state.processor.shutdown(millis)]
    if state.owned_meter_provider is not None:
        calls.append(lambda: state.owned_meter_provider.shutdown(timeout_millis=millis))
    if state.owned_logger_provider is not None:
        calls.append(state.owned_logger_provider.shutdown)
    done = _run_bounded(calls, timeout)
    # Inert already; taken off so that an application's provider, which lives on, keeps nothing of ours.
    detach_span_processor(state.result.tracer_provider, state.processor)
    remove_filter()
    forget_faults()
    return done


# ------------------------------------------------------------------------------------------- internals

_INSTRUMENT_OPTIONS = passed_on()


def _check_instrument_options(options: Mapping[str, Any]) -> None:
    """What instrument() will check, checked before init() sets anything up (it reads ARKTRACE_* too)."""
    load_settings(**{name: value for name, value in options.items() if name != "prices"})
    load_prices(options.get("prices"))


def _replace_resource(provider: Any, resource: Resource) -> None:
    """Give the provider an earlier init() registered this call's resource, its tracers made so far too.

    The SDK has no public way (its ``_update_resource`` merges, which would keep the earlier call's
    attributes this one left out); it reads ``_resource`` when it makes a tracer, and recent versions
    keep their tracers, each with its own copy.
    """
    lock = getattr(provider, "_tracers_lock", None) or contextlib.nullcontext()
    with lock:
        provider._resource = resource
        for tracer in getattr(provider, "_tracers", {}).values():
            tracer.resource = resource


def _created_provider() -> TracerProvider | None:
    return _created_provider_ref() if _created_provider_ref is not None else None


def _remember_created_provider(provider: TracerProvider) -> None:
    global _created_provider_ref
    _created_provider_ref = weakref.ref(provider)


def _check_arguments(
    service_name: Any,
    service_version: Any,
    environment: Any,
    resource_attributes: Any,
    instrument: Any,
    metrics: Any,
    dotenv: Any,
    instrument_options: Mapping[str, Any],
) -> None:
    """Arguments of init() of the wrong type fail here, by name, before anything is read or set up."""
    given = {
        "service_name": service_name,
        "service_version": service_version,
        "environment": environment,
        "resource_attributes": resource_attributes,
        "instrument": instrument,
        "metrics": metrics,
        "dotenv": dotenv,
    }
    for name, value in given.items():
        if value is not None:
            BY_KEYWORD[name].resolve(value, {})
    for name in instrument_options:
        if name not in _INSTRUMENT_OPTIONS:
            raise unknown_keyword(name, "init", keywords("init"))


def openai_httpx_mismatch(version: Callable[[str], str] | None = None) -> str | None:
    """What to do when the installed openai cannot create a client with the installed httpx, else None.

    openai before 1.55.3 passes ``proxies`` to httpx, which 0.28 removed: every ``OpenAI()`` then raises
    a TypeError that says nothing of versions. Said at init(), before the application meets it.
    """
    import re
    from importlib import metadata

    version = metadata.version if version is None else version

    def installed(name: str) -> tuple[str, tuple[int, ...]] | None:
        try:
            text = version(name)
        except Exception:  # not installed, or unreadable metadata
            return None
        match = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", text)
        return (text, tuple(int(part or 0) for part in match.groups())) if match else None

    openai, httpx = installed("openai"), installed("httpx")
    if openai is None or httpx is None or openai[1] >= (1, 55, 3) or httpx[1] < (0, 28, 0):
        return None
    return (
        f"openai {openai[0]} cannot create a client with httpx {httpx[0]} (TypeError about 'proxies', "
        'fixed in openai 1.55.3): pip install "openai>=1.55.3", or "httpx<0.28" to keep this openai'
    )


def _report_unknown_variables(env: Mapping[str, str]) -> None:
    unknown = unknown_variables(env)
    own = [describe_unknown(*entry) for entry in unknown if entry[2]]
    if own and unknown_variables_are_errors:
        raise ConfigError("; ".join(own) + "; fix or unset it")
    for entry in unknown:
        logger.warning("arktrace: %s", describe_unknown(*entry))


def _load_dotenv() -> None:
    from dotenv import find_dotenv, load_dotenv

    path = find_dotenv(usecwd=True)
    if path:
        load_dotenv(path, override=False)


def _register_atexit() -> None:
    global _atexit_registered
    if not _atexit_registered:
        atexit.register(_at_exit)
        import wrapt

        # Whenever the application uses multiprocessing (imported already or later).
        wrapt.register_post_import_hook(_flush_in_multiprocessing_workers, "multiprocessing.util")
        _atexit_registered = True


class _AfterForkKey:
    """What multiprocessing's after-fork registry is keyed on (it holds its keys weakly)."""


_AFTER_FORK_KEY = _AfterForkKey()


def _flush_in_multiprocessing_workers(util: Any) -> None:
    # multiprocessing's forked workers end with os._exit(), which skips atexit, after running the
    # finalizers registered in the worker itself (those inherited from the parent are cleared first).
    util.register_after_fork(_AFTER_FORK_KEY, _register_worker_flush)


def _register_worker_flush(_key: object) -> None:
    from multiprocessing import util

    util.Finalize(None, _at_exit, exitpriority=0)


def _flush_on_sigterm() -> None:
    """Flush before a SIGTERM that would end the process without running atexit (a container stop, a
    process manager, ``kill``), but only where the application left SIGTERM's default in place: a handler
    it installed, before or after init(), is its own way of shutting down (usually ending in atexit)."""
    if threading.current_thread() is not threading.main_thread():
        return  # only the main thread may set a handler
    try:
        if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
            signal.signal(signal.SIGTERM, _on_sigterm)
    except (AttributeError, ValueError, OSError):
        logger.debug("arktrace: cannot watch SIGTERM here", exc_info=True)


def _restore_sigterm() -> None:
    if threading.current_thread() is not threading.main_thread():
        return
    with contextlib.suppress(AttributeError, ValueError, OSError):
        if signal.getsignal(signal.SIGTERM) is _on_sigterm:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _on_sigterm(signum: int, frame: Any) -> None:
    # The default first: a second SIGTERM while the flush runs ends the process at once, as without arktrace.
    signal.signal(signum, signal.SIG_DFL)
    with contextlib.suppress(Exception):
        shutdown(DEFAULT_SHUTDOWN_TIMEOUT)
    # Die of the signal itself, so the exit status stays "killed by SIGTERM" for whoever waits on the process.
    os.kill(os.getpid(), signum)


def _at_exit() -> None:
    with contextlib.suppress(Exception):  # the interpreter is exiting: never raise
        shutdown(DEFAULT_SHUTDOWN_TIMEOUT)


def _log_choice(configs: Sequence[BackendConfig], source: str, metrics_on: bool, reuse: bool) -> None:
    where = "the application's TracerProvider" if reuse else "a new TracerProvider"
    if not configs:
        level = logging.INFO if reuse or source != "detected" else logging.WARNING
        logger.log(
            level,
            "arktrace: no backend configured (%s); LLM spans go to %s only. Set ARKTRACE_BACKENDS or a "
            "backend's variables (`arktrace check --example-env` lists them)",
            "chosen by " + source if source != "detected" else "none detected",
            where,
        )
        return
    described = "; ".join(summarize(c, metrics=metrics_on) for c in configs)
    how = "detected from the environment" if source == "detected" else f"from {source}"
    logger.info(
        "arktrace: exporting to %s [%s], via %s: %s",
        ", ".join(c.name for c in configs),
        how,
        where,
        described,
    )
