"""A request sent with the client's own ``post()`` is one span, like the resource method's call.

LiteLLM (>= 1.100) and other libraries send ``client.post("/chat/completions", body=..., cast_to=...)``
without any resource method. Each test here makes the call both ways and compares the spans attribute
by attribute, and the caller's result with the one the same call gets uninstrumented.
"""

from __future__ import annotations

import copy
import importlib
import importlib.util
import json
import types

import openai
import pytest
from openai.types import CreateEmbeddingResponse
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.trace import StatusCode

import arktrace
from harness import ENDPOINT

QUESTION = [{"role": "user", "content": "What does a span record?"}]
TOOL = {
    "type": "function",
    "function": {
        "name": "lookup",
        "parameters": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
    },
}
EMBED = {"model": "ep-20250101120000-embed", "input": ["a b", "c"]}
RAW = "X-Stainless-Raw-Response"
# Values that differ between any two calls: ids (tool call ids too) and clocks.
_PER_CALL = {
    "gen_ai.response.id",
    "http.response.header.x-request-id",
    "http.response.header.x-client-request-id",
    "gen_ai.response.time_to_first_chunk",
    "gen_ai.server.ttft",
    "langfuse.observation.completion_start_time",
}


def comparable(span):
    attrs = {
        k: v for k, v in span.attributes.items() if k not in _PER_CALL and not k.endswith("tool_call.id")
    }
    for name in ("output.value", "gen_ai.output.messages"):  # tool call ids differ between calls
        if name in attrs:
            attrs[name] = _strip(json.loads(attrs[name]))
    return span.name, span.kind, span.status.status_code, span.parent, attrs


def differences(span, twin):
    (*head, attrs), (*twin_head, twin_attrs) = comparable(span), comparable(twin)
    diff = {k: (attrs.get(k), twin_attrs.get(k)) for k in attrs.keys() | twin_attrs.keys()}
    diff = {k: v for k, v in diff.items() if v[0] != v[1]}
    if head != twin_head:
        diff["name, kind, status, parent"] = (head, twin_head)
    return diff


def _strip(data):
    if isinstance(data, dict):
        return {k: _strip(v) for k, v in data.items() if k not in ("id", "created", "created_at")}
    if isinstance(data, list):
        return [_strip(v) for v in data]
    return data


def dump(result):
    """A result as plain data, without the ids and clocks that differ between any two calls."""
    return _strip(result.model_dump() if hasattr(result, "model_dump") else result)


def _off_and_on(provider, call):
    arktrace.uninstrument()
    try:
        return call()
    finally:
        arktrace.instrument(tracer_provider=provider, stream_usage="always")


async def _aoff_and_on(provider, call):
    arktrace.uninstrument()
    try:
        return await call()
    finally:
        arktrace.instrument(tracer_provider=provider, stream_usage="always")


def _chat_body(**extra):
    return {"model": ENDPOINT, "messages": QUESTION, **extra}


# ------------------------------------------------------------------------------------------ sync chat


def test_post_chat_is_one_span_like_create(client, provider, spans):
    body = _chat_body(temperature=0.2, tools=[TOOL])
    sent = copy.deepcopy(body)
    result = client.post("/chat/completions", body=body, cast_to=ChatCompletion)
    assert body == sent
    span = spans.one()
    spans.clear()
    twin_result = client.chat.completions.create(
        model=ENDPOINT, messages=QUESTION, temperature=0.2, tools=[TOOL]
    )
    twin = spans.one()
    assert differences(span, twin) == {}
    assert span.attributes["gen_ai.response.id"] == result.id
    assert span.attributes["gen_ai.response.finish_reasons"] == ("tool_calls",)

    plain = _off_and_on(provider, lambda: client.post("/chat/completions", body=body, cast_to=ChatCompletion))
    assert type(result) is type(plain) is type(twin_result) is ChatCompletion
    assert dump(result) == dump(plain)


def test_post_chat_stream_is_one_span_and_hides_the_usage_chunk(client, server, provider, spans):
    body = _chat_body(stream=True)
    sent = copy.deepcopy(body)
    stream = client.post(
        "/chat/completions",
        body=body,
        cast_to=ChatCompletion,
        stream=True,
        stream_cls=openai.Stream[ChatCompletionChunk],
    )
    assert type(stream) is openai.Stream
    chunks = list(stream)
    assert body == sent  # include_usage went into a copy
    assert server.last_request.body["stream_options"] == {"include_usage": True}
    span = spans.one()
    a = span.attributes
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert a["llm.output_messages.0.message.content"] == text
    assert a["gen_ai.usage.output_tokens"] > 0
    spans.clear()

    list(client.chat.completions.create(model=ENDPOINT, messages=QUESTION, stream=True))
    assert differences(span, spans.one()) == {}

    def plain_call():
        return list(
            client.post(
                "/chat/completions",
                body=body,
                cast_to=ChatCompletion,
                stream=True,
                stream_cls=openai.Stream[ChatCompletionChunk],
            )
        )

    plain = _off_and_on(provider, plain_call)
    assert [dump(c) for c in chunks] == [dump(c) for c in plain]  # the asked-for usage chunk is hidden


def test_post_stream_with_the_callers_stream_options_is_left_alone(client, server, spans):
    body = _chat_body(stream=True, stream_options={"include_usage": True})
    chunks = list(
        client.post(
            "/chat/completions",
            body=body,
            cast_to=ChatCompletion,
            stream=True,
            stream_cls=openai.Stream[ChatCompletionChunk],
        )
    )
    assert chunks[-1].choices == [] and chunks[-1].usage is not None  # the caller asked: the caller sees it
    assert spans.one().attributes["gen_ai.usage.output_tokens"] == chunks[-1].usage.completion_tokens


def test_post_embeddings_is_one_span_like_create(client, provider, spans):
    result = client.post("/embeddings", body=EMBED, cast_to=CreateEmbeddingResponse)
    span = spans.one()
    spans.clear()
    client.embeddings.create(**EMBED)
    assert differences(span, spans.one()) == {}
    assert span.attributes["gen_ai.usage.input_tokens"] == result.usage.prompt_tokens
    plain = _off_and_on(
        provider, lambda: client.post("/embeddings", body=EMBED, cast_to=CreateEmbeddingResponse)
    )
    assert dump(result) == dump(plain)


def test_post_error_is_one_failed_span(client, spans):
    with pytest.raises(openai.NotFoundError):
        client.post("/chat/completions", body=_chat_body(model="ep-error-404"), cast_to=ChatCompletion)
    span = spans.one()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "NotFoundError"


# ----------------------------------------------------------------------------------------- async


async def test_async_post_chat_and_stream(aclient, server, provider, spans):
    result = await aclient.post("/chat/completions", body=_chat_body(), cast_to=ChatCompletion)
    span = spans.one()
    spans.clear()
    await aclient.chat.completions.create(model=ENDPOINT, messages=QUESTION)
    assert differences(span, spans.one()) == {}
    spans.clear()

    body = _chat_body(stream=True)
    sent = copy.deepcopy(body)
    stream = await aclient.post(
        "/chat/completions",
        body=body,
        cast_to=ChatCompletion,
        stream=True,
        stream_cls=openai.AsyncStream[ChatCompletionChunk],
    )
    assert type(stream) is openai.AsyncStream
    chunks = [c async for c in stream]
    assert body == sent
    assert server.last_request.body["stream_options"] == {"include_usage": True}
    streamed = spans.one()
    spans.clear()
    [c async for c in await aclient.chat.completions.create(model=ENDPOINT, messages=QUESTION, stream=True)]
    assert differences(streamed, spans.one()) == {}

    async def plain_call():
        plain = await aclient.post(
            "/chat/completions",
            body=body,
            cast_to=ChatCompletion,
            stream=True,
            stream_cls=openai.AsyncStream[ChatCompletionChunk],
        )
        return [c async for c in plain]

    assert [dump(c) for c in chunks] == [dump(c) for c in await _aoff_and_on(provider, plain_call)]
    assert dump(result) == dump(
        await _aoff_and_on(
            provider, lambda: aclient.post("/chat/completions", body=_chat_body(), cast_to=ChatCompletion)
        )
    )


async def test_async_post_embeddings(aclient, spans):
    result = await aclient.post("/embeddings", body=EMBED, cast_to=CreateEmbeddingResponse)
    span = spans.one()
    spans.clear()
    await aclient.embeddings.create(**EMBED)
    assert differences(span, spans.one()) == {}
    assert span.attributes["gen_ai.usage.input_tokens"] == result.usage.prompt_tokens


# ------------------------------------------------------------------------ raw requests (LiteLLM's way)


def _raw_options(value="true"):
    # LiteLLM passes its headers as a read-only mapping
    return {"headers": types.MappingProxyType({RAW: value})}


def test_raw_post_is_recorded_without_reading_what_the_caller_reads(client, server, spans):
    raw = client.post("/chat/completions", body=_chat_body(), cast_to=ChatCompletion, options=_raw_options())
    completion = raw.parse()
    a = spans.one().attributes
    assert a["gen_ai.response.id"] == completion.id
    assert a["gen_ai.usage.output_tokens"] == completion.usage.completion_tokens
    assert a["http.response.status_code"] == 200


def test_raw_post_stream_is_observed_once_parsed(client, server, spans):
    raw = client.post(
        "/chat/completions",
        body=_chat_body(stream=True),
        cast_to=ChatCompletion,
        options=_raw_options(),
        stream=True,
        stream_cls=openai.Stream[ChatCompletionChunk],
    )
    chunks = list(raw.parse())
    assert "stream_options" not in server.last_request.body  # raw calls get exactly what they asked for
    a = spans.one().attributes
    assert a["llm.output_messages.0.message.content"] == "".join(
        c.choices[0].delta.content or "" for c in chunks
    )


# ---------------------------------------------------------------------------- which requests are traced


@pytest.mark.parametrize("path", ["chat/completions", "/chat/completions/", "{base}chat/completions"])
def test_other_spellings_of_the_path(client, spans, path):
    client.post(path.format(base=client.base_url), body=_chat_body(), cast_to=ChatCompletion)
    assert spans.one().attributes["gen_ai.operation.name"] == "chat"


def test_a_request_sent_with_request_itself_keeps_the_callers_options(client, server, spans):
    body = _chat_body(stream=True)
    options = openai._models.FinalRequestOptions.construct(
        method="post", url="/chat/completions", json_data=body
    )
    before = (copy.deepcopy(body), dict(options.__dict__))
    stream = client.request(
        ChatCompletion, options, stream=True, stream_cls=openai.Stream[ChatCompletionChunk]
    )
    chunks = list(stream)
    assert (body, dict(options.__dict__)) == before
    assert server.last_request.body["stream_options"] == {"include_usage": True}
    assert all(c.choices for c in chunks)  # the usage-only chunk arktrace asked for is not the caller's
    assert spans.one().attributes["gen_ai.usage.output_tokens"] > 0


def test_requests_to_other_paths_get_no_span(client, spans):
    client.post("/embeddings", body=EMBED, cast_to=CreateEmbeddingResponse)  # control: this one is traced
    assert len(spans.all()) == 1
    spans.clear()
    client.post("/context/create", body={"model": ENDPOINT, "messages": QUESTION}, cast_to=object)
    with pytest.raises(openai.NotFoundError):
        client.post("/files", body={"purpose": "batch"}, cast_to=object)
    with pytest.raises(openai.NotFoundError):
        client.post("/chat/completions/chatcmpl-1", body={"metadata": {}}, cast_to=object)
    with pytest.raises(openai.NotFoundError):
        client.models.list()
    assert spans.all() == []


def test_resource_methods_are_still_one_span(client, spans):
    # A client made after instrument(): its resources send through the patched post()
    client.chat.completions.create(model=ENDPOINT, messages=QUESTION)
    list(client.chat.completions.create(model=ENDPOINT, messages=QUESTION, stream=True))
    client.chat.completions.with_raw_response.create(model=ENDPOINT, messages=QUESTION).parse()
    client.embeddings.create(**EMBED)
    assert [s.attributes["gen_ai.operation.name"] for s in spans.all()] == ["chat"] * 3 + ["embeddings"]


def test_suppressed_and_uninstrumented_posts_get_no_span(client, spans):
    client.post("/chat/completions", body=_chat_body(), cast_to=ChatCompletion)
    assert len(spans.all()) == 1  # control
    spans.clear()
    with suppress_instrumentation():
        client.post("/chat/completions", body=_chat_body(), cast_to=ChatCompletion)
    request = client.request  # bound while instrumented
    arktrace.uninstrument()
    assert not hasattr(openai._base_client.SyncAPIClient.request, "__wrapped__")
    client.post("/chat/completions", body=_chat_body(), cast_to=ChatCompletion)
    options = openai._models.FinalRequestOptions.construct(
        method="post", url="/chat/completions", json_data=_chat_body()
    )
    request(ChatCompletion, options)
    assert spans.all() == []


def test_helpers_built_before_instrument_are_traced(server, provider, spans):
    arktrace.uninstrument()
    with openai.OpenAI(api_key="test-key", base_url=server.base_url, max_retries=0) as early:
        raw_create = early.chat.completions.with_raw_response.create  # binds the unpatched methods
        raw_create(model=ENDPOINT, messages=QUESTION).parse()
        arktrace.instrument(tracer_provider=provider, stream_usage="always")
        assert spans.all() == []
        completion = raw_create(model=ENDPOINT, messages=QUESTION).parse()
    assert spans.one().attributes["gen_ai.response.id"] == completion.id


def test_the_patched_request_looks_like_the_original(spans):
    import inspect

    request = openai._base_client.SyncAPIClient.request
    original = request.__wrapped__
    assert request.__qualname__ == original.__qualname__ and request.__doc__ == original.__doc__
    assert inspect.signature(request) == inspect.signature(original)
    assert inspect.iscoroutinefunction(openai._base_client.AsyncAPIClient.request)


# ------------------------------------------------------------------------------------ Ark runtime SDK

ARK = "volcenginesdkarkruntime"


@pytest.fixture
def ark(server, spans):
    # The test is marked ark_sdk: deselected where the package is missing, unless it is required.
    client = importlib.import_module(ARK).Ark(api_key="k", base_url=server.base_url, max_retries=0)
    yield client
    client.close()


@pytest.mark.ark_sdk(ARK)
def test_ark_post_is_one_span_like_create(ark, spans):
    from volcenginesdkarkruntime.types.chat import ChatCompletion as ArkChatCompletion

    ark.post("/chat/completions", body=_chat_body(), cast_to=ArkChatCompletion)
    span = spans.one()
    spans.clear()
    ark.chat.completions.create(model=ENDPOINT, messages=QUESTION)
    twin = spans.one()
    assert differences(span, twin) == {}
    spans.clear()
    ark.batch.chat.completions.create(model=ENDPOINT, messages=QUESTION)  # its retry loop: still one span
    batch = spans.one()
    spans.clear()
    ark.post_without_retry("/batch/chat/completions", body=_chat_body(), cast_to=ArkChatCompletion)
    assert differences(spans.one(), batch) == {}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/chat/completions", "chat"),
        ("chat/completions", "chat"),
        ("/completions", "text_completion"),
        ("/responses", "chat"),
        ("/embeddings/multimodal", "embeddings"),
        ("/batch/chat/completions", "chat"),
        ("https://ark.example/api/v3/embeddings", "embeddings"),
        ("https://elsewhere.example/api/v3/embeddings", None),
        ("/chat/completions/chatcmpl-1", None),
        ("/responses/resp_1/cancel", None),
        ("/bots/chat/completions", "chat"),
        ("/tokenization", "tokenization"),
        ("/files", None),
        (None, None),
    ],
)
def test_operation_for_path(path, expected):
    from arktrace.operations import operation_for_path

    op = operation_for_path(path, "https://ark.example/api/v3/")
    assert (op.name if op else None) == expected


def test_post_responses_is_one_span_like_create(client, spans):
    if not hasattr(client, "responses"):
        pytest.skip("this openai has no Responses API")  # 1.40: no resource to compare with
    from openai.types.responses import Response, ResponseStreamEvent

    client.post("/responses", body={"model": ENDPOINT, "input": "hello"}, cast_to=Response)
    span = spans.one()
    spans.clear()
    client.responses.create(model=ENDPOINT, input="hello")
    assert differences(span, spans.one()) == {}
    spans.clear()
    body = {"model": ENDPOINT, "input": "hello", "stream": True}
    events = list(
        client.post(
            "/responses",
            body=body,
            cast_to=Response,
            stream=True,
            stream_cls=openai.Stream[ResponseStreamEvent],
        )
    )
    streamed = spans.one()
    assert streamed.attributes["gen_ai.usage.output_tokens"] == events[-1].response.usage.output_tokens
    spans.clear()
    list(client.responses.create(model=ENDPOINT, input="hello", stream=True))
    assert differences(streamed, spans.one()) == {}
