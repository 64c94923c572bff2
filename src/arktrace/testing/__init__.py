"""A local ModelArk-compatible server for tests, demos and benchmarks (standard library only).

    from arktrace.testing import ModelArkServer

    with ModelArkServer() as ark:
        client = openai.OpenAI(base_url=ark.base_url, api_key="test", max_retries=0)
        client.chat.completions.create(model="ep-20250101120000-abcde", messages=[...])
        assert ark.requests[-1].body["model"] == "ep-20250101120000-abcde"

Run ``python -m arktrace.testing`` to serve in the foreground (for another process).

Models. Every model name is answered, so code written for any OpenAI-compatible provider runs as it is:

- the endpoint ids ``ep-20250101120000-abcde`` (served by ``seed-1-8-251228``, a reasoning model),
  ``ep-20250101120000-fghij`` (``seed-1-6-flash-250715``), ``ep-20250101120000-embed``
  (``doubao-embedding-text-240715``) and ``ep-20250101120000-mmemb`` (``skylark-embedding-vision-250615``),
  and any ids given in ``ModelArkServer(endpoints={...})``;
- any other ``ep-…`` id: served by ``seed-1-8-251228``;
- any other name (``gpt-4o``, ``moonshot-v1-8k``, ``seed-1-6-250615``): served under that name. Names
  starting with ``seed-1-8``, ``seed-1-6-2``, ``seed-2-0`` or ``deepseek``, or containing ``thinking``,
  reason by default (``REASONING_PREFIXES``).

Magic models, for errors:

- ``ep-error-<status>`` (``ep-error-400``, ``-401``, ``-403``, ``-404``, ``-429``, ``-500``, any 4xx or
  5xx): that HTTP status with ModelArk's usual error body (``ep-error-404`` is a model that does not
  exist: ``InvalidEndpointOrModel.NotFound``);
- ``ep-error-midstream``: a stream that sends two chunks, then an error event, and no ``[DONE]``
  (a non-streamed request gets HTTP 500).

``fail_next()``, ``fail_mid_stream()`` and ``send_next()`` script errors for any model.
"""

from __future__ import annotations

from ._server import ModelArkServer, RecordedRequest
from .scripts._common import (
    DEFAULT_ENDPOINTS,
    REASONING_PREFIXES,
    USAGE_STYLES,
    count_tokens,
    is_reasoning_model,
)

__all__ = [
    "DEFAULT_ENDPOINTS",
    "REASONING_PREFIXES",
    "USAGE_STYLES",
    "ModelArkServer",
    "RecordedRequest",
    "count_tokens",
    "is_reasoning_model",
]
