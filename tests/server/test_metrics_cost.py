"""GenAI metrics and estimated cost, read back exactly from an in-memory metric reader."""

from __future__ import annotations

import json

import openai
import pytest

import arktrace
from arktrace import ConfigError
from arktrace._prices import load_prices
from harness import ENDPOINT

QUESTION = [{"role": "user", "content": "What is distributed tracing?"}]
SECONDS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)
TOKENS = tuple(float(4**i) for i in range(14))


def _points(reader):
    """{metric name: [(attributes, data point)]}."""
    out = {}
    data = reader.get_metrics_data()
    for rm in data.resource_metrics if data else ():
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                out.setdefault(metric.name, []).extend(
                    (dict(p.attributes), p, metric.unit) for p in metric.data.data_points
                )
    return out


def test_histograms_after_calls_streams_and_failures(client, server, reader, spans):
    server.cached_tokens = 0
    client.chat.completions.create(model=ENDPOINT, messages=QUESTION)  # 5 in, 22 out
    client.chat.completions.create(model=ENDPOINT, messages=QUESTION)
    list(client.chat.completions.create(model=ENDPOINT, messages=QUESTION, stream=True))  # 5 in, 22 out
    server.fail_next(429)
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model=ENDPOINT, messages=QUESTION)
    points = _points(reader)

    ok = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "127.0.0.1",
        "gen_ai.request.model": ENDPOINT,
        "gen_ai.response.model": "seed-1-8-251228",
        "server.address": "127.0.0.1",
        "server.port": server.port,
    }
    durations = {
        tuple(sorted(a.items())): (p, unit) for a, p, unit in points["gen_ai.client.operation.duration"]
    }
    ok_point, unit = durations[tuple(sorted(ok.items()))]
    assert unit == "s" and ok_point.count == 3 and tuple(ok_point.explicit_bounds) == SECONDS
    failed = {**{k: v for k, v in ok.items() if k != "gen_ai.response.model"}, "error.type": "RateLimitError"}
    assert durations[tuple(sorted(failed.items()))][0].count == 1

    tokens = {a["gen_ai.token.type"]: (p, unit) for a, p, unit in points["gen_ai.client.token.usage"]}
    assert tokens["input"][0].count == 3 and tokens["input"][0].sum == 15
    assert tokens["output"][0].count == 3 and tokens["output"][0].sum == 66
    assert tokens["input"][1] == "{token}" and tuple(tokens["input"][0].explicit_bounds) == TOKENS
    # 22 output tokens fall in the (16, 64] bucket, index 3
    assert tokens["output"][0].bucket_counts[3] == 3

    ((attrs, ttft, _),) = points["gen_ai.client.operation.time_to_first_chunk"]
    assert ttft.count == 1 and attrs == ok
    ((_, per_chunk, _),) = points["gen_ai.client.operation.time_per_output_chunk"]
    assert per_chunk.count == 1 and per_chunk.sum > 0
    # metric attributes are bounded: no ids, no content
    for name, series in points.items():
        for attrs, _, _ in series:
            assert not {"gen_ai.response.id", "input.value"} & attrs.keys(), name


def test_stream_metrics_are_recorded_when_the_stream_ends(client, reader, spans):
    stream = client.chat.completions.create(model=ENDPOINT, messages=QUESTION, stream=True)
    assert "gen_ai.client.operation.duration" not in _points(reader)
    for _ in stream:
        pass
    assert _points(reader)["gen_ai.client.token.usage"]


def test_cost_of_a_reasoning_call_with_cached_tokens(client, server, spans, reader):
    server.cached_tokens = 3
    client.chat.completions.create(model=ENDPOINT, messages=QUESTION)
    a = spans.one().attributes
    # seed-1-8: input 0.25, cache hit 0.05, output 2.00 USD per 1M; 5 prompt (3 cached), 22 completion
    prompt_cost = (0.25 * 2 + 0.05 * 3) / 1e6
    completion_cost = 2.00 * 22 / 1e6
    assert a["llm.cost.prompt"] == pytest.approx(prompt_cost, rel=1e-12)
    assert a["llm.cost.completion"] == pytest.approx(completion_cost, rel=1e-12)
    assert a["llm.cost.total"] == a["gen_ai.usage.cost"] == pytest.approx(prompt_cost + completion_cost)
    assert a["arktrace.cost.price_table"].startswith("arktrace built-in")
    ((_, cost, unit),) = _points(reader)["arktrace.client.cost"]
    assert unit == "USD" and cost.value == pytest.approx(prompt_cost + completion_cost)


def test_price_override_changes_the_cost(client, provider, spans, tmp_path, monkeypatch):
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"models": {"seed-1-8": {"input": 1.0, "output": 10.0}}}))
    monkeypatch.setenv("ARKTRACE_PRICES_FILE", str(prices))
    arktrace.uninstrument()
    arktrace.instrument(tracer_provider=provider)
    client.chat.completions.create(model=ENDPOINT, messages=QUESTION)
    a = spans.one().attributes
    assert a["gen_ai.usage.cost"] == pytest.approx((1.0 * 5 + 10.0 * 22) / 1e6)
    assert a["arktrace.cost.price_table"].endswith("+ ARKTRACE_PRICES_FILE")


def test_unknown_model_has_no_cost(client, server, spans):
    server.models["ep-20250101120000-other"] = "someone-elses-model-1"
    client.chat.completions.create(model="ep-20250101120000-other", messages=QUESTION)
    a = spans.one().attributes
    assert a["gen_ai.usage.output_tokens"] > 0
    assert not any("cost" in key for key in a)


def test_a_stream_without_usage_has_no_cost(client, provider, spans):
    arktrace.uninstrument()
    arktrace.instrument(tracer_provider=provider, stream_usage="never")
    list(client.chat.completions.create(model=ENDPOINT, messages=QUESTION, stream=True))
    assert not any("cost" in key for key in spans.one().attributes)


@pytest.mark.parametrize(
    ("model", "prompt", "expected_input_price"),
    [
        ("seed-1-6-250615", 1000, 0.25),
        ("seed-1-6-250615", 200_000, 0.50),  # the long-prompt tier
        ("seed-1-6-flash-250715", 1000, 0.075),  # longest prefix wins over seed-1-6
        ("deepseek-v3-2-251201", 1000, 0.28),
    ],
)
def test_price_tiers_and_prefixes(model, prompt, expected_input_price):
    prompt_cost, completion_cost = load_prices(env={}).cost(model, None, prompt, 0, 0)
    assert prompt_cost == pytest.approx(expected_input_price * prompt / 1e6)
    assert completion_cost == 0


def test_endpoint_map_and_no_guess_beyond_the_last_tier():
    table = load_prices({"endpoints": {"ep-mine": "kimi-k2-250711"}}, env={})
    assert table.cost(None, "ep-mine", 1000, 100, 0) == pytest.approx((0.6e-3, 0.25e-3))
    assert table.cost("deepseek-v3-2-251201", None, 40_000, 1, 0) is None
    assert table.cost("nobody-knows", None, 10, 10, 0) is None


def test_bad_price_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "p.json"
    bad.write_text('{"models": {"x": {"input": "cheap"}}}')
    with pytest.raises(ConfigError, match=r"price of 'x' is not usable"):
        load_prices(env={"ARKTRACE_PRICES_FILE": str(bad)})
    with pytest.raises(ConfigError, match=r"ARKTRACE_PRICES_FILE='/nonexistent\.json' cannot be read"):
        load_prices(env={"ARKTRACE_PRICES_FILE": "/nonexistent.json"})


def test_time_per_chunk_only_for_streams_that_ran_to_the_end(client, reader, spans):
    stream = client.chat.completions.create(model=ENDPOINT, messages=QUESTION, stream=True)
    next(stream)
    next(stream)
    stream.close()
    points = _points(reader)
    assert "gen_ai.client.operation.time_per_output_chunk" not in points
    assert points["gen_ai.client.operation.time_to_first_chunk"][0][1].count == 1
