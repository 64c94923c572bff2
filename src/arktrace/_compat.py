"""What arktrace needs from other libraries' private details, in one place.

Each entry names the detail, the versions it was checked against and what happens when it is absent,
so that a release which moves one breaks this file's tests (``tests/test_compat.py``, run against
the installed versions) rather than the end-to-end ones. Checked against openai 1.40.0 (httpx 0.27)
and 3.57.0 (httpx2 2.17), byteplus-python-sdk-v2 3.0.63 (``byteplussdkarkruntime``),
volcengine-ark-runtime 5.0.54 (``volcenginesdkarkruntime``), opentelemetry-api/sdk 1.45.1 and
pydantic 2.14 (pydantic 1's name is the fallback, not run here).

Read inline on the per-call path, where a helper call would cost more than the read (listed here so
a reader finds them): the resource's ``_client`` and the Ark clients' ``_base_url``
(``_instrument``; absent: the call is not traced, reported once as a fault), the ``_request_id`` the
SDKs set on a parsed response (``_call``; absent: the id comes from the headers only, or not at all),
a chunk's ``__dict__`` / ``__pydantic_extra__`` (the chat stream state's fast path, which falls back
to public attribute reads for anything else).
"""

from __future__ import annotations

import inspect
from types import MethodType
from typing import Any, Callable

# ------------------------------------------------------------------------------ opentelemetry-api
# The key OTel instrumentations honour to stay quiet inside exporters and `suppress_instrumentation()`
# (opentelemetry.context._SUPPRESS_INSTRUMENTATION_KEY, 1.x). Absent: nothing is suppressed.
try:
    from opentelemetry.context import _SUPPRESS_INSTRUMENTATION_KEY as SUPPRESS_KEY
except ImportError:  # pragma: no cover - very old opentelemetry-api
    SUPPRESS_KEY = None

# ------------------------------------------------------------------------------ opentelemetry-sdk
# A span's attribute store: ``Span._attributes`` is a ``BoundedAttributes`` whose ``_dict`` and
# ``_lock`` hold the values (sdk 1.x up to 1.45). Absent or changed: the public set_attributes().
try:
    from opentelemetry.attributes import BoundedAttributes
except ImportError:  # pragma: no cover
    BoundedAttributes = None  # type: ignore[assignment,misc]


def update_attribute_store(span: Any, attrs: dict[str, Any]) -> bool:
    """Put already-validated ``attrs`` straight into the span's store; False when that is not safe
    (another SDK, a value-length limit, no room under the count limit, an ended span)."""
    store = getattr(span, "_attributes", None)
    if (
        store is not None
        and type(store) is BoundedAttributes
        and store.max_value_len is None
        and not getattr(store, "_immutable", True)
        and (store.maxlen is None or len(store._dict) + len(attrs) <= store.maxlen)
        and getattr(span, "_end_time", 0) is None
    ):
        with store._lock:
            store._dict.update(attrs)
        return True
    return False


# ---------------------------------------------------------------------- openai and the Ark SDKs
# ``Stream`` / ``AsyncStream`` read every chunk through ``self._iterator`` (openai 1.x-3.x, both Ark
# SDKs). Absent: the result is not recognised as a stream, and the call ends as a plain response with
# what the headers told (no span is lost).
_ITERATOR = "_iterator"


def is_sdk_stream(result: Any) -> bool:
    return hasattr(result, _ITERATOR)


def replace_iterator(stream: Any, observer: Callable[[Any], Any]) -> Any:
    """Have ``stream`` read its chunks through ``observer(its own iterator)``; return the observer."""
    observed = observer(getattr(stream, _ITERATOR))
    setattr(stream, _ITERATOR, observed)
    return observed


# The header the SDKs' ``with_raw_response`` / ``with_streaming_response`` set on the request
# (openai 1.x-3.x, both Ark SDKs): "raw" from openai >= 1.x's helpers, "true" from the legacy ones,
# "stream" for a streaming response. Absent: raw calls are followed as ordinary ones.
RAW_RESPONSE_HEADER = "X-Stainless-Raw-Response"
RAW_BODY_MODES = ("raw", "true")


def on_close(http_response: Any, callback: Callable[[], None]) -> None:
    """Run ``callback`` after ``http_response`` is closed, by the caller or by the SDK: its ``close``
    / ``aclose`` are wrapped on the instance (httpx 0.23-0.29's response, httpx2 2.x's in openai
    3.x). Absent: the span ends when the stream is exhausted or collected instead."""
    for name in ("close", "aclose"):
        original = getattr(http_response, name, None)
        if original is None:
            continue
        if inspect.iscoroutinefunction(original):

            async def closer(_original: Any = original) -> Any:
                try:
                    return await _original()
                finally:
                    callback()

        else:

            def closer(_original: Any = original) -> Any:
                try:
                    return _original()
                finally:
                    callback()

        setattr(http_response, name, closer)


def class_parse(response: Any) -> Any:
    """The raw response class's own ``parse`` (``LegacyAPIResponse`` / ``APIResponse``, openai
    1.x-3.x, both Ark SDKs): a function, so holding it keeps no response alive."""
    return type(response).parse


def watch_parse(response: Any, parse: Callable[..., Any]) -> None:
    """Make ``parse`` (taking the response first) the response's ``parse`` method, in its own dict."""
    response.parse = MethodType(parse, response)


def unwatch_parse(response: Any, parse: Callable[..., Any]) -> None:
    """Give the response its class's ``parse`` back, if ``parse`` is still the one set on it."""
    mine = vars(response).get("parse")
    if getattr(mine, "__func__", None) == parse:
        del response.parse


# ----------------------------------------------------------------------------------------- pydantic


def fields_set(model: Any) -> Any:
    """The fields a model was built with: ``__pydantic_fields_set__`` (pydantic 2), else
    ``__fields_set__`` (pydantic 1, read only there: pydantic 2 warns on that name)."""
    fields = getattr(model, "__pydantic_fields_set__", None)
    if fields is None:
        fields = getattr(model, "__fields_set__", ())
    return fields
