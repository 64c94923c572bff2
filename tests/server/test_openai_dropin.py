"""``arktrace.openai``: Langfuse's drop-in keywords taken out before the SDK, put on the call's span.

What the provider received is read from the bundled server's request log, never from arktrace."""

from __future__ import annotations

import inspect
import json

import openai as sdk
import pytest
from opentelemetry import trace

import arktrace
import arktrace.openai as dropin
from arktrace.openai import AsyncOpenAI, OpenAI

ENDPOINT = "ep-20250101120000-abcde"
MESSAGES = [{"role": "user", "content": "What is Litefuse?"}]
KEYWORDS = {
    "name": "BytePlus-Generation",
    "metadata": {"email": "user@example.com", "step": 2},
    "session_id": "session_abc",
    "user_id": "user_123",
    "tags": ["agent", "my-observation"],
}
LANGFUSE_KEYS = set(KEYWORDS)


@pytest.fixture
def dclient(server):
    with OpenAI(api_key="test-key", base_url=server.base_url, max_retries=0) as c:
        yield c


@pytest.fixture
async def daclient(server):
    c = AsyncOpenAI(api_key="test-key", base_url=server.base_url, max_retries=0)
    yield c
    await c.close()


def sent_bodies(server):
    return [r.body for r in server.requests if r.method == "POST"]


def assert_nothing_sent(server, expected_calls: int = 1) -> None:
    bodies = sent_bodies(server)
    assert len(bodies) == expected_calls
    for body in bodies:
        assert LANGFUSE_KEYS.isdisjoint(body), body


def assert_keywords_on(span, name: str = KEYWORDS["name"]) -> None:
    attrs = span.attributes
    assert span.name == name
    assert attrs["user.id"] == attrs["langfuse.user.id"] == "user_123"
    assert attrs["session.id"] == attrs["langfuse.session.id"] == "session_abc"
    assert list(attrs["tag.tags"]) == list(attrs["langfuse.trace.tags"]) == ["agent", "my-observation"]
    assert json.loads(attrs["metadata"]) == KEYWORDS["metadata"]
    assert attrs["langfuse.trace.metadata.email"] == "user@example.com"


def test_the_clients_are_the_sdks_and_the_module_stands_in_for_openai(dclient) -> None:
    from arktrace import openai as module

    assert module is dropin
    assert isinstance(dclient, sdk.OpenAI)
    assert issubclass(AsyncOpenAI, sdk.AsyncOpenAI)
    assert isinstance(dclient.chat.completions, type(sdk.OpenAI(api_key="x").chat.completions))
    assert module.APIError is sdk.APIError and module.NotFoundError is sdk.NotFoundError
    assert "OpenAI" in dir(module) and "APIError" in dir(module)


def test_the_plain_sdk_refuses_the_keywords(client) -> None:
    # What the drop-in is for: the seed's code fails with the plain SDK.
    with pytest.raises(TypeError):
        client.chat.completions.create(model=ENDPOINT, messages=MESSAGES, name="BytePlus-Generation")


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_sync_keywords_reach_the_span_not_the_provider(dclient, server, spans, stream: bool) -> None:
    result = dclient.chat.completions.create(model=ENDPOINT, messages=MESSAGES, stream=stream, **KEYWORDS)
    if stream:
        text = "".join(c.choices[0].delta.content or "" for c in result if c.choices)
    else:
        text = result.choices[0].message.content
    assert text
    assert_nothing_sent(server)
    assert_keywords_on(spans.one())
    assert spans.one().attributes["gen_ai.request.model"] == ENDPOINT


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
async def test_async_keywords_reach_the_span_not_the_provider(daclient, server, spans, stream: bool) -> None:
    result = await daclient.chat.completions.create(
        model=ENDPOINT, messages=MESSAGES, stream=stream, **KEYWORDS
    )
    if stream:
        text = "".join([c.choices[0].delta.content or "" async for c in result if c.choices])
    else:
        text = result.choices[0].message.content
    assert text
    assert_nothing_sent(server)
    assert_keywords_on(spans.one())


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_without_arktrace_set_up_the_keywords_are_still_taken_out(dclient, server, stream: bool) -> None:
    arktrace.uninstrument()
    result = dclient.chat.completions.create(model=ENDPOINT, messages=MESSAGES, stream=stream, **KEYWORDS)
    if stream:
        assert list(result)
    else:
        assert result.choices[0].message.content
    assert_nothing_sent(server)


def test_the_callers_arguments_are_not_changed(dclient, server, spans) -> None:
    kwargs = {"model": ENDPOINT, "messages": MESSAGES, **KEYWORDS}
    before = json.dumps(kwargs, sort_keys=True)
    dclient.chat.completions.create(**kwargs)
    assert json.dumps(kwargs, sort_keys=True) == before


def test_the_scope_ends_with_the_call(dclient, server, spans, provider) -> None:
    dclient.chat.completions.create(model=ENDPOINT, messages=MESSAGES, **KEYWORDS)
    with trace.get_tracer("app", tracer_provider=provider).start_as_current_span("after"):
        dclient.chat.completions.create(model=ENDPOINT, messages=MESSAGES)
    later = [s for s in spans.all() if s.name != KEYWORDS["name"]]
    assert {s.name for s in later} == {"after", f"chat {ENDPOINT}"}
    for span in later:
        assert "user.id" not in span.attributes and "session.id" not in span.attributes


def test_only_the_given_keywords_are_written(dclient, server, spans) -> None:
    dclient.chat.completions.create(model=ENDPOINT, messages=MESSAGES, user_id="u-1")
    span = spans.one()
    assert span.name == f"chat {ENDPOINT}"  # no name=: arktrace's own span name
    assert span.attributes["user.id"] == "u-1"
    assert "session.id" not in span.attributes and "tag.tags" not in span.attributes


def test_keywords_inside_a_context_extend_it(dclient, server, spans) -> None:
    with arktrace.context(user_id="outer-user", tags=["outer"], metadata={"team": "a"}):
        dclient.chat.completions.create(
            model=ENDPOINT, messages=MESSAGES, tags=["inner"], metadata={"step": 1}
        )
    attrs = spans.one().attributes
    assert attrs["user.id"] == "outer-user"
    assert list(attrs["tag.tags"]) == ["outer", "inner"]
    assert json.loads(attrs["metadata"]) == {"team": "a", "step": 1}


def test_instrumenting_after_the_client_was_made_still_traces_it(server) -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    arktrace.uninstrument()
    with OpenAI(api_key="test-key", base_url=server.base_url, max_retries=0) as early:
        assert early.chat.completions  # resources made before instrument()
        provider, exporter = TracerProvider(), InMemorySpanExporter()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        arktrace.instrument(tracer_provider=provider)
        try:
            early.chat.completions.create(model=ENDPOINT, messages=MESSAGES, **KEYWORDS)
        finally:
            arktrace.uninstrument()
    (span,) = exporter.get_finished_spans()
    assert_keywords_on(span)


def test_store_true_sends_metadata_as_the_sdk_argument(dclient, server, spans) -> None:
    # OpenAI's stored completions read metadata; Langfuse's drop-in forwards it then too.
    if "store" not in inspect.signature(sdk.resources.chat.Completions.create).parameters:
        pytest.skip("this openai has no stored completions (store=, metadata=)")
    dclient.chat.completions.create(model=ENDPOINT, messages=MESSAGES, store=True, **KEYWORDS)
    (body,) = sent_bodies(server)
    assert body["metadata"] == KEYWORDS["metadata"]
    assert {"name", "session_id", "user_id", "tags"}.isdisjoint(body)
    assert_keywords_on(spans.one())


def test_raw_and_streaming_response_wrappers_take_them_too(dclient, server, spans) -> None:
    raw = dclient.chat.completions.with_raw_response.create(model=ENDPOINT, messages=MESSAGES, **KEYWORDS)
    assert raw.parse().choices[0].message.content
    with dclient.chat.completions.with_streaming_response.create(
        model=ENDPOINT, messages=MESSAGES, **KEYWORDS
    ) as response:
        response.read()
    assert_nothing_sent(server, 2)
    finished = spans.all()
    assert len(finished) == 2
    for span in finished:
        assert_keywords_on(span)


def test_embeddings_and_legacy_completions_take_them(dclient, server, spans) -> None:
    dclient.embeddings.create(model="ep-20250101120000-embed", input="hello", name="embed-docs", user_id="u")
    dclient.completions.create(model=ENDPOINT, prompt="Say hi", name="legacy", session_id="s")
    assert_nothing_sent(server, 2)
    names = {s.name: s.attributes for s in spans.all()}
    assert names["embed-docs"]["user.id"] == "u"
    assert names["legacy"]["session.id"] == "s"


def test_responses_api_takes_them(dclient, server, spans) -> None:
    if not hasattr(sdk.OpenAI(api_key="x"), "responses"):
        pytest.skip("this openai has no Responses API")
    dclient.responses.create(model=ENDPOINT, input="hi", **KEYWORDS)
    assert_nothing_sent(server)
    assert_keywords_on(spans.one())


def test_unusable_values_are_reported_and_the_call_goes_on(dclient, server, spans, caplog) -> None:
    class Unprintable:
        def __str__(self) -> str:
            raise RuntimeError("no text")

    response = dclient.chat.completions.create(model=ENDPOINT, messages=MESSAGES, tags=[Unprintable()])
    assert response.choices[0].message.content
    assert_nothing_sent(server)
    assert "tag.tags" not in spans.one().attributes
    assert "Langfuse-style keywords" in caplog.text
