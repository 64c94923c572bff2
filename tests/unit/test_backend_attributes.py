"""The names of their own that Langfuse and MLflow read: valid JSON with their keys, whatever was reported."""

from __future__ import annotations

import json

from arktrace._settings import Settings
from arktrace.conventions.backend_extras import extras_for, write_cost, write_tools, write_usage

BOTH = extras_for(["langfuse", "mlflow"])


def test_tiny_costs_are_valid_json_for_both_backends() -> None:
    attrs: dict = {}
    total = write_cost(attrs, 1.25e-07, 3e-06, "table", BOTH)
    assert total == 1.25e-07 + 3e-06
    assert json.loads(attrs["mlflow.llm.cost"]) == {
        "input_cost": 1.25e-07,
        "output_cost": 3e-06,
        "total_cost": total,
    }
    assert json.loads(attrs["langfuse.observation.cost_details"]) == {
        "input": 1.25e-07,
        "output": 3e-06,
        "total": total,
    }


def test_no_backend_json_without_those_backends() -> None:
    attrs: dict = {"gen_ai.usage.input_tokens": 3}
    write_cost(attrs, 0.1, 0.2, "table", frozenset({"openobserve"}))
    write_usage(attrs, frozenset({"mlflow"}))
    write_tools(attrs, {"tools": [{"type": "function"}]}, Settings(), frozenset({"langfuse"}))
    assert not [k for k in attrs if k.startswith(("langfuse.", "mlflow."))]
    assert attrs["gen_ai.usage.cost"] == attrs["llm.cost.total"]


def test_langfuse_usage_has_only_what_was_reported() -> None:
    attrs: dict = {"gen_ai.usage.input_tokens": 6, "gen_ai.usage.total_tokens": 6}  # an embedding
    write_usage(attrs, BOTH)
    assert json.loads(attrs["langfuse.observation.usage_details"]) == {"input": 6, "total": 6}
    attrs = {
        "gen_ai.usage.input_tokens": 10,
        "gen_ai.usage.output_tokens": 4,
        "gen_ai.usage.cache_creation.input_tokens": 7,
    }
    write_usage(attrs, BOTH)
    assert json.loads(attrs["langfuse.observation.usage_details"]) == {
        "input": 3,
        "output": 4,
        "input_cache_creation": 7,
    }
    attrs = {}
    write_usage(attrs, BOTH)  # no usage reported: nothing, not zeros
    assert attrs == {}


def test_mlflow_tools_only_whole_and_only_with_content() -> None:
    tool = {"type": "function", "function": {"name": "f", "description": "x" * 200}}
    attrs: dict = {}
    write_tools(attrs, {"tools": [tool]}, Settings(max_value_length=100), BOTH)
    assert attrs == {}  # a cut JSON list would be no list at all
    write_tools(attrs, {"tools": [tool]}, Settings(capture_content=False), BOTH)
    assert attrs == {}
    write_tools(attrs, {"tools": [tool]}, Settings(), BOTH)
    assert json.loads(attrs["mlflow.chat.tools"]) == [tool]


def test_no_langfuse_usage_json_where_openobserve_reads_the_same_span() -> None:
    """OpenObserve also reads langfuse.observation.usage_details (extractors/usage.rs): its "input"
    (cached tokens excluded) would replace OpenObserve's own input count (cached included)."""
    attrs: dict = {"gen_ai.usage.input_tokens": 10, "gen_ai.usage.cache_read.input_tokens": 4}
    write_usage(attrs, extras_for(["langfuse", "openobserve"]))
    assert "langfuse.observation.usage_details" not in attrs
    write_cost(attrs, 0.1, 0.2, "table", extras_for(["langfuse", "openobserve"]))
    assert "langfuse.observation.cost_details" in attrs  # the same numbers for both


def test_embeddings_summary_is_written_for_mlflow_only():
    from arktrace._settings import Settings
    from arktrace.conventions.backend_extras import write_output_summary
    from arktrace.operations import CHAT, EMBEDDINGS

    summary = EMBEDDINGS.output_summary

    response = {
        "model": "doubao-embedding",
        "data": [{"embedding": [0.1, 0.2, 0.3]}, {"embedding": [0.4] * 3}],
    }
    for backends, expected in ((frozenset({"mlflow"}), True), (frozenset({"langfuse"}), False)):
        attrs: dict = {}
        write_output_summary(attrs, summary, response, Settings(), backends)
        assert ("output.value" in attrs) is expected
    attrs = {}
    write_output_summary(attrs, summary, response, Settings(), frozenset({"mlflow"}))
    assert json.loads(attrs["output.value"]) == {
        "model": "doubao-embedding",
        "embeddings": 2,
        "dimensions": 3,
    }
    attrs = {}
    write_output_summary(attrs, summary, response, Settings(capture_content=False), frozenset({"mlflow"}))
    assert attrs == {}
    write_output_summary(attrs, CHAT.output_summary, response, Settings(), frozenset({"mlflow"}))
    assert attrs == {}
