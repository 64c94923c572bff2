"""A local OTLP/HTTP receiver for tests, and helpers to reset OpenTelemetry's global state.

``OTLPReceiver`` listens on 127.0.0.1, records every request (path, headers, content type, raw body) and
decodes protobuf bodies into ``ExportTraceServiceRequest`` / ``ExportMetricsServiceRequest`` with
opentelemetry-proto. The status it answers can be set per path prefix, and it can be made slow::

    with OTLPReceiver() as rx:
        rx.respond("/api/public/otel", 401)
        ...
        request = rx.wait_for(lambda r: r.path.endswith("/v1/traces"))
        span = rx.spans()[0]

Backend faults: ``rx.hang()`` accepts requests and never answers them (until ``rx.release()``);
``rx.go_down()`` closes the listening port (connection refused) and ``rx.come_back()`` listens on the same
port again, which together make a flapping backend.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue


def any_value(value: AnyValue) -> Any:
    """An OTLP ``AnyValue`` as a Python value."""
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return attributes(value.kvlist_value.values)
    return getattr(value, kind)


def attributes(kvs: Any) -> dict[str, Any]:
    return {kv.key: any_value(kv.value) for kv in kvs}


@dataclass
class ReceivedSpan:
    name: str
    attributes: dict[str, Any]
    resource: dict[str, Any]
    scope: str
    trace_id: str
    span_id: str
    parent_span_id: str
    kind: int
    status_code: int
    status_message: str


@dataclass
class ReceivedRequest:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    traces: ExportTraceServiceRequest | None = None
    metrics: ExportMetricsServiceRequest | None = None
    decode_error: str | None = None
    client: tuple[str, int] = ("", 0)  # the sender's address: one TCP connection, one address
    status: int = 0  # what the receiver answered

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")


@dataclass
class _Rule:
    prefix: str
    status: int
    delay: float = 0.0
    body: bytes = b""


@dataclass
class OTLPReceiver:
    host: str = "127.0.0.1"
    requests: list[ReceivedRequest] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._rules: list[_Rule] = []
        self._cond = threading.Condition()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._port = 0
        self._released = threading.Event()
        self._released.set()
        self.hung = 0  # requests that were held unanswered
        self._connections: set[socket.socket] = set()

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> OTLPReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                with receiver._cond:
                    receiver._connections.add(self.connection)

            def finish(self) -> None:
                with receiver._cond:
                    receiver._connections.discard(self.connection)
                with contextlib.suppress(OSError):
                    super().finish()

            def do_POST(self) -> None:
                receiver._handle(self)

            def do_GET(self) -> None:
                receiver._handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer((self.host, self._port), Handler)
        self._port = self._server.server_address[1]
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="otlp-receiver", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._released.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        # Keep-alive connections would outlive the listening socket: a stopped receiver must look down.
        with self._cond:
            connections, self._connections = list(self._connections), set()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> OTLPReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._port, "never started"
        return self._port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # -- behaviour ---------------------------------------------------------------------------------

    def respond(self, prefix: str, status: int, *, delay: float = 0.0, body: bytes = b"") -> None:
        """Answer requests whose path starts with ``prefix`` with ``status`` after ``delay`` seconds."""
        self._rules.insert(0, _Rule(prefix, status, delay, body))

    def hang(self) -> None:
        """Accept every request, read it, and never answer (until :meth:`release`)."""
        self._released.clear()

    def release(self) -> None:
        """Stop hanging: held requests are answered (their clients have usually given up by then)."""
        self._released.set()

    def go_down(self) -> None:
        """Close the port: clients get connection refused. Requests in flight are cut off."""
        self.stop()

    def come_back(self) -> None:
        """Listen again on the same port, answering normally."""
        self.start()

    def clear(self) -> None:
        with self._cond:
            self.requests.clear()
        self._rules.clear()

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("content-length") or 0)
        body = handler.rfile.read(length) if length else b""
        request = ReceivedRequest(
            method=handler.command,
            path=handler.path,
            headers={k.lower(): v for k, v in handler.headers.items()},
            body=body,
            client=handler.client_address[:2],
        )
        if handler.command == "POST":
            self._decode(request)
        if not self._released.is_set():
            with self._cond:
                self.hung += 1
                self._cond.notify_all()
            self._released.wait()
            handler.close_connection = True
            return
        rule = next((r for r in self._rules if handler.path.startswith(r.prefix)), None)
        if rule is not None and rule.delay:
            time.sleep(rule.delay)
        status = rule.status if rule is not None else 200
        request.status = status
        if rule is not None and rule.body:
            payload = rule.body
        elif status == 200 and "metrics" in request.path:
            payload = ExportMetricsServiceResponse().SerializeToString()
        else:
            payload = ExportTraceServiceResponse().SerializeToString() if status == 200 else b""
        with self._cond:
            self.requests.append(request)
            self._cond.notify_all()
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/x-protobuf")
            handler.send_header("Content-Length", str(len(payload)))
            handler.end_headers()
            handler.wfile.write(payload)
        except OSError:
            pass

    @staticmethod
    def _decode(request: ReceivedRequest) -> None:
        try:
            if "metrics" in request.path:
                request.metrics = ExportMetricsServiceRequest.FromString(request.body)
            else:
                request.traces = ExportTraceServiceRequest.FromString(request.body)
        except Exception as error:  # a JSON or garbage body: keep it for the assertion message
            request.decode_error = repr(error)

    # -- reading -----------------------------------------------------------------------------------

    def wait_for(
        self, predicate: Callable[[ReceivedRequest], bool] = lambda r: True, timeout: float = 10.0
    ) -> ReceivedRequest:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for request in self.requests:
                    if predicate(request):
                        return request
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    paths = [r.path for r in self.requests]
                    raise AssertionError(f"no matching request within {timeout} s; received: {paths}")
                self._cond.wait(remaining)

    def trace_requests(self) -> list[ReceivedRequest]:
        return [r for r in self.requests if r.traces is not None]

    def metric_requests(self) -> list[ReceivedRequest]:
        return [r for r in self.requests if r.metrics is not None]

    def spans(self) -> list[ReceivedSpan]:
        return list(_iter_spans(self.trace_requests()))

    def metric_names(self) -> set[str]:
        names = set()
        for request in self.metric_requests():
            assert request.metrics is not None
            for rm in request.metrics.resource_metrics:
                for sm in rm.scope_metrics:
                    names.update(m.name for m in sm.metrics)
        return names


def _iter_spans(requests: list[ReceivedRequest]) -> Iterator[ReceivedSpan]:
    for request in requests:
        assert request.traces is not None
        for rs in request.traces.resource_spans:
            resource = attributes(rs.resource.attributes)
            for ss in rs.scope_spans:
                for span in ss.spans:
                    yield ReceivedSpan(
                        name=span.name,
                        attributes=attributes(span.attributes),
                        resource=resource,
                        scope=ss.scope.name,
                        trace_id=span.trace_id.hex(),
                        span_id=span.span_id.hex(),
                        parent_span_id=span.parent_span_id.hex(),
                        kind=span.kind,
                        status_code=span.status.code,
                        status_message=span.status.message,
                    )
