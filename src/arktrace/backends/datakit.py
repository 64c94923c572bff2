"""Guance DataKit: its opentelemetry input, OTLP/HTTP traces and metrics under ``/otel``."""

from __future__ import annotations

from collections.abc import Mapping

from ._common import BackendConfig, Preset, get, http_url, join

DEFAULT_URL = "http://127.0.0.1:9529/otel"


def build(env: Mapping[str, str]) -> BackendConfig:
    raw_url = get(env, "ARKTRACE_DATAKIT_URL") or DEFAULT_URL
    base = http_url("ARKTRACE_DATAKIT_URL", raw_url, DEFAULT_URL)
    for suffix in ("/v1/traces", "/v1/metrics"):
        if base.path.endswith(suffix):
            base = base._replace(path=base.path[: -len(suffix)])
    if not base.path:
        # DataKit serves OTLP under /otel only.
        base = base._replace(path="/otel")
    return BackendConfig(
        name="datakit",
        traces_endpoint=join(base, "/v1/traces"),
        metrics_endpoint=join(base, "/v1/metrics"),
        location_vars=("ARKTRACE_DATAKIT_URL",),
    )


PRESET = Preset(
    name="datakit",
    title="Guance DataKit",
    variables={"ARKTRACE_DATAKIT_URL": ("http://127.0.0.1:9529/otel", "Guance DataKit's OTLP base URL.")},
    detect_vars=("ARKTRACE_DATAKIT_URL",),
    metrics=True,
    build=build,
    aliases=("guance",),
    status_hints={404: "wrong path: check ARKTRACE_DATAKIT_URL and that DataKit's opentelemetry input is on"},
)
