"""Message content in the OpenTelemetry GenAI form: ``gen_ai.input.messages``, ``gen_ai.output.messages``,
``gen_ai.system_instructions`` and ``gen_ai.tool.definitions``, each one JSON string.

The shapes are the conventions' JSON schemas (``gen-ai-input-messages.json``, ``-output-messages.json``,
``-system-instructions.json``, ``-tool-definitions.json`` in open-telemetry/semantic-conventions-genai;
the tests validate against their rules, restated in ``tests/genai_schema.py``): a message is
``{"role", "parts": [...], "name"?}`` (an output message adds ``finish_reason``), and a part is one of
``text``, ``reasoning``, ``tool_call`` (``id``, ``name``, ``arguments``), ``tool_call_response``
(``id``, ``response``), ``server_tool_call`` (a tool the provider ran: web search, ...), ``uri``
(media by URL), ``file`` (media by the provider's file id) and ``blob`` (inline media).

Inline media are never recorded: a ``data:`` URL or base64 audio becomes a ``blob`` part with its
modality and MIME type and an empty ``content`` (the schema requires the field; empty is valid base64
and cannot be mistaken for the payload). Tool-call arguments stay the JSON text the model wrote: parsing
it would cost a ``json.loads`` per call, and a text cut at the length limit is no JSON anyway.

Pure functions over the OpenAI-shaped request (``args`` as sent) and response (an SDK model, a raw
body's dict, or a stream state's ``as_response()``); the caller's objects are read, never modified.
Each attribute is one encode of a list of plain dicts; a value longer than ``limit`` (the setting that
bounds OpenInference's content too) keeps the newest messages that fit, whole, so it stays valid JSON.
"""

from __future__ import annotations

from json.encoder import c_make_encoder, encode_basestring
from typing import Any, Callable

from .._content import _json_default, fields_of, get, sanitize, to_json, truncate
from .names import (
    GENAI_INPUT_MESSAGES,
    GENAI_OUTPUT_MESSAGES,
    GENAI_SYSTEM_INSTRUCTIONS,
    GENAI_TOOL_DEFINITIONS,
)

__all__ = [
    "chat_request",
    "chat_response",
    "completion_request",
    "completion_response",
    "responses_request",
    "responses_response",
]

_MIN_CAP = 16  # shortest a text is cut to while fitting a value under the limit
# The chat API's finish reasons, in the conventions' words (FinishReason in the output schema).
_FINISH_REASONS = {"tool_calls": "tool_call", "function_call": "tool_call"}
# A response that never said why it ended: a stream closed early, a Responses stream before its status.
UNFINISHED = "incomplete"
_INCOMPLETE_REASONS = {"max_output_tokens": "length", "content_filter": "content_filter"}
_RESPONSES_TEXT = frozenset({"input_text", "output_text", "text"})
_NOT_BUILTIN = frozenset({"message", "reasoning", "function_call", "custom_tool_call"})
_AUDIO_TYPES = {"mp3": "audio/mpeg", "wav": "audio/wav", "pcm16": "audio/pcm", "flac": "audio/flac"}


# The C encoder itself, made once and without the circular-reference bookkeeping: what it encodes here
# are lists this module built (the application's own values inside them, tool parameters, already went
# through the SDK's encoder). JSONEncoder.encode would build it again for every value, a third of the cost.
_c_encoder = (
    c_make_encoder(None, _json_default, encode_basestring, None, ":", ",", False, False, True)
    if c_make_encoder is not None
    else None
)


def _to_json(value: Any) -> str:
    if _c_encoder is not None:
        try:
            return "".join(_c_encoder(value, 0))
        except (RecursionError, ValueError):
            pass  # a self-referencing value: the general encoder says so
    return to_json(value)


def _items(value: Any) -> Any:
    """``value`` if it is a list (a provider's malformed answer may hold anything there), else nothing."""
    return value if isinstance(value, (list, tuple)) else ()


def _cut(text: str, cap: int) -> str:
    return text if len(text) <= cap else truncate(text, cap)


def _value(value: Any, cap: int) -> Any:
    """A tool's arguments or result: text cut to ``cap``, anything else sanitised (inline data out)."""
    if isinstance(value, str):
        return _cut(value, cap)
    return sanitize(value, cap)


# --------------------------------------------------------------------------------------------- media


def _media(url: Any, modality: str, cap: int) -> dict[str, Any] | None:
    """A ``uri`` part for media sent by URL; a ``blob`` part without its payload for inline data."""
    if not isinstance(url, str):
        return None
    if url.startswith("data:"):
        head = url[5 : url.find(",")] if "," in url else url[5:]
        mime = head.split(";", 1)[0]
        part: dict[str, Any] = {"type": "blob", "modality": modality}
        if mime:
            part["mime_type"] = mime
        part["content"] = ""
        return part
    return {"type": "uri", "modality": modality, "uri": _cut(url, cap)}


def _chat_part(part: Any, cap: int) -> dict[str, Any] | None:
    kind = get(part, "type")
    if kind == "text":
        text = get(part, "text")
        return {"type": "text", "content": _cut(text, cap) if isinstance(text, str) else ""}
    if kind == "image_url":
        return _media(get(get(part, "image_url"), "url"), "image", cap)
    if kind == "video_url":  # ModelArk's video understanding
        return _media(get(get(part, "video_url"), "url"), "video", cap)
    if kind == "input_audio":
        audio = get(part, "input_audio")
        fmt = get(audio, "format")
        blob: dict[str, Any] = {"type": "blob", "modality": "audio"}
        if isinstance(fmt, str):
            blob["mime_type"] = _AUDIO_TYPES.get(fmt, "audio/" + fmt)
        blob["content"] = ""
        return blob
    if kind == "file":
        file = get(part, "file")
        file_id = get(file, "file_id")
        if isinstance(file_id, str):
            return {"type": "file", "modality": "document", "file_id": file_id}
        return {"type": "blob", "modality": "document", "content": ""}
    if kind == "refusal":
        refusal = get(part, "refusal")
        return {"type": "text", "content": _cut(refusal, cap) if isinstance(refusal, str) else ""}
    if isinstance(kind, str):
        return {"type": kind}
    return None


def _content_parts(content: Any, cap: int, parts: list[dict[str, Any]]) -> None:
    if isinstance(content, str):
        if content:  # an assistant's "" beside its tool calls is no text
            parts.append({"type": "text", "content": _cut(content, cap)})
    elif isinstance(content, (list, tuple)):
        for item in content:
            part = _chat_part(item, cap)
            if part is not None:
                parts.append(part)


def _tool_call(call: Any, cap: int) -> dict[str, Any]:
    function = get(call, "function")
    name = get(function, "name")
    part: dict[str, Any] = {
        "type": "tool_call",
        "id": get(call, "id"),
        "name": name if isinstance(name, str) else "",
    }
    arguments = get(function, "arguments")
    if arguments is not None:
        part["arguments"] = _value(arguments, cap)
    return part


# ---------------------------------------------------------------------------------------------- chat


def _chat_message(message: Any, cap: int, default_role: str = "user") -> dict[str, Any]:
    if type(message) is dict and len(message) == 2:
        # The usual request message, {"role", "content": text}: built without the look-ups below.
        role = message.get("role")
        content = message.get("content")
        if type(content) is str and type(role) is str and role != "tool" and role != "function":
            if not content:
                return {"role": role, "parts": []}
            text = content if len(content) <= cap else truncate(content, cap)
            return {"role": role, "parts": [{"type": "text", "content": text}]}
    message = fields_of(message)
    role = message.get("role")
    role = role if isinstance(role, str) else default_role
    parts: list[dict[str, Any]] = []
    if role == "tool" or role == "function":
        parts.append(
            {
                "type": "tool_call_response",
                "id": message.get("tool_call_id") if role == "tool" else message.get("name"),
                "response": _value(message.get("content"), cap),
            }
        )
        return {"role": "tool", "parts": parts}
    reasoning = message.get("reasoning_content")
    if isinstance(reasoning, str) and reasoning:
        parts.append({"type": "reasoning", "content": _cut(reasoning, cap)})
    _content_parts(message.get("content"), cap, parts)
    refusal = message.get("refusal")
    if isinstance(refusal, str) and refusal:
        parts.append({"type": "text", "content": _cut(refusal, cap)})
    tool_calls = message.get("tool_calls")
    if isinstance(tool_calls, (list, tuple)):
        for call in tool_calls:
            parts.append(_tool_call(call, cap))
    function_call = message.get("function_call")  # the deprecated single function call
    if function_call is not None:
        parts.append(_tool_call({"function": function_call}, cap))
    out: dict[str, Any] = {"role": role, "parts": parts}
    name = message.get("name")
    if isinstance(name, str):
        out["name"] = name
    return out


def _tool_definitions(tools: Any, cap: int) -> list[dict[str, Any]]:
    """Chat tools (``{"type": "function", "function": {...}}``), legacy ``functions`` and Responses tools
    (flat functions, built-in tools named by their type)."""
    definitions: list[dict[str, Any]] = []
    for tool in tools:
        tool = fields_of(tool)
        kind = tool.get("type")
        nested = tool.get("function") if kind == "function" else None
        function = fields_of(nested) if nested is not None else tool
        name = function.get("name")
        if kind is None and isinstance(name, str):  # an item of the legacy `functions` list
            kind = "function"
        if not isinstance(kind, str):
            continue
        definition: dict[str, Any] = {"type": kind, "name": name if isinstance(name, str) else kind}
        description = function.get("description")
        if isinstance(description, str):
            definition["description"] = _cut(description, cap)
        parameters = function.get("parameters")
        if isinstance(parameters, dict):
            definition["parameters"] = sanitize(parameters, cap)
        definitions.append(definition)
    return definitions


# ----------------------------------------------------------------------------------------- responses


def _responses_item(item: Any, cap: int) -> dict[str, Any] | None:
    item = fields_of(item)
    kind = item.get("type")
    if kind == "function_call" or kind == "custom_tool_call":
        arguments = item.get("arguments")
        if arguments is None:
            arguments = item.get("input")  # custom tools take free text
        call = {"id": item.get("call_id"), "function": {"name": item.get("name"), "arguments": arguments}}
        return {"role": "assistant", "parts": [_tool_call(call, cap)]}
    if kind == "function_call_output" or kind == "custom_tool_call_output":
        part = {
            "type": "tool_call_response",
            "id": item.get("call_id"),
            "response": _value(item.get("output"), cap),
        }
        return {"role": "tool", "parts": [part]}
    if kind == "reasoning":
        parts = _reasoning_parts(item, cap)
        return {"role": "assistant", "parts": parts} if parts else None
    if kind not in (None, "message"):
        return None  # references to earlier items carry no content of their own
    role = item.get("role")
    parts: list[dict[str, Any]] = []
    content = item.get("content")
    if isinstance(content, str):
        parts.append({"type": "text", "content": _cut(content, cap)})
    elif isinstance(content, (list, tuple)):
        for part in content:
            converted = _responses_part(fields_of(part), cap)
            if converted is not None:
                parts.append(converted)
    return {"role": role if isinstance(role, str) else "user", "parts": parts}


def _responses_part(part: Any, cap: int) -> dict[str, Any] | None:
    kind = part.get("type")
    if kind in _RESPONSES_TEXT:
        text = part.get("text")
        return {"type": "text", "content": _cut(text, cap) if isinstance(text, str) else ""}
    if kind == "refusal":
        refusal = part.get("refusal")
        return {"type": "text", "content": _cut(refusal, cap) if isinstance(refusal, str) else ""}
    if kind == "input_image" or kind == "input_file":
        modality = "image" if kind == "input_image" else "document"
        url = part.get("image_url") or part.get("file_url") or part.get("file_data")
        if isinstance(url, str):
            if kind == "input_file" and not url.startswith(("data:", "http:", "https:")):
                return {"type": "blob", "modality": modality, "content": ""}  # bare base64 file_data
            return _media(url, modality, cap)
        file_id = part.get("file_id")
        if isinstance(file_id, str):
            return {"type": "file", "modality": modality, "file_id": file_id}
        return None
    if kind == "input_audio":
        return {"type": "blob", "modality": "audio", "content": ""}
    return {"type": kind} if isinstance(kind, str) else None


def _reasoning_parts(item: Any, cap: int) -> list[dict[str, Any]]:
    parts = []
    for key in ("summary", "content"):  # summary texts; reasoning text where a provider sends it
        for piece in _items(item.get(key)):
            text = get(piece, "text")
            if isinstance(text, str) and text:
                parts.append({"type": "reasoning", "content": _cut(text, cap)})
    return parts


def _responses_output(fields: Any, cap: int) -> list[dict[str, Any]]:
    """The output items as one assistant message, in order: reasoning, text, tool calls, and the
    provider's own tool calls (``server_tool_call``, named by their item type)."""
    parts: list[dict[str, Any]] = []
    calls_function = False
    for item in _items(fields.get("output")):
        item = fields_of(item)
        kind = item.get("type")
        if kind == "message":
            for part in _items(item.get("content")):
                converted = _responses_part(fields_of(part), cap)
                if converted is not None:
                    parts.append(converted)
        elif kind == "reasoning":
            parts.extend(_reasoning_parts(item, cap))
        elif kind == "function_call" or kind == "custom_tool_call":
            parts.extend(_responses_item(item, cap)["parts"])  # type: ignore[index]
            calls_function = True
        elif isinstance(kind, str) and kind not in _NOT_BUILTIN:
            action = item.get("action")
            details: dict[str, Any] = {"type": kind}
            if action is not None:
                details["action"] = _value(action, cap)
            parts.append(
                {"type": "server_tool_call", "id": item.get("id"), "name": kind, "server_tool_call": details}
            )
    if not parts:
        return []
    status = fields.get("status")
    if status == "completed":
        reason = "tool_call" if calls_function else "stop"
    elif status == "incomplete":
        detail = get(fields.get("incomplete_details"), "reason")
        reason = _INCOMPLETE_REASONS.get(detail, detail) if isinstance(detail, str) else "length"
    elif status == "failed":
        reason = "error"
    else:
        reason = UNFINISHED
    return [{"role": "assistant", "parts": parts, "finish_reason": reason}]


# ---------------------------------------------------------------------------------------- the writers


def _encode(build: Callable[[int], list[Any]], limit: int) -> str | None:
    """``build(limit)`` as JSON within ``limit`` characters, or None when there is nothing to write.

    The usual value fits: one build, one encode. One that does not keeps its newest messages that
    fit whole (the rest is in OpenInference's ``input.value``, cut, when both are written); when even
    the newest alone does not fit, its texts are cut shorter until it does.
    """
    items = build(limit)
    if not items:
        return None
    text = _to_json(items)
    if len(text) <= limit:
        return text
    cap = limit
    while True:
        total = 2  # the brackets
        keep = 0
        for item in reversed(items):
            size = len(_to_json(item)) + 1
            if total + size > limit:
                break
            total += size
            keep += 1
        if keep:
            return _to_json(items[-keep:])
        cap //= 4
        if cap < _MIN_CAP:
            return None
        items = build(cap)


def _tools(args: dict[str, Any], limit: int, attrs: dict[str, str]) -> dict[str, str]:
    tools = args.get("tools") or args.get("functions")
    if isinstance(tools, (list, tuple)) and tools:
        value = _encode(lambda cap: _tool_definitions(tools, cap), limit)
        if value is not None:
            attrs[GENAI_TOOL_DEFINITIONS] = value
    return attrs


def chat_request(args: dict[str, Any], limit: int) -> dict[str, str]:
    """``gen_ai.input.messages`` and ``gen_ai.tool.definitions`` of a chat completions request."""
    attrs: dict[str, str] = {}
    messages = args.get("messages")
    if isinstance(messages, (list, tuple)):
        value = _encode(lambda cap: [_chat_message(m, cap) for m in messages], limit)
        if value is not None:
            attrs[GENAI_INPUT_MESSAGES] = value
    return _tools(args, limit, attrs)


def completion_request(args: dict[str, Any], limit: int) -> dict[str, str]:
    """``gen_ai.input.messages`` of a legacy completions request: its prompts as one user message."""
    attrs: dict[str, str] = {}
    prompt = args.get("prompt")
    prompts = [prompt] if isinstance(prompt, str) else prompt if isinstance(prompt, list) else ()
    texts = [p for p in prompts if isinstance(p, str)]
    if texts:
        value = _encode(
            lambda cap: [
                {"role": "user", "parts": [{"type": "text", "content": _cut(t, cap)} for t in texts]}
            ],
            limit,
        )
        if value is not None:
            attrs[GENAI_INPUT_MESSAGES] = value
    return _tools(args, limit, attrs)


def responses_request(args: dict[str, Any], limit: int) -> dict[str, str]:
    """``gen_ai.system_instructions``, ``gen_ai.input.messages`` and ``gen_ai.tool.definitions`` of a
    Responses API request."""
    attrs: dict[str, str] = {}
    instructions = args.get("instructions")
    if isinstance(instructions, str) and instructions:
        value = _encode(lambda cap: [{"type": "text", "content": _cut(instructions, cap)}], limit)
        if value is not None:
            attrs[GENAI_SYSTEM_INSTRUCTIONS] = value
    items = args.get("input")
    if isinstance(items, str):
        value = _encode(
            lambda cap: [{"role": "user", "parts": [{"type": "text", "content": _cut(items, cap)}]}],
            limit,
        )
    elif isinstance(items, (list, tuple)):
        value = _encode(
            lambda cap: [m for m in (_responses_item(i, cap) for i in items) if m is not None], limit
        )
    else:
        value = None
    if value is not None:
        attrs[GENAI_INPUT_MESSAGES] = value
    return _tools(args, limit, attrs)


def responses_response(fields: Any, limit: int) -> dict[str, str]:
    """``gen_ai.output.messages`` of a Responses API response: one message for the whole output."""
    value = _encode(lambda cap: _responses_output(fields, cap), limit)
    return {GENAI_OUTPUT_MESSAGES: value} if value is not None else {}


def chat_response(fields: Any, limit: int) -> dict[str, str]:
    """``gen_ai.output.messages`` of a chat completion: one message per choice, with its finish reason."""
    return _choices_output(fields, limit, chat=True)


def completion_response(fields: Any, limit: int) -> dict[str, str]:
    """``gen_ai.output.messages`` of a legacy completion: one message per choice's text."""
    return _choices_output(fields, limit, chat=False)


def _choices_output(fields: Any, limit: int, chat: bool) -> dict[str, str]:
    choices = fields.get("choices")
    if not isinstance(choices, (list, tuple)) or not choices:
        return {}

    def build(cap: int) -> list[dict[str, Any]]:
        out = []
        for choice in choices:
            choice = fields_of(choice)
            if chat:
                message = _chat_message(choice.get("message"), cap, "assistant")
            else:
                text = choice.get("text")
                parts = [{"type": "text", "content": _cut(text, cap)}] if isinstance(text, str) else []
                message = {"role": "assistant", "parts": parts}
            reason = choice.get("finish_reason")
            message["finish_reason"] = (
                _FINISH_REASONS.get(reason, reason) if isinstance(reason, str) else UNFINISHED
            )
            out.append(message)
        return out

    value = _encode(build, limit)
    return {GENAI_OUTPUT_MESSAGES: value} if value is not None else {}
