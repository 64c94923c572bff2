"""Real MLflow and Phoenix servers: what each backend made of the spans that init() exported.

Instrumented calls go to the bundled ModelArk-compatible server, spans go through arktrace.init() to a
real MLflow / Phoenix started on 127.0.0.1 (tests/backend_servers.py), and are read back over the
servers' REST APIs. Needs `bash scripts/install-backend-servers.sh`; skipped without it, failed without it
when ARKTRACE_REQUIRE_BACKENDS=1.
"""

from __future__ import annotations

import base64
import io
import json
import time
import urllib.parse
import uuid
from typing import Any

import openai
import pytest
from opentelemetry import trace

import arktrace
from arktrace._check import run_check
from arktrace._prices import load_prices
from arktrace._setup import flush, init, shutdown
from arktrace.backends.phoenix import run_prices
from backend_servers import ServerProcess, http_json
from harness import ENDPOINT, RESOLVED

pytestmark = [pytest.mark.usefixtures("clean_env"), pytest.mark.backends]

QUESTION = "What is the capital of France?"
SYSTEM = "You are a helpful assistant."


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def any_value(value: dict[str, Any]) -> Any:
    """An OTLP AnyValue in MLflow's JSON rendering, as a Python value."""
    if "kvlist_value" in value:
        return {kv["key"]: any_value(kv.get("value", {})) for kv in value["kvlist_value"].get("values", [])}
    if "array_value" in value:
        return [any_value(v) for v in value["array_value"].get("values", [])]
    for key in ("string_value", "bool_value", "double_value"):
        if key in value:
            return value[key]
    if "int_value" in value:
        return int(value["int_value"])
    return None


LONG_QUESTION = "Explain, in a few sentences, what distributed tracing is and why it helps with LLM apps."


def modelark_calls(server, client: openai.OpenAI) -> dict[str, Any]:
    """A whole and a streamed call to seed-1-8 (the caller sets no stream_options), with cached and
    reasoning tokens; each in its own trace. Returns each call's usage and span ids by name."""
    server.cached_tokens = 8
    calls: dict[str, Any] = {}
    with trace.get_tracer("app").start_as_current_span("whole") as parent:
        response = client.chat.completions.create(
            model=ENDPOINT,
            messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": LONG_QUESTION}],
        )
    calls["whole"] = (response.usage.model_dump(), parent.get_span_context())  # openai 1.40: a dict
    with trace.get_tracer("app").start_as_current_span("streamed") as parent:
        chunks = list(
            client.chat.completions.create(
                model=ENDPOINT,
                messages=[
                    {"role": "system", "content": SYSTEM},
                    {"role": "user", "content": LONG_QUESTION},
                ],
                stream=True,
            )
        )
    assert all(c.usage is None for c in chunks)  # the usage chunk arktrace asked for is not the caller's
    calls["streamed"] = (None, parent.get_span_context())
    return calls


def expected_cost(prompt: int, cached: int, completion: int) -> tuple[float, float]:
    """seed-1-8's price in arktrace's table, computed here from the table's numbers."""
    (tier,) = load_prices().models["seed-1-8"]
    return (tier.input * (prompt - cached) + tier.cache_hit * cached) / 1e6, tier.output * completion / 1e6


def maybe_json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


# ------------------------------------------------------------------------------------------ MLflow


def mlflow_trace(server: ServerProcess, trace_id: int) -> dict[str, Any]:
    url = f"{server.url}/api/3.0/mlflow/traces/get?trace_id=tr-{trace_id:032x}"

    def fetch() -> dict[str, Any] | None:
        status, payload = http_json("GET", url)
        if status != 200:
            return None
        found = payload["trace"]
        return found if len(found.get("spans", [])) >= 2 else None

    return server.poll(f"trace tr-{trace_id:032x}", fetch)


def test_mlflow_reads_the_llm_span(
    mlflow_server: ServerProcess, server, monkeypatch: pytest.MonkeyPatch
) -> None:
    experiment = unique("arktrace-BytePlus")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.url)
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", experiment)  # resolved, and created since it is missing
    init(service_name="byteplus-mlflow")

    # Seed 002: a parent span around the call, session and user as trace context.
    with openai.OpenAI(api_key="test-key", base_url=server.base_url, max_retries=0) as client:
        with (
            trace.get_tracer("app").start_as_current_span("answer_question") as parent,
            arktrace.context(
                user_id="user-a", session_id="session-12345", tags=["prod"], metadata={"tenant": "acme"}
            ),
        ):
            response = client.chat.completions.create(
                model=ENDPOINT,
                messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": QUESTION}],
            )
        parent_context = parent.get_span_context()
    assert flush()
    assert shutdown()

    status, found = http_json(
        "GET",
        f"{mlflow_server.url}/api/2.0/mlflow/experiments/get-by-name?"
        + urllib.parse.urlencode({"experiment_name": experiment}),
    )
    assert status == 200, found
    experiment_id = found["experiment"]["experiment_id"]

    got = mlflow_trace(mlflow_server, parent_context.trace_id)
    assert got["trace_info"]["trace_location"]["mlflow_experiment"]["experiment_id"] == experiment_id
    spans = {span["name"]: span for span in got["spans"]}
    llm_span = next(s for name, s in spans.items() if name != "answer_question")
    attrs = {kv["key"]: any_value(kv["value"]) for kv in llm_span["attributes"]}
    root = spans["answer_question"]
    assert base64.b64decode(llm_span["parent_span_id"]) == base64.b64decode(root["span_id"])
    assert base64.b64decode(root["span_id"]).hex() == f"{parent_context.span_id:016x}"

    assert attrs["mlflow.spanType"] == "LLM"
    usage = maybe_json(attrs["mlflow.chat.tokenUsage"])
    assert usage["input_tokens"] == response.usage.prompt_tokens
    assert usage["output_tokens"] == response.usage.completion_tokens
    assert usage["total_tokens"] == response.usage.total_tokens
    assert attrs["mlflow.llm.model"] == response.model == RESOLVED
    inputs = maybe_json(attrs["mlflow.spanInputs"])
    assert inputs["model"] == ENDPOINT
    assert inputs["messages"] == [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": QUESTION},
    ]
    outputs = maybe_json(attrs["mlflow.spanOutputs"])
    assert outputs["choices"][0]["message"]["content"] == response.choices[0].message.content
    trace_usage = json.loads(got["trace_info"]["trace_metadata"]["mlflow.trace.tokenUsage"])
    assert trace_usage["total_tokens"] == response.usage.total_tokens
    # arktrace.context reached both spans, and MLflow made them the trace's session and user
    assert attrs["session.id"] == "session-12345" and attrs["user.id"] == "user-a"
    assert got["trace_info"]["trace_metadata"]["mlflow.trace.session"] == "session-12345"
    assert got["trace_info"]["trace_metadata"]["mlflow.trace.user"] == "user-a"
    assert got["trace_info"]["tags"]["service.name"] == "byteplus-mlflow"
    # arktrace.context's tags and metadata are the trace's tags in MLflow
    assert got["trace_info"]["tags"]["prod"] == "true"
    assert got["trace_info"]["tags"]["tenant"] == "acme"


def test_check_against_mlflow(mlflow_server: ServerProcess, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.url)
    monkeypatch.setenv("MLFLOW_EXPERIMENT_ID", "987654")
    out = io.StringIO()
    assert run_check(["--no-dotenv"], out=out) == 1
    assert "HTTP 404: unknown experiment" in out.getvalue()

    monkeypatch.delenv("MLFLOW_EXPERIMENT_ID")
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", unique("arktrace-check"))
    out = io.StringIO()
    assert run_check(["--no-dotenv"], out=out) == 0, out.getvalue()
    assert "OK (HTTP 200)" in out.getvalue()


# ------------------------------------------------------------------------------------------ Phoenix


def phoenix_spans(server: ServerProcess, project: str, count: int) -> list[dict[str, Any]]:
    url = f"{server.url}/v1/projects/{urllib.parse.quote(project)}/spans?limit=100"

    def fetch() -> list[dict[str, Any]] | None:
        status, payload = http_json("GET", url)
        if status != 200:
            return None
        data = payload.get("data") or []
        return data if len(data) >= count else None

    return server.poll(f"{count} spans in project {project}", fetch)


def test_phoenix_reads_the_llm_span(
    phoenix_server: ServerProcess, server, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = unique("arktrace")
    monkeypatch.setenv("PHOENIX_COLLECTOR_ENDPOINT", phoenix_server.url)
    monkeypatch.setenv("PHOENIX_PROJECT_NAME", project)
    init(service_name="byteplus-phoenix")
    client = openai.OpenAI(api_key="test-key", base_url=server.base_url, max_retries=0)
    with client, arktrace.context(user_id="user-p", session_id="session-p"):
        response = client.chat.completions.create(
            model=ENDPOINT, messages=[{"role": "user", "content": QUESTION}], max_tokens=256
        )
        stream = client.chat.completions.create(
            model=ENDPOINT,
            messages=[{"role": "user", "content": "Tell me a story"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = list(stream)
    streamed_text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    streamed_usage = next(c.usage for c in chunks if c.usage is not None)
    assert flush()
    assert shutdown()

    spans = phoenix_spans(phoenix_server, project, 2)
    by_input = {
        ("story" if "Tell me a story" in s["attributes"].get("input.value", "") else "plain"): s
        for s in spans
    }
    plain, streamed = by_input["plain"], by_input["story"]
    for span in (plain, streamed):
        assert span["span_kind"] == "LLM"
        assert span["status_code"] == "OK"
        assert span["attributes"]["llm.model_name"] == RESOLVED
        assert span["attributes"]["session.id"] == "session-p"
        assert span["attributes"]["user.id"] == "user-p"

    attrs = plain["attributes"]
    assert attrs["llm.token_count.prompt"] == response.usage.prompt_tokens
    assert attrs["llm.token_count.completion"] == response.usage.completion_tokens
    assert attrs["llm.token_count.total"] == response.usage.total_tokens
    assert QUESTION in attrs["input.value"]
    assert response.choices[0].message.content in attrs["output.value"]

    attrs = streamed["attributes"]
    assert attrs["llm.token_count.prompt"] == streamed_usage.prompt_tokens
    assert attrs["llm.token_count.completion"] == streamed_usage.completion_tokens
    assert streamed_text and streamed_text in attrs["output.value"]


def test_check_against_phoenix(phoenix_server: ServerProcess, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHOENIX_COLLECTOR_ENDPOINT", phoenix_server.url)
    monkeypatch.setenv("PHOENIX_PROJECT_NAME", unique("arktrace-check"))
    out = io.StringIO()
    assert run_check(["--no-dotenv"], out=out) == 0, out.getvalue()
    assert "phoenix" in out.getvalue() and "OK (HTTP 200)" in out.getvalue()


# ------------------------------------------------------------------------------------- cost, read back


def json_value(value: Any) -> Any:
    """An attribute value MLflow stored JSON-encoded, once or twice, as a Python value."""
    while isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            break
    return value


def test_mlflow_shows_the_modelark_cost_and_tokens(
    mlflow_server: ServerProcess, server, modelark_client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """MLflow prices spans from its own model catalog, which has no ModelArk model; arktrace's
    ``mlflow.llm.cost`` is what it shows instead, per span and summed per trace."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.url)
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", unique("arktrace-cost"))
    init(service_name="byteplus-cost")
    calls = modelark_calls(server, modelark_client)
    assert flush()
    assert shutdown()

    usage = calls["whole"][0]
    cached = usage["prompt_tokens_details"]["cached_tokens"]
    assert cached and usage["completion_tokens_details"]["reasoning_tokens"]  # the call has both to show
    prompt_cost, completion_cost = expected_cost(usage["prompt_tokens"], cached, usage["completion_tokens"])
    for name in ("whole", "streamed"):
        got = mlflow_trace(mlflow_server, calls[name][1].trace_id)
        (llm_span,) = [s for s in got["spans"] if s["name"] != name]
        attrs = {kv["key"]: any_value(kv["value"]) for kv in llm_span["attributes"]}
        assert json_value(attrs["mlflow.llm.model"]) == RESOLVED, name
        cost = json_value(attrs["mlflow.llm.cost"])
        assert cost == pytest.approx(
            {
                "input_cost": prompt_cost,
                "output_cost": completion_cost,
                "total_cost": prompt_cost + completion_cost,
            }
        ), name
        trace_cost = json_value(got["trace_info"]["trace_metadata"]["mlflow.trace.cost"])
        assert trace_cost["total_cost"] == pytest.approx(prompt_cost + completion_cost), name
        # MLflow's token usage has a cache-read field and no reasoning field.
        assert json_value(attrs["mlflow.chat.tokenUsage"]) == {
            "input_tokens": usage["prompt_tokens"],
            "output_tokens": usage["completion_tokens"],
            "total_tokens": usage["total_tokens"],
            "cache_read_input_tokens": cached,
        }, name


def phoenix_graphql(server: ServerProcess, query: str, **variables: Any) -> dict[str, Any]:
    status, payload = http_json("POST", f"{server.url}/graphql", {"query": query, "variables": variables})
    assert status == 200 and not payload.get("errors"), payload
    return payload["data"]


SPAN_COST = """
query ($spanId: String!) {
  getSpanByOtelId(spanId: $spanId) {
    costSummary { prompt { cost tokens } completion { cost tokens } total { cost tokens } }
  }
}
"""


def test_phoenix_prices_modelark_calls_once_registered(
    phoenix_server: ServerProcess, server, modelark_client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Phoenix ignores cost attributes and prices spans from its own model table; `arktrace prices
    register phoenix` adds arktrace's prices there, and Phoenix's own costSummary shows them."""
    project = unique("arktrace-cost")
    monkeypatch.setenv("PHOENIX_COLLECTOR_ENDPOINT", phoenix_server.url)
    monkeypatch.setenv("PHOENIX_PROJECT_NAME", project)
    for run, verb in ((1, "created"), (2, "updated")):  # a second run updates, never duplicates
        out, err = io.StringIO(), io.StringIO()
        assert run_prices(["register", "phoenix", "--no-dotenv"], out=out, err=err) == 0, err.getvalue()
        lines = dict(line.split() for line in out.getvalue().splitlines()[:-1])
        assert lines == {name: verb for name in load_prices().models}, (run, out.getvalue())
    models = phoenix_graphql(
        phoenix_server, "{ generativeModels(first: 1000) { edges { node { name kind } } } }"
    )
    names = [e["node"]["name"] for e in models["generativeModels"]["edges"] if e["node"]["kind"] == "CUSTOM"]
    assert names.count("seed-1-8") == 1
    time.sleep(6)  # Phoenix reloads its model table every 5 s; spans ingested before are not priced

    init(service_name="byteplus-cost")
    calls = modelark_calls(server, modelark_client)
    assert flush()
    assert shutdown()

    usage = calls["whole"][0]
    cached = usage["prompt_tokens_details"]["cached_tokens"]
    prompt_cost, completion_cost = expected_cost(usage["prompt_tokens"], cached, usage["completion_tokens"])
    spans = phoenix_spans(phoenix_server, project, 4)
    llm_spans = [s for s in spans if s["span_kind"] == "LLM"]
    assert len(llm_spans) == 2
    for span in llm_spans:
        span_id = span["context"]["span_id"]

        def priced(span_id: str = span_id) -> dict[str, Any] | None:
            found = phoenix_graphql(phoenix_server, SPAN_COST, spanId=span_id)["getSpanByOtelId"]
            summary = found and found["costSummary"]
            return summary if summary and summary["total"]["cost"] is not None else None

        summary = phoenix_server.poll(f"the cost of span {span_id}", priced)
        assert summary["prompt"]["cost"] == pytest.approx(prompt_cost)
        assert summary["completion"]["cost"] == pytest.approx(completion_cost)
        assert summary["total"]["cost"] == pytest.approx(prompt_cost + completion_cost)
        assert summary["prompt"]["tokens"] == usage["prompt_tokens"]
        assert summary["completion"]["tokens"] == usage["completion_tokens"]


def test_embeddings_in_mlflow_and_phoenix(
    mlflow_server: ServerProcess,
    phoenix_server: ServerProcess,
    server,
    modelark_client,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """MLflow shows the embedding span's output (what came back, no vectors) and its tokens. Phoenix
    receives the token counts but counts tokens on LLM spans only (phoenix/db/insertion/span.py)."""
    project = unique("arktrace-embed")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.url)
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", unique("arktrace-embed"))
    monkeypatch.setenv("PHOENIX_COLLECTOR_ENDPOINT", phoenix_server.url)
    monkeypatch.setenv("PHOENIX_PROJECT_NAME", project)
    init(service_name="byteplus-embed")
    with trace.get_tracer("app").start_as_current_span("embed") as parent:
        response = modelark_client.embeddings.create(
            model="ep-20250101120000-embed", input=["hello world", "second one"]
        )
    assert flush()
    assert shutdown()

    got = mlflow_trace(mlflow_server, parent.get_span_context().trace_id)
    (span,) = [s for s in got["spans"] if s["name"] != "embed"]
    attrs = {kv["key"]: any_value(kv["value"]) for kv in span["attributes"]}
    assert json_value(attrs["mlflow.spanType"]) == "EMBEDDING"
    assert json_value(attrs["mlflow.spanOutputs"]) == {
        "model": response.model,
        "embeddings": 2,
        "dimensions": len(response.data[0].embedding),
    }
    assert json_value(attrs["mlflow.chat.tokenUsage"])["input_tokens"] == response.usage.prompt_tokens

    (embedding,) = [s for s in phoenix_spans(phoenix_server, project, 2) if s["span_kind"] == "EMBEDDING"]
    assert embedding["attributes"]["llm.token_count.prompt"] == response.usage.prompt_tokens


WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather of a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def test_mlflow_renders_the_tools(
    mlflow_server: ServerProcess, server, modelark_client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """MLflow's chat view shows a span's tools from mlflow.chat.tools, not from OpenInference's llm.tools."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.url)
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", unique("arktrace-tools"))
    init(service_name="byteplus-tools")
    with trace.get_tracer("app").start_as_current_span("ask") as parent:
        modelark_client.chat.completions.create(
            model=ENDPOINT, messages=[{"role": "user", "content": "Weather in Paris?"}], tools=[WEATHER_TOOL]
        )
    assert flush()
    assert shutdown()
    got = mlflow_trace(mlflow_server, parent.get_span_context().trace_id)
    (span,) = [s for s in got["spans"] if s["name"] != "ask"]
    attrs = {kv["key"]: any_value(kv["value"]) for kv in span["attributes"]}
    assert json_value(attrs["mlflow.chat.tools"]) == [WEATHER_TOOL]
