"""Pure extraction: the request and response attributes of one call, in both conventions.

Nothing here touches OpenTelemetry or the network; every function takes plain values (SDK models or
dicts parsed from a raw body, read alike) and returns an attribute dict, so each can be table-tested.
OTel GenAI names (``gen_ai.*``) and OpenInference names (``llm.*``, ``input.*``, ``output.*``) are
written side by side, in one pass: a writer per convention would read the same arguments and
response fields a second time on every call, for values that are the same (``conventions/names.py``
says which name belongs to which convention). Backends pick the convention they read. What differs
between operations is read from the :class:`~arktrace.operations.Operation` (its attributes and
functions), never by asking which operation it is.
"""

from __future__ import annotations

from typing import Any

from ._content import clean_json, fields_of, get, response_json, sanitize, to_json, truncate
from ._endpoint import Endpoint
from ._settings import Settings
from .conventions.names import (
    GENAI_EMBEDDINGS_DIMENSIONS,
    GENAI_OPERATION,
    GENAI_OUTPUT_TYPE,
    GENAI_PROVIDER,
    GENAI_REQUEST_CHOICE_COUNT,
    GENAI_REQUEST_ENCODING_FORMATS,
    GENAI_REQUEST_FREQUENCY_PENALTY,
    GENAI_REQUEST_MAX_TOKENS,
    GENAI_REQUEST_MODEL,
    GENAI_REQUEST_PRESENCE_PENALTY,
    GENAI_REQUEST_SEED,
    GENAI_REQUEST_STOP_SEQUENCES,
    GENAI_REQUEST_STREAM,
    GENAI_REQUEST_TEMPERATURE,
    GENAI_REQUEST_TOP_P,
    GENAI_RESPONSE_FINISH_REASONS,
    GENAI_RESPONSE_ID,
    GENAI_RESPONSE_MODEL,
    OI_INVOCATION_PARAMETERS,
    OI_MODEL_NAME,
    OI_OUTPUT_MESSAGES,
    OI_OUTPUT_MIME_TYPE,
    OI_OUTPUT_VALUE,
    OI_PROVIDER,
    OI_SPAN_KIND,
    OI_SYSTEM,
    OPENAI_API_TYPE,
    OPENAI_REQUEST_SERVICE_TIER,
    OPENAI_RESPONSE_SERVICE_TIER,
    SERVER_ADDRESS,
    SERVER_PORT,
)
from .operations._common import (
    ENCODINGS,
    JSON,
    MAX_COUNT,
    SERVICE_TIERS,
    TEXT,
    Operation,
    message_attributes,
    output_type,
    safe_value,
    usage_attributes,
)

# Request arguments that shape the HTTP request rather than the model call: never recorded.
_TRANSPORT_ARGS = frozenset({"extra_headers", "extra_query", "extra_body", "timeout"})
# Request arguments that carry user content: recorded only with content capture on, and then in
# `input.value` and the message and tool attributes rather than in `llm.invocation_parameters`. An
# operation's own content arguments are its `Operation.content_arguments`.
_CONTENT_ARGS = frozenset(
    {"messages", "prompt", "input", "tools", "functions", "prediction", "suffix", "instructions"}
)
# The request arguments that say what the content is, left out of `llm.invocation_parameters` with
# capture off too (every call has them: their names would say nothing).
_REQUEST_CONTENT = frozenset({"messages", "prompt", "input", "instructions"})
_SENTINEL_TYPES = frozenset({"NotGiven", "Omit"})

# Caller-set request arguments copied to GenAI request attributes as they are.
_GENAI_REQUEST_SCALARS = (
    ("max_tokens", GENAI_REQUEST_MAX_TOKENS),
    ("max_completion_tokens", GENAI_REQUEST_MAX_TOKENS),
    ("max_output_tokens", GENAI_REQUEST_MAX_TOKENS),
    ("temperature", GENAI_REQUEST_TEMPERATURE),
    ("top_p", GENAI_REQUEST_TOP_P),
    ("frequency_penalty", GENAI_REQUEST_FREQUENCY_PENALTY),
    ("presence_penalty", GENAI_REQUEST_PRESENCE_PENALTY),
    ("seed", GENAI_REQUEST_SEED),
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
        GENAI_OPERATION: op.name,
        GENAI_PROVIDER: endpoint.provider,
        OI_SPAN_KIND: op.span_kind,
        OI_PROVIDER: endpoint.provider,
        OI_SYSTEM: "openai",
    }
    if op.api_type is not None:
        attrs[OPENAI_API_TYPE] = op.api_type
    if model:
        attrs[GENAI_REQUEST_MODEL] = model
        attrs[OI_MODEL_NAME] = model
        if op.model_name_attribute is not None:
            attrs[op.model_name_attribute] = model
    if endpoint.address:
        attrs[SERVER_ADDRESS] = endpoint.address
    if endpoint.port:
        attrs[SERVER_PORT] = endpoint.port

    capture = settings.capture_content
    for arg, key in _GENAI_REQUEST_SCALARS:
        value = args.get(arg)
        if isinstance(value, float) or (type(value) is int and abs(value) <= MAX_COUNT):
            attrs[key] = value
    stop = args.get("stop") if capture else None  # the application's text: counted only, below
    if isinstance(stop, str):
        attrs[GENAI_REQUEST_STOP_SEQUENCES] = (stop,)
    elif isinstance(stop, (list, tuple)) and all(isinstance(s, str) for s in stop):
        attrs[GENAI_REQUEST_STOP_SEQUENCES] = tuple(stop)
    n = args.get("n")
    if type(n) is int and n != 1 and 0 <= n <= MAX_COUNT:
        attrs[GENAI_REQUEST_CHOICE_COUNT] = n
    if args.get("stream") is True:
        attrs[GENAI_REQUEST_STREAM] = True
    kind = output_type(args.get("response_format"))
    if kind is None and op.output_format is not None:
        kind = output_type(op.output_format(args))
    if kind:
        attrs[GENAI_OUTPUT_TYPE] = kind
    encoding = args.get("encoding_format")
    if isinstance(encoding, str) and (capture or encoding in ENCODINGS):
        attrs[GENAI_REQUEST_ENCODING_FORMATS] = (encoding,)
    dimensions = args.get("dimensions")
    if type(dimensions) is int and 0 <= dimensions <= MAX_COUNT:
        attrs[GENAI_EMBEDDINGS_DIMENSIONS] = dimensions
    tier = args.get("service_tier")
    if isinstance(tier, str) and (capture or tier in SERVICE_TIERS):
        attrs[OPENAI_REQUEST_SERVICE_TIER] = tier

    own = op.content_arguments  # usually empty: the shared sets below, as they are
    if capture:
        skip = _CONTENT_ARGS | own if own else _CONTENT_ARGS
        params = {k: v for k, v in args.items() if k not in skip}
    else:
        safe = op.safe_arguments
        skip = _REQUEST_CONTENT | own if own else _REQUEST_CONTENT
        params = {k: safe_value(v, safe.get(k)) for k, v in args.items() if k not in skip}
    attrs[OI_INVOCATION_PARAMETERS] = to_json(params)

    if capture:
        limit = settings.max_value_length
        genai = op.genai_request
        if genai is not None and settings.conventions != "openinference":
            attrs.update(genai(args, limit))
        if genai is None or settings.conventions != "genai":
            whole = clean_json(args, limit)  # the usual request: nothing in it to replace or cut
            content = args if whole is not None else sanitize(args, limit)
            attrs.update(op.request_content(args, content, whole, limit, settings.max_message_attributes))
    return attrs


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
        attrs[GENAI_RESPONSE_ID] = response_id
    model = fields.get("model")
    if isinstance(model, str) and model:
        attrs[GENAI_RESPONSE_MODEL] = model
        attrs[OI_MODEL_NAME] = model
        if op.model_name_attribute is not None:
            attrs[op.model_name_attribute] = model
    tier = fields.get("service_tier")
    if isinstance(tier, str):
        attrs[OPENAI_RESPONSE_SERVICE_TIER] = tier

    choices = fields.get("choices")
    if not op.reads_choices or not isinstance(choices, (list, tuple)):
        choices = ()
    elif choices:
        reasons = tuple(r for r in (get(c, "finish_reason") for c in choices) if isinstance(r, str))
        if reasons:
            attrs[GENAI_RESPONSE_FINISH_REASONS] = reasons

    if op.outcome is not None:
        attrs.update(op.outcome(fields))

    usage = fields.get("usage") if op.usage is None else op.usage(fields)
    if usage is None:
        # Moonshot puts the usage of a call inside its choice.
        for choice in choices:
            usage = get(choice, "usage")
            if usage is not None:
                break
    if usage is not None:
        attrs.update(usage_attributes(usage))

    # An operation without output messages has no content to record (embeddings: the vectors);
    # MLflow's summary of it: conventions.backend_extras.
    if op.output_messages is not None and with_content and settings.capture_content:
        genai = op.genai_response
        if genai is not None and settings.conventions != "openinference":
            attrs.update(genai(fields, settings.max_value_length))
            if settings.conventions == "genai":
                return attrs
        limit = settings.max_value_length
        text = response_json(response)
        attrs[OI_OUTPUT_VALUE] = truncate(text, limit)
        attrs[OI_OUTPUT_MIME_TYPE] = JSON if len(text) <= limit else TEXT
        messages = op.output_messages(fields, choices)
        if messages:
            budget = max(settings.max_message_attributes // 4, 8)
            attrs.update(message_attributes(OI_OUTPUT_MESSAGES, messages, budget, limit))
    if op.output_content is not None and with_content and settings.capture_content:
        budget = max(settings.max_message_attributes // 4, 8)
        attrs.update(op.output_content(fields, settings.max_value_length, budget))
    return attrs
