"""Bad configuration fails fast: every malformed environment variable and argument of ``init()`` /
``instrument()`` raises :class:`arktrace.ConfigError` naming it and the expected form, at set-up, with
nothing left registered. An SDK arktrace cannot patch is logged once and left working.
"""

from __future__ import annotations

import base64
import logging
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry import trace

import arktrace
from arktrace import ConfigError, _instrument, _setup
from arktrace.backends import parse_otlp_headers
from harness import ENDPOINT
from otlp_receiver import OTLPReceiver

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
    "ARKTRACE_CONVENTIONS": ({}, "otel", "openinference, genai or both"),
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
    from arktrace._options import OPTIONS

    names.update(name for option in OPTIONS if option.from_env is not None for name in option.env)
    modules = ["_settings.py", "_setup.py", "_prices.py", "_spool.py"]
    modules += [f"backends/{path.name}" for path in (SRC / "backends").glob("*.py")]
    for module in modules:
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
    "conventions": ({"conventions": "otel"}, "openinference, genai or both"),
    "prices file": ({"prices": "/nonexistent.json"}, "JSON price file"),
    "unknown keyword": ({"capture_contents": False}, "did you mean capture_content?"),
    "unknown keyword of init": ({"service": "shop"}, "did you mean service_name?"),
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


# ------------------------------------------------------------------- header lists: malformed, never shown

CANARY = "canary-7f3a9c"
HEADER_VARS = [
    "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
    "OTEL_EXPORTER_OTLP_METRICS_HEADERS",
]
# what a user writes -> what the message must say is wrong with it
MALFORMED_HEADERS = {
    f"Authorization: Bearer {CANARY}": "uses ':' where '=' belongs",
    f"x-team=llm,{CANARY}": "pair 2 of 2 has no '='",
    f"api-key={CANARY}%zz": "does not start a %XX escape",
    f"api-key={CANARY}%FF": "not UTF-8",
    f"Authorization=Bearer {CANARY};x": "must be percent-encoded",
    f'api-key="{CANARY}"': "must be percent-encoded",
    f"x%41key={CANARY}": "percent-encoded header name",
}


def _records_with(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    return [f"{r.name}: {r.getMessage()}" for r in caplog.records if text in r.getMessage()]


@pytest.mark.parametrize("value", sorted(MALFORMED_HEADERS))
@pytest.mark.parametrize("variable", HEADER_VARS)
def test_malformed_header_list_fails_init_masked_and_unlogged(
    variable: str, value: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, OpenTelemetry's header parser included
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as raised:
        arktrace.init(dotenv=False)
    message = str(raised.value)
    assert message.startswith(variable + " is "), message
    assert MALFORMED_HEADERS[value] in message, message
    assert "key=value pairs separated by commas" in message and "percent-encoded" in message, message
    assert CANARY not in message
    assert _records_with(caplog, CANARY) == []
    assert_nothing_set_up()


def test_a_malformed_header_list_fails_any_backend_whose_exporter_would_read_it(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """OpenTelemetry's OTLP exporter parses OTEL_EXPORTER_OTLP_HEADERS for every exporter, Langfuse's too."""
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("LANGFUSE_PUBLIC_KEY", "pk-lf-x")
    monkeypatch.setenv("LANGFUSE_SECRET_KEY", "sk-lf-y")
    monkeypatch.setenv("LANGFUSE_BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", f"Authorization: Bearer {CANARY}")
    with pytest.raises(
        ConfigError, match="OTEL_EXPORTER_OTLP_HEADERS is 'Authorization: Bearer \\*\\*\\*\\*'"
    ):
        arktrace.init(dotenv=False)
    assert _records_with(caplog, CANARY) == []
    assert_nothing_set_up()


def test_header_lists_are_percent_decoded_and_sent_without_a_log_line(
    client: Any, receiver: OTLPReceiver, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", f" Authorization = Bearer%20{CANARY} , x-team=l%6Cm,")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_HEADERS", f"Authorization=Bearer {CANARY}-t,X-Team=t")
    arktrace.uninstrument()
    arktrace.init(backends=["otlp"], dotenv=False)
    client.chat.completions.create(model=ENDPOINT, messages=[{"role": "user", "content": "hi"}])
    arktrace.flush(timeout=5)
    request = receiver.wait_for(lambda r: r.path == "/v1/traces")
    assert request.headers["authorization"] == f"Bearer {CANARY}-t"
    assert request.headers["x-team"] == "t"
    arktrace.shutdown(timeout=5)
    metrics = receiver.wait_for(lambda r: r.path == "/v1/metrics")
    assert metrics.headers["authorization"] == f"Bearer {CANARY}"
    assert metrics.headers["x-team"] == "llm"
    assert _records_with(caplog, CANARY) == []


# Mostly well-formed pairs, each part sometimes spoilt with a character one of the two parsers may refuse.
_PAIRS = st.tuples(
    st.one_of(
        st.text(alphabet="aZ9-_", min_size=1, max_size=6), st.text(alphabet="aZ9-!%\u00e9 ", max_size=6)
    ),
    st.sampled_from(["=", "=", " = ", "\t=", ":", ": ", ""]),
    st.one_of(
        st.text(alphabet="aZ9-_=:+/ ", max_size=10),
        st.from_regex(r"([a-z ]|%[0-9A-Fa-f]{2})*", fullmatch=True),
        st.text(alphabet='aZ9-_=:%2CFf \u00e9"\\;\t\x7f+/', max_size=10),
    ),
).map("".join)
_HEADER_LISTS = st.tuples(st.lists(_PAIRS, max_size=4), st.sampled_from([",", " , ", ",\t", ",,"])).map(
    lambda pairs_and_separator: pairs_and_separator[1].join(pairs_and_separator[0])
)


@settings(max_examples=500, deadline=None, derandomize=True)
@given(_HEADER_LISTS)
def test_what_arktrace_accepts_opentelemetrys_parser_reads_silently_and_alike(raw: str) -> None:
    """The exporter still parses the variable itself; it must never find anything to log in it."""
    from opentelemetry.util.re import parse_env_headers

    try:
        ours = parse_otlp_headers("OTEL_EXPORTER_OTLP_HEADERS", raw)
    except ConfigError:
        return
    if not raw.strip():
        return  # unset, as every blank variable; OpenTelemetry logs the blank, which holds no secret
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    parser_logger = logging.getLogger("opentelemetry.util.re")
    parser_logger.addHandler(handler)
    try:
        theirs = parse_env_headers(raw, liberal=True)
    finally:
        parser_logger.removeHandler(handler)
    assert records == []
    assert set(theirs) == set(ours)


# ------------------------------------------------------------------- credentials in URLs: never shown

URL_VARIABLES = {
    "OPENOBSERVE_URL": O2,
    "LANGFUSE_BASE_URL": {"LANGFUSE_PUBLIC_KEY": "pk-lf-x", "LANGFUSE_SECRET_KEY": "sk-lf-y"},
    "MLFLOW_TRACKING_URI": {},
    "PHOENIX_COLLECTOR_ENDPOINT": {},
    "ARKTRACE_DATAKIT_URL": {},
    "OTEL_EXPORTER_OTLP_ENDPOINT": {},
}
# URLs that cannot be used, each with a credential in it
UNUSABLE_URLS = [
    f"user:{CANARY}@collector.example:4318",  # the scheme left out
    f"{CANARY}@collector.example:4318/otel",
    f"collector.example:4318/otel?token={CANARY}",
    f"ftp://user:{CANARY}@collector.example/?api_key={CANARY}#{CANARY}",
]


@pytest.mark.parametrize("url", UNUSABLE_URLS)
@pytest.mark.parametrize("variable", sorted(URL_VARIABLES))
def test_an_unusable_url_is_named_without_its_credentials(
    variable: str, url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for key, other in URL_VARIABLES[variable].items():
        monkeypatch.setenv(key, other)
    monkeypatch.setenv(variable, url)
    with pytest.raises(ConfigError) as raised:
        arktrace.init(dotenv=False)
    assert variable in str(raised.value)
    assert CANARY not in str(raised.value)
    assert _records_with(caplog, CANARY) == []
    assert_nothing_set_up()


@pytest.mark.parametrize("variable", sorted(URL_VARIABLES))
def test_a_url_with_a_space_fails_init_naming_it(variable: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, other in URL_VARIABLES[variable].items():
        monkeypatch.setenv(key, other)
    monkeypatch.setenv(variable, "http://col lector.example:4318")
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "llm")  # looked up over HTTP, which raised InvalidURL
    with pytest.raises(ConfigError, match=f"{variable} is .*without spaces or control characters"):
        arktrace.init(dotenv=False)
    assert_nothing_set_up()


def test_mlflow_credentials_in_the_tracking_uri_are_sent_as_basic_auth_and_never_shown(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """urllib cannot take user:password@ and quoted the password in its error, out of init()."""
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://alice:{CANARY}@127.0.0.1")  # port 80: closed here
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "llm")
    with pytest.raises(ConfigError) as raised:
        arktrace.init(dotenv=False)
    assert "MLFLOW_EXPERIMENT_NAME" in str(raised.value)
    assert CANARY not in str(raised.value)
    assert _records_with(caplog, CANARY) == []
    assert_nothing_set_up()


def test_credentials_in_an_endpoint_reach_the_backend_as_basic_auth(
    client: Any, receiver: OTLPReceiver, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url.replace("://", f"://alice:{CANARY}@"))
    arktrace.uninstrument()
    arktrace.init(backends=["otlp"], dotenv=False)
    client.chat.completions.create(model=ENDPOINT, messages=[{"role": "user", "content": "hi"}])
    arktrace.shutdown(timeout=5)
    expected = "Basic " + base64.b64encode(f"alice:{CANARY}".encode()).decode()
    assert receiver.wait_for(lambda r: r.path == "/v1/traces").headers["authorization"] == expected
    assert receiver.wait_for(lambda r: r.path == "/v1/metrics").headers["authorization"] == expected
    assert _records_with(caplog, CANARY) == []


@pytest.mark.parametrize("public", [f"sk-lf-{CANARY}", f"lf_sk_{CANARY}"])
def test_a_secret_key_in_the_public_key_variable_is_never_shown(
    public: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The likely slip: the secret key pasted into LANGFUSE_PUBLIC_KEY, LANGFUSE_SECRET_KEY left empty."""
    monkeypatch.setenv("LANGFUSE_PUBLIC_KEY", public)
    with pytest.raises(ConfigError) as raised:
        arktrace.init(dotenv=False)
    assert "LANGFUSE_SECRET_KEY is not set" in str(raised.value)
    assert CANARY not in str(raised.value)
    assert_nothing_set_up()
