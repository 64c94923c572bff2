"""Bot chat (``/bots/chat/completions``, Volcengine's ``bot_chat.completions``): a chat completion
plus what the bot's plugins did.

Shapes from ``volcenginesdkarkruntime/types/bot_chat``: ``references`` (what the search plugin found:
``url``, ``site_name``, ``title``, ``summary``, ...) and ``bot_usage`` (``model_usage``: tokens per
model the bot called, named; ``action_usage``: ``search_count`` per plugin). The bot id is the model;
the bot's answer follows the chat rules. Streamed, the references come on the first chunk and
``bot_usage`` on the usage chunk (only with ``stream_options.include_usage``, as the SDK documents).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from ._common import DEFAULT_SERVED_MODEL, Answer, Call, Route, clip, content_text, dumps
from .chat import chat_completion, chat_stream, plan_chat

BOT_MODEL = DEFAULT_SERVED_MODEL  # the model behind every bot
SEARCH_PLUGIN = "content_plugin"


def references(body: dict[str, Any]) -> list[dict[str, Any]]:
    """One search result about the last user message."""
    query = ""
    for message in reversed(body["messages"]):
        if isinstance(message, dict) and message.get("role") == "user":
            query = clip(content_text(message.get("content")))
            break
    slug = "-".join(query.lower().split()[:6]) or "news"
    return [
        {
            "url": f"https://news.example.com/{slug}",
            "logo_url": "https://news.example.com/logo.png",
            "site_name": "Example News",
            "title": query or "News",
            "summary": f"What the web says about {query or 'the news'}.",
            "publish_time": "2026-01-01 00:00:00",
        }
    ]


def bot_usage(answer: Answer) -> dict[str, Any]:
    prompt, completion = answer.prompt_tokens, answer.completion_tokens
    model = {
        "name": BOT_MODEL,
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }
    return {"model_usage": [model], "action_usage": [{"name": SEARCH_PLUGIN, "search_count": 1}]}


def _with(event: bytes, **fields: Any) -> bytes:
    data = json.loads(event[len(b"data: ") :])
    data.update(fields)
    return ("data: " + dumps(data) + "\n\n").encode()


def bot_stream(events: Iterator[bytes], refs: list[dict[str, Any]], usage: dict[str, Any]) -> Iterator[bytes]:
    first = True
    for event in events:
        if first:
            event, first = _with(event, references=refs), False
        elif b'"choices":[]' in event:  # the usage chunk
            event = _with(event, bot_usage=usage)
        yield event


def _bot_chat(call: Call) -> Any:
    app, body = call.app, call.body
    answer = plan_chat(body, call.model, app.reply, app.cached_tokens)
    refs, usage = references(body), bot_usage(answer)
    if not body.get("stream"):
        call.refuse_unstreamed_midstream()
        out = chat_completion(answer, call.rid, call.created, call.model, app.usage_style)
        return {**out, "references": refs, "bot_usage": usage, "metadata": body.get("metadata") or {}}
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
    return call.stream(bot_stream(events, refs, usage))


ROUTES = (Route("POST", "/bots/chat/completions", _bot_chat, ("messages",)),)
