"""Trace-level context (user, session, tags, metadata) carried by every span started in a scope.

``arktrace.context(...)`` stores one pre-flattened attribute dict in the OpenTelemetry context
(contextvars underneath, so threads and asyncio tasks never see each other's values). A span
processor copies that dict onto each span as it starts, the application's spans included, and
entering a scope also writes it on the span that is current then (a web framework's request span),
because backends read these per span, not only on the root.
"""

from __future__ import annotations

import functools
import inspect
import json
import weakref
from collections.abc import Iterable, Mapping
from typing import Any, Callable, TypeVar

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace import SpanProcessor

from ._recorder import current_recorder
from .conventions.backend_extras import MLFLOW
from .conventions.names import (
    GENAI_CONVERSATION_ID,
    LANGFUSE_SESSION_ID,
    LANGFUSE_TRACE_METADATA_PREFIX,
    LANGFUSE_TRACE_TAGS,
    LANGFUSE_USER_ID,
    MLFLOW_TRACE_TAG_PREFIX,
    OI_METADATA,
    OI_SESSION_ID,
    OI_TAGS,
    OI_USER_ID,
)

_SCOPE_KEY = otel_context.create_key("arktrace-context")
F = TypeVar("F", bound=Callable[..., Any])


class _Scope:
    """The merged values of all enclosing ``context()`` calls, and their span attributes."""

    __slots__ = ("attributes", "call_name", "metadata", "tags", "values")

    def __init__(
        self, values: dict[str, Any], tags: list[str], metadata: dict[str, Any], call_name: str | None
    ) -> None:
        self.values = values
        self.tags = tags
        self.metadata = metadata
        self.call_name = call_name
        attrs: dict[str, Any] = dict(values)
        if tags:
            attrs[OI_TAGS] = list(tags)
            attrs[LANGFUSE_TRACE_TAGS] = list(tags)
        if metadata:
            attrs[OI_METADATA] = json.dumps(metadata, ensure_ascii=False, default=str)
            for key, value in metadata.items():
                attrs[f"{LANGFUSE_TRACE_METADATA_PREFIX}{key}"] = (
                    value if isinstance(value, (str, bool, int, float)) else json.dumps(value, default=str)
                )
        if (tags or metadata) and _exports_to_mlflow():
            # MLflow makes the root span's mlflow.traceTag.<key> attributes the trace's tags
            # (mlflow/store/tracking/sqlalchemy_store.py, _log_spans_once); a tag is a key there.
            for tag in tags:
                attrs[f"{MLFLOW_TRACE_TAG_PREFIX}{tag}"] = "true"
            for key, value in metadata.items():
                attrs[f"{MLFLOW_TRACE_TAG_PREFIX}{key}"] = (
                    value if isinstance(value, str) else json.dumps(value, default=str)
                )
        self.attributes = attrs


def _exports_to_mlflow() -> bool:
    recorder = current_recorder()
    return recorder is not None and MLFLOW in recorder.backends


def current_scope() -> _Scope | None:
    return otel_context.get_value(_SCOPE_KEY)  # type: ignore[return-value]


class context:  # lower-case: used like a function, `with arktrace.context(...)` / `@arktrace.context(...)`
    """Attach user, session, tags and metadata to every span started inside; nestable.

    Inner scopes extend outer ones: tags are added, metadata keys merged, single values replaced.
    ``call_name`` renames the LLM spans arktrace starts inside (the other spans keep their names).
    Extra keyword arguments become span attributes as given.
    """

    def __init__(
        self,
        user_id: str | None = None,
        session_id: str | None = None,
        tags: Iterable[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
        *,
        call_name: str | None = None,
        **attributes: Any,
    ) -> None:
        values: dict[str, Any] = {}
        if user_id is not None:
            values[OI_USER_ID] = str(user_id)
            values[LANGFUSE_USER_ID] = str(user_id)
        if session_id is not None:
            values[OI_SESSION_ID] = str(session_id)
            values[GENAI_CONVERSATION_ID] = str(session_id)
            values[LANGFUSE_SESSION_ID] = str(session_id)
        values.update(attributes)
        self._values = values
        self._tags = [str(t) for t in tags] if tags is not None else []
        self._metadata = dict(metadata) if metadata else {}
        self._call_name = call_name
        self._tokens: list[object] = []

    def _scope(self) -> _Scope:
        outer = current_scope()
        if outer is None:
            return _Scope(dict(self._values), list(self._tags), dict(self._metadata), self._call_name)
        tags = outer.tags + [t for t in self._tags if t not in outer.tags]
        return _Scope(
            {**outer.values, **self._values},
            tags,
            {**outer.metadata, **self._metadata},
            self._call_name or outer.call_name,
        )

    def __enter__(self) -> context:
        scope = self._scope()
        ensure_processor(trace.get_tracer_provider())
        current = trace.get_current_span()
        if current.is_recording():
            current.set_attributes(scope.attributes)
        self._tokens.append(otel_context.attach(otel_context.set_value(_SCOPE_KEY, scope)))
        return self

    def __exit__(self, *exc_info: object) -> None:
        otel_context.detach(self._tokens.pop())

    def __call__(self, func: F) -> F:
        if inspect.isasyncgenfunction(func) or inspect.isgeneratorfunction(func):
            raise TypeError(
                "arktrace.context() decorates functions and coroutines; enter it inside a generator"
            )
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_scoped(*args: Any, **kwargs: Any) -> Any:
                with self._copy():
                    return await func(*args, **kwargs)

            return async_scoped  # type: ignore[return-value]

        @functools.wraps(func)
        def scoped(*args: Any, **kwargs: Any) -> Any:
            with self._copy():
                return func(*args, **kwargs)

        return scoped  # type: ignore[return-value]

    def _copy(self) -> context:
        # A decorator is entered once per call, possibly concurrently: each call gets its own tokens.
        clone = object.__new__(context)
        clone._values, clone._tags, clone._metadata = self._values, self._tags, self._metadata
        clone._call_name, clone._tokens = self._call_name, []
        return clone


class ContextAttributesProcessor(SpanProcessor):
    """Copies the enclosing ``arktrace.context()`` attributes onto every span as it starts."""

    def on_start(self, span: Any, parent_context: otel_context.Context | None = None) -> None:
        scope = otel_context.get_value(_SCOPE_KEY, parent_context)
        if scope is not None:
            span.set_attributes(scope.attributes)

    def on_end(self, span: Any) -> None:
        pass

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


# The processor added to each provider, so that it is added once and can be taken off again.
_added: weakref.WeakKeyDictionary[Any, ContextAttributesProcessor] = weakref.WeakKeyDictionary()


def ensure_processor(provider: Any) -> None:
    """Register the context processor once on an SDK tracer provider (no-op for other providers)."""
    add = getattr(provider, "add_span_processor", None)
    if add is None:
        return
    try:
        if provider in _added:
            return
        processor = _added[provider] = ContextAttributesProcessor()
    except TypeError:  # not weak-referenceable
        return
    add(processor)


def remove_processors() -> None:
    """Take the context processor off every provider it was added to (at uninstrument)."""
    for provider, processor in list(_added.items()):
        if detach_span_processor(provider, processor):
            _added.pop(provider, None)
        # else it stays registered (and known here), so it is never added twice


def detach_span_processor(provider: Any, processor: Any) -> bool:
    """Remove ``processor`` from an SDK ``TracerProvider``; False when the provider cannot do it.

    The SDK has ``add_span_processor`` but no remove: this edits its multi-processor's tuple under the
    lock the SDK itself takes to add one (the same layout from SDK 1.0 on).
    """
    multi = getattr(provider, "_active_span_processor", None)
    lock = getattr(multi, "_lock", None)
    if lock is None or not isinstance(getattr(multi, "_span_processors", None), tuple):
        return False
    with lock:
        multi._span_processors = tuple(p for p in multi._span_processors if p is not processor)
    return True


def current_trace_id() -> str | None:
    """The current trace id as 32 hex digits, or None outside a recorded span."""
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else None


def current_span_id() -> str | None:
    """The current span id as 16 hex digits, or None outside a recorded span."""
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.span_id, "016x") if ctx.is_valid else None
