"""Content handling shared by every extractor: copy-on-write sanitising, truncation and JSON encoding.

Sanitising never mutates the caller's objects: a container is copied only when something inside it
had to change, so the common case (short text, no inline images) costs one walk and no copies.
"""

from __future__ import annotations

import json
import re
from typing import Any

_DATA_URL_PREFIX = "data:"


_CUT_MARK = " more characters cut by arktrace]"


def truncate(text: str, limit: int, already_cut: int = 0) -> str:
    """``text`` cut to ``limit`` characters plus a marker saying how many were cut.

    Idempotent: a text this function already cut at ``limit`` comes back unchanged, so a value cut
    once (a long streamed answer) is not cut again, with a wrong count, by a later step.
    ``already_cut`` adds characters that were dropped before ``text`` was assembled.
    """
    if len(text) <= limit and not already_cut:
        return text
    if text.endswith(_CUT_MARK) and text.find("…[", limit) == limit:
        return text
    cut = max(len(text) - limit, 0) + already_cut
    return f"{text[:limit]}…[{cut}{_CUT_MARK}"


def _data_url_placeholder(url: str) -> str:
    # Keep the media type so a reader still sees what was sent; drop the payload.
    head, _, payload = url.partition(",")
    return f"{head},{inline_data_placeholder(len(payload))}"


def sanitize_text(text: str, limit: int) -> str:
    if text.startswith(_DATA_URL_PREFIX) and ";base64," in text[:200]:
        return _data_url_placeholder(text)
    return text if len(text) <= limit else truncate(text, limit)


def sanitize(value: Any, limit: int) -> Any:
    """``value`` with inline data replaced and long strings cut; the original when nothing changed."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        if len(value) <= limit and not value.startswith(_DATA_URL_PREFIX):
            return value
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
            return sanitize(dump_model(dump), limit)
        except Exception:
            return value
    return value


def dump_model(dump: Any) -> Any:
    # A model the SDK built from a malformed body holds values of the wrong type: pydantic would warn
    # about each of them on stderr, in the application's output.
    try:
        try:
            return dump(exclude_unset=True, warnings=False)
        except TypeError:  # pydantic 1
            return dump(exclude_unset=True)
    except ValueError:  # a field named with a lone surrogate, which pydantic cannot encode: as it is
        model = dump.__self__
        return {**vars(model), **(getattr(model, "__pydantic_extra__", None) or {})}


def _json_default(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)
    if isinstance(value, type):
        return value.__name__
    if dump is not None:
        return dump_model(dump)
    if isinstance(value, (set, frozenset)):
        return list(value)
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return repr(value)


# Built once: json.dumps() with options builds a new encoder on every call, which costs more than
# encoding a small request.
to_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=_json_default).encode


def clean_json(value: Any, limit: int) -> str | None:
    """``value`` as JSON when sanitising would leave it unchanged (it fits ``limit`` and holds no
    inline data), else None. One encode and scan at C speed instead of a Python call per value."""
    text = to_json(value)
    return text if len(text) <= limit and _DATA_URL_PREFIX not in text else None


_B64_KEY = '"b64_json"'
_B64_FIELD = re.compile(r'"b64_json":\s*"([^"<][^"]*)"')  # "<...": already a placeholder


def inline_data_placeholder(length: int) -> str:
    return f"<{length} characters of inline data omitted>"


def _b64_placeholder(match: re.Match) -> str:
    return f'"b64_json":"{inline_data_placeholder(len(match.group(1)))}"'


def response_json(response: Any) -> str:
    """A response as JSON text, whatever it holds; ``repr`` for what JSON cannot express.

    Never with an inline base64 payload: OpenAI's APIs name it ``b64_json`` (a generated image), and
    its length is kept in its place, as for a data: URL.
    """
    text = None
    dump = getattr(response, "model_dump_json", None)
    if dump is not None:
        try:
            text = dump(exclude_unset=True, warnings=False)
        except Exception:
            pass  # pydantic 1, or a value pydantic cannot serialise: the generic encoder copes
    if text is None:
        try:
            text = to_json(response)
        except Exception:  # keys JSON cannot have, a self-reference
            return repr(response)
    if _B64_KEY in text:  # one C-speed scan; only an image response pays for the replacing
        text = _B64_FIELD.sub(_b64_placeholder, text)
    return text


# Lone surrogates: JSON's \ud800-style escapes decode to them, and UTF-8 (so OTLP) cannot carry them.
_SURROGATE = re.compile("[\ud800-\udfff]")


def exportable(text: str) -> str:
    """``text`` with anything UTF-8 cannot encode replaced, so one bad string cannot fail an export."""
    if text.isascii() or _SURROGATE.search(text) is None:
        return text
    return text.encode("utf-8", "replace").decode("utf-8")


_MISSING = object()


def get(obj: Any, key: str) -> Any:
    """Read ``key`` from a mapping or an object alike (SDK models, plain dicts from raw bodies).

    Never asks a pydantic model for a field it lacks: its ``__getattr__`` builds an error message
    before raising, ~6.5 µs per miss, more than the rest of a call's extraction. Declared fields
    live in the instance ``__dict__``, undeclared provider fields in ``__pydantic_extra__``.
    """
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj.get(key)
    fields = getattr(obj, "__dict__", None)
    if fields is not None:
        value = fields.get(key, _MISSING)
        if value is not _MISSING:
            return value
        extra = getattr(obj, "__pydantic_extra__", _MISSING)
        if extra is not _MISSING:  # a pydantic model: the field is not there
            return extra.get(key) if extra else None
    return getattr(obj, key, None)


class _AttributeView:
    """``.get`` over an object that is neither a mapping nor a pydantic model."""

    __slots__ = ("_obj",)

    def __init__(self, obj: Any) -> None:
        self._obj = obj

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self._obj, key, default)


_EMPTY: dict = {}


def fields_of(obj: Any) -> Any:
    """A mapping view of ``obj``'s fields, read with ``.get``: the dict itself, a pydantic model's
    declared and extra fields, or attribute access for anything else. One conversion per object
    is cheaper than a :func:`get` per field when several fields are read.
    """
    if obj is None:
        return _EMPTY
    if isinstance(obj, dict):
        return obj
    extra = getattr(obj, "__pydantic_extra__", _MISSING)
    if extra is _MISSING:
        return _AttributeView(obj)
    fields = obj.__dict__
    return {**fields, **extra} if extra else fields
