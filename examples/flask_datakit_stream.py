"""Seed 004, Guance DataKit's OpenLLMetry guide (a Flask app streaming Moonshot answers), with arktrace.

``Traceloop.init(app_name=...)`` becomes ``arktrace.init(service_name=...)``, OpenLLMetry's
``@workflow(name="ask_workflow")`` becomes ``@arktrace.trace(name="ask_workflow")``, and
``TRACELOOP_BASE_URL`` becomes ``ARKTRACE_DATAKIT_URL``:

    ARKTRACE_DATAKIT_URL=http://localhost:9529/otel
    MOONSHOT_API_KEY=...
    MOONSHOT_BASE_URL=https://api.moonshot.cn/v1          # optional: the guide's URL

DataKit keeps only the attributes listed in ``customer_tags``: the list for arktrace's names is in
docs/backends.md. The guide's ``estimate_token_count`` posts to Moonshot's tokenizer endpoint before each
question, which is no LLM call (and which the bundled server has not): here the model is chosen from the
length of the messages instead.

Needs Flask and its OpenTelemetry instrumentation (``pip install flask opentelemetry-instrumentation-flask``).
``python examples/flask_datakit_stream.py`` serves on port 5001; ask with::

    curl -N localhost:5001/ask -H 'content-type: application/json' \\
         -d '{"messages": [{"role": "user", "content": "Tell me about Moonshot AI"}]}'

``--self-test`` sends one request through Flask's test client and exits (no port is opened).
"""

import os
import sys

from flask import Flask, Response, jsonify, request, stream_with_context
from openai import OpenAI
from opentelemetry.instrumentation.flask import FlaskInstrumentor

import arktrace

app = Flask(__name__)
# Use FlaskInstrumentor to automatically instrument the Flask application
FlaskInstrumentor().instrument_app(app)

arktrace.init(service_name="kimi_openllmetry_stream_flask")

# Get the API Key from the environment variable
api_key = os.getenv("MOONSHOT_API_KEY")
if not api_key:
    raise ValueError("Please set the MOONSHOT_API_KEY environment variable")

client = OpenAI(
    api_key=api_key,
    base_url=os.getenv("MOONSHOT_BASE_URL", "https://api.moonshot.cn/v1"),
)


def select_model(input_messages, max_tokens=1024) -> str:
    """Select the model from the size of the messages (about 4 characters a token) and max_tokens."""
    if not isinstance(max_tokens, int) or max_tokens <= 0:
        raise ValueError("max_tokens must be a positive integer")
    prompt_tokens = sum(len(str(m.get("content", ""))) for m in input_messages) // 4
    total_tokens = prompt_tokens + max_tokens
    if total_tokens <= 8 * 1024:
        return "moonshot-v1-8k"
    elif total_tokens <= 32 * 1024:
        return "moonshot-v1-32k"
    elif total_tokens <= 128 * 1024:
        return "moonshot-v1-128k"
    raise ValueError("Token count exceeds the limit")


@app.route("/ask", methods=["POST"])
@arktrace.trace(name="ask_workflow")
def ask():
    data = request.json
    messages = data.get("messages")
    max_tokens = data.get("max_tokens", 2048)

    if not messages:
        return jsonify({"error": "The messages field cannot be empty"}), 400

    try:
        model = select_model(messages, max_tokens)

        completion = client.chat.completions.create(
            model=model,
            messages=messages,
            max_tokens=max_tokens,
            temperature=0.3,
            stream=True,  # Enable streaming generation
        )

        def generate():
            for chunk in completion:
                if not chunk.choices:  # the usage chunk at the end of the stream
                    continue
                delta = chunk.choices[0].delta
                if delta.content:
                    yield delta.content

        return Response(stream_with_context(generate()), content_type="text/event-stream")
    except Exception as e:
        return jsonify({"error": str(e)}), 500


if __name__ == "__main__":
    if "--self-test" in sys.argv:
        with app.test_client() as test:
            answer = test.post("/ask", json={"messages": [{"role": "user", "content": "Hello, Kimi"}]})
            print(answer.get_data(as_text=True))
        arktrace.shutdown()
    else:
        app.run(port=5001)
