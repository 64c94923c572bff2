"""The libraries people call the SDK through: one span per LLM call, and the library's output unchanged.

Each scenario runs twice against the bundled server: once with arktrace off, once on (with
``stream_usage="always"``, the mode that changes most on the wire). The library's own result must be
the same both times, apart from ids and clocks the server makes per call; the traced run must give one
span per LLM call, under the caller's span, with the output text and tokens recorded.

The libraries are pinned in ``tests/frameworks/requirements.txt`` and run in their own CI pass
(``-m frameworks``). A library that is not installed skips its tests, unless
``ARKTRACE_REQUIRE_FRAMEWORKS=1`` (set by that pass), which turns the skip into a failure.
"""

from __future__ import annotations

import importlib
import importlib.util
import os

import pytest

import arktrace
from harness import ENDPOINT

pytestmark = pytest.mark.frameworks

EMBEDDING_MODEL = "ep-20250101120000-embed"
QUESTION = "What does a span record?"
# What the server makes afresh for every call (and the libraries pass on): never compared.
_PER_CALL = frozenset({"id", "created", "created_at", "timestamp", "tool_call_id", "_response_ms"})
TOOL = {
    "type": "function",
    "function": {
        "name": "lookup",
        "description": "Look something up.",
        "parameters": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
    },
}


def frameworks_required() -> bool:
    return os.environ.get("ARKTRACE_REQUIRE_FRAMEWORKS", "").strip().lower() in ("1", "true", "yes")


def need(module: str):
    """Import a framework, or skip (fail when the frameworks pass requires them)."""
    if importlib.util.find_spec(module) is None:
        reason = f"{module} not installed: pip install -r tests/frameworks/requirements.txt"
        if frameworks_required():
            pytest.fail(reason + " [ARKTRACE_REQUIRE_FRAMEWORKS is set]", pytrace=False)
        pytest.skip(reason)
    return importlib.import_module(module)


def plain(value):
    """A library's result as plain data, without what differs between any two calls."""
    if hasattr(value, "model_dump"):
        value = value.model_dump()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items() if k not in _PER_CALL}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, str) and value.startswith("call_"):
        return "call_<id>"  # a tool call id, also inside a library's own text fields
    return value


class Twice:
    """Runs a scenario without arktrace, then with it under a caller's span, and checks both."""

    def __init__(self, provider, spans):
        self.provider = provider
        self.spans = spans
        self.tracer = provider.get_tracer("caller")

    def _off(self):
        arktrace.uninstrument()

    def _on(self):
        arktrace.instrument(tracer_provider=self.provider, stream_usage="always")

    def run(self, scenario, calls: int = 1):
        """``scenario()``'s result with arktrace off and on; returns (traced result, LLM spans)."""
        self._off()
        try:
            untraced = scenario()
        finally:
            self._on()
        self.spans.clear()
        with self.tracer.start_as_current_span("caller") as parent:
            traced = scenario()
        return self._check(untraced, traced, parent, calls)

    async def arun(self, scenario, calls: int = 1):
        self._off()
        try:
            untraced = await scenario()
        finally:
            self._on()
        self.spans.clear()
        with self.tracer.start_as_current_span("caller") as parent:
            traced = await scenario()
        return self._check(untraced, traced, parent, calls)

    def _check(self, untraced, traced, parent, calls):
        assert plain(traced) == plain(untraced)
        finished = self.spans.all()
        llm = [s for s in finished if s.name != "caller"]
        assert len(llm) == calls, [s.name for s in finished]
        caller = parent.get_span_context().span_id
        for span in llm:
            assert span.parent is not None and span.parent.span_id == caller, span.name
            assert span.attributes["gen_ai.request.model"] in (ENDPOINT, EMBEDDING_MODEL)
        return traced, llm


@pytest.fixture
def twice(provider, spans, server):
    return Twice(provider, spans)


def output_text(span):
    return span.attributes.get("llm.output_messages.0.message.content")


def tool_name(span):
    return span.attributes.get("llm.output_messages.0.message.tool_calls.0.tool_call.function.name")


# ------------------------------------------------------------------------------------------ LiteLLM


@pytest.fixture(scope="module")
def litellm():
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no fetch from GitHub at import
    return need("litellm")


def _litellm_chat(server, stream, tools):
    kwargs = {
        "model": f"openai/{ENDPOINT}",
        "api_base": server.base_url,
        "api_key": "test-key",
        "messages": [{"role": "user", "content": QUESTION}],
    }
    if tools:
        kwargs["tools"] = [TOOL]
    if stream:
        # LiteLLM sends its requests raw, so arktrace adds nothing to them; LiteLLM asks for usage
        # itself on OpenAI's own host, and a caller elsewhere asks like this.
        kwargs["stream"] = True
        kwargs["stream_options"] = {"include_usage": True}
    return kwargs


def _check_litellm_chat(result, span, stream, tools):
    a = span.attributes
    assert a["gen_ai.operation.name"] == "chat"
    assert a.get("gen_ai.request.stream", False) is stream
    if stream:
        text = "".join(c.choices[0].delta.content or "" for c in result if c.choices)
        usage = result[-1].usage
        tool_calls = [t for c in result if c.choices for t in c.choices[0].delta.tool_calls or ()]
        names = [t.function.name for t in tool_calls if t.function.name]
    else:
        text = result.choices[0].message.content or ""
        usage = result.usage
        names = [t.function.name for t in result.choices[0].message.tool_calls or ()]
    assert a["gen_ai.usage.output_tokens"] == usage.completion_tokens > 0
    assert a["gen_ai.usage.input_tokens"] == usage.prompt_tokens
    if tools:
        assert names == ["lookup"] == [tool_name(span)]
        assert a["gen_ai.response.finish_reasons"] == ("tool_calls",)
    else:
        assert output_text(span) == text == f"Echo: {QUESTION}"


_LITELLM_CASES = pytest.mark.parametrize(
    ("stream", "tools"),
    [(False, False), (False, True), (True, False), (True, True)],
    ids=["whole", "whole-tool", "stream", "stream-tool"],
)


@_LITELLM_CASES
def test_litellm_completion(litellm, twice, server, stream, tools):
    kwargs = _litellm_chat(server, stream, tools)

    def scenario():
        response = litellm.completion(**kwargs)
        return list(response) if stream else response

    result, (span,) = twice.run(scenario)
    _check_litellm_chat(result, span, stream, tools)


@_LITELLM_CASES
async def test_litellm_acompletion(litellm, twice, server, stream, tools):
    kwargs = _litellm_chat(server, stream, tools)

    async def scenario():
        response = await litellm.acompletion(**kwargs)
        return [c async for c in response] if stream else response

    result, (span,) = await twice.arun(scenario)
    _check_litellm_chat(result, span, stream, tools)


def _litellm_embed(server):
    return {
        "model": f"openai/{EMBEDDING_MODEL}",
        "api_base": server.base_url,
        "api_key": "test-key",
        "input": ["a b", "c"],
    }


def test_litellm_embedding(litellm, twice, server):
    result, (span,) = twice.run(lambda: litellm.embedding(**_litellm_embed(server)))
    assert span.attributes["gen_ai.operation.name"] == "embeddings"
    assert span.attributes["gen_ai.usage.input_tokens"] == result.usage.prompt_tokens > 0


async def test_litellm_aembedding(litellm, twice, server):
    result, (span,) = await twice.arun(lambda: litellm.aembedding(**_litellm_embed(server)))
    assert span.attributes["gen_ai.usage.input_tokens"] == result.usage.prompt_tokens > 0


# ------------------------------------------------------------------------------- LangChain ChatOpenAI


@pytest.fixture
def chat_model(server):
    langchain_openai = need("langchain_openai")
    return langchain_openai.ChatOpenAI(model=ENDPOINT, base_url=server.base_url, api_key="test-key")


def test_langchain_invoke(chat_model, twice):
    message, (span,) = twice.run(lambda: chat_model.invoke(QUESTION))
    assert output_text(span) == message.content == f"Echo: {QUESTION}"
    assert span.attributes["gen_ai.usage.output_tokens"] == message.usage_metadata["output_tokens"]


def test_langchain_stream(chat_model, twice):
    chunks, (span,) = twice.run(lambda: list(chat_model.stream(QUESTION)))
    assert output_text(span) == "".join(c.content for c in chunks) == f"Echo: {QUESTION}"
    assert span.attributes["gen_ai.usage.output_tokens"] > 0
    assert span.attributes["gen_ai.request.stream"] is True


async def test_langchain_ainvoke(chat_model, twice):
    message, (span,) = await twice.arun(lambda: chat_model.ainvoke(QUESTION))
    assert output_text(span) == message.content


def test_langchain_tools(chat_model, twice):
    message, (span,) = twice.run(lambda: chat_model.bind_tools([TOOL]).invoke(QUESTION))
    assert [call["name"] for call in message.tool_calls] == ["lookup"] == [tool_name(span)]


# ------------------------------------------------------------------------------------------ instructor


@pytest.fixture
def patched_client(client):
    instructor = need("instructor")
    return instructor.from_openai(client)


def _user_model():
    from pydantic import BaseModel

    class User(BaseModel):
        name: str
        age: int

    return User


def test_instructor_structured_response(patched_client, twice):
    user_model = _user_model()
    messages = [{"role": "user", "content": "Ada is 36."}]

    def scenario():
        return patched_client.chat.completions.create(
            model=ENDPOINT, response_model=user_model, messages=messages
        )

    user, (span,) = twice.run(scenario)
    assert isinstance(user, user_model)
    assert tool_name(span) == user_model.__name__
    assert span.attributes["gen_ai.usage.output_tokens"] > 0


def test_instructor_streamed_partial(patched_client, twice):
    user_model = _user_model()
    messages = [{"role": "user", "content": "Ada is 36."}]

    def scenario():
        return list(
            patched_client.chat.completions.create_partial(
                model=ENDPOINT, response_model=user_model, messages=messages
            )
        )

    partials, (span,) = twice.run(scenario)
    assert len(partials) > 1 and partials[-1].age is not None
    assert span.attributes["gen_ai.request.stream"] is True
    assert span.attributes["gen_ai.usage.output_tokens"] > 0
    assert tool_name(span) == "Partial" + user_model.__name__  # the schema instructor sends for partials


# ------------------------------------------------------------------------------- OpenAI Agents SDK


@pytest.fixture
def agents(aclient):
    module = need("agents")
    module.set_tracing_disabled(True)  # its own tracing would export to OpenAI's servers
    return module


def _agent(agents, aclient, **extra):
    model = agents.OpenAIChatCompletionsModel(model=ENDPOINT, openai_client=aclient)
    return agents.Agent(name="assistant", instructions="Be brief.", model=model, **extra)


async def test_agents_runner(agents, aclient, twice):
    agent = _agent(agents, aclient)

    async def scenario():
        result = await agents.Runner.run(agent, QUESTION)
        return result.final_output, result.context_wrapper.usage

    (output, usage), (span,) = await twice.arun(scenario)
    assert output_text(span) == output == f"Echo: {QUESTION}"
    assert span.attributes["gen_ai.usage.output_tokens"] == usage.output_tokens


async def test_agents_runner_with_a_tool_and_a_stream(agents, aclient, twice):
    @agents.function_tool
    def lookup(query: str) -> str:
        """Look something up."""
        return "found it"

    agent = _agent(agents, aclient, tools=[lookup])

    async def scenario():
        result = agents.Runner.run_streamed(agent, QUESTION)
        async for _ in result.stream_events():
            pass
        return result.final_output, result.context_wrapper.usage

    (output, _), spans = await twice.arun(scenario, calls=2)
    assert tool_name(spans[0]) == "lookup"
    assert output_text(spans[1]) == output == "The tool returned: found it"
    assert all(s.attributes["gen_ai.request.stream"] is True for s in spans)


# ----------------------------------------------------------------------------------------- pydantic-ai


@pytest.fixture
def pydantic_agent(aclient):
    need("pydantic_ai")
    from pydantic_ai import Agent
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.openai import OpenAIProvider

    return Agent(OpenAIChatModel(ENDPOINT, provider=OpenAIProvider(openai_client=aclient)))


def _usage(result):
    usage = result.usage()
    return usage.requests, usage.input_tokens, usage.output_tokens


async def test_pydantic_ai_run(pydantic_agent, twice):
    async def scenario():
        result = await pydantic_agent.run(QUESTION)
        return result.output, _usage(result)

    (output, (_, _, output_tokens)), (span,) = await twice.arun(scenario)
    assert output_text(span) == output == f"Echo: {QUESTION}"
    assert span.attributes["gen_ai.usage.output_tokens"] == output_tokens


async def test_pydantic_ai_stream(pydantic_agent, twice):
    async def scenario():
        async with pydantic_agent.run_stream(QUESTION) as result:
            output = await result.get_output()
        return output, _usage(result)

    (output, _), (span,) = await twice.arun(scenario)
    assert output_text(span) == output == f"Echo: {QUESTION}"
    assert span.attributes["gen_ai.request.stream"] is True
    assert span.attributes["gen_ai.usage.output_tokens"] > 0
