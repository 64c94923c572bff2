"""What every call records into, and the one ``instrument()`` set up.

Kept below the lifecycle so that what reads it (``arktrace.trace`` spans, the context processors)
depends on this small module and not on ``_instrument``, which imports them.
"""

from __future__ import annotations

from typing import NamedTuple

from opentelemetry.trace import Tracer

from ._metrics import Metrics
from ._prices import PriceTable
from ._settings import Settings


class Recorder(NamedTuple):
    """What every call records into, fixed when ``instrument()`` runs."""

    tracer: Tracer
    metrics: Metrics
    prices: PriceTable
    settings: Settings
    backends: frozenset[str] = frozenset()
    """What calls write for the backends ``init()`` exports to (``conventions.backend_extras.extras_for``)."""


_current: Recorder | None = None


def current_recorder() -> Recorder | None:
    """What instrument() set up (tracer, settings, ...), or None when not instrumented."""
    return _current


def set_current_recorder(recorder: Recorder | None) -> None:
    """Called by ``_instrument`` only, under its lock."""
    global _current
    _current = recorder
