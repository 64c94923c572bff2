"""init() exports the gen_ai.client.inference.operation.details events over OTLP logs, to the backends
that take logs, when a capture mode asks for them; and sets up nothing for logs otherwise."""

from __future__ import annotations

import json

import openai
import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

import arktrace
from harness import ENDPOINT
from otlp_receiver import attributes

pytestmark = [pytest.mark.usefixtures("clean_env"), pytest.mark.once]
MODE = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"


def _call(server) -> None:
    with openai.OpenAI(api_key="k", base_url=server.base_url, max_retries=0) as client:
        client.chat.completions.create(model=ENDPOINT, messages=[{"role": "user", "content": "Hi"}])


def test_event_only_sends_the_event_as_an_otlp_log_and_no_content_on_the_span(server, receiver, monkeypatch):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
    monkeypatch.setenv(MODE, "EVENT_ONLY")
    arktrace.init(dotenv=False, metrics=False)
    _call(server)
    arktrace.shutdown(5)
    logs = [r for r in receiver.requests if r.path == "/v1/logs"]
    assert logs, [r.path for r in receiver.requests]
    records = [
        record
        for request in logs
        for resource in ExportLogsServiceRequest.FromString(request.body).resource_logs
        for scope in resource.scope_logs
        for record in scope.log_records
    ]
    (record,) = records
    event = attributes(record.attributes)
    assert record.event_name == "gen_ai.client.inference.operation.details" or (
        event.get("event.name") == "gen_ai.client.inference.operation.details"
    )
    assert event["gen_ai.operation.name"] == "chat"
    assert json.loads(event["gen_ai.input.messages"])[0]["parts"][0]["content"] == "Hi"
    (span,) = receiver.spans()
    assert record.span_id.hex() == span.span_id and record.trace_id.hex() == span.trace_id
    assert "gen_ai.input.messages" not in span.attributes and "input.value" not in span.attributes


def test_no_log_export_without_an_event_mode(server, receiver, monkeypatch):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
    monkeypatch.setenv(MODE, "SPAN_ONLY")
    arktrace.init(dotenv=False, metrics=False)
    _call(server)
    arktrace.shutdown(5)
    assert receiver.spans()
    assert not [r for r in receiver.requests if r.path == "/v1/logs"]
