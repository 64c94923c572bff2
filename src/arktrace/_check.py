"""``arktrace check``: send one test span to each configured backend and say, in plain words, what happened.

Uses the same configuration as ``arktrace.init()`` (``.env``, ``ARKTRACE_BACKENDS`` or detection) and the
same wire format (OTLP/HTTP protobuf), but posts with urllib so that the answer's status can be reported.
Exit code 0 when every backend accepted its span, 1 when any did not (or none is configured), 2 for a
configuration error. Everything printed goes through :func:`arktrace._redact.redact`: header values are
masked, and credentials in URLs or in an error's text are cut.
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import ssl
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TextIO
from urllib.parse import urlsplit

from arktrace._errors import ConfigError
from arktrace._options import BY_KEYWORD
from arktrace._redact import display_url, redact
from arktrace._setup import build_resource
from arktrace.backends import (
    PRESETS,
    PROTOBUF,
    BackendConfig,
    describe_unknown,
    incomplete_backends,
    metrics_dropped,
    prepare,
    resolve_backends,
    selection_hint,
    shown_headers,
    unknown_variables,
)

__all__ = ["CheckResult", "check_backend", "explain_status", "run_check"]

DEFAULT_TIMEOUT = 10.0


@dataclass(frozen=True)
class CheckResult:
    backend: str
    ok: bool
    message: str
    status: int | None = None
    endpoint: str | None = None
    sent: BackendConfig | None = None
    """The configuration the test span went out with (an MLflow experiment name resolved to its id)."""


# ------------------------------------------------------------------------------------------ wording


def _vars(names: Sequence[str]) -> str:
    return ", ".join(names) if names else "the backend's settings"


def explain_status(config: BackendConfig, status: int, location: str | None = None) -> tuple[bool, str]:
    """Plain words for an HTTP status answered to the test span."""
    if 200 <= status < 300:
        detail = "test span accepted"
        for header, what in PRESETS[config.name].public_headers.items():
            if what and header in config.headers:
                detail += f" into {what} {config.headers[header]}"
        return True, f"OK (HTTP {status}): {detail}"
    preset = PRESETS[config.name]
    if status in preset.status_hints:
        return False, f"HTTP {status}: {preset.status_hints[status]}"
    if status in (401, 403):
        return (
            False,
            f"HTTP {status}: credentials rejected. Check {_vars(config.auth_vars)}{preset.auth_hint}",
        )
    if status == 404:
        return False, f"HTTP 404: wrong path: check {_vars(config.location_vars)}"
    if status == 405:
        return False, f"HTTP 405: this URL does not take OTLP traces: check {_vars(config.location_vars)}"
    if status in (400, 415):
        return (
            False,
            f"HTTP {status}: the server rejected the OTLP protobuf payload (is this an OTLP endpoint?)",
        )
    if 300 <= status < 400:
        target = f" to {display_url(location)}" if location else ""
        return False, (
            f"HTTP {status}: redirected{target}; exporters do not follow redirects: "
            f"set {_vars(config.location_vars)} to the final URL (https instead of http?)"
        )
    if status == 429:
        return False, "HTTP 429: rate limited by the backend; try again later"
    if status >= 500:
        return False, f"HTTP {status}: the backend failed (server error); see its logs"
    return False, f"HTTP {status}: unexpected answer"


def _explain_error(error: BaseException, url: str, timeout: float) -> str:
    parts = urlsplit(url)
    where = f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"
    reason = error.reason if isinstance(error, urllib.error.URLError) else error
    if isinstance(reason, ConnectionRefusedError):
        return f"connection refused: nothing is listening at {where} (is the server running?)"
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return f"timeout: no answer from {where} within {timeout:g} s"
    if isinstance(reason, socket.gaierror):
        return f"host not found: {parts.hostname!r} does not resolve (check the URL)"
    if isinstance(reason, ssl.SSLError):
        return f"TLS error talking to {where}: {reason}"
    if isinstance(reason, (ConnectionResetError, http.client.RemoteDisconnected)):
        return f"connection closed by {where} without an answer (wrong port or protocol?)"
    return f"cannot reach {where}: {reason}"


# ------------------------------------------------------------------------------------------ sending


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def _test_payload() -> tuple[bytes, str]:
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    resource = build_resource()
    if str(resource.attributes.get("service.name", "")).startswith("unknown_service"):
        resource = build_resource(service_name="arktrace-check")
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=resource, shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with provider.get_tracer("arktrace.check").start_as_current_span("arktrace check") as span:
        span.set_attribute("arktrace.check", True)
        trace_id = format(span.get_span_context().trace_id, "032x")
    payload = encode_spans(exporter.get_finished_spans()).SerializeToString()
    provider.shutdown()
    return payload, trace_id


def check_backend(config: BackendConfig, timeout: float = DEFAULT_TIMEOUT) -> CheckResult:
    """Send one test span to ``config`` and classify the outcome. Never raises for network problems."""
    if config.traces_endpoint is None:
        return CheckResult(config.name, True, "OK: spans are written to stderr; nothing to check")
    try:
        config = prepare(config, timeout)
    except ConfigError as error:
        label = PRESETS[config.name].prepare_label
        network_error = getattr(error, "network_error", None)
        url = getattr(error, "url", None)
        if network_error is not None and url is not None:
            return CheckResult(config.name, False, f"{label}: {_explain_error(network_error, url, timeout)}")
        return CheckResult(config.name, False, f"{label} failed: {error}")
    payload, trace_id = _test_payload()
    headers = {key: value for key, value in config.headers.items()}
    headers["content-type"] = PROTOBUF
    headers["user-agent"] = "arktrace-check"
    request = urllib.request.Request(config.traces_endpoint, data=payload, headers=headers, method="POST")
    started = time.monotonic()
    try:
        with _opener.open(request, timeout=timeout) as response:
            status, location = response.status, None
            response.read()
    except urllib.error.HTTPError as error:
        status, location = error.code, error.headers.get("location") if error.headers else None
        error.close()
    except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
        return CheckResult(
            config.name, False, _explain_error(error, config.traces_endpoint, timeout), None, None
        )
    ok, message = explain_status(config, status, location)
    if ok:
        message += f"; trace id {trace_id}, {1000 * (time.monotonic() - started):.0f} ms"
    return CheckResult(config.name, ok, message, status, config.traces_endpoint, config)


# ------------------------------------------------------------------------------------------ command


def _scrub(text: str, secrets: Sequence[str]) -> str:
    # A line may quote an error's text (urllib's, an SSL library's), not only values formatted here.
    return redact(text, secrets)


def _shown_headers(config: BackendConfig) -> str:
    return shown_headers(config.headers) or "(none)"


def example_env() -> str:
    """The commented example .env: shipped in the package, or the repository's file in a source tree."""
    from importlib import resources
    from pathlib import Path

    shipped = resources.files("arktrace").joinpath("data/env.example")
    if shipped.is_file():
        return shipped.read_text(encoding="utf-8")
    # An editable install runs from the source tree, where the file is the repository's .env.example.
    return (Path(__file__).resolve().parents[2] / ".env.example").read_text(encoding="utf-8")


def _spool_settings() -> Any:
    if not os.environ.get("ARKTRACE_SPOOL_DIR", "").strip():
        return None
    from arktrace._spool import read_settings

    return read_settings(os.environ)


def _spool_line(spool: Any, backend: str) -> str:
    """How many spans wait in ``backend``'s spool folder (read from the file names, nothing is sent)."""
    from arktrace._spool import waiting

    found = waiting(spool, backend)
    line = f"spool: {found.spans} spans waiting in {found.files} file(s) in {found.folder}"
    if found.set_aside:
        line += f"; {found.set_aside} file(s) set aside (rejected or damaged, not sent)"
    return line


def run_check(argv: list[str] | None = None, out: TextIO | None = None) -> int:
    """Entry point of ``arktrace check``; returns the process exit code."""
    out = sys.stdout if out is None else out
    parser = argparse.ArgumentParser(
        prog="arktrace check",
        description="Send one test span to each configured backend and report what happened.",
    )
    parser.add_argument(
        "--backend",
        "-b",
        action="append",
        metavar="NAME",
        help="backend to check (repeatable or comma-separated); default: ARKTRACE_BACKENDS, else detected",
    )
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds per request (10)")
    parser.add_argument(
        "--no-dotenv", action="store_true", help="do not load .env from the working directory"
    )
    parser.add_argument(
        "--example-env",
        action="store_true",
        help="print an example .env, every variable with a comment, and exit (> .env to start one)",
    )
    args = parser.parse_args(argv)
    if args.example_env:
        out.write(example_env())
        return 0

    if not args.no_dotenv:
        from dotenv import find_dotenv, load_dotenv

        path = find_dotenv(usecwd=True)
        if path:
            load_dotenv(path, override=False)
    selection = ",".join(args.backend) if args.backend else None
    for entry in unknown_variables(os.environ):
        print(f"arktrace check: {describe_unknown(*entry)}", file=out)
    try:
        configs, source = resolve_backends(selection, os.environ, setting="--backend")
    except ConfigError as error:
        print(_scrub(f"arktrace check: configuration error: {error}", ()), file=out)
        return 2
    if not configs:
        for line in incomplete_backends(os.environ, ()):
            print(f"arktrace check: {line}", file=out)
        print(
            "arktrace check: no backend configured. Set ARKTRACE_BACKENDS or a backend's variables "
            f"({selection_hint()}); `arktrace check --example-env` prints every variable with a comment",
            file=out,
        )
        return 1
    try:
        spool = _spool_settings()
        metrics_on = BY_KEYWORD["metrics"].resolve(None, os.environ)
    except ConfigError as error:
        print(f"arktrace check: configuration error: {error}", file=out)
        return 2
    how = "detected from the environment" if source == "detected" else f"from {source}"
    print(f"arktrace check: {len(configs)} backend(s) {how}", file=out)
    secrets = [secret for config in configs for secret in config.secrets()]
    failures = 0
    stored = 0
    width = max(len(c.name) for c in configs)
    for config in configs:
        result = check_backend(config, timeout=args.timeout)
        failures += not result.ok
        stored += result.ok and result.status is not None
        lines = [f"{config.name:<{width}}  {'ok  ' if result.ok else 'FAIL'}  {result.message}"]
        if config.traces_endpoint is not None:
            pad = " " * (width + 8)
            lines.append(f"{pad}POST {display_url(config.traces_endpoint)}")
            lines.append(f"{pad}headers {_shown_headers(result.sent or config)}")
            if spool is not None:
                lines.append(f"{pad}{_spool_line(spool, config.name)}")
        print(_scrub("\n".join(lines), secrets), file=out)
    dropped = metrics_dropped(configs) if metrics_on else None
    if dropped:
        print(f"arktrace check: {dropped}", file=out)
    if stored:
        print(
            "arktrace check: the test span stays in the backend(s) that accepted it, as a trace named "
            "'arktrace check' (its trace id is above); delete it there if it is in the way",
            file=out,
        )
    if failures:
        print(f"arktrace check: {failures} of {len(configs)} backend(s) failed", file=out)
        return 1
    print(f"arktrace check: all {len(configs)} backend(s) accepted the test span", file=out)
    return 0
