"""Pure extraction: request, response, usage and error attributes for one call, in both conventions.

Nothing here touches OpenTelemetry or the network; every function takes plain values (SDK models or
dicts parsed from a raw body, read alike) and returns an attribute dict, so each can be table-tested.
OTel GenAI names (``gen_ai.*``) and OpenInference names (``llm.*``, ``input.*``, ``output.*``) are
written side by side: backends pick the convention they read.
"""

from __future__ import annotations

import traceback
from typing import Any, NamedTuple

from ._content import (
    clean_json,
    exportable,
    fields_of,
    get,
    response_json,
    sanitize,
    sanitize_text,
    to_json,
    truncate,
)
from ._endpoint import Endpoint
from ._responses import input_messages, outcome_attributes, output_message, reported_failure
from ._settings import Settings
from ._stream_state import ChatStreamState, CompletionStreamState, ResponsesStreamState

JSON = "application/json"
TEXT = "text/plain"


class Operation(NamedTuple):
    name: str
    """``gen_ai.operation.name``."""
    span_kind: str
    """``openinference.span.kind``."""
    content_key: str
    """The request argument holding the content: messages, prompt or input."""
    include_usage: bool = True
    """Whether a stream takes ``stream_options.include_usage`` (chat-style streams that only report
    usage when asked); the Responses API always reports it, and its ``stream_options`` mean something else."""
    stream_state: Any = None
    """The :class:`~arktrace._stream_state.StreamState` class a stream of this operation is folded by
    (None: chat chunks)."""
    reported_failure: Any = None
    """A function of a complete response returning the failure it reports despite HTTP 200, or None
    (None: this operation's answers cannot report one)."""


CHAT = Operation("chat", "LLM", "messages", stream_state=ChatStreamState)
TEXT_COMPLETION = Operation("text_completion", "LLM", "prompt", stream_state=CompletionStreamState)
EMBEDDINGS = Operation("embeddings", "EMBEDDING", "input", include_usage=False)
# GenAI names a Responses call `chat`, as a chat completion; `openai.api.type` tells the two apart.
RESPONSES = Operation(
    "chat",
    "LLM",
    "input",
    include_usage=False,
    stream_state=ResponsesStreamState,
    reported_failure=reported_failure,
)

# The paths the SDKs send each traced operation to, as their resource methods write them. Only these
# are LLM calls: ``/chat/completions/{id}`` (stored completions), ``/responses/{id}/cancel``,
# ``/bots/chat/completions``, files and models are not traced.
PATH_OPERATIONS: dict[str, Operation] = {
    "/chat/completions": CHAT,
    "/completions": TEXT_COMPLETION,
    "/embeddings": EMBEDDINGS,
    "/responses": RESPONSES,
    # Ark runtime SDKs: chat over a context cache, multimodal embeddings, batch inference
    "/context/chat/completions": CHAT,
    "/embeddings/multimodal": EMBEDDINGS,
    "/batch/chat/completions": CHAT,
    "/batch/embeddings": EMBEDDINGS,
    "/batch/embeddings/multimodal": EMBEDDINGS,
}


def operation_for_path(path: Any, base_url: Any = "") -> Operation | None:
    """The operation a request to ``path`` performs, or None when it is not an LLM call.

    ``path`` is what a caller passes to the client's ``post()``: usually as the SDKs write it, but a
    relative path without the leading slash, or a full URL under the client's ``base_url``, reach the
    same endpoint.
    """
    if not isinstance(path, str):
        return None
    op = PATH_OPERATIONS.get(path)
    if op is not None:
        return op
    if "://" in path:
        base = str(base_url)
        if not base or not path.startswith(base):
            return None
        path = path[len(base) :]
    return PATH_OPERATIONS.get("/" + path.split("?", 1)[0].strip("/"))


# Request arguments that shape the HTTP request rather than the model call: never recorded.
_TRANSPORT_ARGS = frozenset({"extra_headers", "extra_query", "extra_body", "timeout"})
# Request arguments that carry user content: recorded only with content capture on.
_CONTENT_ARGS = frozenset(
    {"messages", "prompt", "input", "tools", "functions", "prediction", "suffix", "instructions"}
)
# With content capture off, also kept out of llm.invocation_parameters: a JSON schema's names and
# descriptions are written by the application like a tool definition's.
_PRIVATE_ARGS = _CONTENT_ARGS | {"response_format"}
_MAX_COUNT = 2**63 - 1  # OTLP integers are 64-bit: a larger one would fail the whole export batch
_SENTINEL_TYPES = frozenset({"NotGiven", "Omit"})

# Caller-set request arguments copied to GenAI request attributes as they are.
_GENAI_REQUEST_SCALARS = (
    ("max_tokens", "gen_ai.request.max_tokens"),
    ("max_completion_tokens", "gen_ai.request.max_tokens"),
    ("max_output_tokens", "gen_ai.request.max_tokens"),
    ("temperature", "gen_ai.request.temperature"),
    ("top_p", "gen_ai.request.top_p"),
    ("frequency_penalty", "gen_ai.request.frequency_penalty"),
    ("presence_penalty", "gen_ai.request.presence_penalty"),
    ("seed", "gen_ai.request.seed"),
)


def is_set(value: Any) -> bool:
    """False for ``None`` and the SDKs' "not given" sentinels: such arguments were never sent."""
    return value is not None and type(value).__name__ not in _SENTINEL_TYPES


def set_arguments(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The arguments the caller really passed, ``extra_body`` merged in (it is sent as part of the body)."""
    args = {k: v for k, v in kwargs.items() if k not in _TRANSPORT_ARGS and is_set(v)}
    extra_body = kwargs.get("extra_body")
    if isinstance(extra_body, dict):
        for key, value in extra_body.items():
            args.setdefault(key, value)
    return args


# ---------------------------------------------------------------------------------------------- request


def request_attributes(
    op: Operation, args: dict[str, Any], endpoint: Endpoint, settings: Settings
) -> dict[str, Any]:
    """Attributes known before the request is sent. ``args`` comes from :func:`set_arguments`."""
    model = args.get("model")
    model = model if isinstance(model, str) else str(model) if model is not None else None
    attrs: dict[str, Any] = {
        "gen_ai.operation.name": op.name,
        "gen_ai.provider.name": endpoint.provider,
        "openinference.span.kind": op.span_kind,
        "llm.provider": endpoint.provider,
        "llm.system": "openai",
    }
    if op is RESPONSES:
        attrs["openai.api.type"] = "responses"
    if model:
        attrs["gen_ai.request.model"] = model
        attrs["llm.model_name"] = model
        if op is EMBEDDINGS:
            attrs["embedding.model_name"] = model
    if endpoint.address:
        attrs["server.address"] = endpoint.address
    if endpoint.port:
        attrs["server.port"] = endpoint.port

    for arg, key in _GENAI_REQUEST_SCALARS:
        value = args.get(arg)
        if isinstance(value, float) or (type(value) is int and abs(value) <= _MAX_COUNT):
            attrs[key] = value
    stop = args.get("stop")
    if isinstance(stop, str):
        attrs["gen_ai.request.stop_sequences"] = (stop,)
    elif isinstance(stop, (list, tuple)) and all(isinstance(s, str) for s in stop):
        attrs["gen_ai.request.stop_sequences"] = tuple(stop)
    n = args.get("n")
    if type(n) is int and n != 1 and 0 <= n <= _MAX_COUNT:
        attrs["gen_ai.request.choice.count"] = n
    if args.get("stream") is True:
        attrs["gen_ai.request.stream"] = True
    output_type = _output_type(args.get("response_format"))
    if output_type is None and op is RESPONSES:  # `text.format`, or a class given to .parse()
        output_type = _output_type(args.get("text_format") or get(args.get("text"), "format"))
    if output_type:
        attrs["gen_ai.output.type"] = output_type
    encoding = args.get("encoding_format")
    if isinstance(encoding, str):
        attrs["gen_ai.request.encoding_formats"] = (encoding,)
    dimensions = args.get("dimensions")
    if type(dimensions) is int and 0 <= dimensions <= _MAX_COUNT:
        attrs["gen_ai.embeddings.dimension.count"] = dimensions
    tier = args.get("service_tier")
    if isinstance(tier, str):
        attrs["openai.request.service_tier"] = tier

    private = _CONTENT_ARGS if settings.capture_content else _PRIVATE_ARGS
    params = {k: v for k, v in args.items() if k not in private}
    attrs["llm.invocation_parameters"] = to_json(params)

    if settings.capture_content:
        attrs.update(_request_content(op, args, settings))
    return attrs


def _output_type(response_format: Any) -> str | None:
    if response_format is None:
        return None
    if isinstance(response_format, type):  # a pydantic class given to .parse()
        return "json"
    kind = get(response_format, "type")
    if kind in ("json_object", "json_schema"):
        return "json"
    if kind == "text":
        return "text"
    return None


def _request_content(op: Operation, args: dict[str, Any], settings: Settings) -> dict[str, Any]:
    limit = settings.max_value_length
    budget = settings.max_message_attributes
    whole = clean_json(args, limit)  # the usual request: nothing in it to replace or cut
    content = args if whole is not None else sanitize(args, limit)
    attrs: dict[str, Any] = {}
    if op is EMBEDDINGS:
        value = content.get("input")
        if isinstance(value, str):
            attrs["input.value"] = value
            attrs["input.mime_type"] = TEXT
            texts = [value]
        else:
            attrs["input.value"] = truncate(to_json(value), limit)
            attrs["input.mime_type"] = JSON
            texts = value if isinstance(value, list) else []
        for i, text in enumerate(texts[:budget]):
            if isinstance(text, str):
                attrs[f"embedding.embeddings.{i}.embedding.text"] = text
        return attrs

    attrs["input.value"] = whole if whole is not None else truncate(to_json(content), limit)
    attrs["input.mime_type"] = JSON
    if op is TEXT_COMPLETION:
        prompt = content.get("prompt")
        if isinstance(prompt, str):
            attrs["llm.prompts"] = (prompt,)
        elif isinstance(prompt, list) and all(isinstance(p, str) for p in prompt):
            attrs["llm.prompts"] = tuple(prompt[:budget])
        return attrs

    tools = content.get("tools")
    tool_attrs = 0
    if isinstance(tools, list):
        for i, tool in enumerate(tools[: budget // 4]):
            attrs[f"llm.tools.{i}.tool.json_schema"] = truncate(to_json(tool), limit)
            tool_attrs += 1
    messages = args.get("messages")
    if op is RESPONSES:
        messages = input_messages(args.get("instructions"), args.get("input"))
    if isinstance(messages, (list, tuple)):
        attrs.update(message_attributes("llm.input_messages", messages, budget - tool_attrs, limit))
    return attrs


# ------------------------------------------------------------------------------------------- messages


def message_attributes(prefix: str, messages: Any, budget: int, limit: int) -> dict[str, Any]:
    """OpenInference indexed message attributes, at most ``budget`` of them.

    When the conversation does not fit, the most recent messages are kept (they are what a reader
    looks for) and older ones are left to ``input.value``, which always holds the whole request. A span
    therefore stays under the SDK's attribute-count limit however long the chat grows, and nothing
    recorded earlier is evicted. Text is sanitised here (inline data replaced, long text cut), so the
    caller's messages and SDK objects are read as they are, never copied.
    """
    per_message: list[list[tuple[str, Any]]] = []
    used = 0
    for index in range(len(messages) - 1, -1, -1):
        flat = _flatten_message(f"{prefix}.{index}.message", messages[index], limit)
        if used + len(flat) > budget:
            break
        used += len(flat)
        per_message.append(flat)
    attrs: dict[str, Any] = {}
    for flat in reversed(per_message):
        attrs.update(flat)
    return attrs


def _flatten_message(prefix: str, message: Any, limit: int) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    message = fields_of(message)
    role = message.get("role")
    if isinstance(role, str):
        out.append((f"{prefix}.role", role))
    content = message.get("content")
    if isinstance(content, str):
        out.append((f"{prefix}.content", sanitize_text(content, limit)))
    elif isinstance(content, (list, tuple)):
        for j, part in enumerate(content):
            kind = get(part, "type")
            base = f"{prefix}.contents.{j}.message_content"
            if kind == "text":
                text = get(part, "text")
                out.append((f"{base}.type", "text"))
                out.append((f"{base}.text", sanitize_text(text if isinstance(text, str) else "", limit)))
            elif kind == "image_url":
                out.append((f"{base}.type", "image"))
                url = get(get(part, "image_url"), "url")
                if isinstance(url, str):
                    out.append((f"{base}.image.image.url", sanitize_text(url, limit)))
            elif isinstance(kind, str):
                out.append((f"{base}.type", kind))
    for key in ("name", "tool_call_id"):
        value = message.get(key)
        if isinstance(value, str):
            out.append((f"{prefix}.{key}", value))
    tool_calls = message.get("tool_calls")
    if isinstance(tool_calls, (list, tuple)):
        for k, call in enumerate(tool_calls):
            base = f"{prefix}.tool_calls.{k}.tool_call"
            call_id = get(call, "id")
            if isinstance(call_id, str):
                out.append((f"{base}.id", call_id))
            function = get(call, "function")
            name = get(function, "name")
            if isinstance(name, str):
                out.append((f"{base}.function.name", name))
            arguments = get(function, "arguments")
            if isinstance(arguments, str):
                out.append((f"{base}.function.arguments", sanitize_text(arguments, limit)))
    return out


# ------------------------------------------------------------------------------------------- response


def response_attributes(
    op: Operation, response: Any, settings: Settings, with_content: bool = True
) -> dict[str, Any]:
    """Attributes of a finished response: an SDK model, or a dict (raw body, or rebuilt from a stream).

    ``with_content=False`` (a span that is not recorded) skips the costly part, content, and keeps
    what metrics and cost need.
    """
    attrs: dict[str, Any] = {}
    fields = fields_of(response)
    response_id = fields.get("id")
    if isinstance(response_id, str) and response_id:
        attrs["gen_ai.response.id"] = response_id
    model = fields.get("model")
    if isinstance(model, str) and model:
        attrs["gen_ai.response.model"] = model
        attrs["llm.model_name"] = model
        if op is EMBEDDINGS:
            attrs["embedding.model_name"] = model
    tier = fields.get("service_tier")
    if isinstance(tier, str):
        attrs["openai.response.service_tier"] = tier

    choices = fields.get("choices")
    if op is EMBEDDINGS or not isinstance(choices, (list, tuple)):
        choices = ()
    elif choices:
        reasons = tuple(r for r in (get(c, "finish_reason") for c in choices) if isinstance(r, str))
        if reasons:
            attrs["gen_ai.response.finish_reasons"] = reasons

    if op is RESPONSES:
        attrs.update(outcome_attributes(fields))

    usage = fields.get("usage")
    if usage is None:
        # Moonshot puts the usage of a call inside its choice.
        for choice in choices:
            usage = get(choice, "usage")
            if usage is not None:
                break
    if usage is not None:
        attrs.update(usage_attributes(usage))

    if with_content and settings.capture_content and op is not EMBEDDINGS:
        limit = settings.max_value_length
        text = response_json(response)
        attrs["output.value"] = truncate(text, limit)
        attrs["output.mime_type"] = JSON if len(text) <= limit else TEXT
        if op is CHAT:
            messages = [get(c, "message") for c in choices]
        elif op is RESPONSES:
            message = output_message(fields.get("output"))
            messages = [message] if message is not None else []
        else:
            messages = []
        if messages:
            budget = max(settings.max_message_attributes // 4, 8)
            attrs.update(message_attributes("llm.output_messages", messages, budget, limit))
    return attrs


_USAGE_NAMES = (
    ("gen_ai.usage.input_tokens", "llm.token_count.prompt"),
    ("gen_ai.usage.output_tokens", "llm.token_count.completion"),
    ("gen_ai.usage.total_tokens", "llm.token_count.total"),
    ("gen_ai.usage.cache_read.input_tokens", "llm.token_count.prompt_details.cache_read"),
    ("gen_ai.usage.cache_creation.input_tokens", "llm.token_count.prompt_details.cache_write"),
    ("gen_ai.usage.reasoning.output_tokens", "llm.token_count.completion_details.reasoning"),
)
# Multimodal embeddings split their input tokens by modality; neither convention has names for it.
_MODALITY_NAMES = (
    ("text_tokens", "arktrace.usage.text.input_tokens"),
    ("image_tokens", "arktrace.usage.image.input_tokens"),
)


def usage_attributes(usage: Any) -> dict[str, Any]:
    """Token counts, normalised across ModelArk, Moonshot, DeepSeek and Qwen usage layouts.

    Only numbers the provider reported are written; a missing count stays missing.
    """
    usage = fields_of(usage)
    prompt = _count(usage, "prompt_tokens", "input_tokens")
    completion = _count(usage, "completion_tokens", "output_tokens")
    total = _count(usage, "total_tokens")
    if total is None and prompt is not None and completion is not None and prompt + completion <= _MAX_COUNT:
        total = prompt + completion
    prompt_details = fields_of(usage.get("prompt_tokens_details") or usage.get("input_tokens_details"))
    cached = _count(prompt_details, "cached_tokens")
    if cached is None:
        cached = _count(usage, "prompt_cache_hit_tokens", "cached_tokens")  # DeepSeek, Moonshot
    cache_write = _count(prompt_details, "cache_creation_input_tokens")  # Qwen explicit cache
    completion_details = fields_of(
        usage.get("completion_tokens_details") or usage.get("output_tokens_details")
    )
    reasoning = _count(completion_details, "reasoning_tokens")

    attrs: dict[str, Any] = {}
    for value, (genai, openinference) in zip(
        (prompt, completion, total, cached, cache_write, reasoning), _USAGE_NAMES
    ):
        if value is not None:
            attrs[genai] = value
            attrs[openinference] = value
    if prompt_details:
        for field, name in _MODALITY_NAMES:
            value = _count(prompt_details, field)
            if value is not None:
                attrs[name] = value
    return attrs


def _count(fields: Any, *names: str) -> int | None:
    """The first of ``names`` that ``fields`` (see :func:`fields_of`) holds as a whole number."""
    for name in names:
        value = fields.get(name)
        if type(value) is int and 0 <= value <= _MAX_COUNT:
            return value
    return None


# ---------------------------------------------------------------------------------------------- errors


def error_type(error: BaseException) -> str:
    """The exception's class name, or the provider's code for a failure reported inside a stream."""
    kind = getattr(error, "error_type", None)
    return kind if isinstance(kind, str) and kind else type(error).__qualname__


# Response headers that name one call for the provider's support: ModelArk's own request id, and
# the id the Ark SDKs send in X-Client-Request-Id (echoed back). Recorded under OTel's HTTP names.
_REQUEST_ID_HEADERS = (
    ("x-request-id", "http.response.header.x-request-id"),
    ("x-client-request-id", "http.response.header.x-client-request-id"),
)


def request_id_attributes(headers: Any) -> dict[str, Any]:
    """The request ids among an HTTP response's ``headers`` (a case-insensitive mapping)."""
    attrs: dict[str, Any] = {}
    for header, name in _REQUEST_ID_HEADERS:
        value = headers.get(header)
        if isinstance(value, str) and value:
            attrs[name] = (value,)
    return attrs


def error_attributes(error: BaseException) -> dict[str, Any]:
    attrs: dict[str, Any] = {"error.type": error_type(error)}
    headers = getattr(getattr(error, "response", None), "headers", None)
    if callable(getattr(headers, "get", None)):
        attrs.update(request_id_attributes(headers))
    status = getattr(error, "status_code", None)
    if isinstance(status, int):
        attrs["http.response.status_code"] = status
    code = getattr(error, "code", None)
    if isinstance(code, str) and code:
        attrs["arktrace.error.code"] = code
    return attrs


def error_description(error: BaseException, capture_content: bool = True) -> str:
    message = error_message(error, capture_content)
    name = type(error).__qualname__
    return exportable(truncate(f"{name}: {message}" if message else name, 1024))


def echoes_content(error: BaseException) -> bool:
    """Whether the error's message came from the provider's answer, which may quote the request.

    SDK errors built from a response carry its parsed ``body``; connection errors, timeouts and
    the application's own exceptions do not, and their messages never hold the request's content.
    """
    return getattr(error, "body", None) is not None


def error_message(error: BaseException, capture_content: bool = True) -> str:
    if not capture_content and echoes_content(error):
        status = getattr(error, "status_code", None)
        code = getattr(error, "code", None)
        known = " ".join(str(part) for part in (status, code) if isinstance(part, (int, str)) and part)
        head = f"provider error {known}" if known else "provider error"
        return f"{head} (message not recorded: content capture is off)"
    try:
        message = str(error)
    except Exception:  # an exception class whose __str__ fails
        return ""
    for credential in _credentials_sent(error):
        message = message.replace(credential, "[credential removed]")
    return message


# Headers that carry the API key: Bearer (openai, ModelArk, the Ark SDKs), Azure's and others' own.
_CREDENTIAL_HEADERS = ("authorization", "api-key", "x-api-key")


def _credentials_sent(error: BaseException) -> list[str]:
    """The credentials the failed request carried, read from the request the SDK's error holds.

    A provider may quote the key it refused ("Incorrect API key provided: sk-…"); content capture
    does not make a key content. Read on the error path only, so no successful call pays for it.
    Values shorter than 8 characters are left alone: cutting them would mangle ordinary words.
    """
    try:
        headers = error.request.headers  # type: ignore[attr-defined]
        found = []
        for name in _CREDENTIAL_HEADERS:
            value = headers.get(name)
            if isinstance(value, str) and value:
                found.append(value)
                token = value.partition(" ")[2].strip()  # "Bearer <key>"
                if token:
                    found.append(token)
        return [value for value in found if len(value) >= 8]
    except Exception:  # not an SDK error, or one without a request
        return []


def exception_attributes(error: BaseException, settings: Settings) -> dict[str, Any]:
    """The ``exception`` event's attributes, written by arktrace rather than left to the SDK: the
    message may be content (see :func:`echoes_content`), and must fit the value-length limit."""
    limit = settings.max_value_length
    message = error_message(error, settings.capture_content)
    lines = traceback.format_tb(error.__traceback__)
    lines.append(f"{type(error).__module__}.{type(error).__qualname__}: {message}\n")
    return {
        "exception.type": type(error).__qualname__,
        "exception.message": exportable(truncate(message, limit)),
        "exception.stacktrace": exportable(truncate("".join(lines), limit)),
    }
