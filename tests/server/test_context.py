"""arktrace.context and arktrace.trace: trace-level context and parent spans for the app's code."""

from __future__ import annotations

import asyncio
import json
import threading

import openai
import pytest
from opentelemetry.trace import StatusCode

import arktrace
from harness import ENDPOINT

QUESTION = [{"role": "user", "content": "hello"}]


def _by_name(spans):
    return {s.name: s for s in spans.all()}


def test_context_reaches_llm_spans_app_spans_and_the_enclosing_span(client, provider, spans):
    tracer = provider.get_tracer("app")
    with tracer.start_as_current_span("request"):
        with arktrace.context(
            user_id="u-1", session_id="s-1", tags=["prod"], metadata={"tenant": "acme", "n": 3}
        ):
            client.chat.completions.create(model=ENDPOINT, messages=QUESTION)
            with tracer.start_as_current_span("manual"):
                pass
        with tracer.start_as_current_span("outside"):
            pass
    found = _by_name(spans)
    for name in ("request", "manual", f"chat {ENDPOINT}"):
        a = found[name].attributes
        assert a["user.id"] == "u-1" and a["langfuse.user.id"] == "u-1", name
        assert a["session.id"] == a["gen_ai.conversation.id"] == a["langfuse.session.id"] == "s-1", name
        assert a["tag.tags"] == ("prod",) and a["langfuse.trace.tags"] == ("prod",), name
        assert json.loads(a["metadata"]) == {"tenant": "acme", "n": 3}, name
        assert a["langfuse.trace.metadata.tenant"] == "acme" and a["langfuse.trace.metadata.n"] == 3, name
    assert "user.id" not in found["outside"].attributes


def test_nested_scopes_extend_and_override(client, spans):
    with arktrace.context(user_id="outer", tags=["a"], metadata={"x": 1, "y": 1}):
        with arktrace.context(user_id="inner", tags=["b", "a"], metadata={"y": 2}):
            client.chat.completions.create(model=ENDPOINT, messages=QUESTION)
        client.embeddings.create(model="ep-20250101120000-embed", input="x")
    inner, outer = sorted(spans.all(), key=lambda s: s.name)
    assert inner.attributes["user.id"] == "inner"
    assert inner.attributes["tag.tags"] == ("a", "b")
    assert json.loads(inner.attributes["metadata"]) == {"x": 1, "y": 2}
    assert outer.attributes["user.id"] == "outer" and outer.attributes["tag.tags"] == ("a",)


def test_threads_do_not_share_scopes(server, provider, spans):
    barrier = threading.Barrier(4)
    errors = []

    def worker(n):
        try:
            c = openai.OpenAI(api_key="k", base_url=server.base_url, max_retries=0)
            with c, arktrace.context(user_id=f"user-{n}"):
                barrier.wait()
                c.chat.completions.create(model=ENDPOINT, messages=[{"role": "user", "content": f"n{n}"}])
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    found = spans.all()
    assert len(found) == 4
    users = set()
    for span in found:
        n = json.loads(span.attributes["input.value"])["messages"][0]["content"][1:]
        assert span.attributes["user.id"] == f"user-{n}"
        users.add(n)
    assert users == {"0", "1", "2", "3"}


async def test_tasks_do_not_share_scopes(aclient, spans):
    async def one(n):
        async with _async_scope(n):
            await asyncio.sleep(0.01 * (3 - n))
            await aclient.chat.completions.create(
                model=ENDPOINT, messages=[{"role": "user", "content": f"n{n}"}]
            )

    await asyncio.gather(*(one(n) for n in range(3)))
    found = spans.all()
    assert len(found) == 3
    for span in found:
        n = json.loads(span.attributes["input.value"])["messages"][0]["content"][1:]
        assert span.attributes["session.id"] == f"session-{n}"
    assert {s.attributes["session.id"] for s in found} == {"session-0", "session-1", "session-2"}


class _async_scope:
    def __init__(self, n):
        self.scope = arktrace.context(session_id=f"session-{n}")

    async def __aenter__(self):
        self.scope.__enter__()

    async def __aexit__(self, *exc):
        self.scope.__exit__(*exc)


def test_context_as_decorator(client, spans):
    @arktrace.context(user_id="decorated")
    def ask():
        return client.chat.completions.create(model=ENDPOINT, messages=QUESTION)

    ask()
    assert spans.one().attributes["user.id"] == "decorated"


async def test_context_decorator_on_a_coroutine(aclient, spans):
    @arktrace.context(session_id="async-decorated")
    async def ask_async():
        return await aclient.chat.completions.create(model=ENDPOINT, messages=QUESTION)

    await ask_async()
    assert spans.one().attributes["session.id"] == "async-decorated"


def test_call_name_renames_only_llm_spans(client, provider, spans):
    with arktrace.context(call_name="BytePlus-Generation"):
        client.chat.completions.create(model=ENDPOINT, messages=QUESTION)
        with provider.get_tracer("app").start_as_current_span("app-span"):
            pass
    names = {s.name for s in spans.all()}
    assert names == {"BytePlus-Generation", "app-span"}


def test_trace_decorator_makes_a_parent_span(client, spans):
    @arktrace.trace(kind="agent")
    def plan(question, *, depth=1):
        client.chat.completions.create(model=ENDPOINT, messages=[{"role": "user", "content": question}])
        return {"answer": "done"}

    assert plan("why?", depth=2) == {"answer": "done"}
    found = _by_name(spans)
    parent = found["test_trace_decorator_makes_a_parent_span.<locals>.plan"]
    llm = found[f"chat {ENDPOINT}"]
    assert llm.parent.span_id == parent.context.span_id
    a = parent.attributes
    assert a["openinference.span.kind"] == "AGENT" and a["gen_ai.operation.name"] == "invoke_agent"
    assert json.loads(a["input.value"]) == {"question": "why?", "depth": 2}
    assert json.loads(a["output.value"]) == {"answer": "done"}
    assert parent.status.status_code is StatusCode.OK


def test_trace_records_exceptions(spans):
    @arktrace.trace(name="failing-tool", kind="tool")
    def tool():
        raise KeyError("missing")

    with pytest.raises(KeyError):
        tool()
    span = spans.one()
    assert span.name == "failing-tool"
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "KeyError"
    assert span.attributes["gen_ai.tool.name"] == "failing-tool"


async def test_trace_async_and_generators(client, aclient, spans):
    @arktrace.trace
    async def fetch():
        await aclient.embeddings.create(model="ep-20250101120000-embed", input="x")
        return "ok"

    @arktrace.trace(kind="retriever")
    def documents():
        yield "a"
        client.embeddings.create(model="ep-20250101120000-embed", input="y")
        yield "b"

    @arktrace.trace
    async def tokens():
        for t in ("x", "y"):
            yield t

    assert await fetch() == "ok"
    assert list(documents()) == ["a", "b"]
    assert [t async for t in tokens()] == ["x", "y"]
    found = _by_name(spans)
    retriever = next(s for n, s in found.items() if n.endswith("documents"))
    assert json.loads(retriever.attributes["output.value"]) == ["a", "b"]
    embedding_spans = [s for s in spans.all() if s.name.startswith("embeddings")]
    parents = {s.parent.span_id for s in embedding_spans}
    assert retriever.context.span_id in parents
    assert next(s for n, s in found.items() if n.endswith("fetch")).context.span_id in parents


def test_trace_as_context_manager_and_ids(client, spans):
    with arktrace.trace("workflow", kind="chain") as span:
        trace_id = arktrace.current_trace_id()
        span_id = arktrace.current_span_id()
        client.chat.completions.create(model=ENDPOINT, messages=QUESTION)
    assert len(trace_id) == 32 and len(span_id) == 16
    found = _by_name(spans)
    assert format(found["workflow"].context.trace_id, "032x") == trace_id
    assert found[f"chat {ENDPOINT}"].parent.span_id == span.get_span_context().span_id
    assert arktrace.current_trace_id() is None


def test_trace_content_capture_off(spans, provider, monkeypatch):
    monkeypatch.setenv("ARKTRACE_CAPTURE_CONTENT", "false")
    arktrace.uninstrument()
    arktrace.instrument(tracer_provider=provider)

    @arktrace.trace
    def secret(password):
        return password

    secret("hunter2")
    assert "hunter2" not in json.dumps(dict(spans.one().attributes))


def test_bad_kind_is_rejected():
    with pytest.raises(ValueError, match="kind='planner'"):
        arktrace.trace("x", kind="planner")


def test_stream_consumed_after_its_creator_returned_keeps_its_parent(client, spans):
    @arktrace.trace(name="handler")
    def handler():
        return client.chat.completions.create(model=ENDPOINT, messages=QUESTION, stream=True)

    stream = handler()
    from opentelemetry import trace as otel_trace

    assert not otel_trace.get_current_span().is_recording()
    for _ in stream:
        pass
    found = _by_name(spans)
    assert found[f"chat {ENDPOINT}"].parent.span_id == found["handler"].context.span_id
    assert not otel_trace.get_current_span().is_recording()


def test_flask_streaming_response_is_one_trace(client, provider, spans):
    import flask
    from opentelemetry.instrumentation.flask import FlaskInstrumentor

    app = flask.Flask("chat-app")
    FlaskInstrumentor().instrument_app(app, tracer_provider=provider)

    @arktrace.trace(name="workflow")
    def start_answer(question):
        return client.chat.completions.create(
            model=ENDPOINT, messages=[{"role": "user", "content": question}], stream=True
        )

    @app.route("/ask")
    def ask():
        with arktrace.context(user_id="web-user", session_id="web-session"):
            stream = start_answer(flask.request.args["q"])

        def body():
            for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    yield chunk.choices[0].delta.content

        return flask.Response(body(), mimetype="text/plain")

    try:
        response = app.test_client().get("/ask?q=hi")
        text = response.get_data(as_text=True)
        response.close()
    finally:
        FlaskInstrumentor().uninstrument_app(app)
    assert text == "Echo: hi"
    found = _by_name(spans)
    http = next(s for s in found.values() if s.kind.name == "SERVER")
    workflow, llm = found["workflow"], found[f"chat {ENDPOINT}"]
    assert workflow.parent.span_id == http.context.span_id
    assert llm.parent.span_id == workflow.context.span_id
    assert len({s.context.trace_id for s in spans.all()}) == 1
    assert http.attributes["user.id"] == "web-user"  # the enclosing request span gets the context too
    assert llm.attributes["session.id"] == "web-session"
    assert llm.attributes["llm.output_messages.0.message.content"] == "Echo: hi"
