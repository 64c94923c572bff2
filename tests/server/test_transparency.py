"""The caller's results, exceptions and chunks are the same with and without arktrace."""

from __future__ import annotations

import logging

import openai
import pytest

import arktrace
from arktrace import _extract
from harness import ENDPOINT

QUESTION = [{"role": "user", "content": "Same answer either way?"}]
_VARYING = {"id", "created"}  # the server makes a new id and timestamp for every response


def _comparable(model):
    data = model.model_dump()
    for key in _VARYING:
        data.pop(key, None)
    return data


def _run_all(client):
    out = {}
    out["chat"] = client.chat.completions.create(model=ENDPOINT, messages=QUESTION)
    out["stream"] = list(client.chat.completions.create(model=ENDPOINT, messages=QUESTION, stream=True))
    out["stream_usage"] = list(
        client.chat.completions.create(
            model=ENDPOINT, messages=QUESTION, stream=True, stream_options={"include_usage": True}
        )
    )
    out["completion"] = client.completions.create(model="ep-20250101120000-fghij", prompt="Once")
    out["embedding"] = client.embeddings.create(model="ep-20250101120000-embed", input=["a", "b"])
    return out


def test_results_and_chunks_are_identical(client, provider):
    plain = _run_all(client)
    arktrace.instrument(tracer_provider=provider, stream_usage="always")
    try:
        traced = _run_all(client)
    finally:
        arktrace.uninstrument()
    for key in plain:
        a, b = plain[key], traced[key]
        if isinstance(a, list):
            assert [type(x) for x in a] == [type(x) for x in b], key
            assert [_comparable(x) for x in a] == [_comparable(x) for x in b], key
            assert [x.model_fields_set for x in a] == [x.model_fields_set for x in b], key
        else:
            assert type(a) is type(b), key
            assert _comparable(a) == _comparable(b), key


@pytest.mark.parametrize("status", [401, 404, 429, 500])
def test_exceptions_are_identical(client, server, provider, status):
    def failure():
        server.fail_next(status)
        with pytest.raises(openai.APIStatusError) as raised:
            client.chat.completions.create(model=ENDPOINT, messages=QUESTION)
        return raised.value

    plain = failure()
    arktrace.instrument(tracer_provider=provider)
    try:
        traced = failure()
    finally:
        arktrace.uninstrument()
    assert type(plain) is type(traced)
    assert plain.status_code == traced.status_code
    assert plain.body.keys() == traced.body.keys() and plain.code == traced.code
    assert traced.__traceback__ is not None


def test_request_bodies_are_identical_except_for_requested_usage(client, server, provider):
    def bodies():
        server.reset()
        _run_all(client)
        return [r.body for r in server.requests]

    plain = bodies()
    arktrace.instrument(tracer_provider=provider, stream_usage="always")
    try:
        traced = bodies()
    finally:
        arktrace.uninstrument()
    assert traced[1].pop("stream_options") == {"include_usage": True}  # the one documented addition
    assert plain == traced


def test_a_fault_inside_arktrace_is_logged_once_and_the_call_goes_on(client, spans, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("extractor bug")

    import arktrace._call as call_module

    monkeypatch.setattr(call_module, "response_attributes", broken)
    monkeypatch.setattr(_extract, "response_attributes", broken)
    with caplog.at_level(logging.WARNING, logger="arktrace"):
        first = client.chat.completions.create(model=ENDPOINT, messages=QUESTION)
        second = client.chat.completions.create(model=ENDPOINT, messages=QUESTION)
        streamed = list(client.chat.completions.create(model=ENDPOINT, messages=QUESTION, stream=True))
    assert first.choices[0].message.content == second.choices[0].message.content
    assert streamed
    assert len(spans.all()) == 3  # still one span per call, ended
    faults = [r for r in caplog.records if "internal error" in r.getMessage()]
    assert len(faults) == 2  # one per place (response, stream), not one per call


def test_a_fault_recording_the_request_does_not_stop_the_call(client, spans, monkeypatch, caplog):
    import arktrace._call as call_module

    def broken(*args, **kwargs):
        raise RuntimeError("bad request attributes")

    expected = client.chat.completions.create(model=ENDPOINT, messages=QUESTION)
    spans.clear()
    monkeypatch.setattr(call_module, "request_attributes", broken)
    with caplog.at_level(logging.WARNING, logger="arktrace"):
        response = client.chat.completions.create(model=ENDPOINT, messages=QUESTION)
    assert response.choices[0].message.content == expected.choices[0].message.content
    span = spans.one()  # the call still has its one span, ended
    assert span.end_time is not None
    assert [r for r in caplog.records if "internal error" in r.getMessage()]  # and the fault is said


def test_a_fault_starting_the_span_does_not_stop_the_call(client, spans, monkeypatch, caplog):
    import arktrace._call as call_module

    def broken(*args, **kwargs):
        raise RuntimeError("bad arguments")

    monkeypatch.setattr(call_module, "set_arguments", broken)
    with caplog.at_level(logging.WARNING, logger="arktrace"):
        response = client.chat.completions.create(model=ENDPOINT, messages=QUESTION)
    assert response.choices
    assert spans.all() == []  # no span could start...
    assert [r for r in caplog.records if "starting a span" in r.getMessage()]  # ...and that is said once
