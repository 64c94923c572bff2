"""Entry point for ``opentelemetry-instrument python app.py`` (no code change at all).

The OpenTelemetry auto-instrumentation loader finds this class through the
``opentelemetry_instrumentor`` entry point and calls ``instrument(**kwargs)`` with the providers it
set up. It follows the loader's contract without depending on ``opentelemetry-instrumentation``.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from ._instrument import instrument, is_instrumented, uninstrument


class ArktraceInstrumentor:
    def instrumentation_dependencies(self) -> Collection[str]:
        return ("openai >= 1.40",)

    def instrument(self, **kwargs: Any) -> None:
        instrument(tracer_provider=kwargs.get("tracer_provider"), meter_provider=kwargs.get("meter_provider"))

    def uninstrument(self, **kwargs: Any) -> None:
        uninstrument()

    @property
    def is_instrumented_by_opentelemetry(self) -> bool:
        return is_instrumented()
