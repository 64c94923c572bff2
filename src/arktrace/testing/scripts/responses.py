"""The Responses API (``/responses``)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from ._common import (
    REASONING_AFTER_TOOL_TEXT,
    REASONING_TEXT,
    REASONING_TOOL_TEXT,
    Answer,
    ArkError,
    Call,
    Reply,
    Route,
    ToolCall,
    clip,
    default_reply,
    dumps,
    example_arguments,
    fragments,
    invalid,
    is_reasoning_model,
    opt_int,
    pick_tool,
    prompt_tokens_of_messages,
    reply_text,
    split_tokens,
    truncate,
    typed_event,
)

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
    max_output = opt_int(body, "max_output_tokens")
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
        name, parameters = pick_tool(wrapped, chat_choice)
        answer.tool_call = ToolCall("call_" + os.urandom(12).hex(), name, example_arguments(parameters))
        answer.finish_reason = "tool_calls"
        if reasoning:
            answer.reasoning = split_tokens(REASONING_TOOL_TEXT.format(name=name))
        return answer

    if reasoning:
        text = REASONING_AFTER_TOOL_TEXT if last_role == "tool" else REASONING_TEXT
        answer.reasoning = split_tokens(text)
    if searching and tool_choice != "none" and last_role == "user":
        answer.web_search = clip(messages[-1]["content"]) or "news"
    text = reply_text(reply, body) if reply is not None else default_reply({"messages": messages})
    answer.content = split_tokens(text)
    truncate(answer, None, max_output)
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


def response_stream(
    answer: Answer, body: dict[str, Any], rid: str, created: int, model: str
) -> Iterator[bytes]:
    """The typed SSE events of a streamed Responses API call (no ``[DONE]``: Responses streams end
    with ``response.completed`` or ``response.incomplete``)."""
    seq = iter(range(1 << 30))
    head = response_object(None, body, rid, created, model)
    yield typed_event("response.created", {"response": head, "sequence_number": next(seq)})
    yield typed_event("response.in_progress", {"response": head, "sequence_number": next(seq)})
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
        yield typed_event(
            "response.output_item.added",
            {"output_index": index, "item": pending, "sequence_number": next(seq)},
        )
        if kind == "reasoning":
            part = {**at, "summary_index": 0}
            empty = {"type": "summary_text", "text": ""}
            yield typed_event(
                "response.reasoning_summary_part.added", {**part, "part": empty, "sequence_number": next(seq)}
            )
            for piece in answer.reasoning:
                yield typed_event(
                    "response.reasoning_summary_text.delta",
                    {**part, "delta": piece, "sequence_number": next(seq)},
                )
            text = item["summary"][0]["text"]
            yield typed_event(
                "response.reasoning_summary_text.done", {**part, "text": text, "sequence_number": next(seq)}
            )
            yield typed_event(
                "response.reasoning_summary_part.done",
                {**part, "part": item["summary"][0], "sequence_number": next(seq)},
            )
        elif kind == "web_search_call":
            for step in ("in_progress", "searching", "completed"):
                yield typed_event(f"response.web_search_call.{step}", {**at, "sequence_number": next(seq)})
        elif kind == "function_call":
            for fragment in fragments(item["arguments"]):
                yield typed_event(
                    "response.function_call_arguments.delta",
                    {**at, "delta": fragment, "sequence_number": next(seq)},
                )
            yield typed_event(
                "response.function_call_arguments.done",
                {**at, "arguments": item["arguments"], "sequence_number": next(seq)},
            )
        elif kind == "message":
            part = {**at, "content_index": 0}
            empty = {"type": "output_text", "text": "", "annotations": []}
            yield typed_event(
                "response.content_part.added", {**part, "part": empty, "sequence_number": next(seq)}
            )
            for piece in answer.content:
                fields = {**part, "delta": piece, "logprobs": [], "sequence_number": next(seq)}
                yield typed_event("response.output_text.delta", fields)
            text = item["content"][0]["text"]
            fields = {**part, "text": text, "logprobs": [], "sequence_number": next(seq)}
            yield typed_event("response.output_text.done", fields)
            yield typed_event(
                "response.content_part.done",
                {**part, "part": item["content"][0], "sequence_number": next(seq)},
            )
        yield typed_event(
            "response.output_item.done", {"output_index": index, "item": item, "sequence_number": next(seq)}
        )
    final = response_object(answer, body, rid, created, model)
    kind = "response.incomplete" if final["status"] == "incomplete" else "response.completed"
    yield typed_event(kind, {"response": final, "sequence_number": next(seq)})


def response_error_event(err: ArkError, rid: str, sequence_number: int) -> bytes:
    """A failure after the stream started: the Responses API's typed ``error`` event."""
    message = f"{err.message} Request id: {rid}"
    fields = {"code": err.code, "message": message, "param": None, "sequence_number": sequence_number}
    return typed_event("error", fields)


def _responses(call: Call) -> Any:
    app, body = call.app, call.body
    answer = plan_response(body, call.model, app.reply, app.cached_tokens)
    if not body.get("stream"):
        call.refuse_unstreamed_midstream()
        return response_object(answer, body, call.rid, call.created, call.model)
    events = response_stream(answer, body, call.rid, call.created, call.model)
    return call.stream(events, b"", response_error_event)


ROUTES = (Route("POST", "/responses", _responses, ("input",)),)
