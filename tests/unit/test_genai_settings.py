"""ARKTRACE_CONVENTIONS and OpenTelemetry's content capture modes, read as settings."""

from __future__ import annotations

import pytest

from arktrace import ConfigError
from arktrace._settings import load_settings

OTEL = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"


@pytest.mark.parametrize(
    "value,spans,events",
    [
        ("NO_CONTENT", False, False),
        ("SPAN_ONLY", True, False),
        ("span_only", True, False),
        ("EVENT_ONLY", False, True),
        ("Span_And_Event", True, True),
        ("true", True, False),
        ("false", False, False),
    ],
)
def test_opentelemetry_capture_modes_are_accepted(value: str, spans: bool, events: bool) -> None:
    for env in ({OTEL: value}, {OTEL: value, "OTEL_SEMCONV_STABILITY_OPT_IN": "gen_ai_latest_experimental"}):
        settings = load_settings(env)
        assert (settings.capture_content, settings.content_events) == (spans, events)


def test_arktraces_own_switch_wins_and_false_turns_the_events_off_too() -> None:
    both = {OTEL: "SPAN_AND_EVENT"}
    off = load_settings({**both, "ARKTRACE_CAPTURE_CONTENT": "false"})
    assert (off.capture_content, off.content_events) == (False, False)
    on = load_settings({OTEL: "EVENT_ONLY", "ARKTRACE_CAPTURE_CONTENT": "true"})
    assert (on.capture_content, on.content_events) == (True, True)


def test_the_keyword_takes_a_mode_too() -> None:
    settings = load_settings({}, capture_content="EVENT_ONLY")
    assert (settings.capture_content, settings.content_events) == (False, True)
    with pytest.raises(ConfigError, match="True or False"):
        load_settings({}, capture_content="false")


def test_an_unknown_mode_names_the_variable_and_the_modes() -> None:
    with pytest.raises(ConfigError, match=f"{OTEL}='SPAN_ONLYY'.*SPAN_AND_EVENT"):
        load_settings({OTEL: "SPAN_ONLYY"})


def test_conventions_default_and_choices() -> None:
    assert load_settings({}).conventions == "both"
    assert load_settings({"ARKTRACE_CONVENTIONS": "OpenInference"}).conventions == "openinference"
    assert load_settings({"ARKTRACE_CONVENTIONS": "genai"}, conventions="both").conventions == "both"
    with pytest.raises(ConfigError, match="ARKTRACE_CONVENTIONS='otel'"):
        load_settings({"ARKTRACE_CONVENTIONS": "otel"})
