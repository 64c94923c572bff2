"""Tokenization: Volcengine's ``tokenization.create`` (``/tokenization``), a model's tokenizer applied
to one text or several (``gen_ai.operation.name = tokenization``).

Shapes from ``volcenginesdkarkruntime/types/create_tokenization_response.py``: per text, ``index``,
``total_tokens``, ``token_ids`` and ``offset_mapping``. The counts are recorded (per text, and summed)
under arktrace's names, not the GenAI usage ones: counting tokens consumes none, and a dashboard
summing ``gen_ai.usage.*`` or the token-usage metric must not count them. The token ids and offsets
are never recorded (they say nothing a reader wants, at the size of the text). No cost: tokenizing
is not billed by tokens. The BytePlus SDK and openai have no tokenization (byteplus-python-sdk-v2
3.0.63, openai 3.57).
"""

from __future__ import annotations

from typing import Any

from .._content import get, to_json, truncate
from ..conventions.names import (
    ARKTRACE_TOKENIZATION_COUNTS,
    ARKTRACE_TOKENIZATION_TOTAL,
    OI_INPUT_MIME_TYPE,
    OI_INPUT_VALUE,
)
from ._common import ANY_TEXT, JSON, MAX_COUNT, TEXT, Operation

SAFE_ARGUMENTS = {"model": ANY_TEXT}
PATCH_POINTS = (
    ("resources.tokenization", "Tokenization", "create"),
    ("resources.tokenization", "AsyncTokenization", "create"),
)
PATHS = ("/tokenization",)


def request_content(
    args: dict[str, Any], content: dict[str, Any], whole: str | None, limit: int, budget: int
) -> dict[str, Any]:
    text = content.get("text")
    if isinstance(text, str):
        return {OI_INPUT_VALUE: text, OI_INPUT_MIME_TYPE: TEXT}
    return {OI_INPUT_VALUE: truncate(to_json(text), limit), OI_INPUT_MIME_TYPE: JSON}


def token_counts(fields: dict[str, Any]) -> tuple[int, ...] | None:
    """``total_tokens`` of each text, in the response's order; None unless every one is a count."""
    data = fields.get("data")
    if not isinstance(data, (list, tuple)):
        return None
    counts = tuple(get(item, "total_tokens") for item in data)
    if all(type(n) is int and 0 <= n <= MAX_COUNT for n in counts):
        return counts
    return None


def outcome(fields: dict[str, Any]) -> dict[str, Any]:
    counts = token_counts(fields)
    if counts is None:
        return {}
    attrs: dict[str, Any] = {ARKTRACE_TOKENIZATION_COUNTS: counts}
    total = sum(counts)
    if total <= MAX_COUNT:
        attrs[ARKTRACE_TOKENIZATION_TOTAL] = total
    return attrs


def output_summary(fields: dict[str, Any]) -> str:
    """``{"model", "texts", "total_tokens"}``: MLflow shows nothing without an output."""
    counts = token_counts(fields) or ()
    model = fields.get("model")
    return to_json(
        {
            "model": model if isinstance(model, str) else None,
            "texts": len(counts),
            "total_tokens": sum(counts),
        }
    )


def no_cost(prices: Any, attrs: dict[str, Any], request_model: Any) -> None:
    return None


TOKENIZATION = Operation(
    name="tokenization",
    # Not inference: none of OpenInference's kinds (LLM, EMBEDDING, ...) is a tokenizer.
    span_kind="UNKNOWN",
    paths=PATHS,
    patch_points=PATCH_POINTS,
    safe_arguments=SAFE_ARGUMENTS,
    request_content=request_content,
    output_messages=None,  # token ids: nothing to read
    price=no_cost,
    include_usage=False,
    reads_choices=False,
    outcome=outcome,
    output_summary=output_summary,
    content_arguments=frozenset({"text"}),
)
