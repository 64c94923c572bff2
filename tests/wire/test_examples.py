"""Every file in examples/ runs in a subprocess against the bundled ModelArk server, and exports what it
should: the spans a local OTLP receiver decoded (names, parents, the attributes the example sets through
arktrace.context / arktrace.trace / the drop-in) and the requests the bundled server received.

The examples read their provider's variables (``BYTEPLUS_BASE_URL``, ``ARK_BASE_URL``, ``OPENAI_BASE_URL``,
``MOONSHOT_BASE_URL`` and the keys) and their backend's (``OPENOBSERVE_*``, ``LANGFUSE_*``, ``MLFLOW_*``,
``ARKTRACE_DATAKIT_URL``, ``OTEL_EXPORTER_OTLP_ENDPOINT``), so here both point at local servers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from harness import ROOT, SRC
from otlp_receiver import OTLPReceiver

pytestmark = pytest.mark.once

EXAMPLES = ROOT / "examples"
ENDPOINT = "ep-20250101120000-abcde"
RESOLVED = "seed-1-8-251228"
LANGFUSE_KEYWORDS = {"name", "metadata", "session_id", "user_id", "tags"}
CHAIN, SERVER, CLIENT = "CHAIN", 2, 3
# Variables of the examples' providers and backends that the developer's shell may hold: the examples
# see only what a case gives them.
FOREIGN_PREFIXES = ("ARKTRACE_", "OTEL_", "LANGFUSE_", "OPENOBSERVE_", "MLFLOW_", "PHOENIX_", "OPENAI_")
FOREIGN_PREFIXES += ("ARK_", "BYTEPLUS_", "MOONSHOT_")


@dataclass
class Run:
    stdout: str
    spans: list  # ReceivedSpan, as the receiver decoded them
    bodies: list  # JSON bodies of the POSTs the bundled server received
    trace_paths: set
    metrics_sent: bool

    def named(self, name: str) -> list:
        return [s for s in self.spans if s.name == name]

    def one(self, name: str):
        found = self.named(name)
        assert len(found) == 1, (name, [s.name for s in self.spans])
        return found[0]


def provider_env(base_url: str) -> dict[str, str]:
    key = "example-key"
    return {
        "BYTEPLUS_API_KEY": key,
        "BYTEPLUS_BASE_URL": base_url,
        "BYTEPLUS_ENDPOINT_ID": ENDPOINT,
        "ARK_API_KEY": key,
        "ARK_BASE_URL": base_url,
        "OPENAI_API_KEY": key,
        "OPENAI_BASE_URL": base_url,
        "MOONSHOT_API_KEY": key,
        "MOONSHOT_BASE_URL": base_url,
    }


def run_example(
    name: str, backend_env: dict[str, str], server, receiver: OTLPReceiver, tmp_path: Path
) -> Run:
    env = {k: v for k, v in os.environ.items() if not k.startswith(FOREIGN_PREFIXES)}
    env.update(provider_env(server.base_url))
    env.update(backend_env)
    env["PYTHONPATH"] = os.pathsep.join([SRC, env.get("PYTHONPATH", "")])
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name), "--self-test"],
        cwd=tmp_path,  # no .env of the developer's
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return Run(
        stdout=result.stdout,
        spans=receiver.spans(),
        bodies=[r.body for r in server.requests if r.method == "POST"],
        trace_paths={r.path for r in receiver.trace_requests()},
        metrics_sent=bool(receiver.metric_requests()),
    )


def assert_llm_span(span, request_model: str, response_model: str | None = None) -> None:
    attrs = span.attributes
    assert span.kind == CLIENT
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.request.model"] == request_model
    assert attrs["gen_ai.response.model"] == (response_model or request_model)
    assert span.status_code == 1  # OK


def assert_child(child, parent) -> None:
    assert child.parent_span_id == parent.span_id
    assert child.trace_id == parent.trace_id


# ----------------------------------------------------------------------------------------------- cases


def check_openobserve(run: Run) -> None:
    (span,) = run.spans
    assert span.name == f"chat {ENDPOINT}"
    assert span.resource["service.name"] == "byteplus"
    assert_llm_span(span, ENDPOINT, RESOLVED)
    assert span.attributes["gen_ai.request.max_tokens"] == 256
    assert span.attributes["gen_ai.usage.input_tokens"] > 0
    (body,) = run.bodies
    assert body["max_tokens"] == 256 and body["model"] == ENDPOINT
    assert "Echo: What is distributed tracing?" in run.stdout


def check_langfuse_dropin(run: Run) -> None:
    generations = run.named("BytePlus-Generation")  # name= names the span, as Langfuse names the generation
    assert len(generations) == 2
    assert sorted(bool(s.attributes.get("gen_ai.request.stream")) for s in generations) == [False, True]
    for span in generations:
        assert_llm_span(span, "kimi-k2-250711")
        assert span.parent_span_id == ""  # each its own trace, as in the guide
    pipeline = run.one("my_llm_pipeline")
    assert pipeline.attributes["openinference.span.kind"] == CHAIN
    inner = run.one("chat kimi-k2-250711")
    assert_child(inner, pipeline)
    for span in (pipeline, inner):  # arktrace.context: on the span current then, and on the LLM span
        attrs = span.attributes
        assert attrs["user.id"] == attrs["langfuse.user.id"] == "user_123"
        assert attrs["session.id"] == attrs["langfuse.session.id"] == "session_abc"
        assert attrs["langfuse.trace.tags"] == ["agent", "my-observation"]
        assert json.loads(attrs["metadata"]) == {"email": "user@litefuse.ai"}
        assert attrs["langfuse.version"] == "1.0.0"
    assert len(run.bodies) == 3
    for body in run.bodies:  # nothing of the drop-in keywords reached the provider
        assert LANGFUSE_KEYWORDS.isdisjoint(body), body
    assert run.stdout.count("Echo: What is Litefuse?") == 2


def check_mlflow(run: Run) -> None:
    plain, inner = run.named(f"chat {ENDPOINT}")
    if plain.parent_span_id:
        plain, inner = inner, plain
    assert plain.parent_span_id == ""
    assert "session.id" not in plain.attributes
    parent = run.one("answer_question")
    assert parent.attributes["openinference.span.kind"] == CHAIN
    assert_child(inner, parent)
    assert inner.attributes["session.id"] == "session-12345"
    assert inner.attributes["user.id"] == "user-a"
    for span in (plain, inner):
        assert_llm_span(span, ENDPOINT, RESOLVED)
        assert span.resource["service.name"] == "byteplus-mlflow"
    assert len(run.bodies) == 2


def check_openlit_langfuse(run: Run) -> None:
    first = run.one("chat gpt-4o")
    assert_llm_span(first, "gpt-4o")
    assert first.parent_span_id == ""
    parent = run.one("Otel-Trace")
    inner = run.one("chat gpt-4o-mini")
    assert_llm_span(inner, "gpt-4o-mini")
    assert_child(inner, parent)
    assert f"trace id: {parent.trace_id}" in run.stdout  # arktrace.current_trace_id() inside the span
    assert [b["model"] for b in run.bodies] == ["gpt-4o", "gpt-4o-mini"]


def check_flask_datakit(run: Run) -> None:
    server_span = run.one("POST /ask")
    assert server_span.kind == SERVER
    workflow = run.one("ask_workflow")
    assert workflow.attributes["openinference.span.kind"] == CHAIN
    assert_child(workflow, server_span)
    llm = run.one("chat moonshot-v1-8k")
    assert_llm_span(llm, "moonshot-v1-8k")
    assert llm.attributes["gen_ai.request.temperature"] == 0.3
    assert llm.attributes["gen_ai.request.stream"] is True
    assert_child(llm, workflow)
    assert llm.resource["service.name"] == "kimi_openllmetry_stream_flask"
    (body,) = run.bodies
    assert body["stream"] is True and body["max_tokens"] == 2048
    assert "Echo: Hello, Kimi" in run.stdout
    assert run.metrics_sent


def check_otlp_generic(run: Run) -> None:
    checkout = run.one("checkout")
    llm = run.one(f"chat {ENDPOINT}")
    assert_child(llm, checkout)
    assert_llm_span(llm, ENDPOINT, RESOLVED)
    assert llm.resource["service.name"] == "shop"


@dataclass
class Case:
    backend_env: Callable[[str], dict[str, str]]
    trace_path: str
    check: Callable[[Run], None]


CASES = {
    "openobserve_quickstart.py": Case(
        lambda url: {"OPENOBSERVE_URL": url, "OPENOBSERVE_ORG": "o", "OPENOBSERVE_AUTH_TOKEN": "Basic eDp5"},
        "/api/o/v1/traces",
        check_openobserve,
    ),
    "langfuse_dropin.py": Case(
        lambda url: {
            "LANGFUSE_PUBLIC_KEY": "pk-lf-ex",
            "LANGFUSE_SECRET_KEY": "sk-lf-ex",
            "LANGFUSE_BASE_URL": url,
        },
        "/api/public/otel/v1/traces",
        check_langfuse_dropin,
    ),
    "mlflow_parent_span.py": Case(
        lambda url: {"MLFLOW_TRACKING_URI": url, "MLFLOW_EXPERIMENT_ID": "3"}, "/v1/traces", check_mlflow
    ),
    "openlit_langfuse.py": Case(
        lambda url: {
            "LANGFUSE_PUBLIC_KEY": "pk-lf-ex",
            "LANGFUSE_SECRET_KEY": "sk-lf-ex",
            "LANGFUSE_HOST": url,
        },
        "/api/public/otel/v1/traces",
        check_openlit_langfuse,
    ),
    "flask_datakit_stream.py": Case(
        lambda url: {"ARKTRACE_DATAKIT_URL": url + "/otel"}, "/otel/v1/traces", check_flask_datakit
    ),
    "otlp_generic.py": Case(
        lambda url: {"OTEL_EXPORTER_OTLP_ENDPOINT": url}, "/v1/traces", check_otlp_generic
    ),
}


def test_every_example_has_a_case() -> None:
    # A new example without a case here would not run in CI.
    assert {p.name for p in EXAMPLES.glob("*.py")} == set(CASES)


@pytest.mark.parametrize("example", list(CASES))
def test_example(example: str, server, receiver: OTLPReceiver, tmp_path: Path) -> None:
    case = CASES[example]
    run = run_example(example, case.backend_env(receiver.url), server, receiver, tmp_path)
    assert run.trace_paths == {case.trace_path}
    case.check(run)
