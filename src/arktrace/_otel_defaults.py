"""OTLP over HTTP by default for ``opentelemetry-instrument python app.py``.

The ``opentelemetry-instrument`` launcher imports every ``opentelemetry_environment_variables`` entry point
before it starts the program (to offer their variables as options); arktrace's points here, and the
launched program inherits the environment set on import.

OpenTelemetry's Python distro defaults ``OTEL_EXPORTER_OTLP_PROTOCOL`` to grpc, whose exporter the
``arktrace[instrumentation]`` extra does not install: out of the box, the SDK failed with "Requested
component 'otlp_proto_grpc' not found" and the program ran untraced. Depending on the grpc exporter would
have fixed the crash, but the endpoint a user sets for ``init()`` and ``arktrace run`` (OTLP/HTTP, port 4318)
would still not have worked. So, when the protocol is unset and the grpc exporter is missing, this sets
http/protobuf: the OpenTelemetry specification's own default, and the only protocol that could work. A
set-up that works (a protocol chosen, or the grpc exporter installed) is left exactly as it is.
"""

from __future__ import annotations

import importlib.util
import os


def _default_to_http() -> None:
    if os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "").strip():
        return
    try:
        grpc = importlib.util.find_spec("opentelemetry.exporter.otlp.proto.grpc")
    except (ImportError, ValueError):
        grpc = None
    if grpc is None:
        os.environ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf"


_default_to_http()
