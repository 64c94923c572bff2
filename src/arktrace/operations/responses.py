"""The Responses API: ``responses.create`` / ``.parse()`` / ``.stream()`` (through create).

GenAI names a Responses call ``chat``, as a chat completion; ``openai.api.type`` tells the two apart.
Its shapes are read as the chat shapes the rest of extraction already describes.

A Responses request has ``instructions`` and ``input`` (a string, or a list of items: messages with
typed parts, function calls, function call outputs, ...) where chat has ``messages``; a response has
typed ``output`` items (message, reasoning, function call, built-in tool calls such as web search)
and a ``status`` where chat has choices and finish reasons. These functions map one onto the other,
so both APIs produce the same OpenInference message attributes. They read SDK models and plain dicts
alike and never modify what they are given.
"""

from __future__ import annotations

from typing import Any

from .._content import fields_of, get, to_json
from ..conventions import genai_content
from ..conventions.names import ARKTRACE_BUILTIN_TOOL_CALLS, GENAI_RESPONSE_FINISH_REASONS
from ._common import (
    EFFORTS,
    FORMAT_TYPE,
    SAMPLING,
    SCALAR,
    THINKING,
    TOOL_CHOICE,
    VERBOSITY,
    Operation,
    StreamState,
    Text,
    conversation_content,
    price_tokens,
    words,
)
from ._errors import ReportedFailure

SAFE_ARGUMENTS = {
    **SAMPLING,
    "max_output_tokens": SCALAR,
    "max_tool_calls": SCALAR,
    "parallel_tool_calls": SCALAR,
    "background": SCALAR,
    "reasoning": {"effort": EFFORTS, "summary": words("auto", "concise", "detailed")},
    "truncation": words("auto", "disabled"),
    "text": {"format": FORMAT_TYPE, "verbosity": VERBOSITY},
    "tool_choice": TOOL_CHOICE,
    "thinking": THINKING,
}
# openai >= 1.66, and the Ark SDKs. .stream() goes through create(); .parse() posts directly (where
# it exists).
PATCH_POINTS = (
    ("resources.responses.responses", "Responses", "create"),
    ("resources.responses.responses", "AsyncResponses", "create"),
    ("resources.responses.responses", "Responses", "parse"),
    ("resources.responses.responses", "AsyncResponses", "parse"),
)
# ``/responses/{id}/cancel`` and the other per-response paths are not traced.
PATHS = ("/responses",)

# Output item types that are the model's message, its reasoning, or a call the caller's code runs.
# Every other item type is a tool call the provider ran itself (web_search_call, file_search_call,
# code_interpreter_call, image_generation_call, mcp_call, ...).
_NOT_BUILTIN = frozenset({"message", "reasoning", "function_call", "custom_tool_call"})
_TEXT_PARTS = frozenset({"input_text", "output_text", "text"})
# An incomplete response's reason, in the chat API's finish-reason words.
_INCOMPLETE_REASONS = {"max_output_tokens": "length", "content_filter": "content_filter"}


def reported_failure(response: Any, failed: bool = False) -> ReportedFailure | None:
    """The failure a complete response reports (``status: failed`` and its ``error``), if any.

    ``failed``: the answer is known to be a failure whatever its status says (it came in a stream's
    ``response.failed`` event).
    """
    if not failed and get(response, "status") != "failed":
        return None
    error = get(response, "error")
    return ReportedFailure(get(error, "code"), get(error, "message"))


def input_messages(instructions: Any, items: Any) -> list[dict[str, Any]]:
    """``instructions`` and ``input`` as chat messages: a system message, then one per input item."""
    messages: list[dict[str, Any]] = []
    if isinstance(instructions, str) and instructions:
        messages.append({"role": "system", "content": instructions})
    if isinstance(items, str):
        messages.append({"role": "user", "content": items})
        return messages
    if not isinstance(items, (list, tuple)):
        return messages
    for item in items:
        message = _input_message(fields_of(item))
        if message is not None:
            messages.append(message)
    return messages


def _input_message(item: Any) -> dict[str, Any] | None:
    kind = item.get("type")
    if kind == "function_call" or kind == "custom_tool_call":
        return {"role": "assistant", "tool_calls": [_call(item)]}
    if kind == "function_call_output" or kind == "custom_tool_call_output":
        output = item.get("output")
        return {
            "role": "tool",
            "tool_call_id": item.get("call_id"),
            "content": output if isinstance(output, str) else to_json(output),
        }
    if kind not in (None, "message"):
        return None  # reasoning and references to earlier items carry no message of their own
    content = item.get("content")
    if isinstance(content, (list, tuple)):
        content = [_part(fields_of(part)) for part in content]
    return {"role": item.get("role") or "user", "content": content}


def _part(part: Any) -> dict[str, Any]:
    kind = part.get("type")
    if kind in _TEXT_PARTS:
        return {"type": "text", "text": part.get("text") or ""}
    if kind == "input_image":
        url = part.get("image_url") or part.get("file_id")
        return {"type": "image_url", "image_url": {"url": url}}
    return {"type": kind}


def _call(item: Any) -> dict[str, Any]:
    arguments = item.get("arguments")
    if arguments is None:
        arguments = item.get("input")  # custom tools take free text
    return {"id": item.get("call_id"), "function": {"name": item.get("name"), "arguments": arguments}}


def output_message(output: Any) -> dict[str, Any] | None:
    """The response's output items as one assistant message: its text, and every tool call in order,
    built-in ones named by their item type (``web_search_call``) with their action as arguments."""
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    for item in output or ():
        item = fields_of(item)
        kind = item.get("type")
        if kind == "message":
            for part in item.get("content") or ():
                text = get(part, "text")
                if isinstance(text, str):
                    texts.append(text)
                refusal = get(part, "refusal")
                if isinstance(refusal, str):
                    texts.append(refusal)
        elif kind == "function_call" or kind == "custom_tool_call":
            calls.append(_call(item))
        elif isinstance(kind, str) and kind not in _NOT_BUILTIN:
            action = item.get("action")
            if action is None:
                action = {k: v for k, v in item.items() if k not in ("id", "type", "status")}
            calls.append({"id": item.get("id"), "function": {"name": kind, "arguments": to_json(action)}})
    if not texts and not calls:
        return None
    message: dict[str, Any] = {"role": "assistant", "content": "".join(texts)}
    if calls:
        message["tool_calls"] = calls
    return message


def outcome_attributes(response: Any) -> dict[str, Any]:
    """Finish reason and built-in tool calls: what a response did, recorded with or without content.

    The finish reason uses the chat API's words, so dashboards read both APIs alike: ``stop``,
    ``tool_calls`` (the caller has a function to run), ``length`` (``max_output_tokens`` reached),
    ``content_filter``, ``error`` (``status: failed``).
    """
    attrs: dict[str, Any] = {}
    output = response.get("output") or ()
    kinds = [get(item, "type") for item in output]
    status = response.get("status")
    reason = None
    if status == "completed":
        reason = "tool_calls" if "function_call" in kinds or "custom_tool_call" in kinds else "stop"
    elif status == "incomplete":
        detail = get(response.get("incomplete_details"), "reason")
        reason = _INCOMPLETE_REASONS.get(detail, detail) if isinstance(detail, str) else "length"
    elif status == "failed":
        reason = "error"
    if reason is not None:
        attrs[GENAI_RESPONSE_FINISH_REASONS] = (reason,)
    builtin = tuple(k for k in kinds if isinstance(k, str) and k not in _NOT_BUILTIN)
    if builtin:
        attrs[ARKTRACE_BUILTIN_TOOL_CALLS] = builtin
    return attrs


def request_content(
    args: dict[str, Any], content: dict[str, Any], whole: str | None, limit: int, budget: int
) -> dict[str, Any]:
    messages = input_messages(args.get("instructions"), args.get("input"))
    return conversation_content(args, content, whole, limit, budget, messages)


def output_messages(fields: dict[str, Any], choices: Any) -> list[Any]:
    message = output_message(fields.get("output"))
    return [message] if message is not None else []


def output_format(args: dict[str, Any]) -> Any:
    """``text.format``, or a class given to ``.parse()``."""
    return args.get("text_format") or get(args.get("text"), "format")


# ----------------------------------------------------------------------------------- stream state


class _Item:
    """One output item of a streamed response, from its ``output_item.added`` to its ``done``."""

    __slots__ = ("added", "arguments", "done", "reasoning", "text")

    def __init__(self, added: Any) -> None:
        self.added = added
        self.done: Any = None
        self.text = Text()
        self.reasoning = Text()
        self.arguments: list[str] = []


# Deltas of the model's own output: the first one is the first token.
_TEXT_DELTA = "response.output_text.delta"
_REASONING_DELTAS = frozenset({"response.reasoning_summary_text.delta", "response.reasoning_text.delta"})
_ARGUMENT_DELTAS = frozenset(
    {
        "response.function_call_arguments.delta",
        "response.custom_tool_call_input.delta",
        "response.mcp_call_arguments.delta",
    }
)
_FINAL = frozenset({"response.completed", "response.incomplete", "response.failed"})
# Items that carry no deltas (built-in tool calls: web search, file search, ...): the item is the output.
_DELTA_ITEMS = frozenset({"message", "reasoning"})


class ResponsesStreamState(StreamState):
    """A Responses API stream: typed events instead of chunks, usage in the final ``response``.

    The final event (``response.completed`` / ``incomplete`` / ``failed``) carries the whole response,
    which is then what the span describes. A stream that stops before it is rebuilt from the items
    and deltas seen so far, with the same limit on kept text as chat streams.
    """

    __slots__ = ("final", "items")
    object_name = "response"

    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.items: dict[int, _Item] = {}
        self.final: Any = None

    def record(self, event: Any) -> bool:
        kind = getattr(event, "type", None)
        if kind == _TEXT_DELTA:
            item = self._item(event)
            text = event.delta
            if item.text.kept < self.limit:
                item.text.parts.append(text)
                item.text.kept += len(text)
            else:
                item.text.cut += len(text)
            self._produced()
        elif kind in _REASONING_DELTAS:
            self._item(event).reasoning.add(event.delta, self.limit)
            self._produced()
        elif kind in _ARGUMENT_DELTAS:
            self._item(event).arguments.append(event.delta)
            self._produced()
        elif kind == "response.output_item.added":
            item = self.items[event.output_index] = _Item(event.item)
            if get(item.added, "type") not in _DELTA_ITEMS:
                self._produced()
        elif kind == "response.output_item.done":
            self._item(event).done = event.item
        elif kind == "response.created" or kind == "response.in_progress":
            self._head(event.response)
        elif kind in _FINAL:
            response = self.final = event.response
            self._head(response)
            self.usage = get(response, "usage")
            if kind == "response.failed":
                self.failure = reported_failure(response, failed=True)
        elif kind == "error":
            self.failure = ReportedFailure(get(event, "code"), get(event, "message"))
        return False  # usage comes inside the final response, never on its own

    def _head(self, response: Any) -> None:
        self.response_id = get(response, "id")
        self.model = get(response, "model")
        self.created = get(response, "created_at")
        self.service_tier = get(response, "service_tier")

    def _item(self, event: Any) -> _Item:
        index = event.output_index
        item = self.items.get(index)
        if item is None:  # a delta without its item's `added` event: keep it anyway
            item = self.items[index] = _Item(None)
        return item

    def as_response(self) -> Any:
        if self.final is not None:
            return self.final
        response: dict[str, Any] = {"id": self.response_id, "object": self.object_name}
        if self.created is not None:
            response["created_at"] = self.created
        response["model"] = self.model
        if self.service_tier is not None:
            response["service_tier"] = self.service_tier
        response["status"] = "in_progress"  # it never finished: no status was reported
        response["output"] = [self._item_dict(self.items[i]) for i in sorted(self.items)]
        return response

    def _item_dict(self, item: _Item) -> Any:
        if item.done is not None:
            return item.done
        added = item.added
        kind = get(added, "type")
        out: dict[str, Any] = {"type": kind}
        for key in ("id", "role", "call_id", "name"):
            value = get(added, key)
            if value is not None:
                out[key] = value
        if kind == "message" or item.text.parts:
            out["content"] = [{"type": "output_text", "text": item.text.value(self.limit)}]
        if kind == "reasoning" or item.reasoning.parts:
            out["summary"] = [{"type": "summary_text", "text": item.reasoning.value(self.limit)}]
        if item.arguments:
            out["arguments"] = "".join(item.arguments)
        return out


RESPONSES = Operation(
    name="chat",
    span_kind="LLM",
    paths=PATHS,
    patch_points=PATCH_POINTS,
    safe_arguments=SAFE_ARGUMENTS,
    request_content=request_content,
    output_messages=output_messages,
    price=price_tokens,
    stream_state=ResponsesStreamState,
    include_usage=False,
    reported_failure=reported_failure,
    outcome=outcome_attributes,
    output_format=output_format,
    api_type="responses",
    genai_request=genai_content.responses_request,
    genai_response=genai_content.responses_response,
)
