"""Every setting arktrace reads, described once: keyword, environment variables, default and effect.

``arktrace run --help`` and the README's settings reference are both rendered from these tables
(``scripts/gen_settings_reference.py`` rewrites the README), and the tests hold the tables to the code:
each keyword of ``init()`` / ``instrument()`` must be here with its real default, each variable named
here must change what the code does, and each variable a backend preset reads must be described.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["BACKEND_VARIABLES", "NOT_MISSPELLINGS", "OPTIONS", "Option", "help_text", "markdown"]


@dataclass(frozen=True)
class Option:
    keyword: str | None
    """Keyword argument of ``init()`` / ``instrument()``; None for a variable with no keyword."""
    functions: tuple[str, ...]
    """Which of ``init`` and ``instrument`` accept ``keyword``."""
    env: tuple[str, ...]
    """Environment variables, lowest precedence first; an explicit keyword beats them all."""
    default: str
    effect: str


_BOTH = ("init", "instrument")
_INIT = ("init",)
_INSTRUMENT = ("instrument",)

OPTIONS: tuple[Option, ...] = (
    Option(
        "service_name",
        _INIT,
        ("OTEL_SERVICE_NAME",),
        "unknown_service",
        "`service.name` of every span and metric (`OTEL_RESOURCE_ATTRIBUTES` may also set it).",
    ),
    Option(
        "backends",
        _INIT,
        ("ARKTRACE_BACKENDS",),
        "every backend whose variables are set",
        "Where spans go: openobserve, langfuse, mlflow, phoenix, datakit, otlp, console, comma-separated, "
        "or none. A named backend with incomplete variables is a ConfigError.",
    ),
    Option(
        "service_version",
        _INIT,
        ("OTEL_RESOURCE_ATTRIBUTES",),
        "unset",
        "`service.version` of the resource (`service.version=1.2.0` in the variable).",
    ),
    Option(
        "environment",
        _INIT,
        ("OTEL_RESOURCE_ATTRIBUTES",),
        "unset",
        "`deployment.environment.name` of the resource (`deployment.environment.name=prod` in the variable).",
    ),
    Option(
        "resource_attributes",
        _INIT,
        ("OTEL_RESOURCE_ATTRIBUTES",),
        "none",
        "Further resource attributes, `k=v,k2=v2` in the variable; the three keywords above win over them.",
    ),
    Option(
        "metrics",
        _INIT,
        ("ARKTRACE_METRICS",),
        "true",
        "Export the GenAI metrics and cost to the backends that accept metrics (OpenObserve, DataKit, OTLP).",
    ),
    Option(
        "instrument",
        _INIT,
        (),
        "true",
        "Instrument the OpenAI and Ark SDKs; false sets up the exporters only.",
    ),
    Option(
        "dotenv",
        _INIT,
        (),
        "true",
        "Load `.env` from the working directory first; variables already set win over the file.",
    ),
    Option(
        "spool_dir",
        _INIT,
        ("ARKTRACE_SPOOL_DIR",),
        "unset (no spool)",
        "Keep batches a backend does not take (no answer, 408, 429, 5xx) on disk in a folder per backend "
        "here, and send them when it answers again or at the next start; see docs/backends.md. Off: "
        "nothing is written to disk.",
    ),
    Option(
        "spool_max_mb",
        _INIT,
        ("ARKTRACE_SPOOL_MAX_MB",),
        "100",
        "Most megabytes each backend's spool folder holds; beyond it the oldest batches are dropped and "
        "their spans counted in a warning.",
    ),
    Option(
        None,
        _INIT,
        ("OTEL_SDK_DISABLED",),
        "false",
        "true: `init()` sets up nothing and instruments nothing.",
    ),
    Option(
        "tracer_provider",
        _INSTRUMENT,
        (),
        "the global provider",
        "The TracerProvider that makes the spans (`init()` passes the one it set up).",
    ),
    Option(
        "meter_provider",
        _INSTRUMENT,
        (),
        "the global provider",
        "The MeterProvider that records the metrics (`init()` passes the one it set up).",
    ),
    Option(
        "capture_content",
        _BOTH,
        ("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "ARKTRACE_CAPTURE_CONTENT"),
        "true",
        "false: no message text, tool definitions or arguments, inputs or outputs, provider error "
        "messages on any span (token counts and models stay); `llm.invocation_parameters` keeps the "
        "values of known-safe arguments only (numbers, switches, fixed words), the others by name "
        "(see docs/privacy.md). Also OpenTelemetry's modes `NO_CONTENT`, `SPAN_ONLY`, `EVENT_ONLY`, "
        "`SPAN_AND_EVENT` (any case): the event modes emit the content as a "
        "`gen_ai.client.inference.operation.details` log event (see docs/conventions.md).",
    ),
    Option(
        "max_value_length",
        _BOTH,
        ("ARKTRACE_MAX_VALUE_LENGTH",),
        "32000",
        "Longest string attribute (at least 64); longer values are cut and marked "
        "`…[N more characters cut by arktrace]`.",
    ),
    Option(
        "stream_usage",
        _BOTH,
        ("ARKTRACE_STREAM_USAGE",),
        "auto",
        "auto, always or never: add `stream_options.include_usage` to streamed requests "
        "(auto: only on hosts known to accept it).",
    ),
    Option(
        "max_message_attributes",
        _BOTH,
        ("ARKTRACE_MAX_MESSAGE_ATTRIBUTES",),
        "64",
        "Budget of indexed `llm.input_messages.*` / `llm.output_messages.*` attributes per span; the "
        "newest messages are kept, the whole conversation stays in `input.value`.",
    ),
    Option(
        "prices",
        _BOTH,
        ("ARKTRACE_PRICES_FILE",),
        "the built-in table",
        "Prices merged over the built-in table: a mapping or a JSON file path (the variable names a file).",
    ),
    Option(
        "conventions",
        _BOTH,
        ("ARKTRACE_CONVENTIONS",),
        "both",
        "openinference, genai or both: which convention's content attributes spans get (`input.value`, "
        "`llm.input_messages.*`, … or `gen_ai.input.messages`, `gen_ai.output.messages`, …); models, "
        "tokens and cost are written in both always (see docs/conventions.md).",
    ),
)

# Variables read by the backend presets in ``_backends.py`` (grouped there by backend): default, meaning.
BACKEND_VARIABLES: dict[str, tuple[str, str]] = {
    "OPENOBSERVE_AUTH_TOKEN": ("unset", "Full Authorization value, scheme included (`Basic …`)."),
    "OPENOBSERVE_URL": ("http://localhost:5080", "Base URL, without `/api/…`."),
    "OPENOBSERVE_ORG": ("default", "Organisation id."),
    "OPENOBSERVE_TRACES_STREAM_NAME": ("default", "Traces stream; metrics get one stream per metric."),
    "OPENOBSERVE_TIMEOUT": ("10", "Export timeout in seconds."),
    "OPENOBSERVE_ENABLED": ("true", "false: do not pick OpenObserve although its token is set."),
    "LANGFUSE_PUBLIC_KEY": ("unset", "Public half of the project key pair (`pk-lf-…`)."),
    "LANGFUSE_SECRET_KEY": ("unset", "Secret half of the project key pair (`sk-lf-…`)."),
    "LANGFUSE_BASE_URL": ("https://cloud.langfuse.com", "Region or self-hosted URL."),
    "LANGFUSE_HOST": ("unset", "Older name of `LANGFUSE_BASE_URL`."),
    "MLFLOW_TRACKING_URI": ("unset", "Tracking server (http or https, MLflow >= 3.6)."),
    "MLFLOW_EXPERIMENT_ID": ("0", "Experiment that receives the traces."),
    "MLFLOW_EXPERIMENT_NAME": ("unset", "Experiment by name, looked up or created when `init()` runs."),
    "MLFLOW_TRACKING_TOKEN": ("unset", "Bearer token of a server with authentication."),
    "MLFLOW_TRACKING_USERNAME": ("unset", "User of a server with basic authentication."),
    "MLFLOW_TRACKING_PASSWORD": ("unset", "Password of a server with basic authentication."),
    "PHOENIX_COLLECTOR_ENDPOINT": ("http://localhost:6006", "Phoenix base URL."),
    "PHOENIX_API_KEY": ("unset", "API key of a Phoenix with authentication."),
    "PHOENIX_PROJECT_NAME": ("default", "Project that receives the traces."),
    "ARKTRACE_DATAKIT_URL": ("http://127.0.0.1:9529/otel", "Guance DataKit's OTLP base URL."),
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
}


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


def _keyword(option: Option) -> str:
    if option.keyword is None:
        return "—"
    return f"`{option.keyword}` ({', '.join(f'{f}()' for f in option.functions)})"


def _variables(option: Option) -> str:
    # the winning variable first, as `arktrace run --help` lists them
    return " or ".join(f"`{name}`" for name in reversed(option.env)) or "—"


def _value(default: str) -> str:
    """A literal default as code; a description of one ("the global provider") as words."""
    return default if " " in default or default in ("unset", "none") else f"`{default}`"


def _backend_rows() -> Iterator[tuple[str, str, str, str]]:
    from ._backends import PRESETS

    for preset in PRESETS.values():
        for name in preset.env_vars:
            default, meaning = BACKEND_VARIABLES[name]
            if name in preset.detect_vars:
                meaning += " Setting it selects this backend."
            yield preset.title, name, default, meaning


def markdown() -> str:
    """The README's settings reference (the text between its markers)."""
    lines = [
        "| option | env var | default | effect |",
        "|---|---|---|---|",
    ]
    for option in OPTIONS:
        cells = (_keyword(option), _variables(option), _value(option.default), option.effect)
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "Backend variables, read by `init()` and `arktrace check` (see [Backends](#backends)):",
        "",
        "| backend | env var | default | meaning |",
        "|---|---|---|---|",
    ]
    for title, name, default, meaning in _backend_rows():
        lines.append(f"| {title} | `{name}` | {_value(default)} | {meaning} |")
    return "\n".join(lines) + "\n"


def _plain(text: str) -> str:
    return text.replace("`", "")


def help_text(width: int = 100) -> str:
    """The settings part of ``arktrace run --help``: every option and backend variable."""
    indent = " " * 6
    out = ["settings (environment variables; the keyword of init()/instrument() in brackets):", ""]
    for option in OPTIONS:
        names = " or ".join(reversed(option.env)) if option.env else "(no variable)"
        keyword = f"  [{option.keyword}=]" if option.keyword else ""
        out.append(f"  {names}{keyword}")
        body = f"default {option.default}. {_plain(option.effect)}"
        out += textwrap.wrap(body, width, initial_indent=indent, subsequent_indent=indent)
    out += ["", "backend variables (read by init() and `arktrace check`):", ""]
    for title, name, default, meaning in _backend_rows():
        body = f"{title}; default {default}. {_plain(meaning)}"
        out.append(f"  {name}")
        out += textwrap.wrap(body, width, initial_indent=indent, subsequent_indent=indent)
    return "\n".join(out) + "\n"
