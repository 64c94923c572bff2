"""The context cache (``/context/create``, ``/context/chat/completions``)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

from ._common import Answer, Call, Reply, Route, invalid, prompt_tokens_of_messages, usage
from .chat import plan_chat, respond


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


def _create(call: Call) -> Any:
    body = call.body
    messages = body["messages"]
    if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
        raise invalid("The parameter messages specified in the request is not valid.")
    mode = body.get("mode") or "session"
    if mode not in ("session", "common_prefix"):
        raise invalid("The parameter mode specified in the request is not valid.")
    context_id = new_context_id()
    with call.app._lock:
        call.app._contexts[context_id] = ContextCache(body["model"], mode, list(messages))
    return context_created(context_id, body, prompt_tokens_of_messages(messages))


def _chat(call: Call) -> Any:
    app, body = call.app, call.body
    with app._lock:
        context = app._contexts.get(str(body["context_id"]))
    if context is None:
        raise invalid("The parameter context_id specified in the request is not valid.")
    answer, turn = plan_context_chat(body, context, call.model, app.reply)
    if context.mode == "session":
        with app._lock:
            context.messages.extend(turn)
    return respond(call, answer)


ROUTES = (
    Route("POST", "/context/create", _create, ("messages",)),
    Route("POST", "/context/chat/completions", _chat, ("context_id", "messages")),
)
