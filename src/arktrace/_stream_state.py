"""What a stream delivered, folded chunk by chunk into the shape of a non-streamed response.

``record(chunk)`` runs once per chunk on the caller's thread, so it does the least it can: append
fragments to lists (joined once at the end, so accumulation is O(total size)), note the first chunk
that carries output, keep the last usage seen. Text beyond the span's value-length limit is counted,
not kept, so a stream of any length holds bounded memory. ``as_response()`` rebuilds a response
dict that the one response extractor reads, so streamed and non-streamed calls are described the
same way.

The per-chunk code reads each SDK field once and inlines what a helper would do: it is the one
place where arktrace's cost grows with the size of a response (``benchmarks/`` measures it).
"""

from __future__ import annotations

from time import perf_counter
from typing import Any

from ._content import dump_model, get, truncate
from ._responses import ReportedFailure, reported_failure


class _Text:
    """Fragments of one text, kept up to a limit; what is past the limit is only counted."""

    __slots__ = ("cut", "kept", "parts")

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.kept = 0
        self.cut = 0

    def add(self, text: str, limit: int) -> None:
        if self.kept < limit:
            self.parts.append(text)
            self.kept += len(text)
        else:
            self.cut += len(text)

    def value(self, limit: int) -> str:
        text = "".join(self.parts)
        return truncate(text, limit, self.cut) if self.cut else text


class _Choice:
    __slots__ = ("content", "finish_reason", "reasoning", "role", "tool_calls")

    def __init__(self) -> None:
        self.role: str | None = None
        self.content = _Text()
        self.reasoning = _Text()
        self.tool_calls: dict[int, list[Any]] = {}  # index -> [id, name, [argument fragments]]
        self.finish_reason: str | None = None


class StreamState:
    """Shared head: ids, model, usage and time to first output."""

    __slots__ = (
        "choices",
        "created",
        "failure",
        "first_output_at",
        "limit",
        "model",
        "output_chunks",
        "response_id",
        "service_tier",
        "usage",
    )
    object_name = ""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.response_id: str | None = None
        self.model: str | None = None
        self.created: int | None = None
        self.service_tier: str | None = None
        self.usage: Any = None
        self.choices: dict[int, _Choice] = {}
        self.first_output_at: float | None = None
        self.output_chunks = 0
        self.failure: BaseException | None = None  # reported by the provider inside the stream

    def _head(self, chunk: Any) -> None:
        self.response_id = get(chunk, "id")
        self.model = get(chunk, "model")
        self.created = get(chunk, "created")
        self.service_tier = get(chunk, "service_tier")

    def record(self, chunk: Any) -> bool:
        """Fold one chunk in. True when it carried top-level usage: arktrace may have asked for that
        (``stream_options.include_usage``) and then hides it from the caller."""
        raise NotImplementedError

    def _choice(self, index: int) -> _Choice:
        state = self.choices[index] = _Choice()
        return state

    def _produced(self) -> None:
        self.output_chunks += 1
        if self.first_output_at is None:
            self.first_output_at = perf_counter()

    def as_response(self) -> dict[str, Any]:
        response: dict[str, Any] = {"id": self.response_id, "object": self.object_name}
        if self.created is not None:
            response["created"] = self.created
        response["model"] = self.model
        if self.service_tier is not None:
            response["service_tier"] = self.service_tier
        response["choices"] = [self._choice_dict(i, c) for i, c in sorted(self.choices.items())]
        if self.usage is not None:
            usage = self.usage
            dump = getattr(usage, "model_dump", None)
            response["usage"] = dump_model(dump) if dump is not None else usage
        return response

    def _choice_dict(self, index: int, choice: _Choice) -> dict[str, Any]:
        raise NotImplementedError


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
    def _tool_calls(state: _Choice, deltas: Any) -> None:
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

    def _choice_dict(self, index: int, choice: _Choice) -> dict[str, Any]:
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


class CompletionStreamState(StreamState):
    __slots__ = ()
    object_name = "text_completion"

    def record(self, chunk: Any) -> bool:
        if self.response_id is None:
            self._head(chunk)
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
            text = getattr(choice, "text", None)
            if text and type(text) is str:
                state.content.add(text, self.limit)
                self._produced()
            finish_reason = getattr(choice, "finish_reason", None)
            if finish_reason and type(finish_reason) is str:
                state.finish_reason = finish_reason
        return usage is not None

    def _choice_dict(self, index: int, choice: _Choice) -> dict[str, Any]:
        return {
            "index": index,
            "text": choice.content.value(self.limit),
            "finish_reason": choice.finish_reason,
        }


class _Item:
    """One output item of a streamed response, from its ``output_item.added`` to its ``done``."""

    __slots__ = ("added", "arguments", "done", "reasoning", "text")

    def __init__(self, added: Any) -> None:
        self.added = added
        self.done: Any = None
        self.text = _Text()
        self.reasoning = _Text()
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
