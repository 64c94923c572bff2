"""OpenObserve: OTLP/HTTP under ``/api/<org>/``, traces into a stream, metrics one stream per metric."""

from __future__ import annotations

import re
from collections.abc import Mapping

from arktrace._errors import ConfigError, mask_secret
from arktrace._options import env_flag
from arktrace._redact import display_url

from ._common import BackendConfig, Preset, get, header_value, http_url, join, timeout

DEFAULT_URL = "http://localhost:5080"


def build(env: Mapping[str, str]) -> BackendConfig:
    token = get(env, "OPENOBSERVE_AUTH_TOKEN")
    if token is None:
        raise ConfigError(
            "OPENOBSERVE_AUTH_TOKEN",
            None,
            "the full Authorization value from OpenObserve's ingestion page, "
            "e.g. 'Basic <base64 of user:password>'",
        )
    header_value("OPENOBSERVE_AUTH_TOKEN", token, secret=True)
    if " " not in token:
        raise ConfigError(
            "OPENOBSERVE_AUTH_TOKEN",
            repr(mask_secret(token)) + " (no scheme word)",
            "the full Authorization value including its scheme, e.g. 'Basic <base64 of user:password>'",
        )
    raw_url = get(env, "OPENOBSERVE_URL") or DEFAULT_URL
    base = http_url("OPENOBSERVE_URL", raw_url, "https://api.openobserve.ai")
    if re.search(r"/api(/|$)", base.path):
        raise ConfigError(
            "OPENOBSERVE_URL",
            repr(display_url(raw_url)),
            "the server's base URL without /api/<org>/… (set the organisation in OPENOBSERVE_ORG)",
        )
    org = get(env, "OPENOBSERVE_ORG") or "default"
    if "/" in org or " " in org:
        raise ConfigError("OPENOBSERVE_ORG", repr(org), "an organisation id without '/' or spaces")
    stream = header_value(
        "OPENOBSERVE_TRACES_STREAM_NAME", get(env, "OPENOBSERVE_TRACES_STREAM_NAME") or "default"
    )
    auth = {"authorization": token}
    return BackendConfig(
        name="openobserve",
        traces_endpoint=join(base, f"/api/{org}/v1/traces"),
        headers={**auth, "stream-name": stream},
        metrics_endpoint=join(base, f"/api/{org}/v1/metrics"),
        # Metrics: one stream per metric name, so no stream-name header.
        metrics_headers=auth,
        timeout=timeout(env, "OPENOBSERVE_TIMEOUT"),
        auth_vars=("OPENOBSERVE_AUTH_TOKEN",),
        location_vars=("OPENOBSERVE_URL", "OPENOBSERVE_ORG"),
    )


def disabled(env: Mapping[str, str]) -> bool:
    return not env_flag(env, "OPENOBSERVE_ENABLED", True)


PRESET = Preset(
    name="openobserve",
    prefix="OPENOBSERVE_",
    title="OpenObserve",
    variables={
        "OPENOBSERVE_URL": ("http://localhost:5080", "Base URL, without `/api/…`."),
        "OPENOBSERVE_ORG": ("default", "Organisation id."),
        "OPENOBSERVE_AUTH_TOKEN": ("unset", "Full Authorization value, scheme included (`Basic …`)."),
        "OPENOBSERVE_TRACES_STREAM_NAME": ("default", "Traces stream; metrics get one stream per metric."),
        "OPENOBSERVE_TIMEOUT": ("10", "Export timeout in seconds."),
        "OPENOBSERVE_ENABLED": ("true", "false: do not pick OpenObserve although its token is set."),
    },
    detect_vars=("OPENOBSERVE_AUTH_TOKEN",),
    metrics=True,
    build=build,
    public_headers={"stream-name": ""},
    disabled_by=disabled,
    aliases=("o2",),
    status_hints={404: "wrong organisation or path: check OPENOBSERVE_URL and OPENOBSERVE_ORG"},
)
