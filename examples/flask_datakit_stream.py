"""A Flask app that streams Kimi-style answers, traced to Guance DataKit (spans and metrics).

DataKit receives OTLP under ``/otel`` on port 9529. Enable its opentelemetry input and list the attributes
you want as tags in ``customer_tags`` (DataKit turns dots into underscores), for example::

    [[inputs.opentelemetry]]
      customer_tags = ["gen_ai.request.model", "gen_ai.response.model", "gen_ai.usage.input_tokens",
                       "gen_ai.usage.output_tokens", "llm.model_name", "openinference.span.kind"]

.env:

    ARKTRACE_DATAKIT_URL=http://127.0.0.1:9529/otel
    ARK_API_KEY=...                           # leave out to use the bundled local server
    BYTEPLUS_ENDPOINT_ID=kimi-k2-250711

Needs Flask and its OpenTelemetry instrumentation (``pip install flask opentelemetry-instrumentation-flask``).
Run ``python examples/flask_datakit_stream.py`` and ask::

    curl -N localhost:5001/ask -H 'content-type: application/json' \\
         -d '{"messages": [{"role": "user", "content": "Tell me about Moonshot AI"}]}'

``--self-test`` sends one request through Flask's test client and exits (no port is opened).
"""

from __future__ import annotations

import os
import sys
from contextlib import ExitStack

import openai
from _modelark import modelark_client
from flask import Flask, Response, jsonify, request, stream_with_context
from opentelemetry.instrumentation.flask import FlaskInstrumentor

import arktrace

arktrace.init(service_name="kimi-stream-flask", backends=["datakit"])

resources = ExitStack()
client, model = modelark_client(resources, os.environ.get("BYTEPLUS_ENDPOINT_ID", "kimi-k2-250711"))
app = Flask(__name__)
FlaskInstrumentor().instrument_app(app)  # a server span per request: the LLM span becomes its child


@app.post("/ask")
def ask() -> Response:
    data = request.get_json(silent=True) or {}
    messages = data.get("messages")
    if not messages:
        return jsonify({"error": "The messages field cannot be empty"}), 400
    try:
        stream = client.chat.completions.create(
            model=model,
            messages=messages,
            max_tokens=int(data.get("max_tokens", 2048)),
            temperature=0.3,
            stream=True,
            stream_options={"include_usage": True},  # token usage on the LLM span
        )
    except openai.APIError as error:
        return jsonify({"error": str(error)}), 502

    def generate():
        try:
            for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    yield chunk.choices[0].delta.content
        finally:
            stream.close()  # also when the client disconnects: ends the LLM span and the HTTP response

    return Response(stream_with_context(generate()), content_type="text/event-stream")


if __name__ == "__main__":
    try:
        if "--self-test" in sys.argv:
            with app.test_client() as test:
                answer = test.post("/ask", json={"messages": [{"role": "user", "content": "Hello, Kimi"}]})
                print(answer.get_data(as_text=True))
        else:
            app.run(port=5001)
    finally:
        resources.close()
        arktrace.shutdown()
