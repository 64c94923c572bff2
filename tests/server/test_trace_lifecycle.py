"""``arktrace.trace`` keeps the wrapped code's behaviour: what the caller sends, throws, closes and
catches reaches the code it wraps exactly as without the decorator, and nothing of ours (a bad
setting, an exception whose ``__str__`` fails) replaces the caller's exception."""

from __future__ import annotations

import contextlib
import json

import openai
import pytest
from opentelemetry.trace import StatusCode

import arktrace
from arktrace import _tracing
from harness import ENDPOINT

QUESTION = [{"role": "user", "content": "hi"}]


def _echo() -> object:
    """A generator that answers what it is sent, survives one thrown ValueError and returns a total."""
    log: list[object] = []

    def echo():
        total = 0
        try:
            while True:
                try:
                    value = yield total
                except ValueError as exc:
                    log.append(("caught", str(exc)))
                    continue
                if value is None:
                    return total
                total += value
        finally:
            log.append("inner closed")

    return echo, log


def _drive(gen):
    steps = [next(gen), gen.send(2), gen.send(3), gen.throw(ValueError("x")), gen.send(5)]
    with pytest.raises(StopIteration) as stop:
        gen.send(None)
    return steps, stop.value.value


def test_a_traced_generator_gets_what_is_sent_and_thrown_and_returns_its_value(spans):
    plain, plain_log = _echo()
    traced_fn, traced_log = _echo()
    traced = arktrace.trace(name="echo")(traced_fn)
    assert _drive(traced()) == _drive(plain()) == ([0, 2, 5, 5, 10], 10)
    assert traced_log == plain_log == [("caught", "x"), "inner closed"]
    span = spans.one()
    assert span.status.status_code is StatusCode.OK
    assert json.loads(span.attributes["output.value"]) == [0, 2, 5, 5, 10, 10]


def test_closing_a_traced_generator_closes_the_one_it_wraps(spans):
    inner, log = _echo()
    gen = arktrace.trace(inner)()
    next(gen)
    gen.close()
    assert log == ["inner closed"]
    span = spans.one()
    assert span.status.status_code is StatusCode.OK  # the consumer stopping early is no failure


async def test_a_traced_async_generator_gets_what_is_sent_and_thrown(spans):
    log: list[object] = []

    @arktrace.trace
    async def echo():
        total = 0
        try:
            while True:
                try:
                    value = yield total
                except ValueError:
                    log.append("caught")
                    continue
                total += value
        finally:
            log.append("inner closed")

    gen = echo()
    assert [
        await gen.__anext__(),
        await gen.asend(2),
        await gen.athrow(ValueError()),
        await gen.asend(3),
    ] == [
        0,
        2,
        2,
        5,
    ]
    await gen.aclose()
    assert log == ["caught", "inner closed"]
    assert spans.one().status.status_code is StatusCode.OK  # aclose, like close, is no failure


def test_contextmanager_on_a_traced_generator_sees_the_with_body_exception(spans):
    seen: list[str] = []

    @contextlib.contextmanager
    @arktrace.trace(name="managed")
    def managed():
        try:
            yield "resource"
        except KeyError as exc:
            seen.append(f"inner saw {exc!r}")
            raise

    with pytest.raises(KeyError), managed():
        raise KeyError("boom")
    assert seen == ["inner saw KeyError('boom')"]
    span = spans.one()
    assert span.status.status_code is StatusCode.ERROR and span.attributes["error.type"] == "KeyError"


def test_contextmanager_that_suppresses_keeps_suppressing(spans):
    @contextlib.contextmanager
    @arktrace.trace(name="suppressing")
    def suppressing():
        with contextlib.suppress(KeyError):
            yield

    with suppressing():
        raise KeyError("swallowed by the manager")
    assert spans.one().status.status_code is StatusCode.OK


class Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("__str__ fails")


@pytest.mark.parametrize("kind", ["function", "generator", "context manager"])
def test_the_callers_exception_is_never_replaced(spans, kind):
    error = Unprintable()

    @arktrace.trace
    def function():
        raise error

    @arktrace.trace
    def generator():
        yield 1
        raise error

    with pytest.raises(Unprintable) as raised:
        if kind == "function":
            function()
        elif kind == "generator":
            list(generator())
        else:
            with arktrace.trace("block"):
                raise error
    assert raised.value is error
    span = spans.one()
    assert span.status.status_code is StatusCode.ERROR and span.attributes["error.type"] == "Unprintable"


def test_a_bad_setting_never_raises_inside_the_callers_function(provider, monkeypatch, caplog):
    # Not instrumented: trace reads the settings itself, and a malformed variable is init()'s to
    # report. Inside the application's function it is logged once and content is not recorded.
    arktrace.uninstrument()
    monkeypatch.setattr(_tracing, "_settings", None)
    monkeypatch.setattr(_tracing, "_current_tracer", lambda: provider.get_tracer("app"))
    monkeypatch.setenv("ARKTRACE_MAX_VALUE_LENGTH", "lots")

    @arktrace.trace
    def work(x):
        return x * 2

    with caplog.at_level("WARNING", logger="arktrace"):
        assert work(21) == 42
        assert list(arktrace.trace(lambda: (yield 1))()) == [1]
    assert "arktrace.trace" in caplog.text
    assert _tracing._settings is not None and _tracing._settings.capture_content is False


def test_capture_off_records_no_error_message(spans, provider, monkeypatch):
    monkeypatch.setenv("ARKTRACE_CAPTURE_CONTENT", "false")
    arktrace.uninstrument()
    arktrace.instrument(tracer_provider=provider)

    @arktrace.trace(name="tool")
    def tool(record):
        raise ValueError(f"the patient's {record} is private")

    with pytest.raises(ValueError, match="diagnosis"):
        tool("diagnosis")
    span = spans.one()
    assert span.status.status_code is StatusCode.ERROR and span.attributes["error.type"] == "ValueError"
    recorded = [span.status.description, *(json.dumps(dict(e.attributes)) for e in span.events)]
    assert not any("diagnosis is private" in text for text in recorded), recorded
    assert [e.name for e in span.events] == ["exception"]


def test_capture_on_cuts_a_quoted_key_from_the_enclosing_span(server, spans):
    key = "sk-trace-enclosing-secret-0123456789"
    server.send_next(
        {"error": {"message": f"Incorrect API key provided: {key}.", "code": "bad_key"}}, status=401
    )
    with openai.OpenAI(api_key=key, base_url=server.base_url, max_retries=0) as client:

        @arktrace.trace(name="agent", kind="agent")
        def agent():
            return client.chat.completions.create(model=ENDPOINT, messages=QUESTION)

        with pytest.raises(openai.AuthenticationError, match=key):
            agent()
    by_name = {s.name: s for s in spans.all()}
    assert set(by_name) == {"agent", f"chat {ENDPOINT}"}
    for span in by_name.values():
        recorded = [span.status.description, *(json.dumps(dict(e.attributes)) for e in span.events)]
        assert "Incorrect API key provided" in span.status.description
        assert not any(key in text for text in recorded), (span.name, recorded)


def test_yielded_values_are_bounded_and_not_kept_with_capture_off(spans, provider, monkeypatch):
    arktrace.uninstrument()
    arktrace.instrument(tracer_provider=provider, max_value_length=100)

    @arktrace.trace(name="many")
    def many():
        yield from ("x" * 50 for _ in range(10_000))

    assert sum(1 for _ in many()) == 10_000
    kept = _tracing._Kept(100)
    for _ in range(10_000):
        kept.add("x" * 50)
    assert len(kept.parts) < 5  # what is past the limit is not held while the generator runs
    output = spans.one().attributes["output.value"]
    assert output.startswith('["xxx') and len(output) < 200 and "cut by arktrace" in output

    spans.clear()
    arktrace.uninstrument()
    arktrace.instrument(tracer_provider=provider, capture_content=False)
    assert sum(1 for _ in many()) == 10_000
    assert "output.value" not in spans.one().attributes
