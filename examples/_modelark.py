"""Shared by the examples: a ModelArk client from your .env, or the bundled local server when there is none.

With ``BYTEPLUS_API_KEY`` (or ``ARK_API_KEY``) set, the examples call the real ModelArk at
``BYTEPLUS_BASE_URL`` (default: the ap-southeast endpoint) with the endpoint id in ``BYTEPLUS_ENDPOINT_ID``.
Without a key they start ``arktrace.testing.ModelArkServer`` on 127.0.0.1, which answers like ModelArk
(endpoint id ``ep-20250101120000-abcde`` resolves to ``seed-1-8-251228``), so every example runs offline.
"""

from __future__ import annotations

import os
from contextlib import ExitStack

from openai import OpenAI

DEFAULT_BASE_URL = "https://ark.ap-southeast.bytepluses.com/api/v3"
LOCAL_ENDPOINT = "ep-20250101120000-abcde"


def modelark_client(stack: ExitStack, model: str | None = None) -> tuple[OpenAI, str]:
    """An OpenAI client pointed at ModelArk and the model (endpoint id) to call."""
    api_key = os.environ.get("BYTEPLUS_API_KEY") or os.environ.get("ARK_API_KEY")
    if api_key:
        base_url = os.environ.get("BYTEPLUS_BASE_URL", DEFAULT_BASE_URL)
        endpoint = model or os.environ["BYTEPLUS_ENDPOINT_ID"]
        return stack.enter_context(OpenAI(api_key=api_key, base_url=base_url)), endpoint

    from arktrace.testing import ModelArkServer

    server = stack.enter_context(ModelArkServer())
    client = stack.enter_context(OpenAI(api_key="local-test-key", base_url=server.base_url))
    return client, model or LOCAL_ENDPOINT
