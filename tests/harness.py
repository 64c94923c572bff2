"""What tests import: the bundled server's names, captured spans, routed clients, fresh OpenTelemetry state.

The fixtures themselves live in ``conftest.py`` (pytest finds them there; no test imports a fixture).
Helpers for a test process or its subprocesses live here, so a test file imports them from one place.
"""

from __future__ import annotations

import gc
import socket
from pathlib import Path

import httpx
import openai
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import arktrace

# The endpoint id every test calls and the model the bundled server resolves it to.
ENDPOINT = "ep-20250101120000-abcde"
RESOLVED = "seed-1-8-251228"
MODELARK_URL = "https://ark.ap-southeast.bytepluses.com/api/v3"
ROOT = Path(__file__).resolve().parent.parent  # the repository
# Where the arktrace under test is imported from, for subprocesses to import the same one.
SRC = str(Path(arktrace.__file__).resolve().parent.parent)


# The Ark runtime SDK packages; either may be missing (pip install 'arktrace[ark]').
ARK_PACKAGES = ("byteplussdkarkruntime", "volcenginesdkarkruntime")


def ark_params(*packages: str) -> list:
    """SDK package names as ``pytest.param``s (for a fixture's ``params`` or ``parametrize``), each Ark
    runtime one marked ``ark_sdk(package)``: where that package is missing, conftest.py deselects its
    tests rather than skipping them, and ``ARKTRACE_REQUIRE_ARK_SDKS=1`` keeps them, to fail at the import.
    Other names ("openai") pass unmarked."""
    return [
        pytest.param(name, marks=pytest.mark.ark_sdk(name)) if name in ARK_PACKAGES else name
        for name in packages
    ]


# Variables that would change what arktrace does (settings, exporters, a real backend's credentials)
# or where the SDK sends requests. The suite must not depend on the developer's shell: a shell with
# LANGFUSE_* set would otherwise export test spans to a real host. Cleared once for the whole run (by
# conftest.py), so every fixture and every subprocess a test starts sees none of them unless it sets one.
SHELL_PREFIXES = (
    "ARKTRACE_",
    "OTEL_",
    "LANGFUSE_",
    "OPENOBSERVE_",
    "MLFLOW_",
    "PHOENIX_",
    "OPENAI_",
    "ARK_",
    "AZURE_OPENAI_",
)
# The test harness's own switches (scripts/test.sh, tests/backend_servers.py) stay.
HARNESS_VARIABLES = {"ARKTRACE_VENVS_DIR", "ARKTRACE_SERVERS_PYTHON", "ARKTRACE_LOAD_CALLS"}


def is_harness_variable(name: str) -> bool:
    return name in HARNESS_VARIABLES or name.startswith("ARKTRACE_REQUIRE_")


class Spans:
    """Finished spans, with helpers that make a test's intent readable."""

    def __init__(self, exporter: InMemorySpanExporter, provider: TracerProvider) -> None:
        self.exporter = exporter
        self.provider = provider  # to instrument again with other options

    def all(self):
        return list(self.exporter.get_finished_spans())

    def one(self):
        gc.collect()
        spans = self.all()
        assert len(spans) == 1, [s.name for s in spans]
        return spans[0]

    def clear(self):
        self.exporter.clear()


class _ToBundledServer(httpx.HTTPTransport):
    """Sends every request to the bundled server, whatever host the client was given."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.target = httpx.URL(base_url)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        target = self.target
        request.url = request.url.copy_with(scheme=target.scheme, host=target.host, port=target.port)
        return super().handle_request(request)


def routed_client(server, base_url: str) -> openai.OpenAI:
    """A client for ``base_url`` whose requests the bundled server answers: arktrace sees the host
    the application would name (ModelArk's, a self-hosted server's) and treats the calls accordingly."""
    http_client = httpx.Client(transport=_ToBundledServer(server.base_url))
    return openai.OpenAI(api_key="test-key", base_url=base_url, http_client=http_client, max_retries=0)


def free_port() -> int:
    """A loopback port nothing listens on (for "backend down" tests)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def reset_otel_globals() -> None:
    """Forget the global TracerProvider/MeterProvider and arktrace's state (tests only).

    OpenTelemetry lets a process set its providers once; tests that exercise ``init()`` need a fresh
    start each time. This reaches into private module state on purpose, as OpenTelemetry's own test
    helpers do.
    """
    from opentelemetry import trace
    from opentelemetry.metrics import _internal as metrics_internal
    from opentelemetry.util._once import Once

    from arktrace import _setup

    with _setup._lock:
        state, _setup._state = _setup._state, None
    if state is not None:
        if state.uninstrument is not None:
            state.uninstrument()
        state.processor.shutdown(500)
        if state.owned_meter_provider is not None:
            state.owned_meter_provider.shutdown(timeout_millis=500)
        if state.owned_logger_provider is not None:
            state.owned_logger_provider.shutdown()
    from opentelemetry._logs import _internal as logs_internal

    logs_internal._LOGGER_PROVIDER_SET_ONCE = Once()
    logs_internal._LOGGER_PROVIDER = None
    trace._TRACER_PROVIDER_SET_ONCE = Once()
    trace._TRACER_PROVIDER = None
    metrics_internal._METER_PROVIDER_SET_ONCE = Once()
    metrics_internal._METER_PROVIDER = None
    _setup._atexit_registered = True  # no exit hooks from tests


# Every variable that can change what init() does; the ``clean_env`` fixture removes them all.
ENV_VARS = (
    "ARKTRACE_BACKENDS",
    "ARKTRACE_METRICS",
    "ARKTRACE_DATAKIT_URL",
    "ARKTRACE_SPOOL_DIR",
    "ARKTRACE_SPOOL_MAX_MB",
    "OPENOBSERVE_URL",
    "OPENOBSERVE_ORG",
    "OPENOBSERVE_AUTH_TOKEN",
    "OPENOBSERVE_TRACES_STREAM_NAME",
    "OPENOBSERVE_TIMEOUT",
    "OPENOBSERVE_ENABLED",
    "LANGFUSE_PUBLIC_KEY",
    "LANGFUSE_SECRET_KEY",
    "LANGFUSE_BASE_URL",
    "LANGFUSE_HOST",
    "MLFLOW_TRACKING_URI",
    "MLFLOW_EXPERIMENT_ID",
    "MLFLOW_EXPERIMENT_NAME",
    "MLFLOW_TRACKING_TOKEN",
    "MLFLOW_TRACKING_USERNAME",
    "MLFLOW_TRACKING_PASSWORD",
    "PHOENIX_COLLECTOR_ENDPOINT",
    "PHOENIX_API_KEY",
    "PHOENIX_PROJECT_NAME",
    "OTEL_SERVICE_NAME",
    "OTEL_RESOURCE_ATTRIBUTES",
    "OTEL_SDK_DISABLED",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
    "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
    "OTEL_EXPORTER_OTLP_METRICS_HEADERS",
    "OTEL_EXPORTER_OTLP_TIMEOUT",
    "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    "OTEL_EXPORTER_OTLP_COMPRESSION",
    "OTEL_TRACES_SAMPLER",
)
