"""Secrets and privacy, checked on the bytes that leave the process.

API keys and request header values never reach a span, a log line of ours or `arktrace check`. With content
capture off, a canary placed in every kind of content appears nowhere in the OTLP protobuf a real exporter
sends. With it on, inline ``data:`` URLs are never recorded in full.
"""

from __future__ import annotations

import base64
import io
import json
import logging
from typing import Any

import openai
import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import arktrace
from arktrace._check import run_check
from arktrace._setup import flush, init, shutdown
from harness import ENDPOINT
from otlp_receiver import OTLPReceiver

pytestmark = pytest.mark.usefixtures("clean_env")

API_KEY = "sk-canary-apikey-7f3a9c"
HEADER_SECRETS = ("hdr-canary-default-51c2", "hdr-canary-extra-88d0", "Bearer hdr-canary-auth-0e4b")
CANARY = "canary-content-9b1e4f"


def exported_bytes(receiver: OTLPReceiver) -> bytes:
    return b"".join(r.body for r in receiver.requests)


def run_calls(server: Any, client: openai.OpenAI) -> None:
    """One of each kind of call, success and failure, with the canary wherever content can be."""
    tools = [
        {
            "type": "function",
            "function": {
                "name": "lookup",
                "description": f"looks up {CANARY}",
                "parameters": {
                    "type": "object",
                    "properties": {"q": {"type": "string", "description": CANARY}},
                },
            },
        }
    ]
    history = [
        {"role": "system", "content": f"system {CANARY}"},
        {"role": "user", "content": [{"type": "text", "text": f"user {CANARY}"}]},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": CANARY}}
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": f"result {CANARY}"},
    ]
    schema = {"type": "json_schema", "json_schema": {"name": "answer", "description": CANARY, "schema": {}}}
    server.reply = f"reply {CANARY}"
    client.chat.completions.create(model=ENDPOINT, messages=history, tools=tools, response_format=schema)
    client.chat.completions.create(model=ENDPOINT, messages=history[:2], tools=tools)  # answers a tool call
    for _ in client.chat.completions.create(model=ENDPOINT, messages=history[:2], stream=True):
        pass
    server.send_next(
        {
            "id": "r1",
            "model": "seed",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {
                        "role": "assistant",
                        "content": CANARY,
                        "reasoning_content": f"think {CANARY}",
                    },
                }
            ],
        }
    )
    client.chat.completions.create(model=ENDPOINT, messages=history[:1])
    server.send_next(
        events=[
            json.dumps(
                {"id": "r2", "choices": [{"index": 0, "delta": {"reasoning_content": f"think {CANARY}"}}]}
            ),
            json.dumps(
                {
                    "id": "r2",
                    "choices": [
                        {
                            "index": 0,
                            "delta": {
                                "tool_calls": [
                                    {"index": 0, "id": "c", "function": {"name": "f", "arguments": CANARY}}
                                ]
                            },
                        }
                    ],
                }
            ),
        ]
    )
    for _ in client.chat.completions.create(model=ENDPOINT, messages=history[:1], stream=True):
        pass
    client.completions.create(model=ENDPOINT, prompt=f"prompt {CANARY}")
    client.embeddings.create(model="ep-20250101120000-embed", input=[f"embed {CANARY}"])
    # A provider's error message may quote the request: with capture off it is treated as content.
    server.send_next(
        {"error": {"code": "InvalidParameter", "message": f"bad value {CANARY}", "type": "BadRequest"}},
        status=400,
    )
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model=ENDPOINT, messages=history[:1])
    server.fail_mid_stream(1)
    with pytest.raises(openai.APIError):
        for _ in client.chat.completions.create(model=ENDPOINT, messages=history[:2], stream=True):
            pass


@pytest.fixture
def traced(receiver: OTLPReceiver, monkeypatch: pytest.MonkeyPatch) -> OTLPReceiver:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
    return receiver


def test_content_capture_off_leaks_no_canary_to_the_wire(
    traced: OTLPReceiver, server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARKTRACE_CAPTURE_CONTENT", "false")
    init(service_name="privacy")
    with openai.OpenAI(api_key="k", base_url=server.base_url, max_retries=0) as client:
        run_calls(server, client)
    assert flush(timeout=10)
    assert shutdown(timeout=5)
    spans = [s for s in traced.spans() if "gen_ai.operation.name" in s.attributes]
    assert len(spans) == 9  # every call exported, the failed ones too
    assert CANARY.encode() not in exported_bytes(traced)
    failed = [s for s in spans if "error.type" in s.attributes]
    assert {s.attributes["error.type"] for s in failed} == {"BadRequestError", "APIError"}


def test_content_capture_on_does_record_the_canary(traced: OTLPReceiver, server: Any) -> None:
    """The control for the test above: the same calls with capture on do put the canary on the wire."""
    init(service_name="privacy")
    with openai.OpenAI(api_key="k", base_url=server.base_url, max_retries=0) as client:
        run_calls(server, client)
    assert flush(timeout=10)
    assert shutdown(timeout=5)
    assert exported_bytes(traced).count(CANARY.encode()) > 10


def test_api_key_and_header_values_never_leave(
    traced: OTLPReceiver, server: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="arktrace")
    init(service_name="secrets")
    server.api_key = API_KEY
    default, extra, auth = HEADER_SECRETS
    with openai.OpenAI(
        api_key=API_KEY, base_url=server.base_url, max_retries=0, default_headers={"X-Canary": default}
    ) as client:
        client.chat.completions.create(
            model=ENDPOINT, messages=[{"role": "user", "content": "hi"}], extra_headers={"X-Extra": extra}
        )
        for _ in client.chat.completions.create(
            model=ENDPOINT,
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
            extra_headers={"X-Extra": extra},
        ):
            pass
        client.with_raw_response.chat.completions.create(
            model=ENDPOINT, messages=[{"role": "user", "content": "hi"}], extra_headers={"X-Extra": extra}
        )
        client.embeddings.create(
            model="ep-20250101120000-embed", input="hi", extra_headers={"X-Extra": extra}
        )
        with pytest.raises(openai.AuthenticationError):  # a wrong key: the error path too
            client.chat.completions.create(
                model=ENDPOINT,
                messages=[{"role": "user", "content": "hi"}],
                extra_headers={"Authorization": auth},
            )
    assert server.requests[0].headers["x-canary"] == default  # the headers did go to the provider
    assert flush(timeout=10)
    assert shutdown(timeout=5)
    wire = exported_bytes(traced)
    got = [(s.name, s.attributes.get("gen_ai.request.stream"), s.status_code) for s in traced.spans()]
    assert len([s for s in traced.spans() if "gen_ai.operation.name" in s.attributes]) == 5, got
    for secret in (API_KEY, *HEADER_SECRETS, auth.split()[1]):
        assert secret.encode() not in wire
        assert secret not in caplog.text


def test_a_key_the_provider_quotes_back_is_cut_from_the_error(traced: OTLPReceiver, server: Any) -> None:
    # Some providers quote the key they refused; with content capture on, the message is recorded,
    # the key in it is not. The caller's exception is left as the SDK raised it.
    init(service_name="secrets")
    quoted = {"error": {"message": f"Incorrect API key provided: {API_KEY}.", "code": "invalid_api_key"}}
    with openai.OpenAI(api_key=API_KEY, base_url=server.base_url, max_retries=0) as client:
        for stream in (False, True):
            server.send_next(quoted, status=401)
            with pytest.raises(openai.AuthenticationError, match=API_KEY):
                client.chat.completions.create(
                    model=ENDPOINT, messages=[{"role": "user", "content": "hi"}], stream=stream
                )
    assert shutdown(timeout=5)
    spans = traced.spans()
    assert len(spans) == 2
    for span in spans:
        assert "Incorrect API key provided: [credential removed]." in span.status_message
    assert API_KEY.encode() not in exported_bytes(traced)
    assert b"Incorrect API key provided" in exported_bytes(traced)  # the rest of the message is kept


# What a request carries that a provider or gateway may quote back in an error: the API key, header
# values (a gateway's own key names, a bearer token in another header) and query values (Azure-style
# `?api-key=`, a signature with characters a URL escapes).
QUOTED_KEY = "sk-canary-quoted-key-51f0a2"
QUOTED_HEADERS = {
    "Ocp-Apim-Subscription-Key": "apim-canary-default-7c1d",
    "X-Gateway-Auth": "Bearer gw-canary-93aa",
}
QUOTED_QUERY = {"api-key": "azq-canary-query-2b6e"}
EXTRA_HEADERS = {"X-Extra-Token": "xh-canary-extra-4d0c"}
EXTRA_QUERY = {"sig": "sig+canary/extra=5e1f"}
QUOTED_SECRETS = (
    QUOTED_KEY,
    *QUOTED_HEADERS.values(),
    "gw-canary-93aa",
    *QUOTED_QUERY.values(),
    *EXTRA_HEADERS.values(),
    *EXTRA_QUERY.values(),
    "sig%2Bcanary%2Fextra%3D5e1f",
)


def quoting_gateway_error() -> dict[str, Any]:
    """A 401 from a gateway that quotes the request's credentials back, as some do."""
    headers = " ".join(f"{k.lower()}={v}" for k, v in {**QUOTED_HEADERS, **EXTRA_HEADERS}.items())
    message = f"Unauthorized: authorization=Bearer {QUOTED_KEY} {headers}"
    return {"error": {"message": message, "code": "AuthenticationError"}}


@pytest.mark.parametrize("capture", [True, False], ids=["capture-on", "capture-off"])
async def test_every_credential_the_provider_quotes_back_is_cut(
    server: Any, provider: Any, capture: bool
) -> None:
    """Whatever the openai version keeps in its error (3.63 drops the request's Authorization header),
    the key, every non-public header value and every query value the request carried are cut from
    the status, the exception event and every other attribute; the caller's exception is untouched."""
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    arktrace.uninstrument()
    arktrace.instrument(tracer_provider=provider, capture_content=capture)
    options = dict(
        api_key=QUOTED_KEY,
        base_url=server.base_url,
        max_retries=0,
        default_headers=QUOTED_HEADERS,
        default_query=QUOTED_QUERY,
    )
    call = dict(
        model=ENDPOINT,
        messages=[{"role": "user", "content": "hi"}],
        extra_headers=EXTRA_HEADERS,
        extra_query=EXTRA_QUERY,
    )
    try:
        with openai.OpenAI(**options) as client:
            for stream in (False, True):
                server.send_next(quoting_gateway_error(), status=401)
                with pytest.raises(openai.AuthenticationError, match=QUOTED_KEY):
                    client.chat.completions.create(stream=stream, **call)
                # ModelArk quotes the path of an unknown action, query string included.
                server.fail_next(404, "InvalidAction")
                with pytest.raises(openai.NotFoundError, match=QUOTED_QUERY["api-key"]):
                    client.chat.completions.create(stream=stream, **call)
        async with openai.AsyncOpenAI(**options) as aclient:
            server.send_next(quoting_gateway_error(), status=401)
            with pytest.raises(openai.AuthenticationError):
                await aclient.chat.completions.create(**call)
    finally:
        arktrace.uninstrument()
    spans = exporter.get_finished_spans()
    assert len(spans) == 5
    sent = server.requests[0].headers  # the values did go to the provider
    assert sent["ocp-apim-subscription-key"] == QUOTED_HEADERS["Ocp-Apim-Subscription-Key"]
    for span in spans:
        text = span.to_json()
        for secret in QUOTED_SECRETS:
            assert secret not in text, (secret, span.status.description)
        (event,) = span.events
        if capture:  # the message is recorded, with each credential replaced and the rest kept
            assert "[credential removed]" in span.status.description
            assert "[credential removed]" in event.attributes["exception.message"]
            assert "[credential removed]" in event.attributes["exception.stacktrace"]
            assert span.status.description.count("[credential removed]") >= 2, span.status.description
        else:
            assert "message not recorded" in span.status.description


def test_check_output_shows_no_secret(receiver: OTLPReceiver, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    monkeypatch.setenv("ARK_API_KEY", API_KEY)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
    monkeypatch.setenv(
        "OTEL_EXPORTER_OTLP_HEADERS", f"x-api-key={HEADER_SECRETS[0]},authorization={HEADER_SECRETS[2]}"
    )
    monkeypatch.setenv("PHOENIX_COLLECTOR_ENDPOINT", receiver.url + "/phoenix")
    monkeypatch.setenv("PHOENIX_API_KEY", HEADER_SECRETS[1])
    for status in (200, 401):
        receiver.respond("/", status)
        out = io.StringIO()
        run_check(["--no-dotenv"], out=out)
        text = out.getvalue()
        assert "otlp" in text and "phoenix" in text
        for secret in (API_KEY, *HEADER_SECRETS, HEADER_SECRETS[2].split()[1]):
            assert secret not in text
        receiver.clear()


def test_data_urls_never_recorded_in_full(traced: OTLPReceiver, server: Any) -> None:
    payload = base64.b64encode(CANARY.encode() * 50).decode()
    url = f"data:image/png;base64,{payload}"
    init(service_name="data-url")
    with openai.OpenAI(api_key="k", base_url=server.base_url, max_retries=0) as client:
        client.chat.completions.create(
            model=ENDPOINT,
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "what?"},
                        {"type": "image_url", "image_url": {"url": url}},
                    ],
                }
            ],
        )
        client.embeddings.create(model="ep-20250101120000-embed", input=url)
    assert flush(timeout=10)
    assert shutdown(timeout=5)
    wire = exported_bytes(traced)
    assert payload[:64].encode() not in wire
    spans = [s for s in traced.spans() if "gen_ai.operation.name" in s.attributes]
    chat = next(s for s in spans if s.attributes["gen_ai.operation.name"] == "chat")
    shown = chat.attributes["llm.input_messages.0.message.contents.1.message_content.image.image.url"]
    assert shown.startswith("data:image/png;base64,<") and "omitted" in shown


needs_responses = pytest.mark.skipif(
    not hasattr(openai.OpenAI, "responses"), reason="this openai release has no Responses API"
)


@needs_responses
def test_capture_off_records_no_failure_message_of_the_responses_api(server: Any, provider: Any) -> None:
    """A failure the Responses API reports with HTTP 200 (a stream's `error` event, a `response.failed`
    event, a `status: failed` answer) takes the path of every provider error: its message may quote
    the input, so with capture off only its code is recorded."""
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    arktrace.uninstrument()
    arktrace.instrument(tracer_provider=provider, capture_content=False)
    said = f"cannot answer about {CANARY}"
    head = {"id": "resp_1", "object": "response", "created_at": 1, "model": "seed-1-8-251228", "output": []}
    failed = {**head, "status": "failed", "error": {"code": "server_error", "message": said}}
    try:
        with openai.OpenAI(api_key="k", base_url=server.base_url, max_retries=0) as client:
            server.send_next(failed)
            assert client.responses.create(model=ENDPOINT, input="hi").status == "failed"
            created = {
                "type": "response.created",
                "sequence_number": 0,
                "response": {**head, "status": "in_progress"},
            }
            for last in (
                {"type": "response.failed", "sequence_number": 1, "response": failed},
                {
                    "type": "error",
                    "sequence_number": 1,
                    "code": "server_error",
                    "message": said,
                    "param": None,
                },
            ):
                server.send_next(events=[json.dumps(created), json.dumps(last)])
                events = list(client.responses.create(model=ENDPOINT, input="hi", stream=True))
                assert said in json.dumps([e.model_dump() for e in events])  # the caller still gets it
    finally:
        arktrace.uninstrument()
    spans = exporter.get_finished_spans()
    assert len(spans) == 3
    for span in spans:
        assert CANARY not in span.to_json()
        assert span.attributes["error.type"] == "server_error"
        expected = (
            "ReportedFailure: provider error server_error (message not recorded: content capture is off)"
        )
        assert span.status.description == expected


@needs_responses
def test_capture_off_records_only_known_safe_parameter_values(server: Any, provider: Any) -> None:
    """With capture off `llm.invocation_parameters` keeps the values of an allow-list of parameters
    (numbers, switches, fixed words); every other argument, and every field of a kept one that is
    not on the list (a JSON schema's name, a forced function's name), is there by name only."""
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    arktrace.uninstrument()
    arktrace.instrument(tracer_provider=provider, capture_content=False)
    schema = {"type": "object", "properties": {"diagnosis": {"type": "string", "description": CANARY}}}
    tool = {"type": "function", "name": CANARY, "parameters": {"type": "object", "properties": {}}}
    try:
        with openai.OpenAI(api_key="k", base_url=server.base_url, max_retries=0) as client:
            client.responses.create(
                model=ENDPOINT,
                input="hi",
                text={
                    "format": {"type": "json_schema", "name": CANARY, "schema": schema},
                    "verbosity": "low",
                },
                tools=[tool],
                tool_choice={"type": "function", "name": CANARY},
                reasoning={"effort": "low"},
                temperature=0.5,
                max_output_tokens=64,
                metadata={"case": CANARY},
                user=CANARY,
                service_tier="auto",
            )
            client.chat.completions.create(
                model=ENDPOINT,
                messages=[{"role": "user", "content": "hi"}],
                stop=["END", CANARY],
                service_tier=CANARY,
                seed=7,
                extra_body={"thinking": {"type": "disabled"}, "tag": CANARY},
            )
    finally:
        arktrace.uninstrument()
    responses, chat = exporter.get_finished_spans()
    for span in (responses, chat):
        assert CANARY not in span.to_json()
    assert json.loads(responses.attributes["llm.invocation_parameters"]) == {
        "model": ENDPOINT,
        "text": {
            "format": {"type": "json_schema"},
            "verbosity": "low",
        },
        "tools": "<not recorded>",
        "tool_choice": {"type": "function"},
        "reasoning": {"effort": "low"},
        "temperature": 0.5,
        "max_output_tokens": 64,
        "metadata": "<not recorded>",
        "user": "<not recorded>",
        "service_tier": "auto",
    }
    assert responses.attributes["gen_ai.output.type"] == "json"
    assert json.loads(chat.attributes["llm.invocation_parameters"]) == {
        "model": ENDPOINT,
        "stop": "<not recorded: 2>",
        "service_tier": "<not recorded>",  # not one of the tiers: the application's own text
        "seed": 7,
        "thinking": {"type": "disabled"},
        "tag": "<not recorded>",
    }
    assert "gen_ai.request.stop_sequences" not in chat.attributes
    assert "openai.request.service_tier" not in chat.attributes


def test_credentials_to_cut_are_every_non_public_value_of_eight_characters_or_more() -> None:
    from types import SimpleNamespace

    from arktrace.operations._errors import credentials_sent

    client = SimpleNamespace(
        api_key="sk-12345678",
        default_headers={
            "User-Agent": "OpenAI/Python 3.63.0",
            "X-Stainless-Os": "Linux-x86_64",
            "X-Org": "org-abcdefgh",
        },
        default_query={"api-version": "2024-10-21", "api-key": "azure+key/0=="},
    )
    kwargs = {
        "extra_headers": {"X-Short": "short12", "Authorization": "Basic dXNlcjpwYXNz"},
        "extra_query": {"k": ["a-1234567", 5]},
    }
    cut = credentials_sent(ValueError("no request here"), client, kwargs)
    assert set(cut) == {
        "sk-12345678",
        "org-abcdefgh",
        "azure+key/0==",
        "azure%2Bkey%2F0%3D%3D",  # as a URL carries it
        "Basic dXNlcjpwYXNz",
        "dXNlcjpwYXNz",  # the token without its scheme
        "a-1234567",
    }  # public headers, api-version and the 7-character value are left
    assert cut[0] == "azure%2Bkey%2F0%3D%3D"  # longest first: a value inside another is cut with it
