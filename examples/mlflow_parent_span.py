"""BytePlus ModelArk -> MLflow: the LLM call as a child of your own span, in an experiment chosen by name.

Start a tracking server (MLflow >= 3.6), e.g. ``mlflow server --port 5000``, and set in .env:

    MLFLOW_TRACKING_URI=http://localhost:5000
    MLFLOW_EXPERIMENT_NAME=BytePlus          # looked up, and created if missing, when init() runs
    BYTEPLUS_API_KEY=...                     # leave out to use the bundled local server
    BYTEPLUS_ENDPOINT_ID=ep-xxxxxxxxxxxxxxxx-xxxxx

Open the BytePlus experiment's Traces tab: ``answer_question`` holds the LLM span (type LLM) with its
inputs, outputs, model and token usage; session and user come from ``session.id`` and ``user.id``.
"""

from __future__ import annotations

from contextlib import ExitStack

from _modelark import modelark_client
from opentelemetry import trace

import arktrace

arktrace.init(service_name="byteplus-mlflow", backends=["mlflow"])
tracer = trace.get_tracer("examples.mlflow")


def answer_question(client, model: str, question: str) -> str:
    # The parent span: MLflow shows it as the trace's root, with the LLM span inside.
    with tracer.start_as_current_span("answer_question") as span:
        span.set_attribute("session.id", "session-12345")
        span.set_attribute("user.id", "user-a")
        response = client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": question}]
        )
        return response.choices[0].message.content


with ExitStack() as stack:
    client, model = modelark_client(stack)
    print(answer_question(client, model, "What is the capital of France?"))

arktrace.shutdown()
