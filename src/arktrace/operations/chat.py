"""Chat completions: ``chat.completions.create`` and ``.parse()``, and the Ark SDKs' chat over a
context cache and batch chat, all one operation (``gen_ai.operation.name = chat``)."""

from __future__ import annotations

from time import perf_counter
from typing import Any

from .._content import get
from ..conventions import genai_content
from ._common import (
    ANY_TEXT,
    EFFORTS,
    FORMAT_TYPE,
    SAMPLING,
    SCALAR,
    THINKING,
    TOOL_CHOICE,
    VERBOSITY,
    Choice,
    Operation,
    StreamState,
    conversation_content,
    price_tokens,
    words,
)

SAFE_ARGUMENTS = {
    **SAMPLING,
    "max_completion_tokens": SCALAR,
    "parallel_tool_calls": SCALAR,
    "reasoning_effort": EFFORTS,
    "verbosity": VERBOSITY,
    "modalities": [words("text", "audio")],
    "response_format": FORMAT_TYPE,
    "tool_choice": TOOL_CHOICE,
    "thinking": THINKING,
    "context_id": ANY_TEXT,  # an Ark context cache's id, made by the provider
}

PATCH_POINTS = (
    ("resources.chat.completions", "Completions", "create"),
    ("resources.chat.completions", "AsyncCompletions", "create"),
    # .parse() posts directly in later 1.x, 2.x and 3.x; in older 1.x (1.40) it calls create(), and
    # the in-call guard keeps that at one span.
    ("resources.chat.completions", "Completions", "parse"),
    ("resources.chat.completions", "AsyncCompletions", "parse"),
    ("resources.beta.chat.completions", "Completions", "parse"),
    ("resources.beta.chat.completions", "AsyncCompletions", "parse"),
    # Ark runtime SDKs only: chat over a context cache, and batch inference (the SDK retries inside
    # the call, so its retries share the call's one span). batch_chat is the deprecated batch.chat.
    ("resources.context.completions", "Completions", "create"),
    ("resources.context.completions", "AsyncCompletions", "create"),
    ("resources.batch.chat.completions", "Completions", "create"),
    ("resources.batch.chat.completions", "AsyncCompletions", "create"),
    ("resources.batch_chat.completions", "Completions", "create"),
    ("resources.batch_chat.completions", "AsyncCompletions", "create"),
)
# ``/chat/completions/{id}`` (stored completions) is not traced; ``/bots/chat/completions`` is
# bot chat's (``bot_chat.py``).
PATHS = ("/chat/completions", "/context/chat/completions", "/batch/chat/completions")


def output_messages(fields: dict[str, Any], choices: Any) -> list[Any]:
    return [get(c, "message") for c in choices]


class ChatStreamState(StreamState):
    __slots__ = ()
    object_name = "chat.completion"

    def record(self, chunk: Any) -> bool:
        if self.response_id is None:
            self._head(chunk)
        # The common chunk, one choice with a text delta, is read straight from the models' __dict__
        # (pydantic's __getattr__ makes each attribute read ~5x a dict look-up), every read before
        # any write; anything else (several choices, tool calls, usage, the finish, a malformed or
        # non-pydantic chunk) takes the careful path. Measured in benchmarks/instructions.py.
        try:
            fields = chunk.__dict__
            choices = fields["choices"]
            if fields["usage"] is None and len(choices) == 1:
                choice = choices[0].__dict__
                delta = choice["delta"]
                parts = delta.__dict__
                text = parts["content"]
                if (
                    choice["finish_reason"] is None
                    and not parts["tool_calls"]
                    and (text is None or text.__class__ is str)
                ):
                    reasoning = parts.get("reasoning_content")  # a field in the Ark SDKs' models
                    if reasoning is None:
                        extra = delta.__pydantic_extra__  # an extra in openai's
                        if extra:
                            reasoning = extra.get("reasoning_content")
                    state = self.choices.get(choice["index"])
                    if (
                        state is not None
                        and state.role is not None
                        and (reasoning is None or reasoning.__class__ is str)
                    ):
                        if text:  # _Text.add, inlined: this runs for nearly every chunk
                            kept = state.content
                            if kept.kept < self.limit:
                                kept.parts.append(text)
                                kept.kept += len(text)
                            else:
                                kept.cut += len(text)
                        if reasoning:
                            state.reasoning.add(reasoning, self.limit)
                        if text or reasoning:
                            self.output_chunks += 1
                            if self.first_output_at is None:
                                self.first_output_at = perf_counter()
                        return False
        except Exception:
            pass
        return self._record_carefully(chunk)

    def _record_carefully(self, chunk: Any) -> bool:
        # getattr with a default and the type checks below: the SDK builds chunks without validating
        # them, so a provider's malformed chunk arrives with missing fields or values of any type.
        usage = getattr(chunk, "usage", None)
        if usage is not None:
            self.usage = usage
        choices = getattr(chunk, "choices", None)
        if type(choices) is not list:
            return usage is not None
        for choice in choices:
            index = getattr(choice, "index", 0)
            if type(index) is not int:
                index = 0
            state = self.choices.get(index)
            if state is None:
                state = self._choice(index)
            produced = False
            delta = getattr(choice, "delta", None)
            if delta is not None:
                text = getattr(delta, "content", None)
                if text and type(text) is str:
                    state.content.add(text, self.limit)
                    produced = True
                if state.role is None:
                    role = getattr(delta, "role", None)
                    if type(role) is str:
                        state.role = role
                # Reasoning text is a declared field in the Ark SDKs' models, an extra in openai's.
                fields = getattr(delta, "__dict__", None)
                reasoning = fields.get("reasoning_content") if type(fields) is dict else None
                if reasoning is None:
                    extra = getattr(delta, "__pydantic_extra__", None)
                    if type(extra) is dict:
                        reasoning = extra.get("reasoning_content")
                if reasoning and type(reasoning) is str:
                    state.reasoning.add(reasoning, self.limit)
                    produced = True
                tool_calls = getattr(delta, "tool_calls", None)
                if tool_calls and type(tool_calls) is list:
                    self._tool_calls(state, tool_calls)
                    produced = True
            if produced:
                self.output_chunks += 1
                if self.first_output_at is None:
                    self.first_output_at = perf_counter()
            finish_reason = getattr(choice, "finish_reason", None)
            if finish_reason and type(finish_reason) is str:
                state.finish_reason = finish_reason
                extra = get(choice, "usage")
                if extra is not None:  # Moonshot: usage inside the finish choice
                    self.usage = extra
        return usage is not None

    @staticmethod
    def _tool_calls(state: Choice, deltas: Any) -> None:
        for delta in deltas:
            index = get(delta, "index")
            if type(index) is not int:
                index = 0
            call = state.tool_calls.get(index)
            if call is None:
                call = state.tool_calls[index] = [None, None, []]
            call_id = get(delta, "id")
            if call_id and type(call_id) is str:
                call[0] = call_id
            function = get(delta, "function")
            if function is not None:
                name = get(function, "name")
                if name and type(name) is str:
                    call[1] = name
                arguments = get(function, "arguments")
                if arguments and type(arguments) is str:
                    call[2].append(arguments)

    def _choice_dict(self, index: int, choice: Choice) -> dict[str, Any]:
        message: dict[str, Any] = {
            "role": choice.role or "assistant",
            "content": choice.content.value(self.limit),
        }
        if choice.reasoning.parts:
            message["reasoning_content"] = choice.reasoning.value(self.limit)
        if choice.tool_calls:
            message["tool_calls"] = [
                {"id": call_id, "type": "function", "function": {"name": name, "arguments": "".join(args)}}
                for call_id, name, args in (choice.tool_calls[i] for i in sorted(choice.tool_calls))
            ]
        return {"index": index, "message": message, "finish_reason": choice.finish_reason}


CHAT = Operation(
    name="chat",
    span_kind="LLM",
    paths=PATHS,
    patch_points=PATCH_POINTS,
    safe_arguments=SAFE_ARGUMENTS,
    request_content=conversation_content,
    output_messages=output_messages,
    price=price_tokens,
    stream_state=ChatStreamState,
    genai_request=genai_content.chat_request,
    genai_response=genai_content.chat_response,
)
