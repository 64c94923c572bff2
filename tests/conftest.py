"""Every fixture of the suite, in one place (tests import helpers and constants from ``harness.py``, never a
fixture): the bundled ModelArk-compatible server, real openai clients, captured spans and metrics, the local
OTLP receiver, a clean environment for ``init()``, and the real MLflow / Phoenix servers."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator

import openai
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import arktrace
from arktrace import _faults
from arktrace.testing import ModelArkServer
from backend_servers import ServerProcess, installed, ready
from harness import (
    ENV_VARS,
    MODELARK_URL,
    SHELL_PREFIXES,
    Spans,
    ark_params,
    is_harness_variable,
    reset_otel_globals,
    routed_client,
)
from otlp_receiver import OTLPReceiver


def pytest_configure(config):
    for name in list(os.environ):
        if name.startswith(SHELL_PREFIXES) and not is_harness_variable(name):
            del os.environ[name]


def _ark_sdks_required() -> bool:
    return os.environ.get("ARKTRACE_REQUIRE_ARK_SDKS", "").strip().lower() in ("1", "true", "yes")


def pytest_collection_modifyitems(config, items):
    """A test marked ``ark_sdk(package)`` whose Ark runtime SDK is not installed is deselected, as ``-m "not
    once"`` deselects in the passes that do not run those, rather than skipped: the summary counts it among
    the deselected, and a skip stays news. With ``ARKTRACE_REQUIRE_ARK_SDKS=1`` (CI's Ark pass) it is kept,
    and fails for want of the package."""
    if _ark_sdks_required():
        return
    kept, dropped = [], []
    for item in items:
        marker = item.get_closest_marker("ark_sdk")
        missing = marker is not None and importlib.util.find_spec(marker.args[0]) is None
        (dropped if missing else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(scope="session")
def server():
    with ModelArkServer() as srv:
        yield srv


_TUNABLES = ("api_key", "latency", "chunk_interval", "usage_style", "cached_tokens", "reply", "task_polls")


@pytest.fixture(autouse=True)
def _fresh_fault_memory():
    """Faults are logged once per place per process; each test starts with none reported, so a test
    that provokes one sees its log line whatever ran before."""
    _faults.forget()
    yield
    _faults.forget()


@pytest.fixture(autouse=True)
def _clean_server(request):
    """Each test starts from the server's defaults, whatever the previous one changed."""
    if "server" not in request.fixturenames:
        yield
        return
    srv = request.getfixturevalue("server")
    saved = {name: getattr(srv, name) for name in _TUNABLES}
    srv.reset()
    yield
    for name, value in saved.items():
        setattr(srv, name, value)


@pytest.fixture
def provider():
    return TracerProvider()


@pytest.fixture
def spans(provider):
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    arktrace.uninstrument()
    arktrace.instrument(tracer_provider=provider, stream_usage="always")
    yield Spans(exporter, provider)
    arktrace.uninstrument()


@pytest.fixture
def reader(provider, spans):
    """Metrics as recorded: instruments again (after ``spans``, which does without a meter)."""
    reader = InMemoryMetricReader()
    arktrace.uninstrument()
    arktrace.instrument(
        tracer_provider=provider, meter_provider=MeterProvider(metric_readers=[reader]), stream_usage="always"
    )
    yield reader
    arktrace.uninstrument()


@pytest.fixture
def client(server):
    with openai.OpenAI(api_key="test-key", base_url=server.base_url, max_retries=0) as c:
        yield c


@pytest.fixture
async def aclient(server):
    c = openai.AsyncOpenAI(api_key="test-key", base_url=server.base_url, max_retries=0)
    yield c
    await c.close()


@pytest.fixture
def modelark_client(server):
    """A client for ModelArk's own host name (provider byteplus, stream usage asked for)."""
    with routed_client(server, MODELARK_URL) as c:
        yield c


@pytest.fixture
def receiver() -> Iterator[OTLPReceiver]:
    """A local OTLP/HTTP receiver (tests/otlp_receiver.py)."""
    with OTLPReceiver() as rx:
        yield rx


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> Iterator[None]:
    """No backend variables, a working directory without .env, and fresh OpenTelemetry globals."""
    for var in ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    reset_otel_globals()
    yield
    reset_otel_globals()


@pytest.fixture(scope="session")
def _backend_processes(tmp_path_factory: pytest.TempPathFactory):
    """Every installed server launched at once (they start in parallel), all stopped at the end."""
    servers = installed(tmp_path_factory.mktemp("backend-servers"))
    started = [s for s in servers.values() if s is not None]
    try:
        for server in started:
            server.start()
        yield servers
    finally:
        for server in started:
            server.stop()


@pytest.fixture(scope="session")
def mlflow_server(_backend_processes) -> ServerProcess:
    return ready(_backend_processes, "mlflow")


@pytest.fixture(scope="session")
def phoenix_server(_backend_processes) -> ServerProcess:
    return ready(_backend_processes, "phoenix")


# Volcengine's Ark SDK, for what only it has (bot chat, tokenization): deselected where it is missing.
@pytest.fixture(params=ark_params("volcenginesdkarkruntime"))
def volc(request):
    return importlib.import_module(request.param)


@pytest.fixture
def volc_ark(volc, server, spans):
    client = volc.Ark(api_key="k", base_url=server.base_url, max_retries=0)
    yield client
    client.close()


@pytest.fixture
async def volc_aark(volc, server, spans):
    client = volc.AsyncArk(api_key="k", base_url=server.base_url, max_retries=0)
    yield client
    await client.close()
