"""Writing a call's attributes to its span, at a fraction of the SDK's per-attribute cost.

``Span.set_attributes`` validates every value through several Python calls and a lock per span
(~5,500 instructions per attribute with opentelemetry-sdk 1.45, counted with callgrind by
``benchmarks/instructions.py``: 36 attributes cost 1.6 times a whole bare span). arktrace's
extractors only ever produce values that validation leaves unchanged (str, bool, int, float, tuples
of str), so when the span is the SDK's own kind, with no value-length limit configured and room under
the count limit, the already-clean values go straight into its attribute store. Anything else
(another SDK, a configured limit, an unexpected value type) takes the public ``set_attributes`` path,
so behaviour is the same either way; only the cost differs.
"""

from __future__ import annotations

from typing import Any

try:
    from opentelemetry.attributes import BoundedAttributes
except ImportError:  # pragma: no cover
    BoundedAttributes = None  # type: ignore[assignment,misc]

_SCALARS = (str, bool, int, float)


def _clean(attrs: dict[str, Any]) -> bool:
    for value in attrs.values():
        kind = type(value)
        if kind in _SCALARS:
            continue
        if kind is tuple and all(type(item) is str for item in value):
            continue
        return False
    return True


def write_attributes(span: Any, attrs: dict[str, Any]) -> None:
    store = getattr(span, "_attributes", None)
    if (
        store is not None
        and type(store) is BoundedAttributes
        and store.max_value_len is None
        and not getattr(store, "_immutable", True)
        and (store.maxlen is None or len(store._dict) + len(attrs) <= store.maxlen)
        and getattr(span, "_end_time", 0) is None
        and _clean(attrs)
    ):
        with store._lock:
            store._dict.update(attrs)
    else:
        span.set_attributes(attrs)
