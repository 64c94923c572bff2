"""What arktrace may show of a text about exports or configuration: every credential in it cut.

Log lines and ``arktrace check`` output quote text arktrace did not write: an HTTP library's exception
repeats the request URL with its query (``Max retries exceeded with url: /v1/traces?api_key=…``), an
exporter's message may quote a header. Masking the values arktrace formats itself is not enough, so
everything such a line carries goes through :func:`redact`, which cuts both the secrets the
configuration is known to hold and whatever has the shape of one, wherever the text came from.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import SplitResult, unquote, unquote_plus, urlsplit, urlunsplit

__all__ = ["MASK", "display_url", "redact", "url_secrets"]

MASK = "****"

# A known secret shorter than this is not cut: replacing every "k" or "42" would garble the text, and a
# value that short protects nothing anyway.
_MIN_SECRET = 4

# user:password@ or token@ right after a scheme's "//".
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)([^\s/?#@]+)@")
# Each value of a query string, in a full URL or in a bare path such as urllib3 quotes.
_QUERY_VALUE = re.compile(r"([?&][^\s=&#?]+=)[^\s&#'\"<>)\]]+")
# An Authorization value: the scheme word, then a credential of 8 or more token68 characters; one
# lower-case word after it is prose ("bearer authentication"), not a credential.
_AUTH_VALUE = re.compile(r"(?i)\b(bearer|basic)(\s+)(?-i:(?![a-z]+(?![\w.~+/=-])))[\w.~+/=-]{8,}")


def _userinfo(match: re.Match[str]) -> str:
    user, colon, _password = match.group(2).partition(":")
    return f"{match.group(1)}{user}:{MASK}@" if colon else f"{match.group(1)}{MASK}@"


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with ``secrets`` and every credential-shaped part (URL passwords and tokens, query values,
    Bearer/Basic credentials) replaced by ``****``."""
    for secret in sorted({s for s in secrets if s and len(s) >= _MIN_SECRET}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    text = _USERINFO.sub(_userinfo, text)
    text = _QUERY_VALUE.sub(lambda m: m.group(1) + MASK, text)
    return _AUTH_VALUE.sub(lambda m: m.group(1) + m.group(2) + MASK, text)


def url_secrets(url: str | None) -> list[str]:
    """The parts of ``url`` that may be credentials: the user-info's password (or its token) and every
    query value, as written and decoded, so that either spelling is found in a text."""
    if not url:
        return []
    try:
        parts = urlsplit(url)
    except ValueError:
        return [url]
    found: list[str] = []
    userinfo, at, _host = parts.netloc.rpartition("@")
    if at:
        user, colon, password = userinfo.partition(":")
        found.append(password if colon else user)
    for pair in parts.query.split("&"):
        _key, eq, value = pair.partition("=")
        if eq and value:
            found.append(value)
    spellings = (spelling for value in found for spelling in (value, unquote(value), unquote_plus(value)))
    return list(dict.fromkeys(spelling for spelling in spellings if spelling))


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
