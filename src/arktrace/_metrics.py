"""GenAI client metrics, recorded once per call when its span ends.

Names, units and advisory bucket boundaries follow the OTel GenAI semantic conventions. Data-point
attributes are bounded: operation, provider, models, server, error type; never content or ids.
Stream metrics are recorded when the stream ends, from what it delivered.
"""

from __future__ import annotations

from typing import Any

from opentelemetry import metrics

from ._version import SCHEMA_URL, __version__
from .conventions.names import (
    ARKTRACE_METRIC_COST,
    GENAI_METRIC_DURATION,
    GENAI_METRIC_TIME_PER_OUTPUT_CHUNK,
    GENAI_METRIC_TIME_TO_FIRST_CHUNK,
    GENAI_METRIC_TOKEN_USAGE,
    GENAI_TOKEN_TYPE,
)

_TOKEN_BUCKETS = [4.0**i for i in range(14)]  # 1, 4, 16, … 67108864
_SECONDS_BUCKETS = [0.01 * 2.0**i for i in range(14)]  # 0.01, 0.02, … 81.92


class Metrics:
    __slots__ = ("cost", "duration", "time_per_chunk", "time_to_first_chunk", "tokens")

    def __init__(self, meter_provider: Any = None) -> None:
        meter = metrics.get_meter("arktrace", __version__, meter_provider, schema_url=SCHEMA_URL)
        self.tokens = meter.create_histogram(
            GENAI_METRIC_TOKEN_USAGE,
            unit="{token}",
            description="Tokens used per call, by gen_ai.token.type (input, output)",
            explicit_bucket_boundaries_advisory=_TOKEN_BUCKETS,
        )
        self.duration = meter.create_histogram(
            GENAI_METRIC_DURATION,
            unit="s",
            description="Duration of a call, from request to the last byte of the response or stream",
            explicit_bucket_boundaries_advisory=_SECONDS_BUCKETS,
        )
        self.time_to_first_chunk = meter.create_histogram(
            GENAI_METRIC_TIME_TO_FIRST_CHUNK,
            unit="s",
            description="Time from the request to the first streamed chunk carrying output",
            explicit_bucket_boundaries_advisory=_SECONDS_BUCKETS,
        )
        self.time_per_chunk = meter.create_histogram(
            GENAI_METRIC_TIME_PER_OUTPUT_CHUNK,
            unit="s",
            description="Mean time between output chunks after the first, one data point per stream",
            explicit_bucket_boundaries_advisory=_SECONDS_BUCKETS,
        )
        self.cost = meter.create_counter(
            ARKTRACE_METRIC_COST,
            unit="USD",
            description="Estimated cost of calls, from measured tokens and the price table",
        )

    def record(
        self,
        attributes: dict[str, Any],
        duration: float,
        input_tokens: int | None,
        output_tokens: int | None,
        ttft: float | None,
        per_chunk: float | None,
        cost: float | None,
    ) -> None:
        self.duration.record(duration, attributes)
        if input_tokens is not None:
            self.tokens.record(input_tokens, {**attributes, GENAI_TOKEN_TYPE: "input"})
        if output_tokens is not None:
            self.tokens.record(output_tokens, {**attributes, GENAI_TOKEN_TYPE: "output"})
        if ttft is not None:
            self.time_to_first_chunk.record(ttft, attributes)
        if per_chunk is not None:
            self.time_per_chunk.record(per_chunk, attributes)
        if cost is not None:
            self.cost.add(cost, attributes)
