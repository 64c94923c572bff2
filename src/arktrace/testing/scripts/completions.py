"""Legacy text completions (``/completions``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ._common import (
    Answer,
    Call,
    Reply,
    Route,
    answer_usage,
    count_tokens,
    cycle,
    dumps,
    invalid,
    opt_int,
    reply_text,
    split_tokens,
    sse_event,
    truncate,
    usage,
)


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
    max_tokens = opt_int(body, "max_tokens")
    chunks = opt_int(body, "arktrace_chunks")
    answer = Answer(prompt_tokens=prompt_tokens, cached_tokens=min(max(cached_tokens, 0), prompt_tokens))
    pieces = split_tokens(reply_text(reply, body))
    if chunks is not None:
        answer.content = cycle(pieces, chunks)
    else:
        answer.content = pieces
        truncate(answer, max_tokens, None)
    return answer


# ---------------------------------------------------------------------------------------------
# the wire: a completion, or its chunks


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
        yield sse_event(head + dumps(piece) + rest + top + "}")
    full = dumps(answer_usage(style, answer))
    finish = f'"","index":0,"logprobs":null,"finish_reason":"{answer.finish_reason}"'
    if style == "moonshot":
        finish += ',"usage":' + full
    top = full if chunk_usage or (include_usage and style == "deepseek") else "null"
    yield sse_event(head + finish + '}],"usage":' + top + "}")
    if include_usage and style in ("modelark", "qwen"):
        yield sse_event(
            f'{{"id":"{rid}","object":"text_completion","created":{created},"model":{m},'
            f'"choices":[],"usage":{full}}}'
        )


def _completions(call: Call) -> Any:
    app, body = call.app, call.body
    answer = plan_completion(body, app.reply, app.cached_tokens)
    if not body.get("stream"):
        call.refuse_unstreamed_midstream()
        return completion(answer, call.rid, call.created, call.model, app.usage_style)
    options = body.get("stream_options")
    options = options if isinstance(options, dict) else {}
    events = completion_stream(
        answer,
        call.rid,
        call.created,
        call.model,
        app.usage_style,
        bool(options.get("include_usage")),
        bool(options.get("chunk_include_usage")),
    )
    return call.stream(events)


ROUTES = (Route("POST", "/completions", _completions, ("prompt",)),)
