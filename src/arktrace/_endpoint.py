"""Who serves a call: provider name, server address and port, derived from the client's base URL.

Pure and cached per base URL, so the per-call cost is one dict look-up.
"""

from __future__ import annotations

from typing import NamedTuple
from urllib.parse import urlsplit


class Endpoint(NamedTuple):
    provider: str
    """``gen_ai.provider.name`` / ``llm.provider``: a well-known name, else the host itself."""
    address: str | None
    port: int | None
    accepts_stream_usage: bool
    """The host is known to accept ``stream_options.include_usage`` on chat and completion streams."""
    url: str = ""
    """The base URL it was derived from, for messages."""


# (host suffix, provider name, accepts include_usage). Longest suffixes first is not needed: suffixes
# are matched on label boundaries and no two overlap.
_KNOWN_HOSTS = (
    ("bytepluses.com", "byteplus", True),
    ("volces.com", "volcengine", True),
    ("volcengineapi.com", "volcengine", True),
    ("api.openai.com", "openai", True),
    ("openai.azure.com", "azure.ai.openai", True),
    ("deepseek.com", "deepseek", True),
    ("moonshot.cn", "moonshot_ai", True),
    ("moonshot.ai", "moonshot_ai", True),
    ("dashscope.aliyuncs.com", "dashscope", True),
    ("dashscope-intl.aliyuncs.com", "dashscope", True),
    ("api.x.ai", "x_ai", False),
    ("api.mistral.ai", "mistral_ai", False),
    ("api.groq.com", "groq", False),
    ("api.perplexity.ai", "perplexity", False),
    ("openrouter.ai", "openrouter", False),
    ("api.together.xyz", "together_ai", False),
    ("generativelanguage.googleapis.com", "gcp.gemini", False),
)
_DEFAULT_PORTS = {"http": 80, "https": 443}
_cache: dict[str, Endpoint] = {}
# A process that makes clients for ever new base URLs (one per tenant, per port) must not grow the cache
# without end. Emptying it when full keeps a hit at one plain dict look-up, which an LRU's bookkeeping
# would not; a miss costs one URL parse.
_CACHE_MAX = 256
# (host, port) of servers that registered as accepting include_usage: the bundled ModelArk server.
_accepting: set[tuple[str, int | None]] = set()
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def accept_stream_usage(base_url: str) -> None:
    """Count the server at ``base_url`` as one that accepts ``stream_options.include_usage``."""
    parts = urlsplit(base_url)
    host = (parts.hostname or "").lower()
    port = parts.port or _DEFAULT_PORTS.get(parts.scheme)
    hosts = {host}
    if host in _LOOPBACK:
        hosts |= _LOOPBACK  # a client may name the same server either way
    _accepting.update((h, port) for h in hosts)
    _cache.clear()


def endpoint_for(base_url: object) -> Endpoint:
    """The endpoint of a client's ``base_url`` (a URL object or string)."""
    key = str(base_url)
    found = _cache.get(key)
    if found is None:
        if len(_cache) >= _CACHE_MAX:
            _cache.clear()
        found = _cache[key] = _parse(key)
    return found


def clear_cache() -> None:
    """Forget every parsed base URL (at uninstrument)."""
    _cache.clear()


def _parse(url: str) -> Endpoint:
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme)
    except ValueError:
        return Endpoint("unknown", None, None, False, url)
    if not host:
        return Endpoint("unknown", None, None, False, url)
    for suffix, provider, accepts_usage in _KNOWN_HOSTS:
        if host == suffix or host.endswith("." + suffix):
            return Endpoint(provider, host, port, accepts_usage, url)
    return Endpoint(host, host, port, (host, port) in _accepting, url)
