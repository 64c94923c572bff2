"""What every surface's script shares: the tokenizer, ids, errors, request helpers, the plan of a
chat-like answer, usage layouts, SSE framing, and the ``Route``/``Call``/``EventStream`` a surface
module declares and returns. Pure: no sockets (those live in ``testing/_server.py``).

Everything here is deterministic apart from ids and timestamps, so tests can compute the
expected reply text and token counts with the same rules (see ``count_tokens``).
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Callable, Union

if TYPE_CHECKING:
    from .._server import ModelArkServer

USAGE_STYLES = ("modelark", "moonshot", "deepseek", "qwen")

_BUILTIN_MODELS = (
    "seed-1-8-251228",
    "seed-1-6-250615",
    "seed-1-6-flash-250715",
    "kimi-k2-250711",
    "deepseek-v3-2-251201",
    "doubao-embedding-text-240715",
    "skylark-embedding-vision-250615",
    "seedream-4-5-251128",
    "seedance-1-0-pro-250528",
    "gpt-4o-mini",
)

DEFAULT_ENDPOINTS: Mapping[str, str] = MappingProxyType(
    {
        "ep-20250101120000-abcde": "seed-1-8-251228",
        "ep-20250101120000-fghij": "seed-1-6-flash-250715",
        "ep-20250101120000-embed": "doubao-embedding-text-240715",
        "ep-20250101120000-mmemb": "skylark-embedding-vision-250615",
        "ep-20250101120000-image": "seedream-4-5-251128",
        "ep-20250101120000-video": "seedance-1-0-pro-250528",
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
# Generated content the content filter rejects: one image of an image generation, a video task's video.
CONTENT_FILTER_MODEL = "ep-error-content"
_MAGIC_ERROR = re.compile(r"ep-error-([45]\d\d)\Z")

EMBEDDING_DIMENSIONS = 8
IMAGE_TOKENS = 256  # per image_url part of a multimodal embedding input
VIDEO_TOKENS = 1024  # per video_url part, reported as image_tokens
ECHO_LIMIT = 32  # tokens of the user's message echoed back
TOOL_FRAGMENT_CHARS = 8

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_TOKEN = f"[{_CJK}]|[^\\W{_CJK}]+|[^\\w\\s]"
TOKEN_RE = re.compile(_TOKEN)
_PIECE_RE = re.compile(f"\\s*(?:{_TOKEN})")

_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
dumps = _ENCODER.encode


def count_tokens(text: str) -> int:
    """The server's tokenizer: a run of letters, digits and underscores is one token, and so is
    every other non-space character (punctuation, each CJK character)."""
    return len(TOKEN_RE.findall(text))


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


def opt_int(body: dict[str, Any], name: str, minimum: int = 0) -> int | None:
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


def clip(text: str) -> str:
    return "".join(split_tokens(text)[:ECHO_LIMIT]).strip()


def default_reply(body: dict[str, Any]) -> str:
    """``"Echo: <first 32 tokens of the last user message>"``; after a tool result
    ``"The tool returned: <first 32 tokens of it>"``; for legacy completions the prompt is echoed."""
    text = ""
    messages = body.get("messages")
    if isinstance(messages, list) and messages:
        last = messages[-1]
        if last.get("role") == "tool":
            return "The tool returned: " + clip(content_text(last.get("content")))
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
    text = clip(text)
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


def reply_text(reply: Reply, body: dict[str, Any]) -> str:
    if reply is None:
        return default_reply(body)
    if callable(reply):
        return str(reply(body))
    return reply


def cycle(pieces: list[str], n: int) -> list[str]:
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


def pick_tool(tools: list[Any], tool_choice: Any) -> tuple[str, Any]:
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


def truncate(answer: Answer, max_tokens: int | None, max_completion: int | None) -> None:
    # max_tokens excludes the chain of thought, max_completion_tokens includes it.
    reasoning, content = answer.reasoning, answer.content
    if max_completion is not None:
        reasoning = reasoning[:max_completion]
        content = content[: max_completion - len(reasoning)]
    elif max_tokens is not None:
        content = content[:max_tokens]
    if len(reasoning) < len(answer.reasoning) or len(content) < len(answer.content):
        answer.reasoning, answer.content, answer.finish_reason = reasoning, content, "length"


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
# server-sent events


def sse_event(text: str) -> bytes:
    return ("data: " + text + "\n\n").encode()


def fragments(text: str) -> list[str]:
    step = TOOL_FRAGMENT_CHARS
    return [text[i : i + step] for i in range(0, len(text), step)] or [""]


def typed_event(kind: str, fields: dict[str, Any]) -> bytes:
    return ("event: " + kind + "\ndata: " + dumps({"type": kind, **fields}) + "\n\n").encode()


# ---------------------------------------------------------------------------------------------
# what a surface module declares and returns


class EventStream:
    """A streamed answer: SSE event bytes, then ``done`` (empty: nothing) when the stream runs to its
    end, or ``fail(error, rid, sent)`` after ``fail_after`` events when it breaks midway."""

    __slots__ = ("done", "events", "fail", "fail_after")

    def __init__(
        self,
        events: Iterator[bytes],
        fail_after: int | None,
        done: bytes = b"data: [DONE]\n\n",
        fail: Callable[[ArkError, str, int], bytes] | None = None,
    ) -> None:
        self.events = events
        self.fail_after = fail_after
        self.done = done
        self.fail = fail or data_error_event


def data_error_event(err: ArkError, rid: str, sent: int) -> bytes:
    """A failure after a stream started, as chat sends it: ``data: {"error": ...}``."""
    return ("data: " + error_json(err, rid) + "\n\n").encode()


@dataclass
class Call:
    """One request, routed: what a surface's handler reads."""

    app: ModelArkServer
    method: str
    path: str
    params: dict[str, str]  # the ``{name}`` parts of the route's path
    query: dict[str, list[str]]
    body: Any  # the JSON body (a dict when the route takes JSON), else None
    requested: str | None  # the model the caller named
    model: str  # the model that serves it
    fail_after: int | None  # events a stream sends before failing (the magic mid-stream model)
    rid: str
    created: int

    def stream(
        self,
        events: Iterator[bytes],
        done: bytes = b"data: [DONE]\n\n",
        fail: Callable[[ArkError, str, int], bytes] | None = None,
        fail_after: int | None = None,
    ) -> EventStream:
        """A streamed answer that breaks where the magic model or ``fail_mid_stream()`` says."""
        if fail_after is None:
            fail_after = self.fail_after if self.fail_after is not None else self.app._take_midstream()
        return EventStream(events, fail_after, done, fail)

    def refuse_unstreamed_midstream(self) -> None:
        """The magic mid-stream model asked without streaming: HTTP 500."""
        if self.fail_after is not None:
            raise make_error(500)


Handler = Callable[[Call], Any]  # returns a JSON-able body or an ``EventStream``


@dataclass(frozen=True)
class Route:
    """``method path`` (``{name}`` segments bind ``Call.params``) answered by ``handler``. A ``json``
    route takes a JSON object naming ``model`` plus the ``required`` fields; unknown ``ep-…`` ids on it
    are served by ``default_model``."""

    method: str
    path: str
    handler: Handler
    required: tuple[str, ...] = ()
    json: bool = True
    default_model: str = DEFAULT_SERVED_MODEL
