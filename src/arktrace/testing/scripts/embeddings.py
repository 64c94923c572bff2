"""Text and multimodal embeddings (``/embeddings``, ``/embeddings/multimodal`` and their ``/batch``
forms)."""

from __future__ import annotations

import base64
import hashlib
import math
import struct
from typing import Any

from ._common import (
    EMBEDDING_DIMENSIONS,
    IMAGE_TOKENS,
    VIDEO_TOKENS,
    Call,
    Route,
    count_tokens,
    dumps,
    invalid,
    opt_int,
)


def _vector(seed: str, dims: int) -> bytes:
    """A deterministic unit vector for ``seed``, packed as little-endian float32."""
    raw = hashlib.shake_256(seed.encode()).digest(2 * dims)
    values = [v / 32767.5 - 1.0 for v in struct.unpack(f"<{dims}H", raw)]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return struct.pack(f"<{dims}f", *(v / norm for v in values))


def _encode_vector(packed: bytes, encoding: str) -> Any:
    if encoding == "base64":
        return base64.b64encode(packed).decode("ascii")
    return list(struct.unpack(f"<{len(packed) // 4}f", packed))


def _embedding_options(body: dict[str, Any]) -> tuple[int, str]:
    dims = opt_int(body, "dimensions", minimum=1)
    if dims is not None and dims > 8192:
        raise invalid(f"The parameter dimensions specified in the request is not valid: {dims!r}.")
    encoding = body.get("encoding_format") or "float"
    if encoding not in ("float", "base64"):
        raise invalid(f"The parameter encoding_format specified in the request is not valid: {encoding!r}.")
    return dims or EMBEDDING_DIMENSIONS, encoding


def embeddings(body: dict[str, Any], rid: str, created: int, model: str) -> dict[str, Any]:
    """Text embeddings: one deterministic unit vector per input (seeded by the input's text)."""
    dims, encoding = _embedding_options(body)
    raw = body["input"]
    if isinstance(raw, str) or (isinstance(raw, list) and raw and all(isinstance(t, int) for t in raw)):
        inputs = [raw]
    elif isinstance(raw, list):
        inputs = raw
    else:
        raise invalid("The parameter input specified in the request is not valid.")
    data = []
    tokens = 0
    for index, item in enumerate(inputs):
        if isinstance(item, str):
            tokens += count_tokens(item)
            seed = item
        elif isinstance(item, list) and all(isinstance(t, int) and not isinstance(t, bool) for t in item):
            tokens += len(item)
            seed = dumps(item)
        else:
            raise invalid("The parameter input specified in the request is not valid.")
        vector = _encode_vector(_vector(seed, dims), encoding)
        data.append({"object": "embedding", "index": index, "embedding": vector})
    return {
        "id": rid,
        "created": created,
        "object": "list",
        "model": model,
        "data": data,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


def multimodal_embeddings(body: dict[str, Any], rid: str, created: int, model: str) -> dict[str, Any]:
    """Multimodal embedding: one vector for the whole input list; ``data`` is a single object."""
    dims, encoding = _embedding_options(body)
    parts = body["input"]
    if not isinstance(parts, list) or not all(isinstance(p, dict) for p in parts):
        raise invalid("The parameter input specified in the request is not valid.")
    text_tokens = image_tokens = 0
    for part in parts:
        kind = part.get("type")
        if kind == "text" and isinstance(part.get("text"), str):
            text_tokens += count_tokens(part["text"])
        elif kind == "image_url":
            image_tokens += IMAGE_TOKENS
        elif kind == "video_url":
            image_tokens += VIDEO_TOKENS
        else:
            raise invalid(
                f"The parameter input specified in the request is not valid: unknown part {kind!r}."
            )
    total = text_tokens + image_tokens
    return {
        "created": created,
        "data": {"embedding": _encode_vector(_vector(dumps(parts), dims), encoding), "object": "embedding"},
        "id": rid,
        "model": model,
        "object": "list",
        "usage": {
            "prompt_tokens": total,
            "total_tokens": total,
            "prompt_tokens_details": {"image_tokens": image_tokens, "text_tokens": text_tokens},
        },
    }


def _embeddings(call: Call) -> Any:
    return embeddings(call.body, call.rid, call.created, call.model)


def _multimodal(call: Call) -> Any:
    return multimodal_embeddings(call.body, call.rid, call.created, call.model)


ROUTES = (
    Route("POST", "/embeddings", _embeddings, ("input",)),
    Route("POST", "/embeddings/multimodal", _multimodal, ("input",)),
    Route("POST", "/batch/embeddings", _embeddings, ("input",)),
    Route("POST", "/batch/embeddings/multimodal", _multimodal, ("input",)),
)
