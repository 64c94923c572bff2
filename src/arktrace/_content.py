"""Content handling shared by every extractor: copy-on-write sanitising, truncation and JSON encoding.

Sanitising never mutates the caller's objects: a container is copied only when something inside it
had to change, so the common case (short text, no inline images) costs one walk and no copies.
"""

from __future__ import annotations

import json
from typing import Any

_DATA_URL_PREFIX = "data:"


def truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}…[{len(text) - limit} more characters cut by arktrace]"


def _data_url_placeholder(url: str) -> str:
    # Keep the media type so a reader still sees what was sent; drop the payload.
    head, _, payload = url.partition(",")
    return f"{head},<{len(payload)} characters of inline data omitted>"


def sanitize_text(text: str, limit: int) -> str:
    if text.startswith(_DATA_URL_PREFIX) and ";base64," in text[:200]:
        return _data_url_placeholder(text)
    return truncate(text, limit)


def sanitize(value: Any, limit: int) -> Any:
    """``value`` with inline data replaced and long strings cut; the original when nothing changed."""
    if isinstance(value, str):
        return sanitize_text(value, limit)
    if isinstance(value, dict):
        changed = None
        for key, item in value.items():
            new = sanitize(item, limit)
            if new is not item:
                if changed is None:
                    changed = dict(value)
                changed[key] = new
        return value if changed is None else changed
    if isinstance(value, (list, tuple)):
        changed = None
        for index, item in enumerate(value):
            new = sanitize(item, limit)
            if new is not item:
                if changed is None:
                    changed = list(value)
                changed[index] = new
        return value if changed is None else changed
    dump = getattr(value, "model_dump", None)
    if dump is not None and not isinstance(value, type):
        try:
            return sanitize(dump(exclude_unset=True), limit)
        except Exception:
            return value
    return value


def _json_default(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)
    if isinstance(value, type):
        return value.__name__
    if dump is not None:
        return dump(exclude_unset=True)
    if isinstance(value, (set, frozenset)):
        return list(value)
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return repr(value)


def to_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_json_default)


def get(obj: Any, key: str) -> Any:
    """Read ``key`` from a mapping or an object alike (SDK models, plain dicts from raw bodies)."""
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj.get(key)
    return getattr(obj, key, None)
