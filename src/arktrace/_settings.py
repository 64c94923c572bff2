"""Instrumentation settings: keyword arguments of ``instrument()`` over environment variables over defaults.

Everything is read and validated once, when ``instrument()`` runs, so a bad value fails there with a
message that names the variable, and never later inside a user's request.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import NamedTuple

from ._errors import ConfigError

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
STREAM_USAGE_MODES = ("auto", "always", "never")


class Settings(NamedTuple):
    capture_content: bool = True
    """Record message text, tool arguments and outputs. Off: none of them reach a span."""
    max_value_length: int = 32_000
    """Longest string attribute arktrace writes; longer values are cut and marked."""
    stream_usage: str = "auto"
    """Add ``stream_options.include_usage`` to streams: on known hosts (auto), always or never."""
    max_message_attributes: int = 64
    """Budget of indexed ``llm.input_messages.*`` / ``llm.output_messages.*`` attributes per span."""


def _parse_bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{name}={raw!r} is not a boolean: expected one of true/false, 1/0, yes/no, on/off")


def _parse_positive_int(name: str, raw: str, minimum: int) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        value = None
    if value is None or value < minimum:
        raise ConfigError(f"{name}={raw!r} is not usable: expected a whole number >= {minimum}")
    return value


def _parse_stream_usage(name: str, raw: str) -> str:
    value = raw.strip().lower()
    if value in _TRUE:
        return "always"
    if value in _FALSE:
        return "never"
    if value not in STREAM_USAGE_MODES:
        raise ConfigError(f"{name}={raw!r} is not usable: expected auto, always or never")
    return value


def load_settings(
    env: Mapping[str, str] | None = None,
    *,
    capture_content: bool | None = None,
    max_value_length: int | None = None,
    stream_usage: str | bool | None = None,
    max_message_attributes: int | None = None,
) -> Settings:
    """Resolve the settings; raise :class:`ConfigError` naming the first unusable one."""
    env = os.environ if env is None else env
    if capture_content is not None and not isinstance(capture_content, bool):
        # bool("false") is True: a string here would capture content the caller meant to keep out.
        raise ConfigError("capture_content", repr(capture_content), "True or False")
    for name, value in (
        ("max_value_length", max_value_length),
        ("max_message_attributes", max_message_attributes),
    ):
        if value is not None and (type(value) is not int):
            raise ConfigError(name, repr(value), "a whole number (int)")
    if stream_usage is not None and not isinstance(stream_usage, (str, bool)):
        raise ConfigError("stream_usage", repr(stream_usage), "'auto', 'always', 'never', True or False")
    if capture_content is None:
        capture_content = True
        # The OTel-wide switch first, arktrace's own variable wins when both are set.
        for name in ("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "ARKTRACE_CAPTURE_CONTENT"):
            if env.get(name, "").strip():
                capture_content = _parse_bool(name, env[name])
    if max_value_length is None:
        raw = env.get("ARKTRACE_MAX_VALUE_LENGTH", "").strip()
        max_value_length = _parse_positive_int("ARKTRACE_MAX_VALUE_LENGTH", raw, 64) if raw else 32_000
    elif max_value_length < 64:
        raise ConfigError(f"max_value_length={max_value_length!r} is too small: expected >= 64")
    if stream_usage is None:
        raw = env.get("ARKTRACE_STREAM_USAGE", "").strip()
        stream_usage = _parse_stream_usage("ARKTRACE_STREAM_USAGE", raw) if raw else "auto"
    elif isinstance(stream_usage, bool):
        stream_usage = "always" if stream_usage else "never"
    else:
        stream_usage = _parse_stream_usage("stream_usage", str(stream_usage))
    if max_message_attributes is None:
        raw = env.get("ARKTRACE_MAX_MESSAGE_ATTRIBUTES", "").strip()
        max_message_attributes = _parse_positive_int("ARKTRACE_MAX_MESSAGE_ATTRIBUTES", raw, 0) if raw else 64
    elif max_message_attributes < 0:
        raise ConfigError(f"max_message_attributes={max_message_attributes!r}: expected a number >= 0")
    return Settings(
        capture_content=bool(capture_content),
        max_value_length=int(max_value_length),
        stream_usage=stream_usage,
        max_message_attributes=int(max_message_attributes),
    )
