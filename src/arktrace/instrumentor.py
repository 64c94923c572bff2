"""Entry point for ``opentelemetry-instrument python app.py`` (no code change at all).

The OpenTelemetry auto-instrumentation loader finds :class:`ArktraceInstrumentor` through the
``opentelemetry_instrumentor`` entry point and calls ``instrument(**kwargs)`` with the providers it set up.
With ``opentelemetry-instrumentation`` installed (the ``arktrace[instrumentation]`` extra) the class is a
real ``BaseInstrumentor``, so the loader's dependency check and ``is_instrumented_by_opentelemetry`` work
as for any contrib instrumentation; without it, a stand-in base keeps the same methods, so arktrace never
needs the package at run time.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from ._instrument import instrument, uninstrument

__all__ = ["ArktraceInstrumentor"]

# Keywords of arktrace.instrument() that instrument(**kwargs) passes on; the loader's own keywords
# (skip_dep_check, …) stay out.
_OPTIONS = (
    "tracer_provider",
    "meter_provider",
    "capture_content",
    "max_value_length",
    "stream_usage",
    "max_message_attributes",
    "prices",
    "conventions",
)

try:
    from opentelemetry.instrumentation.instrumentor import BaseInstrumentor as _Base
except ImportError:

    class _Base:  # type: ignore[no-redef]
        """The part of ``BaseInstrumentor``'s contract arktrace needs, when that package is absent."""

        _instance: Any = None
        _is_instrumented_by_opentelemetry = False

        def __new__(cls, *args: Any, **kwargs: Any) -> Any:
            # One instance per class, as BaseInstrumentor: instrument() and uninstrument() pair up
            # whoever calls them.
            if cls._instance is None:
                cls._instance = object.__new__(cls)
            return cls._instance

        @property
        def is_instrumented_by_opentelemetry(self) -> bool:
            return self._is_instrumented_by_opentelemetry

        def instrument(self, **kwargs: Any) -> Any:
            if self._is_instrumented_by_opentelemetry:
                return None
            result = self._instrument(**kwargs)  # type: ignore[attr-defined]
            self._is_instrumented_by_opentelemetry = True
            return result

        def uninstrument(self, **kwargs: Any) -> Any:
            if not self._is_instrumented_by_opentelemetry:
                return None
            result = self._uninstrument(**kwargs)  # type: ignore[attr-defined]
            self._is_instrumented_by_opentelemetry = False
            return result


class ArktraceInstrumentor(_Base):  # type: ignore[misc, valid-type]
    """Instrument the OpenAI and Ark SDKs the OpenTelemetry way.

    ``ArktraceInstrumentor().instrument(tracer_provider=..., meter_provider=..., capture_content=False)``
    is ``arktrace.instrument(...)``: the same keywords, the same ``ARKTRACE_*`` variables, the same
    :class:`~arktrace.ConfigError` on a bad value.
    """

    def instrumentation_dependencies(self) -> Collection[str]:
        return ("openai >= 1.40",)

    def _instrument(self, **kwargs: Any) -> None:
        instrument(**{key: kwargs[key] for key in _OPTIONS if kwargs.get(key) is not None})

    def _uninstrument(self, **kwargs: Any) -> None:
        uninstrument()
