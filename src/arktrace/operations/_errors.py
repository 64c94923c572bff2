"""What every operation's failed call records: error type and attributes, the request ids, the
message (never content with capture off, never a credential the request carried), the ``exception``
event, and the failure a provider reports inside an HTTP 200 answer.

Pure functions of an exception and what the call sent: no OpenTelemetry, no network.
"""

from __future__ import annotations

import traceback
from collections import OrderedDict
from typing import Any, NamedTuple
from urllib.parse import quote, quote_plus

from .._content import exportable, truncate
from .._settings import Settings
from ..conventions.names import (
    ARKTRACE_ERROR_CODE,
    ERROR_TYPE,
    EXCEPTION_MESSAGE,
    EXCEPTION_STACKTRACE,
    EXCEPTION_TYPE,
    HTTP_CLIENT_REQUEST_ID,
    HTTP_REQUEST_ID,
    HTTP_STATUS_CODE,
)


class ReportedFailure(Exception):
    """A failure the provider reported in an answer whose HTTP status was 200: a response with
    ``status: failed``, or a stream's ``error`` event. Never raised: it ends the span as an error."""

    def __init__(self, code: Any, message: Any) -> None:
        # Read from the provider's JSON: either may be missing or of any type.
        code = code if isinstance(code, str) and code else None
        message = message if isinstance(message, str) and message else None
        super().__init__(message or code or "the provider reported a failure")
        self.code = code
        self.error_type = code  # the provider's code is the error's type: a class name would say nothing
        # The provider's error object, as the SDK's errors built from an answer keep it: its message
        # may quote the request, so it takes the same path as theirs (not recorded with capture off).
        self.body = {"code": code, "message": message}


def error_type(error: BaseException) -> str:
    """The exception's class name, or the provider's code for a failure reported inside a stream."""
    kind = getattr(error, "error_type", None)
    return kind if isinstance(kind, str) and kind else type(error).__qualname__


# Response headers that name one call for the provider's support: ModelArk's own request id, and
# the id the Ark SDKs send in X-Client-Request-Id (echoed back). Recorded under OTel's HTTP names.
_REQUEST_ID_HEADERS = (
    ("x-request-id", HTTP_REQUEST_ID),
    ("x-client-request-id", HTTP_CLIENT_REQUEST_ID),
)


def request_id_attributes(headers: Any) -> dict[str, Any]:
    """The request ids among an HTTP response's ``headers`` (a case-insensitive mapping)."""
    attrs: dict[str, Any] = {}
    for header, name in _REQUEST_ID_HEADERS:
        value = headers.get(header)
        if isinstance(value, str) and value:
            attrs[name] = (value,)
    return attrs


def error_attributes(error: BaseException) -> dict[str, Any]:
    attrs: dict[str, Any] = {ERROR_TYPE: error_type(error)}
    headers = getattr(getattr(error, "response", None), "headers", None)
    if callable(getattr(headers, "get", None)):
        attrs.update(request_id_attributes(headers))
    status = getattr(error, "status_code", None)
    if isinstance(status, int):
        attrs[HTTP_STATUS_CODE] = status
    code = getattr(error, "code", None)
    if isinstance(code, str) and code:
        attrs[ARKTRACE_ERROR_CODE] = code
    return attrs


def echoes_content(error: BaseException) -> bool:
    """Whether the error's message came from the provider's answer, which may quote the request.

    SDK errors built from a response carry its parsed ``body``, and so does a failure the Responses
    API reports with HTTP 200 (:class:`ReportedFailure`); connection errors,
    timeouts and the application's own exceptions do not, and their messages never hold the
    request's content.
    """
    return getattr(error, "body", None) is not None


def error_message(error: BaseException, capture_content: bool = True, cut: tuple[str, ...] = ()) -> str:
    """The message to record: the provider's only with content capture on, and never a value in ``cut``."""
    if not capture_content and echoes_content(error):
        status = getattr(error, "status_code", None)
        code = getattr(error, "code", None)
        known = " ".join(str(part) for part in (status, code) if isinstance(part, (int, str)) and part)
        head = f"provider error {known}" if known else "provider error"
        return f"{head} (message not recorded: content capture is off)"
    try:
        message = str(error)
    except Exception:  # an exception class whose __str__ fails
        return ""
    return cut_credentials(message, cut)


CREDENTIAL_REMOVED = "[credential removed]"


def cut_credentials(text: str, cut: tuple[str, ...]) -> str:
    for value in cut:
        text = text.replace(value, CREDENTIAL_REMOVED)
    return text


# Request headers whose values say nothing secret: the HTTP basics, and what the SDKs send about
# themselves (``X-Stainless-*``: language, versions, retry count) or to name one call. Every other
# header value a request carried is cut from what the provider quotes back: a deny-list of secret
# names misses every gateway's own (``Ocp-Apim-Subscription-Key``, ``X-Portkey-Api-Key``, ...).
_PUBLIC_HEADERS = frozenset(
    {
        "accept",
        "accept-encoding",
        "connection",
        "content-length",
        "content-type",
        "host",
        "idempotency-key",
        "openai-beta",
        "user-agent",
        "x-client-request-id",
    }
)
_PUBLIC_HEADER_PREFIX = "x-stainless-"
_PUBLIC_QUERY = frozenset({"api-version"})  # Azure's API version: every other query value is cut
# Shorter values are left: they cannot be told from the message's ordinary words ("true", "json",
# "v1") and cutting them would garble it, while real credentials are far longer (OpenAI keys 51+
# characters, ModelArk's 36, Azure's and APIM's 32).
_MIN_CREDENTIAL = 8


def credentials_sent(error: BaseException, client: Any = None, kwargs: Any = None) -> tuple[str, ...]:
    """Every value the failed request carried that is not known to be public, longest first.

    Read from public places that do not change with the SDK's version: the client's ``api_key``,
    ``default_headers`` and ``default_query``, the call's ``extra_headers`` and ``extra_query``,
    and the request the SDK's error holds where it still does (openai >= 3.63 removes its
    ``Authorization`` and ``api-key`` headers, which ``api_key`` covers). A provider may quote the
    request back ("Incorrect API key provided: sk-…", a gateway echoing the URL with its
    ``?api-key=``); content capture does not make a credential content. Read on the error path
    only, so no successful call pays for it.
    """
    found: set[str] = set()
    for name in ("api_key", "admin_api_key"):
        _add(found, _read(client, name))
    headers = (
        _read(client, "default_headers"),
        kwargs.get("extra_headers") if isinstance(kwargs, dict) else None,
        _read(_read(error, "request"), "headers"),
    )
    for mapping in headers:
        for name, value in _pairs(mapping):
            if name not in _PUBLIC_HEADERS and not name.startswith(_PUBLIC_HEADER_PREFIX):
                _add(found, value)
                _add(found, value.partition(" ")[2].strip())  # "Bearer <key>", "Basic <token>"
    queries = (
        _read(client, "default_query"),
        kwargs.get("extra_query") if isinstance(kwargs, dict) else None,
        _read(_read(_read(error, "request"), "url"), "params"),
    )
    for mapping in queries:
        for name, value in _pairs(mapping):
            if name not in _PUBLIC_QUERY:
                _add(found, value)
                _add(found, quote(value, safe=""))  # as the URL a provider quotes back carries it
                _add(found, quote_plus(value))
    return tuple(sorted(found, key=len, reverse=True))  # "Bearer <key>" before "<key>"


def _read(owner: Any, name: str) -> Any:
    """``owner.name``, or None when it is missing or reading it fails (a property of some SDK)."""
    if owner is None:
        return None
    try:
        return getattr(owner, name, None)
    except Exception:
        return None


def _pairs(mapping: Any) -> list[tuple[str, str]]:
    """The (lower-case name, string value) pairs of a headers or query mapping; multi-valued
    query parameters (httpx's ``QueryParams``, lists in ``extra_query``) give one pair per value."""
    if mapping is None:
        return []
    try:
        items = mapping.multi_items() if hasattr(mapping, "multi_items") else mapping.items()
        pairs = []
        for name, value in items:
            if not isinstance(name, str):
                continue
            for one in value if isinstance(value, (list, tuple)) else (value,):
                if isinstance(one, str):
                    pairs.append((name.lower(), one))
        return pairs
    except Exception:  # not a mapping after all
        return []


def _add(found: set[str], value: Any) -> None:
    if isinstance(value, str) and len(value) >= _MIN_CREDENTIAL:
        found.add(value)


# What was cut from an error, by the error's id, for the spans that see the same exception later
# without its client (an arktrace.trace span around the failed call). Exceptions cannot be weakly
# referenced and holding them would keep their frames alive, so only the id is kept: an id reused by
# another exception at worst cuts credentials of this process from a message that did not quote them.
_RECENT_CUTS: OrderedDict[int, tuple[str, ...]] = OrderedDict()
_RECENT_CUTS_KEPT = 64


def _remembered_cut(error: BaseException, cut: tuple[str, ...], from_the_call: bool) -> tuple[str, ...]:
    key = id(error)
    try:
        if from_the_call:
            if cut:
                _RECENT_CUTS[key] = cut
                while len(_RECENT_CUTS) > _RECENT_CUTS_KEPT:
                    _RECENT_CUTS.popitem(last=False)
            return cut
        known = _RECENT_CUTS.get(key)
    except Exception:  # another thread changed the dict meanwhile: the call's own cut still applies
        return cut
    if not known:
        return cut
    return tuple(sorted(set(cut) | set(known), key=len, reverse=True))


class ErrorRecord(NamedTuple):
    description: str
    """The span status's description."""
    event: dict[str, Any]
    """The ``exception`` event's attributes."""


def error_record(
    error: BaseException, settings: Settings, client: Any = None, kwargs: Any = None
) -> ErrorRecord:
    """What a failed call's span says of its error: status description and ``exception`` event.

    Written by arktrace rather than left to the SDK: the message may be content (see
    :func:`echoes_content`), may quote a credential the request carried (see
    :func:`credentials_sent`; ``client`` and ``kwargs`` are the call's), and must fit the
    value-length limit.
    """
    cut = _remembered_cut(error, credentials_sent(error, client, kwargs), client is not None)
    message = error_message(error, settings.capture_content, cut)
    name = type(error).__qualname__
    description = exportable(truncate(f"{name}: {message}" if message else name, 1024))
    limit = settings.max_value_length
    # Source lines of the frames can hold a credential too (a header written into the call).
    lines = [cut_credentials(line, cut) for line in traceback.format_tb(error.__traceback__)]
    lines.append(f"{type(error).__module__}.{name}: {message}\n")
    event = {
        EXCEPTION_TYPE: name,
        EXCEPTION_MESSAGE: exportable(truncate(message, limit)),
        EXCEPTION_STACKTRACE: exportable(truncate("".join(lines), limit)),
    }
    return ErrorRecord(description, event)
