"""Size: a 1 MB prompt, a 200-message conversation and a 100,000-chunk stream give spans whose string values
are bounded by ``max_value_length``, whose attribute count stays under the SDK's limit, that a real OTLP
exporter delivers, and a stream observer whose memory does not grow with the number of chunks.
"""

from __future__ import annotations

import gc
import logging
import tracemalloc
from typing import Any

import openai
import pytest
from openai.types.chat import ChatCompletionChunk
from opentelemetry.proto.trace.v1.trace_pb2 import Span as ProtoSpan

from arktrace._setup import flush, init, shutdown
from arktrace.operations.chat import ChatStreamState
from otlp_receiver import OTLPReceiver, attributes

pytestmark = pytest.mark.usefixtures("clean_env")

ECHO_ONLY = "ep-20250101120000-fghij"  # no reasoning: the reply is the echo only
LIMIT = 4096
# What truncate() appends: "…[<count> more characters cut by arktrace]".
MARK = len("…[") + 12 + len(" more characters cut by arktrace]")
SDK_ATTRIBUTE_LIMIT = 128  # OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT's default: beyond it the SDK drops silently


@pytest.fixture
def exported(receiver: OTLPReceiver, monkeypatch: pytest.MonkeyPatch) -> OTLPReceiver:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
    init(service_name="size", max_value_length=LIMIT, metrics=False)
    return receiver


def llm_spans(receiver: OTLPReceiver) -> list[ProtoSpan]:
    assert flush(timeout=20)
    assert shutdown(timeout=5)
    found = []
    for request in receiver.trace_requests():
        for rs in request.traces.resource_spans:  # type: ignore[union-attr]
            for ss in rs.scope_spans:
                found += [s for s in ss.spans if s.name.startswith(("chat", "text_completion"))]
    return found


def assert_bounded(span: ProtoSpan) -> dict[str, Any]:
    attrs = attributes(span.attributes)
    assert span.dropped_attributes_count == 0
    assert len(attrs) <= SDK_ATTRIBUTE_LIMIT
    for key, value in attrs.items():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str):
                assert len(item) <= LIMIT + MARK, (key, len(item))
    for event in span.events:
        for key, value in attributes(event.attributes).items():
            assert not isinstance(value, str) or len(value) <= LIMIT + MARK, (key, len(value))
    return attrs


def test_one_megabyte_prompt(exported: OTLPReceiver, server: Any) -> None:
    prompt = "lorem ipsum " * (1_000_000 // 12)
    with openai.OpenAI(api_key="k", base_url=server.base_url, max_retries=0) as client:
        client.chat.completions.create(model=ECHO_ONLY, messages=[{"role": "user", "content": prompt}])
        client.completions.create(model=ECHO_ONLY, prompt=prompt)
        server.fail_next(400)  # the error path records the request too
        with pytest.raises(openai.BadRequestError):
            client.chat.completions.create(model=ECHO_ONLY, messages=[{"role": "user", "content": prompt}])
    spans = llm_spans(exported)
    assert len(spans) == 3
    for span in spans:
        attrs = assert_bounded(span)
        assert attrs["input.value"].endswith("more characters cut by arktrace]")
    assert sum(len(r.body) for r in exported.trace_requests()) < 200_000


def test_two_hundred_message_conversation(exported: OTLPReceiver, server: Any) -> None:
    messages: list[dict[str, Any]] = [{"role": "system", "content": "be brief"}]
    for i in range(100):
        messages.append({"role": "user", "content": f"question {i} " + "x" * 2000})
        messages.append({"role": "assistant", "content": f"answer {i}"})
    messages[-1] = {"role": "user", "content": "last question"}
    with openai.OpenAI(api_key="k", base_url=server.base_url, max_retries=0) as client:
        client.chat.completions.create(model=ECHO_ONLY, messages=messages)
    (span,) = llm_spans(exported)
    attrs = assert_bounded(span)
    indexed = [k for k in attrs if k.startswith("llm.input_messages.")]
    assert 0 < len(indexed) <= 64  # the default max_message_attributes
    # The most recent messages are the ones kept.
    assert attrs["llm.input_messages.200.message.content"] == "last question"


# ~30 s of chunk parsing, most of it the SDK's; streaming itself is tested in every pass.
@pytest.mark.once
def test_hundred_thousand_chunk_stream(exported: OTLPReceiver, server: Any) -> None:
    with openai.OpenAI(api_key="k", base_url=server.base_url, max_retries=0) as client:
        stream = client.chat.completions.create(
            model=ECHO_ONLY,
            messages=[{"role": "user", "content": "count"}],
            stream=True,
            stream_options={"include_usage": True},
            extra_body={"arktrace_chunks": 100_000},
        )
        received = sum(1 for chunk in stream if chunk.choices)
    assert received == 100_001  # the content chunks, and the one that finishes
    (span,) = llm_spans(exported)
    attrs = assert_bounded(span)
    assert attrs["gen_ai.usage.output_tokens"] == 100_000
    assert attrs["llm.output_messages.0.message.content"].endswith("more characters cut by arktrace]")


def test_stream_memory_does_not_grow_with_chunks() -> None:
    """Peak memory of folding 100,000 chunks is that of 10,000: what is past the limit is only counted."""
    chunk = ChatCompletionChunk.model_validate(
        {
            "id": "c",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": "m",
            "choices": [
                {"index": 0, "delta": {"role": "assistant", "content": " token"}, "finish_reason": None}
            ],
        }
    )

    def peak(n: int) -> int:
        gc.collect()
        tracemalloc.start()
        try:
            state = ChatStreamState(LIMIT)
            for _ in range(n):
                state.record(chunk)
            state.as_response()
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    small, large = peak(10_000), peak(100_000)
    assert large < small * 1.2 + 4096, (small, large)


def test_an_export_the_backend_rejects_is_logged_not_silent(
    receiver: OTLPReceiver, server: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A backend that refuses a span as too large: the exporter says so in the log."""
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
    receiver.respond("/v1/traces", 413)
    caplog.set_level(logging.WARNING)
    init(service_name="size", metrics=False)
    with openai.OpenAI(api_key="k", base_url=server.base_url, max_retries=0) as client:
        client.chat.completions.create(model=ECHO_ONLY, messages=[{"role": "user", "content": "x" * 100_000}])
    flush(timeout=10)
    shutdown(timeout=5)
    assert receiver.trace_requests()
    assert any("413" in r.getMessage() for r in caplog.records), [r.getMessage() for r in caplog.records]
