"""``arktrace.trace``: a parent span for the application's own functions (workflows, agents, tools).

Works as a decorator on functions, coroutines, generators and async generators, and as a context
manager. LLM calls made inside become its children. With content capture on, the arguments and
the return value (or what a generator yielded) are recorded as input and output.
"""

from __future__ import annotations

import functools
import inspect
import traceback
from typing import Any, Callable

from opentelemetry import context as otel_context
from opentelemetry import trace as otel_trace
from opentelemetry.trace import Status, StatusCode

from ._content import to_json, truncate
from ._faults import report_fault
from ._recorder import current_recorder
from ._settings import Settings, load_settings
from ._version import SCHEMA_URL, __version__
from .conventions.names import (
    ERROR_TYPE,
    EXCEPTION_MESSAGE,
    EXCEPTION_STACKTRACE,
    EXCEPTION_TYPE,
    GENAI_AGENT_NAME,
    GENAI_OPERATION,
    GENAI_TOOL_NAME,
    OI_INPUT_MIME_TYPE,
    OI_INPUT_VALUE,
    OI_OUTPUT_MIME_TYPE,
    OI_OUTPUT_VALUE,
    OI_SPAN_KIND,
)
from .operations._errors import error_record

# OpenInference span kind -> the GenAI operation it corresponds to, where one exists.
_KINDS = {
    "CHAIN": "invoke_workflow",
    "AGENT": "invoke_agent",
    "TOOL": "execute_tool",
    "RETRIEVER": None,
    "RERANKER": None,
    "EMBEDDING": None,
    "LLM": None,
    "GUARDRAIL": None,
    "EVALUATOR": None,
}
_settings: Settings | None = None


def _current_tracer() -> Any:
    recorder = current_recorder()
    if recorder is not None:
        return recorder.tracer
    return otel_trace.get_tracer("arktrace", __version__, schema_url=SCHEMA_URL)


def _current_settings() -> Settings:
    recorder = current_recorder()
    if recorder is not None:
        return recorder.settings
    global _settings
    if _settings is None:
        try:
            _settings = load_settings()
        except Exception:
            # A malformed ARKTRACE_* variable is init()'s to report: here it would surface inside the
            # application's own function. Record nothing that capture might have kept out.
            report_fault("reading the settings of arktrace.trace (content is not recorded)")
            _settings = Settings(capture_content=False)
    return _settings


def trace(name: Any = None, *, kind: str = "chain", capture: bool | None = None) -> Any:
    """A span around the application's own code.

    ``@arktrace.trace``, ``@arktrace.trace(name=..., kind="agent")`` on a function, coroutine or
    generator, or ``with arktrace.trace("name", kind="chain") as span:``. ``kind`` is an
    OpenInference span kind (chain, agent, tool, retriever, reranker, embedding, llm, guardrail,
    evaluator). ``capture`` overrides content capture for this span's input and output.

    A traced generator is the generator it wraps, seen from outside: ``send()`` values and
    ``throw()`` reach it, closing the wrapper closes it, and its return value is returned.
    """
    if callable(name) and not isinstance(name, str):  # bare @arktrace.trace
        return _Trace(None, kind, capture)(name)
    return _Trace(name, kind, capture)


class _Kept:
    """What a generator yielded, as JSON parts, kept only up to the value-length limit."""

    __slots__ = ("limit", "parts", "size")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.parts: list[str] = []
        self.size = 0

    def add(self, item: Any) -> None:
        if self.size > self.limit:
            return  # already past what as_json() keeps
        try:
            part = to_json(item)
        except Exception:  # a value JSON cannot express
            part = to_json(repr(item))
        self.parts.append(part)
        self.size += len(part) + 1

    def as_json(self) -> str:
        return truncate("[" + ",".join(self.parts) + "]", self.limit)


class _Trace:
    def __init__(self, name: str | None, kind: str, capture: bool | None) -> None:
        kind_upper = str(kind).upper()
        if kind_upper not in _KINDS:
            expected = ", ".join(k.lower() for k in _KINDS)
            raise ValueError(f"arktrace.trace kind={kind!r}: expected one of {expected}")
        self._name = name
        self._kind = kind_upper
        self._capture = capture
        self._tokens: list[tuple[Any, object]] = []

    # ---------------------------------------------------------------------------------- span
    def _start(self, name: str, func: Callable[..., Any] | None, args: tuple, kwargs: dict) -> Any:
        attrs: dict[str, Any] = {OI_SPAN_KIND: self._kind}
        operation = _KINDS[self._kind]
        if operation:
            attrs[GENAI_OPERATION] = operation
        if self._kind == "TOOL":
            attrs[GENAI_TOOL_NAME] = name
        elif self._kind == "AGENT":
            attrs[GENAI_AGENT_NAME] = name
        try:
            span = _current_tracer().start_span(name, attributes=attrs)
        except Exception:
            report_fault("starting an arktrace.trace span")
            span = otel_trace.INVALID_SPAN
        if func is not None and span.is_recording() and self._capturing():
            try:
                value = _arguments(func, args, kwargs)
                if value:
                    limit = _current_settings().max_value_length
                    span.set_attribute(OI_INPUT_VALUE, truncate(to_json(value), limit))
                    span.set_attribute(OI_INPUT_MIME_TYPE, "application/json")
            except Exception:
                report_fault("recording traced arguments")
        return span

    def _capturing(self) -> bool:
        return self._capture if self._capture is not None else _current_settings().capture_content

    def _kept(self, span: Any) -> _Kept | None:
        """Where a generator's yielded values go: nowhere unless the span records content."""
        try:
            if span.is_recording() and self._capturing():
                return _Kept(_current_settings().max_value_length)
        except Exception:
            report_fault("recording traced output")
        return None

    def _record_output(self, span: Any, value: Any) -> None:
        if value is None or not span.is_recording() or not self._capturing():
            return
        try:
            limit = _current_settings().max_value_length
            if isinstance(value, _Kept):
                if value.parts:
                    span.set_attribute(OI_OUTPUT_VALUE, value.as_json())
                    span.set_attribute(OI_OUTPUT_MIME_TYPE, "application/json")
            elif isinstance(value, str):
                span.set_attribute(OI_OUTPUT_VALUE, truncate(value, limit))
                span.set_attribute(OI_OUTPUT_MIME_TYPE, "text/plain")
            else:
                span.set_attribute(OI_OUTPUT_VALUE, truncate(to_json(value), limit))
                span.set_attribute(OI_OUTPUT_MIME_TYPE, "application/json")
        except Exception:
            report_fault("recording traced output")

    def _finish(self, span: Any, error: BaseException | None) -> None:
        """End the span; never raises, so the caller's own exception is the one that propagates."""
        try:
            if error is not None:
                settings = _current_settings()
                capture = self._capture if self._capture is not None else settings.capture_content
                span.set_attribute(ERROR_TYPE, type(error).__qualname__)
                description, event = _error_record(error, settings, capture)
                span.add_event("exception", event)
                span.set_status(Status(StatusCode.ERROR, description))
            else:
                span.set_status(Status(StatusCode.OK))
        except Exception:
            report_fault("recording an arktrace.trace outcome")
        try:
            span.end()
        except Exception:
            report_fault("ending an arktrace.trace span")

    def _enter(self, span: Any) -> object:
        return otel_context.attach(otel_trace.set_span_in_context(span))

    # ---------------------------------------------------------------------------- context manager
    def __enter__(self) -> Any:
        span = self._start(self._name or "trace", None, (), {})
        self._tokens.append((span, self._enter(span)))
        return span

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        span, token = self._tokens.pop()
        otel_context.detach(token)
        self._finish(span, exc)

    async def __aenter__(self) -> Any:
        return self.__enter__()

    async def __aexit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        self.__exit__(exc_type, exc, tb)

    # ---------------------------------------------------------------------------------- decorator
    def __call__(self, func: Callable[..., Any]) -> Callable[..., Any]:
        name = self._name or func.__qualname__
        start, record, finish, enter, kept = (
            self._start,
            self._record_output,
            self._finish,
            self._enter,
            self._kept,
        )

        if inspect.isasyncgenfunction(func):

            @functools.wraps(func)
            async def traced_agen(*args: Any, **kwargs: Any) -> Any:
                span = start(name, func, args, kwargs)
                items = kept(span)
                error = None
                try:
                    agen = func(*args, **kwargs)
                    sent: Any = None
                    thrown: BaseException | None = None
                    while True:
                        token = enter(span)
                        try:
                            if thrown is not None:
                                item = await agen.athrow(thrown)
                            else:
                                item = await agen.asend(sent)
                        except StopAsyncIteration:
                            break
                        finally:
                            otel_context.detach(token)
                        thrown = None
                        if items is not None:
                            items.add(item)
                        try:
                            sent = yield item
                        except GeneratorExit:
                            await agen.aclose()
                            raise
                        except BaseException as exc:  # athrow() on the wrapper: the inner generator's
                            thrown, sent = exc, None
                except GeneratorExit:
                    raise  # the consumer stopped early (aclose): not a failure, as for sync generators
                except BaseException as exc:
                    error = exc
                    raise
                finally:
                    record(span, items)
                    finish(span, error)

            return traced_agen

        if inspect.isgeneratorfunction(func):

            @functools.wraps(func)
            def traced_gen(*args: Any, **kwargs: Any) -> Any:
                span = start(name, func, args, kwargs)
                items = kept(span)
                error = None
                try:
                    gen = func(*args, **kwargs)
                    sent: Any = None
                    thrown: BaseException | None = None
                    while True:
                        token = enter(span)
                        try:
                            item = gen.throw(thrown) if thrown is not None else gen.send(sent)
                        except StopIteration as stop:
                            if items is not None and stop.value is not None:
                                items.add(stop.value)
                            return stop.value
                        finally:
                            otel_context.detach(token)
                        thrown = None
                        if items is not None:
                            items.add(item)
                        try:
                            sent = yield item
                        except GeneratorExit:
                            gen.close()
                            raise
                        except BaseException as exc:  # throw() on the wrapper: the inner generator's
                            thrown, sent = exc, None
                except GeneratorExit:
                    raise  # the consumer stopped early (close): not a failure
                except BaseException as exc:
                    error = exc
                    raise
                finally:
                    record(span, items)
                    finish(span, error)

            return traced_gen

        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def traced_async(*args: Any, **kwargs: Any) -> Any:
                span = start(name, func, args, kwargs)
                token = enter(span)
                error = None
                try:
                    result = await func(*args, **kwargs)
                    record(span, result)
                    return result
                except BaseException as exc:
                    error = exc
                    raise
                finally:
                    otel_context.detach(token)
                    finish(span, error)

            return traced_async

        @functools.wraps(func)
        def traced(*args: Any, **kwargs: Any) -> Any:
            span = start(name, func, args, kwargs)
            token = enter(span)
            error = None
            try:
                result = func(*args, **kwargs)
                record(span, result)
                return result
            except BaseException as exc:
                error = exc
                raise
            finally:
                otel_context.detach(token)
                finish(span, error)

        return traced


def _error_record(error: BaseException, settings: Settings, capture: bool) -> tuple[str, dict[str, Any]]:
    """The status description and ``exception`` event: with capture off the type alone (an
    application's exception may hold what it was working on), else the message with any credential a
    failed LLM call inside quoted back cut (the same cut as on that call's span)."""
    if not capture:
        event = {
            EXCEPTION_TYPE: type(error).__qualname__,
            EXCEPTION_MESSAGE: "(not recorded: content capture is off)",
            EXCEPTION_STACKTRACE: _stack_without_message(error),
        }
        return type(error).__qualname__, event
    record = error_record(error, settings._replace(capture_content=True))
    return record.description, record.event


def _stack_without_message(error: BaseException) -> str:
    lines = traceback.format_tb(error.__traceback__)
    lines.append(f"{type(error).__module__}.{type(error).__qualname__}\n")
    return "".join(lines)


def _arguments(func: Callable[..., Any], args: tuple, kwargs: dict) -> dict[str, Any]:
    try:
        bound = inspect.signature(func).bind_partial(*args, **kwargs)
    except (TypeError, ValueError):
        return {"args": list(args), **kwargs} if args or kwargs else {}
    return {k: v for k, v in bound.arguments.items() if k not in ("self", "cls")}
