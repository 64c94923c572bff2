"""Seed 003, Langfuse's "OpenLIT Integration via OpenTelemetry" guide, with arktrace in OpenLIT's place.

``openlit.init(disable_batch=True)`` (and the Langfuse client the guide makes only to check the keys)
become ``arktrace.init()``, which reads the guide's variables; ``arktrace check`` checks the keys:

    LANGFUSE_PUBLIC_KEY=pk-lf-...
    LANGFUSE_SECRET_KEY=sk-lf-...
    LANGFUSE_HOST=https://cloud.langfuse.com
    OPENAI_API_KEY=sk-proj-...               # the SDK also reads OPENAI_BASE_URL: another provider

The guide's ``tracer.start_as_current_span("Otel-Trace")`` is ``arktrace.trace("Otel-Trace")``, and
``format_trace_id(trace.get_current_span().get_span_context().trace_id)`` is
``arktrace.current_trace_id()``: the id to link a Langfuse dataset item to.
"""

import arktrace

arktrace.init()

from openai import OpenAI  # noqa: E402

# Create an instance of the OpenAI client.
openai_client = OpenAI()

# Make a sample chat completion request. This request will be traced by arktrace and sent to Langfuse.
chat_completion = openai_client.chat.completions.create(
    messages=[
        {
            "role": "user",
            "content": "What is LLM Observability?",
        }
    ],
    model="gpt-4o",
)
print(chat_completion)


# Dataset experiments: the application's function under a span of its own, its trace id to link with.
def otel_helper_function(input):
    with arktrace.trace("Otel-Trace"):
        response = OpenAI().chat.completions.create(
            messages=[{"role": "user", "content": input}],
            model="gpt-4o-mini",
        )
        print(response.choices[0].message.content)
        trace_id = arktrace.current_trace_id()
    return trace_id, response.choices[0].message.content


trace_id, output = otel_helper_function("What is a span?")
print("trace id:", trace_id)

arktrace.shutdown()  # flush, as the guide's langfuse.flush()
