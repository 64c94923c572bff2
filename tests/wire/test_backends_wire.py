"""Wire format per backend preset: what init() actually sends, decoded by a local OTLP/HTTP receiver.

For every backend row of docs/backends.md: the exact URL path, the required headers, the content type,
that the protobuf decodes into the spans (and metrics) we emitted with the resource we configured, that
metrics reach only the backends that take them, and that no secret shows up in the logs.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Callable

import openai
import pytest
from opentelemetry import metrics, trace

from arktrace._prices import load_prices
from arktrace._setup import flush, init, shutdown
from harness import ENDPOINT, RESOLVED
from otlp_receiver import OTLPReceiver

pytestmark = [pytest.mark.usefixtures("clean_env"), pytest.mark.once]

PROTOBUF = "application/x-protobuf"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@dataclass
class Case:
    backend: str
    env: Callable[[str], Mapping[str, str]]
    traces_path: str
    headers: Mapping[str, str] = field(default_factory=dict)
    metrics_path: str | None = None
    metrics_headers: Mapping[str, str] = field(default_factory=dict)
    absent_metrics_headers: tuple[str, ...] = ()
    secrets: tuple[str, ...] = ()


CASES = {
    "openobserve": Case(
        "openobserve",
        lambda url: {
            "OPENOBSERVE_URL": url + "/",
            "OPENOBSERVE_ORG": "acme",
            "OPENOBSERVE_AUTH_TOKEN": "Basic " + b64("root@example.com:o2-secret"),
            "OPENOBSERVE_TRACES_STREAM_NAME": "llm",
        },
        "/api/acme/v1/traces",
        {"authorization": "Basic " + b64("root@example.com:o2-secret"), "stream-name": "llm"},
        metrics_path="/api/acme/v1/metrics",
        metrics_headers={"authorization": "Basic " + b64("root@example.com:o2-secret")},
        absent_metrics_headers=("stream-name",),
        secrets=(b64("root@example.com:o2-secret"),),
    ),
    "openobserve-defaults": Case(
        "openobserve",
        lambda url: {"OPENOBSERVE_URL": url, "OPENOBSERVE_AUTH_TOKEN": "Basic " + b64("a:b-secret")},
        "/api/default/v1/traces",
        {"authorization": "Basic " + b64("a:b-secret"), "stream-name": "default"},
        metrics_path="/api/default/v1/metrics",
        secrets=(b64("a:b-secret"),),
    ),
    "langfuse": Case(
        "langfuse",
        lambda url: {
            "LANGFUSE_PUBLIC_KEY": "pk-lf-wire",
            "LANGFUSE_SECRET_KEY": "sk-lf-wire-secret",
            "LANGFUSE_BASE_URL": url,
        },
        "/api/public/otel/v1/traces",
        {
            "authorization": "Basic " + b64("pk-lf-wire:sk-lf-wire-secret"),
            "x-langfuse-ingestion-version": "4",
        },
        secrets=("sk-lf-wire-secret", b64("pk-lf-wire:sk-lf-wire-secret")),
    ),
    "langfuse-host": Case(
        "langfuse",
        lambda url: {
            "LANGFUSE_PUBLIC_KEY": "pk-lf-old",
            "LANGFUSE_SECRET_KEY": "sk-lf-old-secret",
            "LANGFUSE_HOST": url + "/",
        },
        "/api/public/otel/v1/traces",
        {"authorization": "Basic " + b64("pk-lf-old:sk-lf-old-secret"), "x-langfuse-ingestion-version": "4"},
        secrets=("sk-lf-old-secret",),
    ),
    "mlflow": Case(
        "mlflow",
        lambda url: {"MLFLOW_TRACKING_URI": url, "MLFLOW_EXPERIMENT_ID": "7"},
        "/v1/traces",
        {"x-mlflow-experiment-id": "7"},
    ),
    "mlflow-token": Case(
        "mlflow",
        lambda url: {"MLFLOW_TRACKING_URI": url + "/mlflow/", "MLFLOW_TRACKING_TOKEN": "mlflow-secret-token"},
        "/mlflow/v1/traces",
        {"x-mlflow-experiment-id": "0", "authorization": "Bearer mlflow-secret-token"},
        secrets=("mlflow-secret-token",),
    ),
    "phoenix": Case(
        "phoenix",
        lambda url: {
            "PHOENIX_COLLECTOR_ENDPOINT": url,
            "PHOENIX_API_KEY": "phx-secret-key",
            "PHOENIX_PROJECT_NAME": "wire",
        },
        "/v1/traces",
        {"authorization": "Bearer phx-secret-key", "x-project-name": "wire"},
        secrets=("phx-secret-key",),
    ),
    "phoenix-full-url": Case(
        "phoenix",
        lambda url: {"PHOENIX_COLLECTOR_ENDPOINT": url + "/s/space/v1/traces"},
        "/s/space/v1/traces",
    ),
    "datakit": Case(
        "datakit",
        lambda url: {"ARKTRACE_DATAKIT_URL": url + "/otel"},
        "/otel/v1/traces",
        metrics_path="/otel/v1/metrics",
    ),
    "otlp": Case(
        "otlp",
        lambda url: {
            "OTEL_EXPORTER_OTLP_ENDPOINT": url,
            "OTEL_EXPORTER_OTLP_HEADERS": "api-key=otlp-secret,x-tenant=t1",
        },
        "/v1/traces",
        {"api-key": "otlp-secret", "x-tenant": "t1"},
        metrics_path="/v1/metrics",
        metrics_headers={"api-key": "otlp-secret", "x-tenant": "t1"},
        secrets=("otlp-secret",),
    ),
    "otlp-signal-endpoints": Case(
        "otlp",
        lambda url: {
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": url + "/ingest/spans",
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": url + "/ingest/metrics",
            "OTEL_EXPORTER_OTLP_TRACES_HEADERS": "Authorization=Bearer%20tr-secret",
            "OTEL_EXPORTER_OTLP_METRICS_HEADERS": "authorization=Bearer me-secret",
        },
        "/ingest/spans",
        {"authorization": "Bearer tr-secret"},
        metrics_path="/ingest/metrics",
        metrics_headers={"authorization": "Bearer me-secret"},
        secrets=("tr-secret", "me-secret"),
    ),
}


def emit_span(name: str = "chat ep-test") -> None:
    with trace.get_tracer("wire-test").start_as_current_span(name) as span:
        span.set_attribute("gen_ai.operation.name", "chat")
        span.set_attribute("gen_ai.request.model", ENDPOINT)
        span.set_attribute("gen_ai.usage.input_tokens", 12)
        span.set_attribute("openinference.span.kind", "LLM")


def emit_metric() -> None:
    metrics.get_meter("wire-test").create_counter("wire.test.count").add(3, {"gen_ai.operation.name": "chat"})


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_preset_wire_format(
    case: Case, receiver: OTLPReceiver, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    for key, value in case.env(receiver.url).items():
        monkeypatch.setenv(key, value)
    caplog.set_level(logging.DEBUG)

    result = init(service_name="wire-svc", service_version="1.2.3", environment="test", instrument=False)
    assert result.backends == (case.backend,)  # detected from the variables alone
    emit_span()
    emit_metric()
    assert flush(timeout=10)

    request = receiver.wait_for(lambda r: r.traces is not None)
    assert request.method == "POST"
    assert request.path == case.traces_path
    assert request.content_type == PROTOBUF
    for key, value in case.headers.items():
        assert request.headers.get(key) == value, key
    (span,) = receiver.spans()
    assert span.name == "chat ep-test"
    assert span.attributes["gen_ai.request.model"] == ENDPOINT
    assert span.attributes["gen_ai.usage.input_tokens"] == 12
    assert span.resource["service.name"] == "wire-svc"
    assert span.resource["service.version"] == "1.2.3"
    assert span.resource["deployment.environment.name"] == "test"
    assert span.resource["telemetry.distro.name"] == "arktrace"

    if case.metrics_path is None:
        assert result.meter_provider is None
        assert receiver.metric_requests() == []
    else:
        metric_request = receiver.wait_for(lambda r: r.metrics is not None)
        assert metric_request.path == case.metrics_path
        assert metric_request.content_type == PROTOBUF
        for key, value in case.metrics_headers.items():
            assert metric_request.headers.get(key) == value, key
        for key in case.absent_metrics_headers:
            assert key not in metric_request.headers
        assert "wire.test.count" in receiver.metric_names()
        assert metric_request.metrics is not None
        resource = {kv.key for kv in metric_request.metrics.resource_metrics[0].resource.attributes}
        assert "service.name" in resource

    assert shutdown(timeout=5)
    info = [r.getMessage() for r in caplog.records if r.name == "arktrace" and r.levelno == logging.INFO]
    assert any(case.backend in message and "exporting to" in message for message in info), info
    for secret in case.secrets:
        assert secret not in caplog.text


def test_fan_out_sends_each_backend_its_own_request(
    receiver: OTLPReceiver, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    url = receiver.url
    env = {
        "LANGFUSE_PUBLIC_KEY": "pk-lf-fan",
        "LANGFUSE_SECRET_KEY": "sk-lf-fan-secret",
        "LANGFUSE_BASE_URL": url + "/langfuse",
        "PHOENIX_COLLECTOR_ENDPOINT": url + "/phoenix",
        "ARKTRACE_DATAKIT_URL": url + "/otel",
        "OTEL_EXPORTER_OTLP_ENDPOINT": url + "/collector",
        "OTEL_EXPORTER_OTLP_HEADERS": "x-collector-key=collector-secret",
        "OPENOBSERVE_URL": url + "/o2",
        "OPENOBSERVE_AUTH_TOKEN": "Bearer o2-fan-secret",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    caplog.set_level(logging.INFO)
    result = init(instrument=False)
    assert set(result.backends) == {"openobserve", "langfuse", "phoenix", "datakit", "otlp"}
    emit_span("fan-out span")
    emit_metric()
    assert flush(timeout=10)
    assert shutdown(timeout=5)

    trace_paths = sorted(r.path for r in receiver.trace_requests())
    assert trace_paths == [
        "/collector/v1/traces",
        "/langfuse/api/public/otel/v1/traces",
        "/o2/api/default/v1/traces",
        "/otel/v1/traces",
        "/phoenix/v1/traces",
    ]
    assert {span.name for span in receiver.spans()} == {"fan-out span"}
    assert len({span.trace_id for span in receiver.spans()}) == 1
    # Metrics only where they are accepted (flush and shutdown each export once).
    assert {r.path for r in receiver.metric_requests()} == {
        "/collector/v1/metrics",
        "/o2/api/default/v1/metrics",
        "/otel/v1/metrics",
    }
    # The generic endpoint's credentials go to the generic endpoint only.
    for request in receiver.requests:
        if request.path.startswith("/collector/"):
            assert request.headers["x-collector-key"] == "collector-secret"
        else:
            assert "x-collector-key" not in request.headers, request.path
    (line,) = [r.getMessage() for r in caplog.records if "exporting to" in r.getMessage()]
    for secret in (
        "sk-lf-fan-secret",
        "collector-secret",
        "o2-fan-secret",
        b64("pk-lf-fan:sk-lf-fan-secret"),
    ):
        assert secret not in caplog.text
    assert "detected" in line


def test_console_backend_writes_spans_to_stderr_not_stdout(capfd: pytest.CaptureFixture[str]) -> None:
    init(backends="console", instrument=False)
    emit_span("console span")
    assert shutdown(timeout=5)
    out, err = capfd.readouterr()
    assert out == ""
    assert '"name": "console span"' in err


def test_metrics_can_be_switched_off(receiver: OTLPReceiver, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARKTRACE_DATAKIT_URL", receiver.url + "/otel")
    monkeypatch.setenv("ARKTRACE_METRICS", "false")
    result = init(instrument=False)
    assert result.meter_provider is None and not result.metrics
    emit_span()
    emit_metric()
    assert flush()
    assert shutdown()
    assert {r.path for r in receiver.requests} == {"/otel/v1/traces"}


def test_instrumented_call_reaches_the_backend(
    server, receiver: OTLPReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole path: init() instruments the SDK, a real call to the bundled server, OTLP on the wire."""
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
    result = init(service_name="byteplus")
    assert result.instrumented
    with openai.OpenAI(api_key="test-key", base_url=server.base_url, max_retries=0) as client:
        response = client.chat.completions.create(
            model=ENDPOINT,
            messages=[{"role": "user", "content": "What is distributed tracing?"}],
            max_tokens=64,
        )
    assert flush()
    assert shutdown()
    (span,) = [s for s in receiver.spans() if s.attributes.get("gen_ai.operation.name") == "chat"]
    assert span.resource["service.name"] == "byteplus"
    assert span.kind == 3  # CLIENT
    assert span.attributes["gen_ai.request.model"] == ENDPOINT
    assert span.attributes["gen_ai.response.model"] == RESOLVED == response.model
    assert span.attributes["gen_ai.usage.input_tokens"] == response.usage.prompt_tokens
    assert span.attributes["gen_ai.usage.output_tokens"] == response.usage.completion_tokens


# ------------------------------------------------------------------ names each backend's ingestion reads

LONG_QUESTION = "Explain, in a few sentences, what distributed tracing is and why it helps with LLM apps."
JSON_NAMES = ("langfuse.observation.cost_details", "langfuse.observation.usage_details", "mlflow.llm.cost")


def seed_calls(client: openai.OpenAI) -> dict:
    """A whole and a streamed call to seed-1-8 (same question, same answer); the whole call's usage."""
    messages = [{"role": "user", "content": LONG_QUESTION}]
    response = client.chat.completions.create(model=ENDPOINT, messages=messages)
    list(client.chat.completions.create(model=ENDPOINT, messages=messages, stream=True))
    return response.usage.model_dump()  # a dict: openai 1.40's model has no typed token details


def seed_cost(usage: dict) -> tuple[float, float]:
    (tier,) = load_prices().models["seed-1-8"]
    cached = usage["prompt_tokens_details"]["cached_tokens"]
    prompt = (tier.input * (usage["prompt_tokens"] - cached) + tier.cache_hit * cached) / 1e6
    return prompt, tier.output * usage["completion_tokens"] / 1e6


def llm_spans_sent(
    env: Mapping[str, str], server, client, receiver: OTLPReceiver, monkeypatch: pytest.MonkeyPatch
) -> tuple[dict, list[dict]]:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    server.cached_tokens = 8
    init(service_name="byteplus")
    usage = seed_calls(client)
    assert flush()
    assert shutdown()
    assert (
        usage["prompt_tokens_details"]["cached_tokens"] == 8
        and usage["completion_tokens_details"]["reasoning_tokens"]
    )
    spans = [s.attributes for s in receiver.spans() if s.attributes.get("gen_ai.operation.name") == "chat"]
    assert len(spans) == 2  # whole and streamed
    return usage, spans


def test_openobserve_reads_cost_and_tokens_by_its_names(
    server, modelark_client, receiver: OTLPReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Names from OpenObserve's own source: src/core/src/traces/otel/extractors/usage.rs
    (UsageExtractor::extract_usage_details / extract_cost) with the constants of
    src/core/src/traces/otel/attributes.rs (GenAiAttributes)."""
    env = {"OPENOBSERVE_URL": receiver.url, "OPENOBSERVE_AUTH_TOKEN": "Basic " + b64("a:b")}
    usage, spans = llm_spans_sent(env, server, modelark_client, receiver, monkeypatch)
    prompt_cost, completion_cost = seed_cost(usage)
    for attrs in spans:
        assert attrs["gen_ai.usage.input_tokens"] == usage["prompt_tokens"]
        assert attrs["gen_ai.usage.output_tokens"] == usage["completion_tokens"]
        assert attrs["gen_ai.usage.total_tokens"] == usage["total_tokens"]
        # the first cache name it tries, the one counted inside input_tokens (it reads
        # gen_ai.usage.cache_read_tokens as *not* included in input: sending that would be wrong)
        assert (
            attrs["gen_ai.usage.cache_read.input_tokens"] == usage["prompt_tokens_details"]["cached_tokens"]
        )
        assert "gen_ai.usage.cache_read_tokens" not in attrs
        assert attrs["gen_ai.usage.cost"] == pytest.approx(prompt_cost + completion_cost)
        # it would also read Langfuse's cost JSON; not sent where nobody else needs it
        assert not set(JSON_NAMES) & set(attrs)


def test_langfuse_reads_cost_split_and_usage_by_its_names(
    server, modelark_client, receiver: OTLPReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Names and keys from Langfuse's own source: packages/shared/src/server/otel/OtelIngestionProcessor.ts
    (extractCostDetails reads langfuse.observation.cost_details before gen_ai.usage.cost, the total
    only; extractUsageDetails reads langfuse.observation.usage_details before its own normalisation of
    gen_ai.usage.*, whose keys these are: input and output without the cached and reasoning tokens)."""
    env = {
        "LANGFUSE_PUBLIC_KEY": "pk-lf-x",
        "LANGFUSE_SECRET_KEY": "sk-lf-x",
        "LANGFUSE_BASE_URL": receiver.url,
    }
    usage, spans = llm_spans_sent(env, server, modelark_client, receiver, monkeypatch)
    prompt_cost, completion_cost = seed_cost(usage)
    cached = usage["prompt_tokens_details"]["cached_tokens"]
    reasoning = usage["completion_tokens_details"]["reasoning_tokens"]
    for attrs in spans:
        assert json.loads(attrs["langfuse.observation.cost_details"]) == pytest.approx(
            {"input": prompt_cost, "output": completion_cost, "total": prompt_cost + completion_cost}
        )
        assert json.loads(attrs["langfuse.observation.usage_details"]) == {
            "input": usage["prompt_tokens"] - cached,
            "output": usage["completion_tokens"] - reasoning,
            "total": usage["total_tokens"],
            "input_cached_tokens": cached,
            "output_reasoning_tokens": reasoning,
        }
        assert "mlflow.llm.cost" not in attrs


@pytest.mark.parametrize("backend", ["datakit", "otlp", "phoenix"])
def test_backends_without_names_of_their_own_get_no_json(
    backend: str, server, modelark_client, receiver: OTLPReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {
        "datakit": {"ARKTRACE_DATAKIT_URL": receiver.url + "/otel"},
        "otlp": {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url},
        "phoenix": {"PHOENIX_COLLECTOR_ENDPOINT": receiver.url},
    }[backend]
    _, spans = llm_spans_sent(env, server, modelark_client, receiver, monkeypatch)
    for attrs in spans:
        assert not set(JSON_NAMES) & set(attrs)
        assert attrs["llm.cost.total"] == attrs["gen_ai.usage.cost"] > 0
