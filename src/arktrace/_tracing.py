"""``arktrace.trace``: a parent span for the application's own functions (workflows, agents, tools).

Works as a decorator on functions, coroutines, generators and async generators, and as a context
manager. LLM calls made inside become its children. With content capture on, the arguments and
the return value (or what a generator yielded) are recorded as input and output.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable

from opentelemetry import context as otel_context
from opentelemetry import trace as otel_trace
from opentelemetry.trace import Status, StatusCode

from ._content import to_json, truncate
from ._faults import report_fault
from ._settings import Settings, load_settings
from ._version import SCHEMA_URL, __version__

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
    from ._instrument import current_recorder

    recorder = current_recorder()
    if recorder is not None:
        return recorder.tracer
    return otel_trace.get_tracer("arktrace", __version__, schema_url=SCHEMA_URL)


def _current_settings() -> Settings:
    from ._instrument import current_recorder

    recorder = current_recorder()
    if recorder is not None:
        return recorder.settings
    global _settings
    if _settings is None:
        _settings = load_settings()
    return _settings


def trace(name: Any = None, *, kind: str = "chain", capture: bool | None = None) -> Any:
    """A span around the application's own code.

    ``@arktrace.trace``, ``@arktrace.trace(name=..., kind="agent")`` on a function, coroutine or
    generator, or ``with arktrace.trace("name", kind="chain") as span:``. ``kind`` is an
    OpenInference span kind (chain, agent, tool, retriever, reranker, embedding, llm, guardrail,
    evaluator). ``capture`` overrides content capture for this span's input and output.
    """
    if callable(name) and not isinstance(name, str):  # bare @arktrace.trace
        return _Trace(None, kind, capture)(name)
    return _Trace(name, kind, capture)


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
        tracer = _current_tracer()
        attrs: dict[str, Any] = {"openinference.span.kind": self._kind}
        operation = _KINDS[self._kind]
        if operation:
            attrs["gen_ai.operation.name"] = operation
        if self._kind == "TOOL":
            attrs["gen_ai.tool.name"] = name
        elif self._kind == "AGENT":
            attrs["gen_ai.agent.name"] = name
        span = tracer.start_span(name, attributes=attrs)
        if func is not None and span.is_recording() and self._capturing():
            try:
                value = _arguments(func, args, kwargs)
                if value:
                    limit = _current_settings().max_value_length
                    span.set_attribute("input.value", truncate(to_json(value), limit))
                    span.set_attribute("input.mime_type", "application/json")
            except Exception:
                report_fault("recording traced arguments")
        return span

    def _capturing(self) -> bool:
        return self._capture if self._capture is not None else _current_settings().capture_content

    def _record_output(self, span: Any, value: Any) -> None:
        if value is None or not span.is_recording() or not self._capturing():
            return
        try:
            limit = _current_settings().max_value_length
            if isinstance(value, str):
                span.set_attribute("output.value", truncate(value, limit))
                span.set_attribute("output.mime_type", "text/plain")
            else:
                span.set_attribute("output.value", truncate(to_json(value), limit))
                span.set_attribute("output.mime_type", "application/json")
        except Exception:
            report_fault("recording traced output")

    @staticmethod
    def _finish(span: Any, error: BaseException | None) -> None:
        if error is not None:
            span.set_attribute("error.type", type(error).__qualname__)
            span.record_exception(error)
            span.set_status(Status(StatusCode.ERROR, f"{type(error).__qualname__}: {error}"[:1024]))
        else:
            span.set_status(Status(StatusCode.OK))
        span.end()

    # ---------------------------------------------------------------------------- context manager
    def __enter__(self) -> Any:
        span = self._start(self._name or "trace", None, (), {})
        self._tokens.append((span, otel_context.attach(otel_trace.set_span_in_context(span))))
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
        start = self._start
        record = self._record_output
        finish = self._finish

        if inspect.isasyncgenfunction(func):

            @functools.wraps(func)
            async def traced_agen(*args: Any, **kwargs: Any) -> Any:
                span = start(name, func, args, kwargs)
                items: list[Any] = []
                error = None
                try:
                    agen = func(*args, **kwargs)
                    while True:
                        token = otel_context.attach(otel_trace.set_span_in_context(span))
                        try:
                            item = await agen.__anext__()
                        except StopAsyncIteration:
                            break
                        finally:
                            otel_context.detach(token)
                        items.append(item)
                        yield item
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
                items: list[Any] = []
                error = None
                try:
                    gen = func(*args, **kwargs)
                    while True:
                        token = otel_context.attach(otel_trace.set_span_in_context(span))
                        try:
                            item = next(gen)
                        except StopIteration as stop:
                            if stop.value is not None:
                                items.append(stop.value)
                            break
                        finally:
                            otel_context.detach(token)
                        items.append(item)
                        yield item
                except BaseException as exc:
                    error = exc if not isinstance(exc, GeneratorExit) else None
                    raise
                finally:
                    record(span, items)
                    finish(span, error)

            return traced_gen

        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def traced_async(*args: Any, **kwargs: Any) -> Any:
                span = start(name, func, args, kwargs)
                token = otel_context.attach(otel_trace.set_span_in_context(span))
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
            token = otel_context.attach(otel_trace.set_span_in_context(span))
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


def _arguments(func: Callable[..., Any], args: tuple, kwargs: dict) -> dict[str, Any]:
    try:
        bound = inspect.signature(func).bind_partial(*args, **kwargs)
    except (TypeError, ValueError):
        return {"args": list(args), **kwargs} if args or kwargs else {}
    return {k: v for k, v in bound.arguments.items() if k not in ("self", "cls")}
