"""One call, one end: what a span records is what was sent, and racing ends count the call once."""

from __future__ import annotations

import json
import threading
import time

import openai
import pytest
from opentelemetry.trace import StatusCode

from arktrace._call import Call
from harness import ENDPOINT

# ------------------------------------------------------------------------------ request recorded late


def test_a_stream_records_the_messages_it_sent_not_what_the_caller_appends_meanwhile(client, spans):
    messages = [{"role": "user", "content": "What is distributed tracing?"}]
    sent = list(messages)
    stream = client.chat.completions.create(model=ENDPOINT, messages=messages, stream=True)
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            messages.append({"role": "assistant", "content": chunk.choices[0].delta.content})
    assert len(messages) > 2  # the caller's list did grow while the stream ran
    a = spans.one().attributes
    assert json.loads(a["input.value"])["messages"] == sent
    assert a["llm.input_messages.0.message.content"] == sent[0]["content"]
    assert "llm.input_messages.1.message.role" not in a


@pytest.mark.skipif(not hasattr(openai.OpenAI, "responses"), reason="no Responses API in this openai")
def test_a_responses_stream_records_the_input_it_sent(client, spans):
    items = [{"role": "user", "content": "What is distributed tracing?"}]
    stream = client.responses.create(model=ENDPOINT, input=items, stream=True)
    next(stream)
    items.append({"role": "user", "content": "appended after sending"})
    items[0] = {"role": "user", "content": "replaced after sending"}
    list(stream)
    value = spans.one().attributes["input.value"]
    assert "What is distributed tracing?" in value
    assert "after sending" not in value


def test_a_streaming_response_records_what_it_sent(client, spans):
    messages = [{"role": "user", "content": "What is distributed tracing?"}]
    with client.chat.completions.with_streaming_response.create(model=ENDPOINT, messages=messages) as raw:
        messages.append({"role": "user", "content": "appended after sending"})
        raw.parse()
    assert "after sending" not in spans.one().attributes["input.value"]


# ------------------------------------------------------------------------------------------ double end

RACERS = 8


def _durations(reader):
    data = reader.get_metrics_data()
    return [
        point.count
        for rm in (data.resource_metrics if data else ())
        for sm in rm.scope_metrics
        for metric in sm.metrics
        if metric.name == "gen_ai.client.operation.duration"
        for point in metric.data.data_points
    ]


def _in_lockstep_inside_end(racers):
    """A trace function that holds every racer at the first line of ``Call._end`` until all are
    there, then slows each later line: whatever check-then-act window the end has, all racers are
    in it together (the interleaving a busy machine produces rarely, every time)."""
    barrier = threading.Barrier(racers)
    end_code = Call._end.__code__

    def tracer(frame, event, arg):
        if frame.f_code is not end_code:
            return None
        first = [True]

        def line(frame, event, arg):
            if event == "line":
                if first:
                    first.pop()
                    barrier.wait(timeout=30)
                else:
                    time.sleep(0.002)
            return line

        return line

    return tracer


def test_racing_ends_end_the_span_and_count_the_call_once(client, spans, reader):
    messages = [{"role": "user", "content": "x"}]
    stream = client.chat.completions.create(model=ENDPOINT, messages=messages, stream=True)
    next(stream)
    errors = []

    def close():
        try:
            stream.close()
        except BaseException as error:
            errors.append(error)

    previous = getattr(threading, "gettrace", lambda: None)()  # a coverage tool's, say (3.10+)
    threading.settrace(_in_lockstep_inside_end(RACERS))
    try:
        racers = [threading.Thread(target=close) for _ in range(RACERS)]
        for racer in racers:
            racer.start()
        for racer in racers:
            racer.join(timeout=60)
    finally:
        threading.settrace(previous)
    assert errors == []
    assert spans.one().status.status_code is StatusCode.OK
    assert _durations(reader) == [1]
