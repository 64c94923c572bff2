"""Streams: same object and chunks for the caller, exactly one span however the stream ends."""

from __future__ import annotations

import asyncio
import gc
import json

import openai
import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

import arktrace
from arktrace.testing import USAGE_STYLES
from harness import ENDPOINT, RESOLVED

QUESTION = [{"role": "user", "content": "Explain time to first token."}]
TOOL = {
    "type": "function",
    "function": {
        "name": "lookup",
        "parameters": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
    },
}


def _helper(client):
    """The ``.stream()`` helper: on ``chat.completions`` in later releases, on ``beta`` in older 1.x."""
    completions = client.chat.completions
    return completions if hasattr(completions, "stream") else client.beta.chat.completions


def _stream(client, **extra):
    return client.chat.completions.create(model=ENDPOINT, messages=QUESTION, stream=True, **extra)


def test_exhausted_stream_records_everything(client, server, spans):
    server.cached_tokens = 2
    stream = _stream(client)
    assert type(stream) is openai.Stream
    chunks = list(stream)

    span = spans.one()
    a = span.attributes
    assert span.status.status_code is StatusCode.OK
    assert a["gen_ai.request.stream"] is True
    assert a["gen_ai.response.model"] == RESOLVED
    assert a["gen_ai.response.id"] == chunks[0].id
    assert a["gen_ai.response.finish_reasons"] == ("stop",)
    content = "".join(c.choices[0].delta.content or "" for c in chunks)
    reasoning = "".join(getattr(c.choices[0].delta, "reasoning_content", None) or "" for c in chunks)
    assert a["llm.output_messages.0.message.content"] == content == "Echo: Explain time to first token."
    assert json.loads(a["output.value"])["choices"][0]["message"]["reasoning_content"] == reasoning
    # usage arrived on the chunk arktrace asked for, which the caller never saw
    assert all(c.choices for c in chunks) and all(c.usage is None for c in chunks)
    assert a["gen_ai.usage.input_tokens"] == 6
    assert a["gen_ai.usage.cache_read.input_tokens"] == 2
    assert a["gen_ai.usage.reasoning.output_tokens"] == 15
    assert a["gen_ai.usage.output_tokens"] == 15 + 8
    assert server.requests[-1].body["stream_options"] == {"include_usage": True}
    assert 0 < a["gen_ai.response.time_to_first_chunk"] < (span.end_time - span.start_time) / 1e9
    assert a["langfuse.observation.completion_start_time"].endswith("+00:00")


def test_time_to_first_token_includes_the_request(client, server, spans):
    server.latency = 0.15
    server.chunk_interval = 0.01
    for _ in _stream(client):
        pass
    span = spans.one()
    ttft = span.attributes["gen_ai.response.time_to_first_chunk"]
    # At least the server's wait before answering; less than the whole call, measured in the same
    # span (a bound in seconds would be missed on a loaded machine).
    assert 0.15 <= ttft < (span.end_time - span.start_time) / 1e9


def test_callers_stream_options_are_left_alone(client, server, spans):
    chunks = list(_stream(client, stream_options={"include_usage": True}))
    assert chunks[-1].choices == [] and chunks[-1].usage is not None  # the caller asked: the caller sees it
    assert spans.one().attributes["gen_ai.usage.output_tokens"] == chunks[-1].usage.completion_tokens


def test_chunk_include_usage_is_read(client, server, spans):
    chunks = list(_stream(client, stream_options={"chunk_include_usage": True}))
    assert spans.one().attributes["gen_ai.usage.output_tokens"] == chunks[-1].usage.completion_tokens


def test_without_usage_no_token_counts_are_invented(client, provider, spans):
    import arktrace

    arktrace.uninstrument()
    arktrace.instrument(tracer_provider=provider, stream_usage="never")  # so the server sends none
    list(_stream(client))
    a = spans.one().attributes
    assert not any(k.startswith(("gen_ai.usage", "llm.token_count")) for k in a)
    assert a["gen_ai.response.finish_reasons"] == ("stop",)


def test_break_then_close_ends_the_span_at_close(client, spans):
    stream = _stream(client)
    for _ in stream:
        break
    assert spans.all() == []
    stream.close()
    span = spans.one()
    assert span.status.status_code is StatusCode.OK
    assert "gen_ai.response.finish_reasons" not in span.attributes


def test_with_block_exit_ends_the_span(client, spans):
    with _stream(client) as stream:
        next(stream)
    span = spans.one()
    assert span.attributes["gen_ai.response.model"] == RESOLVED


def test_dropped_stream_ends_the_span_when_collected(client, spans):
    stream = _stream(client)
    first = next(stream)
    assert spans.all() == []  # open while the caller holds the stream...
    del stream
    gc.collect()
    span = spans.one()  # ...ended when it is collected, with what the caller read
    assert span.end_time is not None
    assert span.status.status_code is StatusCode.OK  # the caller stopped; the call did not fail
    assert span.attributes["gen_ai.response.id"] == first.id
    assert span.attributes["gen_ai.response.model"] == RESOLVED
    assert "gen_ai.response.finish_reasons" not in span.attributes  # the end never arrived


def test_never_iterated_stream_ends_on_close_and_on_drop(client, spans):
    stream = _stream(client)
    assert spans.all() == []
    stream.close()
    (closed,) = spans.all()  # ended by close()
    dropped = _stream(client)
    assert spans.all() == [closed]
    del dropped
    gc.collect()
    (_, collected) = spans.all()  # ended by the collector
    for span in (closed, collected):
        assert span.end_time is not None
        assert span.status.status_code is StatusCode.OK
        assert span.attributes["gen_ai.request.model"] == ENDPOINT
        assert "gen_ai.response.id" not in span.attributes  # no chunk was read


def test_mid_stream_error_is_an_error(client, server, spans):
    server.fail_mid_stream(after_chunks=2)
    stream = _stream(client)
    received = []
    with pytest.raises(openai.APIError):
        for chunk in stream:
            received.append(chunk)
    assert len(received) == 2
    span = spans.one()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "APIError"
    assert span.attributes["gen_ai.response.model"] == RESOLVED  # what arrived before the error is kept


def test_exception_in_the_callers_loop_then_close(client, spans):
    with pytest.raises(RuntimeError), _stream(client) as stream:
        for _ in stream:
            raise RuntimeError("caller's own bug")
    assert spans.one().status.status_code is StatusCode.OK  # the call did not fail; the caller stopped


def test_stream_helper(client, spans):
    with _helper(client).stream(model=ENDPOINT, messages=QUESTION) as stream:
        for _ in stream:
            pass
        final = stream.get_final_completion()
    a = spans.one().attributes
    assert a["llm.output_messages.0.message.content"] == final.choices[0].message.content
    assert final.usage is None  # the caller did not ask for usage: the helper did not see it
    assert a["gen_ai.usage.output_tokens"] == 23


def test_stream_helper_left_early(client, spans):
    with _helper(client).stream(model=ENDPOINT, messages=QUESTION) as stream:
        for _ in stream:
            break
    assert len(spans.all()) == 1


def test_tool_call_fragments_are_accumulated(client, spans):
    chunks = list(_stream(client, tools=[TOOL]))
    arguments = "".join(
        tc.function.arguments or ""
        for c in chunks
        if c.choices
        for tc in (c.choices[0].delta.tool_calls or [])
    )
    a = spans.one().attributes
    assert a["gen_ai.response.finish_reasons"] == ("tool_calls",)
    assert a["llm.output_messages.0.message.tool_calls.0.tool_call.function.name"] == "lookup"
    assert a["llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments"] == arguments
    assert json.loads(arguments)
    assert a["gen_ai.response.time_to_first_chunk"] > 0


def test_legacy_completion_stream(client, spans):
    stream = client.completions.create(model="ep-20250101120000-fghij", prompt="Once upon", stream=True)
    assert isinstance(stream, openai.Stream)
    with stream:
        text = "".join(c.choices[0].text for c in stream if c.choices)
    a = spans.one().attributes
    assert a["gen_ai.operation.name"] == "text_completion"
    assert json.loads(a["output.value"])["choices"][0]["text"] == text
    assert a["llm.prompts"] == ("Once upon",)
    assert a["gen_ai.usage.output_tokens"] > 0


async def test_async_stream_exhausted(aclient, spans):
    stream = await aclient.chat.completions.create(model=ENDPOINT, messages=QUESTION, stream=True)
    assert type(stream) is openai.AsyncStream
    chunks = [c async for c in stream]
    a = spans.one().attributes
    assert all(c.choices for c in chunks)
    assert a["gen_ai.usage.output_tokens"] == 23
    assert a["gen_ai.response.time_to_first_chunk"] > 0


async def test_async_stream_break_and_close(aclient, spans):
    stream = await aclient.chat.completions.create(model=ENDPOINT, messages=QUESTION, stream=True)
    async for _ in stream:
        break
    await stream.close()
    assert len(spans.all()) == 1


async def test_async_stream_context_manager(aclient, spans):
    async with await aclient.chat.completions.create(
        model=ENDPOINT, messages=QUESTION, stream=True
    ) as stream:
        await stream.__anext__()
    assert len(spans.all()) == 1


async def test_async_stream_mid_stream_error(aclient, server, spans):
    server.fail_mid_stream(after_chunks=1)
    stream = await aclient.chat.completions.create(model=ENDPOINT, messages=QUESTION, stream=True)
    with pytest.raises(openai.APIError):
        async for _ in stream:
            pass
    assert spans.one().status.status_code is StatusCode.ERROR


async def test_cancelled_while_waiting_for_the_response(aclient, server, spans):
    server.latency = 0.5
    task = asyncio.ensure_future(aclient.chat.completions.create(model=ENDPOINT, messages=QUESTION))
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    span = spans.one()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "CancelledError"


async def test_cancelled_while_consuming_a_stream(aclient, server, spans):
    server.chunk_interval = 0.05

    async def consume():
        stream = await aclient.chat.completions.create(model=ENDPOINT, messages=QUESTION, stream=True)
        async for _ in stream:
            pass

    task = asyncio.ensure_future(consume())
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    span = spans.one()
    assert span.attributes["error.type"] == "CancelledError"


async def test_async_stream_helper(aclient, spans):
    async with _helper(aclient).stream(model=ENDPOINT, messages=QUESTION) as stream:
        async for _ in stream:
            pass
    assert spans.one().attributes["gen_ai.usage.output_tokens"] == 23


def test_stream_does_not_leave_its_span_current(client, provider, spans):
    from opentelemetry import trace

    before = trace.get_current_span()
    stream = _stream(client)
    next(stream)
    assert trace.get_current_span() is before
    with provider.get_tracer("app").start_as_current_span("after"):
        pass
    stream.close()
    after = next(s for s in spans.all() if s.name == "after")
    assert after.parent is None


def test_long_stream_keeps_bounded_text(client, provider, spans):
    import arktrace

    arktrace.uninstrument()
    arktrace.instrument(tracer_provider=provider, max_value_length=100)
    stream = client.chat.completions.create(
        model="ep-20250101120000-fghij", messages=QUESTION, stream=True, extra_body={"arktrace_chunks": 2000}
    )
    delivered = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    kept = spans.one().attributes["llm.output_messages.0.message.content"]
    assert kept == delivered[:100] + f"…[{len(delivered) - 100} more characters cut by arktrace]"


# ---- usage: the caller sees the chunks and usage they would see without arktrace


def _dumps(chunks):
    # id and created are new for every response the server makes
    return [
        ({k: v for k, v in c.model_dump().items() if k not in ("id", "created")}, sorted(c.model_fields_set))
        for c in chunks
    ]


def _seen(client):
    """Everything a caller sees of usage: each chunk (chat and legacy) and the helper's final usage."""
    chat = _dumps(_stream(client))
    legacy = _dumps(client.completions.create(model="ep-20250101120000-fghij", prompt="Once", stream=True))
    with _helper(client).stream(model=ENDPOINT, messages=QUESTION) as stream:
        events = [e.type for e in stream]
        usage = stream.get_final_completion().usage
    return chat, legacy, events, usage and usage.model_dump()


def _plain_then_traced(provider, see):
    plain = see()
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    arktrace.instrument(tracer_provider=provider, stream_usage="always")
    try:
        traced = see()
    finally:
        arktrace.uninstrument()
    return plain, traced, exporter.get_finished_spans()


@pytest.mark.parametrize("style", USAGE_STYLES)
def test_usage_arktrace_asks_for_stays_hidden(client, server, provider, style):
    """Each provider's answer to include_usage (ModelArk and Qwen: a last usage-only chunk; DeepSeek:
    usage on the finishing chunk; Moonshot: inside the choice) is not shown to a caller who did not ask."""
    server.usage_style = style
    plain, traced, spans = _plain_then_traced(provider, lambda: _seen(client))
    assert traced == plain
    assert server.requests[-1].body["stream_options"] == {"include_usage": True}  # arktrace asked
    assert len(spans) == 3 and spans[0].attributes["gen_ai.usage.output_tokens"] > 0  # the chat stream


def _openai_stream(usage_on_every_chunk):
    """An OpenAI-shaped stream from a server that sends usage unasked (as the OpenAI streams recorded
    in the openai SDK's own tests do): chunks without a usage key, then a usage-only chunk; or usage on
    every chunk."""
    usage = {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11}
    head = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1700000000, "model": "gpt-4o"}
    extra = {"usage": usage} if usage_on_every_chunk else {}
    deltas = [({"role": "assistant", "content": ""}, None), ({"content": "Hi"}, None), ({}, "stop")]
    events = [
        json.dumps({**head, "choices": [{"index": 0, "delta": d, "finish_reason": f}], **extra})
        for d, f in deltas
    ]
    if not usage_on_every_chunk:
        events.append(json.dumps({**head, "choices": [], "usage": usage}))
    return events


def _seen_unasked(client, server, every):
    server.send_next(events=_openai_stream(every))
    chunks = [c.model_dump() for c in _stream(client)]
    server.send_next(events=_openai_stream(every))
    with _helper(client).stream(model=ENDPOINT, messages=QUESTION) as stream:
        events = [e.type for e in stream]
        usage = stream.get_final_completion().usage
    return chunks, events, usage and usage.model_dump()


@pytest.mark.parametrize("every", [False, True], ids=["usage_only_chunk", "usage_on_every_chunk"])
def test_usage_the_server_sends_unasked_reaches_the_caller(client, server, provider, every):
    plain, traced, spans = _plain_then_traced(provider, lambda: _seen_unasked(client, server, every))
    assert plain[2]["total_tokens"] == 11  # the helper's final completion has the server's usage
    assert traced == plain
    assert server.requests[-1].body["stream_options"] == {"include_usage": True}  # arktrace asked
    assert [s.attributes["gen_ai.usage.output_tokens"] for s in spans] == [2, 2]


async def test_async_usage_the_server_sends_unasked_reaches_the_caller(aclient, server, provider):
    async def see():
        server.send_next(events=_openai_stream(False))
        stream = await aclient.chat.completions.create(model=ENDPOINT, messages=QUESTION, stream=True)
        return [c.model_dump() async for c in stream]

    plain = await see()
    arktrace.instrument(tracer_provider=provider, stream_usage="always")
    try:
        traced = await see()
        hidden = [
            c.model_dump()
            async for c in await aclient.chat.completions.create(
                model=ENDPOINT, messages=QUESTION, stream=True
            )
        ]
    finally:
        arktrace.uninstrument()
    assert traced == plain and traced[-1]["choices"] == [] and traced[-1]["usage"]["total_tokens"] == 11
    assert hidden and all(c["choices"] for c in hidden)  # control: the usage arktrace asked for stays hidden
