"""What every operation shares: the :class:`Operation` record, the content bounds (safe-argument
shapes, message attributes), usage, token pricing and the stream-state base.

An operation module (``chat.py``, ``embeddings.py``, ...) declares one :class:`Operation`; the
lifecycle (``_call.py``) and extraction (``_extract.py``) read its attributes and call its functions
and never ask which operation it is. Nothing here imports the lifecycle, setup or backends.
"""

from __future__ import annotations

from time import perf_counter
from typing import Any, Callable

from .._content import dump_model, fields_of, get, sanitize_text, to_json, truncate
from ..conventions.names import (
    ARKTRACE_IMAGE_INPUT_TOKENS,
    ARKTRACE_TEXT_INPUT_TOKENS,
    GENAI_RESPONSE_MODEL,
    GENAI_USAGE_CACHE_CREATION,
    GENAI_USAGE_CACHE_READ,
    GENAI_USAGE_INPUT_TOKENS,
    GENAI_USAGE_OUTPUT_TOKENS,
    GENAI_USAGE_REASONING,
    GENAI_USAGE_TOTAL_TOKENS,
    OI_INPUT_MESSAGES,
    OI_INPUT_MIME_TYPE,
    OI_INPUT_VALUE,
    OI_TOKENS_CACHE_READ,
    OI_TOKENS_CACHE_WRITE,
    OI_TOKENS_COMPLETION,
    OI_TOKENS_PROMPT,
    OI_TOKENS_REASONING,
    OI_TOKENS_TOTAL,
    OI_TOOL_SCHEMA,
)

JSON = "application/json"
TEXT = "text/plain"
MAX_COUNT = 2**63 - 1  # OTLP integers are 64-bit: a larger one would fail the whole export batch


class Operation:
    """One traced API surface: what differs between operations, so that nothing else branches on one.

    Slotted attributes, set once: the per-call path reads them directly (a slot read is about half
    the cost of a NamedTuple field's). A function attribute that is None means "this operation has
    none": the reader skips it.
    """

    __slots__ = (
        "api_type",
        "content_arguments",
        "ended",
        "genai_request",
        "genai_response",
        "include_usage",
        "links",
        "model_name_attribute",
        "name",
        "outcome",
        "output_content",
        "output_format",
        "output_messages",
        "output_summary",
        "patch_points",
        "paths",
        "positional",
        "price",
        "reads_choices",
        "reported_failure",
        "request_content",
        "safe_arguments",
        "span_kind",
        "stream_state",
        "usage",
    )

    def __init__(
        self,
        *,
        name: str,
        span_kind: str,
        paths: tuple[str, ...],
        patch_points: tuple[tuple[str, str, str], ...],
        safe_arguments: dict[str, Any],
        request_content: Callable[..., dict[str, Any]],
        output_messages: Callable[[dict[str, Any], Any], Any] | None,
        price: Callable[..., Any],
        stream_state: Any = None,
        include_usage: bool = True,
        reported_failure: Callable[[Any], BaseException | None] | None = None,
        outcome: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
        output_format: Callable[[dict[str, Any]], Any] | None = None,
        api_type: str | None = None,
        model_name_attribute: str | None = None,
        reads_choices: bool = True,
        output_summary: Callable[[dict[str, Any]], str] | None = None,
        genai_request: Callable[[dict[str, Any], int], dict[str, str]] | None = None,
        genai_response: Callable[[Any, int], dict[str, str]] | None = None,
        output_content: Callable[[dict[str, Any], int, int], dict[str, Any]] | None = None,
        content_arguments: frozenset[str] = frozenset(),
        positional: tuple[str, ...] = (),
        links: Callable[[dict[str, Any]], Any] | None = None,
        ended: Callable[[Any, dict[str, Any]], None] | None = None,
        usage: Callable[[dict[str, Any]], Any] | None = None,
    ) -> None:
        # ``gen_ai.operation.name``; also the span name's first word.
        self.name = name
        # ``openinference.span.kind``.
        self.span_kind = span_kind
        # The API paths the SDKs post this operation to, for the client ``request()`` hook; none for an
        # operation that is not a POST (that hook traces POSTs only): traced at its resource methods.
        self.paths = paths
        # (module suffix under each SDK package, class, method) of the resource methods that run it;
        # a point missing from an installed SDK is skipped.
        self.patch_points = patch_points
        # The request arguments whose values are recorded with content capture off, each with the
        # shape its value must have (see :func:`safe_value`); every other one is recorded by name only.
        self.safe_arguments = safe_arguments
        # ``(args, content, whole, limit, budget)`` → the request's content attributes (capture on
        # only). ``content`` is ``args`` sanitised; ``whole`` its JSON when nothing needed cutting.
        self.request_content = request_content
        # ``(response fields, choices)`` → the output messages; None: the response carries no content
        # to record (embeddings: vectors), and no ``output.value`` is written.
        self.output_messages = output_messages
        # ``(price table, attrs, request model)`` → ``(input cost, output cost)``, or None if unpriced.
        # The pricing unit is the operation's: tokens for the four of today.
        self.price = price
        # The :class:`StreamState` class a stream of this operation is folded by (None: never streamed).
        self.stream_state = stream_state
        # Whether a stream takes ``stream_options.include_usage`` (chat-style streams that report usage
        # only when asked); the Responses API always reports it, and its ``stream_options`` mean
        # something else.
        self.include_usage = include_usage
        # A complete response → the failure it reports despite HTTP 200, or None.
        self.reported_failure = reported_failure
        # Response fields → attributes of what the response did, recorded with or without content.
        self.outcome = outcome
        # Arguments → the output format, where ``response_format`` does not give it: a response
        # format, or a GenAI output type by name (``"image"``, one of ``OUTPUT_TYPES``).
        self.output_format = output_format
        # ``openai.api.type``, for an operation GenAI names as another one (Responses is ``chat``).
        self.api_type = api_type
        # A name the model is recorded under besides GenAI's and OpenInference's.
        self.model_name_attribute = model_name_attribute
        # Whether the response's ``choices`` are its output (finish reasons, messages).
        self.reads_choices = reads_choices
        # Response fields → a short ``output.value`` for a backend that shows nothing without one, for
        # an operation whose output is no content (see ``conventions.backend_extras``).
        self.output_summary = output_summary
        # ``(args, limit)`` / ``(response fields, limit)`` → the GenAI content attributes
        # (``gen_ai.input.messages``, ``gen_ai.output.messages``, ...: ``conventions.genai_content``);
        # None: the operation has no content in that convention (embeddings) and keeps its
        # OpenInference content whatever ``ARKTRACE_CONVENTIONS`` says.
        self.genai_request = genai_request
        self.genai_response = genai_response
        # ``(response fields, limit, budget)`` → content attributes of the response besides its
        # messages (capture on only): what a bot's search plugin found.
        self.output_content = output_content
        # Request arguments that carry the caller's content, besides the ones every operation shares
        # (``messages``, ``prompt``, ``input``, ...): left out of ``llm.invocation_parameters`` as
        # those are, recorded by ``request_content`` only (tokenization's ``text``).
        self.content_arguments = content_arguments
        # The names of the parameters a patched method takes by position, in order: an argument given
        # by position is recorded under its name (the Ark SDKs' ``tasks.delete(task_id)``). Keyword-only
        # methods (every openai ``create``) have none.
        self.positional = positional
        # Arguments → the links the span starts with (OpenTelemetry ``Link`` s), or None: links can only
        # be given when a span starts. For a call about the result of an earlier one (a task's poll).
        self.links = links
        # ``(span context, response attributes)`` of a call that ended without error, for an operation
        # that later calls link to (see ``links``). Must not raise, and must not keep the attributes.
        self.ended = ended
        # Response fields → the usage this call reports, where that is not simply the response's
        # ``usage`` (None: nothing to count). A video task's usage is counted on the first poll that
        # sees it finished, not again on every later poll of the same task.
        self.usage = usage

    def __repr__(self) -> str:
        return f"<Operation {self.name} {self.paths[0] if self.paths else ''}>"


# With content capture off, `llm.invocation_parameters` keeps only values known to carry nothing the
# application wrote: numbers and switches, and words from a fixed vocabulary. An allow-list, because
# every SDK release adds arguments (a JSON schema in `text.format`, a function name in `tool_choice`)
# that a list of private ones would let through until someone noticed.
NOT_RECORDED = "<not recorded>"
SCALAR = "scalar"  # a number, a boolean or null: never text
ANY_TEXT = "text"  # any string: the model (an endpoint id), ids the provider made
COUNT = "count"  # how many, not what: stop sequences


def words(*words: str) -> frozenset[str]:
    return frozenset(words)


SERVICE_TIERS = words("auto", "default", "flex", "scale", "priority")
ENCODINGS = words("float", "base64")
EFFORTS = words("none", "minimal", "low", "medium", "high", "xhigh")
VERBOSITY = words("low", "medium", "high")
FORMAT_TYPE = {"type": words("text", "json_object", "json_schema")}
THINKING = {"type": words("enabled", "disabled", "auto")}  # ModelArk's switch, in extra_body
TOOL_TYPES = words(
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
TOOL_CHOICE = (words("none", "auto", "required"), {"type": TOOL_TYPES, "mode": words("auto", "required")})
SAMPLING = {
    "model": ANY_TEXT,
    "stream": SCALAR,
    "stream_options": {
        "include_usage": SCALAR,
        "include_obfuscation": SCALAR,
        "chunk_include_usage": SCALAR,
    },
    "temperature": SCALAR,
    "top_p": SCALAR,
    "seed": SCALAR,
    "n": SCALAR,
    "frequency_penalty": SCALAR,
    "presence_penalty": SCALAR,
    "max_tokens": SCALAR,
    "stop": COUNT,
    "logprobs": SCALAR,
    "top_logprobs": SCALAR,
    "service_tier": SERVICE_TIERS,
    "store": SCALAR,
}


def safe_value(value: Any, shape: Any) -> Any:
    """``value`` if it has the ``shape`` an allow-list gives it, else :data:`NOT_RECORDED`.

    A shape is :data:`SCALAR`, :data:`ANY_TEXT`, :data:`COUNT`, a set of words, a dict of the shapes
    of an object's fields (others left out), a one-element list (every item has that shape) or a
    tuple of alternatives. None (no shape): the argument is not on the list.
    """
    if shape is None:
        return NOT_RECORDED
    if shape is SCALAR:
        return value if value is None or isinstance(value, (bool, int, float)) else NOT_RECORDED
    if shape is ANY_TEXT:
        return value if isinstance(value, str) else NOT_RECORDED
    if shape is COUNT:
        count = 1 if isinstance(value, str) else len(value) if isinstance(value, (list, tuple)) else None
        return f"<not recorded: {count}>" if count is not None else NOT_RECORDED
    if isinstance(shape, frozenset):
        return value if isinstance(value, str) and value in shape else NOT_RECORDED
    if isinstance(shape, tuple):
        for alternative in shape:
            safe = safe_value(value, alternative)
            if safe is not NOT_RECORDED:
                return safe
        return NOT_RECORDED
    if isinstance(shape, list):
        if not isinstance(value, (list, tuple)):
            return NOT_RECORDED
        return [safe_value(item, shape[0]) for item in value]
    if isinstance(value, dict):
        fields = value
    elif hasattr(value, "__pydantic_extra__") and not isinstance(value, type):  # an SDK model
        fields = fields_of(value)
    else:
        return NOT_RECORDED
    # Fields off the list are left out, names too: inside an object they may be the application's
    # own (a schema's properties), where an argument's name is the API's.
    return {k: safe_value(v, shape[k]) for k, v in fields.items() if k in shape}


# GenAI's ``gen_ai.output.type`` values: what an operation's ``output_format`` may name directly.
OUTPUT_TYPES = words("text", "json", "image", "speech")


def output_type(response_format: Any) -> str | None:
    if response_format is None:
        return None
    if isinstance(response_format, str):  # an output type named by the operation (images: "image")
        return response_format if response_format in OUTPUT_TYPES else None
    if isinstance(response_format, type):  # a pydantic class given to .parse()
        return "json"
    kind = get(response_format, "type")
    if kind in ("json_object", "json_schema"):
        return "json"
    if kind == "text":
        return "text"
    if kind in MEDIA_OUTPUT_TYPES:  # an operation's own output_format: what it generates
        return kind
    return None


MEDIA_OUTPUT_TYPES = frozenset({"image", "video"})


# ---------------------------------------------------------------------------------------- content


def conversation_content(
    args: dict[str, Any],
    content: dict[str, Any],
    whole: str | None,
    limit: int,
    budget: int,
    messages: Any = None,
) -> dict[str, Any]:
    """The content attributes of a conversation request: the whole request, its tool definitions,
    then its messages (``messages``, chat's by default) in the remaining budget."""
    if messages is None:
        messages = args.get("messages")
    attrs: dict[str, Any] = {
        OI_INPUT_VALUE: whole if whole is not None else truncate(to_json(content), limit),
        OI_INPUT_MIME_TYPE: JSON,
    }
    tools = content.get("tools")
    tool_attrs = 0
    if isinstance(tools, list):
        for i, tool in enumerate(tools[: budget // 4]):
            attrs[OI_TOOL_SCHEMA.format(i)] = truncate(to_json(tool), limit)
            tool_attrs += 1
    if isinstance(messages, (list, tuple)):
        attrs.update(message_attributes(OI_INPUT_MESSAGES, messages, budget - tool_attrs, limit))
    return attrs


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


# ------------------------------------------------------------------------------------------ usage

_USAGE_NAMES = (
    (GENAI_USAGE_INPUT_TOKENS, OI_TOKENS_PROMPT),
    (GENAI_USAGE_OUTPUT_TOKENS, OI_TOKENS_COMPLETION),
    (GENAI_USAGE_TOTAL_TOKENS, OI_TOKENS_TOTAL),
    (GENAI_USAGE_CACHE_READ, OI_TOKENS_CACHE_READ),
    (GENAI_USAGE_CACHE_CREATION, OI_TOKENS_CACHE_WRITE),
    (GENAI_USAGE_REASONING, OI_TOKENS_REASONING),
)
# Multimodal embeddings split their input tokens by modality; neither convention has names for it.
_MODALITY_NAMES = (
    ("text_tokens", ARKTRACE_TEXT_INPUT_TOKENS),
    ("image_tokens", ARKTRACE_IMAGE_INPUT_TOKENS),
)


def usage_attributes(usage: Any) -> dict[str, Any]:
    """Token counts, normalised across ModelArk, Moonshot, DeepSeek and Qwen usage layouts.

    Only numbers the provider reported are written; a missing count stays missing.
    """
    usage = fields_of(usage)
    prompt = _count(usage, "prompt_tokens", "input_tokens")
    completion = _count(usage, "completion_tokens", "output_tokens")
    total = _count(usage, "total_tokens")
    if total is None and prompt is not None and completion is not None and prompt + completion <= MAX_COUNT:
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
        if type(value) is int and 0 <= value <= MAX_COUNT:
            return value
    return None


def price_tokens(prices: Any, attrs: dict[str, Any], request_model: Any) -> Any:
    """Price a call by its measured tokens: input (cached ones at their own price) and output."""
    return prices.cost(
        attrs.get(GENAI_RESPONSE_MODEL),
        request_model,
        attrs.get(GENAI_USAGE_INPUT_TOKENS),
        attrs.get(GENAI_USAGE_OUTPUT_TOKENS),
        attrs.get(GENAI_USAGE_CACHE_READ),
    )


def price_input_tokens(prices: Any, attrs: dict[str, Any], request_model: Any) -> Any:
    """Price a call that produces no tokens (embeddings): its output counts as zero, not unknown."""
    return prices.cost(
        attrs.get(GENAI_RESPONSE_MODEL),
        request_model,
        attrs.get(GENAI_USAGE_INPUT_TOKENS),
        attrs.get(GENAI_USAGE_OUTPUT_TOKENS, 0),
        attrs.get(GENAI_USAGE_CACHE_READ),
    )


# ----------------------------------------------------------------------------------- stream state
# What a stream delivered, folded chunk by chunk into the shape of a non-streamed response.
#
# ``record(chunk)`` runs once per chunk on the caller's thread, so it does the least it can: append
# fragments to lists (joined once at the end, so accumulation is O(total size)), note the first chunk
# that carries output, keep the last usage seen. Text beyond the span's value-length limit is counted,
# not kept, so a stream of any length holds bounded memory. ``as_response()`` rebuilds a response
# dict that the one response extractor reads, so streamed and non-streamed calls are described the
# same way. The per-chunk code of each operation's state reads each SDK field once and inlines what
# a helper would do: it is the one place where arktrace's cost grows with the size of a response
# (``benchmarks/`` measures it).


class Text:
    """Fragments of one text, kept up to a limit; what is past the limit is only counted."""

    __slots__ = ("cut", "kept", "parts")

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.kept = 0
        self.cut = 0

    def add(self, text: str, limit: int) -> None:
        if self.kept < limit:
            self.parts.append(text)
            self.kept += len(text)
        else:
            self.cut += len(text)

    def value(self, limit: int) -> str:
        text = "".join(self.parts)
        return truncate(text, limit, self.cut) if self.cut else text


class Choice:
    __slots__ = ("content", "finish_reason", "reasoning", "role", "tool_calls")

    def __init__(self) -> None:
        self.role: str | None = None
        self.content = Text()
        self.reasoning = Text()
        self.tool_calls: dict[int, list[Any]] = {}  # index -> [id, name, [argument fragments]]
        self.finish_reason: str | None = None


class StreamState:
    """Shared head: ids, model, usage and time to first output."""

    __slots__ = (
        "choices",
        "created",
        "failure",
        "first_output_at",
        "limit",
        "model",
        "output_chunks",
        "response_id",
        "service_tier",
        "usage",
    )
    object_name = ""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.response_id: str | None = None
        self.model: str | None = None
        self.created: int | None = None
        self.service_tier: str | None = None
        self.usage: Any = None
        self.choices: dict[int, Choice] = {}
        self.first_output_at: float | None = None
        self.output_chunks = 0
        self.failure: BaseException | None = None  # reported by the provider inside the stream

    def _head(self, chunk: Any) -> None:
        self.response_id = get(chunk, "id")
        self.model = get(chunk, "model")
        self.created = get(chunk, "created")
        self.service_tier = get(chunk, "service_tier")

    def record(self, chunk: Any) -> bool:
        """Fold one chunk in. True when it carried top-level usage: arktrace may have asked for that
        (``stream_options.include_usage``) and then hides it from the caller."""
        raise NotImplementedError

    def hide_usage(self, chunk: Any) -> bool:
        """Hide the usage arktrace asked for from the caller, on a chunk :meth:`record` said carried it.

        True: the chunk is usage only, and is dropped. False: the usage came on a content chunk
        (DeepSeek's layout) and is taken off it. Chat-style chunks (``choices`` and ``usage``): an
        operation whose streams are asked for no usage (``include_usage=False``) never gets here.
        """
        if not getattr(chunk, "choices", None):
            return True
        chunk.usage = None
        return False

    def _choice(self, index: int) -> Choice:
        state = self.choices[index] = Choice()
        return state

    def _produced(self) -> None:
        self.output_chunks += 1
        if self.first_output_at is None:
            self.first_output_at = perf_counter()

    def as_response(self) -> dict[str, Any]:
        response: dict[str, Any] = {"id": self.response_id, "object": self.object_name}
        if self.created is not None:
            response["created"] = self.created
        response["model"] = self.model
        if self.service_tier is not None:
            response["service_tier"] = self.service_tier
        response["choices"] = [self._choice_dict(i, c) for i, c in sorted(self.choices.items())]
        if self.usage is not None:
            usage = self.usage
            dump = getattr(usage, "model_dump", None)
            response["usage"] = dump_model(dump) if dump is not None else usage
        return response

    def _choice_dict(self, index: int, choice: Choice) -> dict[str, Any]:
        raise NotImplementedError
