"""GenAI content attributes (``gen_ai.input.messages``, ``…output.messages``, ``…system_instructions``,
``…tool.definitions``) from real calls to the bundled server, validated against the conventions' own
JSON schemas (restated in ``tests/genai_schema.py``, which says where the rules come from), and checked
for what they say."""

from __future__ import annotations

import json

import openai
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

import arktrace
from arktrace._content import fields_of
from arktrace._settings import load_settings
from arktrace.conventions import genai_content
from arktrace.operations import CHAT, RESPONSES, TEXT_COMPLETION
from genai_schema import SCHEMAS
from harness import ENDPOINT

CHAT_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
RESPONSES_TOOL = {"type": "function", **CHAT_TOOL["function"]}
FLASH = "ep-20250101120000-fghij"
PIXEL = "data:image/png;base64," + "iVBORw0KGgo" * 200
needs_responses = pytest.mark.skipif(not hasattr(openai.OpenAI, "responses"), reason="no Responses API")


VALIDATORS = {attribute: Draft202012Validator(schema) for attribute, schema in SCHEMAS.items()}


def genai(span) -> dict:
    """The span's GenAI content attributes, each validated against its schema, parsed."""
    found = {}
    for attribute, validator in VALIDATORS.items():
        if attribute in span.attributes:
            value = json.loads(span.attributes[attribute])
            validator.validate(value)
            found[attribute] = value
    return found


def test_the_schemas_catch_what_the_conventions_forbid():
    text_without_content = [{"role": "user", "parts": [{"type": "text"}]}]
    output_without_reason = [{"role": "assistant", "parts": [{"type": "text", "content": "hi"}]}]
    blob_without_modality = [{"type": "blob", "content": ""}]
    tool_without_name = [{"type": "function"}]
    for attribute, value in (
        ("gen_ai.input.messages", text_without_content),
        ("gen_ai.output.messages", output_without_reason),
        ("gen_ai.system_instructions", blob_without_modality),
        ("gen_ai.tool.definitions", tool_without_name),
    ):
        assert not VALIDATORS[attribute].is_valid(value), attribute
    # A part type the conventions do not define is a generic part: only its type is required.
    assert VALIDATORS["gen_ai.input.messages"].is_valid([{"role": "user", "parts": [{"type": "x-new"}]}])


def test_chat_text_and_finish_reason(client, spans):
    client.chat.completions.create(
        model=ENDPOINT,
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
    )
    g = genai(spans.one())
    assert g["gen_ai.input.messages"] == [
        {"role": "system", "parts": [{"type": "text", "content": "Be brief."}]},
        {"role": "user", "parts": [{"type": "text", "content": "Hi"}]},
    ]
    (out,) = g["gen_ai.output.messages"]
    assert out["role"] == "assistant" and out["finish_reason"] == "stop"
    assert out["parts"][-1] == {"type": "text", "content": "Echo: Hi"}


def test_chat_reasoning_is_a_reasoning_part(client, spans):
    client.chat.completions.create(model=ENDPOINT, messages=[{"role": "user", "content": "What is tracing?"}])
    (out,) = genai(spans.one())["gen_ai.output.messages"]
    assert [p["type"] for p in out["parts"]] == ["reasoning", "text"]
    assert out["parts"][0]["content"]


def test_chat_tools_calls_and_tool_responses(client, spans):
    messages = [{"role": "user", "content": "Weather in Singapore?"}]
    first = client.chat.completions.create(model=ENDPOINT, messages=messages, tools=[CHAT_TOOL])
    call = first.choices[0].message.tool_calls[0]
    g = genai(spans.one())
    assert g["gen_ai.tool.definitions"] == [
        {
            "type": "function",
            "name": "get_weather",
            "description": "Weather for a city",
            "parameters": CHAT_TOOL["function"]["parameters"],
        }
    ]
    (out,) = g["gen_ai.output.messages"]
    assert out["finish_reason"] == "tool_call"
    assert out["parts"][-1] == {
        "type": "tool_call",
        "id": call.id,
        "name": "get_weather",
        "arguments": call.function.arguments,
    }
    spans.clear()

    follow_up = [
        *messages,
        first.choices[0].message,
        {"role": "tool", "tool_call_id": call.id, "content": "31C"},
    ]
    client.chat.completions.create(model=ENDPOINT, messages=follow_up, tools=[CHAT_TOOL])
    inputs = genai(spans.one())["gen_ai.input.messages"]
    assert inputs[1]["role"] == "assistant" and inputs[1]["parts"][-1]["type"] == "tool_call"
    assert inputs[2] == {
        "role": "tool",
        "parts": [{"type": "tool_call_response", "id": call.id, "response": "31C"}],
    }


def test_images_by_url_and_inline_data_never_carry_the_data(client, spans):
    content = [
        {"type": "text", "text": "Compare"},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
        {"type": "image_url", "image_url": {"url": PIXEL}},
    ]
    client.chat.completions.create(model=ENDPOINT, messages=[{"role": "user", "content": content}])
    span = spans.one()
    (message,) = genai(span)["gen_ai.input.messages"]
    assert message["parts"] == [
        {"type": "text", "content": "Compare"},
        {"type": "uri", "modality": "image", "uri": "https://example.com/cat.png"},
        {"type": "blob", "modality": "image", "mime_type": "image/png", "content": ""},
    ]
    assert "iVBORw0KGgo" not in span.attributes["gen_ai.input.messages"]


def test_streamed_chat(client, spans):
    stream = client.chat.completions.create(
        model=ENDPOINT, messages=[{"role": "user", "content": "Hi"}], stream=True
    )
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    span = spans.one()
    ttft = span.attributes["gen_ai.response.time_to_first_chunk"]
    assert span.attributes["gen_ai.server.ttft"] == ttft > 0
    (out,) = genai(span)["gen_ai.output.messages"]
    assert out["finish_reason"] == "stop"
    assert out["parts"][-1] == {"type": "text", "content": text}


def test_stream_closed_early_says_it_did_not_finish(client, spans):
    stream = client.chat.completions.create(
        model=ENDPOINT, messages=[{"role": "user", "content": "Hi there, a long question"}], stream=True
    )
    next(iter(stream))
    next(iter(stream))
    stream.close()
    (out,) = genai(spans.one())["gen_ai.output.messages"]
    assert out["finish_reason"] == genai_content.UNFINISHED


def test_legacy_completion(client, spans):
    response = client.completions.create(model=FLASH, prompt="Once upon a time", max_tokens=5)
    g = genai(spans.one())
    assert g["gen_ai.input.messages"] == [
        {"role": "user", "parts": [{"type": "text", "content": "Once upon a time"}]}
    ]
    (out,) = g["gen_ai.output.messages"]
    assert out["parts"] == [{"type": "text", "content": response.choices[0].text}]
    assert out["finish_reason"] == response.choices[0].finish_reason


async def test_legacy_completion_stream(aclient, spans):
    stream = await aclient.completions.create(model=FLASH, prompt="Once", stream=True)
    text = "".join([c.choices[0].text async for c in stream if c.choices])
    (out,) = genai(spans.one())["gen_ai.output.messages"]
    assert out["parts"] == [{"type": "text", "content": text}]


@needs_responses
def test_responses_instructions_input_tools_and_output(client, spans):
    client.responses.create(
        model=ENDPOINT, instructions="Answer briefly.", input="Weather?", tools=[RESPONSES_TOOL]
    )
    g = genai(spans.one())
    assert g["gen_ai.system_instructions"] == [{"type": "text", "content": "Answer briefly."}]
    assert g["gen_ai.input.messages"] == [
        {"role": "user", "parts": [{"type": "text", "content": "Weather?"}]}
    ]
    assert g["gen_ai.tool.definitions"][0]["name"] == "get_weather"
    (out,) = g["gen_ai.output.messages"]
    assert out["finish_reason"] == "tool_call" and out["parts"][-1]["type"] == "tool_call"


@needs_responses
def test_responses_items_reasoning_and_function_outputs(client, spans):
    first = client.responses.create(model=ENDPOINT, input="What is tracing?")
    g = genai(spans.one())
    (out,) = g["gen_ai.output.messages"]
    assert [p["type"] for p in out["parts"]] == ["reasoning", "text"] and out["finish_reason"] == "stop"
    spans.clear()
    items = [
        {
            "role": "user",
            "content": [{"type": "input_text", "text": "Look"}, {"type": "input_image", "image_url": PIXEL}],
        },
        {"type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": '{"city":"SG"}'},
        {"type": "function_call_output", "call_id": "call_1", "output": "31C"},
    ]
    client.responses.create(model=ENDPOINT, input=items)
    inputs = genai(spans.one())["gen_ai.input.messages"]
    assert inputs[0]["parts"][1] == {
        "type": "blob",
        "modality": "image",
        "mime_type": "image/png",
        "content": "",
    }
    assert inputs[1]["parts"] == [
        {"type": "tool_call", "id": "call_1", "name": "get_weather", "arguments": '{"city":"SG"}'}
    ]
    assert inputs[2] == {
        "role": "tool",
        "parts": [{"type": "tool_call_response", "id": "call_1", "response": "31C"}],
    }
    assert first.output_text


@needs_responses
def test_responses_stream_and_builtin_tools(client, spans):
    list(client.responses.create(model=FLASH, input="news", tools=[{"type": "web_search"}], stream=True))
    g = genai(spans.one())
    assert g["gen_ai.tool.definitions"] == [{"type": "web_search", "name": "web_search"}]
    (out,) = g["gen_ai.output.messages"]
    assert "server_tool_call" in [p["type"] for p in out["parts"]]


def test_long_content_stays_valid_json_within_the_limit():
    limit = 500
    messages = [{"role": "user", "content": f"message {i} " + "x" * 100} for i in range(50)]
    attrs = genai_content.chat_request({"messages": messages}, limit)
    value = attrs["gen_ai.input.messages"]
    assert len(value) <= limit
    kept = json.loads(value)
    VALIDATORS["gen_ai.input.messages"].validate(kept)
    assert kept[-1]["parts"][0]["content"].startswith("message 49 ")  # the newest are kept
    huge = genai_content.chat_request({"messages": [{"role": "user", "content": "y" * 10_000}]}, limit)
    assert len(huge["gen_ai.input.messages"]) <= limit
    VALIDATORS["gen_ai.input.messages"].validate(json.loads(huge["gen_ai.input.messages"]))


@pytest.mark.parametrize(
    "conventions,genai_names,openinference_names",
    [("both", True, True), ("genai", True, False), ("openinference", False, True)],
)
def test_the_conventions_setting_picks_the_content_attributes(
    client, provider, spans, conventions, genai_names, openinference_names
):
    arktrace.uninstrument()
    arktrace.instrument(tracer_provider=provider, conventions=conventions)
    client.chat.completions.create(
        model=ENDPOINT, messages=[{"role": "user", "content": "Hi"}], tools=[CHAT_TOOL]
    )
    a = spans.one().attributes
    assert ("gen_ai.input.messages" in a) is genai_names
    assert ("gen_ai.output.messages" in a) is genai_names
    assert ("gen_ai.tool.definitions" in a) is genai_names
    assert ("input.value" in a) is openinference_names
    assert ("llm.output_messages.0.message.role" in a) is openinference_names
    assert a["gen_ai.usage.input_tokens"] and a["llm.token_count.prompt"]  # tokens in both, always


def test_capture_off_writes_no_genai_content(client, provider, spans):
    arktrace.uninstrument()
    arktrace.instrument(tracer_provider=provider, capture_content=False)
    client.chat.completions.create(
        model=ENDPOINT, messages=[{"role": "user", "content": "secret"}], tools=[CHAT_TOOL]
    )
    a = spans.one().attributes
    assert not [name for name in a if name in SCHEMAS]


def test_event_only_writes_no_content_on_the_span():
    assert load_settings({}, capture_content="EVENT_ONLY").capture_content is False


@pytest.mark.parametrize("mode,on_span", [("EVENT_ONLY", False), ("SPAN_AND_EVENT", True)])
def test_event_modes_emit_the_operation_details_event(client, provider, spans, monkeypatch, mode, on_span):
    from opentelemetry.sdk._logs import LoggerProvider, export

    # The newer name where the SDK has it; the older one is deprecated there.
    InMemoryLogExporter = getattr(export, "InMemoryLogRecordExporter", None) or export.InMemoryLogExporter
    SimpleLogRecordProcessor = export.SimpleLogRecordProcessor

    from arktrace import _events

    logs = InMemoryLogExporter()
    logger_provider = LoggerProvider()
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(logs))
    monkeypatch.setattr(_events, "_logger", logger_provider.get_logger("arktrace"))
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", mode)
    arktrace.uninstrument()
    arktrace.instrument(tracer_provider=provider)
    monkeypatch.setattr(_events, "_logger", logger_provider.get_logger("arktrace"))
    client.chat.completions.create(model=ENDPOINT, messages=[{"role": "user", "content": "Hi"}])
    span = spans.one()
    (log,) = logs.get_finished_logs()
    record = log.log_record
    assert getattr(record, "event_name", None) or record.attributes["event.name"] == _events.EVENT_NAME
    assert record.span_id == span.context.span_id and record.trace_id == span.context.trace_id
    event = dict(record.attributes)
    assert event["gen_ai.operation.name"] == "chat" and event["gen_ai.usage.input_tokens"] > 0
    VALIDATORS["gen_ai.input.messages"].validate(json.loads(event["gen_ai.input.messages"]))
    (out,) = json.loads(event["gen_ai.output.messages"])
    assert out["parts"][-1] == {"type": "text", "content": "Echo: Hi"}
    assert ("gen_ai.input.messages" in span.attributes) is on_span
    assert ("input.value" in span.attributes) is on_span


def test_no_event_without_an_event_mode(client, spans, monkeypatch):
    from arktrace import _events

    monkeypatch.setattr(_events, "emit", lambda *a: pytest.fail("an event was emitted"))
    client.chat.completions.create(model=ENDPOINT, messages=[{"role": "user", "content": "Hi"}])
    spans.one()


_KEYS = [
    "role",
    "content",
    "type",
    "text",
    "image_url",
    "url",
    "tool_calls",
    "function",
    "name",
    "arguments",
    "tool_call_id",
    "reasoning_content",
    "choices",
    "message",
    "finish_reason",
    "output",
    "summary",
    "status",
    "call_id",
    "parameters",
    "description",
    "instructions",
    "input",
    "messages",
    "tools",
    "prompt",
]
_WORDS = [
    "text",
    "image_url",
    "tool",
    "function",
    "message",
    "reasoning",
    "function_call",
    "data:image/png;base64,AA",
]
_JUNK = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8) | st.sampled_from(_WORDS),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(_KEYS), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(request=st.dictionaries(st.sampled_from(_KEYS), _JUNK, max_size=5), response=_JUNK)
def test_any_request_or_response_shape_gives_schema_valid_content_or_none(request, response):
    for op in (CHAT, TEXT_COMPLETION, RESPONSES):
        attrs = op.genai_request(request, 200)
        attrs.update(op.genai_response(fields_of(response), 200))
        for name, value in attrs.items():
            assert len(value) <= 200
            VALIDATORS[name].validate(json.loads(value))


def test_malformed_lists_and_tools_are_skipped_not_raised():
    from types import SimpleNamespace

    response = {
        "status": "completed",
        "output": [{"type": "reasoning", "summary": 5}, {"type": "message", "content": 3}],
    }
    assert genai_content.responses_response(response, 1000) == {}
    assert genai_content.responses_response({"output": 7}, 1000) == {}
    tools = [SimpleNamespace(type="function", name="f"), {"type": "function", "function": None, "name": "g"}]
    (definitions,) = genai_content.chat_request({"tools": tools}, 1000).values()
    assert [d["name"] for d in json.loads(definitions)] == ["f", "g"]
