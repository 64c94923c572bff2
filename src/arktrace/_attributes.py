"""Writing a call's attributes to its span, at a fraction of the SDK's per-attribute cost.

``Span.set_attributes`` validates every value through several Python calls and a lock per span
(~5,500 instructions per attribute with opentelemetry-sdk 1.45, counted with callgrind by
``benchmarks/instructions.py``: 36 attributes cost 1.6 times a whole bare span). arktrace's
extractors only ever produce values that validation leaves unchanged (str, bool, int, float, tuples
of str), so when the span is the SDK's own kind, with no value-length limit configured and room under
the count limit, the already-clean values go straight into its attribute store (``_compat``). Anything else
(another SDK, a configured limit, an unexpected value type) takes the public ``set_attributes`` path,
so behaviour is the same either way; only the cost differs.

Values a provider's malformed answer can smuggle in and OTLP cannot encode (a string with a lone
surrogate, an integer beyond 64 bits) would make the exporter drop the whole batch, other spans with
it: they are repaired here, the one place every attribute passes through.
"""

from __future__ import annotations

from typing import Any

from ._compat import update_attribute_store
from ._content import exportable

_INT64 = range(-(2**63), 2**63)


def _clean(attrs: dict[str, Any]) -> bool:
    for value in attrs.values():
        kind = type(value)
        if kind is str:
            if value.isascii() or exportable(value) is value:  # isascii(): most values, no call
                continue
        elif kind is bool or kind is float:
            continue
        elif kind is int:
            if value in _INT64:
                continue
        elif kind is tuple and all(type(item) is str and exportable(item) is item for item in value):
            continue
        return False
    return True


def _repaired(attrs: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in attrs.items():
        kind = type(value)
        if kind is str:
            value = exportable(value)
        elif kind is int and value not in _INT64:
            value = str(value)
        elif kind is tuple:
            value = tuple(exportable(item) if type(item) is str else item for item in value)
        out[key] = value
    return out


def write_attributes(span: Any, attrs: dict[str, Any]) -> None:
    clean = _clean(attrs)
    if not clean:
        attrs = _repaired(attrs)
        clean = _clean(attrs)
    if not (clean and update_attribute_store(span, attrs)):
        span.set_attributes(attrs)
