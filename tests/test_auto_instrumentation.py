"""`opentelemetry-instrument python app.py` picks arktrace up through its entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

APP = """
import openai
from arktrace.testing import ModelArkServer
with ModelArkServer() as server:
    client = openai.OpenAI(api_key="k", base_url=server.base_url, max_retries=0)
    question = [{"role": "user", "content": "hi"}]
    client.chat.completions.create(model="ep-20250101120000-abcde", messages=question)
"""


def test_zero_code_instrumentation(tmp_path):
    app = tmp_path / "app.py"
    app.write_text(APP)
    launcher = Path(sys.executable).with_name("opentelemetry-instrument")
    env = {
        **os.environ,
        "OTEL_TRACES_EXPORTER": "console",
        "OTEL_METRICS_EXPORTER": "none",
        "OTEL_LOGS_EXPORTER": "none",
        "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "flask,wsgi",
    }
    done = subprocess.run(
        [str(launcher), sys.executable, str(app)], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    spans = [json.loads(block) for block in _json_blocks(done.stdout)]
    (span,) = [s for s in spans if s["name"].startswith("chat ")]
    assert span["attributes"]["gen_ai.response.model"] == "seed-1-8-251228"
    assert span["kind"] == "SpanKind.CLIENT"


def _json_blocks(text):
    depth, start = 0, None
    for i, ch in enumerate(text):
        if ch == "{":
            if depth == 0:
                start = i
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                yield text[start : i + 1]
