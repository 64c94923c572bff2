"""`opentelemetry-instrument python app.py` picks arktrace up through its entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

APP = """
import openai
from arktrace.testing import ModelArkServer
with ModelArkServer() as server:
    client = openai.OpenAI(api_key="k", base_url=server.base_url, max_retries=0)
    question = [{"role": "user", "content": "hi"}]
    client.chat.completions.create(model="ep-20250101120000-abcde", messages=question)
"""


def test_zero_code_instrumentation(tmp_path):
    app = tmp_path / "app.py"
    app.write_text(APP)
    launcher = Path(sys.executable).with_name("opentelemetry-instrument")
    env = {
        **os.environ,
        "OTEL_TRACES_EXPORTER": "console",
        "OTEL_METRICS_EXPORTER": "none",
        "OTEL_LOGS_EXPORTER": "none",
        "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "flask,wsgi",
    }
    done = subprocess.run(
        [str(launcher), sys.executable, str(app)], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    spans = [json.loads(block) for block in _json_blocks(done.stdout)]
    (span,) = [s for s in spans if s["name"].startswith("chat ")]
    assert span["attributes"]["gen_ai.response.model"] == "seed-1-8-251228"
    assert span["kind"] == "SpanKind.CLIENT"


def _json_blocks(text):
    depth, start = 0, None
    for i, ch in enumerate(text):
        if ch == "{":
            if depth == 0:
                start = i
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                yield text[start : i + 1]


def test_opentelemetry_instrument_exports_to_an_otlp_receiver(tmp_path, server, receiver):
    from test_run import APP, SRC, _contents, _env

    env = _env(
        tmp_path,
        server,
        OTEL_TRACES_EXPORTER="otlp",
        OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf",
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver.url,
        OTEL_METRICS_EXPORTER="none",
        OTEL_LOGS_EXPORTER="none",
        OTEL_PYTHON_DISABLED_INSTRUMENTATIONS="flask,wsgi",
        PYTHONPATH=SRC,
    )
    script = tmp_path / "app.py"
    script.write_text(APP)
    launcher = Path(sys.executable).with_name("opentelemetry-instrument")
    done = subprocess.run(
        [str(launcher), sys.executable, str(script), "exit"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 3, done.stderr
    assert _contents(receiver) == ["call 0", "call 1"]
    assert {s.scope for s in receiver.spans()} == {"arktrace"}
    assert {s.resource["service.name"] for s in receiver.spans()} == {"run-test"}


def test_the_instrumentor_follows_the_contrib_conventions(server, client):
    from opentelemetry.instrumentation.instrumentor import BaseInstrumentor
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    import arktrace
    from arktrace.instrumentor import ArktraceInstrumentor

    arktrace.uninstrument()
    instrumentor = ArktraceInstrumentor()
    assert isinstance(instrumentor, BaseInstrumentor)
    assert ArktraceInstrumentor() is instrumentor
    assert instrumentor.instrumentation_dependencies() == ("openai >= 1.40",)
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrumentor.instrument(tracer_provider=provider, capture_content=False)
    try:
        assert instrumentor.is_instrumented_by_opentelemetry and arktrace.is_instrumented()
        client.chat.completions.create(
            model="ep-20250101120000-abcde", messages=[{"role": "user", "content": "hi"}]
        )
    finally:
        instrumentor.uninstrument()
    assert not instrumentor.is_instrumented_by_opentelemetry and not arktrace.is_instrumented()
    (span,) = exporter.get_finished_spans()
    assert span.instrumentation_scope.name == "arktrace"
    assert "input.value" not in span.attributes  # the arktrace keyword was passed on


STANDALONE = """
import sys
sys.modules["opentelemetry.instrumentation"] = None  # as if opentelemetry-instrumentation were not installed
import arktrace
from arktrace.instrumentor import ArktraceInstrumentor
first = ArktraceInstrumentor()
first.instrument()
assert arktrace.is_instrumented() and first.is_instrumented_by_opentelemetry
assert ArktraceInstrumentor() is first
first.uninstrument()
assert not arktrace.is_instrumented() and not first.is_instrumented_by_opentelemetry
print([c.__module__ for c in type(first).__mro__])
"""


def test_the_instrumentor_works_without_opentelemetry_instrumentation():
    from test_run import SRC

    done = subprocess.run(
        [sys.executable, "-c", STANDALONE],
        env={**os.environ, "PYTHONPATH": SRC},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "opentelemetry.instrumentation.instrumentor" not in done.stdout


RECIPE_APP = """
import os
import openai

client = openai.OpenAI(api_key="k", base_url=os.environ["APP_BASE_URL"], max_retries=0)
client.chat.completions.create(model=os.environ["APP_MODEL"], messages=[{"role": "user", "content": "hi"}])
"""


def _readme_recipe() -> str:
    """The README's `opentelemetry-instrument` command line, as a user copies it."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    (line,) = [
        line for line in readme.splitlines() if line.endswith("opentelemetry-instrument python app.py")
    ]
    return line


@pytest.mark.once
def test_the_readmes_opentelemetry_instrument_recipe_exports_with_only_the_endpoint_set(
    tmp_path, server, receiver
):
    # The distro defaults to grpc, whose exporter arktrace[instrumentation] does not install: without
    # arktrace's default the program ran untraced after "Requested component 'otlp_proto_grpc' not found".
    from test_run import _env

    recipe = _readme_recipe()
    assert "OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318" in recipe
    (tmp_path / "app.py").write_text(RECIPE_APP)
    env = _env(tmp_path, server)
    for name in list(env):
        if name.startswith("OTEL_"):
            del env[name]
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    done = subprocess.run(
        ["bash", "-c", recipe.replace("http://localhost:4318", receiver.url)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Failed to auto initialize" not in done.stderr, done.stderr
    (span,) = receiver.spans()
    assert span.scope == "arktrace" and span.attributes["gen_ai.response.model"] == "seed-1-8-251228"
    assert span.resource["service.name"] == "byteplus"
    # the distro's metrics and logs exporters went the same way, over HTTP
    assert "/v1/metrics" in {r.path for r in receiver.requests}


@pytest.mark.once
def test_a_protocol_the_user_chose_is_kept(monkeypatch):
    import importlib

    # set before the import, which applies the default to this process's environment
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
    from arktrace import _otel_defaults

    importlib.reload(_otel_defaults)
    assert os.environ["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/json"
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_PROTOCOL")
    importlib.reload(_otel_defaults)
    assert os.environ["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/protobuf"  # no grpc exporter installed here
