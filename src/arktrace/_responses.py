"""The Responses API's shapes, read as the chat shapes the rest of extraction already describes.

A Responses request has ``instructions`` and ``input`` (a string, or a list of items: messages with
typed parts, function calls, function call outputs, ...) where chat has ``messages``; a response has
typed ``output`` items (message, reasoning, function call, built-in tool calls such as web search)
and a ``status`` where chat has choices and finish reasons. These functions map one onto the other,
so both APIs produce the same OpenInference message attributes. They read SDK models and plain dicts
alike and never modify what they are given.
"""

from __future__ import annotations

from typing import Any

from ._content import fields_of, get, to_json

# Output item types that are the model's message, its reasoning, or a call the caller's code runs.
# Every other item type is a tool call the provider ran itself (web_search_call, file_search_call,
# code_interpreter_call, image_generation_call, mcp_call, ...).
_NOT_BUILTIN = frozenset({"message", "reasoning", "function_call", "custom_tool_call"})
_TEXT_PARTS = frozenset({"input_text", "output_text", "text"})
# An incomplete response's reason, in the chat API's finish-reason words.
_INCOMPLETE_REASONS = {"max_output_tokens": "length", "content_filter": "content_filter"}


class ReportedFailure(Exception):
    """A failure the provider reported in an answer whose HTTP status was 200: a response with
    ``status: failed``, or a stream's ``error`` event. Never raised: it ends the span as an error."""

    def __init__(self, code: Any, message: Any) -> None:
        # Read from the provider's JSON: either may be missing or of any type.
        code = code if isinstance(code, str) and code else None
        message = message if isinstance(message, str) and message else None
        super().__init__(message or code or "the provider reported a failure")
        self.code = code
        self.error_type = code  # the provider's code is the error's type: a class name would say nothing
        # The provider's error object, as the SDK's errors built from an answer keep it: its message
        # may quote the request, so it takes the same path as theirs (not recorded with capture off).
        self.body = {"code": code, "message": message}


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
        attrs["gen_ai.response.finish_reasons"] = (reason,)
    builtin = tuple(k for k in kinds if isinstance(k, str) and k not in _NOT_BUILTIN)
    if builtin:
        attrs["arktrace.response.builtin_tool_calls"] = builtin
    return attrs
