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
  (``doubao-embedding-text-240715``), ``ep-20250101120000-mmemb`` (``skylark-embedding-vision-250615``),
  ``ep-20250101120000-image`` (``seedream-4-5-251128``) and ``ep-20250101120000-video``
  (``seedance-1-0-pro-250528``), and any ids given in ``ModelArkServer(endpoints={...})``;
- any other ``ep-…`` id: served by ``seed-1-8-251228`` (on images and video tasks by their own default);
- any other name (``gpt-4o``, ``moonshot-v1-8k``, ``seed-1-6-250615``): served under that name. Names
  starting with ``seed-1-8``, ``seed-1-6-2``, ``seed-2-0`` or ``deepseek``, or containing ``thinking``,
  reason by default (``REASONING_PREFIXES``).

Magic models, for errors:

- ``ep-error-<status>`` (``ep-error-400``, ``-401``, ``-403``, ``-404``, ``-429``, ``-500``, any 4xx or
  5xx): that HTTP status with ModelArk's usual error body (``ep-error-404`` is a model that does not
  exist: ``InvalidEndpointOrModel.NotFound``);
- ``ep-error-midstream``: a stream that sends two chunks, then an error event, and no ``[DONE]``
  (a non-streamed request gets HTTP 500).
- ``ep-error-content``: generated content the content filter rejects: in an image generation the
  second image (the only one, when one is asked for) is an ``{"error": ...}`` item, or a
  ``image_generation.partial_failed`` event in a stream, and is not counted in ``generated_images``;
  a video task ends ``failed`` with ``OutputVideoSensitiveContentDetected``.

Surfaces beyond chat (``scripts/<surface>.py`` says the rules of each):

- ``POST /images/generations`` (Seedream; openai's ``images.generate`` too): ``n`` images, or
  ``sequential_image_generation_options.max_images`` (4 when not given) with
  ``sequential_image_generation="auto"``; ``size`` ``1K``/``2K``/``4K`` or ``WxH`` (default
  ``2048x2048``); ``response_format`` ``url`` or ``b64_json`` (a 1x1 PNG); ``output_tokens`` = pixels / 256
  per image. Streamed: one ``image_generation.partial_succeeded``/``partial_failed`` event per image,
  ``image_generation.completed`` with the usage, ``[DONE]``. Unknown ``ep-…`` ids: ``seedream-4-5-251128``.
- ``/contents/generations/tasks`` (Seedance): ``POST`` creates (``{"id": "cgt-…"}``), ``GET …/{id}``
  answers ``queued`` then ``running`` then ``succeeded`` as set by ``task_polls`` (``video_url``,
  ``last_frame_url`` with ``return_last_frame``, ``usage.completion_tokens`` = width x height x 24 x
  seconds / 1024), ``GET`` lists (``filter.status``/``model``/``task_ids``/``service_tier``,
  ``page_num``, ``page_size``; newest first), ``DELETE`` cancels a queued task or deletes a finished one.
  Unknown ``ep-…`` ids: ``seedance-1-0-pro-250528``.
- ``POST /bots/chat/completions``: a chat completion with ``references`` and ``bot_usage``.
- ``POST /tokenization``: per text, ``token_ids``, ``total_tokens``, ``offset_mapping`` (this
  server's tokenizer, ``count_tokens``).

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
