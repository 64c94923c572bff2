"""Chat completions (``/chat/completions``, and the Ark SDKs' ``/batch/chat/completions``)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from ._common import (
    REASONING_AFTER_TOOL_TEXT,
    REASONING_TEXT,
    REASONING_TOOL_TEXT,
    Answer,
    Call,
    Reply,
    Route,
    ToolCall,
    answer_usage,
    count_tokens,
    cycle,
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
    sse_event,
    truncate,
    usage,
)


def plan_chat(body: dict[str, Any], model: str, reply: Reply, cached_tokens: int) -> Answer:
    """Decide what a chat completion answers (validating the request on the way)."""
    messages = body["messages"]
    if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
        raise invalid("The parameter messages specified in the request is not valid.")
    max_tokens = opt_int(body, "max_tokens")
    max_completion = opt_int(body, "max_completion_tokens")
    if max_tokens is not None and max_completion is not None:
        raise invalid("max_tokens and max_completion_tokens cannot be set at the same time.")
    chunks = opt_int(body, "arktrace_chunks")
    prompt = prompt_tokens_of_messages(messages)
    answer = Answer(prompt_tokens=prompt, cached_tokens=min(max(cached_tokens, 0), prompt))

    if chunks is not None:  # benchmark mode: exactly `chunks` one-token content chunks, nothing else
        answer.content = cycle(split_tokens(reply_text(reply, body)), chunks)
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
        name, parameters = pick_tool(tools, tool_choice)
        answer.tool_call = ToolCall("call_" + os.urandom(12).hex(), name, example_arguments(parameters))
        answer.finish_reason = "tool_calls"
        if reasoning:
            answer.reasoning = split_tokens(REASONING_TOOL_TEXT.format(name=name))
        return answer

    if reasoning:
        text = REASONING_AFTER_TOOL_TEXT if last_role == "tool" else REASONING_TEXT
        answer.reasoning = split_tokens(text)
    answer.content = split_tokens(reply_text(reply, body))
    truncate(answer, max_tokens, max_completion)
    return answer


# ---------------------------------------------------------------------------------------------
# the wire: a completion, or its chunks


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
        yield sse_event(head + delta + ',"index":0}]' + end(i, i))

    if not chunk_usage:  # the hot path (benchmarks): one small string build per chunk
        pre = b"data: " + (head + '{"content":').encode()
        post = (',"role":"assistant"},"index":0}]' + end(0, 0) + "\n\n").encode()
        for piece in answer.content:
            yield pre + dumps(piece).encode() + post
    else:
        for i, piece in enumerate(answer.content, n_reasoning + 1):
            delta = '{"content":' + dumps(piece) + ',"role":"assistant"}'
            yield sse_event(head + delta + ',"index":0}]' + end(n_reasoning, i))

    call = answer.tool_call
    if call is not None:
        done = n_reasoning + count_tokens(call.name)
        frags = fragments(call.arguments)
        items: list[dict[str, Any]] = [
            {"index": 0, "id": call.id, "type": "function", "function": {"name": call.name, "arguments": ""}}
        ]
        items += [{"index": 0, "function": {"arguments": f}} for f in frags]
        sent = ""
        for i, item in enumerate(items):
            sent += frags[i - 1] if i else ""
            delta = '{"content":"","role":"assistant","tool_calls":[' + dumps(item) + "]}"
            yield sse_event(head + delta + ',"index":0}]' + end(n_reasoning, done + count_tokens(sent)))

    full = dumps(answer_usage(style, answer))
    finish = f'{{"content":"","role":"assistant"}},"finish_reason":"{answer.finish_reason}","index":0'
    if style == "moonshot":  # Moonshot: usage inside the finishing choice, always
        finish += ',"usage":' + full
    top = full if chunk_usage or (include_usage and style == "deepseek") else "null"
    yield sse_event(head + finish + "}]" + tail + top + "}")

    if include_usage and style in ("modelark", "qwen"):
        yield sse_event(
            f'{{"id":"{rid}","choices":[],"created":{created},"model":{m},'
            f'"object":"chat.completion.chunk","usage":{full}}}'
        )


def respond(call: Call, answer: Answer) -> Any:
    """A chat completion, or its stream, for a planned answer."""
    app, body = call.app, call.body
    if not body.get("stream"):
        call.refuse_unstreamed_midstream()
        return chat_completion(answer, call.rid, call.created, call.model, app.usage_style)
    options = body.get("stream_options")
    options = options if isinstance(options, dict) else {}
    events = chat_stream(
        answer,
        call.rid,
        call.created,
        call.model,
        app.usage_style,
        bool(options.get("include_usage")),
        bool(options.get("chunk_include_usage")),
    )
    return call.stream(events)


def _chat(call: Call) -> Any:
    return respond(call, plan_chat(call.body, call.model, call.app.reply, call.app.cached_tokens))


def _batch_chat(call: Call) -> Any:
    if call.body.get("stream"):
        raise invalid("Batch chat completions cannot be streamed.")
    return _chat(call)


ROUTES = (
    Route("POST", "/chat/completions", _chat, ("messages",)),
    Route("POST", "/batch/chat/completions", _batch_chat, ("messages",)),
)
