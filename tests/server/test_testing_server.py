"""The bundled ModelArk-compatible server: wire format (checked with plain urllib) and what the real,
uninstrumented openai SDK makes of it."""

from __future__ import annotations

import asyncio
import base64
import http.client
import json
import os
import re
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import openai
import pytest

import arktrace.testing
from arktrace.testing import ModelArkServer, RecordedRequest, count_tokens

REASONING_EP = "ep-20250101120000-abcde"
FLASH_EP = "ep-20250101120000-fghij"
EMBED_EP = "ep-20250101120000-embed"
MM_EP = "ep-20250101120000-mmemb"
ID_RE = re.compile(r"\A02\d{13}[0-9a-f]{38}\Z")
CHAT_KEYS = ["choices", "created", "id", "model", "service_tier", "object", "usage"]
USAGE_CHUNK_KEYS = ["id", "choices", "created", "model", "object", "usage"]
ARK_USAGE_KEYS = [
    "completion_tokens",
    "prompt_tokens",
    "total_tokens",
    "prompt_tokens_details",
    "completion_tokens_details",
]
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"enum": ["c", "f"]}},
            "required": ["city"],
        },
    },
}
CLOCK = {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}}
REASONING_TEXT = "The user sent a message. I will answer it by echoing it back."


def user(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


@pytest.fixture(scope="module")
def ark():
    with ModelArkServer() as srv:
        yield srv


@pytest.fixture(autouse=True)
def _fresh(request):
    if "ark" in request.fixturenames:
        request.getfixturevalue("ark").reset()


@pytest.fixture(scope="module")
def sdk(ark):
    with openai.OpenAI(api_key="k", base_url=ark.base_url, max_retries=0) as client:
        yield client


def call(srv: ModelArkServer, path: str, body=None, headers=None, method="POST"):
    """(status, headers, raw body) via urllib, errors included."""
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    req = urllib.request.Request(srv.base_url + path, data=data, method=method, headers=headers or {})
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


def post(srv, path, body, **kw):
    status, headers, raw = call(srv, path, body, **kw)
    return status, headers, json.loads(raw)


def events(raw: bytes) -> list:
    """Split an SSE body into parsed events; the final ``[DONE]`` stays a string."""
    text = raw.decode()
    assert text.endswith("\n\n")
    out = []
    for block in text[:-2].split("\n\n"):
        assert block.startswith("data: ") and "\n" not in block, block
        data = block[len("data: ") :]
        out.append(data if data == "[DONE]" else json.loads(data))
    return out


def stream(srv, body, path="/chat/completions"):
    status, headers, raw = call(srv, path, {**body, "stream": True})
    assert status == 200, raw
    assert headers["Content-Type"] == "text/event-stream"
    assert headers["Transfer-Encoding"] == "chunked"
    evs = events(raw)
    assert evs[-1] == "[DONE]"
    return evs[:-1]


def content_of(chunks) -> str:
    return "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])


# ------------------------------------------------------------------------------------------------
# chat completions on the wire


def test_chat_reasoning_model_wire_format(ark):
    status, headers, body = post(
        ark, "/chat/completions", {"model": REASONING_EP, "messages": user("Hi, you!")}
    )
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert list(body) == CHAT_KEYS
    assert ID_RE.match(body["id"]) and len(body["id"]) == 53
    assert headers["x-request-id"] == body["id"]
    assert body["model"] == "seed-1-8-251228" and body["object"] == "chat.completion"
    assert body["service_tier"] == "default" and abs(body["created"] - time.time()) < 5
    (choice,) = body["choices"]
    assert list(choice) == ["finish_reason", "index", "logprobs", "message"]
    assert choice["finish_reason"] == "stop" and choice["logprobs"] is None
    assert choice["message"] == {
        "content": "Echo: Hi, you!",
        "reasoning_content": REASONING_TEXT,
        "role": "assistant",
    }
    assert list(choice["message"]) == ["content", "reasoning_content", "role"]
    reasoning = count_tokens(REASONING_TEXT)
    assert list(body["usage"]) == ARK_USAGE_KEYS
    assert body["usage"] == {
        "completion_tokens": reasoning + 6,  # Echo : Hi , you !
        "prompt_tokens": 4,
        "total_tokens": reasoning + 10,
        "prompt_tokens_details": {"cached_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": reasoning},
    }


def test_reasoning_rules(ark):
    def message(model, **extra):
        body = post(ark, "/chat/completions", {"model": model, "messages": user("x"), **extra})[2]
        return body["choices"][0]["message"], body["usage"]["completion_tokens_details"]["reasoning_tokens"]

    msg, reasoning = message(FLASH_EP)
    assert "reasoning_content" not in msg and reasoning == 0
    assert "reasoning_content" not in message(REASONING_EP, thinking={"type": "disabled"})[0]
    assert "reasoning_content" not in message("seed-1-8-251228", reasoning_effort="minimal")[0]
    assert "reasoning_content" in message(FLASH_EP, thinking={"type": "enabled"})[0]
    for model in ("seed-1-6-250615", "deepseek-v3-2-251201"):
        assert "reasoning_content" in message(model)[0]
    for model in ("kimi-k2-250711", "gpt-4o-mini"):
        assert "reasoning_content" not in message(model)[0]


def test_token_counting_rule(ark):
    assert count_tokens("Hello, world! it's 2025") == 8
    assert count_tokens("你好 world") == 3
    messages = [
        {"role": "system", "content": "Be brief."},
        {
            "role": "user",
            "content": [{"type": "text", "text": "Look"}, {"type": "image_url", "image_url": {}}],
        },
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"function": {"name": "f", "arguments": "{}"}}],
        },
        {"role": "tool", "tool_call_id": "c", "content": "sunny"},
    ]
    body = post(ark, "/chat/completions", {"model": FLASH_EP, "messages": messages})[2]
    assert body["usage"]["prompt_tokens"] == 3 + 1 + 1 + 2 + 1
    assert body["choices"][0]["message"]["content"] == "The tool returned: sunny"


def test_chat_stream_wire_format(ark):
    chunks = stream(ark, {"model": REASONING_EP, "messages": user("Hello there")})
    rid = chunks[0]["id"]
    n_reasoning = count_tokens(REASONING_TEXT)
    assert len(chunks) == n_reasoning + 4 + 1  # reasoning, "Echo", ":", " Hello", " there", finish
    for chunk in chunks:
        assert list(chunk) == CHAT_KEYS
        assert chunk["usage"] is None and chunk["id"] == rid and chunk["model"] == "seed-1-8-251228"
        assert chunk["object"] == "chat.completion.chunk"
        (choice,) = chunk["choices"]
        assert choice["delta"]["role"] == "assistant"
    for chunk in chunks[:-1]:
        assert list(chunk["choices"][0]) == ["delta", "index"]
    for chunk in chunks[:n_reasoning]:
        assert list(chunk["choices"][0]["delta"]) == ["content", "reasoning_content", "role"]
        assert chunk["choices"][0]["delta"]["content"] == ""
    assert (
        "".join(c["choices"][0]["delta"]["reasoning_content"] for c in chunks[:n_reasoning]) == REASONING_TEXT
    )
    assert all(list(c["choices"][0]["delta"]) == ["content", "role"] for c in chunks[n_reasoning:])
    assert content_of(chunks) == "Echo: Hello there"
    assert chunks[-1]["choices"][0] == {
        "delta": {"content": "", "role": "assistant"},
        "finish_reason": "stop",
        "index": 0,
    }


def test_stream_include_usage_adds_a_final_usage_chunk(ark):
    chunks = stream(
        ark,
        {"model": FLASH_EP, "messages": user("one two"), "stream_options": {"include_usage": True}},
    )
    *rest, last = chunks
    assert all(c["usage"] is None for c in rest)
    assert list(last) == USAGE_CHUNK_KEYS and last["choices"] == []
    assert last["usage"] == {
        "completion_tokens": 4,
        "prompt_tokens": 2,
        "total_tokens": 6,
        "prompt_tokens_details": {"cached_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0},
    }
    non_stream = post(ark, "/chat/completions", {"model": FLASH_EP, "messages": user("one two")})[2]
    assert non_stream["usage"] == last["usage"]


def test_stream_chunk_include_usage_is_cumulative(ark):
    options = {"chunk_include_usage": True}
    chunks = stream(ark, {"model": REASONING_EP, "messages": user("a b"), "stream_options": options})
    totals = [c["usage"]["completion_tokens"] for c in chunks]
    assert totals == sorted(totals) and totals[0] == 1
    assert all(c["usage"]["prompt_tokens"] == 2 for c in chunks)
    final = post(ark, "/chat/completions", {"model": REASONING_EP, "messages": user("a b")})[2]["usage"]
    assert chunks[-1]["usage"] == final and chunks[-2]["usage"] == final


def test_cached_tokens_are_capped_at_prompt_tokens():
    with ModelArkServer(cached_tokens=3) as srv:
        usage = post(srv, "/chat/completions", {"model": FLASH_EP, "messages": user("a b c d")})[2]["usage"]
        assert usage["prompt_tokens"] == 4 and usage["prompt_tokens_details"] == {"cached_tokens": 3}
        usage = post(srv, "/chat/completions", {"model": FLASH_EP, "messages": user("a")})[2]["usage"]
        assert usage["prompt_tokens_details"] == {"cached_tokens": 1}


def test_usage_style_moonshot():
    with ModelArkServer(usage_style="moonshot", cached_tokens=1) as srv:
        body = {"model": FLASH_EP, "messages": user("a b")}
        usage = post(srv, "/chat/completions", body)[2]["usage"]
        expected = {
            "prompt_tokens": 2,
            "completion_tokens": 4,
            "total_tokens": 6,
            "cached_tokens": 1,
            "completion_tokens_details": {"reasoning_tokens": 0},
        }
        assert usage == expected and list(usage) == list(expected)
        chunks = stream(srv, body)  # no include_usage needed
        assert all(c["usage"] is None for c in chunks)
        assert chunks[-1]["choices"][0]["usage"] == expected
        assert list(chunks[-1]["choices"][0]) == ["delta", "finish_reason", "index", "usage"]


def test_usage_style_deepseek():
    with ModelArkServer(usage_style="deepseek", cached_tokens=1) as srv:
        body = {"model": FLASH_EP, "messages": user("a b")}
        usage = post(srv, "/chat/completions", body)[2]["usage"]
        assert usage["prompt_cache_hit_tokens"] == 1 and usage["prompt_cache_miss_tokens"] == 1
        assert usage["prompt_tokens_details"] == {"cached_tokens": 1}
        assert all(c["usage"] is None for c in stream(srv, body))
        chunks = stream(srv, {**body, "stream_options": {"include_usage": True}})
        assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
        assert chunks[-1]["usage"] == usage
        assert all(c["usage"] is None for c in chunks[:-1])


def test_usage_style_qwen():
    with ModelArkServer(usage_style="qwen", cached_tokens=1) as srv:
        body = {"model": FLASH_EP, "messages": user("a b"), "stream_options": {"include_usage": True}}
        last = stream(srv, body)[-1]
        assert last["choices"] == []
        assert last["usage"]["prompt_tokens_details"] == {
            "cached_tokens": 1,
            "cache_creation_input_tokens": 1,
        }
        srv.cached_tokens = 0
        assert stream(srv, body)[-1]["usage"]["prompt_tokens_details"] == {"cached_tokens": 0}
    with pytest.raises(ValueError, match="usage_style"):
        ModelArkServer(usage_style="anthropic")


def test_tool_call_non_stream(ark):
    body = post(
        ark, "/chat/completions", {"model": FLASH_EP, "messages": user("Weather?"), "tools": [WEATHER]}
    )[2]
    (choice,) = body["choices"]
    assert choice["finish_reason"] == "tool_calls"
    message = choice["message"]
    assert list(message) == ["content", "role", "tool_calls"] and message["content"] == ""
    (tc,) = message["tool_calls"]
    assert list(tc) == ["id", "type", "function"] and tc["type"] == "function"
    assert tc["id"].startswith("call_")
    assert tc["function"]["name"] == "get_weather"
    assert json.loads(tc["function"]["arguments"]) == {"city": "example"}
    assert body["usage"]["completion_tokens"] == count_tokens("get_weather") + count_tokens(
        '{"city":"example"}'
    )


def test_tool_choice_and_tool_results(ark):
    def answer(**extra):
        body = {"model": FLASH_EP, "messages": user("Weather?"), "tools": [WEATHER, CLOCK], **extra}
        return post(ark, "/chat/completions", body)[2]["choices"][0]

    named = answer(tool_choice={"type": "function", "function": {"name": "get_time"}})
    assert named["message"]["tool_calls"][0]["function"] == {"name": "get_time", "arguments": "{}"}
    assert answer(tool_choice="none")["finish_reason"] == "stop"
    messages = [
        *user("Weather?"),
        {
            "role": "assistant",
            "tool_calls": [{"id": "c1", "type": "function", "function": WEATHER["function"]}],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "Sunny, 31C"},
    ]
    after = answer(messages=messages)
    assert after["finish_reason"] == "stop"
    assert after["message"]["content"] == "The tool returned: Sunny, 31C"


def test_tool_call_stream_fragments(ark):
    chunks = stream(ark, {"model": REASONING_EP, "messages": user("Weather?"), "tools": [WEATHER]})
    calls = [
        c["choices"][0]["delta"]["tool_calls"] for c in chunks if "tool_calls" in c["choices"][0]["delta"]
    ]
    assert len(calls) >= 3
    first, *rest = (tc for (tc,) in calls)
    assert first["index"] == 0 and first["id"].startswith("call_") and first["type"] == "function"
    assert first["function"] == {"name": "get_weather", "arguments": ""}
    assert all(list(tc) == ["index", "function"] and list(tc["function"]) == ["arguments"] for tc in rest)
    assert json.loads("".join(tc["function"]["arguments"] for tc in rest)) == {"city": "example"}
    assert chunks[0]["choices"][0]["delta"]["reasoning_content"]  # reasoning before the call
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_max_tokens_truncation(ark):
    body = {"model": REASONING_EP, "messages": user("one two three four five")}
    reasoning = count_tokens(REASONING_TEXT)
    r = post(ark, "/chat/completions", {**body, "max_tokens": 3})[2]
    assert r["choices"][0]["finish_reason"] == "length"
    assert r["choices"][0]["message"]["content"] == "Echo: one"
    assert r["usage"]["completion_tokens"] == reasoning + 3  # max_tokens excludes the chain of thought
    r = post(ark, "/chat/completions", {**body, "max_completion_tokens": reasoning + 2})[2]
    assert r["choices"][0]["message"]["content"] == "Echo:"
    assert r["usage"]["completion_tokens"] == reasoning + 2 and r["choices"][0]["finish_reason"] == "length"
    r = post(ark, "/chat/completions", {**body, "max_tokens": 100})[2]  # never padded
    assert r["choices"][0]["finish_reason"] == "stop" and r["usage"]["completion_tokens"] == reasoning + 7
    chunks = stream(ark, {**body, "max_tokens": 2})
    assert content_of(chunks) == "Echo:" and chunks[-1]["choices"][0]["finish_reason"] == "length"


def test_arktrace_chunks_makes_exactly_n_content_chunks(ark):
    body = {
        "model": REASONING_EP,
        "messages": user("hi"),
        "max_tokens": 5,
        "arktrace_chunks": 50,
        "stream_options": {"include_usage": True},
    }
    chunks = stream(ark, body)
    assert len(chunks) == 50 + 2
    assert all(list(c["choices"][0]["delta"]) == ["content", "role"] for c in chunks[:50])
    assert chunks[50]["choices"][0]["finish_reason"] == "stop"
    assert chunks[51]["usage"]["completion_tokens"] == 50
    assert chunks[51]["usage"]["completion_tokens_details"] == {"reasoning_tokens": 0}
    assert len(stream(ark, {**body, "arktrace_chunks": 0})) == 2


def test_chat_validation_errors(ark):
    def error(body):
        status, headers, payload = post(ark, "/chat/completions", body)
        (err,) = payload.values()
        assert list(payload) == ["error"] and list(err) == ["code", "message", "param", "type"]
        assert err["param"] == "" and err["message"].endswith("Request id: " + headers["x-request-id"])
        assert ID_RE.match(headers["x-request-id"])
        return status, err

    status, err = error(
        {"model": FLASH_EP, "messages": user("x"), "max_tokens": 1, "max_completion_tokens": 1}
    )
    assert (status, err["code"], err["type"]) == (400, "InvalidParameter", "BadRequest")
    status, err = error({"messages": user("x")})
    assert (status, err["code"], err["type"]) == (400, "MissingParameter", "BadRequest")
    assert "model" in err["message"]
    status, err = error({"model": FLASH_EP})
    assert (status, err["code"]) == (400, "MissingParameter") and "messages" in err["message"]
    status, err = error({"model": "ep-error-404", "messages": user("x")})
    assert (status, err["code"], err["type"]) == (404, "InvalidEndpointOrModel.NotFound", "NotFound")
    assert err["message"].startswith(
        "The model or endpoint ep-error-404 does not exist or you do not have access to it. Request id: "
    )
    # explicit nulls (the Ark SDK sends every unset parameter as null) are "not set"
    nulls = {"max_tokens": None, "max_completion_tokens": None, "tools": None, "stream_options": None}
    assert post(ark, "/chat/completions", {"model": FLASH_EP, "messages": user("x"), **nulls})[0] == 200


def test_unknown_path_and_method(ark):
    for method, path in [("POST", "/responses/nope"), ("GET", "/chat/completions")]:
        status, _, raw = call(ark, path, {} if method == "POST" else None, method=method)
        err = json.loads(raw)["error"]
        assert (status, err["code"], err["type"]) == (404, "InvalidAction", "NotFound")


# ------------------------------------------------------------------------------------------------
# legacy completions and embeddings on the wire


def test_legacy_completions(ark):
    status, _, body = post(ark, "/completions", {"model": "gpt-4o-mini", "prompt": "Say hi"})
    assert status == 200
    assert list(body) == ["id", "object", "created", "model", "choices", "usage"]
    assert body["object"] == "text_completion"
    assert body["choices"] == [
        {"text": "Echo: Say hi", "index": 0, "logprobs": None, "finish_reason": "stop"}
    ]
    assert body["usage"]["prompt_tokens"] == 2 and body["usage"]["completion_tokens"] == 4
    chunks = stream(ark, {"model": "gpt-4o-mini", "prompt": "Say hi"}, path="/completions")
    assert "".join(c["choices"][0]["text"] for c in chunks) == "Echo: Say hi"
    assert [c["choices"][0]["finish_reason"] for c in chunks] == [None] * 4 + ["stop"]
    options = {"include_usage": True}
    body = {"model": "gpt-4o-mini", "prompt": "Say hi", "stream_options": options, "max_tokens": 1}
    chunks = stream(ark, body, path="/completions")
    assert chunks[-2]["choices"][0]["finish_reason"] == "length"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == 1


def test_embeddings_float_and_base64(ark):
    body = {"model": EMBED_EP, "input": ["hello world", "bye"]}
    status, headers, floats = post(ark, "/embeddings", body)
    assert status == 200 and list(floats) == ["id", "created", "object", "model", "data", "usage"]
    assert floats["id"] == headers["x-request-id"] and floats["object"] == "list"
    assert floats["model"] == "doubao-embedding-text-240715"
    assert floats["usage"] == {"prompt_tokens": 3, "total_tokens": 3}
    assert [list(d) for d in floats["data"]] == [["object", "index", "embedding"]] * 2
    assert [d["index"] for d in floats["data"]] == [0, 1]
    vec = floats["data"][0]["embedding"]
    assert len(vec) == 8 and abs(sum(v * v for v in vec) - 1) < 1e-5
    b64 = post(ark, "/embeddings", {**body, "encoding_format": "base64"})[2]
    packed = base64.b64decode(b64["data"][0]["embedding"])
    assert list(struct.unpack("<8f", packed)) == vec  # little-endian float32, same values
    one = post(ark, "/embeddings", {"model": EMBED_EP, "input": "hello world", "dimensions": 3})[2]
    assert len(one["data"]) == 1 and len(one["data"][0]["embedding"]) == 3


def test_multimodal_embeddings(ark):
    parts = [{"type": "text", "text": "a red bike"}, {"type": "image_url", "image_url": {"url": "data:,"}}]
    body = post(ark, "/embeddings/multimodal", {"model": MM_EP, "input": parts})[2]
    assert list(body) == ["created", "data", "id", "model", "object", "usage"]
    assert list(body["data"]) == ["embedding", "object"] and body["data"]["object"] == "embedding"
    assert body["model"] == "skylark-embedding-vision-250615"
    assert body["usage"] == {
        "prompt_tokens": 259,
        "total_tokens": 259,
        "prompt_tokens_details": {"image_tokens": 256, "text_tokens": 3},
    }


# ------------------------------------------------------------------------------------------------
# headers, log, auth, faults


def test_headers_and_request_log(ark):
    body = {"model": FLASH_EP, "messages": user("x")}
    headers = call(ark, "/chat/completions", body, headers={"X-Client-Request-Id": "abc-1"})[1]
    assert headers["x-client-request-id"] == "abc-1"
    assert "x-client-request-id" not in call(ark, "/chat/completions", body)[1]
    first = ark.requests[0]
    assert isinstance(first, RecordedRequest)
    assert (first.method, first.path, first.body) == ("POST", "/api/v3/chat/completions", body)
    assert (
        first.headers["x-client-request-id"] == "abc-1"
        and first.headers["content-type"] == "application/json"
    )
    assert json.loads(first.raw) == body
    assert len(ark.requests) == 2 and ark.last_request is ark.requests[1]
    call(ark, "/chat/completions", b"{not json")
    assert ark.last_request.body is None and ark.last_request.raw == b"{not json"
    ark.reset()
    assert ark.requests == []


def test_api_key():
    with ModelArkServer(api_key="sekret") as srv:
        body = {"model": FLASH_EP, "messages": user("x")}
        status, _, payload = post(srv, "/chat/completions", body)
        assert status == 401 and payload["error"]["code"] == "AuthenticationError"
        assert payload["error"]["type"] == "Unauthorized"
        assert post(srv, "/chat/completions", body, headers={"Authorization": "Bearer nope"})[0] == 401
        assert post(srv, "/chat/completions", body, headers={"Authorization": "Bearer sekret"})[0] == 200


def test_fail_next(ark):
    body = {"model": FLASH_EP, "messages": user("x")}
    ark.fail_next(429, times=2)
    ark.fail_next(403, "AccountOverdueError")
    for _ in range(2):
        status, _, payload = post(ark, "/chat/completions", body)
        assert status == 429 and payload["error"]["code"] == "RateLimitExceeded.EndpointRPMExceeded"
        assert payload["error"]["type"] == "TooManyRequests"
    status, _, payload = post(ark, "/embeddings", {"model": EMBED_EP, "input": "x"})
    assert (status, payload["error"]["code"], payload["error"]["type"]) == (
        403,
        "AccountOverdueError",
        "Forbidden",
    )
    assert post(ark, "/chat/completions", body)[0] == 200
    ark.fail_next(500, times=5)
    ark.reset()
    assert post(ark, "/chat/completions", body)[0] == 200
    assert len(ark.requests) == 1


def test_fail_mid_stream(ark):
    ark.fail_mid_stream(after_chunks=3)
    body = {"model": FLASH_EP, "messages": user("one two three four"), "stream": True}
    assert post(ark, "/chat/completions", {**body, "stream": False})[0] == 200  # non-streams are not counted
    status, headers, raw = call(ark, "/chat/completions", body)
    assert status == 200
    evs = events(raw)
    assert len(evs) == 4 and "[DONE]" not in evs
    assert all("choices" in e for e in evs[:3])
    err = evs[3]["error"]
    assert err["code"] == "InternalServiceError" and err["type"] == "InternalServerError"
    assert err["message"].endswith("Request id: " + headers["x-request-id"])
    assert events(call(ark, "/chat/completions", body)[2])[-1] == "[DONE]"  # only once


def test_magic_models(ark):
    for status in (400, 401, 403, 404, 429, 500):
        code, _, payload = post(
            ark, "/chat/completions", {"model": f"ep-error-{status}", "messages": user("x")}
        )
        assert code == status and payload["error"]["type"]
    status, _, raw = call(
        ark, "/chat/completions", {"model": "ep-error-midstream", "messages": user("x"), "stream": True}
    )
    evs = events(raw)
    assert len(evs) == 3 and evs[0]["model"] == "seed-1-6-flash-250715" and "error" in evs[2]
    assert post(ark, "/chat/completions", {"model": "ep-error-midstream", "messages": user("x")})[0] == 500


def test_any_model_name_is_served_unless_it_is_a_magic_error_model(ark):
    # a seed guide's code, written for another provider, runs against the bundled server unchanged
    for requested, served in [
        ("gpt-4o", "gpt-4o"),
        ("moonshot-v1-8k", "moonshot-v1-8k"),
        ("ep-20990101000000-other", "seed-1-8-251228"),
    ]:
        for path, body in [
            ("/chat/completions", {"model": requested, "messages": user("x")}),
            ("/embeddings", {"model": requested, "input": "x"}),
        ]:
            status, _, payload = post(ark, path, body)
            assert (status, payload["model"]) == (200, served), (requested, path)
    assert post(ark, "/chat/completions", {"model": "ep-error-404", "messages": user("x")})[0] == 404
    assert post(ark, "/chat/completions", {"model": "ep-error-418", "messages": user("x")})[0] == 418


def test_custom_endpoints_and_reply():
    with ModelArkServer(endpoints={"ep-mine": "glm-4-7-251222"}, reply="Fixed.") as srv:
        body = post(srv, "/chat/completions", {"model": "ep-mine", "messages": user("x")})[2]
        assert body["model"] == "glm-4-7-251222" and body["choices"][0]["message"]["content"] == "Fixed."
        assert post(srv, "/chat/completions", {"model": REASONING_EP, "messages": user("x")})[0] == 200
        srv.reply = lambda req: req["messages"][-1]["content"].upper()
        body = post(srv, "/chat/completions", {"model": "ep-mine", "messages": user("shout")})[2]
        assert body["choices"][0]["message"]["content"] == "SHOUT"


# ------------------------------------------------------------------------------------------------
# the real openai SDK


def test_sdk_chat(sdk):
    resp = sdk.chat.completions.create(model=REASONING_EP, messages=user("Hello"))
    assert resp.model == "seed-1-8-251228"
    assert getattr(resp, "_request_id", resp.id) == resp.id  # openai>=1.45 reads x-request-id
    assert resp.choices[0].message.content == "Echo: Hello"
    assert resp.choices[0].message.reasoning_content == REASONING_TEXT
    # openai 1.40 has no typed *_tokens_details yet: they arrive as plain dicts (pydantic extras)
    usage = resp.usage.model_dump()
    assert usage["completion_tokens_details"]["reasoning_tokens"] == count_tokens(REASONING_TEXT)
    assert usage["prompt_tokens_details"]["cached_tokens"] == 0

    chunks = list(
        sdk.chat.completions.create(
            model=REASONING_EP, messages=user("Hello"), stream=True, stream_options={"include_usage": True}
        )
    )
    assert "".join(getattr(c.choices[0].delta, "reasoning_content", None) or "" for c in chunks[:-1]) == (
        REASONING_TEXT
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks[:-1]) == "Echo: Hello"
    assert chunks[-2].choices[0].finish_reason == "stop" and chunks[-1].choices == []
    assert chunks[-1].usage.total_tokens == resp.usage.total_tokens


def test_sdk_tool_calls(sdk):
    resp = sdk.chat.completions.create(model=FLASH_EP, messages=user("Weather?"), tools=[WEATHER])
    (tc,) = resp.choices[0].message.tool_calls
    assert resp.choices[0].finish_reason == "tool_calls"
    assert tc.function.name == "get_weather" and json.loads(tc.function.arguments) == {"city": "example"}
    args = ""
    for chunk in sdk.chat.completions.create(
        model=FLASH_EP, messages=user("Weather?"), tools=[WEATHER], stream=True
    ):
        for call_delta in chunk.choices[0].delta.tool_calls or ():
            args += call_delta.function.arguments or ""
    assert json.loads(args) == {"city": "example"}


def test_sdk_completions_and_embeddings(sdk):
    text = sdk.completions.create(model="gpt-4o-mini", prompt="Say hi")
    assert text.choices[0].text == "Echo: Say hi" and text.usage.total_tokens == 6
    assert "".join(
        c.choices[0].text for c in sdk.completions.create(model="gpt-4o-mini", prompt="Hi", stream=True)
    )

    default = sdk.embeddings.create(model=EMBED_EP, input=["hello world", "bye"])  # asks for base64
    floats = sdk.embeddings.create(model=EMBED_EP, input=["hello world", "bye"], encoding_format="float")
    assert default.model == "doubao-embedding-text-240715" and default.usage.prompt_tokens == 3
    assert [list(d.embedding) for d in default.data] == [d.embedding for d in floats.data]
    assert len(sdk.embeddings.create(model=EMBED_EP, input="x", dimensions=4).data[0].embedding) == 4


@pytest.mark.parametrize(
    ("status", "exc"),
    [
        (400, openai.BadRequestError),
        (401, openai.AuthenticationError),
        (403, openai.PermissionDeniedError),
        (404, openai.NotFoundError),
        (429, openai.RateLimitError),
        (500, openai.InternalServerError),
    ],
)
def test_sdk_errors(sdk, ark, status, exc):
    ark.fail_next(status)
    with pytest.raises(exc) as info:
        sdk.chat.completions.create(model=FLASH_EP, messages=user("x"))
    assert info.value.status_code == status
    assert info.value.body["type"] and info.value.body["code"] == info.value.code
    assert info.value.request_id == info.value.response.headers["x-request-id"]
    assert info.value.body["message"].endswith("Request id: " + info.value.request_id)
    with pytest.raises(exc):
        sdk.chat.completions.create(model=f"ep-error-{status}", messages=user("x"))
    assert len(ark.requests) == 2  # max_retries=0: one attempt each


def test_sdk_mid_stream_error(sdk, ark):
    got = []
    with pytest.raises(openai.APIError) as info:
        for chunk in sdk.chat.completions.create(
            model="ep-error-midstream", messages=user("x y z"), stream=True
        ):
            got.append(chunk)
    assert len(got) == 2 and not isinstance(info.value, openai.APIStatusError)
    assert info.value.body["code"] == "InternalServiceError"
    ark.fail_mid_stream(after_chunks=0)
    with pytest.raises(openai.APIError):
        list(sdk.chat.completions.create(model=FLASH_EP, messages=user("x"), stream=True))


async def test_sync_and_async_clients_concurrently(ark):
    # Each stream has at least 4 events, so at least 3 waits between them: served one after the
    # other, 8 streams take 8 * 3 * 0.1 s or more; side by side, about 0.3 s.
    ark.chunk_interval = 0.1
    try:
        client = openai.AsyncOpenAI(api_key="k", base_url=ark.base_url, max_retries=0)

        async def one(i: int) -> str:
            s = await client.chat.completions.create(model=FLASH_EP, messages=user(f"n{i}"), stream=True)
            return "".join([c.choices[0].delta.content or "" async for c in s])

        def sync_one() -> None:
            with openai.OpenAI(api_key="k", base_url=ark.base_url, max_retries=0) as c:
                out.append(c.chat.completions.create(model=FLASH_EP, messages=user("sync")).choices[0])

        out: list = []
        thread = threading.Thread(target=sync_one)
        thread.start()
        started = time.perf_counter()
        results = await asyncio.gather(*(one(i) for i in range(8)))
        elapsed = time.perf_counter() - started
        thread.join(5)
        await client.close()
    finally:
        ark.chunk_interval = 0.0
    assert results == [f"Echo: n{i}" for i in range(8)]
    assert out[0].message.content == "Echo: sync"
    assert elapsed < 8 * 3 * 0.1  # streams were served side by side


# ------------------------------------------------------------------------------------------------
# the Responses API on the wire

RESPONSE_USAGE_KEYS = [
    "input_tokens",
    "input_tokens_details",
    "output_tokens",
    "output_tokens_details",
    "total_tokens",
]
WEATHER_FUNCTION = {"type": "function", **WEATHER["function"]}  # Responses tools are flat


def typed_events(raw: bytes) -> list[dict]:
    """A Responses SSE body: every event is ``event: <type>`` + ``data: <json>`` of that type, no [DONE]."""
    text = raw.decode()
    assert text.endswith("\n\n") and "[DONE]" not in text
    out = []
    for block in text[:-2].split("\n\n"):
        head, data = block.split("\n")
        assert head.startswith("event: ") and data.startswith("data: "), block
        event = json.loads(data[len("data: ") :])
        assert event["type"] == head[len("event: ") :]
        out.append(event)
    return out


def test_responses_wire_format(ark):
    ark.cached_tokens = 2
    try:
        body = {"model": REASONING_EP, "input": "What is tracing?", "instructions": "Be brief."}
        status, headers, resp = post(ark, "/responses", body)
    finally:
        ark.cached_tokens = 0
    assert status == 200
    assert resp["id"] == "resp_" + headers["x-request-id"] and ID_RE.match(resp["id"][5:])
    assert resp["object"] == "response" and resp["status"] == "completed"
    assert resp["model"] == "seed-1-8-251228" and resp["instructions"] == "Be brief."
    reasoning, message = resp["output"]
    assert reasoning["type"] == "reasoning" and reasoning["summary"][0]["text"] == REASONING_TEXT
    assert message["type"] == "message" and message["role"] == "assistant"
    assert message["content"] == [
        {"type": "output_text", "text": "Echo: What is tracing?", "annotations": []}
    ]
    usage = resp["usage"]
    assert list(usage) == RESPONSE_USAGE_KEYS
    prompt = count_tokens("What is tracing?") + count_tokens("Be brief.")
    output = count_tokens(REASONING_TEXT) + count_tokens("Echo: What is tracing?")
    assert usage["input_tokens"] == prompt and usage["input_tokens_details"] == {"cached_tokens": 2}
    assert usage["output_tokens"] == output
    assert usage["output_tokens_details"] == {"reasoning_tokens": count_tokens(REASONING_TEXT)}
    assert usage["total_tokens"] == prompt + output


def test_responses_input_items_and_tools(ark):
    items = [
        {"role": "user", "content": [{"type": "input_text", "text": "Weather in Paris?"}]},
    ]
    resp = post(ark, "/responses", {"model": FLASH_EP, "input": items, "tools": [WEATHER_FUNCTION]})[2]
    (call,) = resp["output"]
    assert call["type"] == "function_call" and call["name"] == "get_weather"
    assert json.loads(call["arguments"]) == {"city": "example"} and call["call_id"].startswith("call_")
    items += [
        {"type": "function_call", "call_id": call["call_id"], "name": "get_weather", "arguments": "{}"},
        {"type": "function_call_output", "call_id": call["call_id"], "output": "Sunny"},
    ]
    resp = post(ark, "/responses", {"model": FLASH_EP, "input": items, "tools": [WEATHER_FUNCTION]})[2]
    assert resp["output"][0]["content"][0]["text"] == "The tool returned: Sunny"

    resp = post(
        ark, "/responses", {"model": FLASH_EP, "input": "tracing news", "tools": [{"type": "web_search"}]}
    )[2]
    search, message = resp["output"]
    assert search["type"] == "web_search_call" and search["action"] == {
        "type": "search",
        "query": "tracing news",
    }
    assert message["content"][0]["text"] == "Echo: tracing news"
    assert resp["usage"]["output_tokens"] == count_tokens("tracing news") + count_tokens("Echo: tracing news")


def test_responses_reasoning_switches_and_max_output_tokens(ark):
    body = {"model": REASONING_EP, "input": "one two three"}
    assert [i["type"] for i in post(ark, "/responses", body)[2]["output"]] == ["reasoning", "message"]
    off = post(ark, "/responses", {**body, "reasoning": {"effort": "minimal"}})[2]
    assert [i["type"] for i in off["output"]] == ["message"]
    off = post(ark, "/responses", {**body, "thinking": {"type": "disabled"}})[2]
    assert off["usage"]["output_tokens_details"]["reasoning_tokens"] == 0
    cut = post(ark, "/responses", {**body, "max_output_tokens": 17})[2]
    assert cut["status"] == "incomplete" and cut["incomplete_details"] == {"reason": "max_output_tokens"}
    assert cut["usage"]["output_tokens"] == 17


def test_responses_stream_events(ark):
    status, headers, raw = call(ark, "/responses", {"model": REASONING_EP, "input": "Hello", "stream": True})
    assert status == 200 and headers["Content-Type"] == "text/event-stream"
    evs = typed_events(raw)
    assert [e["sequence_number"] for e in evs] == list(range(len(evs)))
    assert evs[0]["type"] == "response.created" and evs[0]["response"]["status"] == "in_progress"
    assert evs[0]["response"]["usage"] is None
    reasoning = "".join(e["delta"] for e in evs if e["type"] == "response.reasoning_summary_text.delta")
    text = "".join(e["delta"] for e in evs if e["type"] == "response.output_text.delta")
    assert reasoning == REASONING_TEXT and text == "Echo: Hello"
    done = [e["item"]["type"] for e in evs if e["type"] == "response.output_item.done"]
    assert done == ["reasoning", "message"]
    final = evs[-1]
    assert final["type"] == "response.completed" and final["response"]["id"] == evs[0]["response"]["id"]
    assert final["response"]["usage"]["output_tokens"] == count_tokens(REASONING_TEXT) + 3

    body = {"model": FLASH_EP, "input": "Weather?", "tools": [WEATHER_FUNCTION], "stream": True}
    evs = typed_events(call(ark, "/responses", body)[2])
    args = "".join(e["delta"] for e in evs if e["type"] == "response.function_call_arguments.delta")
    assert args == '{"city":"example"}' and evs[-1]["response"]["output"][0]["arguments"] == args


def test_responses_errors(ark):
    assert post(ark, "/responses", {"model": FLASH_EP})[2]["error"]["code"] == "MissingParameter"
    assert post(ark, "/responses", {"model": FLASH_EP, "input": 3})[0] == 400
    assert post(ark, "/responses", {"model": "ep-error-429", "input": "x"})[0] == 429
    assert post(ark, "/responses", {"model": "ep-error-midstream", "input": "x"})[0] == 500
    ark.fail_mid_stream(after_chunks=4)
    status, headers, raw = call(ark, "/responses", {"model": FLASH_EP, "input": "x", "stream": True})
    evs = typed_events(raw)
    assert status == 200 and len(evs) == 5
    err = evs[-1]
    assert err["type"] == "error" and err["code"] == "InternalServiceError" and err["sequence_number"] == 4
    assert err["message"].endswith("Request id: " + headers["x-request-id"])


@pytest.mark.skipif(not hasattr(openai.OpenAI, "responses"), reason="no Responses API in this openai")
def test_sdk_responses(sdk):
    resp = sdk.responses.create(model=REASONING_EP, input="Hello")
    assert resp.output_text == "Echo: Hello" and resp.usage.output_tokens_details.reasoning_tokens == 15
    evs = list(sdk.responses.create(model=FLASH_EP, input="Hello", stream=True))
    assert (
        type(evs[-1]).__name__ == "ResponseCompletedEvent" and evs[-1].response.output_text == "Echo: Hello"
    )
    with sdk.responses.stream(model=FLASH_EP, input="Hi", tools=[{"type": "web_search"}]) as stream:
        for _ in stream:
            pass
        final = stream.get_final_response()
    assert [i.type for i in final.output] == ["web_search_call", "message"]
    assert sdk.responses.parse(model=FLASH_EP, input="Hi").output_text == "Echo: Hi"


# ------------------------------------------------------------------------------------------------
# timing, lifecycle, robustness, CLI


def test_latency_and_chunk_interval_are_real():
    payload = json.dumps({"model": FLASH_EP, "messages": user("a"), "stream": True}).encode()
    request = (
        b"POST /api/v3/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(payload), payload)
    )
    srv = ModelArkServer(latency=0.05, chunk_interval=0.02)
    with srv, socket.create_connection(("127.0.0.1", srv.port), timeout=10) as sock:
        started = time.perf_counter()
        sock.sendall(request)
        first = sock.recv(65536)
        ttfb = time.perf_counter() - started
        assert first.startswith(b"HTTP/1.1 200 OK\r\n")
        received = first
        # The last chunk is "0" after the body's last CRLF; a header value can end in "0" too (request
        # ids), so the end is looked for past the headers only.
        while not received.partition(b"\r\n\r\n")[2].endswith(b"\r\n0\r\n\r\n"):
            more = sock.recv(65536)
            assert more, "the server closed the connection before the last chunk"
            received += more
        total = time.perf_counter() - started
    assert ttfb >= 0.05  # the configured latency is waited before answering (never early)
    # The server waits between chunks, so the stream cannot end sooner (measured as a whole: a reader
    # descheduled on a loaded machine may receive the chunks in one burst, but never early).
    chunks = received.count(b"data: ")
    assert chunks >= 4
    assert total >= 0.05 + 0.02 * (chunks - 2)


def test_ready_on_start_and_stop_does_not_hang_with_open_connections():
    srv = ModelArkServer()
    srv.start()
    # Ready when start() returns: no wait, no retry.
    socket.create_connection(("127.0.0.1", srv.port), timeout=2).close()
    with pytest.raises(RuntimeError, match="not been started"):
        _ = ModelArkServer().port
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=2)
    for _ in range(2):  # HTTP/1.1 keep-alive: one connection, left open
        conn.request(
            "POST", "/api/v3/chat/completions", json.dumps({"model": FLASH_EP, "messages": user("x")})
        )
        assert conn.getresponse().read()
    idle = socket.create_connection(("127.0.0.1", srv.port), timeout=2)
    time.sleep(0.01)  # let the server accept it
    started = time.perf_counter()
    srv.stop()
    # Without the wake-up, stop() would wait out its 5 s join of the accept loop (and a handler blocked
    # on the idle connection, forever): the bound leaves a loaded machine 4 s of slack, below that.
    assert time.perf_counter() - started < 4
    with idle:
        assert idle.recv(10) == b""  # open connections are cut
    conn.close()
    srv.stop()  # idempotent


def test_client_disconnect_mid_stream_is_quiet(ark, sdk, capfd):
    ark.chunk_interval = 0.01
    try:
        s = sdk.chat.completions.create(model=FLASH_EP, messages=user("a b c d e f g h"), stream=True)
        next(iter(s))
        s.close()
        time.sleep(0.05)
    finally:
        ark.chunk_interval = 0.0
    assert sdk.chat.completions.create(model=FLASH_EP, messages=user("still up")).choices
    assert "Traceback" not in capfd.readouterr().err


def test_keep_alive_reuses_one_connection(sdk, ark):
    for _ in range(3):
        sdk.chat.completions.create(model=FLASH_EP, messages=user("x"))
        list(sdk.chat.completions.create(model=FLASH_EP, messages=user("x"), stream=True))
    assert len(ark.requests) == 6


def test_cli_prints_the_base_url_and_serves():
    root = str(Path(arktrace.testing.__file__).absolute().parents[2])  # where `arktrace` was imported from
    proc = subprocess.Popen(
        [sys.executable, "-m", "arktrace.testing", "--port", "0", "--latency", "0"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": root},
    )
    try:
        line = proc.stdout.readline()
        match = re.fullmatch(r"arktrace\.testing listening on (http://127\.0\.0\.1:(\d+)/api/v3)\n", line)
        assert match, line
        req = urllib.request.Request(
            match.group(1) + "/chat/completions",
            data=json.dumps({"model": FLASH_EP, "messages": user("cli")}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=5) as resp:
            assert json.loads(resp.read())["choices"][0]["message"]["content"] == "Echo: cli"
    finally:
        proc.terminate()
        assert proc.wait(5) == 0


# ------------------------------------------------------------------------------------------------
# the Ark runtime SDKs' context cache and batch paths


def test_context_cache_counts_the_cached_prompt_and_keeps_session_turns(ark):
    system = [{"role": "system", "content": "Answer in one line."}]  # 5 tokens
    status, _, created = post(ark, "/context/create", {"model": FLASH_EP, "messages": system, "ttl": None})
    assert status == 200 and created["id"].startswith("ctx-") and created["mode"] == "session"
    assert created["usage"]["prompt_tokens"] == 5 and created["ttl"] == 86400
    first = post(
        ark,
        "/context/chat/completions",
        {"model": FLASH_EP, "context_id": created["id"], "messages": user("hi")},
    )
    usage = first[2]["usage"]
    assert (usage["prompt_tokens"], usage["prompt_tokens_details"]["cached_tokens"]) == (6, 5)
    second = post(
        ark,
        "/context/chat/completions",
        {"model": FLASH_EP, "context_id": created["id"], "messages": user("hi")},
    )
    cached = second[2]["usage"]["prompt_tokens_details"]["cached_tokens"]
    answer = first[2]["choices"][0]["message"]["content"]
    assert cached == 5 + 1 + count_tokens(answer)  # a session context keeps the turn
    status, _, body = post(
        ark, "/context/chat/completions", {"model": FLASH_EP, "context_id": "ctx-no", "messages": user("x")}
    )
    assert status == 400 and body["error"]["code"] == "InvalidParameter"
    status, _, body = post(ark, "/context/chat/completions", {"model": FLASH_EP, "messages": user("x")})
    assert status == 400 and body["error"]["code"] == "MissingParameter"


def test_batch_paths(ark):
    status, _, body = post(ark, "/batch/chat/completions", {"model": FLASH_EP, "messages": user("hi")})
    assert status == 200 and body["object"] == "chat.completion"
    status, _, body = post(
        ark, "/batch/chat/completions", {"model": FLASH_EP, "messages": user("hi"), "stream": True}
    )
    assert status == 400
    assert post(ark, "/batch/embeddings", {"model": EMBED_EP, "input": "a"})[2]["object"] == "list"
    mm = post(
        ark, "/batch/embeddings/multimodal", {"model": MM_EP, "input": [{"type": "text", "text": "a"}]}
    )[2]
    assert mm["data"]["object"] == "embedding"
