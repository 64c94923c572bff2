"""arktrace.init(), flush() and shutdown(): selection, resource, .env, errors, reuse of an existing provider,
failure isolation and bounded shutdown."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import openai
import pytest
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import arktrace
from arktrace import _context, _endpoint, _export_health, _faults, _instrument, _setup
from arktrace._errors import ConfigError, mask_secret
from arktrace._setup import build_resource, flush, init, shutdown
from arktrace.backends import (
    PRESETS,
    BackendConfig,
    detect_backends,
    display_url,
    exporter_headers,
    parse_backend_names,
    resolve_backends,
)
from arktrace.backends import mlflow as mlflow_backend
from harness import ENDPOINT, SRC, free_port
from otlp_receiver import OTLPReceiver

pytestmark = [pytest.mark.usefixtures("clean_env"), pytest.mark.once]

SLACK = 4.0  # seconds a loaded machine may add to a bounded wait; far below the waits the bounds prevent


def emit(name: str = "span") -> None:
    with trace.get_tracer("init-test").start_as_current_span(name):
        pass


# ------------------------------------------------------------------------------------------ public API


def test_public_api_is_exported_from_the_package() -> None:
    assert arktrace.init is init
    assert arktrace.flush is flush
    assert arktrace.shutdown is shutdown
    assert arktrace.ConfigError is ConfigError
    assert issubclass(ConfigError, ValueError)


# ------------------------------------------------------------------------------------------ pure presets


def test_detection_follows_credentials() -> None:
    env = {
        "LANGFUSE_PUBLIC_KEY": "pk-lf-1",
        "LANGFUSE_SECRET_KEY": "sk-lf-1",
        "MLFLOW_TRACKING_URI": "http://localhost:5000",
        "OPENOBSERVE_URL": "http://localhost:5080",  # no token: not detected
        "PHOENIX_PROJECT_NAME": "p",  # a project alone is not an endpoint
    }
    assert detect_backends(env) == ["langfuse", "mlflow"]
    assert detect_backends({"OPENOBSERVE_AUTH_TOKEN": "Basic x", "OPENOBSERVE_ENABLED": "false"}) == []
    assert detect_backends({"LANGFUSE_PUBLIC_KEY": "  "}) == []  # empty values count as unset
    assert detect_backends({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"}) == ["otlp"]


def test_backend_names_accept_strings_lists_and_aliases() -> None:
    assert parse_backend_names("langfuse, mlflow phoenix", "x") == ["langfuse", "mlflow", "phoenix"]
    assert parse_backend_names(["Arize", "guance", "otel", "otlp"], "x") == ["phoenix", "datakit", "otlp"]
    assert parse_backend_names("none", "x") == []
    configs, source = resolve_backends([], {"LANGFUSE_PUBLIC_KEY": "pk", "LANGFUSE_SECRET_KEY": "sk"})
    assert (configs, source) == ([], "backends")


def test_a_new_backend_is_one_preset(monkeypatch: pytest.MonkeyPatch) -> None:
    """What a backend module declares is all the selection, the checks and the docs need."""
    from arktrace import _check, _reference, backends
    from arktrace.backends import Preset

    def build(env):
        return BackendConfig("acme", env["ACME_URL"] + "/v1/traces", {"x-acme-project": "p1"})

    acme = Preset(
        name="acme",
        title="Acme",
        variables={"ACME_URL": ("unset", "Acme's OTLP base URL."), "ACME_PROJECT": ("p1", "Project.")},
        detect_vars=("ACME_URL",),
        metrics=False,
        build=build,
        prefix="ACME_",
        status_hints={404: "no such project: check ACME_PROJECT"},
    )
    monkeypatch.setitem(backends.PRESETS, "acme", acme)
    configs, source = resolve_backends(None, {"ACME_URL": "http://a", "ACME_PROJCT": "x"})
    assert ([c.name for c in configs], source) == (["acme"], "detected")
    assert backends.unknown_variables({"ACME_PROJCT": "x"}) == [("ACME_PROJCT", "ACME_PROJECT", False)]
    assert "| Acme | `ACME_URL` | unset | Acme's OTLP base URL. Setting it selects this backend. |" in (
        _reference.markdown()
    )
    assert _check.explain_status(configs[0], 404) == (False, "HTTP 404: no such project: check ACME_PROJECT")
    assert backends.metrics_dropped(configs) is not None
    assert backends.incomplete_backends({"ACME_PROJECT": "p"}, ()) == [
        "ACME_PROJECT is set but ACME_URL is not, so spans do not go to Acme"
    ]


def test_every_preset_builds_from_its_defaults_or_says_what_is_missing() -> None:
    for name, preset in PRESETS.items():
        try:
            config = preset.build({})
        except ConfigError as error:
            assert error.setting in preset.env_vars, name
        else:
            assert isinstance(config, BackendConfig)
            assert config.accepts_metrics == (preset.metrics and config.traces_endpoint is not None)


def test_generic_otlp_headers_never_leak_to_other_backends() -> None:
    env = {"OTEL_EXPORTER_OTLP_HEADERS": "DD-API-KEY=abc,x-tenant=t", "MLFLOW_TRACKING_URI": "http://m:5000"}
    (mlflow,), _ = resolve_backends(["mlflow"], env)
    assert exporter_headers(mlflow, "traces", env) == {
        "dd-api-key": None,
        "x-tenant": None,
        "x-mlflow-experiment-id": "0",
    }
    (otlp,), _ = resolve_backends(["otlp"], {**env, "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"})
    assert exporter_headers(otlp, "traces", env) == {"dd-api-key": "abc", "x-tenant": "t"}


def test_masking() -> None:
    assert mask_secret("Basic dXNlcjpwYXNz") == "Basic ****"
    assert mask_secret("sk-lf-123") == "****"
    assert display_url("https://user:pw@host:1/p?token=abc") == "https://user:****@host:1/p?****"


# ------------------------------------------------------------------------------------------ resource and .env


def test_resource_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "OTEL_RESOURCE_ATTRIBUTES", "service.name=from-attrs,deployment.environment.name=staging"
    )
    assert build_resource().attributes["service.name"] == "from-attrs"
    assert build_resource().attributes["deployment.environment.name"] == "staging"
    monkeypatch.setenv("OTEL_SERVICE_NAME", "from-env")
    assert build_resource().attributes["service.name"] == "from-env"
    explicit = build_resource("byteplus", "2.0", "prod", {"team": "llm"}).attributes
    assert explicit["service.name"] == "byteplus"
    assert explicit["service.version"] == "2.0"
    assert explicit["deployment.environment.name"] == "prod"
    assert explicit["team"] == "llm"


def test_dotenv_is_loaded_from_the_working_directory_without_overriding(
    tmp_path: Path, receiver: OTLPReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_text(
        f"LANGFUSE_PUBLIC_KEY=pk-lf-dotenv\nLANGFUSE_SECRET_KEY=sk-lf-dotenv\nLANGFUSE_BASE_URL={receiver.url}\n"
        "OTEL_SERVICE_NAME=from-dotenv\n"
    )
    for key in ("LANGFUSE_PUBLIC_KEY", "LANGFUSE_SECRET_KEY", "LANGFUSE_BASE_URL"):
        monkeypatch.setenv(key, "placeholder")  # so that monkeypatch restores the absence afterwards
        monkeypatch.delenv(key)
    monkeypatch.setenv("OTEL_SERVICE_NAME", "already-set")
    result = init(instrument=False)
    assert result.backends == ("langfuse",)
    emit("from dotenv")
    assert flush()
    (span,) = receiver.spans()
    assert span.resource["service.name"] == "already-set"


def test_dotenv_can_be_skipped(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("ARKTRACE_BACKENDS=nonsense\n")
    assert init(dotenv=False, instrument=False).backends == ()
    assert "ARKTRACE_BACKENDS" not in os.environ


# ------------------------------------------------------------------------------------------ errors


ERROR_CASES = {
    "openobserve url without scheme": (
        {"OPENOBSERVE_URL": "api.openobserve.ai", "OPENOBSERVE_AUTH_TOKEN": "Basic c2VjcmV0LXRva2Vu"},
        None,
        ["OPENOBSERVE_URL", "scheme is missing", "http:// or https://"],
    ),
    "openobserve url with api path": (
        {
            "OPENOBSERVE_URL": "https://o2.example.com/api/acme",
            "OPENOBSERVE_AUTH_TOKEN": "Basic c2VjcmV0LXRva2Vu",
        },
        None,
        ["OPENOBSERVE_URL", "OPENOBSERVE_ORG"],
    ),
    "openobserve token without scheme": (
        {"OPENOBSERVE_AUTH_TOKEN": "c2VjcmV0LXRva2Vu"},
        None,
        ["OPENOBSERVE_AUTH_TOKEN", "Basic"],
    ),
    "langfuse secret missing": (
        {"LANGFUSE_PUBLIC_KEY": "pk-lf-123"},
        None,
        ["LANGFUSE_SECRET_KEY is not set", "pk-lf-123"],
    ),
    "langfuse public missing": (
        {"LANGFUSE_SECRET_KEY": "sk-lf-very-secret"},
        None,
        ["LANGFUSE_PUBLIC_KEY is not set", "public half"],
    ),
    "langfuse keys swapped": (
        {"LANGFUSE_PUBLIC_KEY": "sk-lf-very-secret", "LANGFUSE_SECRET_KEY": "pk-lf-123"},
        None,
        ["LANGFUSE_PUBLIC_KEY", "swapped"],
    ),
    "langfuse explicitly chosen without keys": ({}, ["langfuse"], ["LANGFUSE_PUBLIC_KEY is not set"]),
    "mlflow file uri": (
        {"MLFLOW_TRACKING_URI": "file:./mlruns"},
        None,
        ["MLFLOW_TRACKING_URI", "'file:./mlruns'", "http:// or https://"],
    ),
    "mlflow databricks": ({"MLFLOW_TRACKING_URI": "databricks"}, None, ["MLFLOW_TRACKING_URI", "databricks"]),
    "unknown backend in env": (
        {"ARKTRACE_BACKENDS": "langfuse,jaeger"},
        None,
        ["ARKTRACE_BACKENDS", "'jaeger'", "openobserve, langfuse, mlflow, phoenix, datakit, otlp, console"],
    ),
    "unknown backend argument": ({}, ["nope"], ["backends", "'nope'", "openobserve"]),
    "otlp endpoint without scheme": (
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318"},
        None,
        ["OTEL_EXPORTER_OTLP_ENDPOINT", "http://"],
    ),
    "otlp grpc protocol": (
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
        None,
        ["OTEL_EXPORTER_OTLP_PROTOCOL", "'grpc'", "http/protobuf"],
    ),
    "phoenix endpoint without scheme": (
        {"PHOENIX_COLLECTOR_ENDPOINT": "localhost:6006"},
        None,
        ["PHOENIX_COLLECTOR_ENDPOINT", "http://"],
    ),
    "metrics flag": ({"ARKTRACE_METRICS": "maybe"}, None, ["ARKTRACE_METRICS", "'maybe'", "true or false"]),
    "timeout": (
        {"OPENOBSERVE_AUTH_TOKEN": "Basic eA==", "OPENOBSERVE_TIMEOUT": "soon"},
        None,
        ["OPENOBSERVE_TIMEOUT", "seconds"],
    ),
}


@pytest.mark.parametrize("env,backends,fragments", list(ERROR_CASES.values()), ids=list(ERROR_CASES))
def test_configuration_errors_are_clear_and_leave_nothing_set_up(
    env: dict[str, str], backends: list[str] | None, fragments: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError) as raised:
        init(backends=backends)
    message = str(raised.value)
    for fragment in fragments:
        assert fragment in message
    for secret in ("c2VjcmV0LXRva2Vu", "sk-lf-very-secret"):
        assert secret not in message
    assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)
    assert not _instrument.is_instrumented()
    assert _setup._state is None


def test_a_bad_instrumentation_option_rolls_back(
    receiver: OTLPReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
    with pytest.raises(ConfigError):
        init(stream_usage="sometimes")
    assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)
    assert _setup._state is None


def _otel_logger_filters() -> list[list[logging.Filter]]:
    return [list(logging.getLogger(name).filters) for name in _export_health._OTEL_LOGGERS]


def _without_our_filter() -> None:
    """Start from a process where arktrace's filter is not on OpenTelemetry's loggers."""
    for name in _export_health._OTEL_LOGGERS:
        log = logging.getLogger(name)
        log.filters = [f for f in log.filters if not isinstance(f, _export_health._Absorb)]
    _export_health._installed = None


def _our_filters() -> list[logging.Filter]:
    return [f for filters in _otel_logger_filters() for f in filters if isinstance(f, _export_health._Absorb)]


def _context_processors(provider: object) -> list[object]:
    active = provider._active_span_processor._span_processors  # type: ignore[attr-defined]
    return [p for p in active if isinstance(p, _context.ContextAttributesProcessor)]


BAD_INSTRUMENT_OPTIONS = {
    "capture_content": {"capture_content": "no"},
    "max_value_length": {"max_value_length": "100"},
    "stream_usage": {"stream_usage": "sometimes"},
    "max_message_attributes": {"max_message_attributes": 1.5},
    "prices": {"prices": {"models": {"m": {"input": "cheap"}}}},
    "prices_file": {"prices": "/nonexistent/prices.json"},
}


@pytest.mark.parametrize("options", list(BAD_INSTRUMENT_OPTIONS.values()), ids=list(BAD_INSTRUMENT_OPTIONS))
def test_a_bad_instrumentation_option_is_refused_before_any_side_effect(
    options: dict[str, object], receiver: OTLPReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    import signal

    receiver.respond(  # were it asked, the look-up would succeed and init() would go on
        "/api/2.0/mlflow/experiments/get-by-name",
        200,
        body=b'{"experiment": {"experiment_id": "5", "name": "x", "lifecycle_stage": "active"}}',
    )
    monkeypatch.setenv("MLFLOW_TRACKING_URI", receiver.url)
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "must-not-be-looked-up")
    _without_our_filter()
    filters = _otel_logger_filters()
    sigterm = signal.getsignal(signal.SIGTERM)
    with pytest.raises(ConfigError) as raised:
        init(**options)
    assert next(iter(options)) in str(raised.value)
    assert receiver.requests == []  # no MLflow experiment looked up or created
    assert _otel_logger_filters() == filters
    assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)
    assert signal.getsignal(signal.SIGTERM) is sigterm
    assert not _instrument.is_instrumented()
    assert _setup._state is None
    # The control: the same set-up without the bad option does look the experiment up.
    init(instrument=False)
    shutdown(timeout=1)
    looked_up = [r.path.partition("?")[0] for r in receiver.requests]
    assert looked_up == ["/api/2.0/mlflow/experiments/get-by-name"]


def test_shutdown_leaves_nothing_behind(
    server, receiver: OTLPReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    import signal

    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
    original = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        _without_our_filter()
        provider = init().tracer_provider
        client = openai.OpenAI(base_url=server.base_url, api_key="k")
        with arktrace.context(user_id="u"):
            client.chat.completions.create(model=ENDPOINT, messages=[{"role": "user", "content": "hi"}])
        try:
            raise ValueError("provoked")
        except ValueError:
            _faults.report_fault("a test")
        assert _context_processors(provider) and _our_filters() and _endpoint._cache and _faults._reported
        assert signal.getsignal(signal.SIGTERM) is _setup._on_sigterm
        assert shutdown()
        assert _context_processors(provider) == []
        assert not any(
            isinstance(p, _setup._BackendProcessors)
            for p in provider._active_span_processor._span_processors  # type: ignore[union-attr]
        )
        assert _our_filters() == []
        assert not _endpoint._cache
        assert not _faults._reported
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    finally:
        signal.signal(signal.SIGTERM, original)


def test_uninstrument_takes_off_the_context_processor_and_forgets_base_urls(server) -> None:
    provider = TracerProvider()
    arktrace.instrument(tracer_provider=provider)
    try:
        client = openai.OpenAI(base_url=server.base_url, api_key="k")
        client.chat.completions.create(model=ENDPOINT, messages=[{"role": "user", "content": "hi"}])
        assert _context_processors(provider) and _endpoint._cache
        arktrace.uninstrument()
        assert _context_processors(provider) == []
        assert not _endpoint._cache
        arktrace.instrument(tracer_provider=provider)  # and back, once
        assert len(_context_processors(provider)) == 1
    finally:
        arktrace.uninstrument()


def test_the_base_url_cache_is_bounded() -> None:
    for port in range(2000):
        _endpoint.endpoint_for(f"http://10.0.0.1:{port}/v1")
    assert len(_endpoint._cache) < 1000
    assert _endpoint.endpoint_for("http://10.0.0.1:5/v1").port == 5


def test_a_second_init_after_shutdown_applies_its_own_resource() -> None:
    exporter = InMemorySpanExporter()
    provider = init(service_name="first", backends=[]).tracer_provider
    provider.add_span_processor(SimpleSpanProcessor(exporter))  # type: ignore[union-attr]
    emit("one")
    assert shutdown()
    second = init(service_name="second", backends=[])
    emit("two")
    recorder = _instrument.current_recorder()
    assert recorder is not None
    recorder.tracer.start_span("llm").end()  # the instrumentation's own tracer
    assert shutdown()
    by_name = {s.name: s.resource.attributes["service.name"] for s in exporter.get_finished_spans()}
    assert by_name == {"one": "first", "two": "second", "llm": "second"}
    assert not second.reused_tracer_provider


# ------------------------------------------------------------------------------------------ MLflow names


def test_mlflow_experiment_name_is_resolved(receiver: OTLPReceiver, monkeypatch: pytest.MonkeyPatch) -> None:
    receiver.respond(
        "/api/2.0/mlflow/experiments/get-by-name",
        200,
        body=b'{"experiment": {"experiment_id": "5", "name": "BytePlus", "lifecycle_stage": "active"}}',
    )
    monkeypatch.setenv("MLFLOW_TRACKING_URI", receiver.url)
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "BytePlus & co")
    init(instrument=False)
    emit()
    assert flush()
    lookup = receiver.requests[0]
    assert lookup.method == "GET"
    assert lookup.path == "/api/2.0/mlflow/experiments/get-by-name?experiment_name=BytePlus+%26+co"
    export = receiver.wait_for(lambda r: r.path == "/v1/traces")
    assert export.headers["x-mlflow-experiment-id"] == "5"


def test_missing_mlflow_experiment_is_created(
    receiver: OTLPReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver.respond(
        "/api/2.0/mlflow/experiments/get-by-name", 404, body=b'{"error_code": "RESOURCE_DOES_NOT_EXIST"}'
    )
    receiver.respond("/api/2.0/mlflow/experiments/create", 200, body=b'{"experiment_id": "42"}')
    monkeypatch.setenv("MLFLOW_TRACKING_URI", receiver.url)
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "new-one")
    init(instrument=False)
    emit()
    assert flush()
    create = receiver.wait_for(lambda r: r.path.endswith("/create"))
    assert create.method == "POST" and create.body == b'{"name": "new-one"}'
    assert receiver.wait_for(lambda r: r.path == "/v1/traces").headers["x-mlflow-experiment-id"] == "42"


def test_the_mlflow_look_up_runs_outside_init_lock(
    receiver: OTLPReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A slow tracking server holds up init() only: flush() and shutdown() on other threads go on."""
    import threading

    monkeypatch.setenv("MLFLOW_TRACKING_URI", receiver.url)
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "slow")
    receiver.hang()  # the look-up is read and held; released, it is cut off without an answer
    raised: list[BaseException] = []

    def initialise() -> None:
        try:
            init(instrument=False)
        except BaseException as error:
            raised.append(error)

    initialising = threading.Thread(target=initialise, daemon=True)
    initialising.start()
    try:
        with receiver._cond:
            assert receiver._cond.wait_for(lambda: receiver.hung > 0, timeout=10)
        flushing = threading.Thread(target=flush, daemon=True)
        flushing.start()
        flushing.join(5)
        assert not flushing.is_alive(), "flush() waited for the MLflow look-up"
        assert initialising.is_alive()  # positive control: the look-up was still held meanwhile
    finally:
        receiver.release()
    initialising.join(10)
    assert len(raised) == 1 and "MLFLOW_EXPERIMENT_NAME" in str(raised[0]), raised
    assert _setup._state is None  # and the failed look-up left nothing set up


@pytest.mark.parametrize(
    ("chosen", "metrics", "said"),
    [
        (
            ["langfuse"],
            None,
            "metrics are not sent to Langfuse, which accepts no OTLP metrics; add a backend",
        ),
        (
            ["mlflow", "phoenix", "otlp"],
            None,
            "to MLflow and Arize Phoenix, which accept no OTLP metrics; they go to otlp only",
        ),
        (["langfuse"], False, None),
        (["otlp", "console"], None, None),
    ],
)
def test_metrics_a_chosen_backend_drops_are_said_once_at_init(
    chosen: list[str],
    metrics: bool | None,
    said: str | None,
    receiver: OTLPReceiver,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("LANGFUSE_PUBLIC_KEY", "pk-lf-1")
    monkeypatch.setenv("LANGFUSE_SECRET_KEY", "sk-lf-1")
    for var in (
        "LANGFUSE_BASE_URL",
        "MLFLOW_TRACKING_URI",
        "PHOENIX_COLLECTOR_ENDPOINT",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
    ):
        monkeypatch.setenv(var, receiver.url)
    caplog.set_level(logging.WARNING, logger="arktrace")
    init(backends=chosen, metrics=metrics, instrument=False)
    warnings = [
        r.getMessage() for r in caplog.records if r.name == "arktrace" and "metrics are not" in r.getMessage()
    ]
    if said is None:
        assert warnings == []
        assert _setup._state is not None and _setup._state.result.backends == tuple(chosen)
    else:
        assert len(warnings) == 1 and said in warnings[0], warnings
        assert all(
            r.levelno == logging.WARNING for r in caplog.records if "metrics are not" in r.getMessage()
        )


@pytest.mark.parametrize("status", [500, 401])
def test_mlflow_experiment_lookup_errors(
    status: int, receiver: OTLPReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver.respond("/api/2.0/", status)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", receiver.url)
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "exp")
    with pytest.raises(ConfigError, match=rf"MLFLOW_EXPERIMENT_NAME is 'exp'.*HTTP {status}"):
        init()
    assert _setup._state is None


def test_mlflow_down_is_a_quick_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "exp")
    started = time.monotonic()
    with pytest.raises(ConfigError, match=r"MLFLOW_EXPERIMENT_NAME.*cannot reach it.*MLFLOW_EXPERIMENT_ID"):
        init()
    # Within the look-up's own timeout (a refused connection fails at once; no retries for minutes).
    assert time.monotonic() - started < mlflow_backend.RESOLVE_TIMEOUT + SLACK
    assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)


# ---------------------------------------------------------------------------------------- existing providers


def test_an_existing_sdk_tracer_provider_is_reused(
    server, receiver: OTLPReceiver, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    app_spans = InMemorySpanExporter()
    app_provider = TracerProvider(resource=Resource.create({"service.name": "shop"}))
    app_provider.add_span_processor(SimpleSpanProcessor(app_spans))
    trace.set_tracer_provider(app_provider)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
    caplog.set_level(logging.INFO)

    result = init(backends=["otlp"], service_name="ignored")
    assert result.reused_tracer_provider and result.tracer_provider is app_provider
    with openai.OpenAI(api_key="k", base_url=server.base_url, max_retries=0) as client:  # noqa: SIM117
        with trace.get_tracer("shop").start_as_current_span("checkout") as parent:
            client.chat.completions.create(model=ENDPOINT, messages=[{"role": "user", "content": "hi"}])
    assert flush()

    assert "Overriding of current TracerProvider" not in caplog.text
    app_finished = {s.name: s for s in app_spans.get_finished_spans()}
    llm = next(s for s in app_finished.values() if s.attributes.get("gen_ai.operation.name") == "chat")
    assert llm.context.trace_id == parent.get_span_context().trace_id
    assert llm.parent.span_id == parent.get_span_context().span_id
    exported = receiver.spans()
    assert {s.name for s in exported} == set(app_finished)
    assert {s.resource["service.name"] for s in exported} == {"shop"}
    assert len({s.trace_id for s in exported}) == 1

    assert shutdown()
    count = len(receiver.trace_requests())
    emit("after arktrace.shutdown")
    app_provider.force_flush()
    assert "after arktrace.shutdown" in {s.name for s in app_spans.get_finished_spans()}
    assert len(receiver.trace_requests()) == count  # our exporters are gone, the app's pipeline lives on


def test_detected_otlp_is_left_to_an_existing_provider(
    receiver: OTLPReceiver, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    trace.set_tracer_provider(TracerProvider())
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
    caplog.set_level(logging.INFO)
    assert init(instrument=False).backends == ()
    assert "not adding the generic OTLP exporter" in caplog.text


def test_an_existing_meter_provider_is_not_replaced(
    receiver: OTLPReceiver, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    app_meters = MeterProvider()
    metrics.set_meter_provider(app_meters)
    monkeypatch.setenv("ARKTRACE_DATAKIT_URL", receiver.url + "/otel")
    result = init(instrument=False)
    assert metrics.get_meter_provider() is app_meters
    assert result.meter_provider is not None and result.meter_provider is not app_meters
    assert "Overriding of current MeterProvider" not in caplog.text


# ------------------------------------------------------------------------------------------ lifecycle


def test_second_init_is_ignored_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    first = init(backends=[], instrument=False)
    assert init(backends=["console"]) is first
    assert "already called" in caplog.text
    assert shutdown()
    assert shutdown()  # idempotent


def test_no_backend_still_instruments(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    result = init()
    assert result.backends == () and result.instrumented
    assert "no backend configured" in caplog.text
    assert shutdown()
    assert not _instrument.is_instrumented()


def test_otel_sdk_disabled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")
    result = init()
    assert result.tracer_provider is None and result.backends == ()
    assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)


@pytest.mark.parametrize("status", [401, 500, 503])
def test_rejected_exports_never_raise(
    status: int, receiver: OTLPReceiver, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    receiver.respond("/", status)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "api-key=rejected-secret-value")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "2")
    init(instrument=False)
    for i in range(5):
        emit(f"span {i}")
    flush(timeout=3)
    # The rejected batch was dropped by the exporter (401 at once, 5xx after its 2 s of retries),
    # so nothing is left to send: shutdown finishes within its timeout and says so.
    assert shutdown(timeout=3) is True
    assert receiver.trace_requests()
    assert "rejected-secret-value" not in caplog.text


def test_backend_down_flush_and_shutdown_stay_within_their_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{free_port()}")
    # The exporter retries a refused connection until its own timeout: without arktrace's bound, flush
    # and shutdown would each take most of these 10 s, well past the slack given to a loaded machine.
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "10")
    init(instrument=False)
    for i in range(50):
        emit(f"span {i}")
    started = time.monotonic()
    assert flush(timeout=1) is False
    assert time.monotonic() - started < 1 + SLACK
    started = time.monotonic()
    assert shutdown(timeout=1) is False
    assert time.monotonic() - started < 1 + SLACK


def test_slow_backend_shutdown_returns_within_timeout(
    receiver: OTLPReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without arktrace's bound, shutdown would wait for the answer, 8 s away; the slack stays below.
    receiver.respond("/", 200, delay=8)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "10")
    init(instrument=False)
    emit()
    started = time.monotonic()
    assert shutdown(timeout=1) is False
    assert time.monotonic() - started < 1 + SLACK


# ------------------------------------------------------------------------------------------ real processes


def _run(code: str, env: dict[str, str], timeout: float = 30) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k not in ("OTEL_EXPORTER_OTLP_ENDPOINT",)}
    full_env.update(env)
    full_env["PYTHONPATH"] = SRC + os.pathsep + full_env.get("PYTHONPATH", "")
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


SEED = """
    import os
    import arktrace
    arktrace.init(service_name="byteplus")
    from openai import OpenAI
    client = OpenAI(api_key=os.environ["BYTEPLUS_API_KEY"], base_url=os.environ["BYTEPLUS_BASE_URL"])
    response = client.chat.completions.create(
        model=os.environ["BYTEPLUS_ENDPOINT_ID"],
        messages=[{"role": "user", "content": "What is distributed tracing?"}],
        max_tokens=256,
    )
    print(response.choices[0].message.content)
    if os.environ.get("CALL_SHUTDOWN"):
        arktrace.shutdown()
"""


@pytest.mark.parametrize("call_shutdown", [True, False], ids=["shutdown", "atexit"])
def test_seed_pattern_in_a_real_process(server, receiver: OTLPReceiver, call_shutdown: bool) -> None:
    env = {
        "BYTEPLUS_API_KEY": "test-key",
        "BYTEPLUS_BASE_URL": server.base_url,
        "BYTEPLUS_ENDPOINT_ID": ENDPOINT,
        "OPENOBSERVE_URL": receiver.url,
        "OPENOBSERVE_ORG": "default",
        "OPENOBSERVE_AUTH_TOKEN": "Basic cm9vdDpzZWNyZXQ=",
    }
    if call_shutdown:
        env["CALL_SHUTDOWN"] = "1"
    result = _run(SEED, env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()  # the answer, and nothing of ours
    assert "cm9vdDpzZWNyZXQ=" not in result.stdout + result.stderr
    request = receiver.wait_for(lambda r: r.path == "/api/default/v1/traces")
    assert request.headers["stream-name"] == "default"
    (span,) = receiver.spans()
    assert span.resource["service.name"] == "byteplus"
    assert span.attributes["gen_ai.request.model"] == ENDPOINT


def test_process_exit_is_not_held_up_by_a_dead_backend() -> None:
    code = """
        import arktrace
        from opentelemetry import trace
        arktrace.init(backends="otlp", instrument=False)
        for i in range(100):
            with trace.get_tracer("t").start_as_current_span("s"):
                pass
        import time
        print(time.monotonic())  # the script is done: from here on, only exit handlers run
    """
    # The exporter would retry the refused connection for 60 s: without arktrace's exit bound (5 s, the
    # default shutdown timeout) the process would outlive _run's 30 s.
    endpoint = f"http://127.0.0.1:{free_port()}"
    result = _run(code, {"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_EXPORTER_OTLP_TIMEOUT": "60"})
    exiting = time.monotonic() - float(result.stdout.split()[-1])  # one clock for all processes
    assert result.returncode == 0, result.stderr
    assert exiting < _setup.DEFAULT_SHUTDOWN_TIMEOUT + SLACK, exiting


def test_dir_and_help_show_the_lazily_imported_functions() -> None:
    import pydoc

    assert {"init", "flush", "shutdown"} <= set(dir(arktrace))
    assert set(arktrace.__all__) <= set(dir(arktrace))
    text = pydoc.render_doc(arktrace, renderer=pydoc.plaintext)
    for name in ("init", "flush", "shutdown"):
        assert f"\n    {name}(" in text, name


# ------------------------------------------------------------------------------------------ misspelled names


def test_a_misspelled_arktrace_variable_is_named_with_the_closest_name(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARKTRACE_BACKEND", "console")
    monkeypatch.setenv("ARKTRACE_NOTHING_LIKE_IT", "1")
    result = init(instrument=False)
    assert result.backends == ()
    assert "ARKTRACE_BACKEND is not a variable arktrace reads (did you mean ARKTRACE_BACKENDS?)" in (
        caplog.text
    )
    assert "ARKTRACE_NOTHING_LIKE_IT is not a variable arktrace reads (`arktrace run --help`" in caplog.text
    assert shutdown()


def test_a_misspelled_backend_variable_and_the_half_configured_backend_are_named(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENOBSERVE_AUTHTOKEN", "Basic c2VjcmV0LXRva2Vu")
    monkeypatch.setenv("OPENOBSERVE_URL", "https://api.openobserve.ai")
    monkeypatch.setenv("MLFLOW_TRACKING_AUTH", "my-plugin")  # MLflow's own variable, not a misspelling
    caplog.set_level(logging.WARNING)
    assert init(instrument=False).backends == ()
    messages = [r.getMessage() for r in caplog.records if r.name == "arktrace"]
    assert (
        "arktrace: OPENOBSERVE_AUTHTOKEN is set, but arktrace reads OPENOBSERVE_AUTH_TOKEN (a misspelling?)"
    ) in messages
    assert (
        "arktrace: OPENOBSERVE_URL is set but OPENOBSERVE_AUTH_TOKEN is not, "
        "so spans do not go to OpenObserve"
    ) in messages
    assert not any("MLFLOW" in m for m in messages)
    assert "c2VjcmV0LXRva2Vu" not in caplog.text
    assert shutdown()


def test_a_half_configured_backend_says_which_variable_is_missing_and_what_is_set_instead(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LANGFUSE_PUBLIC_KEYS", "pk-lf-1")
    monkeypatch.setenv("LANGFUSE_SECRET_KEY", "sk-lf-very-secret")
    with pytest.raises(ConfigError) as raised:
        init()
    message = str(raised.value)
    assert message.startswith("LANGFUSE_PUBLIC_KEY is not set; expected the public half")
    assert message.endswith("(LANGFUSE_PUBLIC_KEYS is set: a misspelling?)")
    assert "sk-lf-very-secret" not in message
    assert _setup._state is None


def test_every_arktrace_variable_the_code_reads_is_known() -> None:
    # A variable read somewhere but missing from the settings registry would be reported as a
    # misspelling, and stop the program under `arktrace run`.
    import re

    from arktrace._reference import NOT_MISSPELLINGS
    from arktrace.backends import known_variables

    package = Path(arktrace.__file__).parent
    used = {
        name
        for path in package.rglob("*.py")
        for name in re.findall(r"[\"'](ARKTRACE_[A-Z0-9_]+)[\"']", path.read_text())
    }
    known = known_variables() | NOT_MISSPELLINGS
    assert "ARKTRACE_MAX_VALUE_LENGTH" in used and used <= known, sorted(used - known)


# ------------------------------------------------------------------------------------------ SIGTERM

SERVING = """
import os, sys
import arktrace
arktrace.init(service_name="sigterm-test")
import openai

client = openai.OpenAI(api_key="k", base_url=os.environ["APP_BASE_URL"], max_retries=0)
question = [{"role": "user", "content": "hi"}]
calls = 0
while True:  # a server that runs until it is stopped, with no SIGTERM handler of its own
    client.chat.completions.create(model="ep-20250101120000-abcde", messages=question)
    calls += 1
    if calls == 3:
        print("serving", flush=True)
"""


def test_sigterm_flushes_the_last_spans_and_the_process_still_dies_of_it(
    server, receiver: OTLPReceiver
) -> None:
    import signal

    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "ARKTRACE_"))},
        "PYTHONPATH": SRC,
        "APP_BASE_URL": server.base_url,
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
        "ARKTRACE_METRICS": "false",
        "OTEL_BSP_SCHEDULE_DELAY": "600000",  # nothing is exported before the end, unless flushed
    }
    process = subprocess.Popen(
        [sys.executable, "-c", SERVING], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout.readline() == "serving\n", process.stderr.read()
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == -signal.SIGTERM, process.stderr.read()
    spans = receiver.spans()
    assert len(spans) >= 3
    assert {s.resource["service.name"] for s in spans} == {"sigterm-test"}


def test_sigterm_is_watched_only_where_the_application_left_the_default(
    receiver: OTLPReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    import signal

    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
    original = signal.getsignal(signal.SIGTERM)
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        init(instrument=False)
        assert signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, original)
        assert shutdown()
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # put back by shutdown()

        def the_applications(signum, frame):
            pass

        signal.signal(signal.SIGTERM, the_applications)
        init(instrument=False)
        assert signal.getsignal(signal.SIGTERM) is the_applications
        assert shutdown()
        assert signal.getsignal(signal.SIGTERM) is the_applications
    finally:
        signal.signal(signal.SIGTERM, original)


@pytest.mark.parametrize(
    ("openai_version", "httpx_version", "warned"),
    [
        ("1.40.0", "0.28.1", True),
        ("1.55.2", "0.28.0", True),
        ("1.55.3", "0.28.1", False),
        ("1.40.0", "0.27.2", False),
        ("3.57.0", "1.0.0", False),
        ("1.40.0", None, False),  # httpx absent (the SDK then uses httpx2 or fails on its own)
    ],
)
def test_openai_that_cannot_use_the_installed_httpx_is_said_at_init(
    openai_version: str, httpx_version: str | None, warned: bool
) -> None:
    from importlib.metadata import PackageNotFoundError

    from arktrace._setup import openai_httpx_mismatch

    def version(name: str) -> str:
        found = {"openai": openai_version, "httpx": httpx_version}[name]
        if found is None:
            raise PackageNotFoundError(name)
        return found

    message = openai_httpx_mismatch(version)
    assert (message is not None) == warned
    if warned:
        assert message.startswith(
            f"openai {openai_version} cannot create a client with httpx {httpx_version}"
        )
        assert 'pip install "openai>=1.55.3"' in message


def test_the_installed_openai_and_httpx_work_together() -> None:
    # the versions this test suite runs with are a working pair: init() says nothing about them
    from arktrace._setup import openai_httpx_mismatch

    assert openai_httpx_mismatch() is None
