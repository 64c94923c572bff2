"""Embeddings: ``embeddings.create``, and the Ark SDKs' multimodal and batch embeddings
(``gen_ai.operation.name = embeddings``). Never streamed; the vectors are no content to record."""

from __future__ import annotations

from typing import Any

from .._content import get, to_json, truncate
from ..conventions.names import OI_EMBEDDING_MODEL_NAME, OI_EMBEDDING_TEXT, OI_INPUT_MIME_TYPE, OI_INPUT_VALUE
from ._common import ANY_TEXT, ENCODINGS, JSON, SCALAR, TEXT, Operation, price_input_tokens

SAFE_ARGUMENTS = {"model": ANY_TEXT, "encoding_format": ENCODINGS, "dimensions": SCALAR}
PATCH_POINTS = (
    ("resources.embeddings", "Embeddings", "create"),
    ("resources.embeddings", "AsyncEmbeddings", "create"),
    # Ark runtime SDKs only: multimodal embeddings, and batch inference.
    ("resources.multimodal_embeddings", "MultimodalEmbeddings", "create"),
    ("resources.multimodal_embeddings", "AsyncMultimodalEmbeddings", "create"),
    ("resources.batch.embeddings", "Embeddings", "create"),
    ("resources.batch.embeddings", "AsyncEmbeddings", "create"),
    ("resources.batch.multimodal_embeddings", "MultimodalEmbeddings", "create"),
    ("resources.batch.multimodal_embeddings", "AsyncMultimodalEmbeddings", "create"),
)
PATHS = ("/embeddings", "/embeddings/multimodal", "/batch/embeddings", "/batch/embeddings/multimodal")


def request_content(
    args: dict[str, Any], content: dict[str, Any], whole: str | None, limit: int, budget: int
) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    value = content.get("input")
    if isinstance(value, str):
        attrs[OI_INPUT_VALUE] = value
        attrs[OI_INPUT_MIME_TYPE] = TEXT
        texts = [value]
    else:
        attrs[OI_INPUT_VALUE] = truncate(to_json(value), limit)
        attrs[OI_INPUT_MIME_TYPE] = JSON
        texts = value if isinstance(value, list) else []
    for i, text in enumerate(texts[:budget]):
        if isinstance(text, str):
            attrs[OI_EMBEDDING_TEXT.format(i)] = text
    return attrs


def output_summary(fields: dict[str, Any]) -> str:
    """``{"model", "embeddings": how many, "dimensions"}`` of an embeddings response.

    Formatted directly: the general JSON encoder costs more than the rest of an embeddings span's
    extraction for these three values."""
    data = fields.get("data")
    items = data if isinstance(data, (list, tuple)) else [data] if data is not None else []
    model = fields.get("model")
    head = f'{{"model":{to_json(model) if isinstance(model, str) else "null"},"embeddings":{len(items)}'
    vector = get(items[0], "embedding") if items else None
    if isinstance(vector, (list, tuple)):
        return f'{head},"dimensions":{len(vector)}}}'
    return head + "}"


EMBEDDINGS = Operation(
    name="embeddings",
    span_kind="EMBEDDING",
    paths=PATHS,
    patch_points=PATCH_POINTS,
    safe_arguments=SAFE_ARGUMENTS,
    request_content=request_content,
    output_messages=None,  # vectors; MLflow's summary: output_summary
    price=price_input_tokens,
    include_usage=False,
    model_name_attribute=OI_EMBEDDING_MODEL_NAME,
    reads_choices=False,
    output_summary=output_summary,
)
