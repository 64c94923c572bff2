"""Embeddings and legacy completions, non-streamed."""

from __future__ import annotations

import json

import openai
import pytest
from opentelemetry.trace import StatusCode

EMBED = "ep-20250101120000-embed"
FLASH = "ep-20250101120000-fghij"


def test_embeddings(client, spans):
    response = client.embeddings.create(model=EMBED, input=["distributed tracing", "spans"], dimensions=8)
    span = spans.one()
    a = span.attributes
    assert span.name == f"embeddings {EMBED}"
    assert a["gen_ai.operation.name"] == "embeddings"
    assert a["openinference.span.kind"] == "EMBEDDING"
    assert a["gen_ai.request.model"] == EMBED
    assert a["gen_ai.response.model"] == a["embedding.model_name"] == response.model
    assert a["gen_ai.embeddings.dimension.count"] == 8
    assert a["gen_ai.usage.input_tokens"] == response.usage.prompt_tokens == 3
    assert a["embedding.embeddings.0.embedding.text"] == "distributed tracing"
    assert a["embedding.embeddings.1.embedding.text"] == "spans"
    assert json.loads(a["input.value"]) == ["distributed tracing", "spans"]
    # vectors are never recorded (the summary MLflow shows as output is written for MLflow only:
    # tests/unit/test_backend_attributes.py, tests/backends/test_mlflow_phoenix.py)
    assert "output.value" not in a
    assert not any("vector" in k for k in a)
    assert str(response.data[0].embedding[0]) not in json.dumps(dict(a))


def test_embedding_of_one_string(client, spans):
    client.embeddings.create(model=EMBED, input="one text", encoding_format="float")
    a = spans.one().attributes
    assert a["input.value"] == "one text" and a["input.mime_type"] == "text/plain"
    assert a["gen_ai.request.encoding_formats"] == ("float",)


async def test_async_embeddings_error(aclient, server, spans):
    server.fail_next(500)
    with pytest.raises(openai.InternalServerError):
        await aclient.embeddings.create(model=EMBED, input="x")
    span = spans.one()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["gen_ai.operation.name"] == "embeddings"


def test_legacy_completion(client, spans):
    response = client.completions.create(model=FLASH, prompt="Once upon a time", max_tokens=5, temperature=0)
    a = spans.one().attributes
    assert a["gen_ai.operation.name"] == "text_completion"
    assert a["openinference.span.kind"] == "LLM"
    assert a["gen_ai.request.max_tokens"] == 5 and a["gen_ai.request.temperature"] == 0
    assert a["gen_ai.response.finish_reasons"] == (response.choices[0].finish_reason,)
    assert a["llm.prompts"] == ("Once upon a time",)
    assert json.loads(a["output.value"])["choices"][0]["text"] == response.choices[0].text
    assert a["gen_ai.usage.output_tokens"] == response.usage.completion_tokens


async def test_async_legacy_completion_stream(aclient, spans):
    stream = await aclient.completions.create(model=FLASH, prompt="Once", stream=True)
    text = "".join([c.choices[0].text async for c in stream if c.choices])
    a = spans.one().attributes
    assert json.loads(a["output.value"])["choices"][0]["text"] == text
    assert a["gen_ai.usage.input_tokens"] == 1
