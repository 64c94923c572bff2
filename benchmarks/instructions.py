"""Instructions per call of arktrace's per-call work, counted by callgrind: repeatable on a noisy machine.

    python benchmarks/instructions.py            # needs valgrind; ~15 min on 2 cores
    python benchmarks/instructions.py chunk call # only the parts named

Each part runs N times in a child process under ``valgrind --tool=callgrind``; the count of an empty
run is subtracted and the rest divided by N. No HTTP: a ModelArk-shaped response object is reused,
and spans go through a SimpleSpanProcessor to an exporter that drops them. This is where the per-call
numbers in the README's design notes come from (bare span vs a whole chat call, and what attribute
validation and a pydantic attribute miss cost).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

N = 1000
PARTS = {
    "bare span (start + end)": "bare",
    "span + 36 attributes via Span.set_attributes": "set_attributes",
    "span + 36 attributes via arktrace's write": "fast_write",
    "request attributes": "request",
    "response attributes": "response",
    "pydantic attribute miss (getattr with default)": "miss",
    "one whole chat call (span, attributes, cost)": "call",
    "one stream chunk through arktrace's observer, beyond the SDK's own": "chunk",
}
# A chunk costs too few instructions for N iterations to rise above the run-to-run noise of start-up.
ITERATIONS = {"chunk": 20 * N}


def _child(part: str, n: int) -> None:
    from openai.types.chat import ChatCompletion
    from opentelemetry import context as otel_context
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

    import arktrace
    from arktrace import _instrument
    from arktrace._attributes import write_attributes
    from arktrace._call import Call
    from arktrace._endpoint import endpoint_for
    from arktrace._extract import request_attributes, response_attributes, set_arguments
    from arktrace.operations import CHAT

    class Drop(SpanExporter):
        def export(self, spans):  # type: ignore[no-untyped-def]
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(Drop()))
    arktrace.instrument(tracer_provider=provider)
    recorder = _instrument.current_recorder()
    assert recorder is not None
    tracer = recorder.tracer
    response = ChatCompletion.model_validate(
        {
            "id": "0217426318107460cfa43dc3f3683b1de1c09624ff49085a456ac",
            "object": "chat.completion",
            "created": 1742631811,
            "model": "seed-1-8-251228",
            "service_tier": "default",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": "Hello!", "reasoning_content": "Greeting."},
                }
            ],
            "usage": {
                "prompt_tokens": 102,
                "completion_tokens": 153,
                "total_tokens": 255,
                "prompt_tokens_details": {"cached_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 146},
            },
        }
    )
    kwargs = {
        "model": "ep-20250101120000-abcde",
        "messages": [
            {"role": "system", "content": "You are helpful."},
            {"role": "user", "content": "What is distributed tracing?"},
        ],
        "max_tokens": 256,
    }
    endpoint = endpoint_for("https://ark.ap-southeast.bytepluses.com/api/v3")
    args = set_arguments(kwargs)
    attrs = {
        **request_attributes(CHAT, args, endpoint, recorder.settings),
        **response_attributes(CHAT, response, recorder.settings),
    }
    usage = response.usage

    def call() -> None:
        c = Call(recorder, CHAT, kwargs, endpoint)
        c.request_kwargs(kwargs)
        otel_context.detach(otel_context.attach(c.context()))
        c.returned(response)

    # A stream that never ends, cycling through real SDK chunks (one choice, a text delta: what
    # nearly every chunk of a chat stream is); the "chunk" part reads one chunk through arktrace's
    # observer (the iterator it wraps is C code: a few hundred instructions, within the noise).
    from itertools import cycle

    from openai.types.chat import ChatCompletionChunk

    from arktrace._call import ObservedStream

    chunks = [
        ChatCompletionChunk.model_validate(
            {
                "id": "0217426318107460cfa43dc3f3683b1de1c09624ff49085a456ac",
                "object": "chat.completion.chunk",
                "created": 1742631811,
                "model": "seed-1-8-251228",
                "choices": [{"index": 0, "delta": {"role": "assistant", "content": f"w{i} "}}],
            }
        )
        for i in range(50)
    ]

    class _Response:
        headers: dict[str, str] = {}

        def close(self) -> None:
            pass

    class _Stream:
        def __init__(self) -> None:
            self._iterator = cycle(chunks)
            self.response = _Response()

    observed = _Stream()
    ObservedStream.attach(Call(recorder, CHAT, {**kwargs, "stream": True}, endpoint), observed)
    next_observed = observed._iterator.__next__

    def with_attrs(write):  # type: ignore[no-untyped-def]
        def run() -> None:
            span = tracer.start_span("x")
            write(span, attrs)
            span.end()

        return run

    work = {
        "none": lambda: None,
        "bare": lambda: tracer.start_span("x").end(),
        "set_attributes": with_attrs(lambda span, a: span.set_attributes(a)),
        "fast_write": with_attrs(write_attributes),
        "request": lambda: request_attributes(CHAT, args, endpoint, recorder.settings),
        "response": lambda: response_attributes(CHAT, response, recorder.settings),
        "miss": lambda: getattr(usage, "not_a_field", None),
        "call": call,
        "chunk": next_observed,
    }[part]
    for _ in range(100):  # warm caches and lazy imports outside the counted difference
        work()
    for _ in range(n):
        work()


def _count(part: str, n: int) -> int:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    done = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            __file__,
            part,
            str(n),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise RuntimeError(done.stderr[-2000:])
    return int(found.group(1))


def main(selected: list[str]) -> int:
    """Count every part, or only the parts named on the command line (``chunk``, ``call``, ...)."""
    parts = {label: part for label, part in PARTS.items() if not selected or part in selected}
    empty = {part: _count(part, 0) for part in set(parts.values())}
    print(f"instructions per iteration (callgrind, N={N} unless noted, empty run subtracted)")
    for label, part in parts.items():
        n = ITERATIONS.get(part, N)
        note = f" (N={n})" if n != N else ""
        print(f"  {label + note:70s} {(_count(part, n) - empty[part]) // n:>9,}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[2].isdigit():
        _child(sys.argv[1], int(sys.argv[2]))
    else:
        sys.exit(main(sys.argv[1:]))
