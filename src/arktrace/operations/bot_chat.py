"""Bot chat: Volcengine's ``bot_chat.completions.create`` (``/bots/chat/completions``), a chat
completion answered by a bot (an Ark application: a model plus plugins such as web search or a
knowledge base). ``gen_ai.operation.name = chat``; the bot id is the request model.

Everything chat records is recorded the same way (the request, messages, the streamed answer: the
bot's response *is* a chat completion with three more fields). What the bot adds, read from
``volcenginesdkarkruntime/types/bot_chat/`` (``bot_reference.py``, ``bot_usage.py``):

- ``references``: what its plugins cited. Their number always; their titles and URLs as content.
- ``bot_usage.model_usage``: tokens per endpoint the bot called; ``bot_usage.action_usage``: searches
  per plugin. Recorded always (endpoint and plugin names are the bot's set-up, not anybody's text).

Cost is the sum over ``model_usage``, each endpoint priced as a request model (so the price table's
``endpoints`` map applies); when one of them is unpriced there is no cost at all, as for chat. Without
``model_usage`` (a stream not asked for usage) the call is priced as chat prices it. The BytePlus SDK
has no bot chat (checked against byteplus-python-sdk-v2 3.0.63's ``resources/``).
"""

from __future__ import annotations

from typing import Any

from .._content import fields_of, get, sanitize_text
from ..conventions import genai_content
from ..conventions.names import (
    ARKTRACE_BOT_ACTION_USAGE_NAME,
    ARKTRACE_BOT_ACTION_USAGE_SEARCHES,
    ARKTRACE_BOT_MODEL_USAGE_INPUT,
    ARKTRACE_BOT_MODEL_USAGE_NAME,
    ARKTRACE_BOT_MODEL_USAGE_OUTPUT,
    ARKTRACE_BOT_MODEL_USAGE_TOTAL,
    ARKTRACE_BOT_REFERENCE_COUNT,
    ARKTRACE_BOT_REFERENCE_TITLE,
    ARKTRACE_BOT_REFERENCE_URL,
    ARKTRACE_BOT_SEARCH_COUNT,
)
from ._common import MAX_COUNT, SCALAR, Operation, _count, conversation_content, price_tokens
from .chat import SAFE_ARGUMENTS as CHAT_ARGUMENTS
from .chat import ChatStreamState
from .chat import output_messages as chat_output_messages

SAFE_ARGUMENTS = {**CHAT_ARGUMENTS, "repetition_penalty": SCALAR}
PATCH_POINTS = (
    ("resources.bot.completions", "Completions", "create"),
    ("resources.bot.completions", "AsyncCompletions", "create"),
)
PATHS = ("/bots/chat/completions",)

# A bot calls a handful of endpoints and plugins; a provider's list longer than this is cut, so a span
# stays under the attribute-count limit.
MAX_USAGE_ENTRIES = 16
_MODEL_USAGE = (
    ("prompt_tokens", ARKTRACE_BOT_MODEL_USAGE_INPUT),
    ("completion_tokens", ARKTRACE_BOT_MODEL_USAGE_OUTPUT),
    ("total_tokens", ARKTRACE_BOT_MODEL_USAGE_TOTAL),
)
# A search plugin's result has a title; a knowledge base's, a document's title or name.
_TITLE_FIELDS = ("title", "doc_title", "doc_name", "chunk_title")


def bot_attributes(fields: dict[str, Any]) -> dict[str, Any]:
    """The number of references and the bot's own usage: recorded with or without content."""
    attrs: dict[str, Any] = {}
    references = fields.get("references")
    if isinstance(references, (list, tuple)):
        attrs[ARKTRACE_BOT_REFERENCE_COUNT] = len(references)
    usage = fields_of(fields.get("bot_usage"))
    models = usage.get("model_usage")
    if isinstance(models, (list, tuple)):
        for i, model in enumerate(models[:MAX_USAGE_ENTRIES]):
            model = fields_of(model)
            name = model.get("name")
            if isinstance(name, str):
                attrs[ARKTRACE_BOT_MODEL_USAGE_NAME.format(i)] = name
            for field, key in _MODEL_USAGE:
                value = _count(model, field)
                if value is not None:
                    attrs[key.format(i)] = value
    actions = usage.get("action_usage")
    if isinstance(actions, (list, tuple)):
        searches = 0
        for i, action in enumerate(actions[:MAX_USAGE_ENTRIES]):
            action = fields_of(action)
            name = action.get("name")
            if isinstance(name, str):
                attrs[ARKTRACE_BOT_ACTION_USAGE_NAME.format(i)] = name
            count = _count(action, "search_count")
            if count is not None:
                attrs[ARKTRACE_BOT_ACTION_USAGE_SEARCHES.format(i)] = count
                searches += count
        if actions and searches <= MAX_COUNT:
            attrs[ARKTRACE_BOT_SEARCH_COUNT] = searches
    return attrs


def reference_content(fields: dict[str, Any], limit: int, budget: int) -> dict[str, Any]:
    """The references' titles and URLs (capture on only), at most ``budget`` references."""
    attrs: dict[str, Any] = {}
    references = fields.get("references")
    if not isinstance(references, (list, tuple)):
        return attrs
    for i, reference in enumerate(references[:budget]):
        reference = fields_of(reference)
        for field in _TITLE_FIELDS:
            title = reference.get(field)
            if isinstance(title, str) and title:
                attrs[ARKTRACE_BOT_REFERENCE_TITLE.format(i)] = sanitize_text(title, limit)
                break
        url = reference.get("url")
        if isinstance(url, str) and url:
            attrs[ARKTRACE_BOT_REFERENCE_URL.format(i)] = sanitize_text(url, limit)
    return attrs


def price(prices: Any, attrs: dict[str, Any], request_model: Any) -> Any:
    """The sum over the endpoints the bot called; chat's pricing when it reported none."""
    if (
        ARKTRACE_BOT_MODEL_USAGE_INPUT.format(0) not in attrs
        and ARKTRACE_BOT_MODEL_USAGE_NAME.format(0) not in attrs
    ):
        return price_tokens(prices, attrs, request_model)
    prompt_cost = completion_cost = 0.0
    for i in range(MAX_USAGE_ENTRIES):
        name = attrs.get(ARKTRACE_BOT_MODEL_USAGE_NAME.format(i))
        prompt = attrs.get(ARKTRACE_BOT_MODEL_USAGE_INPUT.format(i))
        if name is None and prompt is None:
            break
        # The name is an endpoint id (or a model): looked up as a request model, so the table's
        # ``endpoints`` map applies; no response model is known for it.
        priced = prices.cost(None, name, prompt, attrs.get(ARKTRACE_BOT_MODEL_USAGE_OUTPUT.format(i)), None)
        if priced is None:
            return None  # one endpoint unpriced: a partial sum would read as the whole cost
        prompt_cost += priced[0]
        completion_cost += priced[1]
    return prompt_cost, completion_cost


class BotChatStreamState(ChatStreamState):
    """Chat's stream state, plus the references (the first chunk's) and ``bot_usage`` (the usage
    chunk's). Read before chat's own per-chunk path, which stays as it is."""

    __slots__ = ("bot_usage", "references")

    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.references: Any = None
        self.bot_usage: Any = None

    def record(self, chunk: Any) -> bool:
        references = get(chunk, "references")
        if references is not None:
            self.references = references
        bot_usage = get(chunk, "bot_usage")
        if bot_usage is not None:
            self.bot_usage = bot_usage
        return ChatStreamState.record(self, chunk)

    def hide_usage(self, chunk: Any) -> bool:
        # ``bot_usage`` comes only where usage was asked for: arktrace's asking, so not the caller's.
        if ChatStreamState.hide_usage(self, chunk):
            return True
        if get(chunk, "bot_usage") is not None:
            chunk.bot_usage = None
        return False

    def as_response(self) -> dict[str, Any]:
        response = ChatStreamState.as_response(self)
        if self.references is not None:
            response["references"] = self.references
        if self.bot_usage is not None:
            response["bot_usage"] = self.bot_usage
        return response


BOT_CHAT = Operation(
    name="chat",
    span_kind="LLM",
    paths=PATHS,
    patch_points=PATCH_POINTS,
    safe_arguments=SAFE_ARGUMENTS,
    request_content=conversation_content,
    output_messages=chat_output_messages,
    price=price,
    stream_state=BotChatStreamState,
    outcome=bot_attributes,
    output_content=reference_content,
    genai_request=genai_content.chat_request,
    genai_response=genai_content.chat_response,
)
