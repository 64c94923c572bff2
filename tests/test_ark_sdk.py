"""The Volcengine Ark runtime SDK (a fork of openai's structure) is traced the same way."""

from __future__ import annotations

import gc
import json

import pytest
from volcenginesdkarkruntime import Ark, AsyncArk
from volcenginesdkarkruntime._streaming import Stream as ArkStream

from conftest import ENDPOINT, RESOLVED

QUESTION = [{"role": "user", "content": "What is distributed tracing?"}]


@pytest.fixture
def ark(server):
    client = Ark(api_key="k", base_url=server.base_url, max_retries=0)
    yield client
    client.close()


def test_chat_with_explicit_nulls(ark, server, spans):
    response = ark.chat.completions.create(model=ENDPOINT, messages=QUESTION)
    assert server.requests[-1].body["temperature"] is None  # the Ark SDK sends every unset option as null
    a = spans.one().attributes
    assert a["gen_ai.response.model"] == RESOLVED == response.model
    assert a["gen_ai.usage.reasoning.output_tokens"] == 15
    assert json.loads(a["llm.invocation_parameters"]) == {"model": ENDPOINT}  # nulls are "not set"
    assert not any(k.startswith("gen_ai.request.") and k != "gen_ai.request.model" for k in a)


def test_stream(ark, spans):
    stream = ark.chat.completions.create(model=ENDPOINT, messages=QUESTION, stream=True)
    assert type(stream) is ArkStream
    chunks = list(stream)
    assert all(c.choices for c in chunks)
    a = spans.one().attributes
    assert a["gen_ai.usage.output_tokens"] == 22
    assert a["gen_ai.response.time_to_first_chunk"] > 0


def test_stream_dropped(ark, spans):
    stream = ark.chat.completions.create(model=ENDPOINT, messages=QUESTION, stream=True)
    next(iter(stream))
    del stream
    gc.collect()
    assert len(spans.all()) == 1


def test_embeddings_and_multimodal_embeddings(ark, spans):
    ark.embeddings.create(model="ep-20250101120000-embed", input=["a b"])
    ark.multimodal_embeddings.create(
        model="ep-20250101120000-mmemb", input=[{"type": "text", "text": "hello world"}]
    )
    text, multimodal = sorted(spans.all(), key=lambda s: s.name)
    assert text.attributes["gen_ai.usage.input_tokens"] == 2
    assert multimodal.attributes["gen_ai.response.model"] == "skylark-embedding-vision-250615"
    assert multimodal.attributes["gen_ai.usage.input_tokens"] == 2  # usage is a plain dict here


async def test_async_chat(server, spans):
    client = AsyncArk(api_key="k", base_url=server.base_url, max_retries=0)
    stream = await client.chat.completions.create(model=ENDPOINT, messages=QUESTION, stream=True)
    [c async for c in stream]
    await client.close()
    assert spans.one().attributes["gen_ai.usage.input_tokens"] == 5


def test_an_sdk_imported_after_instrument_is_patched_then_and_not_imported_before():
    import subprocess
    import sys

    script = """
import sys
import arktrace
arktrace.instrument()
assert "volcenginesdkarkruntime" not in sys.modules, "instrument() imported the Ark SDK"
from volcenginesdkarkruntime.resources.chat.completions import Completions
patched = Completions.__dict__["create"]
original = getattr(patched, "__wrapped__", None)
assert original is not None, "the Ark SDK was not patched on import"
arktrace.uninstrument()
assert Completions.__dict__["create"] is original
arktrace.instrument()
assert Completions.__dict__["create"].__wrapped__ is original, "not patched again after re-instrumenting"
print("ok")
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "ok", done.stderr
