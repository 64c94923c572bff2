"""A local ModelArk-compatible server for tests, demos and benchmarks (standard library only).

    from arktrace.testing import ModelArkServer

    with ModelArkServer() as ark:
        client = openai.OpenAI(base_url=ark.base_url, api_key="test", max_retries=0)
        client.chat.completions.create(model="ep-20250101120000-abcde", messages=[...])
        assert ark.requests[-1].body["model"] == "ep-20250101120000-abcde"

Run ``python -m arktrace.testing`` to serve in the foreground (for another process).
"""

from __future__ import annotations

from ._scripts import DEFAULT_ENDPOINTS, REASONING_PREFIXES, USAGE_STYLES, count_tokens, is_reasoning_model
from ._server import ModelArkServer, RecordedRequest

__all__ = [
    "DEFAULT_ENDPOINTS",
    "REASONING_PREFIXES",
    "USAGE_STYLES",
    "ModelArkServer",
    "RecordedRequest",
    "count_tokens",
    "is_reasoning_model",
]
