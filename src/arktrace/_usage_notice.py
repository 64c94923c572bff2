"""One warning per server the first time a stream from it ends without token usage.

Chat and completion streams report usage only when asked (``stream_options.include_usage``), and
arktrace asks only hosts known to accept it: a self-hosted vLLM, a LiteLLM proxy or a new provider
would otherwise give spans with no tokens and no cost, and nobody would know why.
"""

from __future__ import annotations

import logging

from ._endpoint import Endpoint

logger = logging.getLogger("arktrace")
_MAX_SERVERS = 64  # an app talks to a handful; past that, stay quiet rather than grow
_warned: set[tuple[str | None, int | None]] = set()


def stream_ended_without_usage(endpoint: Endpoint, asked: bool) -> None:
    key = (endpoint.address, endpoint.port)
    if key in _warned or len(_warned) >= _MAX_SERVERS:
        return
    _warned.add(key)
    url = endpoint.url or endpoint.address or "an unknown server"
    if asked:
        logger.warning(
            "arktrace: a stream from %s ended without token usage although stream_options.include_usage "
            "was sent, so its span has no tokens and no cost (logged once per server)",
            url,
        )
    else:
        logger.warning(
            "arktrace: a stream from %s ended without token usage, so its span has no tokens and no cost: "
            "arktrace asks for stream usage only from hosts known to accept stream_options.include_usage. "
            "If this server accepts it (vLLM, LiteLLM and most OpenAI-compatible servers do), set "
            "ARKTRACE_STREAM_USAGE=always, or pass stream_options={'include_usage': True} (logged once "
            "per server)",
            url,
        )
