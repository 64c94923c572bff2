"""Backend presets: which environment variables turn into which OTLP endpoint and headers.

Everything in this module is pure: it reads a mapping of environment variables (``os.environ`` by default)
and returns plain data or raises :class:`~arktrace.ConfigError`. No network I/O, no global state, no
logging, so every preset can be tested as a table. ``arktrace._setup`` turns the result into exporters and
``arktrace._check`` into test requests.

Backends and the variables they read:

=============  =====================================================================================
openobserve    OPENOBSERVE_URL, OPENOBSERVE_ORG, OPENOBSERVE_AUTH_TOKEN, OPENOBSERVE_TRACES_STREAM_NAME,
               OPENOBSERVE_TIMEOUT, OPENOBSERVE_ENABLED
langfuse       LANGFUSE_PUBLIC_KEY, LANGFUSE_SECRET_KEY, LANGFUSE_BASE_URL (or the older LANGFUSE_HOST)
mlflow         MLFLOW_TRACKING_URI, MLFLOW_EXPERIMENT_ID or MLFLOW_EXPERIMENT_NAME, MLFLOW_TRACKING_TOKEN,
               MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD
phoenix        PHOENIX_COLLECTOR_ENDPOINT, PHOENIX_API_KEY, PHOENIX_PROJECT_NAME
datakit        ARKTRACE_DATAKIT_URL (default http://127.0.0.1:9529/otel)
otlp           OTEL_EXPORTER_OTLP_[TRACES_|METRICS_]ENDPOINT / _HEADERS / _TIMEOUT / _PROTOCOL
console        (none; spans are written to stderr)
=============  =====================================================================================
"""

from __future__ import annotations

import base64
import difflib
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Callable
from urllib.parse import SplitResult, unquote, urlsplit, urlunsplit

from arktrace._errors import ConfigError, mask_secret
from arktrace._redact import MASK, url_secrets

__all__ = [
    "BACKEND_NAMES",
    "PRESETS",
    "BackendConfig",
    "Preset",
    "detect_backends",
    "display_url",
    "env_flag",
    "exporter_headers",
    "incomplete_backends",
    "parse_backend_names",
    "parse_otlp_headers",
    "resolve_backends",
    "shown_headers",
    "summarize",
    "unknown_variables",
]

PROTOBUF = "application/x-protobuf"
DEFAULT_TIMEOUT = 10.0
DATAKIT_DEFAULT_URL = "http://127.0.0.1:9529/otel"
OPENOBSERVE_DEFAULT_URL = "http://localhost:5080"
LANGFUSE_DEFAULT_URL = "https://cloud.langfuse.com"
PHOENIX_DEFAULT_URL = "http://localhost:6006"
OTLP_DEFAULT_URL = "http://localhost:4318"
LANGFUSE_INGESTION_VERSION = "4"

# Header values that are safe to show in logs and in ``arktrace check``; every other value is masked.
_PUBLIC_HEADERS = frozenset(
    {
        "stream-name",
        "x-langfuse-ingestion-version",
        "x-mlflow-experiment-id",
        "x-project-name",
        "content-type",
        "content-encoding",
        "user-agent",
    }
)


@dataclass(frozen=True)
class BackendConfig:
    """One resolved export target. Header names are lower case."""

    name: str
    traces_endpoint: str | None
    headers: Mapping[str, str] = field(default_factory=dict)
    metrics_endpoint: str | None = None
    metrics_headers: Mapping[str, str] | None = None
    timeout: float = DEFAULT_TIMEOUT
    # MLflow only: the tracking server and an experiment name still to be resolved to an id over REST.
    tracking_uri: str | None = None
    mlflow_experiment_name: str | None = None
    # Environment variables that hold this backend's credentials and location, for error hints.
    auth_vars: tuple[str, ...] = ()
    location_vars: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def accepts_metrics(self) -> bool:
        return self.metrics_endpoint is not None

    @property
    def effective_metrics_headers(self) -> Mapping[str, str]:
        return self.headers if self.metrics_headers is None else self.metrics_headers

    def with_mlflow_experiment_id(self, experiment_id: str) -> BackendConfig:
        headers = dict(self.headers)
        headers["x-mlflow-experiment-id"] = experiment_id
        return replace(self, headers=headers, mlflow_experiment_name=None)

    def secrets(self) -> list[str]:
        """Every header value, URL password and query value that must never appear in anything printed or
        logged."""
        found = [
            secret
            for url in (self.traces_endpoint, self.metrics_endpoint, self.tracking_uri)
            for secret in url_secrets(url)
        ]
        for headers in (self.headers, self.metrics_headers or {}):
            for key, value in headers.items():
                if key not in _PUBLIC_HEADERS and value:
                    found.append(value)
                    # A Basic/Bearer value's credential part on its own is just as secret.
                    _scheme, sep, rest = value.partition(" ")
                    if sep and rest:
                        found.append(rest)
        return found


@dataclass(frozen=True)
class Preset:
    """How one backend reads its settings."""

    name: str
    title: str
    env_vars: tuple[str, ...]
    detect_vars: tuple[str, ...]
    metrics: bool
    build: Callable[[Mapping[str, str]], BackendConfig]
    disabled_by: Callable[[Mapping[str, str]], bool] = lambda env: False


# --------------------------------------------------------------------------------------------- helpers


def _get(env: Mapping[str, str], name: str) -> str | None:
    """A variable's value, stripped; empty counts as unset (``KEY=`` lines in .env files are common)."""
    value = env.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def display_url(url: str) -> str:
    """A URL for logs: a password or token in the user-info part, the query and the fragment are masked."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    netloc, path = parts.netloc, parts.path
    if "@" not in netloc and "@" not in path and not parts.query and not parts.fragment:
        return url
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        user = userinfo.partition(":")[0]
        netloc = f"{user}:{MASK}@{hostport}" if ":" in userinfo else f"{MASK}@{hostport}"
    elif "@" in path:
        # Without "//" (the scheme left out) "user:password@host" parses as scheme "user" and a path.
        path = re.sub(r"[^/@]*@", MASK + "@", path)
    query, fragment = MASK if parts.query else "", MASK if parts.fragment else ""
    return urlunsplit(SplitResult(parts.scheme, netloc, path, query, fragment))


def _http_url(var: str, value: str, example: str) -> SplitResult:
    """Validate that ``value`` is an absolute http(s) URL; return its parts without trailing slash."""
    expected = f"an http:// or https:// URL such as {example}"
    try:
        parts = urlsplit(value)
    except ValueError:
        raise ConfigError(var, repr(display_url(value)), expected) from None
    if any(ch.isspace() or not ch.isprintable() for ch in value):
        # urllib refuses such a URL with an error that is no ConfigError (and quotes it whole).
        raise ConfigError(var, repr(display_url(value)), expected + " without spaces or control characters")
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        hint = ""
        if not parts.scheme or "://" not in value:
            hint = " (the scheme is missing)"
        raise ConfigError(var, f"{display_url(value)!r}{hint}", expected)
    try:
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise ConfigError(var, repr(display_url(value)), expected + " with a numeric port") from None
    return parts._replace(path=parts.path.rstrip("/"), fragment="")


def _join(base: SplitResult, path: str) -> str:
    return urlunsplit(base._replace(path=base.path + path))


def _timeout(env: Mapping[str, str], *names: str, default: float = DEFAULT_TIMEOUT) -> float:
    for name in names:
        raw = _get(env, name)
        if raw is None:
            continue
        try:
            value = float(raw)
        except ValueError:
            raise ConfigError(name, repr(raw), "a number of seconds such as 10") from None
        if not value > 0:
            raise ConfigError(name, repr(raw), "a positive number of seconds such as 10")
        return value
    return default


def env_flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    """Parse a boolean environment variable (true/false, 1/0, yes/no, on/off)."""
    raw = _get(env, name)
    if raw is None:
        return default
    lowered = raw.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ConfigError(name, repr(raw), "true or false")


def _header_value(var: str, value: str, secret: bool = False) -> str:
    """``value``, which is sent as an HTTP header: printable ASCII only, or every export would fail."""
    if value.isascii() and value.isprintable():
        return value
    shown = repr(mask_secret(value)) if secret else repr(value)
    raise ConfigError(var, shown, "printable ASCII text (it is sent as an HTTP header value)")


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


# --------------------------------------------------------------------------------------------- presets


def _openobserve(env: Mapping[str, str]) -> BackendConfig:
    token = _get(env, "OPENOBSERVE_AUTH_TOKEN")
    if token is None:
        raise ConfigError(
            "OPENOBSERVE_AUTH_TOKEN",
            None,
            "the full Authorization value from OpenObserve's ingestion page, "
            "e.g. 'Basic <base64 of user:password>'",
        )
    _header_value("OPENOBSERVE_AUTH_TOKEN", token, secret=True)
    if " " not in token:
        raise ConfigError(
            "OPENOBSERVE_AUTH_TOKEN",
            repr(mask_secret(token)) + " (no scheme word)",
            "the full Authorization value including its scheme, e.g. 'Basic <base64 of user:password>'",
        )
    raw_url = _get(env, "OPENOBSERVE_URL") or OPENOBSERVE_DEFAULT_URL
    base = _http_url("OPENOBSERVE_URL", raw_url, "https://api.openobserve.ai")
    if re.search(r"/api(/|$)", base.path):
        raise ConfigError(
            "OPENOBSERVE_URL",
            repr(display_url(raw_url)),
            "the server's base URL without /api/<org>/… (set the organisation in OPENOBSERVE_ORG)",
        )
    org = _get(env, "OPENOBSERVE_ORG") or "default"
    if "/" in org or " " in org:
        raise ConfigError("OPENOBSERVE_ORG", repr(org), "an organisation id without '/' or spaces")
    stream = _header_value(
        "OPENOBSERVE_TRACES_STREAM_NAME", _get(env, "OPENOBSERVE_TRACES_STREAM_NAME") or "default"
    )
    auth = {"authorization": token}
    return BackendConfig(
        name="openobserve",
        traces_endpoint=_join(base, f"/api/{org}/v1/traces"),
        headers={**auth, "stream-name": stream},
        metrics_endpoint=_join(base, f"/api/{org}/v1/metrics"),
        # Metrics: one stream per metric name, so no stream-name header.
        metrics_headers=auth,
        timeout=_timeout(env, "OPENOBSERVE_TIMEOUT"),
        auth_vars=("OPENOBSERVE_AUTH_TOKEN",),
        location_vars=("OPENOBSERVE_URL", "OPENOBSERVE_ORG"),
    )


def _openobserve_disabled(env: Mapping[str, str]) -> bool:
    return not env_flag(env, "OPENOBSERVE_ENABLED", True)


def _langfuse(env: Mapping[str, str]) -> BackendConfig:
    public = _get(env, "LANGFUSE_PUBLIC_KEY")
    secret = _get(env, "LANGFUSE_SECRET_KEY")
    if public is None and secret is None:
        raise ConfigError(
            "LANGFUSE_PUBLIC_KEY",
            None,
            "the project's key pair in LANGFUSE_PUBLIC_KEY (pk-lf-…) and LANGFUSE_SECRET_KEY (sk-lf-…)",
        )
    if secret is None:
        # Only a pk-lf-… key is shown: a secret key pasted into the wrong variable must stay hidden.
        shown = repr(public) if public.startswith("pk-lf-") else repr(mask_secret(public))
        raise ConfigError(
            "LANGFUSE_SECRET_KEY",
            None,
            f"the secret half (sk-lf-…) of the key pair whose public key {shown} is in LANGFUSE_PUBLIC_KEY",
        )
    if public is None:
        raise ConfigError(
            "LANGFUSE_PUBLIC_KEY",
            None,
            "the public half (pk-lf-…) of the key pair whose secret key is in LANGFUSE_SECRET_KEY",
        )
    if public.startswith("sk-lf-") or secret.startswith("pk-lf-"):
        raise ConfigError(
            "LANGFUSE_PUBLIC_KEY",
            f"{mask_secret(public)!r} (it looks like a secret key)",
            "the pk-lf-… key in LANGFUSE_PUBLIC_KEY and the sk-lf-… key in LANGFUSE_SECRET_KEY; "
            "they look swapped",
        )
    var = "LANGFUSE_BASE_URL" if _get(env, "LANGFUSE_BASE_URL") else "LANGFUSE_HOST"
    raw_url = _get(env, var) or LANGFUSE_DEFAULT_URL
    base = _http_url(var, raw_url, LANGFUSE_DEFAULT_URL)
    return BackendConfig(
        name="langfuse",
        traces_endpoint=_join(base, "/api/public/otel/v1/traces"),
        headers={
            "authorization": _basic(public, secret),
            # Real-time write path: traces show up in the UI within seconds.
            "x-langfuse-ingestion-version": LANGFUSE_INGESTION_VERSION,
        },
        auth_vars=("LANGFUSE_PUBLIC_KEY", "LANGFUSE_SECRET_KEY"),
        location_vars=(var,),
    )


def _mlflow(env: Mapping[str, str]) -> BackendConfig:
    raw_uri = _get(env, "MLFLOW_TRACKING_URI")
    if raw_uri is None:
        raise ConfigError(
            "MLFLOW_TRACKING_URI", None, "the tracking server's URL, e.g. http://localhost:5000"
        )
    try:
        scheme = urlsplit(raw_uri).scheme.lower()
    except ValueError:
        scheme = ""
    if scheme not in ("http", "https"):
        raise ConfigError(
            "MLFLOW_TRACKING_URI",
            repr(display_url(raw_uri)),
            "an http:// or https:// MLflow tracking server (>= 3.6) such as http://localhost:5000; "
            "file:, sqlite: and databricks URIs cannot receive OTLP (choose backends with ARKTRACE_BACKENDS)",
        )
    base = _http_url("MLFLOW_TRACKING_URI", raw_uri, "http://localhost:5000")
    tracking_uri = urlunsplit(base)
    headers: dict[str, str] = {}
    auth_vars: tuple[str, ...] = ()
    token = _get(env, "MLFLOW_TRACKING_TOKEN")
    user = _get(env, "MLFLOW_TRACKING_USERNAME")
    password = _get(env, "MLFLOW_TRACKING_PASSWORD")
    if token is not None:
        headers["authorization"] = f"Bearer {_header_value('MLFLOW_TRACKING_TOKEN', token, secret=True)}"
        auth_vars = ("MLFLOW_TRACKING_TOKEN",)
    elif user is not None or password is not None:
        if user is None or password is None:
            missing = "MLFLOW_TRACKING_USERNAME" if user is None else "MLFLOW_TRACKING_PASSWORD"
            raise ConfigError(
                missing, None, "both MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD, or neither"
            )
        headers["authorization"] = _basic(user, password)
        auth_vars = ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD")
    experiment_id = _get(env, "MLFLOW_EXPERIMENT_ID")
    experiment_name = _get(env, "MLFLOW_EXPERIMENT_NAME")
    notes: tuple[str, ...] = ()
    if experiment_id is not None:
        if any(ch.isspace() or ch == "/" for ch in experiment_id) or not experiment_id.isascii():
            raise ConfigError("MLFLOW_EXPERIMENT_ID", repr(experiment_id), "an experiment id such as 1")
        headers["x-mlflow-experiment-id"] = experiment_id
        experiment_name = None
    elif experiment_name is None:
        headers["x-mlflow-experiment-id"] = "0"
        notes = ("experiment 0 (Default); set MLFLOW_EXPERIMENT_NAME or MLFLOW_EXPERIMENT_ID to choose",)
    return BackendConfig(
        name="mlflow",
        traces_endpoint=_join(base, "/v1/traces"),
        headers=headers,
        tracking_uri=tracking_uri,
        mlflow_experiment_name=experiment_name,
        auth_vars=auth_vars,
        location_vars=("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME"),
        notes=notes,
    )


def _phoenix(env: Mapping[str, str]) -> BackendConfig:
    raw_url = _get(env, "PHOENIX_COLLECTOR_ENDPOINT") or PHOENIX_DEFAULT_URL
    base = _http_url("PHOENIX_COLLECTOR_ENDPOINT", raw_url, PHOENIX_DEFAULT_URL)
    if base.path.endswith("/v1/traces"):
        base = base._replace(path=base.path[: -len("/v1/traces")])
    headers: dict[str, str] = {}
    api_key = _get(env, "PHOENIX_API_KEY")
    if api_key is not None:
        headers["authorization"] = f"Bearer {_header_value('PHOENIX_API_KEY', api_key, secret=True)}"
    project = _get(env, "PHOENIX_PROJECT_NAME")
    if project is not None:
        headers["x-project-name"] = _header_value("PHOENIX_PROJECT_NAME", project)
    return BackendConfig(
        name="phoenix",
        traces_endpoint=_join(base, "/v1/traces"),
        headers=headers,
        auth_vars=("PHOENIX_API_KEY",),
        location_vars=("PHOENIX_COLLECTOR_ENDPOINT",),
    )


def _datakit(env: Mapping[str, str]) -> BackendConfig:
    raw_url = _get(env, "ARKTRACE_DATAKIT_URL") or DATAKIT_DEFAULT_URL
    base = _http_url("ARKTRACE_DATAKIT_URL", raw_url, DATAKIT_DEFAULT_URL)
    for suffix in ("/v1/traces", "/v1/metrics"):
        if base.path.endswith(suffix):
            base = base._replace(path=base.path[: -len(suffix)])
    if not base.path:
        # DataKit serves OTLP under /otel only.
        base = base._replace(path="/otel")
    return BackendConfig(
        name="datakit",
        traces_endpoint=_join(base, "/v1/traces"),
        metrics_endpoint=_join(base, "/v1/metrics"),
        location_vars=("ARKTRACE_DATAKIT_URL",),
    )


# OTEL_EXPORTER_OTLP_*HEADERS in OpenTelemetry's format (the W3C baggage list): name=value pairs separated
# by commas, values percent-encoded. arktrace parses them itself and hands the exporters the result, and
# accepts only what OpenTelemetry's own parser also accepts without a word: that parser, which the OTLP
# exporter runs on these variables whatever it is given, logs a pair it cannot read in full, token included.
OTLP_HEADER_VARS = (
    "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
    "OTEL_EXPORTER_OTLP_METRICS_HEADERS",
)
_HEADERS_EXPECTED = (
    "key=value pairs separated by commas, with values percent-encoded per the OpenTelemetry spec "
    "(e.g. Authorization=Bearer%20<token>,x-team=llm)"
)
_PAIR_SEPARATOR = re.compile(r"[ \t]*,[ \t]*")
# An HTTP token without '%': a percent-encoded name would be read two ways by OpenTelemetry's parser.
_HEADER_NAME = re.compile(r"[!#$&'*+\-.^_`|~0-9A-Za-z]+")
# Printable ASCII and space, without the list's own delimiters: '"', ',', ';' and backslash.
_ENCODED_VALUE = re.compile(r"[\x20\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*")
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_COLON_PAIR = re.compile(r"([!#$&'*+\-.^_`|~0-9A-Za-z]+)[ \t]*:[ \t]+(\S.*)")


def _masked_pair(pair: str) -> str:
    """A pair as it may be shown: its name when it clearly has one, never its value."""
    name, eq, value = pair.partition("=")
    if eq and _HEADER_NAME.fullmatch(name.strip(" \t")):
        name = name.strip(" \t")
        return f"{name}={value.strip() if name.lower() in _PUBLIC_HEADERS else mask_secret(value)}"
    colon = _COLON_PAIR.fullmatch(pair)
    if colon and "=" not in colon.group(1):
        return f"{colon.group(1)}: {mask_secret(colon.group(2))}"
    return mask_secret(pair) if " " in pair.strip() else "****"


def _pair_problem(pair: str) -> str | None:
    """Why ``pair`` is not a header OpenTelemetry's parser reads silently, or None when it is."""
    name, eq, value = pair.partition("=")
    if not eq:
        return "uses ':' where '=' belongs" if ":" in pair else "has no '='"
    name, value = name.strip(" \t"), value.strip(" \t")
    if not name:
        return "has no header name before '='"
    if not _HEADER_NAME.fullmatch(name):
        if "%" in name:
            return "has a percent-encoded header name (only values are encoded)"
        return "has a header name with a character HTTP does not allow in one"
    if not _ENCODED_VALUE.fullmatch(value):
        return (
            "has a value with a character that must be percent-encoded "
            '(a tab, a control character, non-ASCII text, or one of " ; \\)'
        )
    if _BAD_ESCAPE.search(value):
        return "has a '%' that does not start a %XX escape (write a literal % as %25)"
    return None


def parse_otlp_headers(var: str, raw: str | None) -> dict[str, str]:
    """The headers in ``raw``, the value of ``var``: names lower-cased, values percent-decoded.

    Raises :class:`ConfigError` naming ``var``, showing the value with every header value masked, when a
    pair is malformed, wrongly encoded, or decodes to something an HTTP header cannot carry.
    """
    headers: dict[str, str] = {}
    if not raw or not raw.strip():
        return headers
    # Empty pairs (a trailing comma) are skipped, as OpenTelemetry does; blank ones are not (it logs them).
    pairs = [pair for pair in _PAIR_SEPARATOR.split(raw) if pair]

    def fail(number: int, problem: str, expected: str = _HEADERS_EXPECTED) -> ConfigError:
        shown = ",".join(_masked_pair(pair.strip()) for pair in pairs)
        where = f"pair {number} of {len(pairs)}" if len(pairs) > 1 else "the pair"
        return ConfigError(var, f"{shown!r} ({where} {problem})", expected)

    for number, pair in enumerate(pairs, 1):
        pair = pair.strip()
        problem = _pair_problem(pair) if pair else "is blank"
        if problem is not None:
            raise fail(number, problem)
        name, _eq, value = pair.partition("=")
        name, value = name.strip(" \t").lower(), value.strip(" \t")
        try:
            decoded = unquote(value, errors="strict")
        except UnicodeDecodeError:
            raise fail(number, "has percent-encoded bytes that are not UTF-8") from None
        if not (decoded.isascii() and decoded.isprintable()):
            raise fail(
                number,
                "decodes to text that is not printable ASCII",
                "printable ASCII text in every value (it is sent as an HTTP header value); "
                + _HEADERS_EXPECTED,
            )
        headers[name] = decoded
    return headers


def _otlp(env: Mapping[str, str]) -> BackendConfig:
    for var in ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"):
        protocol = _get(env, var)
        if protocol is not None:
            if protocol.lower() != "http/protobuf":
                raise ConfigError(
                    var,
                    repr(protocol),
                    "http/protobuf (arktrace sends OTLP over HTTP with protobuf, usually to port 4318)",
                )
            break
    base_raw = _get(env, "OTEL_EXPORTER_OTLP_ENDPOINT")
    traces_raw = _get(env, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    metrics_raw = _get(env, "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")
    base = _http_url("OTEL_EXPORTER_OTLP_ENDPOINT", base_raw, OTLP_DEFAULT_URL) if base_raw else None
    if traces_raw is not None:
        traces = urlunsplit(
            _http_url("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", traces_raw, OTLP_DEFAULT_URL + "/v1/traces")
        )
    else:
        traces = _join(base or urlsplit(OTLP_DEFAULT_URL), "/v1/traces")
    metrics: str | None
    if metrics_raw is not None:
        metrics = urlunsplit(
            _http_url("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", metrics_raw, OTLP_DEFAULT_URL + "/v1/metrics")
        )
    elif base is not None or traces_raw is None:
        metrics = _join(base or urlsplit(OTLP_DEFAULT_URL), "/v1/metrics")
    else:
        # Only a traces endpoint was given: do not guess where metrics should go.
        metrics = None
    trace_headers_var = (
        "OTEL_EXPORTER_OTLP_TRACES_HEADERS"
        if _get(env, "OTEL_EXPORTER_OTLP_TRACES_HEADERS")
        else "OTEL_EXPORTER_OTLP_HEADERS"
    )
    metric_headers_var = (
        "OTEL_EXPORTER_OTLP_METRICS_HEADERS"
        if _get(env, "OTEL_EXPORTER_OTLP_METRICS_HEADERS")
        else "OTEL_EXPORTER_OTLP_HEADERS"
    )
    return BackendConfig(
        name="otlp",
        traces_endpoint=traces,
        headers=parse_otlp_headers(trace_headers_var, env.get(trace_headers_var)),
        metrics_endpoint=metrics,
        metrics_headers=parse_otlp_headers(metric_headers_var, env.get(metric_headers_var)),
        timeout=_timeout(env, "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT"),
        auth_vars=(trace_headers_var,),
        location_vars=("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
    )


def _console(env: Mapping[str, str]) -> BackendConfig:
    return BackendConfig(name="console", traces_endpoint=None)


PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in (
        Preset(
            name="openobserve",
            title="OpenObserve",
            env_vars=(
                "OPENOBSERVE_URL",
                "OPENOBSERVE_ORG",
                "OPENOBSERVE_AUTH_TOKEN",
                "OPENOBSERVE_TRACES_STREAM_NAME",
                "OPENOBSERVE_TIMEOUT",
                "OPENOBSERVE_ENABLED",
            ),
            detect_vars=("OPENOBSERVE_AUTH_TOKEN",),
            metrics=True,
            build=_openobserve,
            disabled_by=_openobserve_disabled,
        ),
        Preset(
            name="langfuse",
            title="Langfuse",
            env_vars=("LANGFUSE_PUBLIC_KEY", "LANGFUSE_SECRET_KEY", "LANGFUSE_BASE_URL", "LANGFUSE_HOST"),
            detect_vars=("LANGFUSE_PUBLIC_KEY", "LANGFUSE_SECRET_KEY"),
            metrics=False,
            build=_langfuse,
        ),
        Preset(
            name="mlflow",
            title="MLflow",
            env_vars=(
                "MLFLOW_TRACKING_URI",
                "MLFLOW_EXPERIMENT_ID",
                "MLFLOW_EXPERIMENT_NAME",
                "MLFLOW_TRACKING_TOKEN",
                "MLFLOW_TRACKING_USERNAME",
                "MLFLOW_TRACKING_PASSWORD",
            ),
            detect_vars=("MLFLOW_TRACKING_URI",),
            metrics=False,
            build=_mlflow,
        ),
        Preset(
            name="phoenix",
            title="Arize Phoenix",
            env_vars=("PHOENIX_COLLECTOR_ENDPOINT", "PHOENIX_API_KEY", "PHOENIX_PROJECT_NAME"),
            detect_vars=("PHOENIX_COLLECTOR_ENDPOINT", "PHOENIX_API_KEY"),
            metrics=False,
            build=_phoenix,
        ),
        Preset(
            name="datakit",
            title="Guance DataKit",
            env_vars=("ARKTRACE_DATAKIT_URL",),
            detect_vars=("ARKTRACE_DATAKIT_URL",),
            metrics=True,
            build=_datakit,
        ),
        Preset(
            name="otlp",
            title="OTLP endpoint",
            env_vars=(
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
                "OTEL_EXPORTER_OTLP_HEADERS",
                "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
                "OTEL_EXPORTER_OTLP_METRICS_HEADERS",
                "OTEL_EXPORTER_OTLP_TIMEOUT",
                "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
                "OTEL_EXPORTER_OTLP_PROTOCOL",
                "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
            ),
            detect_vars=("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
            metrics=True,
            build=_otlp,
        ),
        Preset(
            name="console",
            title="Console (stderr)",
            env_vars=(),
            detect_vars=(),
            metrics=False,
            build=_console,
        ),
    )
}

BACKEND_NAMES: tuple[str, ...] = tuple(PRESETS)

_ALIASES = {
    "o2": "openobserve",
    "arize": "phoenix",
    "arize-phoenix": "phoenix",
    "guance": "datakit",
    "otel": "otlp",
    "otlp-http": "otlp",
    "stderr": "console",
}


# --------------------------------------------------------------------------------------------- selection


def parse_backend_names(value: str | Sequence[str], setting: str) -> list[str]:
    """Normalise a backend selection (comma/space separated string or list); unknown names raise."""
    if isinstance(value, str):
        items = re.split(r"[,\s]+", value)
    elif isinstance(value, Sequence):
        items = list(value)
    else:
        raise ConfigError(
            setting, repr(value), f"a comma-separated string or a list of: {', '.join(BACKEND_NAMES)}"
        )
    names: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise ConfigError(
                setting, repr(item), f"backend names as strings, from: {', '.join(BACKEND_NAMES)}"
            )
        name = item.strip().lower()
        if not name:
            continue
        if name == "none":
            continue
        name = _ALIASES.get(name, name)
        if name not in PRESETS:
            raise ConfigError(
                setting,
                f"{item!r} in {value!r}",
                f"backend names from: {', '.join(BACKEND_NAMES)} (or 'none')",
            )
        if name not in names:
            names.append(name)
    return names


def detect_backends(env: Mapping[str, str]) -> list[str]:
    """The backends whose credentials or endpoint variables are present, in preset order."""
    found = []
    for preset in PRESETS.values():
        if any(_get(env, var) for var in preset.detect_vars) and not preset.disabled_by(env):
            found.append(preset.name)
    return found


def resolve_backends(
    backends: str | Sequence[str] | None = None,
    env: Mapping[str, str] | None = None,
    *,
    setting: str = "backends",
) -> tuple[list[BackendConfig], str]:
    """Choose and validate backends.

    Returns the configurations and where the choice came from: ``setting`` (the argument),
    ``"ARKTRACE_BACKENDS"`` or ``"detected"``. Raises :class:`ConfigError` for unknown names and for any
    selected backend whose settings are incomplete or malformed.
    """
    env = os.environ if env is None else env
    if backends is not None:
        names, source = parse_backend_names(backends, setting), setting
    elif _get(env, "ARKTRACE_BACKENDS") is not None:
        names, source = (
            parse_backend_names(env["ARKTRACE_BACKENDS"], "ARKTRACE_BACKENDS"),
            "ARKTRACE_BACKENDS",
        )
    else:
        names, source = detect_backends(env), "detected"
    configs = []
    for name in names:
        try:
            configs.append(_userinfo_to_header(PRESETS[name].build(env)))
        except ConfigError as error:
            raise _with_misspelling_hint(error, env) from None
    if any(config.traces_endpoint is not None for config in configs):
        # Every OTLP exporter reads these variables, whichever backend it is for.
        for var in OTLP_HEADER_VARS:
            parse_otlp_headers(var, env.get(var))
    return configs, source


def _without_userinfo(url: str | None) -> tuple[str | None, str | None]:
    """``url`` without its user-info, and the Basic ``Authorization`` value that user-info stands for."""
    if url is None:
        return None, None
    parts = urlsplit(url)
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if not at:
        return url, None
    user, _colon, password = userinfo.partition(":")
    return urlunsplit(parts._replace(netloc=hostport)), _basic(unquote(user), unquote(password))


def _userinfo_to_header(config: BackendConfig) -> BackendConfig:
    """Credentials written into a URL (``https://user:password@host``) moved to the Authorization header.

    The OTLP exporter's HTTP library sends them that way, overriding any Authorization header, so nothing
    changes on the wire; but urllib (``arktrace check``, the MLflow experiment look-up) cannot take them
    and quoted the password in its error, and no URL arktrace keeps or shows carries them any more.
    """
    traces, traces_auth = _without_userinfo(config.traces_endpoint)
    metrics, metrics_auth = _without_userinfo(config.metrics_endpoint)
    tracking, tracking_auth = _without_userinfo(config.tracking_uri)
    if traces_auth is None and metrics_auth is None and tracking_auth is None:
        return config
    headers, metrics_headers = dict(config.headers), dict(config.effective_metrics_headers)
    if traces_auth or tracking_auth:
        headers["authorization"] = traces_auth or tracking_auth  # type: ignore[assignment]
    if metrics_auth:
        metrics_headers["authorization"] = metrics_auth
    return replace(
        config,
        traces_endpoint=traces,
        metrics_endpoint=metrics,
        tracking_uri=tracking,
        headers=headers,
        metrics_headers=metrics_headers,
    )


# --------------------------------------------------------------------------------------------- names

# Families of names arktrace reads. Every unknown ARKTRACE_* name is reported; the backends' prefixes are
# shared with their own SDKs and servers, so a name there is reported only when it is one typo away from
# a name arktrace reads.
_OWN_PREFIX = "ARKTRACE_"
_BACKEND_PREFIXES = ("OPENOBSERVE_", "LANGFUSE_", "MLFLOW_", "PHOENIX_")
_TYPO_CUTOFF = 0.85


def known_variables() -> frozenset[str]:
    """Every ``ARKTRACE_*`` and backend variable arktrace reads (the settings registry is the list)."""
    from arktrace._reference import BACKEND_VARIABLES, OPTIONS

    names = {name for option in OPTIONS for name in option.env}
    names.update(BACKEND_VARIABLES)
    for preset in PRESETS.values():
        names.update(preset.env_vars)
    return frozenset(names)


def _closest(name: str, known: frozenset[str], cutoff: float) -> str | None:
    # Compared without the shared prefix, which would otherwise make every ARKTRACE_* name "close".
    prefix = name.split("_", 1)[0] + "_"
    family = {k[len(prefix) :]: k for k in known if k.startswith(prefix)}
    match = difflib.get_close_matches(name[len(prefix) :], list(family), 1, cutoff)
    return family[match[0]] if match else None


def unknown_variables(env: Mapping[str, str]) -> list[tuple[str, str | None, bool]]:
    """Set variables that look meant for arktrace but are not names it reads.

    Each is ``(name, closest known name or None, own)``; ``own`` is True for an ``ARKTRACE_*`` name
    (which nothing else reads, so it is a mistake), False for a backend-prefixed near miss (which may
    still be that backend's own variable).
    """
    from arktrace._reference import NOT_MISSPELLINGS

    known = known_variables() | NOT_MISSPELLINGS
    found = []
    for name in sorted(env):
        if name in known or _get(env, name) is None:
            continue
        if name.startswith(_OWN_PREFIX):
            found.append((name, _closest(name, known, 0.6), True))
        elif name.startswith(_BACKEND_PREFIXES):
            closest = _closest(name, known, _TYPO_CUTOFF)
            if closest is not None:
                found.append((name, closest, False))
    return found


def describe_unknown(name: str, closest: str | None, own: bool) -> str:
    """One line about a variable from :func:`unknown_variables`."""
    if own:
        hint = f"did you mean {closest}?" if closest else "`arktrace run --help` lists the names"
        return f"{name} is not a variable arktrace reads ({hint})"
    return f"{name} is set, but arktrace reads {closest} (a misspelling?)"


def _with_misspelling_hint(error: ConfigError, env: Mapping[str, str]) -> ConfigError:
    """``error`` about a missing variable, saying so when a misspelling of it is set."""
    if error.setting is None or error.found is not None or error.expected is None:
        return error
    for name, closest, _own in unknown_variables(env):
        if closest == error.setting:
            return ConfigError(error.setting, None, f"{error.expected} ({name} is set: a misspelling?)")
    return error


def incomplete_backends(env: Mapping[str, str], chosen: Sequence[str]) -> list[str]:
    """Backends not chosen although some of their variables are set, each as one line naming what is
    missing (``OPENOBSERVE_URL is set but OPENOBSERVE_AUTH_TOKEN is not: …``).

    The generic OTLP variables are left out: the whole OpenTelemetry SDK reads them, not only arktrace.
    """
    lines = []
    for preset in PRESETS.values():
        if preset.name in chosen or preset.name == "otlp" or not preset.detect_vars:
            continue
        present = [var for var in preset.env_vars if _get(env, var) is not None]
        if not present or preset.disabled_by(env):
            continue
        vars_ = preset.detect_vars
        missing = f"{vars_[0]} is not" if len(vars_) == 1 else f"neither {' nor '.join(vars_)} is"
        lines.append(
            f"{', '.join(present)} {'is' if len(present) == 1 else 'are'} set but {missing}, "
            f"so spans do not go to {preset.title}"
        )
    return lines


def exporter_headers(
    config: BackendConfig, signal: str, env: Mapping[str, str] | None = None
) -> dict[str, str | None]:
    """Headers to hand to an OTLP/HTTP exporter for ``signal`` ("traces" or "metrics").

    opentelemetry-exporter-otlp-proto-http merges ``OTEL_EXPORTER_OTLP_HEADERS`` (or the signal-specific
    variable) into every exporter it builds, whatever headers are passed. Those headers belong to the generic
    OTLP endpoint: sending them to Langfuse or MLflow would leak that endpoint's credentials. Every such key
    that this backend does not set itself is mapped to ``None``, which the exporter's HTTP session drops.
    """
    env = os.environ if env is None else env
    own = dict(config.headers if signal == "traces" else config.effective_metrics_headers)
    specific = f"OTEL_EXPORTER_OTLP_{signal.upper()}_HEADERS"
    var = specific if _get(env, specific) else "OTEL_EXPORTER_OTLP_HEADERS"
    leaked = parse_otlp_headers(var, env.get(var))
    headers: dict[str, str | None] = {key: None for key in leaked if key not in own}
    headers.update(own)
    return headers


def shown_headers(headers: Mapping[str, str]) -> str:
    """Headers as they may be printed: every value masked but those known to be public."""
    return ", ".join(
        f"{key}: {value if key in _PUBLIC_HEADERS else mask_secret(value)}" for key, value in headers.items()
    )


def summarize(config: BackendConfig, metrics: bool = True) -> str:
    """One human-readable description with every secret masked."""
    if config.traces_endpoint is None:
        return f"{config.name} (stderr)"
    shown = [shown_headers(config.headers)] if config.headers else []
    if config.mlflow_experiment_name is not None:
        shown.append(f"experiment name: {config.mlflow_experiment_name}")
    detail = [display_url(config.traces_endpoint)]
    if shown:
        detail.append(", ".join(shown))
    if metrics and config.metrics_endpoint:
        detail.append("metrics to " + display_url(config.metrics_endpoint))
    else:
        detail.append("no metrics")
    detail.extend(config.notes)
    return f"{config.name} ({'; '.join(detail)})"
