"""``arktrace demo``: the product's main job, end to end, with nothing to configure.

Starts the bundled ModelArk-compatible server, instruments the real ``openai`` SDK, makes the calls a
ModelArk app makes (chat, a reasoning stream, a tool call, an embedding, a failing call) and prints
the spans they produced as a table.
"""

from __future__ import annotations

import sys
from typing import Any, TextIO

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

ENDPOINT = "ep-20250101120000-abcde"
EMBEDDING_ENDPOINT = "ep-20250101120000-embed"

_WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def run_demo(out: TextIO = sys.stdout, latency: float = 0.05, chunk_interval: float = 0.005) -> int:
    import openai

    import arktrace
    from arktrace.testing import ModelArkServer

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    # The bundled server listens on 127.0.0.1, which is not a host known to accept
    # stream_options.include_usage, so ask for it explicitly to show stream token counts.
    arktrace.instrument(tracer_provider=provider, stream_usage="always")
    try:
        with ModelArkServer(latency=latency, chunk_interval=chunk_interval, cached_tokens=8) as server:
            client = openai.OpenAI(api_key="demo-key", base_url=server.base_url, max_retries=0)
            print(f"bundled ModelArk-compatible server: {server.base_url}\n", file=out)
            _calls(client)
            client.close()
    finally:
        arktrace.uninstrument()
    spans = sorted(exporter.get_finished_spans(), key=lambda s: s.start_time or 0)
    print(render_table(spans), file=out)
    print(f"\n{len(spans)} spans; attributes of the first one:", file=out)
    for key, value in sorted((spans[0].attributes or {}).items()):
        text = str(value)
        print(f"  {key} = {text if len(text) <= 100 else text[:97] + '...'}", file=out)
    return 0


def _calls(client: Any) -> None:
    import openai

    question = [{"role": "user", "content": "What is distributed tracing?"}]
    client.chat.completions.create(model=ENDPOINT, messages=question, max_tokens=256)

    stream = client.chat.completions.create(
        model=ENDPOINT,
        messages=[{"role": "user", "content": "Explain time to first token in one sentence."}],
        stream=True,
        extra_body={"thinking": {"type": "enabled"}},
    )
    for _ in stream:
        pass

    client.chat.completions.create(
        model=ENDPOINT,
        messages=[{"role": "user", "content": "What's the weather in Singapore?"}],
        tools=[_WEATHER_TOOL],
    )
    client.embeddings.create(model=EMBEDDING_ENDPOINT, input=["distributed tracing", "time to first token"])
    try:
        client.chat.completions.create(model="ep-error-404", messages=question)
    except openai.NotFoundError:
        pass


def render_table(spans: list[ReadableSpan]) -> str:
    header = (
        "operation",
        "request → response model",
        "tokens in/out",
        "cached",
        "reasoning",
        "cost (est.)",
        "latency",
        "TTFT",
        "status",
    )
    rows = [header]
    for span in spans:
        a = span.attributes or {}
        latency = ((span.end_time or 0) - (span.start_time or 0)) / 1e9
        ttft = a.get("gen_ai.response.time_to_first_chunk")
        status = span.status.status_code.name
        if status == "ERROR":
            status = f"ERROR {a.get('error.type', '')}".strip()
        rows.append(
            (
                str(a.get("gen_ai.operation.name", span.name))
                + (" (stream)" if a.get("gen_ai.request.stream") else ""),
                f"{a.get('gen_ai.request.model', '?')} → {a.get('gen_ai.response.model', '-')}",
                f"{_n(a.get('gen_ai.usage.input_tokens'))}/{_n(a.get('gen_ai.usage.output_tokens'))}",
                _n(a.get("gen_ai.usage.cache_read.input_tokens")),
                _n(a.get("gen_ai.usage.reasoning.output_tokens")),
                f"${a['gen_ai.usage.cost']:.7f}" if "gen_ai.usage.cost" in a else "-",
                f"{latency * 1000:.1f} ms",
                f"{ttft * 1000:.1f} ms" if isinstance(ttft, float) else "-",
                status,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def _n(value: Any) -> str:
    return "-" if value is None else str(value)
