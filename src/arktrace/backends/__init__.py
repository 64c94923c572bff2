"""The backends: one module per backend, each declaring a :class:`Preset`, and what works on all of them.

Each module (``openobserve``, ``langfuse``, ``mlflow``, ``phoenix``, ``datakit``, ``otlp``, ``console``)
holds its backend's environment variables with their descriptions, how they turn into an OTLP endpoint
and headers, any init-time I/O with the backend's own API, and what ``arktrace check`` says about its
answers. This module chooses and validates them (``ARKTRACE_BACKENDS`` or detection), names misspelt or
missing variables, and says which chosen backends drop metrics. Adding a backend is one module here,
listed in :data:`_MODULES`, plus its docs.

All of it is pure (the environment in, plain data or :class:`~arktrace.ConfigError` out), except each
preset's ``prepare`` (:func:`prepare`), which ``init()`` and ``arktrace check`` call after validation.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from urllib.parse import unquote, urlsplit, urlunsplit

from arktrace._errors import ConfigError
from arktrace._options import NOT_MISSPELLINGS, OPTIONS, env_flag
from arktrace._redact import display_url

from . import console, datakit, langfuse, mlflow, openobserve, otlp, phoenix
from ._common import (
    DEFAULT_TIMEOUT,
    OTLP_HEADER_VARS,
    PROTOBUF,
    PUBLIC_HEADERS,
    BackendConfig,
    Preset,
    basic,
    exporter_headers,
    get,
    parse_otlp_headers,
    shown_headers,
    summarize,
)

__all__ = [
    "BACKEND_NAMES",
    "DEFAULT_TIMEOUT",
    "PRESETS",
    "PROTOBUF",
    "BackendConfig",
    "Preset",
    "describe_unknown",
    "detect_backends",
    "display_url",
    "env_flag",
    "exporter_headers",
    "incomplete_backends",
    "known_variables",
    "metrics_dropped",
    "parse_backend_names",
    "parse_otlp_headers",
    "prepare",
    "resolve_backends",
    "shown_headers",
    "summarize",
    "unknown_variables",
]

# In detection order: with several backends' variables set, all are chosen, listed in this order.
_MODULES = (openobserve, langfuse, mlflow, phoenix, datakit, otlp, console)

PRESETS: dict[str, Preset] = {module.PRESET.name: module.PRESET for module in _MODULES}
BACKEND_NAMES: tuple[str, ...] = tuple(PRESETS)
ALIASES: dict[str, str] = {alias: preset.name for preset in PRESETS.values() for alias in preset.aliases}
for _preset in PRESETS.values():
    PUBLIC_HEADERS.update(_preset.public_headers)


def generic(config: BackendConfig) -> bool:
    """Whether ``config``'s variables are OpenTelemetry's own (:attr:`Preset.generic`)."""
    return PRESETS[config.name].generic


def selection_hint() -> str:
    """The variables that select a backend, for a message saying none is configured."""
    return ", ".join(
        f"{preset.prefix}*" if preset.prefix and len(preset.detect_vars) > 1 else preset.detect_vars[0]
        for preset in PRESETS.values()
        if preset.detect_vars
    )


def prepare(config: BackendConfig, timeout: float = DEFAULT_TIMEOUT) -> BackendConfig:
    """``config`` after its backend's init-time I/O (MLflow: the experiment name resolved to an id)."""
    return PRESETS[config.name].prepare(config, timeout)


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
        name = ALIASES.get(name, name)
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
        if any(get(env, var) for var in preset.detect_vars) and not preset.disabled_by(env):
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
    elif get(env, "ARKTRACE_BACKENDS") is not None:
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
    return urlunsplit(parts._replace(netloc=hostport)), basic(unquote(user), unquote(password))


def _userinfo_to_header(config: BackendConfig) -> BackendConfig:
    """Credentials written into a URL (``https://user:password@host``) moved to the Authorization header.

    The OTLP exporter's HTTP library sends them that way, overriding any Authorization header, so nothing
    changes on the wire; but urllib (``arktrace check``, the MLflow experiment look-up) cannot take them
    and quoted the password in its error, and no URL arktrace keeps or shows carries them any more.
    """
    traces, traces_auth = _without_userinfo(config.traces_endpoint)
    metrics, metrics_auth = _without_userinfo(config.metrics_endpoint)
    api, api_auth = _without_userinfo(config.api_url)
    if traces_auth is None and metrics_auth is None and api_auth is None:
        return config
    headers, metrics_headers = dict(config.headers), dict(config.effective_metrics_headers)
    if traces_auth or api_auth:
        headers["authorization"] = traces_auth or api_auth  # type: ignore[assignment]
    if metrics_auth:
        metrics_headers["authorization"] = metrics_auth
    return replace(
        config,
        traces_endpoint=traces,
        metrics_endpoint=metrics,
        api_url=api,
        headers=headers,
        metrics_headers=metrics_headers,
    )


# --------------------------------------------------------------------------------------------- names

# Families of names arktrace reads. Every unknown ARKTRACE_* name is reported; the backends' prefixes are
# shared with their own SDKs and servers, so a name there is reported only when it is one typo away from
# a name arktrace reads.
_OWN_PREFIX = "ARKTRACE_"
_TYPO_CUTOFF = 0.85


def known_variables() -> frozenset[str]:
    """Every ``ARKTRACE_*`` and backend variable arktrace reads: the option table's and the backends'."""
    names = {name for option in OPTIONS for name in option.env}
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
    known = known_variables() | NOT_MISSPELLINGS
    prefixes = tuple(preset.prefix for preset in PRESETS.values() if preset.prefix)
    found = []
    for name in sorted(env):
        if name in known or get(env, name) is None:
            continue
        if name.startswith(_OWN_PREFIX):
            found.append((name, _closest(name, known, 0.6), True))
        elif name.startswith(prefixes):
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
        if preset.name in chosen or preset.generic or not preset.detect_vars:
            continue
        present = [var for var in preset.env_vars if get(env, var) is not None]
        if not present or preset.disabled_by(env):
            continue
        vars_ = preset.detect_vars
        missing = f"{vars_[0]} is not" if len(vars_) == 1 else f"neither {' nor '.join(vars_)} is"
        lines.append(
            f"{', '.join(present)} {'is' if len(present) == 1 else 'are'} set but {missing}, "
            f"so spans do not go to {preset.title}"
        )
    return lines


def metrics_dropped(configs: Sequence[BackendConfig]) -> str | None:
    """One sentence naming the chosen backends that take spans but no metrics at all, or None.

    Said where metrics are on (the default), because arktrace's token, cost and duration metrics then
    silently go nowhere for these backends.
    """
    # Console writes spans to stderr and is no export target; an OTLP endpoint given for traces only
    # was the user's choice of where metrics go (nowhere).
    dropping = [
        PRESETS[c.name].title
        for c in configs
        if c.traces_endpoint is not None and not PRESETS[c.name].metrics
    ]
    if not dropping:
        return None
    takers = [c.name for c in configs if c.accepts_metrics]
    if takers:
        where = f"they go to {', '.join(takers)} only"
    else:
        where = (
            "add a backend that takes them (openobserve, datakit, otlp), or set ARKTRACE_METRICS=false "
            "if you do not want them"
        )
    verb = "accepts" if len(dropping) == 1 else "accept"
    return f"metrics are not sent to {' and '.join(dropping)}, which {verb} no OTLP metrics; {where}"
