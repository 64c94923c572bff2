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
CONVENTIONS = ("openinference", "genai", "both")
# OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT's modes, as opentelemetry-util-genai reads them
# under OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental (its README.rst, "NO_CONTENT" ...):
# (content on spans, content in the gen_ai.client.inference.operation.details event).
CAPTURE_MODES = {
    "no_content": (False, False),
    "span_only": (True, False),
    "event_only": (False, True),
    "span_and_event": (True, True),
}
_CAPTURE_EXPECTED = (
    "one of true/false, 1/0, yes/no, on/off, or NO_CONTENT, SPAN_ONLY, EVENT_ONLY, SPAN_AND_EVENT"
)


class Settings(NamedTuple):
    capture_content: bool = True
    """Record message text, tool arguments and outputs. Off: none of them reach a span."""
    max_value_length: int = 32_000
    """Longest string attribute arktrace writes; longer values are cut and marked."""
    stream_usage: str = "auto"
    """Add ``stream_options.include_usage`` to streams: on known hosts (auto), always or never."""
    max_message_attributes: int = 64
    """Budget of indexed ``llm.input_messages.*`` / ``llm.output_messages.*`` attributes per span."""
    conventions: str = "both"
    """Which convention's content attributes a span gets: openinference, genai or both."""
    content_events: bool = False
    """Emit each call's content as a ``gen_ai.client.inference.operation.details`` log event."""


def _parse_capture(name: str, raw: str) -> tuple[bool, bool]:
    """A capture switch or mode: (content on spans, content in events)."""
    value = raw.strip().lower()
    if value in _TRUE:
        return True, False
    if value in _FALSE:
        return False, False
    mode = CAPTURE_MODES.get(value)
    if mode is None:
        raise ConfigError(f"{name}={raw!r} is not usable: expected {_CAPTURE_EXPECTED}")
    return mode


def _parse_conventions(name: str, raw: str) -> str:
    value = raw.strip().lower()
    if value not in CONVENTIONS:
        raise ConfigError(f"{name}={raw!r} is not usable: expected openinference, genai or both")
    return value


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
    capture_content: bool | str | None = None,
    max_value_length: int | None = None,
    stream_usage: str | bool | None = None,
    max_message_attributes: int | None = None,
    conventions: str | None = None,
) -> Settings:
    """Resolve the settings; raise :class:`ConfigError` naming the first unusable one."""
    env = os.environ if env is None else env
    content_events = False
    if isinstance(capture_content, str) and capture_content.strip().lower() in CAPTURE_MODES:
        capture_content, content_events = CAPTURE_MODES[capture_content.strip().lower()]
    elif capture_content is not None and not isinstance(capture_content, bool):
        # bool("false") is True: a string here would capture content the caller meant to keep out.
        raise ConfigError(
            "capture_content",
            repr(capture_content),
            "True or False, or a mode: " + ", ".join(CAPTURE_MODES).upper(),
        )
    if conventions is not None and (
        not isinstance(conventions, str) or conventions.strip().lower() not in CONVENTIONS
    ):
        raise ConfigError("conventions", repr(conventions), "'openinference', 'genai' or 'both'")
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
        # The OTel-wide switch first, arktrace's own variable wins when both are set: for spans, and
        # false there (it is a privacy switch) turns the events off too.
        for name in ("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "ARKTRACE_CAPTURE_CONTENT"):
            if env.get(name, "").strip():
                capture_content, events = _parse_capture(name, env[name])
                turned_off = not capture_content and not events
                content_events = False if turned_off else content_events or events
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
    if conventions is None:
        raw = env.get("ARKTRACE_CONVENTIONS", "").strip()
        conventions = _parse_conventions("ARKTRACE_CONVENTIONS", raw) if raw else "both"
    return Settings(
        capture_content=bool(capture_content),
        max_value_length=int(max_value_length),
        stream_usage=stream_usage,
        max_message_attributes=int(max_message_attributes),
        conventions=conventions.strip().lower(),
        content_events=content_events,
    )
