"""BytePlus ModelArk -> Langfuse, with a streamed answer: generations with model, usage and latency.

.env:

    LANGFUSE_PUBLIC_KEY=pk-lf-...
    LANGFUSE_SECRET_KEY=sk-lf-...
    LANGFUSE_BASE_URL=https://cloud.langfuse.com        # or your region / self-hosted URL
    ARK_API_KEY=...                                     # leave out to use the bundled local server
    BYTEPLUS_ENDPOINT_ID=kimi-k2-250711                 # a model id or your endpoint id

arktrace sends Langfuse's real-time ingestion header, so traces show up within seconds. User, session and
tags set on the parent span become the Langfuse trace's user, session and tags.
"""

from __future__ import annotations

import os
from contextlib import ExitStack

from _modelark import modelark_client
from opentelemetry import trace

import arktrace

arktrace.init(service_name="byteplus-langfuse", backends=["langfuse"])
tracer = trace.get_tracer("examples.langfuse")
messages = [
    {"role": "system", "content": "You're an AI assistant"},
    {"role": "user", "content": "What is Langfuse?"},
]

with ExitStack() as stack:
    client, model = modelark_client(stack, os.environ.get("BYTEPLUS_ENDPOINT_ID", "kimi-k2-250711"))
    with tracer.start_as_current_span("my_llm_pipeline") as pipeline:
        pipeline.set_attribute("user.id", "user_123")
        pipeline.set_attribute("session.id", "session_abc")
        pipeline.set_attribute("tag.tags", ["agent", "my-observation"])

        print("----- standard request -----")
        completion = client.chat.completions.create(model=model, messages=messages)
        print(completion.choices[0].message.content)

        print("----- streaming request -----")
        stream = client.chat.completions.create(
            model=model,
            messages=messages,
            stream=True,
            stream_options={"include_usage": True},  # ModelArk sends token usage on streams only when asked
        )
        for chunk in stream:
            if chunk.choices:
                print(chunk.choices[0].delta.content or "", end="", flush=True)
        print()

arktrace.shutdown()
