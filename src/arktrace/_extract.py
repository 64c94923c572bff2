"""Pure extraction: request, response, usage and error attributes for one call, in both conventions.

Nothing here touches OpenTelemetry or the network; every function takes plain values (SDK models or
dicts parsed from a raw body, read alike) and returns an attribute dict, so each can be table-tested.
OTel GenAI names (``gen_ai.*``) and OpenInference names (``llm.*``, ``input.*``, ``output.*``) are
written side by side: backends pick the convention they read.
"""

from __future__ import annotations

import traceback
from collections import OrderedDict
from typing import Any, NamedTuple
from urllib.parse import quote, quote_plus

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
from .conventions import genai_content

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
    safe_arguments: Any = None
    """The request arguments whose values are recorded with content capture off, each with the shape
    its value must have (see :func:`_safe_value`); every other argument is recorded by name only."""


# With content capture off, `llm.invocation_parameters` keeps only values known to carry nothing the
# application wrote: numbers and switches, and words from a fixed vocabulary. An allow-list, because
# every SDK release adds arguments (a JSON schema in `text.format`, a function name in `tool_choice`)
# that a list of private ones would let through until someone noticed.
NOT_RECORDED = "<not recorded>"
_SCALAR = "scalar"  # a number, a boolean or null: never text
_TEXT = "text"  # any string: the model (an endpoint id), ids the provider made
_COUNT = "count"  # how many, not what: stop sequences


def _words(*words: str) -> frozenset[str]:
    return frozenset(words)


_SERVICE_TIERS = _words("auto", "default", "flex", "scale", "priority")
_ENCODINGS = _words("float", "base64")
_EFFORTS = _words("none", "minimal", "low", "medium", "high", "xhigh")
_VERBOSITY = _words("low", "medium", "high")
_FORMAT_TYPE = {"type": _words("text", "json_object", "json_schema")}
_THINKING = {"type": _words("enabled", "disabled", "auto")}  # ModelArk's switch, in extra_body
_TOOL_TYPES = _words(
    "function",
    "custom",
    "allowed_tools",
    "mcp",
    "file_search",
    "web_search",
    "web_search_preview",
    "computer_use_preview",
    "code_interpreter",
    "image_generation",
)
# "none" / "auto" / "required", or an object whose `type` is kept and function name is not.
_TOOL_CHOICE = (_words("none", "auto", "required"), {"type": _TOOL_TYPES, "mode": _words("auto", "required")})
_SAMPLING = {
    "model": _TEXT,
    "stream": _SCALAR,
    "stream_options": {
        "include_usage": _SCALAR,
        "include_obfuscation": _SCALAR,
        "chunk_include_usage": _SCALAR,
    },
    "temperature": _SCALAR,
    "top_p": _SCALAR,
    "seed": _SCALAR,
    "n": _SCALAR,
    "frequency_penalty": _SCALAR,
    "presence_penalty": _SCALAR,
    "max_tokens": _SCALAR,
    "stop": _COUNT,
    "logprobs": _SCALAR,
    "top_logprobs": _SCALAR,
    "service_tier": _SERVICE_TIERS,
    "store": _SCALAR,
}
_CHAT_SAFE = {
    **_SAMPLING,
    "max_completion_tokens": _SCALAR,
    "parallel_tool_calls": _SCALAR,
    "reasoning_effort": _EFFORTS,
    "verbosity": _VERBOSITY,
    "modalities": [_words("text", "audio")],
    "response_format": _FORMAT_TYPE,
    "tool_choice": _TOOL_CHOICE,
    "thinking": _THINKING,
    "context_id": _TEXT,  # an Ark context cache's id, made by the provider
}
_COMPLETION_SAFE = {**_SAMPLING, "best_of": _SCALAR, "echo": _SCALAR}
_EMBEDDINGS_SAFE = {"model": _TEXT, "encoding_format": _ENCODINGS, "dimensions": _SCALAR}
_RESPONSES_SAFE = {
    **_SAMPLING,
    "max_output_tokens": _SCALAR,
    "max_tool_calls": _SCALAR,
    "parallel_tool_calls": _SCALAR,
    "background": _SCALAR,
    "reasoning": {"effort": _EFFORTS, "summary": _words("auto", "concise", "detailed")},
    "truncation": _words("auto", "disabled"),
    "text": {"format": _FORMAT_TYPE, "verbosity": _VERBOSITY},
    "tool_choice": _TOOL_CHOICE,
    "thinking": _THINKING,
}

CHAT = Operation("chat", "LLM", "messages", stream_state=ChatStreamState, safe_arguments=_CHAT_SAFE)
TEXT_COMPLETION = Operation(
    "text_completion", "LLM", "prompt", stream_state=CompletionStreamState, safe_arguments=_COMPLETION_SAFE
)
EMBEDDINGS = Operation(
    "embeddings", "EMBEDDING", "input", include_usage=False, safe_arguments=_EMBEDDINGS_SAFE
)
# GenAI names a Responses call `chat`, as a chat completion; `openai.api.type` tells the two apart.
RESPONSES = Operation(
    "chat",
    "LLM",
    "input",
    include_usage=False,
    stream_state=ResponsesStreamState,
    reported_failure=reported_failure,
    safe_arguments=_RESPONSES_SAFE,
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
# Request arguments that carry user content: recorded only with content capture on, and then in
# `input.value` and the message and tool attributes rather than in `llm.invocation_parameters`.
_CONTENT_ARGS = frozenset(
    {"messages", "prompt", "input", "tools", "functions", "prediction", "suffix", "instructions"}
)
# The request arguments that say what the content is, left out of `llm.invocation_parameters` with
# capture off too (every call has them: their names would say nothing).
_REQUEST_CONTENT = frozenset({"messages", "prompt", "input", "instructions"})
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

    capture = settings.capture_content
    for arg, key in _GENAI_REQUEST_SCALARS:
        value = args.get(arg)
        if isinstance(value, float) or (type(value) is int and abs(value) <= _MAX_COUNT):
            attrs[key] = value
    stop = args.get("stop") if capture else None  # the application's text: counted only, below
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
    if isinstance(encoding, str) and (capture or encoding in _ENCODINGS):
        attrs["gen_ai.request.encoding_formats"] = (encoding,)
    dimensions = args.get("dimensions")
    if type(dimensions) is int and 0 <= dimensions <= _MAX_COUNT:
        attrs["gen_ai.embeddings.dimension.count"] = dimensions
    tier = args.get("service_tier")
    if isinstance(tier, str) and (capture or tier in _SERVICE_TIERS):
        attrs["openai.request.service_tier"] = tier

    if capture:
        params = {k: v for k, v in args.items() if k not in _CONTENT_ARGS}
    else:
        safe = op.safe_arguments or {}
        params = {k: _safe_value(v, safe.get(k)) for k, v in args.items() if k not in _REQUEST_CONTENT}
    attrs["llm.invocation_parameters"] = to_json(params)

    if capture and op is not EMBEDDINGS and settings.conventions != "openinference":
        attrs.update(genai_content.request_content(op.content_key, args, settings.max_value_length))
    if capture and (settings.conventions != "genai" or op is EMBEDDINGS):
        attrs.update(_request_content(op, args, settings))
    return attrs


def _safe_value(value: Any, shape: Any) -> Any:
    """``value`` if it has the ``shape`` an allow-list gives it, else :data:`NOT_RECORDED`.

    A shape is :data:`_SCALAR`, :data:`_TEXT`, :data:`_COUNT`, a set of words, a dict of the shapes
    of an object's fields (others left out), a one-element list (every item has that shape) or a
    tuple of alternatives. None (no shape): the argument is not on the list.
    """
    if shape is None:
        return NOT_RECORDED
    if shape is _SCALAR:
        return value if value is None or isinstance(value, (bool, int, float)) else NOT_RECORDED
    if shape is _TEXT:
        return value if isinstance(value, str) else NOT_RECORDED
    if shape is _COUNT:
        count = 1 if isinstance(value, str) else len(value) if isinstance(value, (list, tuple)) else None
        return f"<not recorded: {count}>" if count is not None else NOT_RECORDED
    if isinstance(shape, frozenset):
        return value if isinstance(value, str) and value in shape else NOT_RECORDED
    if isinstance(shape, tuple):
        for alternative in shape:
            safe = _safe_value(value, alternative)
            if safe is not NOT_RECORDED:
                return safe
        return NOT_RECORDED
    if isinstance(shape, list):
        if not isinstance(value, (list, tuple)):
            return NOT_RECORDED
        return [_safe_value(item, shape[0]) for item in value]
    if isinstance(value, dict):
        fields = value
    elif hasattr(value, "__pydantic_extra__") and not isinstance(value, type):  # an SDK model
        fields = fields_of(value)
    else:
        return NOT_RECORDED
    # Fields off the list are left out, names too: inside an object they may be the application's
    # own (a schema's properties), where an argument's name is the API's.
    return {k: _safe_value(v, shape[k]) for k, v in fields.items() if k in shape}


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

    if op is EMBEDDINGS:
        pass  # the vectors are no content a backend shows; MLflow's summary: _backend_attributes
    elif with_content and settings.capture_content:
        if settings.conventions != "openinference":
            attrs.update(genai_content.response_content(op.content_key, fields, settings.max_value_length))
            if settings.conventions == "genai":
                return attrs
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


def echoes_content(error: BaseException) -> bool:
    """Whether the error's message came from the provider's answer, which may quote the request.

    SDK errors built from a response carry its parsed ``body``, and so does a failure the Responses
    API reports with HTTP 200 (:class:`~arktrace._responses.ReportedFailure`); connection errors,
    timeouts and the application's own exceptions do not, and their messages never hold the
    request's content.
    """
    return getattr(error, "body", None) is not None


def error_message(error: BaseException, capture_content: bool = True, cut: tuple[str, ...] = ()) -> str:
    """The message to record: the provider's only with content capture on, and never a value in ``cut``."""
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
    return cut_credentials(message, cut)


CREDENTIAL_REMOVED = "[credential removed]"


def cut_credentials(text: str, cut: tuple[str, ...]) -> str:
    for value in cut:
        text = text.replace(value, CREDENTIAL_REMOVED)
    return text


# Request headers whose values say nothing secret: the HTTP basics, and what the SDKs send about
# themselves (``X-Stainless-*``: language, versions, retry count) or to name one call. Every other
# header value a request carried is cut from what the provider quotes back: a deny-list of secret
# names misses every gateway's own (``Ocp-Apim-Subscription-Key``, ``X-Portkey-Api-Key``, ...).
_PUBLIC_HEADERS = frozenset(
    {
        "accept",
        "accept-encoding",
        "connection",
        "content-length",
        "content-type",
        "host",
        "idempotency-key",
        "openai-beta",
        "user-agent",
        "x-client-request-id",
    }
)
_PUBLIC_HEADER_PREFIX = "x-stainless-"
_PUBLIC_QUERY = frozenset({"api-version"})  # Azure's API version: every other query value is cut
# Shorter values are left: they cannot be told from the message's ordinary words ("true", "json",
# "v1") and cutting them would garble it, while real credentials are far longer (OpenAI keys 51+
# characters, ModelArk's 36, Azure's and APIM's 32).
_MIN_CREDENTIAL = 8


def credentials_sent(error: BaseException, client: Any = None, kwargs: Any = None) -> tuple[str, ...]:
    """Every value the failed request carried that is not known to be public, longest first.

    Read from public places that do not change with the SDK's version: the client's ``api_key``,
    ``default_headers`` and ``default_query``, the call's ``extra_headers`` and ``extra_query``,
    and the request the SDK's error holds where it still does (openai >= 3.63 removes its
    ``Authorization`` and ``api-key`` headers, which ``api_key`` covers). A provider may quote the
    request back ("Incorrect API key provided: sk-…", a gateway echoing the URL with its
    ``?api-key=``); content capture does not make a credential content. Read on the error path
    only, so no successful call pays for it.
    """
    found: set[str] = set()
    for name in ("api_key", "admin_api_key"):
        _add(found, _read(client, name))
    headers = (
        _read(client, "default_headers"),
        kwargs.get("extra_headers") if isinstance(kwargs, dict) else None,
        _read(_read(error, "request"), "headers"),
    )
    for mapping in headers:
        for name, value in _pairs(mapping):
            if name not in _PUBLIC_HEADERS and not name.startswith(_PUBLIC_HEADER_PREFIX):
                _add(found, value)
                _add(found, value.partition(" ")[2].strip())  # "Bearer <key>", "Basic <token>"
    queries = (
        _read(client, "default_query"),
        kwargs.get("extra_query") if isinstance(kwargs, dict) else None,
        _read(_read(_read(error, "request"), "url"), "params"),
    )
    for mapping in queries:
        for name, value in _pairs(mapping):
            if name not in _PUBLIC_QUERY:
                _add(found, value)
                _add(found, quote(value, safe=""))  # as the URL a provider quotes back carries it
                _add(found, quote_plus(value))
    return tuple(sorted(found, key=len, reverse=True))  # "Bearer <key>" before "<key>"


def _read(owner: Any, name: str) -> Any:
    """``owner.name``, or None when it is missing or reading it fails (a property of some SDK)."""
    if owner is None:
        return None
    try:
        return getattr(owner, name, None)
    except Exception:
        return None


def _pairs(mapping: Any) -> list[tuple[str, str]]:
    """The (lower-case name, string value) pairs of a headers or query mapping; multi-valued
    query parameters (httpx's ``QueryParams``, lists in ``extra_query``) give one pair per value."""
    if mapping is None:
        return []
    try:
        items = mapping.multi_items() if hasattr(mapping, "multi_items") else mapping.items()
        pairs = []
        for name, value in items:
            if not isinstance(name, str):
                continue
            for one in value if isinstance(value, (list, tuple)) else (value,):
                if isinstance(one, str):
                    pairs.append((name.lower(), one))
        return pairs
    except Exception:  # not a mapping after all
        return []


def _add(found: set[str], value: Any) -> None:
    if isinstance(value, str) and len(value) >= _MIN_CREDENTIAL:
        found.add(value)


# What was cut from an error, by the error's id, for the spans that see the same exception later
# without its client (an arktrace.trace span around the failed call). Exceptions cannot be weakly
# referenced and holding them would keep their frames alive, so only the id is kept: an id reused by
# another exception at worst cuts credentials of this process from a message that did not quote them.
_RECENT_CUTS: OrderedDict[int, tuple[str, ...]] = OrderedDict()
_RECENT_CUTS_KEPT = 64


def _remembered_cut(error: BaseException, cut: tuple[str, ...], from_the_call: bool) -> tuple[str, ...]:
    key = id(error)
    try:
        if from_the_call:
            if cut:
                _RECENT_CUTS[key] = cut
                while len(_RECENT_CUTS) > _RECENT_CUTS_KEPT:
                    _RECENT_CUTS.popitem(last=False)
            return cut
        known = _RECENT_CUTS.get(key)
    except Exception:  # another thread changed the dict meanwhile: the call's own cut still applies
        return cut
    if not known:
        return cut
    return tuple(sorted(set(cut) | set(known), key=len, reverse=True))


class ErrorRecord(NamedTuple):
    description: str
    """The span status's description."""
    event: dict[str, Any]
    """The ``exception`` event's attributes."""


def error_record(
    error: BaseException, settings: Settings, client: Any = None, kwargs: Any = None
) -> ErrorRecord:
    """What a failed call's span says of its error: status description and ``exception`` event.

    Written by arktrace rather than left to the SDK: the message may be content (see
    :func:`echoes_content`), may quote a credential the request carried (see
    :func:`credentials_sent`; ``client`` and ``kwargs`` are the call's), and must fit the
    value-length limit.
    """
    cut = _remembered_cut(error, credentials_sent(error, client, kwargs), client is not None)
    message = error_message(error, settings.capture_content, cut)
    name = type(error).__qualname__
    description = exportable(truncate(f"{name}: {message}" if message else name, 1024))
    limit = settings.max_value_length
    # Source lines of the frames can hold a credential too (a header written into the call).
    lines = [cut_credentials(line, cut) for line in traceback.format_tb(error.__traceback__)]
    lines.append(f"{type(error).__module__}.{name}: {message}\n")
    event = {
        "exception.type": name,
        "exception.message": exportable(truncate(message, limit)),
        "exception.stacktrace": exportable(truncate("".join(lines), limit)),
    }
    return ErrorRecord(description, event)
