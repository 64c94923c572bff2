"""Every option of ``init()`` / ``instrument()``, declared once, and one parser per kind of value.

An :class:`Option` says everything about one setting: its keyword, the functions that take it, the
environment variables it is read from (lowest precedence first; the keyword beats them all), how a value
is parsed, its default and its help text. From this one table come ``instrument()``'s settings
(:func:`arktrace._settings.load_settings`), the keywords ``init()`` passes on to ``instrument()``, the
keywords the OpenTelemetry instrumentor passes on, ``arktrace run --help`` and the settings reference
(``arktrace._reference``). ``instrument()`` and ``init()`` keep their keywords spelled out for IDE help; a
test holds those signatures to this table.

Adding an option is one entry in :data:`OPTIONS` (and, for an ``instrument()`` option, its keyword in
``instrument()``'s signature and its field in ``Settings``, which the tests check against this table).

Parsers take the setting's name (the variable or the keyword) and the raw value and raise
:class:`~arktrace.ConfigError` naming it, the value and what was expected. Environment values are
stripped, and an empty value counts as unset (``KEY=`` lines in .env files are common).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from urllib.parse import SplitResult, urlsplit

from ._errors import ConfigError
from ._redact import display_url

__all__ = [
    "env_flag",
    "env_value",
    "parse_bool",
    "parse_choice",
    "parse_http_url",
    "parse_int",
    "parse_seconds",
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
    raise ConfigError(name, repr(raw), "true or false (or 1/0, yes/no, on/off)")


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
    close = difflib.get_close_matches(value, list(choices), 1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    raise ConfigError(f"{name}={raw!r} is not usable: expected {expected}{hint}")


def parse_http_url(name: str, value: str, example: str) -> SplitResult:
    """An absolute http(s) URL; returned as parts, without trailing slash or fragment."""
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
