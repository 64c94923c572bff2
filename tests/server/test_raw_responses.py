"""with_raw_response and with_streaming_response behave as uninstrumented, and still get one span."""

from __future__ import annotations

import gc
import json
import weakref

import openai
import pytest
from opentelemetry.trace import StatusCode

import arktrace
from harness import ENDPOINT, RESOLVED

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


# ------------------------------------------------------------ the caller keeps no reference to the response
# What the SDK returns must live by the SDK's own rules: a raw response parsed in one expression, or a
# bound `.parse` kept alone, works as without arktrace, and the call still ends exactly one span.

_VARYING = {"id", "item_id", "response_id", "created", "created_at", "completed_at"}


def _stable(value):
    """What a parsed result holds, without what differs between two calls (ids, timestamps)."""
    if hasattr(value, "model_dump"):
        value = value.model_dump()
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in _VARYING}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


def _read(parsed):
    """A parsed result as data: a stream's events in order, or the one object."""
    if hasattr(parsed, "_iterator"):
        return type(parsed), [_stable(event) for event in parsed]
    return type(parsed), _stable(parsed)


async def _aread(parsed):
    if hasattr(parsed, "_iterator"):
        return type(parsed), [_stable(event) async for event in parsed]
    return type(parsed), _stable(parsed)


def _chat(stream=True):
    return {"model": ENDPOINT, "messages": QUESTION, "stream": stream}


def _responses(stream=True):
    return {"model": ENDPOINT, "input": "hello", "stream": stream}


def _kept_parse_only(client, kwargs):
    parse = client.chat.completions.with_raw_response.create(**kwargs).parse
    gc.collect()  # nothing but the bound method holds the response now
    return parse()


SYNC_ONE_EXPRESSION = {
    "chat raw stream": lambda c: c.chat.completions.with_raw_response.create(**_chat()).parse(),
    "chat streaming-response stream": lambda c: (
        c.chat.completions.with_streaming_response.create(**_chat()).__enter__().parse()
    ),
    "chat streaming-response": lambda c: (
        c.chat.completions.with_streaming_response.create(**_chat(False)).__enter__().parse()
    ),
    "chat raw stream, only .parse kept": lambda c: _kept_parse_only(c, _chat()),
    "responses raw stream": lambda c: c.responses.with_raw_response.create(**_responses()).parse(),
    "responses streaming-response stream": lambda c: (
        c.responses.with_streaming_response.create(**_responses()).__enter__().parse()
    ),
}


@pytest.mark.parametrize("case", SYNC_ONE_EXPRESSION)
def test_parsed_in_one_expression(client, spans, case):
    if case.startswith("responses") and not hasattr(openai.OpenAI, "responses"):
        pytest.skip("this openai release has no Responses API")
    traced = _read(SYNC_ONE_EXPRESSION[case](client))
    span = spans.one()
    assert span.status.status_code is StatusCode.OK
    assert span.attributes["gen_ai.response.model"] == RESOLVED
    arktrace.uninstrument()
    assert traced == _read(SYNC_ONE_EXPRESSION[case](client))  # what the SDK gives without arktrace


async def _async_kept_parse_only(client, kwargs):
    parse = (await client.chat.completions.with_raw_response.create(**kwargs)).parse
    gc.collect()
    return parse()


async def _async_streaming_response(client, kwargs, resource="chat"):
    api = client.chat.completions if resource == "chat" else client.responses
    return await (await api.with_streaming_response.create(**kwargs).__aenter__()).parse()


ASYNC_ONE_EXPRESSION = {
    "chat raw stream": lambda c: _await_then(c.chat.completions.with_raw_response.create(**_chat())),
    "chat streaming-response stream": lambda c: _async_streaming_response(c, _chat()),
    "chat streaming-response": lambda c: _async_streaming_response(c, _chat(False)),
    "chat raw stream, only .parse kept": lambda c: _async_kept_parse_only(c, _chat()),
    "responses raw stream": lambda c: _await_then(c.responses.with_raw_response.create(**_responses())),
    "responses streaming-response stream": lambda c: _async_streaming_response(c, _responses(), "responses"),
}


async def _await_then(raw):
    return (await raw).parse()


@pytest.mark.parametrize("case", ASYNC_ONE_EXPRESSION)
async def test_async_parsed_in_one_expression(aclient, spans, case):
    if case.startswith("responses") and not hasattr(openai.AsyncOpenAI, "responses"):
        pytest.skip("this openai release has no Responses API")
    traced = await _aread(await ASYNC_ONE_EXPRESSION[case](aclient))
    span = spans.one()
    assert span.status.status_code is StatusCode.OK
    assert span.attributes["gen_ai.response.model"] == RESOLVED
    arktrace.uninstrument()
    assert traced == await _aread(await ASYNC_ONE_EXPRESSION[case](aclient))


def test_the_parse_the_caller_gets_is_bound_to_the_response(client, spans):
    raw = client.chat.completions.with_raw_response.create(**_chat())
    assert raw.parse.__self__ is raw
    stream = raw.parse()
    assert "parse" not in vars(raw)  # the class's own parse from now on: the SDK caches its result
    assert raw.parse() is stream
    list(stream)
    assert spans.one().status.status_code is StatusCode.OK


def test_raw_responses_never_parsed_end_their_span_and_are_freed(client, spans):
    raw = client.chat.completions.with_raw_response.create(**_chat())
    gone = weakref.ref(raw)
    del raw
    gc.collect()
    assert gone() is None
    assert spans.one().status.status_code is StatusCode.OK
    spans.clear()
    with client.chat.completions.with_streaming_response.create(**_chat()) as response:
        next(response.iter_lines())
    assert spans.one().end_time
    assert "parse" not in vars(response)  # closed: no cycle left to wait for the collector
