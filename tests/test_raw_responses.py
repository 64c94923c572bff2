"""with_raw_response and with_streaming_response behave as uninstrumented, and still get one span."""

from __future__ import annotations

import json

import openai
from opentelemetry.trace import StatusCode

from conftest import ENDPOINT, RESOLVED

QUESTION = [{"role": "user", "content": "hello"}]


def test_raw_response(client, server, spans):
    raw = client.chat.completions.with_raw_response.create(model=ENDPOINT, messages=QUESTION)
    assert raw.headers["x-request-id"]
    completion = raw.parse()
    a = spans.one().attributes
    assert a["gen_ai.response.id"] == completion.id
    assert a["gen_ai.response.model"] == RESOLVED
    assert a["gen_ai.usage.output_tokens"] == completion.usage.completion_tokens
    assert a["http.response.status_code"] == 200
    assert "stream_options" not in server.requests[-1].body


def test_raw_response_stream_is_observed_once_parsed(client, server, spans):
    raw = client.chat.completions.with_raw_response.create(model=ENDPOINT, messages=QUESTION, stream=True)
    assert raw.headers["content-type"].startswith("text/event-stream")
    stream = raw.parse()
    assert isinstance(stream, openai.Stream)
    assert spans.all() == []
    chunks = list(stream)
    span = spans.one()
    assert span.attributes["llm.output_messages.0.message.content"] == "".join(
        c.choices[0].delta.content or "" for c in chunks
    )
    assert "stream_options" not in server.requests[-1].body  # raw calls get exactly what they asked for


def test_streaming_response_lines_are_untouched(client, spans):
    with client.chat.completions.with_streaming_response.create(
        model=ENDPOINT, messages=QUESTION, stream=True
    ) as response:
        lines = [line for line in response.iter_lines() if line]
    assert lines[-1] == "data: [DONE]"
    assert json.loads(lines[0][len("data: ") :])["model"] == RESOLVED
    span = spans.one()
    assert span.status.status_code is StatusCode.OK
    assert span.attributes["http.response.status_code"] == 200


def test_streaming_response_parsed(client, spans):
    with client.chat.completions.with_streaming_response.create(
        model=ENDPOINT, messages=QUESTION
    ) as response:
        completion = response.parse()
    assert spans.one().attributes["gen_ai.response.id"] == completion.id


def test_streaming_response_stream_parsed(client, spans):
    with client.chat.completions.with_streaming_response.create(
        model=ENDPOINT, messages=QUESTION, stream=True
    ) as response:
        chunks = list(response.parse())
    a = spans.one().attributes
    assert a["gen_ai.response.id"] == chunks[0].id
    assert a["gen_ai.response.finish_reasons"] == ("stop",)


async def test_async_raw_response(aclient, spans):
    raw = await aclient.chat.completions.with_raw_response.create(model=ENDPOINT, messages=QUESTION)
    completion = raw.parse()
    assert spans.one().attributes["gen_ai.response.id"] == completion.id


async def test_async_streaming_response_stream(aclient, spans):
    async with aclient.chat.completions.with_streaming_response.create(
        model=ENDPOINT, messages=QUESTION, stream=True
    ) as response:
        stream = await response.parse()
        chunks = [c async for c in stream]
    assert spans.one().attributes["gen_ai.response.id"] == chunks[0].id


def test_embeddings_raw(client, spans):
    raw = client.embeddings.with_raw_response.create(model="ep-20250101120000-embed", input="x")
    assert raw.parse().data
    assert spans.one().attributes["gen_ai.usage.input_tokens"] == 1
