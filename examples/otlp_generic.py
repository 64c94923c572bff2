"""Any OTLP/HTTP endpoint (OpenTelemetry Collector, Jaeger, Tempo, ...), inside an app that already has its
own OpenTelemetry set-up. Not from a seed guide.

Standard variables, e.g. for the Collector configured in examples/otel-collector.yaml:

    OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318
    OTEL_EXPORTER_OTLP_HEADERS=authorization=Bearer%20<token>     # optional
    BYTEPLUS_API_KEY=...
    BYTEPLUS_BASE_URL=https://ark.ap-southeast.bytepluses.com/api/v3    # optional
    BYTEPLUS_ENDPOINT_ID=ep-xxxxxxxxxxxxxxxx-xxxxx

The app below registers its own TracerProvider first, as most instrumented apps do. arktrace adds its
exporter to that provider instead of replacing it, so the app's ``checkout`` span and the LLM span are one
trace. Metrics go to ``/v1/metrics`` of the same endpoint.
"""

import os

from openai import OpenAI
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

import arktrace

# The application's own OpenTelemetry set-up (often done by a framework or `opentelemetry-instrument`).
trace.set_tracer_provider(TracerProvider(resource=Resource.create({"service.name": "shop"})))

# backends=["otlp"] explicitly: arktrace leaves a detected OTEL_EXPORTER_OTLP_ENDPOINT to an existing
# provider (which usually exports there already); naming it adds arktrace's own OTLP exporter.
arktrace.init(backends=["otlp"])

client = OpenAI(
    api_key=os.environ["BYTEPLUS_API_KEY"],
    base_url=os.environ.get("BYTEPLUS_BASE_URL", "https://ark.ap-southeast.bytepluses.com/api/v3"),
)
with trace.get_tracer("shop").start_as_current_span("checkout"):
    reply = client.chat.completions.create(
        model=os.environ["BYTEPLUS_ENDPOINT_ID"],
        messages=[{"role": "user", "content": "Write a one-line thank-you note."}],
    )
    print(reply.choices[0].message.content)

arktrace.shutdown()
