"""The Ark runtime SDKs (BytePlus and Volcengine) traced like openai, against the bundled server.

Every scenario runs once per SDK package. The half of a package that is not installed is deselected
(marker ``ark_sdk``, see conftest.py), unless ``ARKTRACE_REQUIRE_ARK_SDKS=1`` (set by CI's Ark pass), which
keeps it, and it fails. Where openai has the
same call, the Ark span is compared with the openai span of that call: equal apart from what each
SDK itself does differently (documented in the README's attribute table).
"""

from __future__ import annotations

import gc
import importlib
import importlib.util
import json
import subprocess
import sys

import openai
import pytest
from opentelemetry.trace import SpanKind, StatusCode

from harness import ARK_PACKAGES, ENDPOINT, RESOLVED, ark_params

QUESTION = [{"role": "user", "content": "What is distributed tracing?"}]
PYPI = {
    "byteplussdkarkruntime": "byteplus-python-sdk-v2",
    "volcenginesdkarkruntime": "volcengine-ark-runtime",
}
MIDSTREAM = "ep-error-midstream"
EMBED = {"model": "ep-20250101120000-embed", "input": ["a b"]}

# Values that differ between any two calls (ids, clocks) or name the SDK's own classes.
_PER_CALL = {
    "gen_ai.response.id",
    "http.response.header.x-request-id",
    "http.response.header.x-client-request-id",
    "gen_ai.response.time_to_first_chunk",
    "gen_ai.server.ttft",
    "langfuse.observation.completion_start_time",
    "error.type",
}


@pytest.fixture(params=ark_params(*ARK_PACKAGES))
def sdk(request):
    name = request.param
    if importlib.util.find_spec(name) is None:  # only when required: conftest deselects it otherwise
        reason = f"{name} not installed: pip install 'arktrace[ark]' or {PYPI[name]}"
        pytest.fail(reason + " [ARKTRACE_REQUIRE_ARK_SDKS is set]", pytrace=False)
    return importlib.import_module(name)


@pytest.fixture
def ark(sdk, server, spans):
    client = sdk.Ark(api_key="k", base_url=server.base_url, max_retries=0)
    yield client
    client.close()


@pytest.fixture
async def aark(sdk, server, spans):
    client = sdk.AsyncArk(api_key="k", base_url=server.base_url, max_retries=0)
    yield client
    await client.close()


def comparable(span):
    """What two spans of the same call share: everything but per-call ids and clocks."""
    attrs = {k: v for k, v in span.attributes.items() if k not in _PER_CALL}
    if "output.value" in attrs:
        output = json.loads(attrs["output.value"])
        for key in ("id", "created"):
            output.pop(key, None)
        attrs["output.value"] = output
    return span.name, span.kind, span.status.status_code, attrs


def differences(span, twin):
    """What differs between two spans of the same call: {} when they match."""
    (*head, attrs), (*twin_head, twin_attrs) = comparable(span), comparable(twin)
    diff = {k: (attrs.get(k), twin_attrs.get(k)) for k in attrs.keys() | twin_attrs.keys()}
    diff = {k: v for k, v in diff.items() if v[0] != v[1]}
    if head != twin_head:
        diff["name, kind, status"] = (head, twin_head)
    return diff


def openai_twin(spans, call):
    """The span of the same call made through openai (spans are cleared before and after)."""
    spans.clear()
    call()
    twin = spans.one()
    spans.clear()
    return twin


def header(span, name):
    value = span.attributes.get(f"http.response.header.{name}")
    assert value is None or (len(value) == 1 and value[0]), value
    return value[0] if value else None


# ------------------------------------------------------------------------------------ chat, sync


def test_chat_span_equals_the_openai_span(ark, client, server, spans):
    response = ark.chat.completions.create(model=ENDPOINT, messages=QUESTION, temperature=0.2)
    sent = server.last_request
    assert sent.body["max_tokens"] is None  # the Ark SDK sends every unset option as null
    span = spans.one()
    a = span.attributes
    assert a["gen_ai.response.model"] == RESOLVED == response.model
    assert a["gen_ai.response.id"] == response.id
    assert a["gen_ai.usage.reasoning.output_tokens"] == 15
    assert json.loads(a["llm.invocation_parameters"]) == {"model": ENDPOINT, "temperature": 0.2}
    # the Ark SDK keeps the X-Client-Request-Id it sent (and ModelArk echoed), not ModelArk's id
    assert header(span, "x-client-request-id") == sent.headers["x-client-request-id"]
    assert header(span, "x-request-id") is None

    answers = []
    twin = openai_twin(
        spans, lambda: answers.append(client.chat.completions.create(**_args(temperature=0.2)))
    )
    assert differences(span, twin) == {}
    # openai keeps ModelArk's x-request-id (from 1.45 on; the bundled server uses the response id)
    kept = "_request_id" in vars(answers[0])
    assert header(twin, "x-request-id") == (answers[0].id if kept else None)
    assert header(twin, "x-client-request-id") is None


def _args(**extra):
    return {"model": ENDPOINT, "messages": QUESTION, **extra}


def test_stream_span_equals_the_openai_span(ark, sdk, client, server, spans):
    stream = ark.chat.completions.create(**_args(stream=True))
    assert type(stream) is sdk._streaming.Stream
    chunks = list(stream)
    assert chunks and all(c.choices for c in chunks)  # the usage chunk arktrace asked for is hidden
    assert all(c.usage is None for c in chunks)
    assert server.last_request.body["stream_options"] == {"include_usage": True}
    span = spans.one()
    assert span.attributes["gen_ai.usage.output_tokens"] == 22
    assert span.attributes["gen_ai.response.time_to_first_chunk"] > 0
    # a stream hands over its HTTP response: both ids are there
    assert header(span, "x-request-id") == span.attributes["gen_ai.response.id"]
    assert header(span, "x-client-request-id") == server.last_request.headers["x-client-request-id"]

    twin = openai_twin(spans, lambda: list(client.chat.completions.create(**_args(stream=True))))
    assert differences(span, twin) == {}


def test_callers_arguments_and_request_are_untouched(ark, sdk, server, spans):
    messages = [dict(QUESTION[0])]
    kwargs = {"model": ENDPOINT, "messages": messages, "stream": True, "extra_headers": {"X-Mine": "1"}}
    before = json.dumps(kwargs)
    list(ark.chat.completions.create(**kwargs))
    assert json.dumps(kwargs) == before
    traced = server.last_request

    import arktrace

    arktrace.uninstrument()
    plain = sdk.Ark(api_key="k", base_url=server.base_url, max_retries=0)
    list(plain.chat.completions.create(**kwargs, stream_options={"include_usage": True}))
    plain.close()
    untraced = server.last_request
    assert traced.body == untraced.body
    ignore = {"x-client-request-id", "content-length"}
    assert {k: v for k, v in traced.headers.items() if k not in ignore} == {
        k: v for k, v in untraced.headers.items() if k not in ignore
    }
    assert "traceparent" not in traced.headers


# ------------------------------------------------------------------------------------ errors


@pytest.mark.parametrize("model", ["ep-error-404", "ep-error-429", "ep-error-500"])
def test_errors(ark, sdk, client, server, spans, model):
    with pytest.raises(sdk._exceptions.ArkAPIStatusError) as info:
        ark.chat.completions.create(model=model, messages=QUESTION)
    span = spans.one()
    a = span.attributes
    status = int(model[-3:])
    assert span.status.status_code is StatusCode.ERROR
    assert a["error.type"] == type(info.value).__qualname__ and a["error.type"].startswith("Ark")
    assert a["http.response.status_code"] == status
    assert a["arktrace.error.code"] == info.value.code
    assert header(span, "x-client-request-id") == info.value.request_id
    assert header(span, "x-request-id") == info.value.response.headers["x-request-id"]
    assert len(span.events) == 1 and span.events[0].name == "exception"

    def openai_call():
        with pytest.raises(openai.APIStatusError):
            client.chat.completions.create(model=model, messages=QUESTION)

    twin = openai_twin(spans, openai_call)
    assert twin.attributes["error.type"] == type(info.value).__qualname__[3:]  # ArkNotFoundError
    assert header(twin, "x-request-id") and header(twin, "x-client-request-id") is None
    assert differences(span, twin) == {}


def test_a_key_quoted_back_in_an_error_is_not_recorded(sdk, server, spans):
    key = "ark-canary-key-5d21e8"
    server.send_next(
        {"error": {"message": f"The API key {key} is invalid.", "code": "AuthenticationError"}}, status=401
    )
    ark = sdk.Ark(api_key=key, base_url=server.base_url, max_retries=0)
    with pytest.raises(sdk._exceptions.ArkAPIStatusError, match=key):
        ark.chat.completions.create(model=ENDPOINT, messages=QUESTION)
    ark.close()
    span = spans.one()
    assert "The API key [credential removed] is invalid." in span.status.description
    assert key not in json.dumps([dict(span.attributes), [dict(e.attributes) for e in span.events]])


def test_mid_stream_error(ark, sdk, spans):
    received = []
    with pytest.raises(sdk._exceptions.ArkAPIError):
        for chunk in ark.chat.completions.create(model=MIDSTREAM, messages=QUESTION, stream=True):
            received.append(chunk)
    assert len(received) == 2
    span = spans.one()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["gen_ai.response.model"] == "seed-1-6-flash-250715"  # what arrived is kept


# ------------------------------------------------------------------------------ early stream exits


def test_break_then_close(ark, spans):
    stream = ark.chat.completions.create(**_args(stream=True))
    for _ in stream:
        break
    assert spans.all() == []
    stream.close()
    span = spans.one()
    assert span.status.status_code is StatusCode.OK
    assert "gen_ai.response.finish_reasons" not in span.attributes


def test_with_block(ark, spans):
    with ark.chat.completions.create(**_args(stream=True)) as stream:
        next(stream)
    assert spans.one().attributes["gen_ai.response.model"] == RESOLVED


def test_dropped_stream_ends_when_collected(ark, spans):
    stream = ark.chat.completions.create(**_args(stream=True))
    first = next(iter(stream))
    assert spans.all() == []  # open while the caller holds the stream...
    del stream
    gc.collect()
    span = spans.one()  # ...ended when it is collected, with what the caller read
    assert span.end_time is not None
    assert span.status.status_code is StatusCode.OK
    assert span.attributes["gen_ai.response.id"] == first.id
    assert span.attributes["gen_ai.response.model"] == RESOLVED
    assert "gen_ai.response.finish_reasons" not in span.attributes


def test_never_iterated_stream(ark, spans):
    stream = ark.chat.completions.create(**_args(stream=True))
    assert spans.all() == []
    stream.close()
    (closed,) = spans.all()  # ended by close()
    dropped = ark.chat.completions.create(**_args(stream=True))
    assert spans.all() == [closed]
    del dropped
    gc.collect()
    (_, collected) = spans.all()  # ended by the collector
    for span in (closed, collected):
        assert span.end_time is not None
        assert span.status.status_code is StatusCode.OK
        assert span.attributes["gen_ai.request.model"] == ENDPOINT
        assert "gen_ai.response.id" not in span.attributes  # no chunk was read


# ------------------------------------------------------------------------------------ async


async def test_async_chat_and_stream_equal_openai(aark, sdk, aclient, spans):
    await aark.chat.completions.create(**_args())
    stream = await aark.chat.completions.create(**_args(stream=True))
    assert type(stream) is sdk._streaming.AsyncStream
    [c async for c in stream]
    plain, streamed = spans.all()
    spans.clear()
    await aclient.chat.completions.create(**_args())
    [c async for c in await aclient.chat.completions.create(**_args(stream=True))]
    twin_plain, twin_streamed = spans.all()
    assert differences(plain, twin_plain) == {}
    assert differences(streamed, twin_streamed) == {}


async def test_async_error_and_early_exits(aark, sdk, spans):
    with pytest.raises(sdk._exceptions.ArkAPIStatusError):
        await aark.chat.completions.create(model="ep-error-500", messages=QUESTION)
    with pytest.raises(sdk._exceptions.ArkAPIError):
        async for _ in await aark.chat.completions.create(model=MIDSTREAM, messages=QUESTION, stream=True):
            pass
    stream = await aark.chat.completions.create(**_args(stream=True))
    async for _ in stream:
        break
    await stream.close()
    async with await aark.chat.completions.create(**_args(stream=True)) as stream:
        await stream.__anext__()
    statuses = [s.status.status_code for s in spans.all()]
    assert statuses == [StatusCode.ERROR, StatusCode.ERROR, StatusCode.OK, StatusCode.OK]


# ------------------------------------------------------------------------------------ raw responses


def test_with_raw_response(ark, server, spans):
    raw = ark.chat.completions.with_raw_response.create(**_args())
    assert raw.parse().model == RESOLVED
    span = spans.one()
    assert span.attributes["gen_ai.usage.output_tokens"] == 22
    assert header(span, "x-request-id") == raw.headers["x-request-id"]
    assert header(span, "x-client-request-id") == raw.headers["x-client-request-id"]
    spans.clear()

    raw = ark.batch.chat.completions.with_raw_response.create(**_args())
    assert raw.parse().model == RESOLVED
    assert header(spans.one(), "x-request-id") == raw.headers["x-request-id"]
    spans.clear()

    raw = ark.chat.completions.with_raw_response.create(**_args(stream=True))
    chunks = list(raw.parse())
    assert chunks and "stream_options" not in {k for k, v in server.last_request.body.items() if v}
    assert spans.one().attributes["gen_ai.response.model"] == RESOLVED


# ------------------------------------------------------------------------------------ embeddings


def test_embeddings_equal_openai(ark, client, spans):
    ark.embeddings.create(**EMBED)
    span = spans.one()
    assert span.attributes["gen_ai.usage.input_tokens"] == 2
    twin = openai_twin(spans, lambda: client.embeddings.create(**EMBED))
    assert differences(span, twin) == {}


def test_multimodal_embeddings(ark, spans):
    image = "data:image/png;base64," + "A" * 400
    response = ark.multimodal_embeddings.create(
        model="ep-20250101120000-mmemb",
        input=[{"type": "text", "text": "hello world"}, {"type": "image_url", "image_url": {"url": image}}],
    )
    assert len(response.data["embedding"] if isinstance(response.data, dict) else response.data.embedding)
    span = spans.one()
    a = span.attributes
    assert span.name == "embeddings ep-20250101120000-mmemb" and span.kind is SpanKind.CLIENT
    assert a["openinference.span.kind"] == "EMBEDDING"
    assert a["gen_ai.response.model"] == a["embedding.model_name"] == "skylark-embedding-vision-250615"
    assert a["gen_ai.usage.input_tokens"] == 258 and a["llm.token_count.prompt"] == 258
    assert a["arktrace.usage.text.input_tokens"] == 2
    assert a["arktrace.usage.image.input_tokens"] == 256
    assert "A" * 100 not in a["input.value"]  # the inline image is replaced, not recorded


async def test_async_embeddings(aark, spans):
    await aark.embeddings.create(model="ep-20250101120000-embed", input="a b")
    await aark.multimodal_embeddings.create(
        model="ep-20250101120000-mmemb", input=[{"type": "text", "text": "hello"}]
    )
    assert [s.attributes["gen_ai.usage.input_tokens"] for s in spans.all()] == [2, 1]


# ------------------------------------------------------------------------------------ context cache


def test_context_completions_record_cached_tokens(ark, server, spans):
    system = [{"role": "system", "content": "You answer questions about tracing in one short line."}]
    context = ark.context.create(model=ENDPOINT, messages=system, mode="common_prefix")
    assert spans.all() == []  # creating the cache is not a model call
    response = ark.context.completions.create(context_id=context.id, **_args())
    span = spans.one()
    a = span.attributes
    assert span.name == f"chat {ENDPOINT}"
    assert response.usage.prompt_tokens_details.cached_tokens == 10
    assert a["gen_ai.usage.cache_read.input_tokens"] == 10
    assert a["gen_ai.usage.input_tokens"] == 15 and a["llm.token_count.prompt_details.cache_read"] == 10
    assert json.loads(a["llm.invocation_parameters"])["context_id"] == context.id
    assert a["llm.cost.prompt"] > 0  # cached tokens priced at the cache-hit price
    spans.clear()

    chunks = list(ark.context.completions.create(context_id=context.id, **_args(stream=True)))
    assert all(c.choices for c in chunks)
    assert spans.one().attributes["gen_ai.usage.cache_read.input_tokens"] == 10
    spans.clear()

    raw = ark.context.completions.with_raw_response.create(context_id=context.id, **_args())
    assert raw.parse().usage.prompt_tokens_details.cached_tokens == 10
    assert spans.one().attributes["gen_ai.usage.cache_read.input_tokens"] == 10


async def test_async_context_completions(aark, spans):
    context = await aark.context.create(model=ENDPOINT, messages=[{"role": "system", "content": "Be brief."}])
    await aark.context.completions.create(context_id=context.id, **_args())
    assert spans.one().attributes["gen_ai.usage.cache_read.input_tokens"] == 3  # Be, brief, .


# ------------------------------------------------------------------------------------ batch


def test_batch_chat_equals_chat(ark, client, server, spans):
    ark.batch.chat.completions.create(**_args())
    assert server.last_request.path.endswith("/batch/chat/completions")
    span = spans.one()
    twin = openai_twin(spans, lambda: client.chat.completions.create(**_args()))
    assert differences(span, twin) == {}

    ark.batch_chat.completions.create(**_args())  # the deprecated spelling
    assert differences(spans.one(), twin) == {}


def test_batch_errors_and_embeddings(ark, sdk, spans):
    with pytest.raises(sdk._exceptions.ArkAPIStatusError):  # 4xx: the batch SDK retries only 408/409/429/5xx
        ark.batch.chat.completions.create(model="ep-error-404", messages=QUESTION)
    ark.batch.embeddings.create(model="ep-20250101120000-embed", input=["a b"])
    ark.batch.multimodal_embeddings.create(
        model="ep-20250101120000-mmemb", input=[{"type": "text", "text": "hello"}]
    )
    error, text, multimodal = spans.all()
    assert error.status.status_code is StatusCode.ERROR
    assert error.attributes["http.response.status_code"] == 404
    assert text.attributes["gen_ai.usage.input_tokens"] == 2
    assert multimodal.attributes["arktrace.usage.text.input_tokens"] == 1


async def test_async_batch_chat(aark, spans):
    await aark.batch.chat.completions.create(**_args())
    assert spans.one().attributes["gen_ai.usage.output_tokens"] == 22


# ------------------------------------------------------------------------------------ patching


def test_an_sdk_imported_after_instrument_is_patched_then_and_not_imported_before(sdk):
    script = f"""
import sys
import arktrace
arktrace.instrument()
assert "{sdk.__name__}" not in sys.modules, "instrument() imported the Ark SDK"
from {sdk.__name__}.resources.context.completions import Completions
patched = Completions.__dict__["create"]
original = getattr(patched, "__wrapped__", None)
assert original is not None, "the Ark SDK was not patched on import"
assert original.__name__ == "wrapper", "the SDK's own decorator is what is wrapped"
arktrace.uninstrument()
assert Completions.__dict__["create"] is original
arktrace.instrument()
assert Completions.__dict__["create"].__wrapped__ is original, "not patched again after re-instrumenting"
print("ok")
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "ok", done.stderr
