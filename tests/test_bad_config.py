"""Bad configuration fails fast: every malformed environment variable and argument of ``init()`` /
``instrument()`` raises :class:`arktrace.ConfigError` naming it and the expected form, at set-up, with
nothing left registered. An SDK arktrace cannot patch is logged once and left working.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import trace

import arktrace
from arktrace import ConfigError, _instrument, _setup
from otlp_receiver import clean_env_fixture  # noqa: F401 - fixture

pytestmark = [pytest.mark.usefixtures("clean_env"), pytest.mark.once]

SRC = Path(arktrace.__file__).resolve().parent
O2 = {"OPENOBSERVE_AUTH_TOKEN": "Basic eA=="}
MLFLOW = {"MLFLOW_TRACKING_URI": "http://127.0.0.1:9"}
OTLP = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"}

# variable -> (the other variables it needs to be read, a malformed value, what the message must say)
BAD_ENV: dict[str, tuple[dict[str, str], str, str]] = {
    "ARKTRACE_CAPTURE_CONTENT": ({}, "nope", "true/false"),
    "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": ({}, "sometimes", "true/false"),
    "ARKTRACE_MAX_VALUE_LENGTH": ({}, "12", ">= 64"),
    "ARKTRACE_MAX_MESSAGE_ATTRIBUTES": ({}, "-3", ">= 0"),
    "ARKTRACE_STREAM_USAGE": ({}, "sometimes", "auto, always or never"),
    "ARKTRACE_PRICES_FILE": ({}, "/nonexistent/prices.json", "JSON price file"),
    "ARKTRACE_BACKENDS": ({}, "jaeger", "backend names"),
    "ARKTRACE_METRICS": ({}, "maybe", "true or false"),
    "ARKTRACE_SPOOL_DIR": ({}, "/dev/null/spool", "a directory arktrace can create and write to"),
    "ARKTRACE_SPOOL_MAX_MB": ({}, "lots", "number of megabytes"),
    "ARKTRACE_DATAKIT_URL": ({}, "datakit:9529", "http://"),
    "OTEL_SDK_DISABLED": ({}, "perhaps", "true or false"),
    "OPENOBSERVE_URL": (O2, "o2.example.com", "http://"),
    "OPENOBSERVE_ORG": (O2, "a/b", "organisation"),
    "OPENOBSERVE_AUTH_TOKEN": ({}, "no-scheme-token", "scheme"),
    "OPENOBSERVE_TRACES_STREAM_NAME": (O2, "llm\nlogs", "HTTP header"),
    "OPENOBSERVE_TIMEOUT": (O2, "-1", "positive number of seconds"),
    "OPENOBSERVE_ENABLED": (O2, "dunno", "true or false"),
    "LANGFUSE_PUBLIC_KEY": ({"LANGFUSE_SECRET_KEY": "pk-lf-x"}, "sk-lf-y", "swapped"),
    "LANGFUSE_SECRET_KEY": ({"LANGFUSE_PUBLIC_KEY": "pk-lf-x"}, "", "secret half"),
    "LANGFUSE_BASE_URL": (
        {"LANGFUSE_PUBLIC_KEY": "pk-lf-x", "LANGFUSE_SECRET_KEY": "sk-lf-y"},
        "cloud",
        "http://",
    ),
    "LANGFUSE_HOST": (
        {"LANGFUSE_PUBLIC_KEY": "pk-lf-x", "LANGFUSE_SECRET_KEY": "sk-lf-y"},
        "ftp://x",
        "http://",
    ),
    "MLFLOW_TRACKING_URI": ({}, "file:./mlruns", "http://"),
    "MLFLOW_EXPERIMENT_ID": (MLFLOW, "1 2", "experiment id"),
    "MLFLOW_EXPERIMENT_NAME": (MLFLOW, "llm", "MLFLOW_EXPERIMENT_ID instead"),  # no server to resolve it
    "MLFLOW_TRACKING_TOKEN": (MLFLOW, "tok\u00e9n", "HTTP header"),
    "MLFLOW_TRACKING_USERNAME": (MLFLOW, "alice", "MLFLOW_TRACKING_PASSWORD"),  # without its password
    "MLFLOW_TRACKING_PASSWORD": (MLFLOW, "secret", "MLFLOW_TRACKING_USERNAME"),  # without its user
    "PHOENIX_COLLECTOR_ENDPOINT": ({}, "localhost:6006", "http://"),
    "PHOENIX_API_KEY": ({}, "key\r\nx-evil: 1", "HTTP header"),
    "PHOENIX_PROJECT_NAME": ({"PHOENIX_API_KEY": "k"}, "\u9879\u76ee", "HTTP header"),
    "OTEL_EXPORTER_OTLP_ENDPOINT": ({}, "collector:4318", "http://"),
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": ({}, "collector/v1/traces", "http://"),
    "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": (OTLP, "collector/v1/metrics", "http://"),
    "OTEL_EXPORTER_OTLP_HEADERS": (OTLP, "x-key=%E9%94%AE", "HTTP header"),
    "OTEL_EXPORTER_OTLP_TRACES_HEADERS": (OTLP, "x-key=caf%C3%A9", "HTTP header"),
    "OTEL_EXPORTER_OTLP_METRICS_HEADERS": (OTLP, "x-key=%C3%A9t%C3%A9", "HTTP header"),
    "OTEL_EXPORTER_OTLP_TIMEOUT": (OTLP, "ten", "number of seconds"),
    "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT": (OTLP, "0", "positive number of seconds"),
    "OTEL_EXPORTER_OTLP_PROTOCOL": (OTLP, "grpc", "http/protobuf"),
    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": (OTLP, "http/json", "http/protobuf"),
}


def assert_nothing_set_up() -> None:
    assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)
    assert not _instrument.is_instrumented()
    assert _setup._state is None


def variables_read_by_arktrace() -> set[str]:
    """Every environment variable name the configuration modules mention."""
    names: set[str] = set()
    pattern = re.compile(r'"((?:ARKTRACE|OTEL|OPENOBSERVE|LANGFUSE|MLFLOW|PHOENIX)_[A-Z_]+)"')
    for module in ("_settings.py", "_backends.py", "_setup.py", "_prices.py", "_spool.py"):
        names.update(pattern.findall((SRC / module).read_text(encoding="utf-8")))
    return names


def test_every_variable_has_a_malformed_case() -> None:
    # The signal-specific variants are built with an f-string from the names listed here.
    assert variables_read_by_arktrace() - set(BAD_ENV) == set()


@pytest.mark.parametrize("variable", sorted(BAD_ENV))
def test_malformed_variable_fails_init_naming_it(variable: str, monkeypatch: pytest.MonkeyPatch) -> None:
    needs, value, expected = BAD_ENV[variable]
    for key, other in needs.items():
        monkeypatch.setenv(key, other)
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as raised:
        arktrace.init(dotenv=False)
    message = str(raised.value)
    assert variable in message and expected in message, message
    assert_nothing_set_up()


BAD_ARGUMENTS: dict[str, tuple[dict[str, Any], str]] = {
    "service_name": ({"service_name": 42}, "a string"),
    "service_version": ({"service_version": 1.0}, "a string"),
    "environment": ({"environment": ["prod"]}, "a string"),
    "resource_attributes": ({"resource_attributes": "team=llm"}, "mapping"),
    "backends": ({"backends": 3}, "comma-separated"),
    "backends item": ({"backends": ["console", None]}, "backend names"),
    "instrument": ({"instrument": "no"}, "True or False"),
    "metrics": ({"metrics": "false"}, "True or False"),
    "dotenv": ({"dotenv": 0}, "True or False"),
    "capture_content": ({"capture_content": "false"}, "True or False"),
    "max_value_length": ({"max_value_length": "1000"}, "whole number"),
    "max_value_length small": ({"max_value_length": 10}, ">= 64"),
    "max_message_attributes": ({"max_message_attributes": 2.5}, "whole number"),
    "max_message_attributes negative": ({"max_message_attributes": -1}, ">= 0"),
    "stream_usage": ({"stream_usage": "sometimes"}, "auto, always or never"),
    "stream_usage type": ({"stream_usage": 1.0}, "'auto'"),
    "prices": ({"prices": 5}, "JSON object"),
    "prices file": ({"prices": "/nonexistent.json"}, "JSON price file"),
    "unknown keyword": ({"capture_contents": False}, "capture_content"),
    "spool_dir": ({"spool_dir": 7}, "directory path"),
    "spool_max_mb": ({"spool_max_mb": "100"}, "number of megabytes"),
}


@pytest.mark.parametrize("case", sorted(BAD_ARGUMENTS))
def test_malformed_argument_fails_init_naming_it(case: str) -> None:
    kwargs, expected = BAD_ARGUMENTS[case]
    (name,) = kwargs
    with pytest.raises(ConfigError) as raised:
        arktrace.init(dotenv=False, **kwargs) if name != "dotenv" else arktrace.init(**kwargs)
    message = str(raised.value)
    assert name in message and expected in message, message
    assert_nothing_set_up()


@pytest.mark.parametrize(
    "kwargs,expected",
    [
        ({"tracer_provider": "not a provider"}, "tracer_provider"),
        ({"meter_provider": object()}, "meter_provider"),
        ({"capture_content": "no"}, "capture_content"),
        ({"max_value_length": 63}, "max_value_length"),
        ({"prices": [1, 2]}, "prices"),
    ],
)
def test_malformed_argument_fails_instrument_naming_it(kwargs: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        arktrace.instrument(**kwargs)
    assert not _instrument.is_instrumented()


FAKE_OPENAI = """
__version__ = "0.28.1"

class ChatCompletion:
    @classmethod
    def create(cls, **kwargs):
        return {"choices": [{"message": {"content": "old sdk"}}]}
"""


@pytest.mark.parametrize("order", ["instrument first", "import first"])
def test_unsupported_openai_is_logged_once_and_left_working(tmp_path: Path, order: str) -> None:
    """An openai without the 1.x-3.x layout (0.28 here): a warning, no patch, and the SDK still works."""
    (tmp_path / "openai").mkdir()
    (tmp_path / "openai" / "__init__.py").write_text(FAKE_OPENAI)
    script = textwrap.dedent(
        f"""
        import logging, sys
        logging.basicConfig(level=logging.DEBUG, format="%(name)s %(levelname)s %(message)s")
        import arktrace
        if {order == "import first"}:
            import openai
        arktrace.instrument()
        arktrace.instrument()
        import openai
        print(openai.ChatCompletion.create(model="m")["choices"][0]["message"]["content"])
        print("instrumented", arktrace.is_instrumented())
        """
    )
    env = {"PYTHONPATH": f"{tmp_path}:{SRC.parent}", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["old sdk", "instrumented True"]
    warnings = [line for line in done.stderr.splitlines() if line.startswith("arktrace WARNING")]
    assert len(warnings) == 1, done.stderr
    assert "openai 0.28.1" in warnings[0] and "not traced" in warnings[0]
    assert "Traceback" not in done.stderr
