"""Tokenization (Volcengine's ``tokenization.create``): one span with the model and the token counts,
no token ids, no usage, no cost; against the bundled server with the real SDK, then the pure pieces.

Never streamed (the SDK has no ``stream`` argument and no ``with_streaming_response`` for it): the
stream rows of the scenario matrix do not apply. Only the Volcengine SDK has tokenization.
"""

from __future__ import annotations

import importlib
import importlib.util
import json

import pytest
from opentelemetry.trace import StatusCode

import arktrace
from arktrace.operations import TOKENIZATION, operation_for_path
from arktrace.operations.tokenization import outcome, output_summary, request_content, token_counts
from arktrace.testing.scripts._common import count_tokens
from harness import ENDPOINT, RESOLVED

TEXTS = ["Hello, world", "你好 world"]


def comparable(response):
    data = response.model_dump()
    data.pop("id")
    data.pop("created")
    return type(response), data, response.model_fields_set


def assert_tokenization_span(span, texts, *, content=True, params=None):
    a = span.attributes
    counts = tuple(count_tokens(t) for t in texts)
    assert span.name == f"tokenization {ENDPOINT}" and span.status.status_code == StatusCode.OK
    assert a["gen_ai.operation.name"] == "tokenization" and a["openinference.span.kind"] == "UNKNOWN"
    assert a["gen_ai.request.model"] == ENDPOINT and a["gen_ai.response.model"] == RESOLVED
    assert a["arktrace.tokenization.token_counts"] == counts
    assert a["arktrace.tokenization.total_tokens"] == sum(counts)
    # counting tokens consumes none: no usage, no cost, no token ids anywhere
    assert not [k for k in a if k.startswith(("gen_ai.usage", "llm.token_count", "llm.cost"))]
    assert "token_ids" not in json.dumps(dict(a)) and "offset" not in json.dumps(dict(a))
    assert "output.value" not in a
    # the text is content, never a parameter
    assert json.loads(a["llm.invocation_parameters"]) == (params or {"model": ENDPOINT})
    if content:
        text = texts if isinstance(texts, str) else None
        if text is not None:
            assert a["input.value"] == text and a["input.mime_type"] == "text/plain"
        else:
            assert json.loads(a["input.value"]) == texts and a["input.mime_type"] == "application/json"
    else:
        assert "input.value" not in a
        assert not any(t in json.dumps(dict(a)) for t in ("Hello", "你好"))


def uninstrumented(provider, call):
    arktrace.uninstrument()
    try:
        return call()
    finally:
        arktrace.instrument(tracer_provider=provider, stream_usage="always")


def test_one_span_with_the_counts(volc_ark, spans, provider):
    response = volc_ark.tokenization.create(model=ENDPOINT, text=TEXTS)
    assert_tokenization_span(spans.one(), TEXTS)
    spans.clear()
    volc_ark.tokenization.create(model=ENDPOINT, text="Hello, world")
    span = spans.one()
    assert span.attributes["input.value"] == "Hello, world"
    assert span.attributes["arktrace.tokenization.token_counts"] == (3,)
    plain = uninstrumented(provider, lambda: volc_ark.tokenization.create(model=ENDPOINT, text=TEXTS))
    assert comparable(response) == comparable(plain)


def test_errors(volc_ark, spans, provider, server):
    def fail(**kwargs):
        with pytest.raises(Exception) as raised:
            volc_ark.tokenization.create(**kwargs)
        return raised.value

    error = fail(model="ep-error-404", text="x")
    span = spans.one()
    assert span.status.status_code == StatusCode.ERROR and span.attributes["error.type"]
    plain = uninstrumented(provider, lambda: fail(model="ep-error-404", text="x"))
    assert type(error) is type(plain) and error.status_code == plain.status_code == 404
    spans.clear()
    bad = fail(model=ENDPOINT, text=[1, 2])  # the server's own validation: 400
    assert bad.status_code == 400 and spans.one().status.status_code == StatusCode.ERROR


def test_raw_response(volc_ark, spans):
    raw = volc_ark.tokenization.with_raw_response.create(model=ENDPOINT, text=TEXTS)
    assert_tokenization_span(spans.one(), TEXTS)
    assert raw.parse().data[1].total_tokens == count_tokens(TEXTS[1])
    assert len(spans.all()) == 1


def test_capture_off(volc, server, provider, spans):
    arktrace.uninstrument()
    arktrace.instrument(tracer_provider=provider, capture_content=False)
    with volc.Ark(api_key="k", base_url=server.base_url, max_retries=0) as volc_ark:
        volc_ark.tokenization.create(model=ENDPOINT, text=TEXTS, user="someone")
    span = spans.one()
    assert "someone" not in json.dumps(dict(span.attributes))
    assert_tokenization_span(span, TEXTS, content=False, params={"model": ENDPOINT, "user": "<not recorded>"})


async def test_async(volc, volc_aark, spans, provider):
    response = await volc_aark.tokenization.create(model=ENDPOINT, text=TEXTS)
    assert_tokenization_span(spans.one(), TEXTS)
    spans.clear()
    with pytest.raises(volc._exceptions.ArkInternalServerError):
        await volc_aark.tokenization.create(model="ep-error-500", text="x")
    assert spans.one().status.status_code == StatusCode.ERROR
    spans.clear()
    raw = await volc_aark.tokenization.with_raw_response.create(model=ENDPOINT, text=TEXTS)
    assert (await raw.parse()).data[0].total_tokens == count_tokens(TEXTS[0])
    assert_tokenization_span(spans.one(), TEXTS)
    arktrace.uninstrument()
    try:
        plain = await volc_aark.tokenization.create(model=ENDPOINT, text=TEXTS)
    finally:
        arktrace.instrument(tracer_provider=provider)
    assert comparable(response) == comparable(plain)


def test_byteplus_and_openai_have_no_tokenization():
    import openai

    assert not hasattr(openai.OpenAI, "tokenization")
    if importlib.util.find_spec("byteplussdkarkruntime") is not None:
        assert importlib.util.find_spec("byteplussdkarkruntime.resources.tokenization") is None


# ------------------------------------------------------------------------------------- pure parts


def test_the_path_is_tokenizations():
    assert operation_for_path("/tokenization") is TOKENIZATION


@pytest.mark.parametrize(
    ("fields", "counts"),
    [
        ({}, None),
        ({"data": []}, ()),
        ({"data": [{"total_tokens": 3, "token_ids": [1, 2, 3]}, {"total_tokens": 0}]}, (3, 0)),
        ({"data": [{"total_tokens": 3}, {"total_tokens": "4"}]}, None),  # one malformed: none
        ({"data": [{"total_tokens": True}]}, None),
        ({"data": [{"total_tokens": 2**64}]}, None),
        ({"data": "nonsense"}, None),
    ],
)
def test_token_counts(fields, counts):
    assert token_counts(fields) == counts
    attrs = outcome(fields)
    if counts is None:
        assert attrs == {}
    else:
        assert attrs == {
            "arktrace.tokenization.token_counts": counts,
            "arktrace.tokenization.total_tokens": sum(counts),
        }


def test_request_content_and_summary():
    assert request_content({}, {"text": "a b"}, None, 100, 10) == {
        "input.value": "a b",
        "input.mime_type": "text/plain",
    }
    long = request_content({}, {"text": ["x" * 50, "y"]}, None, 20, 10)
    assert long["input.mime_type"] == "application/json" and len(long["input.value"]) < 60
    summary = output_summary({"model": "m", "data": [{"total_tokens": 2}, {"total_tokens": 3}]})
    assert json.loads(summary) == {"model": "m", "texts": 2, "total_tokens": 5}
