"""Legacy completions: ``completions.create`` (``gen_ai.operation.name = text_completion``)."""

from __future__ import annotations

from typing import Any

from .._content import to_json, truncate
from ..conventions import genai_content
from ..conventions.names import OI_INPUT_MIME_TYPE, OI_INPUT_VALUE, OI_PROMPTS
from ._common import JSON, SAMPLING, SCALAR, Choice, Operation, StreamState, price_tokens

SAFE_ARGUMENTS = {**SAMPLING, "best_of": SCALAR, "echo": SCALAR}
PATCH_POINTS = (
    ("resources.completions", "Completions", "create"),
    ("resources.completions", "AsyncCompletions", "create"),
)
PATHS = ("/completions",)


def request_content(
    args: dict[str, Any], content: dict[str, Any], whole: str | None, limit: int, budget: int
) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        OI_INPUT_VALUE: whole if whole is not None else truncate(to_json(content), limit),
        OI_INPUT_MIME_TYPE: JSON,
    }
    prompt = content.get("prompt")
    if isinstance(prompt, str):
        attrs[OI_PROMPTS] = (prompt,)
    elif isinstance(prompt, list) and all(isinstance(p, str) for p in prompt):
        attrs[OI_PROMPTS] = tuple(prompt[:budget])
    return attrs


def output_messages(fields: dict[str, Any], choices: Any) -> tuple[()]:
    return ()  # the completions' text is in output.value; OpenInference has no message for it


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

    def _choice_dict(self, index: int, choice: Choice) -> dict[str, Any]:
        return {
            "index": index,
            "text": choice.content.value(self.limit),
            "finish_reason": choice.finish_reason,
        }


TEXT_COMPLETION = Operation(
    name="text_completion",
    span_kind="LLM",
    paths=PATHS,
    patch_points=PATCH_POINTS,
    safe_arguments=SAFE_ARGUMENTS,
    request_content=request_content,
    output_messages=output_messages,
    price=price_tokens,
    stream_state=CompletionStreamState,
    genai_request=genai_content.completion_request,
    genai_response=genai_content.completion_response,
)
