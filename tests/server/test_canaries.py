"""Canaries in every request parameter: what the span, its events and arktrace's log may carry.

Every traced operation, sync and async, is called with a canary in every parameter the installed
SDK's ``create()`` accepts (read from its signature, so a parameter a new SDK release adds is covered
the day it ships), and with credentials in the client's key, default headers and query and the
call's extra headers and query, against the bundled server: succeeding, failing with a provider
error that quotes the whole request back, with ModelArk's echo of the path and query, with the
server's magic error models, and failing mid-stream (quoting, and the magic mid-stream model). With
content capture off, no canary may appear in any attribute, event, status or log line; with it on,
no credential may.
"""

from __future__ import annotations

import inspect
import json
import logging
from typing import Any

import openai
import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

import arktrace
from harness import ENDPOINT

CANARY = "canary-0c7d"  # in every request parameter's value: content, with capture off
CREDENTIAL = "credential-5b9e"  # in every credential: never recorded
API_KEY = f"sk-{CREDENTIAL}-apikey"
DEFAULT_HEADERS = {"Ocp-Apim-Subscription-Key": f"{CREDENTIAL}-default-header"}
DEFAULT_QUERY = {"api-key": f"{CREDENTIAL}-default-query"}
EXTRA_HEADERS = {"X-Gateway-Token": f"Bearer {CREDENTIAL}-extra-header"}
EXTRA_QUERY = {"sig": f"{CREDENTIAL}+extra/query="}  # escaped in the URL
CREDENTIALS = (API_KEY, *DEFAULT_HEADERS.values(), *DEFAULT_QUERY.values(), *EXTRA_HEADERS.values())
CREDENTIALS += tuple(EXTRA_QUERY.values())
# The parameters that shape the HTTP request; the credentials go through them.
TRANSPORT = {"extra_headers", "extra_query", "extra_body", "timeout"}


def canary(name: str) -> str:
    return f"{CANARY}-{name}"


def _tool_schema(name: str) -> dict[str, Any]:
    return {"type": "object", "properties": {canary(name): {"type": "string", "description": canary(name)}}}


# Values the bundled server needs in a given shape, or that reach a field an allow-list looks into.
# Every other parameter gets `canary(name)`: a string, which the SDK sends as it is and the server
# ignores, and which must not be recorded with capture off whatever the parameter's real type.
SHAPED: dict[str, Any] = {
    "model": ENDPOINT,
    "messages": [
        {"role": "system", "content": canary("system")},
        {"role": "user", "content": [{"type": "text", "text": canary("user")}]},
    ],
    "prompt": canary("prompt"),
    "instructions": canary("instructions"),
    "max_tokens": 16,
    "max_completion_tokens": 64,
    "max_output_tokens": 64,
    "dimensions": 8,
    "encoding_format": "float",
    "stop": [canary("stop"), "END"],
    "stream_options": {"include_usage": True, canary("option"): canary("stream_options")},
    "tool_choice": {"type": "function", "function": {"name": canary("tool")}, "name": canary("tool")},
    "response_format": {
        "type": "json_schema",
        "json_schema": {"name": canary("schema"), "schema": _tool_schema("response_format")},
    },
    "reasoning": {"effort": "low", "summary": canary("reasoning")},
    "text": {
        "format": {"type": "json_schema", "name": canary("schema"), "schema": _tool_schema("text")},
        "verbosity": canary("verbosity"),
    },
}
# Per operation where the same name takes another shape.
SHAPED_BY_OPERATION: dict[str, dict[str, Any]] = {
    "chat": {
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": canary("tool"),
                    "description": canary("d"),
                    "parameters": _tool_schema("t"),
                },
            }
        ]
    },
    "responses": {
        "input": [{"role": "user", "content": [{"type": "input_text", "text": canary("input")}]}],
        "tools": [{"type": "function", "name": canary("tool"), "parameters": _tool_schema("tools")}],
    },
    "embeddings": {"input": [canary("input")]},
}
# A top-level name is recorded (it names an API field, as a parameter's name does); its value and
# names nested inside it are not.
EXTRA_BODY = {"thinking": {"type": "disabled", canary("key"): canary("thinking")}, "custom": canary("body")}


class Operation:
    def __init__(self, name: str, module: str, cls: str, path: str, streams: bool) -> None:
        self.name = name
        self.module = module
        self.cls = cls
        self.path = path  # the client attribute path to the resource
        self.streams = streams

    def parameters(self) -> list[str]:
        module = pytest.importorskip(self.module)
        create = getattr(module, self.cls).create
        return [p for p in inspect.signature(create).parameters if p != "self" and p not in TRANSPORT]

    def resource(self, client: Any) -> Any:
        for attr in self.path.split("."):
            client = getattr(client, attr)
        return client

    def arguments(self, stream: bool) -> dict[str, Any]:
        shaped = {**SHAPED, **SHAPED_BY_OPERATION.get(self.name, {})}
        args = {name: shaped.get(name, canary(name)) for name in self.parameters()}
        if "max_tokens" in args and "max_completion_tokens" in args:
            # The server, like ModelArk, refuses both at once: the streamed calls send the other.
            del args["max_completion_tokens" if stream else "max_tokens"]
        if self.streams:
            args["stream"] = stream
            if not stream:
                args.pop("stream_options", None)  # the SDKs refuse stream_options without a stream
        return args


OPERATIONS = [
    Operation("chat", "openai.resources.chat.completions", "Completions", "chat.completions", True),
    Operation("completions", "openai.resources.completions", "Completions", "completions", True),
    Operation("embeddings", "openai.resources.embeddings", "Embeddings", "embeddings", False),
    Operation("responses", "openai.resources.responses", "Responses", "responses", True),
]


def quoted_request(args: dict[str, Any]) -> str:
    """What a provider or gateway that quotes the whole request back says: body and credentials."""
    sent = {
        **DEFAULT_HEADERS,
        **EXTRA_HEADERS,
        **DEFAULT_QUERY,
        **EXTRA_QUERY,
        "authorization": f"Bearer {API_KEY}",
    }
    return f"Rejected, sent with {json.dumps(sent)}: {json.dumps(args)}"


def mid_stream_events(op: Operation, message: str) -> list[str]:
    """The first chunk of a stream, then its provider's error event quoting the request."""
    if op.name == "responses":
        head = {"id": "resp_1", "object": "response", "created_at": 1, "model": ENDPOINT, "output": []}
        return [
            json.dumps(
                {
                    "type": "response.created",
                    "sequence_number": 0,
                    "response": {**head, "status": "in_progress"},
                }
            ),
            json.dumps(
                {
                    "type": "error",
                    "sequence_number": 1,
                    "code": "server_error",
                    "message": message,
                    "param": None,
                }
            ),
        ]
    if op.name == "chat":
        choice = {"index": 0, "delta": {"role": "assistant", "content": "Hi"}, "finish_reason": None}
        first = {
            "id": "c1",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": ENDPOINT,
            "choices": [choice],
        }
    else:
        choice = {"index": 0, "text": "Hi", "finish_reason": None, "logprobs": None}
        first = {
            "id": "c1",
            "object": "text_completion",
            "created": 1,
            "model": ENDPOINT,
            "choices": [choice],
        }
    return [json.dumps(first), json.dumps({"error": {"code": "InternalServiceError", "message": message}})]


def prepare(op: Operation, server: Any, outcome: str, stream: bool) -> tuple[dict[str, Any], bool]:
    """The call's arguments, with the server primed for ``outcome``; whether the call itself raises."""
    args = op.arguments(stream)
    call = dict(args, extra_headers=EXTRA_HEADERS, extra_query=EXTRA_QUERY, extra_body=EXTRA_BODY)
    message = quoted_request({**args, "extra_body": EXTRA_BODY})
    if outcome == "provider error":
        server.send_next({"error": {"code": "InvalidParameter", "message": message}}, status=400)
    elif outcome == "path echo":  # ModelArk quotes an unknown action's path, query string included
        server.fail_next(404, "InvalidAction")
    elif outcome == "magic error":
        call["model"] = "ep-error-429"  # the server's magic model: its own error, no quote
    elif outcome == "mid-stream error":
        server.send_next(events=mid_stream_events(op, message), done=False)
    elif outcome == "magic mid-stream error":
        call["model"] = "ep-error-midstream"
    return call, outcome in ("provider error", "path echo", "magic error")


def run(op: Operation, client: Any, server: Any, outcome: str, stream: bool) -> None:
    call, raises = prepare(op, server, outcome, stream)
    create = op.resource(client).create
    if raises:
        with pytest.raises(openai.APIStatusError):
            create(**call)
        return
    result = create(**call)
    if stream:
        try:
            for _ in result:
                pass
        except openai.APIError:
            assert outcome != "success"


async def run_async(op: Operation, client: Any, server: Any, outcome: str, stream: bool) -> None:
    call, raises = prepare(op, server, outcome, stream)
    create = op.resource(client).create
    if raises:
        with pytest.raises(openai.APIStatusError):
            await create(**call)
        return
    result = await create(**call)
    if stream:
        try:
            async for _ in result:
                pass
        except openai.APIError:
            assert outcome != "success"


def outcomes(op: Operation) -> list[tuple[str, bool]]:
    runs = [("success", False), ("provider error", False), ("path echo", False), ("magic error", False)]
    if op.streams:
        runs += [("success", True), ("provider error", True), ("mid-stream error", True)]
        runs += [("magic mid-stream error", True)]
    return runs


@pytest.mark.parametrize("aio", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("capture", [False, True], ids=["capture-off", "capture-on"])
@pytest.mark.parametrize("op", OPERATIONS, ids=[op.name for op in OPERATIONS])
async def test_no_canary_leaves(
    op: Operation, capture: bool, aio: bool, server: Any, provider: Any, caplog: Any
) -> None:
    if op.name == "responses" and not hasattr(openai.OpenAI, "responses"):
        pytest.skip("this openai release has no Responses API")
    caplog.set_level(logging.DEBUG, logger="arktrace")
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    arktrace.uninstrument()
    arktrace.instrument(tracer_provider=provider, capture_content=capture)
    runs = outcomes(op)
    options = dict(
        api_key=API_KEY,
        base_url=server.base_url,
        max_retries=0,
        default_headers=DEFAULT_HEADERS,
        default_query=DEFAULT_QUERY,
    )
    try:
        if aio:
            async with openai.AsyncOpenAI(**options) as aclient:
                for outcome, stream in runs:
                    await run_async(op, aclient, server, outcome, stream)
        else:
            with openai.OpenAI(**options) as client:
                for outcome, stream in runs:
                    run(op, client, server, outcome, stream)
    finally:
        arktrace.uninstrument()

    spans = exporter.get_finished_spans()
    assert len(spans) == len(runs)
    # The canaries and credentials did go out: the checks below are not vacuous.
    first = server.requests[0]
    assert CANARY in json.dumps(first.body) and first.headers["ocp-apim-subscription-key"]
    assert [s.status.status_code is StatusCode.ERROR for s in spans] == [o != "success" for o, _ in runs]
    leaks = (CANARY, CREDENTIAL) if not capture else (CREDENTIAL,)
    for span, (outcome, stream) in zip(spans, runs):
        text = span.to_json()
        for leak in leaks:
            assert leak not in text, (outcome, stream, _where(span, leak))
        message = span.events[0].attributes["exception.message"] if span.events else ""
        if capture and outcome in ("provider error", "mid-stream error"):  # kept, credentials cut
            assert CANARY in message and "[credential removed]" in message, message
        if capture and outcome == "path echo":
            assert "/completions?" in message or "/responses?" in message or "/embeddings?" in message
            assert "[credential removed]" in message, message
    for leak in leaks:
        assert leak not in caplog.text
    if capture:  # the control: what capture on records does hold the canaries
        assert CANARY in spans[0].attributes["llm.invocation_parameters"]


def _where(span: Any, leak: str) -> list[str]:
    """The attributes, events or status that hold ``leak``: the failure says where to look."""
    found = [k for k, v in (span.attributes or {}).items() if leak in str(v)]
    found += [f"event {e.name}: {k}" for e in span.events for k, v in e.attributes.items() if leak in str(v)]
    if leak in (span.status.description or ""):
        found.append(f"status: {span.status.description}")
    return found
