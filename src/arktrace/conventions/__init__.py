"""Attribute names and the writers of the conventions arktrace records in.

``names`` holds the attribute names a call's span carries, grouped by the convention that defines
it (OTel GenAI, OpenInference, OTel's general ones, arktrace's own); ``backend_extras`` writes the
names only one backend reads (Langfuse's, MLflow's), only for the backends ``init()`` exports to;
``genai_content`` writes GenAI's JSON content attributes (``gen_ai.input.messages``, ...), which each
operation declares as its own (``Operation.genai_request`` / ``genai_response``).
GenAI's and OpenInference's names are written side by side by the extraction (``_extract.py``,
``operations/``) in one pass over the call: one writer each would read every value twice per call.
Nothing here imports the lifecycle.
"""
