"""What the fake ModelArk server says: pure functions, no sockets.

Everything here is deterministic apart from ids and timestamps, so tests can compute the
expected reply text and token counts with the same rules (see ``count_tokens``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import os
import re
import struct
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from types import MappingProxyType
from typing import Any, Callable, Union

USAGE_STYLES = ("modelark", "moonshot", "deepseek", "qwen")

_BUILTIN_MODELS = (
    "seed-1-8-251228",
    "seed-1-6-250615",
    "seed-1-6-flash-250715",
    "kimi-k2-250711",
    "deepseek-v3-2-251201",
    "doubao-embedding-text-240715",
    "skylark-embedding-vision-250615",
    "gpt-4o-mini",
)

DEFAULT_ENDPOINTS: Mapping[str, str] = MappingProxyType(
    {
        "ep-20250101120000-abcde": "seed-1-8-251228",
        "ep-20250101120000-fghij": "seed-1-6-flash-250715",
        "ep-20250101120000-embed": "doubao-embedding-text-240715",
        "ep-20250101120000-mmemb": "skylark-embedding-vision-250615",
        **{name: name for name in _BUILTIN_MODELS},
    }
)

# What an endpoint id the server does not know is served by (any other unknown name is served as itself).
DEFAULT_SERVED_MODEL = "seed-1-8-251228"

# Resolved model names that think by default (a request can still switch it with `thinking`).
REASONING_PREFIXES = ("seed-1-8", "seed-1-6-2", "seed-2-0", "deepseek")

MIDSTREAM_MODEL = "ep-error-midstream"
MIDSTREAM_SERVED_BY = "seed-1-6-flash-250715"
MIDSTREAM_AFTER = 2
_MAGIC_ERROR = re.compile(r"ep-error-([45]\d\d)\Z")

EMBEDDING_DIMENSIONS = 8
IMAGE_TOKENS = 256  # per image_url part of a multimodal embedding input
VIDEO_TOKENS = 1024  # per video_url part, reported as image_tokens
ECHO_LIMIT = 32  # tokens of the user's message echoed back
TOOL_FRAGMENT_CHARS = 8

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_TOKEN = f"[{_CJK}]|[^\\W{_CJK}]+|[^\\w\\s]"
_TOKEN_RE = re.compile(_TOKEN)
_PIECE_RE = re.compile(f"\\s*(?:{_TOKEN})")

_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
dumps = _ENCODER.encode


def count_tokens(text: str) -> int:
    """The server's tokenizer: a run of letters, digits and underscores is one token, and so is
    every other non-space character (punctuation, each CJK character)."""
    return len(_TOKEN_RE.findall(text))


def split_tokens(text: str) -> list[str]:
    """``text`` cut into tokens, each keeping the whitespace before it (so ``"".join`` gives the
    text back, minus trailing whitespace)."""
    return _PIECE_RE.findall(text)


def new_id() -> str:
    """``"02"`` + 13-digit epoch milliseconds + 38 lowercase hex digits (53 characters)."""
    return f"02{int(time.time() * 1000):013d}{os.urandom(19).hex()}"


class ArkError(Exception):
    """An error response; the server appends ``" Request id: <id>"`` to the message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


_DEFAULT_CODES = {
    400: "InvalidParameter",
    401: "AuthenticationError",
    403: "AccessDenied",
    404: "InvalidEndpointOrModel.NotFound",
    429: "RateLimitExceeded.EndpointRPMExceeded",
    500: "InternalServiceError",
    503: "ServerOverloaded",
}

_MESSAGES = {
    "MissingParameter": "The request failed because it is missing one or multiple required parameters.",
    "InvalidParameter": "One or more parameters specified in the request are not valid.",
    "AuthenticationError": "The API key or AK/SK in the request is missing or invalid.",
    "AccessDenied": "The request failed because you do not have access to the requested resource.",
    "AccountOverdueError": "The request failed because your account has an overdue balance.",
    "InvalidEndpointOrModel.NotFound": (
        "The model or endpoint {model} does not exist or you do not have access to it."
    ),
    "InvalidAction": "The requested action {action} is not supported.",
    "RateLimitExceeded.EndpointRPMExceeded": (
        "The request rate of the endpoint exceeds its RPM (requests per minute) limit. Please retry later."
    ),
    "RateLimitExceeded.EndpointTPMExceeded": (
        "The token rate of the endpoint exceeds its TPM (tokens per minute) limit. Please retry later."
    ),
    "ServerOverloaded": "The service is currently overloaded. Please retry later.",
    "InternalServiceError": "The service encountered an unexpected internal error.",
}


def error_type(status: int) -> str:
    """The HTTP reason phrase as one word: 429 -> ``TooManyRequests``."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        return "Error"
    return re.sub(r"[^A-Za-z]", "", phrase)


def make_error(status: int, code: str | None = None, **fmt: str) -> ArkError:
    """An ``ArkError`` with the default code for ``status`` and the code's usual message."""
    if code is None:
        code = _DEFAULT_CODES.get(status, error_type(status))
    message = _MESSAGES.get(code, f"The request failed with error {code}.")
    fmt.setdefault("model", "unknown")
    fmt.setdefault("action", "unknown")
    return ArkError(status, code, message.format(**fmt))


def error_json(err: ArkError, request_id: str) -> str:
    body = {
        "error": {
            "code": err.code,
            "message": f"{err.message} Request id: {request_id}",
            "param": "",
            "type": error_type(err.status),
        }
    }
    return dumps(body)


def magic_error(model: str) -> ArkError | None:
    """``ep-error-<status>`` -> that status's default error."""
    m = _MAGIC_ERROR.match(model)
    return make_error(int(m.group(1)), model=model) if m else None


def is_reasoning_model(model: str) -> bool:
    return model.startswith(REASONING_PREFIXES) or "thinking" in model


# ---------------------------------------------------------------------------------------------
# request helpers


def require(body: dict[str, Any], *names: str) -> None:
    for name in names:
        value = body.get(name)
        if value is None or value == "" or value == []:
            raise ArkError(
                400,
                "MissingParameter",
                f"The request failed because it is missing one or multiple required parameters: {name}.",
            )


def invalid(message: str) -> ArkError:
    return ArkError(400, "InvalidParameter", message)


def _opt_int(body: dict[str, Any], name: str, minimum: int = 0) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise invalid(f"The parameter {name} specified in the request is not valid: {value!r}.")
    return value


def content_text(content: Any) -> str:
    """The text of a message's ``content``: a string, or the ``text`` parts of a list."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            p["text"]
            for p in content
            if isinstance(p, dict) and p.get("type") == "text" and isinstance(p.get("text"), str)
        )
    return ""


def prompt_tokens_of_messages(messages: list[dict[str, Any]]) -> int:
    """Tokens in every message's text content plus the names and arguments of its tool calls."""
    total = 0
    for msg in messages:
        total += count_tokens(content_text(msg.get("content")))
        for call in msg.get("tool_calls") or ():
            fn = call.get("function") if isinstance(call, dict) else None
            if isinstance(fn, dict):
                total += count_tokens(str(fn.get("name") or ""))
                total += count_tokens(str(fn.get("arguments") or ""))
    return total


def _clip(text: str) -> str:
    return "".join(split_tokens(text)[:ECHO_LIMIT]).strip()


def default_reply(body: dict[str, Any]) -> str:
    """``"Echo: <first 32 tokens of the last user message>"``; after a tool result
    ``"The tool returned: <first 32 tokens of it>"``; for legacy completions the prompt is echoed."""
    text = ""
    messages = body.get("messages")
    if isinstance(messages, list) and messages:
        last = messages[-1]
        if last.get("role") == "tool":
            return "The tool returned: " + _clip(content_text(last.get("content")))
        for msg in reversed(messages):
            if msg.get("role") == "user":
                text = content_text(msg.get("content"))
                break
    else:
        prompt = body.get("prompt")
        if isinstance(prompt, list) and prompt:
            prompt = prompt[0]
        if isinstance(prompt, str):
            text = prompt
    text = _clip(text)
    return "Echo: " + text if text else "Hello! How can I help you today?"


REASONING_TEXT = "The user sent a message. I will answer it by echoing it back."
REASONING_TOOL_TEXT = "To answer this I should call the {name} tool."
REASONING_AFTER_TOOL_TEXT = "The tool returned a result. I will pass it on to the user."

Reply = Union[str, Callable[[dict[str, Any]], str], None]


# ---------------------------------------------------------------------------------------------
# the plan of one answer


@dataclass
class ToolCall:
    id: str
    name: str
    arguments: str

    @property
    def tokens(self) -> int:
        return count_tokens(self.name) + count_tokens(self.arguments)


@dataclass
class Answer:
    prompt_tokens: int
    cached_tokens: int
    content: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    tool_call: ToolCall | None = None
    finish_reason: str = "stop"
    web_search: str | None = None  # the query of a built-in web search the model ran first

    @property
    def completion_tokens(self) -> int:
        tool = self.tool_call.tokens if self.tool_call else 0
        search = count_tokens(self.web_search) if self.web_search else 0
        return len(self.reasoning) + len(self.content) + tool + search


def _reply_text(reply: Reply, body: dict[str, Any]) -> str:
    if reply is None:
        return default_reply(body)
    if callable(reply):
        return str(reply(body))
    return reply


def _cycle(pieces: list[str], n: int) -> list[str]:
    if not pieces:
        pieces = [" token"]
    k = len(pieces)
    return [pieces[i % k] for i in range(n)]


def _example_value(schema: Any) -> Any:
    if not isinstance(schema, dict):
        return "example"
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    return {"integer": 1, "number": 1.5, "boolean": True, "array": [], "object": {}, "null": None}.get(
        kind, "example"
    )


def example_arguments(parameters: Any) -> str:
    """Tool-call arguments: every required property (else every property) filled with an example
    value of its type (first enum value, ``"example"``, 1, 1.5, true, [] or {})."""
    if not isinstance(parameters, dict) or not isinstance(parameters.get("properties"), dict):
        return "{}"
    props = parameters["properties"]
    required = parameters.get("required")
    names = [n for n in required if n in props] if isinstance(required, list) and required else list(props)
    return dumps({name: _example_value(props[name]) for name in names})


def _pick_tool(tools: list[Any], tool_choice: Any) -> tuple[str, Any]:
    wanted = None
    if isinstance(tool_choice, dict):
        fn = tool_choice.get("function")
        if isinstance(fn, dict):
            wanted = fn.get("name")
    chosen = None
    for tool in tools:
        fn = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(fn, dict):
            continue
        if wanted is None or fn.get("name") == wanted:
            chosen = fn
            break
    if chosen is None:
        if wanted is None:
            raise invalid("The parameter tools specified in the request is not valid.")
        return str(wanted), None
    return str(chosen.get("name") or "tool"), chosen.get("parameters")


def plan_chat(body: dict[str, Any], model: str, reply: Reply, cached_tokens: int) -> Answer:
    """Decide what a chat completion answers (validating the request on the way)."""
    messages = body["messages"]
    if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
        raise invalid("The parameter messages specified in the request is not valid.")
    max_tokens = _opt_int(body, "max_tokens")
    max_completion = _opt_int(body, "max_completion_tokens")
    if max_tokens is not None and max_completion is not None:
        raise invalid("max_tokens and max_completion_tokens cannot be set at the same time.")
    chunks = _opt_int(body, "arktrace_chunks")
    prompt = prompt_tokens_of_messages(messages)
    answer = Answer(prompt_tokens=prompt, cached_tokens=min(max(cached_tokens, 0), prompt))

    if chunks is not None:  # benchmark mode: exactly `chunks` one-token content chunks, nothing else
        answer.content = _cycle(split_tokens(_reply_text(reply, body)), chunks)
        return answer

    thinking = body.get("thinking")
    mode = thinking.get("type") if isinstance(thinking, dict) else None
    if mode == "enabled":
        reasoning = True
    elif mode == "disabled" or body.get("reasoning_effort") == "minimal":
        reasoning = False
    else:
        reasoning = is_reasoning_model(model)

    tools = body.get("tools")
    tool_choice = body.get("tool_choice")
    last_role = messages[-1].get("role")
    if isinstance(tools, list) and tools and tool_choice != "none" and last_role != "tool":
        name, parameters = _pick_tool(tools, tool_choice)
        answer.tool_call = ToolCall("call_" + os.urandom(12).hex(), name, example_arguments(parameters))
        answer.finish_reason = "tool_calls"
        if reasoning:
            answer.reasoning = split_tokens(REASONING_TOOL_TEXT.format(name=name))
        return answer

    if reasoning:
        text = REASONING_AFTER_TOOL_TEXT if last_role == "tool" else REASONING_TEXT
        answer.reasoning = split_tokens(text)
    answer.content = split_tokens(_reply_text(reply, body))
    _truncate(answer, max_tokens, max_completion)
    return answer


def _truncate(answer: Answer, max_tokens: int | None, max_completion: int | None) -> None:
    # max_tokens excludes the chain of thought, max_completion_tokens includes it.
    reasoning, content = answer.reasoning, answer.content
    if max_completion is not None:
        reasoning = reasoning[:max_completion]
        content = content[: max_completion - len(reasoning)]
    elif max_tokens is not None:
        content = content[:max_tokens]
    if len(reasoning) < len(answer.reasoning) or len(content) < len(answer.content):
        answer.reasoning, answer.content, answer.finish_reason = reasoning, content, "length"


def plan_completion(body: dict[str, Any], reply: Reply, cached_tokens: int) -> Answer:
    """Decide what a legacy text completion answers."""
    prompt = body["prompt"]
    if isinstance(prompt, str):
        prompt_tokens = count_tokens(prompt)
    elif isinstance(prompt, list):
        prompt_tokens = 0
        for item in prompt:
            if isinstance(item, str):
                prompt_tokens += count_tokens(item)
            elif isinstance(item, list):
                prompt_tokens += len(item)
            else:
                prompt_tokens += 1
    else:
        raise invalid("The parameter prompt specified in the request is not valid.")
    max_tokens = _opt_int(body, "max_tokens")
    chunks = _opt_int(body, "arktrace_chunks")
    answer = Answer(prompt_tokens=prompt_tokens, cached_tokens=min(max(cached_tokens, 0), prompt_tokens))
    pieces = split_tokens(_reply_text(reply, body))
    if chunks is not None:
        answer.content = _cycle(pieces, chunks)
    else:
        answer.content = pieces
        _truncate(answer, max_tokens, None)
    return answer


# ---------------------------------------------------------------------------------------------
# usage layouts


def usage(style: str, prompt: int, completion: int, reasoning: int, cached: int) -> dict[str, Any]:
    total = prompt + completion
    if style == "moonshot":
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": total,
            "cached_tokens": cached,
            "completion_tokens_details": {"reasoning_tokens": reasoning},
        }
    if style == "deepseek":
        return {
            "completion_tokens": completion,
            "prompt_tokens": prompt,
            "prompt_cache_hit_tokens": cached,
            "prompt_cache_miss_tokens": prompt - cached,
            "total_tokens": total,
            "completion_tokens_details": {"reasoning_tokens": reasoning},
            "prompt_tokens_details": {"cached_tokens": cached},
        }
    if style == "qwen":
        details: dict[str, int] = {"cached_tokens": cached}
        if cached:
            details["cache_creation_input_tokens"] = prompt - cached
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": total,
            "prompt_tokens_details": details,
            "completion_tokens_details": {"reasoning_tokens": reasoning},
        }
    return {
        "completion_tokens": completion,
        "prompt_tokens": prompt,
        "total_tokens": total,
        "prompt_tokens_details": {"cached_tokens": cached},
        "completion_tokens_details": {"reasoning_tokens": reasoning},
    }


def answer_usage(style: str, answer: Answer) -> dict[str, Any]:
    return usage(
        style, answer.prompt_tokens, answer.completion_tokens, len(answer.reasoning), answer.cached_tokens
    )


# ---------------------------------------------------------------------------------------------
# chat completions


def chat_completion(answer: Answer, rid: str, created: int, model: str, style: str) -> dict[str, Any]:
    message: dict[str, Any] = {"content": "".join(answer.content)}
    if answer.reasoning:
        message["reasoning_content"] = "".join(answer.reasoning)
    message["role"] = "assistant"
    call = answer.tool_call
    if call is not None:
        message["tool_calls"] = [
            {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}
        ]
    return {
        "choices": [
            {"finish_reason": answer.finish_reason, "index": 0, "logprobs": None, "message": message}
        ],
        "created": created,
        "id": rid,
        "model": model,
        "service_tier": "default",
        "object": "chat.completion",
        "usage": answer_usage(style, answer),
    }


def _event(text: str) -> bytes:
    return ("data: " + text + "\n\n").encode()


def _fragments(text: str) -> list[str]:
    step = TOOL_FRAGMENT_CHARS
    return [text[i : i + step] for i in range(0, len(text), step)] or [""]


def chat_stream(
    answer: Answer,
    rid: str,
    created: int,
    model: str,
    style: str,
    include_usage: bool,
    chunk_usage: bool,
) -> Iterator[bytes]:
    """The SSE events of a streamed chat completion (without ``data: [DONE]``)."""
    m = dumps(model)
    head = '{"choices":[{"delta":'
    tail = (
        f',"created":{created},"id":"{rid}","model":{m},"service_tier":"default",'
        '"object":"chat.completion.chunk","usage":'
    )
    prompt, cached = answer.prompt_tokens, answer.cached_tokens
    n_reasoning = len(answer.reasoning)

    def end(reasoning: int, completion: int) -> str:
        if not chunk_usage:
            return tail + "null}"
        return tail + dumps(usage(style, prompt, completion, reasoning, cached)) + "}"

    for i, piece in enumerate(answer.reasoning, 1):
        delta = '{"content":"","reasoning_content":' + dumps(piece) + ',"role":"assistant"}'
        yield _event(head + delta + ',"index":0}]' + end(i, i))

    if not chunk_usage:  # the hot path (benchmarks): one small string build per chunk
        pre = b"data: " + (head + '{"content":').encode()
        post = (',"role":"assistant"},"index":0}]' + end(0, 0) + "\n\n").encode()
        for piece in answer.content:
            yield pre + dumps(piece).encode() + post
    else:
        for i, piece in enumerate(answer.content, n_reasoning + 1):
            delta = '{"content":' + dumps(piece) + ',"role":"assistant"}'
            yield _event(head + delta + ',"index":0}]' + end(n_reasoning, i))

    call = answer.tool_call
    if call is not None:
        done = n_reasoning + count_tokens(call.name)
        frags = _fragments(call.arguments)
        items: list[dict[str, Any]] = [
            {"index": 0, "id": call.id, "type": "function", "function": {"name": call.name, "arguments": ""}}
        ]
        items += [{"index": 0, "function": {"arguments": f}} for f in frags]
        sent = ""
        for i, item in enumerate(items):
            sent += frags[i - 1] if i else ""
            delta = '{"content":"","role":"assistant","tool_calls":[' + dumps(item) + "]}"
            yield _event(head + delta + ',"index":0}]' + end(n_reasoning, done + count_tokens(sent)))

    full = dumps(answer_usage(style, answer))
    finish = f'{{"content":"","role":"assistant"}},"finish_reason":"{answer.finish_reason}","index":0'
    if style == "moonshot":  # Moonshot: usage inside the finishing choice, always
        finish += ',"usage":' + full
    top = full if chunk_usage or (include_usage and style == "deepseek") else "null"
    yield _event(head + finish + "}]" + tail + top + "}")

    if include_usage and style in ("modelark", "qwen"):
        yield _event(
            f'{{"id":"{rid}","choices":[],"created":{created},"model":{m},'
            f'"object":"chat.completion.chunk","usage":{full}}}'
        )


# ---------------------------------------------------------------------------------------------
# legacy completions


def completion(answer: Answer, rid: str, created: int, model: str, style: str) -> dict[str, Any]:
    choice = {"text": "".join(answer.content), "index": 0, "logprobs": None}
    choice["finish_reason"] = answer.finish_reason
    return {
        "id": rid,
        "object": "text_completion",
        "created": created,
        "model": model,
        "choices": [choice],
        "usage": answer_usage(style, answer),
    }


def completion_stream(
    answer: Answer,
    rid: str,
    created: int,
    model: str,
    style: str,
    include_usage: bool,
    chunk_usage: bool,
) -> Iterator[bytes]:
    """The SSE events of a streamed legacy completion (without ``data: [DONE]``); OpenAI's shape,
    so unlike chat chunks every choice carries ``finish_reason`` (null until the last)."""
    m = dumps(model)
    head = f'{{"id":"{rid}","object":"text_completion","created":{created},"model":{m},"choices":[{{"text":'
    prompt, cached = answer.prompt_tokens, answer.cached_tokens
    for i, piece in enumerate(answer.content, 1):
        top = dumps(usage(style, prompt, i, 0, cached)) if chunk_usage else "null"
        rest = ',"index":0,"logprobs":null,"finish_reason":null}],"usage":'
        yield _event(head + dumps(piece) + rest + top + "}")
    full = dumps(answer_usage(style, answer))
    finish = f'"","index":0,"logprobs":null,"finish_reason":"{answer.finish_reason}"'
    if style == "moonshot":
        finish += ',"usage":' + full
    top = full if chunk_usage or (include_usage and style == "deepseek") else "null"
    yield _event(head + finish + '}],"usage":' + top + "}")
    if include_usage and style in ("modelark", "qwen"):
        yield _event(
            f'{{"id":"{rid}","object":"text_completion","created":{created},"model":{m},'
            f'"choices":[],"usage":{full}}}'
        )


# ---------------------------------------------------------------------------------------------
# the Responses API

# Built-in tools the server runs itself before answering; OpenAI and ModelArk name web search alike.
WEB_SEARCH_TOOLS = ("web_search", "web_search_preview")


def _input_text(content: Any) -> str:
    """The text of a Responses input item's ``content``: a string, or its text parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            p["text"]
            for p in content
            if isinstance(p, dict)
            and p.get("type") in ("input_text", "output_text", "text")
            and isinstance(p.get("text"), str)
        )
    return ""


def responses_messages(body: dict[str, Any]) -> list[dict[str, Any]]:
    """``instructions`` and ``input`` as chat messages, so the chat rules (tokens, echo) apply to them."""
    messages: list[dict[str, Any]] = []
    instructions = body.get("instructions")
    if isinstance(instructions, str) and instructions:
        messages.append({"role": "system", "content": instructions})
    items = body["input"]
    if isinstance(items, str):
        return [*messages, {"role": "user", "content": items}]
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise invalid("The parameter input specified in the request is not valid.")
    for item in items:
        kind = item.get("type", "message")
        if kind == "message":
            messages.append({"role": item.get("role") or "user", "content": _input_text(item.get("content"))})
        elif kind == "function_call":
            call = {"function": {"name": item.get("name"), "arguments": item.get("arguments")}}
            messages.append({"role": "assistant", "content": "", "tool_calls": [call]})
        elif kind == "function_call_output":
            output = item.get("output")
            messages.append({"role": "tool", "content": output if isinstance(output, str) else dumps(output)})
    if not messages or messages[-1]["role"] == "system":
        raise invalid("The parameter input specified in the request is not valid.")
    return messages


def plan_response(body: dict[str, Any], model: str, reply: Reply, cached_tokens: int) -> Answer:
    """Decide what a Responses API call answers: the chat rules, on the Responses request shape."""
    messages = responses_messages(body)
    max_output = _opt_int(body, "max_output_tokens")
    prompt = prompt_tokens_of_messages(messages)
    answer = Answer(prompt_tokens=prompt, cached_tokens=min(max(cached_tokens, 0), prompt))

    thinking = body.get("thinking")
    mode = thinking.get("type") if isinstance(thinking, dict) else None
    effort = body.get("reasoning")
    effort = effort.get("effort") if isinstance(effort, dict) else None
    if mode == "enabled":
        reasoning = True
    elif mode == "disabled" or effort == "minimal":
        reasoning = False
    else:
        reasoning = is_reasoning_model(model)

    tools = body.get("tools")
    tools = [t for t in tools if isinstance(t, dict)] if isinstance(tools, list) else []
    functions = [t for t in tools if t.get("type") == "function"]
    searching = any(t.get("type") in WEB_SEARCH_TOOLS for t in tools)
    tool_choice = body.get("tool_choice")
    last_role = messages[-1]["role"]
    if functions and tool_choice != "none" and last_role != "tool":
        # Responses function tools are flat ({"type","name","parameters"}): the chat picker reads them
        # under "function".
        wrapped = [{"function": t} for t in functions]
        chat_choice = (
            {"function": {"name": tool_choice.get("name")}} if isinstance(tool_choice, dict) else None
        )
        name, parameters = _pick_tool(wrapped, chat_choice)
        answer.tool_call = ToolCall("call_" + os.urandom(12).hex(), name, example_arguments(parameters))
        answer.finish_reason = "tool_calls"
        if reasoning:
            answer.reasoning = split_tokens(REASONING_TOOL_TEXT.format(name=name))
        return answer

    if reasoning:
        text = REASONING_AFTER_TOOL_TEXT if last_role == "tool" else REASONING_TEXT
        answer.reasoning = split_tokens(text)
    if searching and tool_choice != "none" and last_role == "user":
        answer.web_search = _clip(messages[-1]["content"]) or "news"
    reply_text = _reply_text(reply, body) if reply is not None else default_reply({"messages": messages})
    answer.content = split_tokens(reply_text)
    _truncate(answer, None, max_output)
    return answer


def response_usage(answer: Answer) -> dict[str, Any]:
    completion = answer.completion_tokens
    return {
        "input_tokens": answer.prompt_tokens,
        "input_tokens_details": {"cached_tokens": answer.cached_tokens},
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": len(answer.reasoning)},
        "total_tokens": answer.prompt_tokens + completion,
    }


def _response_items(answer: Answer, rid: str) -> list[dict[str, Any]]:
    """The output items, completed, in the order the model produced them."""
    items: list[dict[str, Any]] = []
    if answer.reasoning:
        summary = [{"type": "summary_text", "text": "".join(answer.reasoning)}]
        items.append({"id": "rs_" + rid, "type": "reasoning", "summary": summary, "status": "completed"})
    if answer.web_search is not None:
        action = {"type": "search", "query": answer.web_search}
        items.append({"id": "ws_" + rid, "type": "web_search_call", "status": "completed", "action": action})
    call = answer.tool_call
    if call is not None:
        items.append(
            {
                "id": "fc_" + rid,
                "type": "function_call",
                "call_id": call.id,
                "name": call.name,
                "arguments": call.arguments,
                "status": "completed",
            }
        )
    elif answer.content or not items:
        text = {"type": "output_text", "text": "".join(answer.content), "annotations": []}
        items.append(
            {
                "id": "msg_" + rid,
                "type": "message",
                "role": "assistant",
                "status": "completed",
                "content": [text],
            }
        )
    return items


def response_object(
    answer: Answer | None, body: dict[str, Any], rid: str, created: int, model: str
) -> dict[str, Any]:
    """A Responses API ``response``; ``answer=None`` gives the in-progress head a stream starts with."""
    status = "in_progress"
    incomplete = None
    if answer is not None:
        status = "incomplete" if answer.finish_reason == "length" else "completed"
        if status == "incomplete":
            incomplete = {"reason": "max_output_tokens"}
    tools = body.get("tools")
    return {
        "created_at": created,
        "error": None,
        "id": "resp_" + rid,
        "incomplete_details": incomplete,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "model": model,
        "object": "response",
        "output": _response_items(answer, rid) if answer is not None else [],
        "parallel_tool_calls": True,
        "previous_response_id": body.get("previous_response_id"),
        "service_tier": "default",
        "status": status,
        "temperature": body.get("temperature"),
        "text": {"format": {"type": "text"}},
        "tool_choice": body.get("tool_choice") or "auto",
        "tools": tools if isinstance(tools, list) else [],
        "top_p": body.get("top_p"),
        "usage": response_usage(answer) if answer is not None else None,
    }


def _typed(kind: str, fields: dict[str, Any]) -> bytes:
    return ("event: " + kind + "\ndata: " + dumps({"type": kind, **fields}) + "\n\n").encode()


def response_stream(
    answer: Answer, body: dict[str, Any], rid: str, created: int, model: str
) -> Iterator[bytes]:
    """The typed SSE events of a streamed Responses API call (no ``[DONE]``: Responses streams end
    with ``response.completed`` or ``response.incomplete``)."""
    seq = iter(range(1 << 30))
    head = response_object(None, body, rid, created, model)
    yield _typed("response.created", {"response": head, "sequence_number": next(seq)})
    yield _typed("response.in_progress", {"response": head, "sequence_number": next(seq)})
    for index, item in enumerate(_response_items(answer, rid)):
        kind = item["type"]
        at = {"item_id": item["id"], "output_index": index}
        if kind == "reasoning":
            pending = {**item, "summary": [], "status": "in_progress"}
        elif kind == "message":
            pending = {**item, "content": [], "status": "in_progress"}
        elif kind == "function_call":
            pending = {**item, "arguments": "", "status": "in_progress"}
        else:
            pending = {**item, "status": "in_progress"}
        yield _typed(
            "response.output_item.added",
            {"output_index": index, "item": pending, "sequence_number": next(seq)},
        )
        if kind == "reasoning":
            part = {**at, "summary_index": 0}
            empty = {"type": "summary_text", "text": ""}
            yield _typed(
                "response.reasoning_summary_part.added", {**part, "part": empty, "sequence_number": next(seq)}
            )
            for piece in answer.reasoning:
                yield _typed(
                    "response.reasoning_summary_text.delta",
                    {**part, "delta": piece, "sequence_number": next(seq)},
                )
            text = item["summary"][0]["text"]
            yield _typed(
                "response.reasoning_summary_text.done", {**part, "text": text, "sequence_number": next(seq)}
            )
            yield _typed(
                "response.reasoning_summary_part.done",
                {**part, "part": item["summary"][0], "sequence_number": next(seq)},
            )
        elif kind == "web_search_call":
            for step in ("in_progress", "searching", "completed"):
                yield _typed(f"response.web_search_call.{step}", {**at, "sequence_number": next(seq)})
        elif kind == "function_call":
            for fragment in _fragments(item["arguments"]):
                yield _typed(
                    "response.function_call_arguments.delta",
                    {**at, "delta": fragment, "sequence_number": next(seq)},
                )
            yield _typed(
                "response.function_call_arguments.done",
                {**at, "arguments": item["arguments"], "sequence_number": next(seq)},
            )
        elif kind == "message":
            part = {**at, "content_index": 0}
            empty = {"type": "output_text", "text": "", "annotations": []}
            yield _typed("response.content_part.added", {**part, "part": empty, "sequence_number": next(seq)})
            for piece in answer.content:
                fields = {**part, "delta": piece, "logprobs": [], "sequence_number": next(seq)}
                yield _typed("response.output_text.delta", fields)
            text = item["content"][0]["text"]
            fields = {**part, "text": text, "logprobs": [], "sequence_number": next(seq)}
            yield _typed("response.output_text.done", fields)
            yield _typed(
                "response.content_part.done",
                {**part, "part": item["content"][0], "sequence_number": next(seq)},
            )
        yield _typed(
            "response.output_item.done", {"output_index": index, "item": item, "sequence_number": next(seq)}
        )
    final = response_object(answer, body, rid, created, model)
    kind = "response.incomplete" if final["status"] == "incomplete" else "response.completed"
    yield _typed(kind, {"response": final, "sequence_number": next(seq)})


def response_error_event(err: ArkError, rid: str, sequence_number: int) -> bytes:
    """A failure after the stream started: the Responses API's typed ``error`` event."""
    message = f"{err.message} Request id: {rid}"
    fields = {"code": err.code, "message": message, "param": None, "sequence_number": sequence_number}
    return _typed("error", fields)


# ---------------------------------------------------------------------------------------------
# embeddings


def _vector(seed: str, dims: int) -> bytes:
    """A deterministic unit vector for ``seed``, packed as little-endian float32."""
    raw = hashlib.shake_256(seed.encode()).digest(2 * dims)
    values = [v / 32767.5 - 1.0 for v in struct.unpack(f"<{dims}H", raw)]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return struct.pack(f"<{dims}f", *(v / norm for v in values))


def _encode_vector(packed: bytes, encoding: str) -> Any:
    if encoding == "base64":
        return base64.b64encode(packed).decode("ascii")
    return list(struct.unpack(f"<{len(packed) // 4}f", packed))


def _embedding_options(body: dict[str, Any]) -> tuple[int, str]:
    dims = _opt_int(body, "dimensions", minimum=1)
    if dims is not None and dims > 8192:
        raise invalid(f"The parameter dimensions specified in the request is not valid: {dims!r}.")
    encoding = body.get("encoding_format") or "float"
    if encoding not in ("float", "base64"):
        raise invalid(f"The parameter encoding_format specified in the request is not valid: {encoding!r}.")
    return dims or EMBEDDING_DIMENSIONS, encoding


def embeddings(body: dict[str, Any], rid: str, created: int, model: str) -> dict[str, Any]:
    """Text embeddings: one deterministic unit vector per input (seeded by the input's text)."""
    dims, encoding = _embedding_options(body)
    raw = body["input"]
    if isinstance(raw, str) or (isinstance(raw, list) and raw and all(isinstance(t, int) for t in raw)):
        inputs = [raw]
    elif isinstance(raw, list):
        inputs = raw
    else:
        raise invalid("The parameter input specified in the request is not valid.")
    data = []
    tokens = 0
    for index, item in enumerate(inputs):
        if isinstance(item, str):
            tokens += count_tokens(item)
            seed = item
        elif isinstance(item, list) and all(isinstance(t, int) and not isinstance(t, bool) for t in item):
            tokens += len(item)
            seed = dumps(item)
        else:
            raise invalid("The parameter input specified in the request is not valid.")
        vector = _encode_vector(_vector(seed, dims), encoding)
        data.append({"object": "embedding", "index": index, "embedding": vector})
    return {
        "id": rid,
        "created": created,
        "object": "list",
        "model": model,
        "data": data,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


def multimodal_embeddings(body: dict[str, Any], rid: str, created: int, model: str) -> dict[str, Any]:
    """Multimodal embedding: one vector for the whole input list; ``data`` is a single object."""
    dims, encoding = _embedding_options(body)
    parts = body["input"]
    if not isinstance(parts, list) or not all(isinstance(p, dict) for p in parts):
        raise invalid("The parameter input specified in the request is not valid.")
    text_tokens = image_tokens = 0
    for part in parts:
        kind = part.get("type")
        if kind == "text" and isinstance(part.get("text"), str):
            text_tokens += count_tokens(part["text"])
        elif kind == "image_url":
            image_tokens += IMAGE_TOKENS
        elif kind == "video_url":
            image_tokens += VIDEO_TOKENS
        else:
            raise invalid(
                f"The parameter input specified in the request is not valid: unknown part {kind!r}."
            )
    total = text_tokens + image_tokens
    return {
        "created": created,
        "data": {"embedding": _encode_vector(_vector(dumps(parts), dims), encoding), "object": "embedding"},
        "id": rid,
        "model": model,
        "object": "list",
        "usage": {
            "prompt_tokens": total,
            "total_tokens": total,
            "prompt_tokens_details": {"image_tokens": image_tokens, "text_tokens": text_tokens},
        },
    }


# ---------------------------------------------------------------------------------------------
# context cache (``/context/create``, ``/context/chat/completions``)


@dataclass
class ContextCache:
    """What ``/context/create`` stored: the messages later calls start from (and, in ``session``
    mode, every turn since), which the model reads from the cache."""

    model: str
    mode: str
    messages: list[dict[str, Any]]


def new_context_id() -> str:
    return "ctx-" + time.strftime("%Y%m%d%H%M%S") + "-" + os.urandom(3).hex()[:5]


def context_created(context_id: str, body: dict[str, Any], prompt_tokens: int) -> dict[str, Any]:
    ttl = body.get("ttl")
    strategy = body.get("truncation_strategy")
    return {
        "id": context_id,
        "model": body["model"],
        "mode": body.get("mode") or "session",
        "ttl": ttl if isinstance(ttl, int) else 86400,
        "truncation_strategy": strategy if isinstance(strategy, dict) else {"type": "last_history_tokens"},
        "usage": usage("modelark", prompt_tokens, 0, 0, 0),
    }


def plan_context_chat(
    body: dict[str, Any], context: ContextCache, model: str, reply: Reply
) -> tuple[Answer, list[dict[str, Any]]]:
    """The answer to a context chat call, and the turn a ``session`` context keeps. The cached
    messages count as prompt tokens, all of them read from the cache."""
    messages = body["messages"]
    if not isinstance(messages, list):
        raise invalid("The parameter messages specified in the request is not valid.")
    answer = plan_chat({**body, "messages": context.messages + messages}, model, reply, 0)
    answer.cached_tokens = prompt_tokens_of_messages(context.messages)
    turn = [*messages, {"role": "assistant", "content": "".join(answer.content)}]
    return answer, turn
