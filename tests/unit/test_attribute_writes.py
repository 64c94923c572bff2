"""The fast attribute write gives exactly what Span.set_attributes gives, and defers to it when it must."""

from __future__ import annotations

from opentelemetry.sdk.trace import SpanLimits, TracerProvider

from arktrace._attributes import write_attributes

ATTRS = {
    "gen_ai.request.model": "ep-20250101120000-abcde",
    "gen_ai.usage.input_tokens": 5,
    "gen_ai.request.temperature": 0.2,
    "gen_ai.request.stream": True,
    "gen_ai.response.finish_reasons": ("stop", "length"),
    "input.value": "x" * 50,
}


def _both(provider, attrs):
    tracer = provider.get_tracer("t")
    fast, public = tracer.start_span("fast"), tracer.start_span("public")
    write_attributes(fast, attrs)
    public.set_attributes(attrs)
    fast.end()
    public.end()
    return fast, public


def test_same_result_as_set_attributes():
    fast, public = _both(TracerProvider(), ATTRS)
    assert dict(fast.attributes) == dict(public.attributes) == ATTRS
    assert fast.dropped_attributes == public.dropped_attributes == 0


def test_values_needing_cleaning_take_the_public_path():
    attrs = {**ATTRS, "tags": ["a", "b"], "odd": ("a", 1)}
    fast, public = _both(TracerProvider(), attrs)
    assert dict(fast.attributes) == dict(public.attributes)
    assert fast.attributes["tags"] == ("a", "b")


def test_configured_limits_are_honoured():
    limits = SpanLimits(max_attribute_length=10, max_span_attributes=3)
    fast, public = _both(TracerProvider(span_limits=limits), ATTRS)
    assert dict(fast.attributes) == dict(public.attributes)
    assert len(fast.attributes) == 3
    assert all(len(v) <= 10 for v in fast.attributes.values() if isinstance(v, str))
