"""Shared fixtures: the bundled ModelArk-compatible server, real openai clients, and captured spans."""

from __future__ import annotations

import gc
import os

import httpx
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

ENDPOINT = "ep-20250101120000-abcde"
RESOLVED = "seed-1-8-251228"

# Variables that would change what arktrace does (settings, exporters, a real backend's credentials)
# or where the SDK sends requests. The suite must not depend on the developer's shell: a shell with
# LANGFUSE_* set would otherwise export test spans to a real host. Cleared once for the whole run, so
# every fixture and every subprocess a test starts sees none of them unless the test sets it.
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


def _is_harness(name: str) -> bool:
    return name in HARNESS_VARIABLES or name.startswith("ARKTRACE_REQUIRE_")


def pytest_configure(config):
    for name in list(os.environ):
        if name.startswith(SHELL_PREFIXES) and not _is_harness(name):
            del os.environ[name]


@pytest.fixture(scope="session")
def server():
    with ModelArkServer() as srv:
        yield srv


_TUNABLES = ("api_key", "latency", "chunk_interval", "usage_style", "cached_tokens", "reply", "task_polls")


@pytest.fixture(autouse=True)
def _fresh_fault_memory():
    """Faults are logged once per place per process; each test starts with none reported, so a test
    that provokes one sees its log line whatever ran before."""
    _faults._reported.clear()
    yield
    _faults._reported.clear()


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


class Spans:
    """Finished spans, with helpers that make a test's intent readable."""

    def __init__(self, exporter: InMemorySpanExporter) -> None:
        self.exporter = exporter

    def all(self):
        return list(self.exporter.get_finished_spans())

    def one(self):
        gc.collect()
        spans = self.all()
        assert len(spans) == 1, [s.name for s in spans]
        return spans[0]

    def clear(self):
        self.exporter.clear()


@pytest.fixture
def provider():
    return TracerProvider()


@pytest.fixture
def spans(provider):
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    arktrace.uninstrument()
    arktrace.instrument(tracer_provider=provider, stream_usage="always")
    yield Spans(exporter)
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


class _ToBundledServer(httpx.HTTPTransport):
    """Sends every request to the bundled server, whatever host the client was given."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.target = httpx.URL(base_url)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        target = self.target
        request.url = request.url.copy_with(scheme=target.scheme, host=target.host, port=target.port)
        return super().handle_request(request)


MODELARK_URL = "https://ark.ap-southeast.bytepluses.com/api/v3"


def routed_client(server, base_url: str) -> openai.OpenAI:
    """A client for ``base_url`` whose requests the bundled server answers: arktrace sees the host
    the application would name (ModelArk's, a self-hosted server's) and treats the calls accordingly."""
    http_client = httpx.Client(transport=_ToBundledServer(server.base_url))
    return openai.OpenAI(api_key="test-key", base_url=base_url, http_client=http_client, max_retries=0)


@pytest.fixture
def modelark_client(server):
    """A client for ModelArk's own host name (provider byteplus, stream usage asked for)."""
    with routed_client(server, MODELARK_URL) as c:
        yield c
