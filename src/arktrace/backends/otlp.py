"""Any OTLP/HTTP endpoint, configured by OpenTelemetry's own ``OTEL_EXPORTER_OTLP_*`` variables."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit, urlunsplit

from arktrace._errors import ConfigError

from ._common import BackendConfig, Preset, get, http_url, join, parse_otlp_headers, timeout

DEFAULT_URL = "http://localhost:4318"


def build(env: Mapping[str, str]) -> BackendConfig:
    for var in ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"):
        protocol = get(env, var)
        if protocol is not None:
            if protocol.lower() != "http/protobuf":
                raise ConfigError(
                    var,
                    repr(protocol),
                    "http/protobuf (arktrace sends OTLP over HTTP with protobuf, usually to port 4318)",
                )
            break
    base_raw = get(env, "OTEL_EXPORTER_OTLP_ENDPOINT")
    traces_raw = get(env, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    metrics_raw = get(env, "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")
    base = http_url("OTEL_EXPORTER_OTLP_ENDPOINT", base_raw, DEFAULT_URL) if base_raw else None
    if traces_raw is not None:
        traces = urlunsplit(
            http_url("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", traces_raw, DEFAULT_URL + "/v1/traces")
        )
    else:
        traces = join(base or urlsplit(DEFAULT_URL), "/v1/traces")
    metrics: str | None
    if metrics_raw is not None:
        metrics = urlunsplit(
            http_url("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", metrics_raw, DEFAULT_URL + "/v1/metrics")
        )
    elif base is not None or traces_raw is None:
        metrics = join(base or urlsplit(DEFAULT_URL), "/v1/metrics")
    else:
        # Only a traces endpoint was given: do not guess where metrics should go.
        metrics = None
    trace_headers_var = (
        "OTEL_EXPORTER_OTLP_TRACES_HEADERS"
        if get(env, "OTEL_EXPORTER_OTLP_TRACES_HEADERS")
        else "OTEL_EXPORTER_OTLP_HEADERS"
    )
    metric_headers_var = (
        "OTEL_EXPORTER_OTLP_METRICS_HEADERS"
        if get(env, "OTEL_EXPORTER_OTLP_METRICS_HEADERS")
        else "OTEL_EXPORTER_OTLP_HEADERS"
    )
    return BackendConfig(
        name="otlp",
        traces_endpoint=traces,
        headers=parse_otlp_headers(trace_headers_var, env.get(trace_headers_var)),
        metrics_endpoint=metrics,
        metrics_headers=parse_otlp_headers(metric_headers_var, env.get(metric_headers_var)),
        timeout=timeout(env, "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT"),
        auth_vars=(trace_headers_var,),
        location_vars=("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
    )


PRESET = Preset(
    name="otlp",
    title="OTLP endpoint",
    variables={
        "OTEL_EXPORTER_OTLP_ENDPOINT": ("http://localhost:4318", "Base URL (`/v1/traces` appended)."),
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": ("unset", "Full traces URL, used as it is."),
        "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": ("unset", "Full metrics URL, used as it is."),
        "OTEL_EXPORTER_OTLP_HEADERS": ("none", "Headers `k=v,k2=v2`, sent to this endpoint only."),
        "OTEL_EXPORTER_OTLP_TRACES_HEADERS": ("none", "Headers for traces, instead of the above."),
        "OTEL_EXPORTER_OTLP_METRICS_HEADERS": ("none", "Headers for metrics, instead of the above."),
        "OTEL_EXPORTER_OTLP_TIMEOUT": ("10", "Export timeout in seconds."),
        "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT": ("10", "Traces export timeout, instead of the above."),
        "OTEL_EXPORTER_OTLP_PROTOCOL": ("http/protobuf", "Only http/protobuf is accepted."),
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": ("http/protobuf", "Same, for traces only."),
    },
    detect_vars=("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
    metrics=True,
    build=build,
    aliases=("otel", "otlp-http"),
    generic=True,
)
