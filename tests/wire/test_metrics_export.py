"""Metrics exported by init() to an OTLP endpoint, decoded from the protobuf at a local receiver."""

from __future__ import annotations

import openai
import pytest

import arktrace
from harness import ENDPOINT
from otlp_receiver import OTLPReceiver

QUESTION = [{"role": "user", "content": "What is distributed tracing?"}]
SECONDS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92]
TOKENS = [float(4**i) for i in range(14)]


def _histograms(receiver: OTLPReceiver) -> dict[str, list[tuple[dict, object]]]:
    out: dict[str, list[tuple[dict, object]]] = {}
    for request in receiver.metric_requests():
        for rm in request.metrics.resource_metrics:
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    kind = metric.WhichOneof("data")
                    points = getattr(metric, kind).data_points
                    for point in points:
                        attrs = {
                            kv.key: getattr(kv.value, kv.value.WhichOneof("value")) for kv in point.attributes
                        }
                        out.setdefault(metric.name, []).append((attrs, point, metric.unit))
    return out


def test_histograms_are_exact_at_the_receiver(clean_env, receiver, server, monkeypatch):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
    arktrace.uninstrument()
    result = arktrace.init(service_name="metrics-svc", backends=["otlp"], stream_usage="always")
    assert result.metrics
    with openai.OpenAI(api_key="k", base_url=server.base_url, max_retries=0) as client:
        client.chat.completions.create(model=ENDPOINT, messages=QUESTION)  # 5 in, 22 out
        client.chat.completions.create(model=ENDPOINT, messages=QUESTION)
        for _ in client.chat.completions.create(model=ENDPOINT, messages=QUESTION, stream=True):
            pass
        server.fail_next(500)
        with pytest.raises(openai.InternalServerError):
            client.chat.completions.create(model=ENDPOINT, messages=QUESTION)
    assert arktrace.flush(timeout=10)
    receiver.wait_for(lambda r: r.metrics is not None)
    found = _histograms(receiver)

    tokens = {a["gen_ai.token.type"]: (p, unit) for a, p, unit in found["gen_ai.client.token.usage"]}
    assert tokens["input"][0].count == 3 and tokens["input"][0].sum == 15
    assert tokens["output"][0].count == 3 and tokens["output"][0].sum == 66
    assert list(tokens["output"][0].explicit_bounds) == TOKENS and tokens["output"][1] == "{token}"
    assert tokens["output"][0].bucket_counts[3] == 3  # 22 is in (16, 64]

    durations = {a.get("error.type"): p for a, p, _ in found["gen_ai.client.operation.duration"]}
    assert durations[None].count == 3 and durations["InternalServerError"].count == 1
    assert list(durations[None].explicit_bounds) == SECONDS
    ((attrs, ttft, unit),) = found["gen_ai.client.operation.time_to_first_chunk"]
    assert ttft.count == 1 and unit == "s"
    assert attrs == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "127.0.0.1",
        "gen_ai.request.model": ENDPOINT,
        "gen_ai.response.model": "seed-1-8-251228",
        "server.address": "127.0.0.1",
        "server.port": server.port,
    }
    ((_, cost, unit),) = found["arktrace.client.cost"]
    assert unit == "USD" and cost.as_double == pytest.approx(3 * (0.25 * 5 + 2.00 * 22) / 1e6)
