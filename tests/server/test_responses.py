"""The Responses API (`responses.create`, streamed or not, sync and async): the chat scenarios."""

from __future__ import annotations

import asyncio
import gc
import json
from types import SimpleNamespace

import openai
import pytest
from opentelemetry.trace import SpanKind, StatusCode

import arktrace
from arktrace.operations.responses import ResponsesStreamState
from arktrace.testing import count_tokens
from harness import ENDPOINT, RESOLVED

FLASH = "ep-20250101120000-fghij"
QUESTION = "What is distributed tracing?"
ANSWER = "Echo: What is distributed tracing?"
REASONING = "The user sent a message. I will answer it by echoing it back."
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
SEARCH = {"type": "web_search"}

needs_responses = pytest.mark.skipif(
    not hasattr(openai.OpenAI, "responses"), reason="this openai release has no Responses API"
)


def _create(client, **kwargs):
    kwargs.setdefault("model", ENDPOINT)
    kwargs.setdefault("input", QUESTION)
    return client.responses.create(**kwargs)


def _text(events, kind="response.output_text.delta"):
    return "".join(e.delta for e in events if e.type == kind)


# ------------------------------------------------------------------------------------ non-streamed


@needs_responses
def test_reasoning_call_with_cached_tokens_has_exact_attributes(client, server, spans):
    server.cached_tokens = 3
    response = _create(client, instructions="Answer briefly.", max_output_tokens=256, temperature=0.3)

    span = spans.one()
    a = dict(span.attributes)
    assert span.name == f"chat {ENDPOINT}" and span.kind is SpanKind.CLIENT
    assert span.status.status_code is StatusCode.OK
    assert a["gen_ai.operation.name"] == "chat" and a["openai.api.type"] == "responses"
    assert a["openinference.span.kind"] == "LLM" and a["llm.system"] == "openai"
    assert a["gen_ai.request.model"] == ENDPOINT
    assert a["gen_ai.response.model"] == a["llm.model_name"] == RESOLVED == response.model
    assert a["gen_ai.response.id"] == response.id
    assert a["gen_ai.request.max_tokens"] == 256 and a["gen_ai.request.temperature"] == 0.3
    assert a["gen_ai.response.finish_reasons"] == ("stop",)
    assert json.loads(a["llm.invocation_parameters"]) == {
        "model": ENDPOINT,
        "max_output_tokens": 256,
        "temperature": 0.3,
    }
    # "Answer briefly." (3) + the question (5); reasoning (15) + the answer (7)
    usage = response.usage
    expected = {
        "gen_ai.usage.input_tokens": 8,
        "gen_ai.usage.output_tokens": 22,
        "gen_ai.usage.total_tokens": 30,
        "gen_ai.usage.cache_read.input_tokens": 3,
        "gen_ai.usage.reasoning.output_tokens": 15,
        "llm.token_count.prompt": 8,
        "llm.token_count.completion": 22,
        "llm.token_count.total": 30,
        "llm.token_count.prompt_details.cache_read": 3,
        "llm.token_count.completion_details.reasoning": 15,
    }
    assert {k: a.get(k) for k in expected} == expected
    assert (usage.input_tokens, usage.output_tokens) == (8, 22)
    assert usage.output_tokens_details.reasoning_tokens == 15
    assert usage.input_tokens_details.cached_tokens == 3
    assert a["gen_ai.usage.cost"] > 0
    # content: instructions are the system message, the input the user's
    assert json.loads(a["input.value"])["instructions"] == "Answer briefly."
    assert a["llm.input_messages.0.message.role"] == "system"
    assert a["llm.input_messages.0.message.content"] == "Answer briefly."
    assert a["llm.input_messages.1.message.role"] == "user"
    assert a["llm.input_messages.1.message.content"] == QUESTION
    assert a["llm.output_messages.0.message.role"] == "assistant"
    assert a["llm.output_messages.0.message.content"] == ANSWER == response.output_text
    output = json.loads(a["output.value"])
    assert [item["type"] for item in output["output"]] == ["reasoning", "message"]
    assert output["output"][0]["summary"][0]["text"] == REASONING  # reasoning is kept with the output
    assert "stream_options" not in server.requests[-1].body


@needs_responses
async def test_async_call(aclient, spans):
    response = await aclient.responses.create(model=ENDPOINT, input=QUESTION)
    assert isinstance(response, openai.types.responses.Response)
    a = spans.one().attributes
    assert a["gen_ai.response.id"] == response.id
    assert a["llm.output_messages.0.message.content"] == ANSWER
    assert a["gen_ai.usage.output_tokens"] == 22


@needs_responses
def test_input_items_become_messages(client, spans):
    image = "data:image/png;base64," + "A" * 5000
    items = [
        {"role": "developer", "content": "Use metric units."},
        {
            "role": "user",
            "content": [
                {"type": "input_text", "text": "What is in this picture?"},
                {"type": "input_image", "image_url": image},
            ],
        },
    ]
    before = json.dumps(items)
    _create(client, input=items)
    assert json.dumps(items) == before  # the caller's input is read, never changed
    a = spans.one().attributes
    assert a["llm.input_messages.0.message.role"] == "developer"
    assert a["llm.input_messages.0.message.content"] == "Use metric units."
    assert a["llm.input_messages.1.message.contents.0.message_content.type"] == "text"
    assert a["llm.input_messages.1.message.contents.0.message_content.text"] == "What is in this picture?"
    assert a["llm.input_messages.1.message.contents.1.message_content.type"] == "image"
    url = a["llm.input_messages.1.message.contents.1.message_content.image.image.url"]
    assert url == "data:image/png;base64,<5000 characters of inline data omitted>"
    assert "AAAA" not in a["input.value"]


@needs_responses
def test_reasoning_switched_off(client, spans):
    response = _create(client, reasoning={"effort": "minimal"})
    a = spans.one().attributes
    assert [item.type for item in response.output] == ["message"]
    assert a["gen_ai.usage.reasoning.output_tokens"] == 0
    assert a["gen_ai.usage.output_tokens"] == count_tokens(ANSWER)
    assert json.loads(a["llm.invocation_parameters"])["reasoning"] == {"effort": "minimal"}


@needs_responses
def test_max_output_tokens_makes_an_incomplete_response(client, spans):
    response = _create(client, max_output_tokens=16)
    assert response.status == "incomplete"
    a = spans.one().attributes
    assert a["gen_ai.response.finish_reasons"] == ("length",)
    assert a["gen_ai.usage.output_tokens"] == 16


@needs_responses
def test_structured_output_type(client, spans):
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}}
    text = {"format": {"type": "json_schema", "name": "answer", "schema": schema}}
    _create(client, text=text)
    assert spans.one().attributes["gen_ai.output.type"] == "json"


# ------------------------------------------------------------------------------------ tools


@needs_responses
def test_function_call_round_trip(client, spans):
    first = _create(client, input="Weather in Singapore?", tools=[WEATHER])
    call = next(item for item in first.output if item.type == "function_call")
    a = spans.one().attributes
    assert a["gen_ai.response.finish_reasons"] == ("tool_calls",)
    base = "llm.output_messages.0.message.tool_calls.0.tool_call"
    assert a[f"{base}.id"] == call.call_id
    assert a[f"{base}.function.name"] == "get_weather"
    assert a[f"{base}.function.arguments"] == call.arguments == '{"city":"example"}'
    assert json.loads(a["llm.tools.0.tool.json_schema"]) == WEATHER
    assert "arktrace.response.builtin_tool_calls" not in a
    spans.clear()

    items = [
        {"role": "user", "content": "Weather in Singapore?"},
        {"type": "function_call", "call_id": call.call_id, "name": call.name, "arguments": call.arguments},
        {"type": "function_call_output", "call_id": call.call_id, "output": "31 C, humid"},
    ]
    second = _create(client, input=items, tools=[WEATHER])
    a = spans.one().attributes
    assert second.output_text == "The tool returned: 31 C, humid"
    assert a["llm.input_messages.1.message.role"] == "assistant"
    assert a["llm.input_messages.1.message.tool_calls.0.tool_call.id"] == call.call_id
    assert a["llm.input_messages.1.message.tool_calls.0.tool_call.function.name"] == "get_weather"
    assert a["llm.input_messages.2.message.role"] == "tool"
    assert a["llm.input_messages.2.message.tool_call_id"] == call.call_id
    assert a["llm.input_messages.2.message.content"] == "31 C, humid"
    assert a["gen_ai.response.finish_reasons"] == ("stop",)


@needs_responses
def test_web_search_is_recorded_as_a_builtin_tool_call(client, spans):
    response = _create(client, model=FLASH, input="arktrace release news", tools=[SEARCH])
    search = response.output[0]
    assert search.type == "web_search_call"
    a = spans.one().attributes
    assert a["arktrace.response.builtin_tool_calls"] == ("web_search_call",)
    assert a["gen_ai.response.finish_reasons"] == ("stop",)  # the provider ran it: nothing left to the caller
    base = "llm.output_messages.0.message.tool_calls.0.tool_call"
    assert a[f"{base}.id"] == search.id
    assert a[f"{base}.function.name"] == "web_search_call"
    assert json.loads(a[f"{base}.function.arguments"]) == {"type": "search", "query": "arktrace release news"}
    assert a["llm.output_messages.0.message.content"] == "Echo: arktrace release news"


# ------------------------------------------------------------------------------------ streams


@needs_responses
def test_exhausted_stream_records_the_final_response(client, server, spans):
    server.cached_tokens = 2
    stream = _create(client, stream=True)
    assert type(stream) is openai.Stream
    events = list(stream)
    final = events[-1].response
    assert events[-1].type == "response.completed"

    span = spans.one()
    a = span.attributes
    assert span.status.status_code is StatusCode.OK
    assert a["gen_ai.request.stream"] is True
    assert a["gen_ai.response.id"] == final.id == events[0].response.id
    assert a["gen_ai.response.model"] == RESOLVED
    assert a["gen_ai.response.finish_reasons"] == ("stop",)
    assert a["llm.output_messages.0.message.content"] == _text(events) == ANSWER
    summary = json.loads(a["output.value"])["output"][0]["summary"][0]["text"]
    assert summary == _text(events, "response.reasoning_summary_text.delta") == REASONING
    assert a["gen_ai.usage.input_tokens"] == 5 and a["gen_ai.usage.cache_read.input_tokens"] == 2
    assert a["gen_ai.usage.output_tokens"] == 22 and a["gen_ai.usage.reasoning.output_tokens"] == 15
    # usage comes with response.completed: nothing is added to the request, nothing hidden from the caller
    assert "stream_options" not in server.requests[-1].body
    assert final.usage.output_tokens == 22
    assert 0 < a["gen_ai.response.time_to_first_chunk"] < (span.end_time - span.start_time) / 1e9
    assert a["langfuse.observation.completion_start_time"].endswith("+00:00")


@needs_responses
def test_time_to_first_token_is_the_first_delta(client, server, spans):
    server.latency = 0.05
    server.chunk_interval = 0.02
    list(_create(client, model=FLASH, stream=True))
    # created, in_progress, item added, part added precede the first text delta: 4 gaps of pacing
    assert spans.one().attributes["gen_ai.response.time_to_first_chunk"] >= 0.05 + 4 * 0.02


@needs_responses
def test_streamed_function_call(client, spans):
    events = list(_create(client, input="Weather?", tools=[WEATHER], stream=True))
    done = next(
        e.item for e in events if e.type == "response.output_item.done" and e.item.type == "function_call"
    )
    a = spans.one().attributes
    assert a["gen_ai.response.finish_reasons"] == ("tool_calls",)
    base = "llm.output_messages.0.message.tool_calls.0.tool_call"
    assert a[f"{base}.id"] == done.call_id
    assert a[f"{base}.function.arguments"] == _text(events, "response.function_call_arguments.delta")


@needs_responses
def test_streamed_web_search(client, spans):
    events = list(_create(client, model=FLASH, input="news", tools=[SEARCH], stream=True))
    assert "response.web_search_call.completed" in [e.type for e in events]
    a = spans.one().attributes
    assert a["arktrace.response.builtin_tool_calls"] == ("web_search_call",)
    assert a["llm.output_messages.0.message.tool_calls.0.tool_call.function.name"] == "web_search_call"


@needs_responses
def test_streamed_incomplete_response(client, spans):
    events = list(_create(client, stream=True, max_output_tokens=17))
    assert events[-1].type == "response.incomplete"
    a = spans.one().attributes
    assert a["gen_ai.response.finish_reasons"] == ("length",)
    assert a["gen_ai.usage.output_tokens"] == 17


@needs_responses
def test_mid_stream_error_event_is_an_error(client, server, spans):
    server.fail_mid_stream(after_chunks=5)
    events = list(_create(client, stream=True))  # the SDK hands the error event over; it does not raise
    assert len(events) == 6 and events[-1].type == "error"
    span = spans.one()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "InternalServiceError" == events[-1].code
    assert span.attributes["arktrace.error.code"] == "InternalServiceError"
    assert span.attributes["gen_ai.response.id"] == events[0].response.id  # what arrived is kept
    assert span.status.description.startswith("ReportedFailure: The service encountered")


@needs_responses
def test_a_failed_response_with_http_200_is_an_error(client, server, spans):
    failed = {
        "id": "resp_0217426318107460cfa43",
        "object": "response",
        "created_at": 1742631811,
        "model": "seed-1-8-251228",
        "status": "failed",
        "error": {"code": "server_error", "message": "The model failed to answer."},
        "output": [],
        "usage": {"input_tokens": 12, "output_tokens": 0, "total_tokens": 12},
    }
    server.send_next(failed)
    response = _create(client)
    assert response.status == "failed"  # returned to the caller as it came, not raised
    span = spans.one()
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "ReportedFailure: The model failed to answer."
    a = span.attributes
    assert a["error.type"] == "server_error"
    assert a["gen_ai.response.finish_reasons"] == ("error",)
    assert a["gen_ai.usage.input_tokens"] == 12
    assert [e.name for e in span.events] == ["exception"]


@needs_responses
def test_magic_midstream_model(client, spans):
    events = list(_create(client, model="ep-error-midstream", stream=True))
    assert events[-1].type == "error"
    assert spans.one().status.status_code is StatusCode.ERROR


@needs_responses
def test_partial_text_is_kept_when_the_stream_is_closed(client, spans):
    stream = _create(client, model=FLASH, input="one two three four five", stream=True)
    seen = []
    for event in stream:
        seen.append(event)
        if event.type == "response.output_text.delta" and len(_text(seen)) > 8:
            break
    stream.close()
    span = spans.one()
    a = span.attributes
    assert span.status.status_code is StatusCode.OK
    assert "gen_ai.response.finish_reasons" not in a  # it never finished
    assert a["llm.output_messages.0.message.content"] == _text(seen)
    assert json.loads(a["output.value"])["status"] == "in_progress"
    assert "gen_ai.usage.output_tokens" not in a  # no usage arrived; none is invented


@needs_responses
def test_with_block_exit_ends_the_span(client, spans):
    with _create(client, stream=True) as stream:
        next(stream)
    span = spans.one()
    assert span.attributes["gen_ai.response.model"] == RESOLVED


@needs_responses
def test_dropped_and_never_iterated_streams_end(client, spans):
    stream = _create(client, stream=True)
    first = next(stream)
    assert spans.all() == []  # open while the caller holds the stream
    del stream
    gc.collect()
    (dropped,) = spans.all()  # ended when collected, with what the caller read
    assert dropped.attributes["gen_ai.response.id"] == first.response.id
    unread = _create(client, stream=True)
    assert spans.all() == [dropped]
    unread.close()
    (_, closed) = spans.all()  # ended by close()
    unread = _create(client, stream=True)
    assert len(spans.all()) == 2
    del unread
    gc.collect()
    (_, _, collected) = spans.all()  # ended by the collector
    for span in (dropped, closed, collected):
        assert span.end_time is not None
        assert span.status.status_code is StatusCode.OK
        assert span.attributes["gen_ai.request.model"] == ENDPOINT
        assert "gen_ai.response.finish_reasons" not in span.attributes  # none ran to its end
    assert "gen_ai.response.id" not in closed.attributes and "gen_ai.response.id" not in collected.attributes


@needs_responses
def test_stream_helper_and_parse_make_one_span_each(client, spans):
    with client.responses.stream(model=ENDPOINT, input=QUESTION, tools=[WEATHER]) as stream:
        for _ in stream:
            pass
        final = stream.get_final_response()
    a = spans.one().attributes
    assert a["gen_ai.response.id"] == final.id
    assert a["gen_ai.response.finish_reasons"] == ("tool_calls",)
    spans.clear()

    parsed = client.responses.parse(model=ENDPOINT, input=QUESTION)
    a = spans.one().attributes
    assert a["gen_ai.response.id"] == parsed.id
    assert a["llm.output_messages.0.message.content"] == parsed.output_text


@needs_responses
async def test_async_streams(aclient, server, spans):
    stream = await aclient.responses.create(model=ENDPOINT, input=QUESTION, stream=True)
    assert type(stream) is openai.AsyncStream
    events = [event async for event in stream]
    a = spans.one().attributes
    assert a["llm.output_messages.0.message.content"] == _text(events) == ANSWER
    assert a["gen_ai.usage.output_tokens"] == 22
    spans.clear()

    stream = await aclient.responses.create(model=ENDPOINT, input=QUESTION, stream=True)
    async for _ in stream:
        break
    assert spans.all() == []
    await stream.close()
    assert spans.one().status.status_code is StatusCode.OK
    spans.clear()

    async with await aclient.responses.create(model=ENDPOINT, input=QUESTION, stream=True) as stream:
        await stream.__anext__()
    assert len(spans.all()) == 1
    spans.clear()

    server.fail_mid_stream(after_chunks=3)
    events = [event async for event in await aclient.responses.create(model=ENDPOINT, input="x", stream=True)]
    assert events[-1].type == "error"
    assert spans.one().attributes["error.type"] == "InternalServiceError"


@needs_responses
async def test_async_stream_helper(aclient, spans):
    async with aclient.responses.stream(model=ENDPOINT, input=QUESTION) as stream:
        async for _ in stream:
            pass
        final = await stream.get_final_response()
    assert spans.one().attributes["gen_ai.response.id"] == final.id


@needs_responses
async def test_cancelled_while_consuming_a_stream(aclient, server, spans):
    server.chunk_interval = 0.05

    async def consume():
        async for _ in await aclient.responses.create(model=ENDPOINT, input=QUESTION, stream=True):
            pass

    task = asyncio.ensure_future(consume())
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    span = spans.one()
    assert span.attributes["error.type"] == "CancelledError"


# ------------------------------------------------------------------------------------ errors


@needs_responses
@pytest.mark.parametrize(
    ("model", "error", "status"),
    [
        ("ep-error-400", openai.BadRequestError, 400),
        ("ep-error-429", openai.RateLimitError, 429),
        ("ep-error-500", openai.InternalServerError, 500),
    ],
)
@pytest.mark.parametrize("stream", [False, True])
def test_http_errors(client, spans, model, error, status, stream):
    with pytest.raises(error):
        _create(client, model=model, stream=stream)
    span = spans.one()
    a = span.attributes
    assert span.status.status_code is StatusCode.ERROR
    assert a["error.type"] == error.__name__
    assert a["http.response.status_code"] == status
    assert a["openai.api.type"] == "responses"


@needs_responses
async def test_async_http_error(aclient, server, spans):
    server.fail_next(404)
    with pytest.raises(openai.NotFoundError):
        await aclient.responses.create(model=ENDPOINT, input=QUESTION)
    assert spans.one().attributes["arktrace.error.code"] == "InvalidEndpointOrModel.NotFound"


# ------------------------------------------------------------------------------------ raw responses


@needs_responses
def test_raw_responses(client, server, spans):
    raw = client.responses.with_raw_response.create(model=ENDPOINT, input=QUESTION)
    assert raw.headers["x-request-id"]
    response = raw.parse()
    a = spans.one().attributes
    assert a["gen_ai.response.id"] == response.id
    assert a["gen_ai.usage.output_tokens"] == response.usage.output_tokens
    spans.clear()

    raw = client.responses.with_raw_response.create(model=ENDPOINT, input=QUESTION, stream=True)
    stream = raw.parse()
    assert isinstance(stream, openai.Stream) and spans.all() == []
    events = list(stream)
    assert spans.one().attributes["llm.output_messages.0.message.content"] == _text(events)
    spans.clear()

    with client.responses.with_streaming_response.create(model=ENDPOINT, input=QUESTION, stream=True) as raw:
        lines = list(raw.iter_lines())
    assert "event: response.completed" in lines
    assert len(spans.all()) == 1


# ------------------------------------------------------------------------------------ content off


@needs_responses
def test_capture_off_records_no_content_anywhere(client, provider):
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    arktrace.uninstrument()
    arktrace.instrument(tracer_provider=provider, capture_content=False)
    secret = "Secret plan about the merger"
    try:
        _create(client, input=secret, instructions="Confidential instructions", tools=[WEATHER])
        list(_create(client, input=secret, tools=[SEARCH], stream=True))
        list(_create(client, input=secret, stream=True))
    finally:
        arktrace.uninstrument()
    spans = exporter.get_finished_spans()
    assert len(spans) == 3
    for span in spans:
        a = span.attributes
        assert a["gen_ai.usage.output_tokens"] > 0  # counts stay
        for key, value in a.items():
            assert not key.startswith(("input.", "output.", "llm.input_messages", "llm.output_messages")), key
            assert not key.startswith("llm.tools"), key
            text = json.dumps(value)
            assert "Secret" not in text and "Confidential" not in text and "get_weather" not in text, key
    assert spans[1].attributes["arktrace.response.builtin_tool_calls"] == ("web_search_call",)


# ------------------------------------------------------------------------------------ transparency


def _comparable(obj):
    data = obj.model_dump()
    text = json.dumps(data, sort_keys=True)
    for varying in {obj_id for obj_id in _ids(data)}:
        text = text.replace(varying, "<id>")
    return text


def _ids(data):
    if isinstance(data, dict):
        for key, value in data.items():
            if key in ("id", "item_id", "call_id", "created_at") or (
                key == "message" and "Request id" in value
            ):
                yield str(value)
            else:
                yield from _ids(value)
    elif isinstance(data, list):
        for value in data:
            yield from _ids(value)


def _run_all(client):
    return {
        "plain": _create(client),
        "tool": _create(client, tools=[WEATHER]),
        "search": _create(client, model=FLASH, tools=[SEARCH]),
        "stream": list(_create(client, stream=True)),
        "stream_tool": list(_create(client, tools=[WEATHER], stream=True)),
    }


@needs_responses
def test_results_events_and_requests_are_identical(client, server, provider):
    plain = _run_all(client)
    plain_bodies = [r.raw for r in server.requests]
    server.reset()
    arktrace.instrument(tracer_provider=provider, stream_usage="always")
    try:
        traced = _run_all(client)
    finally:
        arktrace.uninstrument()
    assert [r.raw for r in server.requests] == plain_bodies
    for key in plain:
        a, b = plain[key], traced[key]
        if isinstance(a, list):
            assert [type(x) for x in a] == [type(x) for x in b], key
            assert [_comparable(x) for x in a] == [_comparable(x) for x in b], key
        else:
            assert type(a) is type(b), key
            assert _comparable(a) == _comparable(b), key


@needs_responses
def test_exceptions_are_identical(client, server, provider):
    def failure():
        with pytest.raises(openai.APIStatusError) as info:
            _create(client, model="ep-error-429")
        return info.value

    plain = failure()
    arktrace.instrument(tracer_provider=provider)
    try:
        traced = failure()
    finally:
        arktrace.uninstrument()
    assert type(plain) is type(traced) and plain.status_code == traced.status_code == 429
    assert plain.body["code"] == traced.body["code"]


# ------------------------------------------------------------------------------------ the Ark SDK


@pytest.mark.ark_sdk("volcenginesdkarkruntime")
def test_ark_sdk_responses(server, spans):
    import volcenginesdkarkruntime as ark_sdk

    client = ark_sdk.Ark(api_key="k", base_url=server.base_url, max_retries=0)
    if not hasattr(client, "responses"):
        pytest.skip("this Ark SDK release has no Responses API")
    try:
        response = client.responses.create(model=ENDPOINT, input=QUESTION)
        assert server.requests[-1].body["instructions"] is None  # the Ark SDK sends unset options as null
        a = spans.one().attributes
        assert a["openai.api.type"] == "responses"
        assert a["gen_ai.response.id"] == response.id
        assert a["gen_ai.usage.output_tokens"] == 22 and a["gen_ai.usage.reasoning.output_tokens"] == 15
        assert json.loads(a["llm.invocation_parameters"]) == {"model": ENDPOINT}
        assert a["llm.output_messages.0.message.content"] == ANSWER
        spans.clear()

        events = list(client.responses.create(model=ENDPOINT, input=QUESTION, stream=True))
        a = spans.one().attributes
        assert a["llm.output_messages.0.message.content"] == _text(events) == ANSWER
        assert a["gen_ai.usage.output_tokens"] == 22
        assert "gen_ai.response.time_to_first_chunk" in a
    finally:
        client.close()


@pytest.mark.ark_sdk("volcenginesdkarkruntime")
async def test_ark_sdk_async_responses(server, spans):
    import volcenginesdkarkruntime as ark_sdk

    client = ark_sdk.AsyncArk(api_key="k", base_url=server.base_url, max_retries=0)
    if not hasattr(client, "responses"):
        pytest.skip("this Ark SDK release has no Responses API")
    try:
        response = await client.responses.create(model=ENDPOINT, input=QUESTION, tools=[WEATHER])
        a = spans.one().attributes
        assert a["gen_ai.response.finish_reasons"] == ("tool_calls",)
        call = next(item for item in response.output if item.type == "function_call")
        assert a["llm.output_messages.0.message.tool_calls.0.tool_call.id"] == call.call_id
    finally:
        await client.close()


# ------------------------------------------------------------------------------------ stream state


def _event(kind, **fields):
    return SimpleNamespace(type=kind, **fields)


def test_stream_state_failed_response_and_kept_text_limit():
    state = ResponsesStreamState(limit=10)
    head = {"id": "resp_1", "model": "m", "created_at": 1, "status": "in_progress", "output": []}
    state.record(_event("response.created", response=head))
    state.record(_event("response.output_item.added", output_index=0, item={"type": "message", "id": "msg"}))
    for piece in ("0123456789", "abcdef", "ghij"):
        state.record(_event("response.output_text.delta", output_index=0, delta=piece))
    assert state.output_chunks == 3 and state.failure is None
    rebuilt = state.as_response()
    assert rebuilt["status"] == "in_progress"
    text = rebuilt["output"][0]["content"][0]["text"]
    assert text.startswith("0123456789…[10 more characters cut")  # memory stays bounded

    failed = {**head, "status": "failed", "error": {"code": "server_error", "message": "boom"}}
    state.record(_event("response.failed", response=failed))
    assert state.as_response() is failed
    assert state.failure.error_type == "server_error" and str(state.failure) == "boom"


def test_stream_state_builtin_item_is_output():
    state = ResponsesStreamState(limit=100)
    state.record(_event("response.output_item.added", output_index=0, item={"type": "file_search_call"}))
    assert state.first_output_at is not None
    state.record(_event("unknown.future.event"))  # events arktrace does not know are passed over
    assert state.as_response()["output"] == [{"type": "file_search_call"}]


# ------------------------------------------------------------------------------------ pure extraction


@pytest.mark.parametrize(
    ("response", "reasons"),
    [
        ({"status": "completed", "output": [{"type": "message"}]}, ("stop",)),
        (
            {"status": "completed", "output": [{"type": "reasoning"}, {"type": "function_call"}]},
            ("tool_calls",),
        ),
        ({"status": "incomplete", "incomplete_details": {"reason": "content_filter"}}, ("content_filter",)),
        ({"status": "incomplete", "incomplete_details": {"reason": "max_output_tokens"}}, ("length",)),
        ({"status": "failed", "error": {"code": "server_error"}}, ("error",)),
        ({"status": "in_progress"}, None),
        ({"status": "queued"}, None),
    ],
)
def test_finish_reasons_use_the_chat_words(response, reasons):
    from arktrace.operations.responses import outcome_attributes

    assert outcome_attributes(response).get("gen_ai.response.finish_reasons") == reasons


def test_output_message_keeps_every_call_in_order():
    from arktrace.operations.responses import output_message

    output = [
        {"type": "reasoning", "summary": [{"type": "summary_text", "text": "thinking"}]},
        {"type": "file_search_call", "id": "fs_1", "queries": ["q"], "status": "completed"},
        {"type": "function_call", "call_id": "call_1", "name": "f", "arguments": "{}"},
        {
            "type": "message",
            "content": [{"type": "output_text", "text": "Hi"}, {"type": "refusal", "refusal": "No"}],
        },
    ]
    message = output_message(output)
    assert message["content"] == "HiNo"
    assert [c["function"]["name"] for c in message["tool_calls"]] == ["file_search_call", "f"]
    assert json.loads(message["tool_calls"][0]["function"]["arguments"]) == {"queries": ["q"]}
    assert output_message([{"type": "reasoning"}]) is None
