"""pytest plugin: run the openai SDK's own test suite with arktrace instrumenting from process start.

Loaded with ``-p arktrace_plugin`` (this folder on ``PYTHONPATH``), so nothing in the SDK's tree
changes. Each process (the xdist controller and every worker) instruments when this module is
imported, before the SDK's conftest runs, and counts what arktrace did: spans ended, per operation,
and every record the ``arktrace`` logger emitted at WARNING or above (a fault reported by
``report_fault``, or any other complaint; the stream-usage advice for unknown servers is expected).
At the end of the session each process writes those counts as one JSON file into
``ARKTRACE_SUITE_COUNTS`` (a directory) for the driving script.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections import Counter
from typing import Any

from opentelemetry.sdk.trace import SpanProcessor, TracerProvider

import arktrace
from arktrace import _faults


class _CountingProcessor(SpanProcessor):
    def __init__(self) -> None:
        self.ended: Counter[str] = Counter()
        self._lock = threading.Lock()

    def on_end(self, span: Any) -> None:
        operation = (span.attributes or {}).get("gen_ai.operation.name", "(none)")
        with self._lock:
            self.ended[str(operation)] += 1


class _Complaints(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        # The one piece of advice arktrace gives by design on this path: a stream from a server it
        # does not know ended without usage (the SDK's tests stream from mock servers). Advice, not a
        # complaint about arktrace's behaviour; everything else counts.
        if record.module == "_usage_notice":
            return
        self.messages.append(record.getMessage())


_spans = _CountingProcessor()
_complaints = _Complaints()
_provider = TracerProvider()
_provider.add_span_processor(_spans)
logging.getLogger("arktrace").addHandler(_complaints)
# The stream-usage mode comes from ARKTRACE_STREAM_USAGE, as for any user.
arktrace.instrument(tracer_provider=_provider)


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    folder = os.environ.get("ARKTRACE_SUITE_COUNTS")
    if not folder:
        return
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    counts = {
        "instrumented": arktrace.is_instrumented(),
        "spans": dict(_spans.ended),
        "faults": sorted(_faults._reported),
        "complaints": _complaints.messages,
    }
    with open(os.path.join(folder, f"{worker}-{os.getpid()}.json"), "w") as out:
        json.dump(counts, out)
