"""The ``gen_ai.client.inference.operation.details`` event: a call's content as a log record.

Emitted only under OpenTelemetry's event capture modes (``EVENT_ONLY``, ``SPAN_AND_EVENT`` in
``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``), through the OpenTelemetry Logs API with the
call's span as its context, so a backend correlates it with the trace. The event's attributes are the
conventions' list for it (semantic-conventions-genai ``docs/gen-ai/gen-ai-events.md``): what the span
says of operation, provider, models, finish reasons, tokens and error, and the content in the GenAI
JSON form, which with ``EVENT_ONLY`` is written here and not on the span.
"""

from __future__ import annotations

from typing import Any

from opentelemetry.trace import set_span_in_context

from ._content import fields_of
from ._version import __version__

EVENT_NAME = "gen_ai.client.inference.operation.details"
# Span attributes the event repeats (Required / Recommended / Conditionally Required in its table).
_FROM_SPAN = (
    "gen_ai.operation.name",
    "gen_ai.provider.name",
    "gen_ai.request.model",
    "gen_ai.response.model",
    "gen_ai.response.id",
    "gen_ai.response.finish_reasons",
    "gen_ai.response.time_to_first_chunk",
    "gen_ai.request.max_tokens",
    "gen_ai.request.temperature",
    "gen_ai.request.top_p",
    "gen_ai.request.frequency_penalty",
    "gen_ai.request.presence_penalty",
    "gen_ai.request.seed",
    "gen_ai.request.stop_sequences",
    "gen_ai.request.choice.count",
    "gen_ai.request.stream",
    "gen_ai.output.type",
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.output_tokens",
    "gen_ai.usage.cache_read.input_tokens",
    "gen_ai.usage.cache_creation.input_tokens",
    "gen_ai.usage.reasoning.output_tokens",
    "server.address",
    "server.port",
    "error.type",
)
_logger: Any = None


def _get_logger() -> Any:
    # The global LoggerProvider at the first event: init() sets it up before any call when it exports
    # logs; an application's own provider is used as it is.
    global _logger
    if _logger is None:
        from opentelemetry._logs import get_logger

        _logger = get_logger("arktrace", __version__)
    return _logger


def use(logger_provider: Any) -> None:
    """Emit through ``logger_provider`` (the one ``init()`` exports logs with), whatever the global is."""
    global _logger
    _logger = logger_provider.get_logger("arktrace", __version__)


def reset() -> None:
    """Forget the logger (at uninstrument), so the next instrument() uses the provider set by then."""
    global _logger
    _logger = None


def emit(span: Any, op: Any, args: dict[str, Any], response: Any, attrs: dict[str, Any], limit: int) -> None:
    """Emit the event for one finished call of operation ``op``. ``attrs`` are the span's attributes;
    ``response`` is the complete response (None when the call failed before one)."""
    from opentelemetry._logs import LogRecord

    event = {name: attrs[name] for name in _FROM_SPAN if name in attrs}
    if op.genai_request is not None:
        event.update(op.genai_request(args, limit))
    if op.genai_response is not None and response is not None:
        event.update(op.genai_response(fields_of(response), limit))
    try:
        record = LogRecord(event_name=EVENT_NAME, context=set_span_in_context(span), attributes=event)
    except TypeError:  # opentelemetry-api before 1.35: the name as an attribute, the span by its ids
        context = span.get_span_context()
        record = LogRecord(
            trace_id=context.trace_id,
            span_id=context.span_id,
            trace_flags=context.trace_flags,
            attributes={"event.name": EVENT_NAME, **event},
        )
    _get_logger().emit(record)
