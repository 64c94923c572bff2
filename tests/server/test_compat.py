"""Each private detail ``arktrace._compat`` relies on, checked against the installed libraries.

A release that moves one fails here, by name, before the end-to-end tests fail for a reason that is
harder to read. Run uninstrumented: these are the libraries' own objects.
"""

from __future__ import annotations

import importlib

import httpx
import pydantic
import pytest
from opentelemetry import context as otel_context
from opentelemetry.sdk.trace import SpanLimits, TracerProvider

from arktrace import _compat
from harness import ENDPOINT, ark_params

SDKS = ark_params("openai", "byteplussdkarkruntime", "volcenginesdkarkruntime")
QUESTION = [{"role": "user", "content": "Hi"}]


def test_the_suppress_key_is_the_one_suppress_instrumentation_sets():
    assert _compat.SUPPRESS_KEY is not None
    token = otel_context.attach(otel_context.set_value(_compat.SUPPRESS_KEY, True))
    try:
        from opentelemetry.context import _SUPPRESS_INSTRUMENTATION_KEY

        assert otel_context.get_value(_SUPPRESS_INSTRUMENTATION_KEY) is True
    finally:
        otel_context.detach(token)


def test_the_attribute_store_takes_values_only_where_that_is_safe():
    span = TracerProvider().get_tracer("t").start_span("s")
    assert _compat.update_attribute_store(span, {"a": "b", "n": 1})
    assert dict(span.attributes) == {"a": "b", "n": 1}
    span.end()
    assert not _compat.update_attribute_store(span, {"c": "d"})  # ended: the SDK's rules apply
    limited = TracerProvider(span_limits=SpanLimits(max_attribute_length=5)).get_tracer("t").start_span("s")
    assert not _compat.update_attribute_store(limited, {"a": "b"})  # a value limit to apply
    full = TracerProvider(span_limits=SpanLimits(max_span_attributes=1)).get_tracer("t").start_span("s")
    assert not _compat.update_attribute_store(full, {"a": "b", "c": "d"})  # no room


@pytest.mark.parametrize("name", SDKS)
def test_raw_response_header_is_the_sdks(name):
    constants = importlib.import_module(f"{name}._constants")
    assert constants.RAW_RESPONSE_HEADER == _compat.RAW_RESPONSE_HEADER


def _client(name, server):
    sdk = importlib.import_module(name)
    if name == "openai":
        return sdk.OpenAI(api_key="k", base_url=server.base_url, max_retries=0)
    return sdk.Ark(api_key="k", base_url=server.base_url, max_retries=0)


@pytest.mark.parametrize("name", SDKS)
def test_a_stream_reads_its_chunks_through_its_iterator(name, server):
    with _client(name, server) as client:
        stream = client.chat.completions.create(model=ENDPOINT, messages=QUESTION, stream=True)
        assert _compat.is_sdk_stream(stream)
        seen = []

        def observe(inner):
            for chunk in inner:
                seen.append(chunk)
                yield chunk

        _compat.replace_iterator(stream, observe)
        chunks = list(stream)
        assert chunks and seen == chunks
        assert not _compat.is_sdk_stream(client.chat.completions.create(model=ENDPOINT, messages=QUESTION))


@pytest.mark.parametrize("name", SDKS)
def test_a_raw_response_parses_through_a_watch_and_closes_through_the_hook(name, server):
    with _client(name, server) as client:
        raw = client.chat.completions.with_raw_response.create(model=ENDPOINT, messages=QUESTION)
        original = _compat.class_parse(raw)
        calls = []

        def parse(response, *args, **kwargs):
            calls.append(response)
            return original(response, *args, **kwargs)

        _compat.watch_parse(raw, parse)
        assert raw.parse().choices[0].message.content
        assert calls == [raw]
        _compat.unwatch_parse(raw, parse)
        assert "parse" not in vars(raw)
        assert raw.parse().choices  # the class's own again

        closed = []
        with client.chat.completions.with_streaming_response.create(
            model=ENDPOINT, messages=QUESTION, stream=True
        ) as streaming:
            _compat.on_close(streaming.http_response, lambda: closed.append(True))
        assert closed == [True]


async def test_an_async_response_close_runs_the_hook(server):
    closed = []
    async with httpx.AsyncClient() as http:  # httpx's own: httpx2 (openai 3.x) has the same close hooks
        response = await http.get(server.base_url.rstrip("/") + "/models")
        _compat.on_close(response, lambda: closed.append(True))
        await response.aclose()
    assert closed == [True]


def test_fields_set_names_the_fields_a_model_was_built_with():
    class Chunk(pydantic.BaseModel):
        usage: object = None
        text: str = ""

    assert set(_compat.fields_set(Chunk(usage=None))) == {"usage"}
    assert set(_compat.fields_set(Chunk(text="x"))) == {"text"}
