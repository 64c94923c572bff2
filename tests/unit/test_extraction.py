"""Pure extraction, table-tested without HTTP: usage layouts, providers, settings, messages."""

from __future__ import annotations

import pytest
from openai.types.chat import ChatCompletionChunk
from openai.types.completion_usage import CompletionUsage

from arktrace import ConfigError
from arktrace._endpoint import endpoint_for
from arktrace._settings import load_settings
from arktrace.operations._common import message_attributes, usage_attributes
from arktrace.operations.chat import ChatStreamState

MODELARK = {
    "completion_tokens": 153,
    "prompt_tokens": 102,
    "total_tokens": 255,
    "prompt_tokens_details": {"cached_tokens": 40},
    "completion_tokens_details": {"reasoning_tokens": 146},
}
MOONSHOT = {"prompt_tokens": 90, "completion_tokens": 10, "total_tokens": 100, "cached_tokens": 64}
DEEPSEEK = {
    "prompt_tokens": 90,
    "completion_tokens": 10,
    "total_tokens": 100,
    "prompt_cache_hit_tokens": 80,
    "prompt_cache_miss_tokens": 10,
}
QWEN = {
    "prompt_tokens": 90,
    "completion_tokens": 10,
    "total_tokens": 100,
    "prompt_tokens_details": {"cached_tokens": 0, "cache_creation_input_tokens": 70},
}


USAGE_CASES = [
    (MODELARK, {"input": 102, "output": 153, "total": 255, "cache_read": 40, "reasoning": 146}),
    (MOONSHOT, {"input": 90, "output": 10, "total": 100, "cache_read": 64}),
    (DEEPSEEK, {"input": 90, "output": 10, "total": 100, "cache_read": 80}),
    (QWEN, {"input": 90, "output": 10, "total": 100, "cache_read": 0, "cache_write": 70}),
    ({"prompt_tokens": 7, "total_tokens": 7}, {"input": 7, "total": 7}),  # embeddings
    ({}, {}),
]


@pytest.mark.parametrize(
    ("usage", "expected", "as_model"),
    # as plain dicts (raw bodies, Ark SDK usage) and, for chat usage, as the SDK's own model
    [(u, e, False) for u, e in USAGE_CASES]
    + [(u, e, True) for u, e in USAGE_CASES if "completion_tokens" in u],
)
def test_usage_layouts(usage, expected, as_model):
    value = CompletionUsage.model_validate(usage) if as_model else usage
    attrs = usage_attributes(value)
    names = {
        "input": ("gen_ai.usage.input_tokens", "llm.token_count.prompt"),
        "output": ("gen_ai.usage.output_tokens", "llm.token_count.completion"),
        "total": ("gen_ai.usage.total_tokens", "llm.token_count.total"),
        "cache_read": ("gen_ai.usage.cache_read.input_tokens", "llm.token_count.prompt_details.cache_read"),
        "cache_write": (
            "gen_ai.usage.cache_creation.input_tokens",
            "llm.token_count.prompt_details.cache_write",
        ),
        "reasoning": (
            "gen_ai.usage.reasoning.output_tokens",
            "llm.token_count.completion_details.reasoning",
        ),
    }
    want = {key: expected[short] for short, keys in names.items() if short in expected for key in keys}
    assert attrs == want


@pytest.mark.parametrize(
    ("url", "provider", "usage_ok"),
    [
        ("https://ark.ap-southeast.bytepluses.com/api/v3", "byteplus", True),
        ("https://ark.eu-west.bytepluses.com/api/v3/", "byteplus", True),
        ("https://ark.cn-beijing.volces.com/api/v3", "volcengine", True),
        ("https://api.openai.com/v1", "openai", True),
        ("https://api.deepseek.com", "deepseek", True),
        ("https://api.moonshot.ai/v1", "moonshot_ai", True),
        ("https://api.moonshot.cn/v1", "moonshot_ai", True),
        ("https://dashscope-intl.aliyuncs.com/compatible-mode/v1", "dashscope", True),
        ("http://127.0.0.1:8080/api/v3", "127.0.0.1", False),
        ("https://llm.internal.example:8443/v1", "llm.internal.example", False),
        ("https://notbytepluses.com/api/v3", "notbytepluses.com", False),
    ],
)
def test_provider_from_base_url(url, provider, usage_ok):
    endpoint = endpoint_for(url)
    assert endpoint.provider == provider
    assert endpoint.accepts_stream_usage is usage_ok
    assert endpoint.port == (8080 if ":8080" in url else 8443 if ":8443" in url else 443)


def test_settings_errors_name_the_variable():
    with pytest.raises(ConfigError, match=r"ARKTRACE_MAX_VALUE_LENGTH='ten'"):
        load_settings({"ARKTRACE_MAX_VALUE_LENGTH": "ten"})
    with pytest.raises(ConfigError, match=r"ARKTRACE_STREAM_USAGE='sometimes'.*auto, always or never"):
        load_settings({"ARKTRACE_STREAM_USAGE": "sometimes"})
    assert load_settings({"ARKTRACE_STREAM_USAGE": "false"}).stream_usage == "never"
    assert load_settings({}).capture_content is True
    both = {"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "false", "ARKTRACE_CAPTURE_CONTENT": "true"}
    assert load_settings(both).capture_content is True


def test_message_budget_keeps_the_newest_whole_messages():
    messages = [{"role": "user", "content": f"m{i}"} for i in range(10)]
    attrs = message_attributes("llm.input_messages", messages, budget=5, limit=1000)
    assert attrs == {
        "llm.input_messages.8.message.role": "user",
        "llm.input_messages.8.message.content": "m8",
        "llm.input_messages.9.message.role": "user",
        "llm.input_messages.9.message.content": "m9",
    }


def _chunk(delta, finish=None, usage=None, choices=True):
    body = {"id": "0217x", "model": "seed-1-8-251228", "created": 1, "object": "chat.completion.chunk"}
    body["choices"] = [{"index": 0, "delta": delta, "finish_reason": finish}] if choices else []
    body["usage"] = usage
    return ChatCompletionChunk.model_validate(body)


def test_stream_state_rebuilds_the_response():
    state = ChatStreamState(10_000)
    state.record(_chunk({"role": "assistant", "content": "", "reasoning_content": "think"}))
    first = state.first_output_at
    assert first is not None
    for piece in ("Hel", "lo"):
        state.record(_chunk({"role": "assistant", "content": piece}))
    state.record(
        _chunk({"tool_calls": [{"index": 0, "id": "c1", "function": {"name": "f", "arguments": "{"}}]})
    )
    state.record(_chunk({"tool_calls": [{"index": 0, "function": {"arguments": "}"}}]}, finish="tool_calls"))
    state.record(_chunk({}, usage=MODELARK, choices=False))
    assert state.first_output_at == first
    response = state.as_response()
    assert response["choices"] == [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "Hello",
                "reasoning_content": "think",
                "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
                ],
            },
            "finish_reason": "tool_calls",
        }
    ]
    assert response["usage"]["completion_tokens_details"] == {"reasoning_tokens": 146}


def test_moonshot_usage_inside_the_finish_choice():
    state = ChatStreamState(10_000)
    chunk = ChatCompletionChunk.model_validate(
        {
            "id": "x",
            "model": "kimi-k2-250711",
            "created": 1,
            "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": {}, "finish_reason": "stop", "usage": MOONSHOT}],
        }
    )
    state.record(chunk)
    assert usage_attributes(state.as_response()["usage"])["gen_ai.usage.cache_read.input_tokens"] == 64


class _CarefulOnly(ChatStreamState):
    __slots__ = ()

    def record(self, chunk):
        if self.response_id is None:
            self._head(chunk)
        return self._record_carefully(chunk)


def _fold(state_class, chunks, limit: int):
    state = state_class(limit)
    carried_usage = [state.record(chunk) for chunk in chunks]
    return state.as_response(), state.output_chunks, carried_usage


class _Counting(ChatStreamState):
    __slots__ = ()
    careful = 0

    def _record_carefully(self, chunk):
        type(self).careful += 1
        return super()._record_carefully(chunk)


@pytest.mark.parametrize("limit", [10_000, 12])
def test_the_fast_path_folds_exactly_like_the_careful_one(limit):
    # record() reads the common chunk straight from the models' __dict__ and leaves every other
    # chunk to _record_carefully(); the two must agree on everything, including the cut at `limit`.
    chunks = [_chunk({"role": "assistant", "content": ""})]
    chunks += [_chunk({"content": f"word{i} "}) for i in range(6)]
    chunks += [_chunk({"content": None, "reasoning_content": "hmm "}) for _ in range(2)]
    chunks += [_chunk({"content": "and ", "reasoning_content": "so "})]
    chunks += [_chunk({"content": "done"}, finish="stop"), _chunk({}, usage=MODELARK, choices=False)]
    _Counting.careful = 0
    fast = _fold(_Counting, chunks, limit)
    assert _Counting.careful == 3  # the first chunk (no state yet), the finish, the usage
    careful = _fold(_CarefulOnly, chunks, limit)
    assert fast == careful
    response, produced, carried_usage = fast
    assert produced == 10 and carried_usage == [False] * 11 + [True]
    assert response["choices"][0]["message"]["reasoning_content"].startswith("hmm hmm so")
