"""One call, one end: racing ends count the call once."""

from __future__ import annotations

import threading
import time

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.trace import StatusCode

import arktrace
from arktrace._call import Call
from conftest import ENDPOINT

# ------------------------------------------------------------------------------------------ double end

RACERS = 8


@pytest.fixture
def reader(provider, spans):  # after `spans`, which instruments without a meter
    reader = InMemoryMetricReader()
    arktrace.uninstrument()
    arktrace.instrument(
        tracer_provider=provider, meter_provider=MeterProvider(metric_readers=[reader]), stream_usage="always"
    )
    yield reader
    arktrace.uninstrument()


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

    threading.settrace(_in_lockstep_inside_end(RACERS))
    try:
        racers = [threading.Thread(target=close) for _ in range(RACERS)]
        for racer in racers:
            racer.start()
        for racer in racers:
            racer.join(timeout=60)
    finally:
        threading.settrace(None)
    assert errors == []
    assert spans.one().status.status_code is StatusCode.OK
    assert _durations(reader) == [1]
