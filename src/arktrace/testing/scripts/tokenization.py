"""Tokenization (``/tokenization``, Volcengine's ``tokenization.create``): the server's own tokenizer
(``count_tokens``) applied to each text.

Shapes from ``volcenginesdkarkruntime/types/create_tokenization_response.py``: ``data`` holds, per
input text, ``index``, ``object: "tokenization"``, ``total_tokens``, ``token_ids`` and
``offset_mapping`` (``[start, end)`` character offsets of each token).
"""

from __future__ import annotations

import zlib
from typing import Any

from ._common import TOKEN_RE, Call, Route, invalid

VOCABULARY = 150_000


def token_id(token: str) -> int:
    """A stable id for a token (the same text, the same id)."""
    return zlib.crc32(token.encode()) % VOCABULARY


def tokenize(text: str, index: int) -> dict[str, Any]:
    spans = [m.span() for m in TOKEN_RE.finditer(text)]
    return {
        "index": index,
        "object": "tokenization",
        "total_tokens": len(spans),
        "token_ids": [token_id(text[a:b]) for a, b in spans],
        "offset_mapping": [[a, b] for a, b in spans],
    }


def _tokenization(call: Call) -> Any:
    raw = call.body["text"]
    texts = [raw] if isinstance(raw, str) else raw
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        raise invalid("The parameter text specified in the request is not valid.")
    return {
        "id": call.rid,
        "created": call.created,
        "model": call.model,
        "object": "list",
        "data": [tokenize(text, i) for i, text in enumerate(texts)],
    }


ROUTES = (Route("POST", "/tokenization", _tokenization, ("text",)),)
