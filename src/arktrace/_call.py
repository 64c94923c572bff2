"""One call's span, from just before the request is sent to exactly one end.

A :class:`Call` is created by the patched SDK method. It ends when the response returns, when the
request raises, or, for streams, through :class:`ObservedStream` (exhausted, failed, closed, or
garbage-collected). Every way of ending goes through ``Call._end``, which runs once: whichever
happens first wins, and the span is never ended twice nor left open. Metrics and cost are recorded
there too, so a call is counted exactly when its span ends. No method here raises into the caller:
faults are reported and swallowed.
"""

from __future__ import annotations

import inspect
import json
import weakref
from datetime import datetime, timezone
from time import perf_counter, time_ns
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry.trace import SpanKind, Status, StatusCode, set_span_in_context

from . import _events
from ._attributes import write_attributes
from ._compat import (
    RAW_BODY_MODES,
    RAW_RESPONSE_HEADER,
    class_parse,
    fields_set,
    is_sdk_stream,
    on_close,
    replace_iterator,
    unwatch_parse,
    watch_parse,
)
from ._content import get
from ._context import current_scope
from ._endpoint import Endpoint
from ._extract import request_attributes, response_attributes, set_arguments
from ._faults import report_fault
from ._recorder import Recorder
from ._usage_notice import stream_ended_without_usage
from .conventions.backend_extras import (
    write_completion_start,
    write_cost,
    write_output_summary,
    write_tools,
    write_usage,
)
from .conventions.names import (
    ERROR_TYPE,
    GENAI_OPERATION,
    GENAI_PROVIDER,
    GENAI_REQUEST_MODEL,
    GENAI_RESPONSE_MODEL,
    GENAI_RESPONSE_TIME_TO_FIRST_CHUNK,
    GENAI_SERVER_TTFT,
    GENAI_USAGE_INPUT_TOKENS,
    GENAI_USAGE_OUTPUT_TOKENS,
    HTTP_REQUEST_ID,
    HTTP_STATUS_CODE,
    SERVER_ADDRESS,
    SERVER_PORT,
)
from .operations import Operation
from .operations._common import StreamState
from .operations._errors import error_attributes, error_record, error_type, request_id_attributes

# Set in the context while a patched method runs, so a patched method that calls another one
# (``parse`` → ``create`` in some SDK versions) yields one span, not two.
IN_CALL_KEY = otel_context.create_key("arktrace-in-call")
_OK = Status(StatusCode.OK)


class Call:
    __slots__ = (
        "__weakref__",
        "args",
        "client",
        "endpoint",
        "headers",
        "id_attribute",
        "kwargs",
        "op",
        "open",
        "output",
        "raw_mode",
        "recorder",
        "recording",
        "span",
        "start_ns",
        "start_perf",
        "stream_usage_added",
        "streaming",
    )

    def __init__(
        self,
        recorder: Recorder,
        op: Operation,
        kwargs: dict[str, Any],
        endpoint: Endpoint,
        id_attribute: str = HTTP_REQUEST_ID,
        client: Any = None,
    ) -> None:
        self.recorder = recorder
        # Kept for an error only: what the request carried, to cut from a provider's message.
        self.client = client
        self.kwargs = kwargs
        self.op = op
        self.endpoint = endpoint
        # The attribute of the response header the SDK's parsed ``_request_id`` holds (per SDK).
        self.id_attribute = id_attribute
        self.headers: Any = None  # the HTTP response's headers, when the SDK hands them over
        # Emptied by the one end that wins: list.pop is atomic (one C call under the GIL, the list's own
        # lock in free-threaded builds), so a close on another thread, a finaliser and StopIteration
        # racing cannot both end the span, for the price of a one-item list (a Lock costs more).
        self.open = [True]
        self.stream_usage_added = False
        self.streaming = False  # an ObservedStream owns the end
        self.output: Any = None  # the complete response, kept only for the content event
        args = self.args = set_arguments(kwargs)
        headers = kwargs.get("extra_headers")
        self.raw_mode = headers.get(RAW_RESPONSE_HEADER) if isinstance(headers, dict) else None
        if self.raw_mode is not None or args.get("stream") is True:
            # The span ends after the caller has its hands back (a stream, a response parsed later),
            # and the request attributes are read then: keep the lists and dicts as sent, so a caller
            # appending to `messages` meanwhile is not recorded. One level deep: a message dict the
            # caller edits in place is its own to edit (a deep copy per call would cost far more).
            for key, value in args.items():
                if type(value) is list or type(value) is dict:
                    args[key] = value.copy()
        model = args.get("model")
        scope = current_scope()
        if scope is not None and scope.call_name:
            name = scope.call_name
        else:
            name = f"{op.name} {model}" if model else op.name
        self.start_ns = time_ns()
        links = op.links(args) if op.links is not None else None
        self.span = recorder.tracer.start_span(
            name, kind=SpanKind.CLIENT, start_time=self.start_ns, links=links
        )
        # Request attributes are written with the response ones when the call ends: one write instead
        # of two (nothing reads a span's attributes before it ends and is exported).
        self.recording = self.span.is_recording()
        self.start_perf = perf_counter()

    # -------------------------------------------------------------------------------- request side

    def request_kwargs(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        """The arguments to send: the caller's, plus ``stream_options.include_usage`` where it is due.

        Never mutates the caller's dict. The extra usage chunk this asks for is hidden from the caller
        by :class:`ObservedStream`.
        """
        mode = self.recorder.settings.stream_usage
        if (
            self.op.include_usage
            and self.args.get("stream") is True
            and "stream_options" not in self.args
            and self.raw_mode is None
            and (mode == "always" or (mode == "auto" and self.endpoint.accepts_stream_usage))
        ):
            kwargs = dict(kwargs)
            kwargs["stream_options"] = {"include_usage": True}
            self.stream_usage_added = True
        return kwargs

    def context(self) -> otel_context.Context:
        return otel_context.set_value(IN_CALL_KEY, True, set_span_in_context(self.span))

    # -------------------------------------------------------------------------------- response side

    def returned(self, result: Any) -> Any:
        """Take the SDK's return value; hand it back unchanged (same object, same type)."""
        try:
            if self.raw_mode is not None and hasattr(result, "http_response"):
                _watch_raw_response(self, result)
            elif self.args.get("stream") is True and is_sdk_stream(result):
                ObservedStream.attach(self, result)
            else:
                self.finish(result)
        except Exception:
            report_fault("reading a response")
            self.end()
        return result

    def finish(self, response: Any) -> None:
        """End with a complete response (an SDK model, or a dict)."""
        if not self.open:  # only spares the extraction: _end decides
            return
        failure = None
        try:
            attrs = response_attributes(self.op, response, self.recorder.settings, self.recording)
            if self.recorder.settings.content_events:
                self.output = response
            if self.recorder.backends and self.recording:
                write_output_summary(
                    attrs, self.op.output_summary, response, self.recorder.settings, self.recorder.backends
                )
            request_id = get(response, "_request_id")
            if isinstance(request_id, str) and request_id:
                attrs[self.id_attribute] = (request_id,)
            if self.op.reported_failure is not None:
                failure = self.op.reported_failure(response)
        except Exception:
            report_fault("extracting response attributes")
            attrs = {}
        self._end(attrs, failure)

    def fail(self, error: BaseException) -> None:
        self._end({}, error)

    def end(self) -> None:
        """End with what is already known (a stream closed before it started, a raw response)."""
        self._end({})

    def end_stream(
        self, state: StreamState, error: BaseException | None = None, complete: bool = False
    ) -> None:
        """End a stream's span with what it actually delivered (all of it, or up to an early close).

        ``complete``: the stream ran to its end, so the gaps between chunks are the provider's pace
        (an early close or a drop would stretch the last gap to whenever the caller let go).
        """
        if not self.open:
            return
        if error is None:
            error = state.failure  # an error the provider reported as an event of the stream
        attrs: dict[str, Any] = {}
        ttft = per_chunk = None
        try:
            if state.response_id is not None or state.choices or state.usage is not None:
                response = state.as_response()
                attrs = response_attributes(self.op, response, self.recorder.settings, self.recording)
                if self.recorder.settings.content_events:
                    self.output = response
            if state.first_output_at is not None:
                ttft = state.first_output_at - self.start_perf
                first_ns = self.start_ns + int(ttft * 1e9)
                attrs[GENAI_RESPONSE_TIME_TO_FIRST_CHUNK] = ttft
                # OpenLIT's name, which SigNoz's LLM views were built on (docs/conventions.md)
                attrs[GENAI_SERVER_TTFT] = ttft
                write_completion_start(attrs, datetime.fromtimestamp(first_ns / 1e9, tz=timezone.utc))
                if complete and state.output_chunks > 1:
                    per_chunk = (perf_counter() - state.first_output_at) / (state.output_chunks - 1)
            if (
                complete
                and GENAI_USAGE_OUTPUT_TOKENS not in attrs
                and self.op.include_usage
                and self.raw_mode is None
                and "stream_options" not in self.args
                and self.recorder.settings.stream_usage != "never"
            ):
                stream_ended_without_usage(self.endpoint, self.stream_usage_added)
        except Exception:
            report_fault("extracting stream attributes")
        self._end(attrs, error, ttft, per_chunk)

    def _end(
        self,
        attrs: dict[str, Any],
        error: BaseException | None = None,
        ttft: float | None = None,
        per_chunk: float | None = None,
    ) -> None:
        try:
            self.open.pop()
        except IndexError:
            return  # another end got here first
        duration = perf_counter() - self.start_perf
        span = self.span
        try:
            cost = self._cost(attrs)
            if self.recording:
                all_attrs = request_attributes(self.op, self.args, self.endpoint, self.recorder.settings)
                if self.headers is not None:
                    all_attrs.update(request_id_attributes(self.headers))
                all_attrs.update(attrs)
                if error is not None:
                    all_attrs.update(error_attributes(error))
                write_attributes(span, all_attrs)
                if error is not None:
                    record = error_record(error, self.recorder.settings, self.client, self.kwargs)
                    span.record_exception(error, attributes=record.event)
                    span.set_status(Status(StatusCode.ERROR, record.description))
                else:
                    span.set_status(_OK)
            if error is None and self.op.ended is not None:
                self.op.ended(span.get_span_context(), attrs)
            self._record_metrics(attrs, error, duration, ttft, per_chunk, cost)
        except Exception:
            report_fault("finishing a span")
        if self.recorder.settings.content_events:
            try:
                written = all_attrs if self.recording else attrs
                limit = self.recorder.settings.max_value_length
                _events.emit(span, self.op, self.args, self.output, written, limit)
            except Exception:
                report_fault("emitting the content event")
        try:
            span.end()
        except Exception:
            report_fault("ending a span")

    def _cost(self, attrs: dict[str, Any]) -> float | None:
        """Price the call by its operation's unit; write the cost, and the names of their own that the
        configured backends read (``backend_extras``); None if unpriced."""
        backends = self.recorder.backends
        if backends:
            write_usage(attrs, backends)
            if self.recording:
                write_tools(attrs, self.args, self.recorder.settings, backends)
        priced = self.op.price(self.recorder.prices, attrs, self.args.get("model"))
        if priced is None:
            return None
        return write_cost(attrs, priced[0], priced[1], self.recorder.prices.label, backends)

    def _record_metrics(
        self,
        attrs: dict[str, Any],
        error: BaseException | None,
        duration: float,
        ttft: float | None,
        per_chunk: float | None,
        cost: float | None,
    ) -> None:
        endpoint = self.endpoint
        point: dict[str, Any] = {
            GENAI_OPERATION: self.op.name,
            GENAI_PROVIDER: endpoint.provider,
        }
        model = self.args.get("model")
        if isinstance(model, str):
            point[GENAI_REQUEST_MODEL] = model
        response_model = attrs.get(GENAI_RESPONSE_MODEL)
        if response_model:
            point[GENAI_RESPONSE_MODEL] = response_model
        if endpoint.address:
            point[SERVER_ADDRESS] = endpoint.address
        if endpoint.port:
            point[SERVER_PORT] = endpoint.port
        if error is not None:
            point[ERROR_TYPE] = error_type(error)
        self.recorder.metrics.record(
            point,
            duration,
            attrs.get(GENAI_USAGE_INPUT_TOKENS),
            attrs.get(GENAI_USAGE_OUTPUT_TOKENS),
            ttft,
            per_chunk,
            cost,
        )


class ObservedStream:
    """Stands in for an SDK stream's ``_iterator``: sees every chunk, ends the span exactly once.

    The SDK's ``Stream`` and ``AsyncStream`` read all chunks through ``self._iterator`` (in every
    openai 1.x-3.x release, and in the Ark SDKs), so replacing that one attribute observes the stream
    while the object the caller holds stays the SDK's own class. The stream's HTTP response is watched
    too: closing it (``close()``, leaving a ``with``, the ``.stream()`` helper's exit) ends the span
    right away; a stream dropped without either ends it when collected (``__del__``).
    """

    __slots__ = ("_busy", "_call", "_hide_usage", "_inner", "_record", "_state")

    def __init__(self, call: Call, inner: Any, hide_usage: bool) -> None:
        self._call = call
        self._inner = inner
        self._state: StreamState = call.op.stream_state(call.recorder.settings.max_value_length)
        self._record = self._state.record
        self._hide_usage = hide_usage
        if hide_usage:
            self._record = self._first_record  # decides on the first chunk, then steps aside
        self._busy = False  # inside the SDK's iterator: a close then is the SDK's own tidying up

    @classmethod
    def attach(cls, call: Call, stream: Any) -> None:
        call.streaming = True
        call.headers = stream.response.headers
        observer = replace_iterator(stream, lambda inner: cls(call, inner, call.stream_usage_added))
        on_close(stream.response, observer._closed)

    # The two methods below are the per-chunk path: the observing is inlined, not a helper call.

    def __iter__(self) -> ObservedStream:
        return self

    def __next__(self) -> Any:
        while True:
            self._busy = True
            try:
                chunk = self._inner.__next__()
            except StopIteration:
                self._call.end_stream(self._state, complete=True)
                raise
            except BaseException as error:
                self._call.end_stream(self._state, error)
                raise
            finally:
                self._busy = False
            try:
                if self._record(chunk) and self._hide_usage and self._state.hide_usage(chunk):
                    continue  # the usage-only chunk arktrace asked for: not the caller's
            except Exception:
                report_fault("reading a stream chunk")
            return chunk

    def __aiter__(self) -> ObservedStream:
        return self

    async def __anext__(self) -> Any:
        while True:
            self._busy = True
            try:
                chunk = await self._inner.__anext__()
            except StopAsyncIteration:
                self._call.end_stream(self._state, complete=True)
                raise
            except BaseException as error:
                self._call.end_stream(self._state, error)
                raise
            finally:
                self._busy = False
            try:
                if self._record(chunk) and self._hide_usage and self._state.hide_usage(chunk):
                    continue
            except Exception:
                report_fault("reading a stream chunk")
            return chunk

    def _first_record(self, chunk: Any) -> bool:
        # Hide usage only where arktrace's include_usage provably added it. A server that honours
        # include_usage as OpenAI documents it marks every chunk before the usage one with an explicit
        # `"usage": null` (ModelArk sends that key on every chunk too, and usage only when asked); a
        # server that does not mark its chunks yet sends usage (the OpenAI streams recorded in the
        # SDK's own tests, proxies that always add it) sends it without being asked, so the caller
        # sees it as they would without arktrace. Decided once, on the first chunk: the per-chunk path
        # stays as it was.
        record = self._record = self._state.record
        self._hide_usage = _marks_usage(chunk)
        return record(chunk)

    def _closed(self) -> None:
        # The SDK closes the response from inside its own iteration, after the last chunk or on an
        # error (and the HTTP client again as its byte iterator is finalised, even after the SDK's
        # generator has finished, so the generator's gi_running cannot tell): __next__ / __anext__
        # end the span then, with the right status. Only a close from outside (the caller, a `with`
        # block, the .stream() helper) ends it here.
        if not self._busy:
            self._call.end_stream(self._state)

    def __del__(self) -> None:
        try:
            self._call.end_stream(self._state)
        except Exception:
            pass


def _marks_usage(chunk: Any) -> bool:
    """True when the chunk came with the ``usage`` key, set to null: the mark of a server answering
    ``include_usage`` (a chunk built without the key leaves it out of the model's set fields)."""
    return "usage" in fields_set(chunk) and getattr(chunk, "usage", None) is None


def _watch_raw_response(call: Call, response: Any) -> None:
    """``with_raw_response`` / ``with_streaming_response``: record without reading what the caller reads.

    A raw, non-streamed body is already in memory: it is decoded here and the span ends at once.
    Otherwise the span follows the caller: ``parse()`` returning a stream is observed like any stream,
    ``parse()`` returning a response ends the span with it, and closing or dropping the response
    without parsing ends it with what the headers told.
    """
    http_response = response.http_response
    call.headers = http_response.headers
    if call.span.is_recording():
        call.span.set_attribute(HTTP_STATUS_CODE, http_response.status_code)
    if call.raw_mode in RAW_BODY_MODES and call.args.get("stream") is not True:
        try:
            body = json.loads(http_response.content)
        except Exception:
            body = None
        if isinstance(body, dict):
            call.finish(body)
        else:
            call.end()
        return

    original = class_parse(response)
    watch = (_AsyncRawWatch if inspect.iscoroutinefunction(original) else _RawWatch)(call, response)
    # A bound method of the response, like the SDK's own: whoever keeps it keeps the response alive
    # (the SDK's parse needs it). It is in the response's own dict, a cycle the collector frees; it is
    # removed at the first parse or close, after which the response lives by refcount again.
    watch_parse(response, watch.parse)
    on_close(http_response, watch.closed)
    weakref.finalize(response, watch.closed)


class _RawWatch:
    """Follows one raw response: its first ``parse()`` result, and its closing.

    Holds the response only weakly: the close hook and the finaliser hold this watch, and a strong
    reference from either would keep the response alive until the process exits.
    """

    __slots__ = ("__weakref__", "call", "observed", "original", "parsing", "response")

    def __init__(self, call: Call, response: Any) -> None:
        self.call = call
        self.original = class_parse(response)  # the class's function: a bound one would be strong
        self.response = weakref.ref(response)
        self.parsing = False
        self.observed = False

    def parse(self, response: Any, *args: Any, **kwargs: Any) -> Any:
        self.parsing = True  # parse() reads the body, and reading to the end closes the response
        try:
            parsed = self.original(response, *args, **kwargs)
        finally:
            self.parsing = False
        return self._observe(response, parsed)

    def _observe(self, response: Any, parsed: Any) -> Any:
        # Later parses return the SDK's cached result (already observed) or come after the end.
        self._restore(response)
        if self.observed:
            return parsed
        self.observed = True
        try:
            if is_sdk_stream(parsed) and hasattr(parsed, "response"):
                ObservedStream.attach(self.call, parsed)
            elif not isinstance(parsed, (str, bytes)):
                self.call.finish(parsed)
        except Exception:
            report_fault("reading a parsed raw response")
        return parsed

    def _restore(self, response: Any) -> None:
        """Give the response its class's ``parse`` back (and its refcount lifetime: no more cycle)."""
        try:
            unwatch_parse(response, self.parse)
        except Exception:
            report_fault("restoring a raw response's parse")

    def closed(self) -> None:
        if self.parsing or self.call.streaming:
            return
        self.call.end()
        response = self.response()
        if response is not None:
            self._restore(response)


class _AsyncRawWatch(_RawWatch):
    __slots__ = ()

    async def parse(self, response: Any, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        self.parsing = True
        try:
            parsed = await self.original(response, *args, **kwargs)
        finally:
            self.parsing = False
        return self._observe(response, parsed)
