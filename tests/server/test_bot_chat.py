"""Bot chat (Volcengine's ``bot_chat.completions.create``) traced as a chat span with the bot's
references and ``bot_usage``, against the bundled server with the real SDK; then the pure pieces.

Only the Volcengine SDK has bot chat: the BytePlus half is a check that it still has none (if a
release adds it, the patch point list needs it).
"""

from __future__ import annotations

import importlib
import importlib.util
import json

import pytest
from opentelemetry.trace import StatusCode

import arktrace
from arktrace._prices import load_prices
from arktrace.operations import BOT_CHAT, operation_for_path
from arktrace.operations.bot_chat import (
    MAX_USAGE_ENTRIES,
    BotChatStreamState,
    bot_attributes,
    price,
    reference_content,
)

BOT = "bot-20250101120000-abcde"
SERVED = "seed-1-8-251228"  # the model behind every bot of the bundled server
ASK = [{"role": "user", "content": "weather today"}]
MIDSTREAM = "ep-error-midstream"
_VARYING = ("id", "created")


def uninstrumented(provider, call):
    """``call()`` with arktrace off: what the caller gets without it."""
    arktrace.uninstrument()
    try:
        return call()
    finally:
        arktrace.instrument(tracer_provider=provider, stream_usage="always")


async def uninstrumented_async(provider, call):
    arktrace.uninstrument()
    try:
        return await call()
    finally:
        arktrace.instrument(tracer_provider=provider, stream_usage="always")


def comparable(model):
    data = model.model_dump()
    for key in _VARYING:
        data.pop(key, None)
    return type(model), data, model.model_fields_set


def assert_bot_span(span, *, stream=False, content=True, usage=True):
    a = span.attributes
    assert span.name == f"chat {BOT}" and span.status.status_code == StatusCode.OK
    assert a["gen_ai.operation.name"] == "chat" and a["openinference.span.kind"] == "LLM"
    assert a["gen_ai.request.model"] == BOT == a["gen_ai.response.model"]
    assert a["arktrace.bot.reference.count"] == 1
    assert a.get("gen_ai.request.stream") is (True if stream else None)
    if usage:
        prompt, completion = a["gen_ai.usage.input_tokens"], a["gen_ai.usage.output_tokens"]
        assert a["arktrace.bot.model_usage.0.name"] == SERVED
        assert a["arktrace.bot.model_usage.0.input_tokens"] == prompt
        assert a["arktrace.bot.model_usage.0.output_tokens"] == completion
        assert a["arktrace.bot.model_usage.0.total_tokens"] == prompt + completion
        assert a["arktrace.bot.action_usage.0.name"] == "content_plugin"
        assert a["arktrace.bot.action_usage.0.search_count"] == 1 == a["arktrace.bot.search_count"]
        # priced by the model the bot called (the bot id itself is in no price table)
        assert a["gen_ai.usage.cost"] == pytest.approx((0.25 * prompt + 2.0 * completion) / 1e6)
    if content:
        assert a["arktrace.bot.references.0.title"] == "weather today"
        assert a["arktrace.bot.references.0.url"] == "https://news.example.com/weather-today"
        assert a["llm.input_messages.0.message.content"] == "weather today"
        assert a["llm.output_messages.0.message.content"] == "Echo: weather today"
        assert json.loads(a["output.value"])["references"][0]["title"] == "weather today"
    else:
        assert not [k for k in a if k.startswith("arktrace.bot.references.")]
        for key in ("input.value", "output.value", "llm.input_messages.0.message.content"):
            assert key not in a
        assert "weather" not in json.dumps(dict(a))


# ---------------------------------------------------------------------------------------- sync


def test_answer_is_one_chat_span_with_references_and_bot_usage(volc_ark, spans, provider):
    response = volc_ark.bot_chat.completions.create(model=BOT, messages=ASK, temperature=0.3)
    span = spans.one()
    assert_bot_span(span)
    assert span.attributes["gen_ai.request.temperature"] == 0.3
    assert span.attributes["gen_ai.usage.input_tokens"] == response.usage.prompt_tokens
    plain = uninstrumented(
        provider, lambda: volc_ark.bot_chat.completions.create(model=BOT, messages=ASK, temperature=0.3)
    )
    assert comparable(response) == comparable(plain)


def test_stream_asked_for_usage(volc_ark, server, spans, provider):
    def run():
        return list(
            volc_ark.bot_chat.completions.create(
                model=BOT, messages=ASK, stream=True, stream_options={"include_usage": True}
            )
        )

    chunks = run()
    assert_bot_span(spans.one(), stream=True)
    assert [comparable(c) for c in chunks] == [comparable(c) for c in uninstrumented(provider, run)]
    assert chunks[-1].bot_usage is not None


def test_stream_not_asked_for_usage_gets_it_recorded_and_hidden(volc_ark, server, spans, provider):
    def run():
        return list(volc_ark.bot_chat.completions.create(model=BOT, messages=ASK, stream=True))

    chunks = run()
    assert server.last_request.body["stream_options"] == {"include_usage": True}  # arktrace asked
    assert_bot_span(spans.one(), stream=True)
    plain = uninstrumented(provider, run)
    assert "stream_options" not in server.last_request.body or not server.last_request.body["stream_options"]
    # the caller sees what it would without arktrace: no usage chunk, no bot_usage
    assert [comparable(c) for c in chunks] == [comparable(c) for c in plain]
    assert all(c.bot_usage is None and c.usage is None for c in chunks)


def test_stream_without_usage_is_still_one_span_with_references(volc_ark, spans):
    # arktrace does not ask (stream_options given, without include_usage): no bot_usage to record
    list(volc_ark.bot_chat.completions.create(model=BOT, messages=ASK, stream=True, stream_options={}))
    span = spans.one()
    assert_bot_span(span, stream=True, usage=False)
    assert not [k for k in span.attributes if "usage" in k or "cost" in k]


def test_early_exit(volc_ark, spans):
    stream = volc_ark.bot_chat.completions.create(model=BOT, messages=ASK, stream=True)
    for _ in stream:
        break
    stream.close()
    span = spans.one()
    assert span.status.status_code == StatusCode.OK
    assert span.attributes["arktrace.bot.reference.count"] == 1  # the first chunk's
    assert span.attributes["arktrace.bot.references.0.title"] == "weather today"
    assert "arktrace.bot.model_usage.0.name" not in span.attributes  # never reached


def test_magic_error_is_the_same_exception_and_an_error_span(volc_ark, spans, provider):
    def fail():
        with pytest.raises(Exception) as raised:
            volc_ark.bot_chat.completions.create(model="ep-error-429", messages=ASK)
        return raised.value

    traced = fail()
    span = spans.one()
    assert span.status.status_code == StatusCode.ERROR
    assert span.attributes["error.type"] and span.attributes["gen_ai.request.model"] == "ep-error-429"
    plain = uninstrumented(provider, fail)
    assert type(traced) is type(plain) and traced.status_code == plain.status_code == 429


def test_midstream_error(volc_ark, spans, provider):
    def run():
        got = []
        with pytest.raises(Exception) as raised:
            for chunk in volc_ark.bot_chat.completions.create(model=MIDSTREAM, messages=ASK, stream=True):
                got.append(chunk)
        return got, raised.value

    chunks, error = run()
    span = spans.one()
    assert span.status.status_code == StatusCode.ERROR
    assert span.attributes["arktrace.bot.reference.count"] == 1
    plain_chunks, plain_error = uninstrumented(provider, run)
    assert type(error) is type(plain_error) and error.code == plain_error.code
    assert str(error).split("Request id")[0] == str(plain_error).split("Request id")[0]
    assert [comparable(c) for c in chunks] == [comparable(c) for c in plain_chunks]


def test_raw_response(volc_ark, spans):
    raw = volc_ark.bot_chat.completions.with_raw_response.create(model=BOT, messages=ASK)
    assert_bot_span(spans.one())  # read from the raw body, before the caller parses
    assert raw.parse().references[0].title == "weather today"
    assert len(spans.all()) == 1


def test_streaming_response(volc_ark, spans):
    with volc_ark.bot_chat.completions.with_streaming_response.create(
        model=BOT, messages=ASK, stream=True, stream_options={"include_usage": True}
    ) as response:
        chunks = list(response.parse())
    assert chunks[0].references
    assert_bot_span(spans.one(), stream=True)


def test_capture_off(volc, server, provider, spans):
    arktrace.uninstrument()
    arktrace.instrument(tracer_provider=provider, capture_content=False, stream_usage="always")
    with volc.Ark(api_key="k", base_url=server.base_url, max_retries=0) as volc_ark:
        volc_ark.bot_chat.completions.create(model=BOT, messages=ASK, metadata={"user": "weather fan"})
        span = spans.one()
        assert_bot_span(span, content=False)
        assert json.loads(span.attributes["llm.invocation_parameters"]) == {
            "model": BOT,
            "metadata": "<not recorded>",
        }
        spans.clear()
        list(volc_ark.bot_chat.completions.create(model=BOT, messages=ASK, stream=True))
        assert_bot_span(spans.one(), stream=True, content=False)


# --------------------------------------------------------------------------------------- async


async def test_async(volc_aark, spans, provider):
    response = await volc_aark.bot_chat.completions.create(model=BOT, messages=ASK)
    assert_bot_span(spans.one())
    spans.clear()
    stream = await volc_aark.bot_chat.completions.create(model=BOT, messages=ASK, stream=True)
    chunks = [c async for c in stream]
    assert_bot_span(spans.one(), stream=True)

    async def plain_stream():
        return [
            c async for c in await volc_aark.bot_chat.completions.create(model=BOT, messages=ASK, stream=True)
        ]

    assert [comparable(c) for c in chunks] == [
        comparable(c) for c in await uninstrumented_async(provider, plain_stream)
    ]
    plain = await uninstrumented_async(
        provider, lambda: volc_aark.bot_chat.completions.create(model=BOT, messages=ASK)
    )
    assert comparable(response) == comparable(plain)


async def test_async_early_exit_error_and_raw(volc, volc_aark, spans):
    stream = await volc_aark.bot_chat.completions.create(model=BOT, messages=ASK, stream=True)
    async for _ in stream:
        break
    await stream.close()
    assert spans.one().attributes["arktrace.bot.reference.count"] == 1
    spans.clear()
    with pytest.raises(volc._exceptions.ArkInternalServerError):
        await volc_aark.bot_chat.completions.create(model="ep-error-500", messages=ASK)
    assert spans.one().status.status_code == StatusCode.ERROR
    spans.clear()
    raw = await volc_aark.bot_chat.completions.with_raw_response.create(model=BOT, messages=ASK)
    assert (await raw.parse()).references
    assert_bot_span(spans.one())
    spans.clear()
    async with volc_aark.bot_chat.completions.with_streaming_response.create(
        model=BOT, messages=ASK, stream=True, stream_options={"include_usage": True}
    ) as response:
        chunks = [c async for c in await response.parse()]
    assert chunks[-1].bot_usage is not None
    assert_bot_span(spans.one(), stream=True)


def test_posted_around_the_resource_is_the_same_span(volc_ark, spans):
    from volcenginesdkarkruntime.types.bot_chat import BotChatCompletion

    volc_ark.bot_chat.completions.create(model=BOT, messages=ASK)
    created = spans.one()
    spans.clear()
    volc_ark.post("/bots/chat/completions", body={"model": BOT, "messages": ASK}, cast_to=BotChatCompletion)
    posted = spans.one()
    per_call = ("gen_ai.response.id", "http.response.header.x-client-request-id", "output.value")
    assert {k: v for k, v in posted.attributes.items() if k not in per_call} == {
        k: v for k, v in created.attributes.items() if k not in per_call
    }


@pytest.mark.ark_sdk("byteplussdkarkruntime")
def test_byteplus_sdk_has_no_bot_chat():
    # Covered where it exists: a BytePlus release adding resources/bot would need its patch point.
    assert importlib.util.find_spec("byteplussdkarkruntime.resources.bot") is None


# ------------------------------------------------------------------------------------- pure parts


def test_the_path_is_bot_chats():
    assert operation_for_path("/bots/chat/completions") is BOT_CHAT
    assert BOT_CHAT.name == "chat"


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, {}),
        ({"references": [], "bot_usage": None}, {"arktrace.bot.reference.count": 0}),
        (
            {
                "references": [{"title": "a"}, {"doc_name": "b"}],
                "bot_usage": {
                    "model_usage": [
                        {"name": "ep-1", "prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7},
                        {"prompt_tokens": -1, "completion_tokens": "x"},  # malformed: counts dropped
                    ],
                    "action_usage": [{"name": "web", "search_count": 2}, {"name": "kb", "search_count": 1}],
                },
            },
            {
                "arktrace.bot.reference.count": 2,
                "arktrace.bot.model_usage.0.name": "ep-1",
                "arktrace.bot.model_usage.0.input_tokens": 3,
                "arktrace.bot.model_usage.0.output_tokens": 4,
                "arktrace.bot.model_usage.0.total_tokens": 7,
                "arktrace.bot.action_usage.0.name": "web",
                "arktrace.bot.action_usage.0.search_count": 2,
                "arktrace.bot.action_usage.1.name": "kb",
                "arktrace.bot.action_usage.1.search_count": 1,
                "arktrace.bot.search_count": 3,
            },
        ),
        ({"references": "nonsense", "bot_usage": {"model_usage": "x", "action_usage": 5}}, {}),
        (
            {"bot_usage": {"action_usage": [{"name": "web"}]}},
            {"arktrace.bot.action_usage.0.name": "web", "arktrace.bot.search_count": 0},
        ),
    ],
)
def test_bot_attributes(fields, expected):
    assert bot_attributes(fields) == expected


def test_bot_usage_is_bounded():
    many = {"bot_usage": {"model_usage": [{"name": f"ep-{i}"} for i in range(100)]}}
    assert len(bot_attributes(many)) == MAX_USAGE_ENTRIES


def test_reference_content():
    fields = {
        "references": [
            {"title": "T", "url": "https://a.example/x"},
            {"doc_title": "", "doc_name": "handbook.pdf"},  # a knowledge base's: no URL
            {"title": "x" * 50, "url": "data:image/png;base64," + "A" * 40},
            {"title": "beyond the budget"},
        ]
    }
    attrs = reference_content(fields, 20, 3)
    assert attrs["arktrace.bot.references.0.title"] == "T"
    assert attrs["arktrace.bot.references.0.url"] == "https://a.example/x"
    assert attrs["arktrace.bot.references.1.title"] == "handbook.pdf"
    assert "arktrace.bot.references.1.url" not in attrs
    assert attrs["arktrace.bot.references.2.title"].startswith("x" * 20 + "…")  # cut at the limit
    assert "AAAA" not in attrs["arktrace.bot.references.2.url"]  # inline data never
    assert "arktrace.bot.references.3.title" not in attrs
    assert reference_content({"references": None}, 20, 3) == {}


def test_price_sums_the_models_the_bot_called():
    prices = load_prices({"models": {"m-a": {"input": 1.0, "output": 2.0}}, "endpoints": {"ep-b": "m-a"}})
    attrs = {
        **bot_attributes(
            {
                "bot_usage": {
                    "model_usage": [
                        {"name": "m-a-1", "prompt_tokens": 1_000_000, "completion_tokens": 0},
                        {"name": "ep-b", "prompt_tokens": 0, "completion_tokens": 1_000_000},
                    ]
                }
            }
        ),
        "gen_ai.response.model": BOT,
        "gen_ai.usage.input_tokens": 5,
        "gen_ai.usage.output_tokens": 5,
    }
    assert price(prices, attrs, BOT) == (1.0, 2.0)
    unpriced = {**attrs, "arktrace.bot.model_usage.1.name": "unknown-model"}
    assert price(prices, unpriced, BOT) is None  # a partial sum is no cost
    # no breakdown: priced as chat (the bot's response model), here unpriced
    assert (
        price(
            prices,
            {"gen_ai.response.model": BOT, "gen_ai.usage.input_tokens": 1, "gen_ai.usage.output_tokens": 1},
            BOT,
        )
        is None
    )
    assert price(
        prices,
        {
            "gen_ai.response.model": "m-a",
            "gen_ai.usage.input_tokens": 1_000_000,
            "gen_ai.usage.output_tokens": 0,
        },
        BOT,
    ) == (1.0, 0.0)


def test_stream_state_keeps_references_and_bot_usage(volc):
    from volcenginesdkarkruntime.types.bot_chat import BotChatCompletionChunk

    def chunk(**fields):
        return BotChatCompletionChunk.model_validate(
            {
                "id": "r",
                "object": "chat.completion.chunk",
                "created": 1,
                "model": BOT,
                "service_tier": "default",
                **fields,
            }
        )

    state = BotChatStreamState(1000)
    delta = {"index": 0, "delta": {"role": "assistant", "content": "Hi"}, "finish_reason": None}
    state.record(chunk(choices=[delta], references=[{"title": "T", "url": "u"}]))
    state.record(chunk(choices=[{"index": 0, "delta": {"content": " there"}, "finish_reason": "stop"}]))
    usage = {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}
    last = chunk(choices=[], usage=usage, bot_usage={"model_usage": [{"name": "m", **usage}]})
    assert state.record(last) is True
    response = state.as_response()
    assert response["choices"][0]["message"]["content"] == "Hi there"
    assert response["references"][0].title == "T"
    assert bot_attributes(response)["arktrace.bot.model_usage.0.total_tokens"] == 3
    assert state.hide_usage(last) is True  # the usage-only chunk is dropped whole
    # usage on a content chunk (DeepSeek's layout): both usages are taken off it
    mixed = chunk(choices=[delta], usage=usage, bot_usage={"model_usage": []})
    assert state.hide_usage(mixed) is False and mixed.usage is None and mixed.bot_usage is None


@pytest.mark.parametrize(("capture", "with_content"), [(True, True), (True, False), (False, True)])
def test_references_are_content_only_when_content_is_recorded(capture, with_content):
    from arktrace._extract import response_attributes
    from arktrace._settings import load_settings

    response = {"model": BOT, "choices": [], "references": [{"title": "T", "url": "https://a.example"}]}
    attrs = response_attributes(BOT_CHAT, response, load_settings(capture_content=capture), with_content)
    assert attrs["arktrace.bot.reference.count"] == 1  # not content: always
    recorded = capture and with_content
    assert ("arktrace.bot.references.0.title" in attrs) is recorded
    assert ("arktrace.bot.references.0.url" in attrs) is recorded
