"""Instrumentation settings: keyword arguments of ``instrument()`` over environment variables over defaults.

Everything is read and validated once, when ``instrument()`` runs, so a bad value fails there with a
message that names the variable, and never later inside a user's request.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, NamedTuple

from ._options import BY_KEYWORD, STREAM_USAGE_MODES, unknown_keyword

__all__ = ["STREAM_USAGE_MODES", "Settings", "load_settings"]


class Settings(NamedTuple):
    """What every call reads; each field is the option of the same keyword in ``arktrace._options``
    (a test holds the fields and their defaults to that table)."""

    capture_content: bool = True
    """Record message text, tool arguments and outputs. Off: none of them reach a span."""
    max_value_length: int = 32_000
    """Longest string attribute arktrace writes; longer values are cut and marked."""
    stream_usage: str = "auto"
    """Add ``stream_options.include_usage`` to streams: on known hosts (auto), always or never."""
    max_message_attributes: int = 64
    """Budget of indexed ``llm.input_messages.*`` / ``llm.output_messages.*`` attributes per span."""
    conventions: str = "both"
    """Whose content attributes spans get: ``openinference``, ``genai`` or ``both``."""
    content_events: bool = False
    """Emit the content as a ``gen_ai.client.inference.operation.details`` event: no option of its
    own, the event modes of ``capture_content`` set it."""


def load_settings(env: Mapping[str, str] | None = None, **given: Any) -> Settings:
    """Resolve the settings, each keyword in ``given`` over its variables over its default; raise
    :class:`ConfigError` naming the first unusable one."""
    env = os.environ if env is None else env
    for name in given:
        if name not in _OPTION_FIELDS:
            raise unknown_keyword(name, "load_settings", _OPTION_FIELDS)
    values = {name: BY_KEYWORD[name].resolve(given.get(name), env) for name in _OPTION_FIELDS}
    values["capture_content"], content_events = values["capture_content"]
    return Settings(content_events=content_events, **values)


_OPTION_FIELDS = tuple(name for name in Settings._fields if name != "content_events")
