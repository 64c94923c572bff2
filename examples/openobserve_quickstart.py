"""Seed 000, OpenObserve's "BytePlus ModelArk -> OpenObserve" guide, with arktrace.

The guide's code with its instrumentation swapped: ``OpenAIInstrumentor().instrument()``,
``openobserve_init(...)`` and ``openobserve_shutdown()`` become ``arktrace.init(service_name="byteplus")``
and ``arktrace.shutdown()``; ``load_dotenv()`` goes too (``init()`` loads ``.env``). The guide's ``.env``
is used as it is:

    OPENOBSERVE_URL=https://api.openobserve.ai/
    OPENOBSERVE_ORG=your_org_id
    OPENOBSERVE_AUTH_TOKEN=Basic <your_base64_token>
    BYTEPLUS_API_KEY=your-byteplus-api-key
    BYTEPLUS_BASE_URL=https://ark.ap-southeast.bytepluses.com/api/v3
    BYTEPLUS_ENDPOINT_ID=ep-xxxxxxxxxxxxxxxx-xxxxx

In OpenObserve: Traces, ``service_name = byteplus``; the span is ``chat <endpoint id>`` (the guide's
``ChatCompletion`` columns and queries in arktrace's names: docs/backends.md). No account at hand: see
docs/examples.md for running it against the bundled server.
"""

import arktrace

arktrace.init(service_name="byteplus")  # loads .env, exports to OpenObserve, instruments the OpenAI SDK

import os  # noqa: E402 - the guide's order: instrument first, then the client

from openai import OpenAI  # noqa: E402

client = OpenAI(
    api_key=os.environ["BYTEPLUS_API_KEY"],
    base_url=os.environ["BYTEPLUS_BASE_URL"],
)
model = os.environ["BYTEPLUS_ENDPOINT_ID"]
response = client.chat.completions.create(
    model=model,
    messages=[{"role": "user", "content": "What is distributed tracing?"}],
    max_tokens=256,
)
print(response.choices[0].message.content)

arktrace.shutdown()  # flushes spans and metrics before the script ends
