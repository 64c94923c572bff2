"""Cost and token attributes under the names each backend's ingestion reads.

The common names (``gen_ai.usage.cost``, ``llm.cost.*``) go on every priced span. Two backends read
cost or usage only from a JSON attribute of their own, and a JSON string per call costs time, so those
are written only when the backend is one ``init()`` exports to (``Recorder.backends``):

- MLflow computes ``mlflow.llm.cost`` from its own model catalog (no ModelArk models) unless the span
  already has it: ``mlflow/tracing/otel/translation/__init__.py`` (``translate_span_when_storing``),
  keys from ``mlflow/tracing/constant.py`` (``CostKey``).
- MLflow renders a chat span's tools from ``mlflow.chat.tools`` (or GenAI's ``gen_ai.tool.definitions``),
  not from OpenInference's ``llm.tools.*``: ``mlflow/tracing/otel/translation/__init__.py``
  (``_get_tool_definitions``), ``genai_semconv.py`` (``TOOL_DEFINITION_KEYS``).
- MLflow makes ``mlflow.traceTag.<key>`` attributes of the root span the trace's tags
  (``mlflow/store/tracking/sqlalchemy_store.py``, ``_log_spans_once``): see ``_context``.
- MLflow's span view shows no output for a span without ``output.value``: an embeddings span gets a
  summary there (model, how many vectors, their dimensions; never the vectors).
- Langfuse reads ``langfuse.observation.cost_details`` before ``gen_ai.usage.cost`` (the total only),
  and ``langfuse.observation.usage_details`` before its own normalisation of ``gen_ai.usage.*`` (which
  older releases lack): ``packages/shared/src/server/otel/OtelIngestionProcessor.ts``
  (``extractCostDetails``, ``extractUsageDetails``).

The JSON is formatted directly (the ``repr`` of a finite float or an int is valid JSON): a third of the
time of ``json.dumps`` for these three or six numbers.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from .._content import clean_json, exportable, fields_of
from .._settings import Settings
from .names import (
    ARKTRACE_PRICE_TABLE,
    GENAI_USAGE_CACHE_CREATION,
    GENAI_USAGE_CACHE_READ,
    GENAI_USAGE_COST,
    GENAI_USAGE_INPUT_TOKENS,
    GENAI_USAGE_OUTPUT_TOKENS,
    GENAI_USAGE_REASONING,
    GENAI_USAGE_TOTAL_TOKENS,
    LANGFUSE_COMPLETION_START,
    LANGFUSE_COST_DETAILS,
    LANGFUSE_USAGE_DETAILS,
    MLFLOW_CHAT_TOOLS,
    MLFLOW_COST,
    OI_COST_COMPLETION,
    OI_COST_PROMPT,
    OI_COST_TOTAL,
    OI_OUTPUT_MIME_TYPE,
    OI_OUTPUT_VALUE,
)

LANGFUSE = "langfuse"
MLFLOW = "mlflow"
LANGFUSE_USAGE = "langfuse usage"
"""Langfuse's usage JSON, kept apart: OpenObserve reads that JSON too, and its ``input`` (cached tokens
excluded, as Langfuse counts) would replace OpenObserve's own (cached included) on the same span."""


def extras_for(backends: Iterable[str]) -> frozenset[str]:
    """What every call writes for the backends ``init()`` exports to (``Recorder.backends``)."""
    names = frozenset(backends)
    extras = names & {LANGFUSE, MLFLOW}
    if LANGFUSE in names and "openobserve" not in names:
        # Langfuse >= 3.168 derives the same keys from gen_ai.usage.* itself; the JSON is for older ones.
        extras |= {LANGFUSE_USAGE}
    return extras


def write_cost(
    attrs: dict[str, Any], prompt_cost: float, completion_cost: float, label: str, backends: frozenset[str]
) -> float:
    """Write the cost of one call in every name a configured backend reads; return the total.

    One writer for every convention's cost names (GenAI, OpenInference, arktrace's, the backends'):
    split per convention, each would compute the same three numbers again for each call."""
    total = prompt_cost + completion_cost
    attrs[GENAI_USAGE_COST] = total
    attrs[OI_COST_PROMPT] = prompt_cost
    attrs[OI_COST_COMPLETION] = completion_cost
    attrs[OI_COST_TOTAL] = total
    attrs[ARKTRACE_PRICE_TABLE] = label
    if backends:
        if MLFLOW in backends:
            attrs[MLFLOW_COST] = (
                f'{{"input_cost":{prompt_cost!r},"output_cost":{completion_cost!r},"total_cost":{total!r}}}'
            )
        if LANGFUSE in backends:
            attrs[LANGFUSE_COST_DETAILS] = (
                f'{{"input":{prompt_cost!r},"output":{completion_cost!r},"total":{total!r}}}'
            )
    return total


def write_completion_start(attrs: dict[str, Any], first_output: datetime) -> None:
    """When a stream's first output arrived, as Langfuse shows it (its time to first token)."""
    attrs[LANGFUSE_COMPLETION_START] = first_output.isoformat()


# Langfuse's usage keys, as its own normalisation of gen_ai.usage.* names them: "input" and "output"
# exclude the cached / cache-write / reasoning tokens listed beside them, "total" is the reported total.
_LANGFUSE_DETAILS = (
    (GENAI_USAGE_TOTAL_TOKENS, "total"),
    (GENAI_USAGE_CACHE_READ, "input_cached_tokens"),
    (GENAI_USAGE_CACHE_CREATION, "input_cache_creation"),
    (GENAI_USAGE_REASONING, "output_reasoning_tokens"),
)


def write_usage(attrs: dict[str, Any], backends: frozenset[str]) -> None:
    """Langfuse's ``usage_details`` JSON, when Langfuse is a backend and the call reported usage."""
    if LANGFUSE_USAGE not in backends:
        return
    prompt = attrs.get(GENAI_USAGE_INPUT_TOKENS)
    completion = attrs.get(GENAI_USAGE_OUTPUT_TOKENS)
    if prompt is None and completion is None:
        return
    parts = []
    if prompt is not None:
        uncached = prompt - attrs.get(GENAI_USAGE_CACHE_READ, 0)
        uncached -= attrs.get(GENAI_USAGE_CACHE_CREATION, 0)
        parts.append(f'"input":{max(uncached, 0)}')
    if completion is not None:
        visible = completion - attrs.get(GENAI_USAGE_REASONING, 0)
        parts.append(f'"output":{max(visible, 0)}')
    for name, key in _LANGFUSE_DETAILS:
        value = attrs.get(name)
        if value is not None:
            parts.append(f'"{key}":{value}')
    attrs[LANGFUSE_USAGE_DETAILS] = "{" + ",".join(parts) + "}"


def write_tools(
    attrs: dict[str, Any], args: dict[str, Any], settings: Settings, backends: frozenset[str]
) -> None:
    """The request's tool definitions as MLflow renders them, when MLflow is a backend."""
    if MLFLOW not in backends or not settings.capture_content:
        return
    tools = args.get("tools")
    if isinstance(tools, list) and tools:
        # A cut JSON list is no list: tools longer than the limit stay in llm.tools.* only.
        text = clean_json(tools, settings.max_value_length)
        if text is not None:
            attrs[MLFLOW_CHAT_TOOLS] = exportable(text)


def write_output_summary(
    attrs: dict[str, Any], summary: Any, response: Any, settings: Settings, backends: frozenset[str]
) -> None:
    """A short ``output.value`` for a response that has no content to record (an operation's
    ``output_summary``: the embeddings' model, count and dimensions), when MLflow is a backend."""
    if MLFLOW in backends and summary is not None and settings.capture_content:
        attrs[OI_OUTPUT_VALUE] = summary(fields_of(response))
        attrs[OI_OUTPUT_MIME_TYPE] = "application/json"
