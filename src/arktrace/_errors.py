"""Errors raised by arktrace, and the masking used whenever a configuration value is shown."""

from __future__ import annotations

__all__ = ["ConfigError", "mask_secret"]


class ConfigError(ValueError):
    """A configuration problem found by ``arktrace.init()``, ``arktrace.instrument()`` or ``arktrace check``.

    The message names the setting (environment variable or argument), the value that was found (secrets
    masked) and what was expected instead. It is raised at set-up time only, never later and never from
    inside an instrumented call.

    Two forms::

        ConfigError("LANGFUSE_SECRET_KEY", None, "the sk-lf-... half of the key pair")
        ConfigError("ARKTRACE_X='y' is not usable: expected true or false")   # a complete message

    ``setting``, ``found`` and ``expected`` are None for the one-argument form.
    """

    def __init__(self, setting: str, found: str | None = None, expected: str | None = None) -> None:
        if expected is None:
            self.setting: str | None = None
            self.found: str | None = None
            self.expected: str | None = None
            super().__init__(setting)
            return
        self.setting = setting
        self.found = found
        self.expected = expected
        shown = "is not set" if found is None else f"is {found}"
        super().__init__(f"{setting} {shown}; expected {expected}")


def mask_secret(value: str | None) -> str:
    """Show a secret without revealing it.

    An ``Authorization`` value keeps its scheme word when it is a known one (``Basic ****``); anything else
    becomes ``****``, as the first word of an arbitrary value may be half of the secret. The length is not
    shown either, so nothing about the secret can be learnt from logs.
    """
    if not value:
        return "''"
    scheme, sep, _rest = value.strip().partition(" ")
    if sep and scheme.lower() in _AUTH_SCHEMES:
        return f"{scheme} ****"
    return "****"


# Scheme words of Authorization values (IANA's HTTP authentication scheme registry and common API ones).
_AUTH_SCHEMES = frozenset(
    {
        "basic",
        "bearer",
        "digest",
        "token",
        "apikey",
        "api-key",
        "negotiate",
        "ntlm",
        "hoba",
        "mutual",
        "splunk",
    }
)
