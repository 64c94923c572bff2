"""Every option of ``init()`` / ``instrument()``, declared once, and one parser per kind of value.

An :class:`Option` says everything about one setting: its keyword, the functions that take it, the
environment variables it is read from (lowest precedence first; the keyword beats them all), how a value
is parsed, its default and its help text. From this one table come ``instrument()``'s settings
(:func:`arktrace._settings.load_settings`), the keywords ``init()`` passes on to ``instrument()``, the
keywords the OpenTelemetry instrumentor passes on, ``arktrace run --help`` and the settings reference
(``arktrace._reference``). ``instrument()`` and ``init()`` keep their keywords spelled out for IDE help; a
test holds those signatures to this table.

Adding an option is one entry in :data:`OPTIONS`, its parser one of those below (``parse_bool``,
``int_at_least(n)``, ``one_of(...)``, ``parse_seconds``, ``parse_http_url``) or a new one for a new kind of
value. An ``instrument()`` option also needs its keyword in ``instrument()``'s signature (passed on to
``load_settings``) and a field in ``Settings``; the tests hold both to this table.

Parsers take the setting's name (the variable or the keyword) and the raw value and raise
:class:`~arktrace.ConfigError` naming it, the value and what was expected. Environment values are
stripped, and an empty value counts as unset (``KEY=`` lines in .env files are common).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import SplitResult, urlsplit

from ._errors import ConfigError

__all__ = [
    "NOT_MISSPELLINGS",
    "OPTIONS",
    "Option",
    "env_flag",
    "env_value",
    "keywords",
    "parse_bool",
    "parse_choice",
    "parse_http_url",
    "parse_int",
    "parse_seconds",
    "passed_on",
]

TRUE = frozenset({"1", "true", "yes", "on"})
FALSE = frozenset({"0", "false", "no", "off"})


# ----------------------------------------------------------------------------------------------- parsers


def env_value(env: Mapping[str, str], name: str) -> str | None:
    """A variable's value, stripped; empty counts as unset."""
    value = env.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def parse_bool(name: str, raw: str) -> bool:
    """true/false, 1/0, yes/no, on/off, in any case."""
    value = raw.strip().lower()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise ConfigError(
        f"{name}={raw!r} is not usable: expected true or false (true/false, 1/0, yes/no, on/off)"
    )


def env_flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    """A boolean environment variable, ``default`` when unset."""
    raw = env_value(env, name)
    return default if raw is None else parse_bool(name, raw)


def parse_int(name: str, raw: str, minimum: int) -> int:
    """A whole number >= ``minimum``."""
    try:
        value: int | None = int(raw.strip())
    except ValueError:
        value = None
    if value is None or value < minimum:
        raise ConfigError(f"{name}={raw!r} is not usable: expected a whole number >= {minimum}")
    return value


def parse_seconds(name: str, raw: str) -> float:
    """A positive number of seconds (a timeout)."""
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(name, repr(raw), "a number of seconds such as 10") from None
    if not value > 0:
        raise ConfigError(name, repr(raw), "a positive number of seconds such as 10")
    return value


def parse_choice(
    name: str, raw: str, choices: Sequence[str], aliases: Mapping[str, str] | None = None
) -> str:
    """One of ``choices`` (any case), or an alias of one; a near miss is named ("did you mean")."""
    value = raw.strip().lower()
    value = (aliases or {}).get(value, value)
    if value in choices:
        return value
    expected = ", ".join(choices[:-1]) + " or " + choices[-1] if len(choices) > 1 else choices[0]
    import difflib  # only on this error path: `import arktrace` stays light

    close = difflib.get_close_matches(value, list(choices), 1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    raise ConfigError(f"{name}={raw!r} is not usable: expected {expected}{hint}")


def parse_http_url(name: str, value: str, example: str) -> SplitResult:
    """An absolute http(s) URL; returned as parts, without trailing slash or fragment."""
    # Only init() and `arktrace check` read URLs: `import arktrace` does not pay for the redaction patterns.
    from ._redact import display_url

    expected = f"an http:// or https:// URL such as {example}"
    try:
        parts = urlsplit(value)
    except ValueError:
        raise ConfigError(name, repr(display_url(value)), expected) from None
    if any(ch.isspace() or not ch.isprintable() for ch in value):
        # urllib refuses such a URL with an error that is no ConfigError (and quotes it whole).
        raise ConfigError(name, repr(display_url(value)), expected + " without spaces or control characters")
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        hint = ""
        if not parts.scheme or "://" not in value:
            hint = " (the scheme is missing)"
        raise ConfigError(name, f"{display_url(value)!r}{hint}", expected)
    try:
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise ConfigError(name, repr(display_url(value)), expected + " with a numeric port") from None
    return parts._replace(path=parts.path.rstrip("/"), fragment="")


# --------------------------------------------------------------------------------- keyword checkers
# A keyword argument is a Python value: its type is checked (bool("false") is True, so a string must never
# stand for a switch), then it is converted like the variable's text would be.


def keyword_bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(name, repr(value), "True or False")
    return value


def keyword_str(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ConfigError(name, repr(value), "a string")
    return value


def keyword_mapping(name: str, value: Any) -> Mapping[str, Any]:
    if not (isinstance(value, Mapping) and all(isinstance(k, str) for k in value)):
        raise ConfigError(name, repr(value), "a mapping with string keys")
    return value


def int_at_least(minimum: int) -> tuple[Callable[[str, str], int], Callable[[str, Any], int]]:
    """The variable parser and keyword checker of a whole number >= ``minimum``."""

    def from_env(name: str, raw: str) -> int:
        return parse_int(name, raw, minimum)

    def from_keyword(name: str, value: Any) -> int:
        if type(value) is not int:  # not bool either
            raise ConfigError(name, repr(value), "a whole number (int)")
        if value < minimum:
            raise ConfigError(f"{name}={value!r} is not usable: expected a whole number >= {minimum}")
        return value

    return from_env, from_keyword


def one_of(*choices: str) -> tuple[Callable[[str, str], str], Callable[[str, Any], str]]:
    """The variable parser and keyword checker of one word from ``choices`` (any case)."""

    def from_env(name: str, raw: str) -> str:
        return parse_choice(name, raw, choices)

    def from_keyword(name: str, value: Any) -> str:
        if not isinstance(value, str):
            raise ConfigError(name, repr(value), "one of " + ", ".join(repr(c) for c in choices))
        return parse_choice(name, value, choices)

    return from_env, from_keyword


STREAM_USAGE_MODES = ("auto", "always", "never")


def parse_stream_usage(name: str, raw: str) -> str:
    value = raw.strip().lower()
    if value in TRUE:
        return "always"
    if value in FALSE:
        return "never"
    return parse_choice(name, raw, STREAM_USAGE_MODES)


def keyword_stream_usage(name: str, value: Any) -> str:
    if isinstance(value, bool):
        return "always" if value else "never"
    if not isinstance(value, str):
        raise ConfigError(name, repr(value), "'auto', 'always', 'never', True or False")
    return parse_stream_usage(name, value)


# OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT's modes, as opentelemetry-util-genai reads them
# under OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental (its README.rst): (content on spans,
# content in the gen_ai.client.inference.operation.details event). true/false say nothing of events.
CAPTURE_MODES = {
    "no_content": (False, False),
    "span_only": (True, False),
    "event_only": (False, True),
    "span_and_event": (True, True),
}
CONVENTIONS = ("openinference", "genai", "both")


def parse_capture(name: str, raw: str) -> tuple[bool, bool | None]:
    """A capture switch (events: no opinion) or one of OpenTelemetry's modes, in any case."""
    value = raw.strip().lower()
    if value in TRUE:
        return True, None
    if value in FALSE:
        return False, False
    mode = CAPTURE_MODES.get(value)
    if mode is None:
        raise ConfigError(
            f"{name}={raw!r} is not usable: expected one of true/false, 1/0, yes/no, on/off, or "
            "NO_CONTENT, SPAN_ONLY, EVENT_ONLY, SPAN_AND_EVENT"
        )
    return mode


def keyword_capture(name: str, value: Any) -> tuple[bool, bool]:
    if isinstance(value, bool):
        return value, False
    mode = CAPTURE_MODES.get(value.strip().lower()) if isinstance(value, str) else None
    if mode is None:
        # bool("false") is True: a string here would capture content the caller meant to keep out.
        raise ConfigError(name, repr(value), "True or False, or a mode: " + ", ".join(CAPTURE_MODES).upper())
    return mode


def combine_capture(earlier: tuple[bool, bool], later: tuple[bool, bool | None]) -> tuple[bool, bool]:
    """arktrace's own variable (read last) decides for spans; its false, a privacy switch, also turns
    the events off; its true keeps the events OpenTelemetry's variable asked for."""
    spans, events = later
    return spans, earlier[1] if events is None else events


# ------------------------------------------------------------------------------------------ schema

_BOTH = ("init", "instrument")
_INIT = ("init",)
_INSTRUMENT = ("instrument",)


@dataclass(frozen=True)
class Option:
    """One setting. ``from_env`` / ``from_keyword`` are None where another module reads the value
    (the backends, the spool, the resource, the price table); ``read_by`` names it."""

    keyword: str | None
    """Keyword argument of ``init()`` / ``instrument()``; None for a variable with no keyword."""
    functions: tuple[str, ...]
    """Which of ``init`` and ``instrument`` accept ``keyword``."""
    env: tuple[str, ...]
    """Environment variables, lowest precedence first; an explicit keyword beats them all."""
    default: str
    """The default as the docs show it."""
    effect: str
    value: Any = None
    """The default value, when this table resolves the option."""
    from_env: Callable[[str, str], Any] | None = None
    from_keyword: Callable[[str, Any], Any] | None = None
    read_by: str = ""
    combine: Callable[[Any, Any], Any] | None = None
    """How a later variable's value joins an earlier one's; None: the later one wins."""

    def resolve(self, given: Any, env: Mapping[str, str]) -> Any:
        """``given`` (the keyword's value, None when not passed) checked, else the last variable set,
        else the default."""
        if given is not None:
            assert self.from_keyword is not None and self.keyword is not None
            return self.from_keyword(self.keyword, given)
        value = self.value
        for name in self.env:
            raw = env_value(env, name)
            if raw is not None:
                assert self.from_env is not None
                parsed = self.from_env(name, raw)
                value = parsed if self.combine is None else self.combine(value, parsed)
        return value


def _option(
    keyword: str | None,
    functions: tuple[str, ...],
    env: tuple[str, ...],
    default: Any,
    effect: str,
    parse: tuple[Callable[[str, str], Any] | None, Callable[[str, Any], Any] | None] = (None, None),
    *,
    shown: str | None = None,
    read_by: str = "",
    combine: Callable[[Any, Any], Any] | None = None,
) -> Option:
    """An :class:`Option`; a default that is a value (not a description) is shown as the docs write it."""
    if shown is None:
        shown = str(default).lower() if isinstance(default, bool) else str(default)
    return Option(keyword, functions, env, shown, effect, default, parse[0], parse[1], read_by, combine)


_BOOL = (parse_bool, keyword_bool)
_STR = (None, keyword_str)
_MAX_VALUE_LENGTH = int_at_least(64)
_MAX_MESSAGE_ATTRIBUTES = int_at_least(0)

OPTIONS: tuple[Option, ...] = (
    _option(
        "service_name",
        _INIT,
        ("OTEL_SERVICE_NAME",),
        None,
        "`service.name` of every span and metric (`OTEL_RESOURCE_ATTRIBUTES` may also set it).",
        _STR,
        shown="unknown_service",
        read_by="the OpenTelemetry SDK's Resource",
    ),
    _option(
        "backends",
        _INIT,
        ("ARKTRACE_BACKENDS",),
        None,
        "Where spans go: openobserve, langfuse, mlflow, phoenix, datakit, otlp, console, comma-separated, "
        "or none. A named backend with incomplete variables is a ConfigError.",
        shown="every backend whose variables are set",
        read_by="arktrace.backends.resolve_backends",
    ),
    _option(
        "service_version",
        _INIT,
        ("OTEL_RESOURCE_ATTRIBUTES",),
        None,
        "`service.version` of the resource (`service.version=1.2.0` in the variable).",
        _STR,
        shown="unset",
        read_by="the OpenTelemetry SDK's Resource",
    ),
    _option(
        "environment",
        _INIT,
        ("OTEL_RESOURCE_ATTRIBUTES",),
        None,
        "`deployment.environment.name` of the resource (`deployment.environment.name=prod` in the variable).",
        _STR,
        shown="unset",
        read_by="the OpenTelemetry SDK's Resource",
    ),
    _option(
        "resource_attributes",
        _INIT,
        ("OTEL_RESOURCE_ATTRIBUTES",),
        None,
        "Further resource attributes, `k=v,k2=v2` in the variable; the three keywords above win over them.",
        (None, keyword_mapping),
        shown="none",
        read_by="the OpenTelemetry SDK's Resource",
    ),
    _option(
        "metrics",
        _INIT,
        ("ARKTRACE_METRICS",),
        True,
        "Export the GenAI metrics and cost to the backends that accept metrics (OpenObserve, DataKit, OTLP).",
        _BOOL,
    ),
    _option(
        "instrument",
        _INIT,
        (),
        True,
        "Instrument the OpenAI and Ark SDKs; false sets up the exporters only.",
        _BOOL,
    ),
    _option(
        "dotenv",
        _INIT,
        (),
        True,
        "Load `.env` from the working directory first; variables already set win over the file.",
        _BOOL,
    ),
    _option(
        "spool_dir",
        _INIT,
        ("ARKTRACE_SPOOL_DIR",),
        None,
        "Keep batches a backend does not take (no answer, 408, 429, 5xx) on disk in a folder per backend "
        "here, and send them when it answers again or at the next start; see docs/backends.md. Off: "
        "nothing is written to disk.",
        shown="unset (no spool)",
        read_by="arktrace._spool.read_settings",
    ),
    _option(
        "spool_max_mb",
        _INIT,
        ("ARKTRACE_SPOOL_MAX_MB",),
        None,
        "Most megabytes each backend's spool folder holds; beyond it the oldest batches are dropped and "
        "their spans counted in a warning.",
        shown="100",
        read_by="arktrace._spool.read_settings",
    ),
    _option(
        None,
        _INIT,
        ("OTEL_SDK_DISABLED",),
        False,
        "true: `init()` sets up nothing and instruments nothing.",
        (parse_bool, None),
    ),
    _option(
        "tracer_provider",
        _INSTRUMENT,
        (),
        None,
        "The TracerProvider that makes the spans (`init()` passes the one it set up).",
        shown="the global provider",
        read_by="arktrace.instrument",
    ),
    _option(
        "meter_provider",
        _INSTRUMENT,
        (),
        None,
        "The MeterProvider that records the metrics (`init()` passes the one it set up).",
        shown="the global provider",
        read_by="arktrace.instrument",
    ),
    _option(
        "capture_content",
        _BOTH,
        ("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "ARKTRACE_CAPTURE_CONTENT"),
        (True, False),
        "false: no message text, tool definitions or arguments, inputs or outputs, provider error "
        "messages on any span (token counts and models stay); `llm.invocation_parameters` keeps the "
        "values of known-safe arguments only (numbers, switches, fixed words), the others by name "
        "(see docs/privacy.md). Also OpenTelemetry's modes `NO_CONTENT`, `SPAN_ONLY`, `EVENT_ONLY`, "
        "`SPAN_AND_EVENT` (any case): the event modes emit the content as a "
        "`gen_ai.client.inference.operation.details` log event (see docs/conventions.md).",
        (parse_capture, keyword_capture),
        shown="true",
        combine=combine_capture,
    ),
    _option(
        "max_value_length",
        _BOTH,
        ("ARKTRACE_MAX_VALUE_LENGTH",),
        32_000,
        "Longest string attribute (at least 64); longer values are cut and marked "
        "`…[N more characters cut by arktrace]`.",
        _MAX_VALUE_LENGTH,
    ),
    _option(
        "stream_usage",
        _BOTH,
        ("ARKTRACE_STREAM_USAGE",),
        "auto",
        "auto, always or never: add `stream_options.include_usage` to streamed requests "
        "(auto: only on hosts known to accept it).",
        (parse_stream_usage, keyword_stream_usage),
    ),
    _option(
        "max_message_attributes",
        _BOTH,
        ("ARKTRACE_MAX_MESSAGE_ATTRIBUTES",),
        64,
        "Budget of indexed `llm.input_messages.*` / `llm.output_messages.*` attributes per span; the "
        "newest messages are kept, the whole conversation stays in `input.value`.",
        _MAX_MESSAGE_ATTRIBUTES,
    ),
    _option(
        "prices",
        _BOTH,
        ("ARKTRACE_PRICES_FILE",),
        None,
        "Prices merged over the built-in table: a mapping or a JSON file path (the variable names a file).",
        shown="the built-in table",
        read_by="arktrace._prices.load_prices",
    ),
    _option(
        "conventions",
        _BOTH,
        ("ARKTRACE_CONVENTIONS",),
        "both",
        "openinference, genai or both: which convention's content attributes spans get (`input.value`, "
        "`llm.input_messages.*`, … or `gen_ai.input.messages`, `gen_ai.output.messages`, …); models, "
        "tokens and cost are written in both always (see docs/conventions.md).",
        one_of(*CONVENTIONS),
    ),
)

# Names that look like arktrace's but are not settings, so `init()` does not report them as misspellings:
# those arktrace's repository tooling reads (scripts/test.sh, the tests, the benchmarks), set on a
# developer's machine, and the backends' own variables that are close to one arktrace reads.
NOT_MISSPELLINGS = frozenset(
    {
        "ARKTRACE_VENVS_DIR",
        "ARKTRACE_LOAD_CALLS",
        "ARKTRACE_REQUIRE_BACKENDS",
        "ARKTRACE_REQUIRE_ARK_SDKS",
        "ARKTRACE_SERVERS_PYTHON",
        "ARKTRACE_BENCH_PATCH",
        "MLFLOW_TRACKING_AUTH",  # MLflow's request-auth plugin, not MLFLOW_TRACKING_URI
    }
)

BY_KEYWORD: dict[str, Option] = {option.keyword: option for option in OPTIONS if option.keyword}
BY_ENV: dict[str, Option] = {name: option for option in OPTIONS for name in option.env if not option.keyword}


def keywords(function: str) -> tuple[str, ...]:
    """The keywords ``function`` ("init" or "instrument") takes, in table order."""
    return tuple(o.keyword for o in OPTIONS if o.keyword and function in o.functions)


def passed_on() -> tuple[str, ...]:
    """The keywords ``init()`` takes for ``instrument()`` and passes on to it."""
    return tuple(o.keyword for o in OPTIONS if o.keyword and set(o.functions) == set(_BOTH))


def unknown_keyword(name: str, function: str, known: Sequence[str]) -> ConfigError:
    """The error for a keyword ``function`` does not take, naming the closest one."""
    import difflib

    close = difflib.get_close_matches(name, list(known), 1)
    hint = f"did you mean {close[0]}? " if close else ""
    return ConfigError(
        name, f"an unknown keyword argument of {function}()", hint + "one of " + ", ".join(known)
    )
