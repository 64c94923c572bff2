"""Seed 002, MLflow's "Tracing BytePlus" guide, with arktrace.

``mlflow.openai.autolog()`` + ``mlflow.set_tracking_uri`` / ``set_experiment`` become ``arktrace.init()``
with the variables MLflow itself reads; ``@mlflow.trace(span_type=SpanType.CHAIN)`` becomes
``@arktrace.trace(kind="chain")``, and ``mlflow.update_current_trace(metadata={"mlflow.trace.session": ...,
"mlflow.trace.user": ...})`` becomes ``arktrace.context(session_id=..., user_id=...)``:

    MLFLOW_TRACKING_URI=http://localhost:5000      # `mlflow server` (MLflow >= 3.6)
    MLFLOW_EXPERIMENT_NAME=BytePlus                # looked up, and created if missing, by init()
    BYTEPLUS_API_KEY=<your_byteplus_api_key>
    BYTEPLUS_BASE_URL=https://ark.ap-southeast.bytepluses.com/api/v3/    # optional: the guide's URL
    BYTEPLUS_ENDPOINT_ID=<your_byteplus_model>

The BytePlus experiment then holds two traces: the plain call, and ``answer_question`` (type CHAIN) with
the LLM span inside, its session and user set.
"""

import os

from openai import OpenAI

import arktrace

# Enable auto-tracing for OpenAI (works with BytePlus): exporters from MLFLOW_* in the environment / .env
arktrace.init(service_name="byteplus-mlflow")

# Initialize the OpenAI client with BytePlus API endpoint
client = OpenAI(
    base_url=os.environ.get("BYTEPLUS_BASE_URL", "https://ark.ap-southeast.bytepluses.com/api/v3/"),
    api_key=os.environ["BYTEPLUS_API_KEY"],
)
model = os.environ["BYTEPLUS_ENDPOINT_ID"]

response = client.chat.completions.create(
    model=model,
    messages=[
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "What is the capital of France?"},
    ],
)
print(response.choices[0].message.content)


# Combine with manual tracing: a parent span for the BytePlus call
@arktrace.trace(kind="chain")
def answer_question(question: str):
    messages = [{"role": "user", "content": question}]
    # Attach session/user to the trace (MLflow: the trace's session and user)
    with arktrace.context(session_id="session-12345", user_id="user-a"):
        response = client.chat.completions.create(
            model=model,
            messages=messages,
        )
    return response.choices[0].message.content


answer = answer_question("What is the capital of France?")
print(answer)

arktrace.shutdown()
