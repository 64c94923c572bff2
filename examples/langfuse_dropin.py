"""Seed 001, Langfuse's (Litefuse's) BytePlus guide with the OpenAI drop-in, with arktrace.

The one change to the guide's code: ``from langfuse.openai import openai`` becomes
``from arktrace import openai``, with ``arktrace.init()`` reading the guide's variables:

    LANGFUSE_PUBLIC_KEY=pk-lf-...
    LANGFUSE_SECRET_KEY=sk-lf-...
    LANGFUSE_BASE_URL=https://cloud.langfuse.com
    ARK_API_KEY=...
    ARK_BASE_URL=https://ark.ap-southeast.bytepluses.com/api/v3    # optional; the guide's URL by default

``name=`` names the generation (the span), as in Langfuse; ``metadata=``, ``session_id=``, ``user_id=``
and ``tags=`` go on it as ``arktrace.context`` would put them; none of them is sent to ModelArk.
The guide's ``@observe()`` + ``propagate_attributes(...)`` are ``@arktrace.trace`` + ``arktrace.context``.
"""

import os

import arktrace

arktrace.init()  # the LANGFUSE_* variables select Langfuse

# instead of: from langfuse.openai import openai
from arktrace import openai  # noqa: E402

client = openai.OpenAI(
    api_key=os.environ.get("ARK_API_KEY"),
    base_url=os.environ.get("ARK_BASE_URL", "https://ark.ap-southeast.bytepluses.com/api/v3"),
)

# Non-streaming:
print("----- standard request -----")
completion = client.chat.completions.create(
    model="kimi-k2-250711",
    messages=[
        {"role": "system", "content": "You're an AI assistant"},
        {"role": "user", "content": "What is Litefuse?"},
    ],
    name="BytePlus-Generation",  # Optional: the name of the generation in Langfuse
)
print(completion.choices[0].message.content)

# Streaming:
print("----- streaming request -----")
stream = client.chat.completions.create(
    model="kimi-k2-250711",
    messages=[
        {"role": "system", "content": "You're an AI assistant"},
        {"role": "user", "content": "What is Litefuse?"},
    ],
    name="BytePlus-Generation",
    stream=True,
)
for chunk in stream:
    if not chunk.choices:
        continue
    print(chunk.choices[0].delta.content, end="")
print()


# Interoperability: the guide's @observe() and propagate_attributes(...).
def call_llm(input):
    response = client.chat.completions.create(
        model="kimi-k2-250711", messages=[{"role": "user", "content": input}]
    )
    return response.choices[0].message.content


@arktrace.trace
def my_llm_pipeline(input):
    # user, session, tags and metadata on every span inside (Langfuse: the trace's user, session, tags)
    with arktrace.context(
        user_id="user_123",
        session_id="session_abc",
        tags=["agent", "my-observation"],
        metadata={"email": "user@litefuse.ai"},
        **{"langfuse.version": "1.0.0"},  # the name Langfuse reads a version from
    ):
        result = call_llm(input)
    return result


print(my_llm_pipeline("Hi"))

arktrace.shutdown()  # the guide's langfuse.flush(): sends what is left before the script ends
