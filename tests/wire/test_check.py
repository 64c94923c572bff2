"""`arktrace check`: one test span per backend, the outcome in plain words, the exit code, no secrets."""

from __future__ import annotations

import base64
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

import arktrace
from arktrace._check import explain_status, run_check
from arktrace.backends import resolve_backends
from harness import free_port
from otlp_receiver import OTLPReceiver

pytestmark = [pytest.mark.usefixtures("clean_env"), pytest.mark.once]

SECRET = "sk-lf-check-secret"


def check(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = run_check(["--no-dotenv", *argv], out=out)
    return code, out.getvalue()


@pytest.fixture
def langfuse_env(receiver: OTLPReceiver, monkeypatch: pytest.MonkeyPatch) -> OTLPReceiver:
    monkeypatch.setenv("LANGFUSE_PUBLIC_KEY", "pk-lf-check")
    monkeypatch.setenv("LANGFUSE_SECRET_KEY", SECRET)
    monkeypatch.setenv("LANGFUSE_BASE_URL", receiver.url)
    return receiver


def assert_no_secret(text: str) -> None:
    assert SECRET not in text
    assert base64.b64encode(f"pk-lf-check:{SECRET}".encode()).decode() not in text


def test_accepted(langfuse_env: OTLPReceiver) -> None:
    code, out = check()
    assert code == 0, out
    assert "langfuse" in out and "OK (HTTP 200)" in out
    assert "authorization: Basic ****" in out
    request = langfuse_env.wait_for()
    assert request.path == "/api/public/otel/v1/traces"
    assert request.content_type == "application/x-protobuf"
    assert request.headers["x-langfuse-ingestion-version"] == "4"
    (span,) = langfuse_env.spans()
    assert span.name == "arktrace check"
    assert span.attributes == {"arktrace.check": True}
    assert span.trace_id in out
    assert_no_secret(out)


def test_wrong_key(langfuse_env: OTLPReceiver) -> None:
    langfuse_env.respond(
        "/", 401, body=b'{"message":"Invalid credentials. Confirm that you\'ve configured the key"}'
    )
    code, out = check()
    assert code == 1
    assert "FAIL" in out and "HTTP 401: credentials rejected" in out
    assert "LANGFUSE_PUBLIC_KEY, LANGFUSE_SECRET_KEY" in out
    assert "1 of 1 backend(s) failed" in out
    assert_no_secret(out)


def test_backend_down(monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    monkeypatch.setenv("LANGFUSE_PUBLIC_KEY", "pk-lf-check")
    monkeypatch.setenv("LANGFUSE_SECRET_KEY", SECRET)
    monkeypatch.setenv("LANGFUSE_BASE_URL", f"http://127.0.0.1:{port}")
    code, out = check()
    assert code == 1
    assert f"connection refused: nothing is listening at 127.0.0.1:{port}" in out
    assert_no_secret(out)


def test_timeout(langfuse_env: OTLPReceiver) -> None:
    langfuse_env.respond("/", 200, delay=2)
    code, out = check("--timeout", "0.5")
    assert code == 1
    assert "timeout: no answer from 127.0.0.1" in out and "within 0.5 s" in out


def test_mixed_results_name_each_backend(receiver: OTLPReceiver, monkeypatch: pytest.MonkeyPatch) -> None:
    receiver.respond("/o2/", 404)
    receiver.respond("/mlflow/", 422)
    monkeypatch.setenv("OPENOBSERVE_URL", receiver.url + "/o2")
    monkeypatch.setenv("OPENOBSERVE_AUTH_TOKEN", "Basic b3BlbnNlc2FtZQ==")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", receiver.url + "/mlflow")
    monkeypatch.setenv("PHOENIX_COLLECTOR_ENDPOINT", receiver.url + "/phoenix")
    code, out = check("--backend", "openobserve,mlflow", "-b", "phoenix")
    assert code == 1
    lines = out.splitlines()
    assert any(line.startswith("openobserve") and "wrong organisation or path" in line for line in lines), out
    assert any(line.startswith("mlflow") and "missing experiment header" in line for line in lines), out
    assert any(line.startswith("phoenix") and "OK (HTTP 200)" in line for line in lines), out
    assert "2 of 3 backend(s) failed" in out
    assert "b3BlbnNlc2FtZQ==" not in out


def test_mlflow_experiment_lookup_down(monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "exp")
    code, out = check()
    assert code == 1
    assert "MLflow experiment lookup: connection refused" in out


def test_no_backend_configured() -> None:
    code, out = check()
    assert code == 1
    assert "no backend configured" in out


def test_configuration_error_exit_code_and_masking(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANGFUSE_PUBLIC_KEY", SECRET)  # swapped: a secret key where the public one goes
    monkeypatch.setenv("LANGFUSE_SECRET_KEY", "pk-lf-check")
    code, out = check()
    assert code == 2
    assert "configuration error: LANGFUSE_PUBLIC_KEY" in out and "swapped" in out
    assert SECRET not in out


def test_unknown_backend_name() -> None:
    code, out = check("--backend", "zipkin")
    assert code == 2
    assert "--backend" in out and "'zipkin'" in out


def test_console_needs_no_check(receiver: OTLPReceiver, monkeypatch: pytest.MonkeyPatch) -> None:
    # An OTLP endpoint is configured too: checked when asked for (the control), left alone otherwise.
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
    code, out = check("-b", "console")
    assert code == 0, out
    assert "console  ok    OK: spans are written to stderr; nothing to check" in out
    assert "POST" not in out and "FAIL" not in out and "stays in the backend" not in out
    assert receiver.requests == []  # no test span sent anywhere
    code, out = check("-b", "console,otlp")
    assert code == 0, out
    assert "otlp     ok    OK (HTTP 200)" in out
    assert len(receiver.requests) == 1


@pytest.mark.parametrize(
    "backend,status,expected,ok",
    [
        ("langfuse", 200, "OK (HTTP 200): test span accepted", True),
        ("mlflow", 200, "into experiment 0", True),
        ("langfuse", 401, "credentials rejected", False),
        ("openobserve", 403, "credentials rejected. Check OPENOBSERVE_AUTH_TOKEN", False),
        ("openobserve", 404, "wrong organisation or path", False),
        ("mlflow", 404, "unknown experiment", False),
        ("mlflow", 422, "missing experiment header", False),
        ("phoenix", 405, "does not take OTLP traces", False),
        ("datakit", 415, "rejected the OTLP protobuf payload", False),
        ("otlp", 308, "redirected", False),
        ("otlp", 500, "server error", False),
    ],
)
def test_status_wording(backend: str, status: int, expected: str, ok: bool) -> None:
    env = {
        "LANGFUSE_PUBLIC_KEY": "pk",
        "LANGFUSE_SECRET_KEY": "sk",
        "OPENOBSERVE_AUTH_TOKEN": "Basic x",
        "MLFLOW_TRACKING_URI": "http://m:5000",
    }
    (config,), _ = resolve_backends([backend], env)
    verdict, message = explain_status(config, status)
    assert verdict is ok
    assert expected in message


def test_command_line_entry_point(langfuse_env: OTLPReceiver, tmp_path: Path) -> None:
    """`python -m arktrace check` (wired in __main__) reads .env from the working directory."""
    (tmp_path / ".env").write_text(
        f"LANGFUSE_PUBLIC_KEY=pk-lf-check\nLANGFUSE_SECRET_KEY={SECRET}\nLANGFUSE_BASE_URL={langfuse_env.url}\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("LANGFUSE_")}
    env["PYTHONPATH"] = str(Path(arktrace.__file__).resolve().parent.parent)
    result = subprocess.run(
        [sys.executable, "-m", "arktrace", "check"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "langfuse" in result.stdout and "OK (HTTP 200)" in result.stdout
    assert_no_secret(result.stdout + result.stderr)


# ------------------------------------------------------------------ secrets in header lists and endpoints

CANARY = "canary-5d1e0b"


def check_cli(env_vars: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """`python -m arktrace check` in a clean process: what a user sees, stderr included."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LANGFUSE_", "ARKTRACE_"))}
    env["PYTHONPATH"] = str(Path(arktrace.__file__).resolve().parent.parent)
    env.update(env_vars)
    return subprocess.run(
        [sys.executable, "-m", "arktrace", "check", "--timeout", "2"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_malformed_header_list_is_a_configuration_error_without_the_token(tmp_path: Path) -> None:
    result = check_cli(
        {
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{free_port()}",
            "OTEL_EXPORTER_OTLP_HEADERS": f"Authorization: Bearer {CANARY}",
        },
        tmp_path,
    )
    shown = result.stdout + result.stderr
    assert result.returncode == 2, shown
    assert "configuration error: OTEL_EXPORTER_OTLP_HEADERS is 'Authorization: Bearer ****'" in shown
    assert "key=value pairs separated by commas" in shown
    assert CANARY not in shown


def test_header_list_is_shown_masked(receiver: OTLPReceiver, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
    # The first word of a value is shown only when it is an Authorization scheme: here it is a secret.
    monkeypatch.setenv(
        "OTEL_EXPORTER_OTLP_HEADERS",
        f"Authorization=Bearer%20{CANARY},x-api-key={CANARY}2,x-key-pair=Qzrtwkvbn%20Xplmqd",
    )
    code, out = check()
    assert code == 0, out
    assert "headers authorization: Bearer ****, x-api-key: ****, x-key-pair: ****" in out
    assert receiver.wait_for().headers["authorization"] == f"Bearer {CANARY}"
    assert CANARY not in out and "Qzrtwkvbn" not in out


@pytest.mark.parametrize(
    "variable,endpoint",
    [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:{port}/?api_key={canary}"),
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://127.0.0.1:{port}/v1/traces?api_key={canary}&team=llm"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "https://user:{canary}@127.0.0.1:{port}"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://user:{canary}@127.0.0.1"),  # no port: urllib quoted it
        ("ARKTRACE_DATAKIT_URL", "http://127.0.0.1:{port}/otel?token={canary}"),
        ("PHOENIX_COLLECTOR_ENDPOINT", "http://{canary}@127.0.0.1:{port}"),
        ("MLFLOW_TRACKING_URI", "http://user:{canary}@127.0.0.1"),
    ],
)
def test_credentials_in_the_endpoint_never_printed(variable: str, endpoint: str, tmp_path: Path) -> None:
    """The backend is down (a closed port): every line about it still leaves the credential out."""
    env = {variable: endpoint.format(port=free_port(), canary=CANARY)}
    if variable == "MLFLOW_TRACKING_URI":
        env["MLFLOW_EXPERIMENT_NAME"] = "llm"  # looked up first, over urllib
    result = check_cli(env, tmp_path)
    shown = result.stdout + result.stderr
    assert result.returncode == 1 or ":{port}" not in endpoint, shown  # port 80 may be served here
    assert "backend(s) detected" in shown and "Traceback" not in shown, shown
    assert CANARY not in shown


def test_mlflow_headers_shown_are_those_sent_and_the_test_trace_is_mentioned(
    receiver: OTLPReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver.respond(
        "/api/2.0/mlflow/experiments/get-by-name",
        200,
        body=b'{"experiment": {"experiment_id": "5", "name": "BytePlus", "lifecycle_stage": "active"}}',
    )
    monkeypatch.setenv("MLFLOW_TRACKING_URI", receiver.url)
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "BytePlus")
    code, out = check()
    assert code == 0, out
    sent = receiver.wait_for(lambda r: r.path == "/v1/traces")
    assert sent.headers["x-mlflow-experiment-id"] == "5"
    assert "headers x-mlflow-experiment-id: 5\n" in out
    assert "(none)" not in out
    assert "stays in the backend(s) that accepted it, as a trace named 'arktrace check'" in out


def test_metrics_a_backend_drops_are_said(
    langfuse_env: OTLPReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out = check()
    assert code == 0, out
    assert out.count("metrics are not sent to Langfuse, which accepts no OTLP metrics") == 1, out
    monkeypatch.setenv("ARKTRACE_METRICS", "false")
    code, out = check()
    assert code == 0 and "OK (HTTP 200)" in out
    assert "metrics are not sent" not in out


def test_a_failed_check_leaves_no_trace_to_mention(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{free_port()}")
    code, out = check()
    assert code == 1
    assert "stays in the backend" not in out


def test_example_env_is_printed_from_the_installed_package() -> None:
    from arktrace._reference import BACKEND_VARIABLES, OPTIONS

    code, out = check("--example-env")
    assert code == 0
    assert out == (Path(__file__).resolve().parents[2] / ".env.example").read_text(encoding="utf-8")
    for name in [*BACKEND_VARIABLES, *(n for o in OPTIONS for n in o.env if n.startswith("ARKTRACE_"))]:
        assert name in out, name
    # the messages that send a newcomer to the example point at this command, not at a repository file
    assert "`arktrace check --example-env`" in check()[1]


def test_misspelled_variables_are_named_before_no_backend_is_reported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ARKTRACE_BACKEND", "langfuse")
    monkeypatch.setenv("LANGFUSE_PUBLIC_KEYS", "pk-lf-1")
    monkeypatch.setenv("LANGFUSE_BASE_URL", "https://cloud.langfuse.com")
    code, out = check()
    assert code == 1
    lines = out.splitlines()
    assert lines[:3] == [
        "arktrace check: ARKTRACE_BACKEND is not a variable arktrace reads (did you mean ARKTRACE_BACKENDS?)",
        "arktrace check: LANGFUSE_PUBLIC_KEYS is set, but arktrace reads LANGFUSE_PUBLIC_KEY "
        "(a misspelling?)",
        "arktrace check: LANGFUSE_BASE_URL is set but neither LANGFUSE_PUBLIC_KEY nor LANGFUSE_SECRET_KEY "
        "is, so spans do not go to Langfuse",
    ]
    assert "no backend configured" in lines[3]
