"""BytePlus ModelArk -> OpenObserve: every chat call becomes an LLM span (and metrics) in OpenObserve.

Put these in .env (the same variables as OpenObserve's own guide):

    OPENOBSERVE_URL=https://api.openobserve.ai/
    OPENOBSERVE_ORG=your_org_id
    OPENOBSERVE_AUTH_TOKEN=Basic <your_base64_token>
    BYTEPLUS_API_KEY=your-byteplus-api-key            # leave out to use the bundled local server
    BYTEPLUS_BASE_URL=https://ark.ap-southeast.bytepluses.com/api/v3
    BYTEPLUS_ENDPOINT_ID=ep-xxxxxxxxxxxxxxxx-xxxxx

Run ``python examples/openobserve_quickstart.py``, then open Traces in OpenObserve and filter by
``service_name = byteplus``. ``arktrace check`` tells you first whether OpenObserve accepts your token.
"""

from __future__ import annotations

from contextlib import ExitStack

from _modelark import modelark_client

import arktrace

arktrace.init(service_name="byteplus")  # loads .env, exports to OpenObserve, instruments the OpenAI SDK

with ExitStack() as stack:
    client, model = modelark_client(stack)
    response = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "What is distributed tracing?"}],
        max_tokens=256,
    )
    print(response.choices[0].message.content)

arktrace.shutdown()  # flushes spans and metrics before the script ends
