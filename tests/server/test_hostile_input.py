"""Hostile responses: whatever a provider answers, arktrace never raises into the caller, the caller gets
exactly what it gets without arktrace, and the span it writes can be exported.

Two levels. Pure: generated malformed bodies and chunk sequences go straight into the extractors and the
stream states, as dicts and as the SDK models the SDK builds from them without validation. End to end:
the bundled server sends such a body (or SSE stream) to the real openai SDK, once with arktrace and once
without, and the two results (or exceptions) are compared.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import openai
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openai.types import Completion
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

import arktrace
from arktrace import _faults
from arktrace._extract import response_attributes
from arktrace._settings import Settings
from arktrace.operations import CHAT, EMBEDDINGS, TEXT_COMPLETION
from arktrace.operations._common import usage_attributes
from arktrace.operations.chat import ChatStreamState
from arktrace.operations.completions import CompletionStreamState

try:  # how the SDK turns a body into a model: recursively, without validation
    from openai._models import construct_type
except ImportError:  # pragma: no cover
    construct_type = None

# Fixed examples so that a failure in CI reproduces; few of them, the suite runs three times.
PURE = settings(max_examples=80, derandomize=True, deadline=None, database=None)
WIRE = settings(
    max_examples=15,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# ------------------------------------------------------------------------------------------ strategies

# Text as JSON can hold it: any code point, lone surrogates included (a "\ud800" escape decodes to one).
any_text = st.text(st.characters(exclude_categories=()), max_size=12)
# JSON numbers a provider may send: huge integers, and floats Python's json accepts (NaN, Infinity).
numbers = st.one_of(
    st.integers(),
    st.integers(min_value=2**62, max_value=2**80),
    st.floats(allow_nan=True, allow_infinity=True),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, any_text)
anything = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(any_text, inner, max_size=3)),
    max_leaves=8,
)


def field(good: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly a plausible value, sometimes anything at all."""
    return st.one_of(good, good, anything)


def shape(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """A JSON object in which every field may be missing, null, plausible or of any other type."""
    return st.fixed_dictionaries({}, optional={k: field(v) for k, v in fields.items()})


short = st.text(max_size=8)
counts = st.integers(min_value=-5, max_value=2**64)
usage = shape(
    prompt_tokens=counts,
    completion_tokens=counts,
    total_tokens=counts,
    prompt_tokens_details=shape(cached_tokens=counts, cache_creation_input_tokens=counts),
    completion_tokens_details=shape(reasoning_tokens=counts),
    prompt_cache_hit_tokens=counts,
)
function = shape(name=short, arguments=any_text)
tool_call = shape(index=st.integers(-1, 3), id=short, type=st.just("function"), function=function)
part = st.one_of(
    shape(type=st.just("text"), text=any_text),
    shape(
        type=st.just("image_url"), image_url=shape(url=st.sampled_from(["data:image/png;base64,AAAA", "x"]))
    ),
)
message = shape(
    role=st.sampled_from(["assistant", "user", "tool"]),
    content=st.one_of(any_text, st.lists(part, max_size=2)),
    reasoning_content=any_text,
    tool_calls=st.lists(tool_call, max_size=2),
    name=short,
    tool_call_id=short,
)
finish = st.sampled_from(["stop", "length", "tool_calls", "content_filter"])
head = {"id": short, "model": short, "created": numbers, "service_tier": short, "object": short}
chat_choice = shape(index=st.integers(0, 2), message=message, finish_reason=finish, usage=usage)
chat_body = shape(**head, choices=st.lists(chat_choice, max_size=3), usage=usage)
text_choice = shape(index=st.integers(0, 2), text=any_text, finish_reason=finish, logprobs=st.none())
completion_body = shape(**head, choices=st.lists(text_choice, max_size=3), usage=usage)
delta = shape(
    role=st.sampled_from(["assistant", None]),
    content=any_text,
    reasoning_content=any_text,
    tool_calls=st.lists(tool_call, max_size=2),  # fragments with or without ids, in any order
)
chunk_choice = shape(index=st.integers(0, 2), delta=delta, finish_reason=finish, usage=usage)
chat_chunks = st.lists(shape(**head, choices=st.lists(chunk_choice, max_size=2), usage=usage), max_size=6)
completion_chunks = st.lists(completion_body, max_size=6)


def as_models(data: Any, model: type) -> list[Any]:
    """``data`` as the stream states and extractors may see it: the dict itself, the SDK's recursive
    unvalidated construction (how real bodies reach us), and pydantic's shallow ``model_construct``."""
    views: list[Any] = [data]
    if isinstance(data, dict) and all(isinstance(k, str) for k in data):
        if construct_type is not None:
            views.append(construct_type(type_=model, value=data))
        views.append(model.model_construct(**data))
    return views


# ------------------------------------------------------------------------------------------ checks

SETTINGS = Settings(max_value_length=64, max_message_attributes=16)


def assert_valid_attributes(attrs: dict[str, Any]) -> None:
    """Every value is of a type an OTel attribute may have, and integers fit OTLP's 64 bits."""
    for key, value in attrs.items():
        assert isinstance(key, str)
        values = value if isinstance(value, tuple) else (value,)
        assert isinstance(value, (str, bool, int, float, tuple)), (key, value)
        assert len({type(v) for v in values}) <= 1, (key, value)
        for item in values:
            assert isinstance(item, (str, bool, int, float)), (key, value)
            if type(item) is int:
                assert -(2**63) <= item < 2**63, (key, value)
            if isinstance(item, str) and not key.startswith(("output.", "llm.output_messages")):
                assert len(item) <= SETTINGS.max_value_length + 64, (key, len(item))


@PURE
@given(body=chat_body)
def test_chat_response_extraction_never_raises(body: dict[str, Any]) -> None:
    for response in as_models(body, ChatCompletion):
        assert_valid_attributes(response_attributes(CHAT, response, SETTINGS))


@PURE
@given(body=completion_body)
def test_completion_and_embeddings_extraction_never_raises(body: dict[str, Any]) -> None:
    for response in as_models(body, Completion):
        assert_valid_attributes(response_attributes(TEXT_COMPLETION, response, SETTINGS))
        assert_valid_attributes(response_attributes(EMBEDDINGS, response, SETTINGS))


@PURE
@given(raw=st.one_of(usage, anything))
def test_usage_extraction_keeps_only_counts(raw: Any) -> None:
    attrs = usage_attributes(raw)
    assert_valid_attributes(attrs)
    assert all(type(v) is int and v >= 0 for v in attrs.values())


@PURE
@given(chunks=chat_chunks)
def test_chat_stream_state_folds_any_chunks(chunks: list[dict[str, Any]]) -> None:
    for view in range(3):
        state = ChatStreamState(SETTINGS.max_value_length)
        for chunk in chunks:
            models = as_models(chunk, ChatCompletionChunk)
            state.record(models[view % len(models)])
        assert_valid_attributes(response_attributes(CHAT, state.as_response(), SETTINGS))


@PURE
@given(chunks=completion_chunks)
def test_completion_stream_state_folds_any_chunks(chunks: list[dict[str, Any]]) -> None:
    for view in range(3):
        state = CompletionStreamState(SETTINGS.max_value_length)
        for chunk in chunks:
            models = as_models(chunk, Completion)
            state.record(models[view % len(models)])
        assert_valid_attributes(response_attributes(TEXT_COMPLETION, state.as_response(), SETTINGS))


# ------------------------------------------------------------------------------------------ end to end

MESSAGES = [{"role": "user", "content": "hi"}]


def outcome(run: Any) -> tuple[str, Any]:
    """What the caller sees: the result as data, or the exception's type and message."""
    try:
        result = run()
        if isinstance(result, openai.Stream):
            return "stream", [comparable(chunk.model_dump(warnings=False)) for chunk in result]
        return type(result).__name__, comparable(result.model_dump(warnings=False))
    except Exception as error:
        return "raised", (type(error).__name__, str(error))


def comparable(value: Any) -> Any:
    """NaN is never equal to itself: compare it by name."""
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    if isinstance(value, dict):
        return {k: comparable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [comparable(v) for v in value]
    return value


class _Faults(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def compare(server: Any, client: openai.OpenAI, send: Any, run: Any, spans: Any) -> Any:
    """Run the same scripted answer without and with arktrace; same outcome, no internal fault, and a
    span that OTLP can encode. Returns the span."""
    arktrace.uninstrument()
    send()
    plain = outcome(run)
    faults = _Faults()
    logger = logging.getLogger("arktrace")
    logger.addHandler(faults)
    _faults.forget()  # each place reports once per process: make every fault visible in every example
    spans.clear()  # what an earlier failing example left
    arktrace.instrument(tracer_provider=spans.provider, stream_usage="never")
    try:
        send()
        observed = outcome(run)
    finally:
        arktrace.uninstrument()
        logger.removeHandler(faults)
    assert observed == plain
    span = spans.one()
    spans.clear()
    # A malformed answer is the provider's fault, not arktrace's: nothing is reported, nothing is lost.
    assert faults.messages == []
    encode_spans([span]).SerializeToString()  # the exporter would send it: no value OTLP cannot carry
    return span


json_bodies = st.one_of(chat_body, anything)


@WIRE
@given(body=json_bodies)
def test_malformed_body_reaches_the_caller_unchanged(server: Any, client: Any, spans: Any, body: Any) -> None:
    compare(
        server,
        client,
        lambda: server.send_next(body),
        lambda: client.chat.completions.create(model="m", messages=MESSAGES),
        spans,
    )


@WIRE
@given(chunks=chat_chunks, done=st.booleans())
def test_malformed_chat_stream_reaches_the_caller_unchanged(
    server: Any, client: Any, spans: Any, chunks: list[Any], done: bool
) -> None:
    events = [openai_json(c) for c in chunks]
    compare(
        server,
        client,
        lambda: server.send_next(events=events, done=done),
        lambda: client.chat.completions.create(model="m", messages=MESSAGES, stream=True),
        spans,
    )


@WIRE
@given(chunks=completion_chunks)
def test_malformed_completion_stream_reaches_the_caller_unchanged(
    server: Any, client: Any, spans: Any, chunks: list[Any]
) -> None:
    events = [openai_json(c) for c in chunks]
    compare(
        server,
        client,
        lambda: server.send_next(events=events),
        lambda: client.completions.create(model="m", prompt="hi", stream=True),
        spans,
    )


RAW_EVENTS = [
    pytest.param([b'{"id":"a","choices":[{"index":0,"delta":{"content":"caf\xe9"}}]}'], id="latin-1 byte"),
    pytest.param([b'{"id":"a","choices":[{"index":0,"delta":{"content":"\xff\xfe"}}]}'], id="invalid utf-8"),
    pytest.param([b'{"id":"a","choices":[{"index":0,"delta":{"content":"\\ud800"}}]}'], id="lone surrogate"),
    pytest.param(
        [b'{"id":"a","choices":[{"index":0,"delta":{"content":"ok"}}]}', b"{not json"], id="bad json"
    ),
    pytest.param([b'{"id":"a","choices":[{"index":0,"delta":{"content":"\xe4\xbd"}}]}'], id="cut code point"),
]


@pytest.mark.parametrize("events", RAW_EVENTS)
def test_non_utf8_stream_bytes_fail_or_pass_exactly_as_without_arktrace(
    server: Any, client: Any, spans: Any, events: list[bytes]
) -> None:
    compare(
        server,
        client,
        lambda: server.send_next(events=events),
        lambda: client.chat.completions.create(model="m", messages=MESSAGES, stream=True),
        spans,
    )


def test_lone_surrogates_and_huge_numbers_still_export(server: Any, client: Any, spans: Any) -> None:
    """The values that broke the OTLP encoder (and with it every span of the batch) are repaired."""
    body = {
        "id": "bad\ud800id",
        "model": "m\udfff",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "x\ud800"}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 2**70, "completion_tokens": 3},
    }
    span = compare(
        server,
        client,
        lambda: server.send_next(body),
        lambda: client.chat.completions.create(model="m", messages=MESSAGES),
        spans,
    )
    attrs = span.attributes
    assert attrs["gen_ai.response.id"] == "bad?id"
    assert attrs["gen_ai.response.model"] == "m?"
    assert attrs["llm.output_messages.0.message.content"] == "x?"
    assert attrs["gen_ai.usage.output_tokens"] == 3
    assert "gen_ai.usage.input_tokens" not in attrs  # no count a 64-bit integer can hold
    assert "output.value" in attrs


def openai_json(value: Any) -> bytes:
    """JSON as a provider sends it: NaN and Infinity as Python writes them, surrogates escaped."""
    import json

    return json.dumps(value).encode()
