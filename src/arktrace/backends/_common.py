"""What every backend module shares: the resolved configuration, the preset a module declares, and the
helpers presets build with (headers, URLs, OTLP header lists, masking).

Everything here is pure: it reads a mapping of environment variables and returns plain data or raises
:class:`~arktrace.ConfigError`. No network I/O, no global state, no logging.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Callable
from urllib.parse import SplitResult, unquote, urlunsplit

from arktrace._errors import ConfigError, mask_secret
from arktrace._options import env_value, parse_http_url, parse_seconds
from arktrace._redact import display_url, url_secrets

PROTOBUF = "application/x-protobuf"
DEFAULT_TIMEOUT = 10.0

# Header values that are safe to show in logs and in ``arktrace check``; every other value is masked.
# Each backend's own (Preset.public_headers) are added when the package registers it.
PUBLIC_HEADERS: set[str] = {"content-type", "content-encoding", "user-agent"}


@dataclass(frozen=True)
class BackendConfig:
    """One resolved export target. Header names are lower case."""

    name: str
    traces_endpoint: str | None
    headers: Mapping[str, str] = field(default_factory=dict)
    metrics_endpoint: str | None = None
    metrics_headers: Mapping[str, str] | None = None
    timeout: float = DEFAULT_TIMEOUT
    api_url: str | None = None
    """The backend's own API, for its ``prepare`` step (MLflow's tracking server); masked like the rest."""
    pending: Mapping[str, str] = field(default_factory=dict)
    """What the backend's ``prepare`` step still has to turn into headers (MLflow: the experiment name),
    shown as it is until then."""
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

    def prepared(self, **headers: str) -> BackendConfig:
        """This configuration with ``headers`` added and nothing pending."""
        return replace(self, headers={**self.headers, **headers}, pending={})

    def secrets(self) -> list[str]:
        """Every header value, URL password and query value that must never appear in anything printed or
        logged."""
        found = [
            secret
            for url in (self.traces_endpoint, self.metrics_endpoint, self.api_url)
            for secret in url_secrets(url)
        ]
        for headers in (self.headers, self.metrics_headers or {}):
            for key, value in headers.items():
                if key not in PUBLIC_HEADERS and value:
                    found.append(value)
                    # A Basic/Bearer value's credential part on its own is just as secret.
                    _scheme, sep, rest = value.partition(" ")
                    if sep and rest:
                        found.append(rest)
        return found


def _never(env: Mapping[str, str]) -> bool:
    return False


def _as_is(config: BackendConfig, timeout: float) -> BackendConfig:
    return config


@dataclass(frozen=True)
class Preset:
    """Everything arktrace knows about one backend; each module in this package declares one."""

    name: str
    title: str
    variables: Mapping[str, tuple[str, str]]
    """Every variable the backend reads, in the order the docs list them: name -> (default, meaning)."""
    detect_vars: tuple[str, ...]
    """Any of these set (and not ``disabled_by``) selects the backend when none is named."""
    metrics: bool
    """Whether the backend accepts OTLP metrics at all."""
    build: Callable[[Mapping[str, str]], BackendConfig]
    """The configuration from the environment; raises ConfigError naming the variable at fault."""
    disabled_by: Callable[[Mapping[str, str]], bool] = _never
    aliases: tuple[str, ...] = ()
    """Other names ``ARKTRACE_BACKENDS`` accepts for it."""
    prefix: str | None = None
    """The prefix its variables share with the backend's own SDK and server (``LANGFUSE_``): a set name
    with it that is one typo away from one arktrace reads is reported as a likely misspelling."""
    generic: bool = False
    """Its variables are OpenTelemetry's own, read by the whole SDK: a half-configured set is not
    reported, and an application with its own TracerProvider is taken to export there already."""
    prepare: Callable[[BackendConfig, float], BackendConfig] = _as_is
    """Init-time I/O with the backend's own API (MLflow's experiment look-up), given a timeout; runs after
    every value was checked and outside init()'s lock. Raises ConfigError."""
    prepare_label: str = "set-up"
    """What ``arktrace check`` calls ``prepare`` when it fails."""
    status_hints: Mapping[int, str] = field(default_factory=dict)
    """``arktrace check``: what an HTTP status (404, 422, …) from this backend most likely means."""
    auth_hint: str = ""
    """``arktrace check``: added to a 401/403, after the variables to check."""
    public_headers: Mapping[str, str] = field(default_factory=dict)
    """Headers it sends whose values are no secret, shown unmasked: name -> what the value names (the
    ``arktrace check`` answer says "accepted into <what> <value>"), or "" for nothing to say."""

    @property
    def env_vars(self) -> tuple[str, ...]:
        return tuple(self.variables)


# --------------------------------------------------------------------------------------------- helpers

get = env_value


http_url = parse_http_url


def join(base: SplitResult, path: str) -> str:
    return urlunsplit(base._replace(path=base.path + path))


def timeout(env: Mapping[str, str], *names: str, default: float = DEFAULT_TIMEOUT) -> float:
    """The first of ``names`` that is set, as a positive number of seconds."""
    for name in names:
        raw = get(env, name)
        if raw is not None:
            return parse_seconds(name, raw)
    return default


def header_value(var: str, value: str, secret: bool = False) -> str:
    """``value``, which is sent as an HTTP header: printable ASCII only, or every export would fail."""
    if value.isascii() and value.isprintable():
        return value
    shown = repr(mask_secret(value)) if secret else repr(value)
    raise ConfigError(var, shown, "printable ASCII text (it is sent as an HTTP header value)")


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


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
        return f"{name}={value.strip() if name.lower() in PUBLIC_HEADERS else mask_secret(value)}"
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
    var = specific if get(env, specific) else "OTEL_EXPORTER_OTLP_HEADERS"
    leaked = parse_otlp_headers(var, env.get(var))
    headers: dict[str, str | None] = {key: None for key in leaked if key not in own}
    headers.update(own)
    return headers


def shown_headers(headers: Mapping[str, str]) -> str:
    """Headers as they may be printed: every value masked but those known to be public."""
    return ", ".join(
        f"{key}: {value if key in PUBLIC_HEADERS else mask_secret(value)}" for key, value in headers.items()
    )


def summarize(config: BackendConfig, metrics: bool = True) -> str:
    """One human-readable description with every secret masked."""
    if config.traces_endpoint is None:
        return f"{config.name} (stderr)"
    shown = [shown_headers(config.headers)] if config.headers else []
    shown.extend(f"{what}: {value}" for what, value in config.pending.items())
    detail = [display_url(config.traces_endpoint)]
    if shown:
        detail.append(", ".join(shown))
    if metrics and config.metrics_endpoint:
        detail.append("metrics to " + display_url(config.metrics_endpoint))
    else:
        detail.append("no metrics")
    detail.extend(config.notes)
    return f"{config.name} ({'; '.join(detail)})"
