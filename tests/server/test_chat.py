"""Non-streamed chat calls: the exact span a ModelArk call produces, over real HTTP."""

from __future__ import annotations

import copy
import json

import openai
import pytest
from opentelemetry import context as otel_context
from opentelemetry.trace import SpanKind, StatusCode

from harness import ENDPOINT, RESOLVED

QUESTION = [{"role": "user", "content": "What is distributed tracing?"}]
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def test_reasoning_call_with_cached_tokens_has_exact_attributes(client, server, spans):
    server.cached_tokens = 3
    response = client.chat.completions.create(model=ENDPOINT, messages=QUESTION, max_tokens=256)

    span = spans.one()
    a = dict(span.attributes)
    assert span.name == f"chat {ENDPOINT}"
    assert span.kind is SpanKind.CLIENT
    assert span.status.status_code is StatusCode.OK
    assert span.instrumentation_scope.name == "arktrace"
    # what was sent vs what served it
    assert a["gen_ai.request.model"] == ENDPOINT
    assert a["gen_ai.response.model"] == RESOLVED == response.model
    assert a["llm.model_name"] == RESOLVED
    assert json.loads(a["llm.invocation_parameters"]) == {"model": ENDPOINT, "max_tokens": 256}
    assert a["gen_ai.request.max_tokens"] == 256
    # identity of the response
    assert a["gen_ai.response.id"] == response.id and len(response.id) == 53
    assert a["gen_ai.response.finish_reasons"] == ("stop",)
    assert a["openai.response.service_tier"] == "default"
    # tokens: "What is distributed tracing?" = 5; reasoning = 15; "Echo: What is distributed tracing?" = 7
    expected_tokens = {
        "gen_ai.usage.input_tokens": 5,
        "gen_ai.usage.output_tokens": 22,
        "gen_ai.usage.total_tokens": 27,
        "gen_ai.usage.cache_read.input_tokens": 3,
        "gen_ai.usage.reasoning.output_tokens": 15,
        "llm.token_count.prompt": 5,
        "llm.token_count.completion": 22,
        "llm.token_count.total": 27,
        "llm.token_count.prompt_details.cache_read": 3,
        "llm.token_count.completion_details.reasoning": 15,
    }
    assert {k: a.get(k) for k in expected_tokens} == expected_tokens
    assert response.usage.completion_tokens == 22
    assert "gen_ai.usage.cache_creation.input_tokens" not in a  # never reported, never invented
    # where and who
    assert a["gen_ai.operation.name"] == "chat"
    assert a["openinference.span.kind"] == "LLM"
    assert a["gen_ai.provider.name"] == a["llm.provider"] == "127.0.0.1"
    assert a["llm.system"] == "openai"
    assert a["server.address"] == "127.0.0.1" and a["server.port"] == server.port
    # content, both as JSON and as indexed messages
    assert json.loads(a["input.value"]) == {"model": ENDPOINT, "messages": QUESTION, "max_tokens": 256}
    assert a["input.mime_type"] == "application/json"
    assert a["llm.input_messages.0.message.role"] == "user"
    assert a["llm.input_messages.0.message.content"] == "What is distributed tracing?"
    output = json.loads(a["output.value"])
    assert (
        output["choices"][0]["message"]["reasoning_content"] == response.choices[0].message.reasoning_content
    )
    assert a["output.mime_type"] == "application/json"
    assert a["llm.output_messages.0.message.role"] == "assistant"
    assert a["llm.output_messages.0.message.content"] == "Echo: What is distributed tracing?"
    # request parameters the caller did not set are absent, not defaulted
    for key in ("temperature", "top_p", "seed", "frequency_penalty", "presence_penalty", "stream"):
        assert f"gen_ai.request.{key}" not in a


def test_request_parameters_are_recorded_only_as_set(client, spans):
    client.chat.completions.create(
        model=ENDPOINT,
        messages=QUESTION,
        temperature=0.2,
        top_p=0.9,
        seed=7,
        stop=["\n\n"],
        presence_penalty=0.5,
        frequency_penalty=0.1,
        response_format={"type": "json_object"},
        # max_completion_tokens is not a keyword of the oldest supported SDK: send it as a body field
        extra_body={"thinking": {"type": "disabled"}, "max_completion_tokens": 100},
    )
    a = spans.one().attributes
    assert a["gen_ai.request.temperature"] == 0.2
    assert a["gen_ai.request.top_p"] == 0.9
    assert a["gen_ai.request.seed"] == 7
    assert a["gen_ai.request.stop_sequences"] == ("\n\n",)
    assert a["gen_ai.request.presence_penalty"] == 0.5
    assert a["gen_ai.request.frequency_penalty"] == 0.1
    assert a["gen_ai.request.max_tokens"] == 100
    assert a["gen_ai.output.type"] == "json"
    params = json.loads(a["llm.invocation_parameters"])
    assert params["thinking"] == {"type": "disabled"} and params["model"] == ENDPOINT
    assert "messages" not in params
    assert "gen_ai.usage.reasoning.output_tokens" not in a or a["gen_ai.usage.reasoning.output_tokens"] == 0


def test_tool_call_round_trip(client, spans):
    messages = [{"role": "user", "content": "Weather in Singapore?"}]
    first = client.chat.completions.create(model=ENDPOINT, messages=messages, tools=[WEATHER_TOOL])
    call = first.choices[0].message.tool_calls[0]
    a = spans.one().attributes
    assert a["gen_ai.response.finish_reasons"] == ("tool_calls",)
    assert a["llm.output_messages.0.message.tool_calls.0.tool_call.id"] == call.id
    assert a["llm.output_messages.0.message.tool_calls.0.tool_call.function.name"] == "get_weather"
    assert (
        a["llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments"]
        == call.function.arguments
    )
    assert json.loads(a["llm.tools.0.tool.json_schema"]) == WEATHER_TOOL
    spans.clear()

    follow_up = [
        *messages,
        first.choices[0].message,  # an SDK object fed back, as users do
        {"role": "tool", "tool_call_id": call.id, "content": '{"temp_c": 31}'},
    ]
    client.chat.completions.create(model=ENDPOINT, messages=follow_up, tools=[WEATHER_TOOL])
    a = spans.one().attributes
    assert a["llm.input_messages.1.message.tool_calls.0.tool_call.function.name"] == "get_weather"
    assert a["llm.input_messages.2.message.role"] == "tool"
    assert a["llm.input_messages.2.message.tool_call_id"] == call.id
    assert a["gen_ai.response.finish_reasons"] == ("stop",)


@pytest.mark.parametrize(
    ("status", "error_class", "code"),
    [
        (401, openai.AuthenticationError, "AuthenticationError"),
        (404, openai.NotFoundError, "InvalidEndpointOrModel.NotFound"),
        (429, openai.RateLimitError, "RateLimitExceeded.EndpointRPMExceeded"),
        (500, openai.InternalServerError, "InternalServiceError"),
    ],
)
def test_errors_end_the_span_as_error(client, server, spans, status, error_class, code):
    server.fail_next(status, code)
    with pytest.raises(error_class) as raised:
        client.chat.completions.create(model=ENDPOINT, messages=QUESTION)
    span = spans.one()
    a = span.attributes
    assert span.status.status_code is StatusCode.ERROR
    assert a["error.type"] == error_class.__name__
    assert a["http.response.status_code"] == status == raised.value.status_code
    assert a["arktrace.error.code"] == code
    assert a["gen_ai.request.model"] == ENDPOINT
    assert "gen_ai.response.model" not in a
    assert [e.name for e in span.events] == ["exception"]


def test_unknown_endpoint_is_a_404_span(client, spans):
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="ep-error-404", messages=QUESTION)
    span = spans.one()
    assert span.name == "chat ep-error-404"
    assert span.attributes["arktrace.error.code"] == "InvalidEndpointOrModel.NotFound"


def test_connection_error_is_recorded(spans):
    dead = openai.OpenAI(api_key="k", base_url="http://127.0.0.1:9/api/v3", max_retries=0)
    with dead, pytest.raises(openai.APIConnectionError):
        dead.chat.completions.create(model=ENDPOINT, messages=QUESTION)
    span = spans.one()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "APIConnectionError"
    assert span.attributes["server.port"] == 9


def test_retries_stay_inside_one_span(server, spans):
    server.fail_next(429)
    with openai.OpenAI(api_key="k", base_url=server.base_url, max_retries=1) as retrying:
        retrying.with_options(timeout=5).chat.completions.create(model=ENDPOINT, messages=QUESTION)
    span = spans.one()
    assert span.status.status_code is StatusCode.OK
    assert len([r for r in server.requests if r.path.endswith("/chat/completions")]) == 2


def test_caller_arguments_are_not_mutated_and_no_header_is_added(client, server, spans):
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "Describe"}, _image_part()]},
    ]
    headers = {"X-Caller": "1"}
    body = {"thinking": {"type": "enabled"}}
    before = copy.deepcopy((messages, headers, body))
    client.chat.completions.create(
        model=ENDPOINT, messages=messages, extra_headers=headers, extra_body=body, stream=False
    )
    assert (messages, headers, body) == before
    sent = server.requests[-1].headers
    assert "traceparent" not in sent and "tracestate" not in sent and "baggage" not in sent
    assert sent["x-caller"] == "1"
    a = spans.one().attributes
    # inline base64 images are replaced by a placeholder that keeps the media type
    url = a["llm.input_messages.1.message.contents.1.message_content.image.image.url"]
    assert url.startswith("data:image/png;base64,<") and "omitted" in url
    assert "iVBORw0KGgo" not in a["input.value"]
    assert a["llm.input_messages.1.message.contents.0.message_content.text"] == "Describe"


def _image_part():
    return {"type": "image_url", "image_url": {"url": "data:image/png;base64," + "iVBORw0KGgo" * 500}}


def test_long_values_are_truncated(client, provider, spans):
    import arktrace

    arktrace.uninstrument()
    arktrace.instrument(tracer_provider=provider, max_value_length=100)
    client.chat.completions.create(model=ENDPOINT, messages=[{"role": "user", "content": "word " * 500}])
    a = spans.one().attributes
    assert a["llm.input_messages.0.message.content"].startswith("word word")
    assert "more characters cut by arktrace" in a["llm.input_messages.0.message.content"]
    assert len(a["input.value"]) < 200


def test_two_hundred_messages_with_tools_stay_under_the_attribute_limit(client, spans):
    messages = [{"role": "system", "content": "You are terse."}]
    for i in range(100):
        messages.append({"role": "user", "content": f"question {i}"})
        messages.append(
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": f"call_{i}",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": "{}"},
                    }
                ],
            }
            if i % 2
            else {"role": "assistant", "content": f"answer {i}"}
        )
    messages[-1] = {"role": "user", "content": "last question"}
    tools = [WEATHER_TOOL] * 3
    client.chat.completions.create(model=ENDPOINT, messages=messages, tools=tools)
    span = spans.one()
    a = span.attributes
    assert len(a) <= 128
    assert span.dropped_attributes == 0
    assert len(json.loads(a["input.value"])["messages"]) == 201
    assert a["llm.input_messages.200.message.content"] == "last question"  # newest kept
    assert "llm.input_messages.0.message.role" not in a  # oldest left to input.value
    assert a["gen_ai.usage.input_tokens"] > 0 and a["llm.system"] == "openai"


def test_content_capture_off_records_no_text(client, provider, spans, monkeypatch):
    import arktrace

    monkeypatch.setenv("ARKTRACE_CAPTURE_CONTENT", "false")
    arktrace.uninstrument()
    arktrace.instrument(tracer_provider=provider)
    client.chat.completions.create(
        model=ENDPOINT, messages=[{"role": "user", "content": "secret question"}], tools=[WEATHER_TOOL]
    )
    a = spans.one().attributes
    text = json.dumps(dict(a))
    assert "secret question" not in text and "Echo" not in text and "get_weather" not in text
    assert not any(
        k.startswith(("input.", "output.", "llm.input_messages", "llm.output_messages")) for k in a
    )
    assert a["gen_ai.usage.input_tokens"] > 0  # counts are not content


def test_otel_capture_switch_is_honoured(monkeypatch):
    from arktrace._settings import load_settings

    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "false")
    assert load_settings().capture_content is False


def test_suppressed_instrumentation_records_nothing(client, spans):
    token = otel_context.attach(otel_context.set_value(otel_context._SUPPRESS_INSTRUMENTATION_KEY, True))
    try:
        client.chat.completions.create(model=ENDPOINT, messages=QUESTION)
    finally:
        otel_context.detach(token)
    assert spans.all() == []
    client.chat.completions.create(model=ENDPOINT, messages=QUESTION)  # control: unsuppressed, traced
    spans.one()


def test_non_llm_calls_get_no_span(client, server, spans):
    # models.list() is not an LLM call; patching at the resource methods leaves it alone
    with pytest.raises(openai.NotFoundError):
        client.models.list()
    assert spans.all() == []
    client.chat.completions.create(model=ENDPOINT, messages=QUESTION)  # control: an LLM call is traced
    spans.one()


def test_parse_makes_one_span(client, spans):
    response = (
        client.chat.completions.parse(model=ENDPOINT, messages=QUESTION)
        if hasattr(client.chat.completions, "parse")
        else client.beta.chat.completions.parse(model=ENDPOINT, messages=QUESTION)
    )
    span = spans.one()
    assert span.attributes["gen_ai.response.model"] == RESOLVED
    assert span.attributes["gen_ai.response.id"] == response.id


def test_span_is_the_parent_of_spans_made_during_the_request_and_is_not_left_current(client, provider, spans):
    from opentelemetry import trace

    tracer = provider.get_tracer("app")
    with tracer.start_as_current_span("handler") as parent:
        client.chat.completions.create(model=ENDPOINT, messages=QUESTION)
        assert trace.get_current_span() is parent
    llm, handler = sorted(spans.all(), key=lambda s: s.name)
    assert llm.parent.span_id == handler.context.span_id
    assert llm.context.trace_id == handler.context.trace_id


async def test_async_chat(aclient, spans):
    response = await aclient.chat.completions.create(model=ENDPOINT, messages=QUESTION)
    a = spans.one().attributes
    assert a["gen_ai.response.id"] == response.id
    assert a["gen_ai.usage.output_tokens"] == response.usage.completion_tokens


async def test_async_error(aclient, server, spans):
    server.fail_next(429)
    with pytest.raises(openai.RateLimitError):
        await aclient.chat.completions.create(model=ENDPOINT, messages=QUESTION)
    span = spans.one()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "RateLimitError"
