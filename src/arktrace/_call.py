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
from typing import Any, NamedTuple

from opentelemetry import context as otel_context
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer, set_span_in_context

from ._attributes import write_attributes
from ._content import get
from ._context import current_scope
from ._endpoint import Endpoint
from ._extract import (
    EMBEDDINGS,
    Operation,
    error_attributes,
    error_description,
    error_type,
    exception_attributes,
    request_attributes,
    request_id_attributes,
    response_attributes,
    set_arguments,
)
from ._faults import report_fault
from ._metrics import Metrics
from ._prices import PriceTable
from ._settings import Settings
from ._stream_state import ChatStreamState, StreamState

# Set in the context while a patched method runs, so a patched method that calls another one
# (``parse`` → ``create`` in some SDK versions) yields one span, not two.
IN_CALL_KEY = otel_context.create_key("arktrace-in-call")
RAW_RESPONSE_HEADER = "X-Stainless-Raw-Response"
_OK = Status(StatusCode.OK)


class Recorder(NamedTuple):
    """What every call records into, fixed when ``instrument()`` runs."""

    tracer: Tracer
    metrics: Metrics
    prices: PriceTable
    settings: Settings


class Call:
    __slots__ = (
        "__weakref__",
        "args",
        "ended",
        "endpoint",
        "headers",
        "id_header",
        "op",
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
        id_header: str = "x-request-id",
    ) -> None:
        self.recorder = recorder
        self.op = op
        self.endpoint = endpoint
        self.id_header = id_header  # which response header the SDK's parsed ``_request_id`` holds
        self.headers: Any = None  # the HTTP response's headers, when the SDK hands them over
        self.ended = False
        self.stream_usage_added = False
        self.streaming = False  # an ObservedStream owns the end
        args = self.args = set_arguments(kwargs)
        headers = kwargs.get("extra_headers")
        self.raw_mode = headers.get(RAW_RESPONSE_HEADER) if isinstance(headers, dict) else None
        model = args.get("model")
        scope = current_scope()
        if scope is not None and scope.call_name:
            name = scope.call_name
        else:
            name = f"{op.name} {model}" if model else op.name
        self.start_ns = time_ns()
        self.span = recorder.tracer.start_span(name, kind=SpanKind.CLIENT, start_time=self.start_ns)
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
            elif self.args.get("stream") is True and hasattr(result, "_iterator"):
                ObservedStream.attach(self, result)
            else:
                self.finish(result)
        except Exception:
            report_fault("reading a response")
            self.end()
        return result

    def finish(self, response: Any) -> None:
        """End with a complete response (an SDK model, or a dict)."""
        if self.ended:
            return
        failure = None
        try:
            attrs = response_attributes(self.op, response, self.recorder.settings, self.recording)
            request_id = get(response, "_request_id")
            if isinstance(request_id, str) and request_id:
                attrs[f"http.response.header.{self.id_header}"] = (request_id,)
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
        if self.ended:
            return
        if error is None:
            error = state.failure  # an error the provider reported as an event of the stream
        attrs: dict[str, Any] = {}
        ttft = per_chunk = None
        try:
            if state.response_id is not None or state.choices or state.usage is not None:
                attrs = response_attributes(
                    self.op, state.as_response(), self.recorder.settings, self.recording
                )
            if state.first_output_at is not None:
                ttft = state.first_output_at - self.start_perf
                first_ns = self.start_ns + int(ttft * 1e9)
                attrs["gen_ai.response.time_to_first_chunk"] = ttft
                attrs["langfuse.observation.completion_start_time"] = datetime.fromtimestamp(
                    first_ns / 1e9, tz=timezone.utc
                ).isoformat()
                if complete and state.output_chunks > 1:
                    per_chunk = (perf_counter() - state.first_output_at) / (state.output_chunks - 1)
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
        if self.ended:
            return
        self.ended = True
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
                    settings = self.recorder.settings
                    span.record_exception(error, attributes=exception_attributes(error, settings))
                    description = error_description(error, settings.capture_content)
                    span.set_status(Status(StatusCode.ERROR, description))
                else:
                    span.set_status(_OK)
            self._record_metrics(attrs, error, duration, ttft, per_chunk, cost)
        except Exception:
            report_fault("finishing a span")
        try:
            span.end()
        except Exception:
            report_fault("ending a span")

    def _cost(self, attrs: dict[str, Any]) -> float | None:
        """Price the call from its measured tokens; write the cost attributes; None if unpriced."""
        priced = self.recorder.prices.cost(
            attrs.get("gen_ai.response.model"),
            self.args.get("model"),
            attrs.get("gen_ai.usage.input_tokens"),
            attrs.get("gen_ai.usage.output_tokens", 0 if self.op is EMBEDDINGS else None),
            attrs.get("gen_ai.usage.cache_read.input_tokens"),
        )
        if priced is None:
            return None
        prompt_cost, completion_cost = priced
        total = prompt_cost + completion_cost
        attrs["gen_ai.usage.cost"] = total
        attrs["llm.cost.prompt"] = prompt_cost
        attrs["llm.cost.completion"] = completion_cost
        attrs["llm.cost.total"] = total
        attrs["arktrace.cost.price_table"] = self.recorder.prices.label
        return total

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
            "gen_ai.operation.name": self.op.name,
            "gen_ai.provider.name": endpoint.provider,
        }
        model = self.args.get("model")
        if isinstance(model, str):
            point["gen_ai.request.model"] = model
        response_model = attrs.get("gen_ai.response.model")
        if response_model:
            point["gen_ai.response.model"] = response_model
        if endpoint.address:
            point["server.address"] = endpoint.address
        if endpoint.port:
            point["server.port"] = endpoint.port
        if error is not None:
            point["error.type"] = error_type(error)
        self.recorder.metrics.record(
            point,
            duration,
            attrs.get("gen_ai.usage.input_tokens"),
            attrs.get("gen_ai.usage.output_tokens"),
            ttft,
            per_chunk,
            cost,
        )


def new_stream_state(op: Operation, limit: int) -> StreamState:
    return (op.stream_state or ChatStreamState)(limit)


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
        self._state = new_stream_state(call.op, call.recorder.settings.max_value_length)
        self._record = self._state.record
        self._hide_usage = hide_usage
        if hide_usage:
            self._record = self._first_record  # decides on the first chunk, then steps aside
        self._busy = False  # inside the SDK's iterator: a close then is the SDK's own tidying up

    @classmethod
    def attach(cls, call: Call, stream: Any) -> None:
        call.streaming = True
        call.headers = stream.response.headers
        observer = cls(call, stream._iterator, call.stream_usage_added)
        stream._iterator = observer
        _on_close(stream.response, observer._closed)

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
                if self._record(chunk) and self._hide_usage:
                    if not getattr(chunk, "choices", None):
                        continue  # the usage-only chunk arktrace asked for: not the caller's
                    chunk.usage = None  # on a content chunk, asked for by arktrace (DeepSeek's layout)
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
                if self._record(chunk) and self._hide_usage:
                    if not getattr(chunk, "choices", None):
                        continue
                    chunk.usage = None
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
    fields = getattr(chunk, "__pydantic_fields_set__", None)
    if fields is None:  # pydantic 1 (read only there: pydantic 2 warns on this name)
        fields = getattr(chunk, "__fields_set__", ())
    return "usage" in fields and getattr(chunk, "usage", None) is None


def _on_close(http_response: Any, callback: Any) -> None:
    """Run ``callback`` after ``http_response`` is closed, by the caller or by the SDK."""
    for name in ("close", "aclose"):
        original = getattr(http_response, name, None)
        if original is None:
            continue
        if inspect.iscoroutinefunction(original):

            async def closer(_original: Any = original) -> Any:
                try:
                    return await _original()
                finally:
                    callback()

        else:

            def closer(_original: Any = original) -> Any:
                try:
                    return _original()
                finally:
                    callback()

        setattr(http_response, name, closer)


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
        call.span.set_attribute("http.response.status_code", http_response.status_code)
    # "raw" from .with_raw_response in openai >= 1.x's new helpers, "true" from the legacy ones.
    if call.raw_mode in ("raw", "true") and call.args.get("stream") is not True:
        try:
            body = json.loads(http_response.content)
        except Exception:
            body = None
        if isinstance(body, dict):
            call.finish(body)
        else:
            call.end()
        return

    watch = _RawWatch(call, response)
    response.parse = watch.async_parse if inspect.iscoroutinefunction(watch.original) else watch.parse
    _on_close(http_response, watch.closed)
    weakref.finalize(response, watch.closed)


class _RawWatch:
    """Follows one raw response: its ``parse()`` results, and its closing."""

    __slots__ = ("call", "original", "parsing", "response")

    def __init__(self, call: Call, response: Any) -> None:
        self.call = call
        # The class's function and a weak reference, not the bound method: that would keep the
        # response alive from its own finaliser, which would then never run.
        self.original = type(response).parse
        self.response = weakref.ref(response)
        self.parsing = False

    def parse(self, *args: Any, **kwargs: Any) -> Any:
        self.parsing = True  # parse() reads the body, and reading to the end closes the response
        try:
            parsed = self.original(self.response(), *args, **kwargs)
        finally:
            self.parsing = False
        return self._observe(parsed)

    async def async_parse(self, *args: Any, **kwargs: Any) -> Any:
        self.parsing = True
        try:
            parsed = await self.original(self.response(), *args, **kwargs)
        finally:
            self.parsing = False
        return self._observe(parsed)

    def _observe(self, parsed: Any) -> Any:
        try:
            if hasattr(parsed, "_iterator") and hasattr(parsed, "response"):
                ObservedStream.attach(self.call, parsed)
            elif not isinstance(parsed, (str, bytes)):
                self.call.finish(parsed)
        except Exception:
            report_fault("reading a parsed raw response")
        return parsed

    def closed(self) -> None:
        if not self.parsing and not self.call.streaming:
            self.call.end()
