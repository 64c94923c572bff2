"""arktrace: OpenTelemetry spans for every LLM call made with the OpenAI and Ark SDKs.

Two lines::

    import arktrace
    arktrace.init()          # exporters from env vars / .env, then instrument()

or, with your own OpenTelemetry set-up, ``arktrace.instrument(tracer_provider=...)``.
"""

from __future__ import annotations

__version__ = "0.1.0"

from ._errors import ConfigError
from ._instrument import instrument, is_instrumented, uninstrument

__all__ = ["ConfigError", "__version__", "instrument", "is_instrumented", "uninstrument"]
