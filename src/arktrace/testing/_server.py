"""The HTTP side of the fake ModelArk server: sockets, framing, faults and the request log."""

from __future__ import annotations

import contextlib
import json
import selectors
import socket
import sys
import threading
import time
import traceback
import urllib.parse
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .._endpoint import accept_stream_usage
from . import scripts
from .scripts import _common as s

# Socket errors in a handler mean the client went away (or the server is stopping): stay quiet.
_QUIET_ERRORS = (OSError,)
_PREFIX = "/api/v3"


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it."""

    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: Any  # parsed JSON, or None when the body is empty or not JSON
    raw: bytes


@dataclass(frozen=True)
class _Scripted:
    status: int
    payload: bytes | list[bytes]  # a body, or the data of each SSE event
    done: bool


class ModelArkServer:
    """A local server that speaks ModelArk's ``/api/v3`` wire format (chat and legacy completions,
    streamed or not, the Responses API, embeddings, multimodal embeddings, Seedream image generation,
    Seedance video tasks, bot chat, tokenization and ModelArk error bodies).

    Use it as a context manager or call ``start()``/``stop()``; point an OpenAI client at
    ``base_url``. ``api_key``, ``latency``, ``chunk_interval``, ``usage_style``, ``cached_tokens``
    and ``reply`` are plain attributes and may be changed while the server runs.

    ``reply`` is the assistant's text: a string, a function of the request body returning a
    string, or None for the default echo of the last user message.

    ``task_polls`` is ``(queued, running)``: how many ``GET`` s of a video task answer ``queued``, then
    ``running``, before it ends ``succeeded`` (or ``failed``). ``(0, 0)``: done at the first ``GET``.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        api_key: str | None = None,
        latency: float = 0.0,
        chunk_interval: float = 0.0,
        endpoints: Mapping[str, str] | None = None,
        usage_style: str = "modelark",
        cached_tokens: int = 0,
        reply: s.Reply = None,
        task_polls: tuple[int, int] = (1, 1),
    ) -> None:
        if usage_style not in s.USAGE_STYLES:
            styles = ", ".join(s.USAGE_STYLES)
            raise ValueError(f"usage_style must be one of {styles}, not {usage_style!r}")
        self.host = host
        self.api_key = api_key
        self.latency = latency
        self.chunk_interval = chunk_interval
        self.usage_style = usage_style
        self.cached_tokens = cached_tokens
        self.reply = reply
        self.task_polls = task_polls
        self.models: dict[str, str] = dict(s.DEFAULT_ENDPOINTS)
        self.models.update(endpoints or {})
        self.requests: list[RecordedRequest] = []
        self._requested_port = port
        self._port: int | None = None
        self._lock = threading.Lock()
        self._faults: deque[tuple[int, str | None]] = deque()
        self._midstream: deque[int] = deque()
        self._contexts: dict[str, Any] = {}  # context id -> what /context/create stored
        self._tasks: dict[str, Any] = {}  # video task id -> the task (scripts/video_tasks.py)
        self._scripted: deque[_Scripted] = deque()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("ModelArkServer has not been started; call start() or use it in a with block")
        return self._port

    @property
    def base_url(self) -> str:
        host = self.host
        if host in ("", "0.0.0.0"):
            host = "127.0.0.1"
        elif host == "::":
            host = "::1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}{_PREFIX}"

    def start(self) -> ModelArkServer:
        """Bind and serve in a daemon thread (a no-op when already running)."""
        if self._httpd is not None:
            return self
        server_class = _HTTPServer6 if ":" in self.host else _HTTPServer
        httpd = server_class((self.host, self._requested_port), _Handler)
        httpd.app = self
        self._httpd = httpd
        self._port = httpd.server_address[1]
        self._thread = threading.Thread(
            target=httpd.serve_until_stopped, name=f"arktrace-modelark-{self._port}", daemon=True
        )
        self._thread.start()
        # An app (or the demo) calling this server traced gets stream usage as it would from ModelArk.
        accept_stream_usage(self.base_url)
        return self

    def stop(self) -> None:
        """Stop accepting, cut open connections and wait for the accept loop (never blocks long)."""
        httpd, thread = self._httpd, self._thread
        self._httpd = self._thread = None
        if httpd is None:
            return
        httpd.wake()
        if thread is not None:
            thread.join(timeout=5)
        httpd.server_close()
        httpd.close_connections()

    def __enter__(self) -> ModelArkServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.base_url if self._port is not None else "not started"
        return f"<ModelArkServer {where}>"

    # -- test controls -----------------------------------------------------------------------

    def reset(self) -> None:
        """Clear the request log and every pending fault."""
        with self._lock:
            self.requests.clear()
            self._faults.clear()
            self._midstream.clear()
            self._scripted.clear()

    def fail_next(self, status: int, code: str | None = None, *, times: int = 1) -> None:
        """Answer the next ``times`` requests (any path) with a ModelArk error of ``status``.
        ``code`` defaults to the usual code for the status (401 AuthenticationError,
        403 AccessDenied, 404 InvalidEndpointOrModel.NotFound, 429 RateLimitExceeded.EndpointRPMExceeded,
        500 InternalServiceError, 400 InvalidParameter)."""
        if not 400 <= status <= 599:
            raise ValueError(f"status must be an HTTP error status (4xx or 5xx), not {status!r}")
        with self._lock:
            self._faults.extend([(status, code)] * times)

    def fail_mid_stream(self, after_chunks: int = 2, *, times: int = 1) -> None:
        """Make the next ``times`` streamed requests send ``after_chunks`` chunks, then a
        ``data: {"error": ...}`` event (status 200 already sent), and end without ``[DONE]``."""
        if after_chunks < 0:
            raise ValueError("after_chunks must be >= 0")
        with self._lock:
            self._midstream.extend([after_chunks] * times)

    def send_next(
        self,
        body: Any = None,
        *,
        events: Sequence[bytes | str] | None = None,
        status: int = 200,
        done: bool = True,
    ) -> None:
        """Answer the next request (any path) with exactly what is given, whatever it asked for.

        Without ``events``: ``body`` as the JSON body (raw ``bytes`` are sent as they are, so the
        body may be malformed). With ``events``: a ``text/event-stream`` of one ``data:`` event per
        item (``bytes`` sent as they are, so not necessarily UTF-8), then ``data: [DONE]`` unless
        ``done`` is false. For feeding a client the malformed answers real providers sometimes give.
        """
        if events is not None:
            payload = [e if isinstance(e, bytes) else e.encode() for e in events]
        else:
            payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        with self._lock:
            self._scripted.append(_Scripted(status, payload, done))

    @property
    def last_request(self) -> RecordedRequest:
        with self._lock:
            if not self.requests:
                raise LookupError("no request has been received")
            return self.requests[-1]

    # -- request handling --------------------------------------------------------------------

    def _handle(self, h: _Handler) -> None:
        try:
            raw = _read_body(h)
        except ValueError:  # unreadable framing: answer, then drop the connection
            h.close_connection = True
            _send(h, 400, s.error_json(s.invalid("Malformed request body."), s.new_id()).encode(), "")
            return
        headers = {k.lower(): v for k, v in h.headers.items()}
        body: Any = None
        bad_json = False
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                bad_json = True
        with self._lock:
            self.requests.append(RecordedRequest(h.command, h.path, headers, body, raw))
            fault = self._faults.popleft() if self._faults else None
            scripted = self._scripted.popleft() if self._scripted else None

        rid = s.new_id()
        extra = f"x-request-id: {rid}\r\n"
        client_rid = headers.get("x-client-request-id")
        if client_rid:
            extra += f"x-client-request-id: {client_rid}\r\n"
        if h.close_connection:
            extra += "Connection: close\r\n"

        if scripted is not None:
            self._send_scripted(h, scripted, extra)
            return
        try:
            if fault is not None:
                model = body.get("model") if isinstance(body, dict) else None
                raise s.make_error(fault[0], fault[1], model=str(model or "unknown"), action=h.path)
            result = self._route(h, body, bad_json, headers, rid)
        except s.ArkError as err:
            self._sleep_latency()
            _send(h, err.status, s.error_json(err, rid).encode(), extra)
            return
        except Exception:  # a bug in the fake server: show it, and answer like ModelArk would
            traceback.print_exc()
            _send(h, 500, s.error_json(s.make_error(500), rid).encode(), extra)
            return

        self._sleep_latency()
        if isinstance(result, s.EventStream):
            self._send_stream(h, result, rid, extra)
        else:
            _send(h, 200, s.dumps(result).encode(), extra)

    def _sleep_latency(self) -> None:
        if self.latency > 0:
            time.sleep(self.latency)

    def _route(self, h: _Handler, body: Any, bad_json: bool, headers: dict[str, str], rid: str) -> Any:
        if self.api_key is not None and headers.get("authorization") != "Bearer " + self.api_key:
            raise s.make_error(401)
        path, _, query = h.path.partition("?")
        found = _match(h.command, path.rstrip("/"))
        if found is None:
            raise s.make_error(404, "InvalidAction", action=h.path)
        route, params = found
        requested = None
        model, fail_after = "", None
        if route.json:
            if bad_json or not isinstance(body, dict):
                raise s.invalid("The request body is not a valid JSON object.")
            s.require(body, "model")
            requested = body["model"]
            if not isinstance(requested, str):
                raise s.invalid("The parameter model specified in the request is not valid.")
            s.require(body, *route.required)
            model, fail_after = self._resolve(requested, route.default_model)
        call = s.Call(
            self,
            h.command,
            path,
            params,
            urllib.parse.parse_qs(query, keep_blank_values=True),
            body if route.json else None,
            requested,
            model,
            fail_after,
            rid,
            int(time.time()),
        )
        return route.handler(call)

    def _take_midstream(self) -> int | None:
        with self._lock:
            return self._midstream.popleft() if self._midstream else None

    def _send_scripted(self, h: _Handler, scripted: _Scripted, extra: str) -> None:
        if isinstance(scripted.payload, bytes):
            _send(h, scripted.status, scripted.payload, extra)
            return
        events = iter([b"data: " + e + b"\n\n" for e in scripted.payload])
        stream = s.EventStream(events, None, b"data: [DONE]\n\n" if scripted.done else b"")
        self._send_stream(h, stream, "", extra)

    def _resolve(self, requested: str, default: str) -> tuple[str, int | None]:
        model = self.models.get(requested)
        if model is not None:
            return model, None
        if requested == s.MIDSTREAM_MODEL:
            return s.MIDSTREAM_SERVED_BY, s.MIDSTREAM_AFTER
        err = s.magic_error(requested)
        if err is not None:
            raise err
        # Any other name is served, so code written for another provider (gpt-4o, moonshot-v1-8k) runs
        # unchanged; an unknown endpoint id is served by the default endpoint's model, as ModelArk answers
        # with the model behind the endpoint. A missing model is asked for with ep-error-404.
        return (default if requested.startswith("ep-") else requested), None

    def _send_stream(self, h: _Handler, stream: s.EventStream, rid: str, extra: str) -> None:
        chunked = h.request_version != "HTTP/1.0"
        if chunked:
            extra = "Transfer-Encoding: chunked\r\n" + extra
        elif not h.close_connection:  # HTTP/1.0 keep-alive: no chunking, so the end is the close
            h.close_connection = True
            extra += "Connection: close\r\n"
        head = (
            "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
            + extra
            + "\r\n"
        )
        write = h.wfile.write
        write(head.encode("latin-1"))
        interval = self.chunk_interval
        fail_after = stream.fail_after
        sent = 0
        for event in stream.events:
            if fail_after is not None and sent >= fail_after:
                break
            if interval > 0 and sent:
                time.sleep(interval)
            write(b"%x\r\n%s\r\n" % (len(event), event) if chunked else event)
            sent += 1
        last = stream.fail(s.make_error(500), rid, sent) if fail_after is not None else stream.done
        if interval > 0 and sent:
            time.sleep(interval)
        if not last:
            write(b"0\r\n\r\n" if chunked else b"")
        else:
            write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(last), last) if chunked else last)


def _match(method: str, path: str) -> tuple[s.Route, dict[str, str]] | None:
    """The route for ``method path`` and the values of its ``{name}`` segments."""
    route = _EXACT.get((method, path))
    if route is not None:
        return route, {}
    parts = path.split("/")
    for route, template in _TEMPLATED:
        if route.method != method or len(template) != len(parts):
            continue
        params = {}
        for want, got in zip(template, parts):
            if want.startswith("{"):
                if not got:
                    break
                params[want[1:-1]] = urllib.parse.unquote(got)
            elif want != got:
                break
        else:
            return route, params
    return None


_EXACT = {(r.method, _PREFIX + r.path): r for r in scripts.routes() if "{" not in r.path}
_TEMPLATED = tuple((r, (_PREFIX + r.path).split("/")) for r in scripts.routes() if "{" in r.path)


def _read_body(h: BaseHTTPRequestHandler) -> bytes:
    if "chunked" in (h.headers.get("Transfer-Encoding") or "").lower():
        parts = []
        while True:
            size = int(h.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while h.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(parts)
            parts.append(h.rfile.read(size))
            h.rfile.readline()
    length = int(h.headers.get("Content-Length") or 0)
    return h.rfile.read(length) if length > 0 else b""


def _send(h: BaseHTTPRequestHandler, status: int, payload: bytes, extra: str) -> None:
    reason = h.responses.get(status, ("Error",))[0]
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\n{extra}\r\n"
    )
    h.wfile.write(head.encode("latin-1") + payload)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "arktrace-testing"
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        with contextlib.suppress(OSError):  # small SSE writes must not wait for delayed ACKs (Nagle)
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _dispatch(self) -> None:
        try:
            self.server.app._handle(self)
        except _QUIET_ERRORS:  # the client went away; nothing to tell anyone
            self.close_connection = True

    do_POST = do_GET = do_PUT = do_PATCH = do_DELETE = _dispatch

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # the default (5) drops SYNs under bursts of concurrent clients: 1 s stalls
    app: ModelArkServer

    def __init__(self, address: tuple[str, int], handler: type) -> None:
        super().__init__(address, handler)
        self._wake_r, self._wake_w = socket.socketpair()
        self._stopping = False
        self._connections: set[socket.socket] = set()
        self._conn_lock = threading.Lock()

    def serve_until_stopped(self) -> None:
        """Like ``serve_forever`` but woken at once by ``wake()`` instead of polling."""
        with selectors.DefaultSelector() as sel:
            sel.register(self, selectors.EVENT_READ)
            sel.register(self._wake_r, selectors.EVENT_READ)
            while not self._stopping:
                for key, _ in sel.select():
                    if key.fileobj is self and not self._stopping:
                        self._handle_request_noblock()  # what serve_forever() calls: accept + thread

    def wake(self) -> None:
        self._stopping = True
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")

    def server_close(self) -> None:
        super().server_close()
        self._wake_r.close()
        self._wake_w.close()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._conn_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._conn_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._conn_lock:
            conns = list(self._connections)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], _QUIET_ERRORS):
            return
        super().handle_error(request, client_address)


class _HTTPServer6(_HTTPServer):
    address_family = socket.AF_INET6
