"""Any OTLP/HTTP endpoint (OpenTelemetry Collector, Jaeger, Tempo, ...), inside an app that already has its
own OpenTelemetry set-up.

Standard variables, e.g. for the Collector configured in examples/otel-collector.yaml:

    OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318
    OTEL_EXPORTER_OTLP_HEADERS=authorization=Bearer%20<token>     # optional
    OTEL_SERVICE_NAME=shop

The app below registers its own TracerProvider first, as most instrumented apps do. arktrace adds its
exporter to that provider instead of replacing it, so the app's ``checkout`` span and the LLM span are one
trace. Metrics go to ``/v1/metrics`` of the same endpoint.
"""

from __future__ import annotations

from contextlib import ExitStack

from _modelark import modelark_client
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

import arktrace

# The application's own OpenTelemetry set-up (often done by a framework or `opentelemetry-instrument`).
trace.set_tracer_provider(TracerProvider(resource=Resource.create({"service.name": "shop"})))

# backends=["otlp"] explicitly: arktrace leaves a detected OTEL_EXPORTER_OTLP_ENDPOINT to an existing
# provider (which usually exports there already); naming it adds arktrace's own OTLP exporter.
arktrace.init(backends=["otlp"])

with ExitStack() as stack:
    client, model = modelark_client(stack)
    with trace.get_tracer("shop").start_as_current_span("checkout"):
        reply = client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": "Write a one-line thank-you note."}]
        )
        print(reply.choices[0].message.content)

arktrace.shutdown()
