"""Streams report tokens only when asked: the bundled server is asked like ModelArk, and a stream from
a server arktrace does not know that ends without usage is said once, with what to set."""

from __future__ import annotations

import logging

import pytest

import arktrace
from arktrace import _usage_notice
from harness import ENDPOINT, routed_client

SELF_HOSTED = "http://vllm.internal:8000/api/v3"  # the bundled server answers under /api/v3


@pytest.fixture(autouse=True)
def _nothing_warned_yet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_usage_notice, "_warned", set())


def stream(client, **kwargs):
    return client.chat.completions.create(
        model=ENDPOINT, messages=[{"role": "user", "content": "Tell me a story"}], stream=True, **kwargs
    )


def auto(provider) -> None:
    arktrace.uninstrument()
    arktrace.instrument(tracer_provider=provider)  # stream_usage "auto", the default


def test_the_bundled_server_gets_stream_usage_like_modelark(client, server, provider, spans) -> None:
    auto(provider)
    chunks = list(stream(client))
    assert all(c.usage is None for c in chunks)  # what the caller asked for: no usage chunk
    assert server.requests[-1].body["stream_options"] == {"include_usage": True}
    attrs = spans.one().attributes
    assert attrs["gen_ai.usage.output_tokens"] > 0
    assert attrs["llm.cost.total"] > 0


def test_a_stream_without_usage_from_an_unknown_server_is_said_once(
    server, provider, spans, caplog: pytest.LogCaptureFixture
) -> None:
    auto(provider)
    caplog.set_level(logging.WARNING, logger="arktrace")
    with routed_client(server, SELF_HOSTED) as client:
        list(stream(client))
        list(stream(client))
    assert "stream_options" not in server.requests[-1].body  # not a host known to accept it
    both = spans.all()
    assert len(both) == 2 and all("gen_ai.usage.output_tokens" not in s.attributes for s in both)
    (record,) = [r for r in caplog.records if r.name == "arktrace"]
    assert record.levelno == logging.WARNING
    assert SELF_HOSTED in record.getMessage()
    assert "ARKTRACE_STREAM_USAGE=always" in record.getMessage()


@pytest.mark.parametrize(
    "how",
    ["stream_usage never", "caller set stream_options", "closed early"],
)
def test_no_warning_where_missing_usage_is_expected(
    how: str, server, provider, spans, caplog: pytest.LogCaptureFixture
) -> None:
    arktrace.uninstrument()
    arktrace.instrument(
        tracer_provider=provider, stream_usage="never" if how == "stream_usage never" else None
    )
    caplog.set_level(logging.WARNING, logger="arktrace")
    with routed_client(server, SELF_HOSTED) as self_hosted:
        if how == "caller set stream_options":
            list(stream(self_hosted, stream_options={"include_usage": False}))
        elif how == "closed early":
            with stream(self_hosted) as s:
                next(s)
        else:
            list(stream(self_hosted))
    assert len(spans.all()) == 1
    assert not [r for r in caplog.records if r.name == "arktrace"]
