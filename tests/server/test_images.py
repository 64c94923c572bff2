"""Image generation (``images.generate``) on openai and both Ark SDKs, against the bundled server:
sync and async, streamed and not, early exits, errors (a mid-stream one and a refused image among
others), raw responses, capture off, and the caller's results side by side with an uninstrumented
call. Then the extraction functions, table-tested without HTTP.

The half of a missing Ark SDK is deselected (``harness.ark_params``), unless ``ARKTRACE_REQUIRE_ARK_SDKS=1``.
"""

from __future__ import annotations

import base64
import gc
import importlib
import inspect
import json

import openai
import pytest
from opentelemetry.trace import StatusCode

import arktrace
from arktrace._content import response_json
from arktrace._prices import load_prices
from arktrace.operations import IMAGES, operation_for_path
from arktrace.operations._common import output_type
from arktrace.operations.images import (
    ImagesStreamState,
    outcome,
    output_messages,
    price,
    reference_url,
    reported_failure,
)
from harness import ark_params

IMAGE_EP = "ep-20250101120000-image"
SERVED = "seedream-4-5-251128"  # the model the bundled server resolves an image endpoint to
PRICE = 0.04  # seedream-4-5 per image, data/prices.json
SDKS = ("openai", "byteplussdkarkruntime", "volcenginesdkarkruntime")
# Keyword arguments of one SDK only: sent through extra_body with the other.
ARK_ONLY = ("seed", "watermark", "guidance_scale", "sequential_image_generation", "image")
OPENAI_ONLY = ("n",)


def _client(name, server, is_async=False):
    module = importlib.import_module(name)
    if name == "openai":
        cls = module.AsyncOpenAI if is_async else module.OpenAI
    else:
        cls = module.AsyncArk if is_async else module.Ark
    return cls(api_key="test-key", base_url=server.base_url, max_retries=0)


@pytest.fixture(params=ark_params(*SDKS))
def sdk(request):
    return request.param


@pytest.fixture
def any_client(sdk, server):
    client = _client(sdk, server)
    yield client
    client.close()


@pytest.fixture
async def any_aclient(sdk, server):
    client = _client(sdk, server, is_async=True)
    yield client
    await client.close()


def kwargs(sdk, **options):
    """``options`` as the SDK takes them: its own as keywords, the others in extra_body."""
    other = ARK_ONLY if sdk == "openai" else OPENAI_ONLY
    extra = {k: options.pop(k) for k in other if k in options}
    return {**options, "extra_body": extra} if extra else options


def streams(client) -> bool:
    if not isinstance(client, (openai.OpenAI, openai.AsyncOpenAI)):
        return True  # the Ark SDKs stream images in every release
    return "stream" in inspect.signature(client.images.generate).parameters  # not in openai 1.40


def need_stream(client):
    if not streams(client):
        pytest.skip("this openai cannot stream images.generate")


def attrs_of(span):
    return dict(span.attributes)


def everything(span) -> str:
    """All the span says, as one text: attributes, events and status."""
    parts = [json.dumps(dict(span.attributes), default=str), str(span.status.description)]
    parts += [json.dumps(dict(e.attributes), default=str) for e in span.events]
    return "\n".join(parts)


# ------------------------------------------------------------------------------ non-streamed calls


def test_generate_records_request_response_usage_and_cost(any_client, sdk, spans):
    options = dict(model=IMAGE_EP, prompt="a red fox", size="1K", seed=42, watermark=False, n=2)
    if sdk != "openai":
        options["guidance_scale"] = 2.5
    any_client.images.generate(**kwargs(sdk, **options))
    span = spans.one()
    a = attrs_of(span)
    assert span.name == f"generate_content {IMAGE_EP}" and span.status.status_code is StatusCode.OK
    assert a["gen_ai.operation.name"] == "generate_content" and a["gen_ai.output.type"] == "image"
    assert a["gen_ai.request.model"] == IMAGE_EP and a["gen_ai.response.model"] == SERVED
    assert a["gen_ai.request.seed"] == 42 and a["gen_ai.request.choice.count"] == 2
    params = json.loads(a["llm.invocation_parameters"])
    assert params["size"] == "1K" and params["watermark"] is False and params["n"] == 2
    assert sdk == "openai" or params["guidance_scale"] == 2.5
    assert "prompt" not in params
    assert a["input.value"] == "a red fox" and a["input.mime_type"] == "text/plain"
    assert a["llm.input_messages.0.message.contents.0.message_content.text"] == "a red fox"
    assert a["arktrace.image.count"] == 2 and a["arktrace.usage.generated_images"] == 2
    assert a["gen_ai.usage.output_tokens"] == a["gen_ai.usage.total_tokens"] == 2 * 1024 * 1024 // 256
    assert "gen_ai.usage.input_tokens" not in a  # ModelArk reports none: not made up
    urls = [a[f"llm.output_messages.0.message.contents.{i}.message_content.image.image.url"] for i in (0, 1)]
    assert all(url.startswith("https://") and url in a["output.value"] for url in urls)
    assert a["gen_ai.usage.cost"] == pytest.approx(2 * PRICE) and a["llm.cost.prompt"] == 0.0
    assert "arktrace.image.failed_count" not in a


def test_options_not_set_are_not_recorded(any_client, spans):
    any_client.images.generate(model=IMAGE_EP, prompt="a cat")
    a = attrs_of(spans.one())
    assert json.loads(a["llm.invocation_parameters"]) == {"model": IMAGE_EP}
    assert "gen_ai.request.seed" not in a and "gen_ai.request.choice.count" not in a
    assert a["arktrace.image.count"] == 1 and a["gen_ai.usage.cost"] == pytest.approx(PRICE)


def test_b64_json_payload_is_never_recorded_only_its_length(any_client, spans):
    response = any_client.images.generate(model=IMAGE_EP, prompt="a cat", response_format="b64_json")
    payload = response.data[0].b64_json
    assert base64.b64decode(payload).startswith(b"\x89PNG")
    span = spans.one()
    a = attrs_of(span)
    assert payload not in everything(span) and payload[:40] not in everything(span)
    assert f"<{len(payload)} characters of inline data omitted>" in a["output.value"]
    assert a["llm.output_messages.0.message.contents.0.message_content.type"] == "image"
    assert not any(k.endswith("image.image.url") and "output" in k for k in a)
    assert a["arktrace.image.count"] == 1


def test_sequential_generation(any_client, sdk, spans):
    options = {
        "sequential_image_generation": "auto",
        "sequential_image_generation_options": {"max_images": 3},
    }
    if sdk == "openai":
        any_client.images.generate(model=IMAGE_EP, prompt="four seasons", extra_body=options)
    else:
        types = importlib.import_module(sdk + ".types.images")
        any_client.images.generate(
            model=IMAGE_EP,
            prompt="four seasons",
            sequential_image_generation="auto",
            sequential_image_generation_options=types.SequentialImageGenerationOptions(max_images=3),
        )
    a = attrs_of(spans.one())
    params = json.loads(a["llm.invocation_parameters"])
    assert params["sequential_image_generation"] == "auto"
    assert params["sequential_image_generation_options"] == {"max_images": 3}
    assert a["arktrace.image.count"] == a["arktrace.usage.generated_images"] == 3
    assert a["gen_ai.usage.cost"] == pytest.approx(3 * PRICE)


def test_reference_images_as_urls_never_inline(any_client, sdk, spans):
    inline = "data:image/png;base64," + base64.b64encode(b"\x89PNG" + b"x" * 300).decode()
    bare = base64.b64encode(b"y" * 300).decode()
    references = ["https://example.com/ref.png", inline, bare]
    any_client.images.generate(**kwargs(sdk, model=IMAGE_EP, prompt="like these", image=references))
    span = spans.one()
    a = attrs_of(span)
    assert inline[30:80] not in everything(span) and bare[:40] not in everything(span)
    prefix = "llm.input_messages.0.message.contents"
    assert a[f"{prefix}.1.message_content.image.image.url"] == "https://example.com/ref.png"
    assert a[f"{prefix}.2.message_content.image.image.url"].startswith("data:image/png;base64,<")
    assert (
        a[f"{prefix}.3.message_content.image.image.url"] == f"<{len(bare)} characters of inline data omitted>"
    )
    assert "image" not in json.loads(a["llm.invocation_parameters"])


async def test_async_generate(any_aclient, spans):
    response = await any_aclient.images.generate(model=IMAGE_EP, prompt="a cat", size="1K")
    assert response.data[0].url
    a = attrs_of(spans.one())
    assert a["gen_ai.operation.name"] == "generate_content" and a["arktrace.image.count"] == 1
    assert (
        a["llm.output_messages.0.message.contents.0.message_content.image.image.url"] == response.data[0].url
    )


# ------------------------------------------------------------------------------------------ streams


def test_stream(any_client, sdk, spans):
    need_stream(any_client)
    events = list(
        any_client.images.generate(**kwargs(sdk, model=IMAGE_EP, prompt="two cats", stream=True, n=2))
    )
    assert [e.type for e in events][-1] == "image_generation.completed"
    span = spans.one()
    a = attrs_of(span)
    assert span.status.status_code is StatusCode.OK and a["gen_ai.request.stream"] is True
    assert a["gen_ai.output.type"] == "image" and a["gen_ai.response.model"] == SERVED
    assert a["arktrace.image.count"] == a["arktrace.usage.generated_images"] == 2
    assert a["gen_ai.usage.output_tokens"] == 2 * 2048 * 2048 // 256
    assert a["gen_ai.response.time_to_first_chunk"] > 0
    urls = [e.url for e in events[:2]]
    assert [
        a[f"llm.output_messages.0.message.contents.{i}.message_content.image.image.url"] for i in (0, 1)
    ] == urls
    assert a["gen_ai.usage.cost"] == pytest.approx(2 * PRICE)


def test_stream_b64(any_client, spans):
    need_stream(any_client)
    events = list(
        any_client.images.generate(model=IMAGE_EP, prompt="a cat", stream=True, response_format="b64_json")
    )
    payload = events[0].b64_json
    span = spans.one()
    assert payload and payload[:40] not in everything(span)
    assert f"<{len(payload)} characters of inline data omitted>" in attrs_of(span)["output.value"]


async def test_async_stream(any_aclient, sdk, spans):
    need_stream(any_aclient)
    stream = await any_aclient.images.generate(
        **kwargs(sdk, model=IMAGE_EP, prompt="two cats", stream=True, n=2)
    )
    kinds = [event.type async for event in stream]
    assert kinds == ["image_generation.partial_succeeded"] * 2 + ["image_generation.completed"]
    a = attrs_of(spans.one())
    assert a["arktrace.image.count"] == 2 and a["gen_ai.usage.cost"] == pytest.approx(2 * PRICE)


def test_early_exit_then_close(any_client, sdk, spans):
    need_stream(any_client)
    stream = any_client.images.generate(**kwargs(sdk, model=IMAGE_EP, prompt="cats", stream=True, n=3))
    for _ in stream:
        break
    stream.close()
    span = spans.one()
    a = attrs_of(span)
    assert span.status.status_code is StatusCode.OK
    assert a["arktrace.image.count"] == 1 and "arktrace.usage.generated_images" not in a
    assert a["gen_ai.usage.cost"] == pytest.approx(PRICE)  # the image received, as billed


def test_dropped_and_never_iterated_streams_end_once(any_client, spans):
    need_stream(any_client)
    stream = any_client.images.generate(model=IMAGE_EP, prompt="cats", stream=True)
    next(iter(stream))
    del stream
    gc.collect()
    assert len(spans.all()) == 1
    spans.clear()
    with any_client.images.generate(model=IMAGE_EP, prompt="cats", stream=True):
        pass
    span = spans.one()
    assert span.status.status_code is StatusCode.OK and "arktrace.image.count" not in span.attributes


async def test_async_early_exit(any_aclient, sdk, spans):
    need_stream(any_aclient)
    stream = await any_aclient.images.generate(**kwargs(sdk, model=IMAGE_EP, prompt="cats", stream=True, n=3))
    async for _ in stream:
        break
    await stream.close()
    assert attrs_of(spans.one())["arktrace.image.count"] == 1


# ------------------------------------------------------------------------------------------- errors


@pytest.mark.parametrize("model, status", [("ep-error-429", 429), ("ep-error-500", 500)])
def test_errors(any_client, spans, model, status):
    with pytest.raises(Exception) as raised:
        any_client.images.generate(model=model, prompt="a cat")
    span = spans.one()
    a = attrs_of(span)
    assert span.status.status_code is StatusCode.ERROR
    assert a["error.type"] == type(raised.value).__qualname__ and a["http.response.status_code"] == status
    assert a["gen_ai.output.type"] == "image"  # known before the request: on a failed call too
    assert "gen_ai.usage.cost" not in a and "arktrace.image.count" not in a


def test_a_bad_size_is_the_providers_error(any_client, sdk, spans):
    with pytest.raises(Exception, match="size"):
        any_client.images.generate(model=IMAGE_EP, prompt="a cat", size="huge")
    span = spans.one()
    assert span.status.status_code is StatusCode.ERROR and span.attributes["http.response.status_code"] == 400


def test_mid_stream_error(any_client, sdk, spans):
    need_stream(any_client)
    got = []
    with pytest.raises(Exception) as raised:
        for event in any_client.images.generate(
            **kwargs(sdk, model="ep-error-midstream", prompt="cats", stream=True, n=3)
        ):
            got.append(event)
    span = spans.one()
    a = attrs_of(span)
    assert len(got) == 2 and span.status.status_code is StatusCode.ERROR
    assert (
        a["error.type"] == type(raised.value).__qualname__
        and a["arktrace.error.code"] == "InternalServiceError"
    )
    assert a["arktrace.image.count"] == 2
    # The bundled server serves its mid-stream model as a chat model: not priced per image, no cost.
    assert "gen_ai.usage.cost" not in a


async def test_async_mid_stream_error(any_aclient, sdk, spans):
    need_stream(any_aclient)
    stream = await any_aclient.images.generate(
        **kwargs(sdk, model="ep-error-midstream", prompt="cats", stream=True, n=3)
    )
    with pytest.raises(Exception, match="internal error"):
        async for _ in stream:
            pass
    span = spans.one()
    assert span.status.status_code is StatusCode.ERROR and span.attributes["arktrace.image.count"] == 2


def test_a_refused_image_in_a_stream_fails_the_span_as_a_mid_stream_error(any_client, sdk, spans):
    # The SDKs raise at the partial_failed event (see testing/scripts/images.py): the caller's loop
    # ends there with the images before it, and the span says so, as chat's mid-stream error does.
    need_stream(any_client)
    got = []
    with pytest.raises(Exception, match="sensitive information") as raised:
        for event in any_client.images.generate(
            **kwargs(sdk, model="ep-error-content", prompt="cats", stream=True, n=3)
        ):
            got.append(event)
    span = spans.one()
    a = attrs_of(span)
    assert len(got) == 1 and span.status.status_code is StatusCode.ERROR
    assert a["error.type"] == type(raised.value).__qualname__
    assert a["arktrace.error.code"] == "OutputImageSensitiveContentDetected"
    assert a["arktrace.image.count"] == 1


def test_a_refused_image_among_others_unstreamed(any_client, sdk, spans):
    response = any_client.images.generate(**kwargs(sdk, model="ep-error-content", prompt="cats", n=3))
    assert len(response.data) == 3
    span = spans.one()
    a = attrs_of(span)
    assert span.status.status_code is StatusCode.OK  # the call delivered: the refusal is counted
    assert a["arktrace.image.count"] == 2 and a["arktrace.image.failed_count"] == 1
    assert a["arktrace.usage.generated_images"] == 2 and a["gen_ai.usage.cost"] == pytest.approx(2 * PRICE)
    parts = [k for k in a if k.startswith("llm.output_messages.0.message.contents.") and k.endswith(".type")]
    assert len(parts) == 2


def test_every_image_refused_is_a_failure(any_client, spans):
    response = any_client.images.generate(model="ep-error-content", prompt="cats")
    assert len(response.data) == 1  # the caller's call returns as without arktrace
    span = spans.one()
    a = attrs_of(span)
    assert span.status.status_code is StatusCode.ERROR
    assert a["error.type"] == "OutputImageSensitiveContentDetected" and a["arktrace.image.count"] == 0
    assert "gen_ai.usage.cost" not in a or a["gen_ai.usage.cost"] == 0


# ------------------------------------------------------------------------------------ raw responses


def test_raw_response(client, spans):
    raw = client.images.with_raw_response.generate(model=IMAGE_EP, prompt="a cat", size="1K")
    parsed = raw.parse()
    a = attrs_of(spans.one())
    assert a["arktrace.image.count"] == 1 and a["http.response.status_code"] == 200
    assert a["llm.output_messages.0.message.contents.0.message_content.image.image.url"] == parsed.data[0].url
    assert a["gen_ai.usage.cost"] == pytest.approx(PRICE)


def test_raw_streamed_response(client, spans):
    need_stream(client)
    raw = client.images.with_raw_response.generate(model=IMAGE_EP, prompt="a cat", stream=True, n=2)
    assert [e.type for e in raw.parse()][-1] == "image_generation.completed"
    a = attrs_of(spans.one())
    assert a["arktrace.image.count"] == 2 and a["gen_ai.request.stream"] is True


def test_streaming_response(client, spans):
    with client.images.with_streaming_response.generate(model=IMAGE_EP, prompt="a cat", n=2) as raw:
        assert len(raw.parse().data) == 2
    assert attrs_of(spans.one())["arktrace.image.count"] == 2
    spans.clear()
    need_stream(client)
    with client.images.with_streaming_response.generate(model=IMAGE_EP, prompt="a cat", stream=True) as raw:
        assert [e.type for e in raw.parse()][-1] == "image_generation.completed"
    a = attrs_of(spans.one())
    assert a["arktrace.image.count"] == 1 and a["gen_ai.usage.cost"] == pytest.approx(PRICE)


async def test_async_raw_response(aclient, spans):
    raw = await aclient.images.with_raw_response.generate(model=IMAGE_EP, prompt="a cat")
    raw.parse()  # the legacy raw response parses synchronously, async client or not
    assert attrs_of(spans.one())["arktrace.image.count"] == 1


def test_ark_sdks_have_no_raw_images(sdk, server):
    if sdk == "openai":
        pytest.skip("openai has with_raw_response")
    client = _client(sdk, server)
    assert not hasattr(client.images, "with_raw_response")  # so nothing to trace there
    client.close()


# ------------------------------------------------------------------------------------- capture off


@pytest.fixture
def capture_off(provider, spans, monkeypatch):
    monkeypatch.setenv("ARKTRACE_CAPTURE_CONTENT", "false")
    arktrace.uninstrument()
    arktrace.instrument(tracer_provider=provider)
    return spans


def test_capture_off_records_no_prompt_urls_or_references(any_client, sdk, capture_off):
    response = any_client.images.generate(
        **kwargs(
            sdk, model=IMAGE_EP, prompt="secret prompt", image="https://example.com/secret.png", seed=7, n=2
        )
    )
    span = capture_off.one()
    text = everything(span)
    a = attrs_of(span)
    assert "secret" not in text and response.data[0].url not in text and "ark-content-generation" not in text
    assert not any(
        k.startswith(("input.", "output.", "llm.input_messages", "llm.output_messages")) for k in a
    )
    params = json.loads(a["llm.invocation_parameters"])
    # The reference images are the operation's content argument: left out, as the prompt is.
    assert params == {"model": IMAGE_EP, "n": 2, "seed": 7}
    assert a["arktrace.image.count"] == 2 and a["gen_ai.usage.output_tokens"] > 0  # counts are not content
    assert a["gen_ai.usage.cost"] == pytest.approx(2 * PRICE)


def test_capture_off_stream_and_safe_options(any_client, sdk, capture_off):
    need_stream(any_client)
    list(
        any_client.images.generate(
            **kwargs(
                sdk,
                model=IMAGE_EP,
                prompt="secret",
                stream=True,
                size="1K",
                response_format="url",
                watermark=True,
            )
        )
    )
    span = capture_off.one()
    assert "secret" not in everything(span) and "ark-content-generation" not in everything(span)
    params = json.loads(span.attributes["llm.invocation_parameters"])
    assert params == {
        "model": IMAGE_EP,
        "stream": True,
        "size": "1K",
        "response_format": "url",
        "watermark": True,
    }


# ----------------------------------------------------------------------- transparency side by side


def _comparable(response):
    """What two identical calls return alike: everything but the per-call request id in a URL."""
    dump = response.model_dump()
    for image in dump.get("data") or ():
        if image.get("url"):
            image["url"] = image["url"].rsplit("/", 1)[0]
    dump.pop("created", None)
    dump.pop("created_at", None)
    return type(response), dump


def _calls(client, sdk):
    good = kwargs(sdk, model=IMAGE_EP, prompt="a cat", size="1K", n=2, seed=1)
    yield "ok", lambda: _comparable(client.images.generate(**good))
    yield "b64", lambda: _comparable(client.images.generate(**{**good, "response_format": "b64_json"}))
    yield (
        "partial",
        lambda: _comparable(client.images.generate(**kwargs(sdk, model="ep-error-content", prompt="x", n=3))),
    )
    if streams(client):
        yield "stream", lambda: [(type(e), e.type) for e in client.images.generate(**good, stream=True)]
        yield (
            "stream-error",
            lambda: list(client.images.generate(model="ep-error-midstream", prompt="x", stream=True)),
        )
        yield (
            "refused",
            lambda: list(
                client.images.generate(**kwargs(sdk, model="ep-error-content", prompt="x", n=2, stream=True))
            ),
        )
    yield "error", lambda: client.images.generate(model="ep-error-400", prompt="x")


def _outcome(call):
    try:
        return "returned", call()
    except Exception as error:
        return "raised", (type(error), getattr(error, "status_code", None), str(error).split("request_id")[0])


def test_callers_get_the_same_with_and_without_arktrace(any_client, sdk, server, spans):
    traced = {name: _outcome(call) for name, call in _calls(any_client, sdk)}
    assert spans.all()  # instrumented: the calls were traced
    arktrace.uninstrument()
    spans.clear()
    plain = {name: _outcome(call) for name, call in _calls(any_client, sdk)}
    assert spans.all() == []
    for name in plain:
        if name.endswith("error") or name == "refused":
            assert traced[name][0] == plain[name][0] == "raised", name
            assert traced[name][1][:2] == plain[name][1][:2], name
        else:
            assert traced[name] == plain[name], name


async def _async_outcomes(client, sdk):
    good = kwargs(sdk, model=IMAGE_EP, prompt="a cat", size="1K", n=2)
    got = {"ok": _comparable(await client.images.generate(**good))}
    if streams(client):
        stream = await client.images.generate(**good, stream=True)
        got["stream"] = [(type(e), e.type) async for e in stream]
    try:
        await client.images.generate(model="ep-error-429", prompt="x")
    except Exception as error:
        got["error"] = (type(error), getattr(error, "status_code", None))
    return got


async def test_async_callers_get_the_same_with_and_without_arktrace(any_aclient, sdk, spans):
    traced = await _async_outcomes(any_aclient, sdk)
    assert spans.all()
    arktrace.uninstrument()
    spans.clear()
    plain = await _async_outcomes(any_aclient, sdk)
    assert spans.all() == [] and traced == plain and "error" in plain


def test_callers_arguments_are_not_mutated(any_client, sdk, spans):
    references = ["https://example.com/a.png", "data:image/png;base64,AAAA"]
    args = kwargs(sdk, model=IMAGE_EP, prompt="x", image=references, seed=3, n=2)
    before = json.dumps(args, sort_keys=True)
    any_client.images.generate(**args)
    assert json.dumps(args, sort_keys=True) == before


def test_a_post_to_the_path_is_one_span_like_generate(client, spans):
    # LiteLLM and other libraries send client.post(path, ...): the request hook traces it the same.
    from openai.types import ImagesResponse

    body = {"model": IMAGE_EP, "prompt": "a cat", "n": 2}
    result = client.post("/images/generations", body=body, cast_to=ImagesResponse)
    posted = attrs_of(spans.one())
    spans.clear()
    client.images.generate(**body)
    generated = attrs_of(spans.one())
    assert posted["arktrace.image.count"] == 2 == len(result.data)
    differ = {k for k in generated if posted.get(k) != generated[k]}
    assert all("request-id" in k or "url" in k or k == "output.value" for k in differ), differ


def test_untraced_image_paths_get_no_span(client, spans):
    with pytest.raises(openai.APIStatusError):
        client.images.edit(image=("a.png", b"\x89PNG", "image/png"), prompt="x", model=IMAGE_EP)
    assert spans.all() == []


# ------------------------------------------------------------------------- extraction, table-tested


@pytest.mark.parametrize(
    "value, expected",
    [
        ("https://example.com/a.png", "https://example.com/a.png"),
        ("http://x/y", "http://x/y"),
        ("data:image/png;base64,AAAA", "data:image/png;base64,<4 characters of inline data omitted>"),
        ("QUFBQQ==", "<8 characters of inline data omitted>"),
        (None, None),
        (3, None),
    ],
)
def test_reference_url(value, expected):
    assert reference_url(value) == expected


FILTERED = {"code": "OutputImageSensitiveContentDetected", "message": "refused"}


@pytest.mark.parametrize(
    "fields, expected",
    [
        ({}, {}),
        ({"data": []}, {"arktrace.image.count": 0}),
        ({"data": [{"url": "u"}, {"b64_json": "x"}]}, {"arktrace.image.count": 2}),
        (
            {"data": [{"url": "u"}, {"error": FILTERED}], "usage": {"generated_images": 1}},
            {
                "arktrace.image.count": 1,
                "arktrace.image.failed_count": 1,
                "arktrace.usage.generated_images": 1,
            },
        ),
        ({"usage": {"generated_images": "3"}}, {}),  # not a count: not recorded
        ({"data": "nonsense", "usage": {"generated_images": -1}}, {}),
    ],
)
def test_outcome(fields, expected):
    assert outcome(fields) == expected


@pytest.mark.parametrize(
    "response, code",
    [
        ({"data": [{"url": "u"}]}, None),
        ({"data": []}, None),
        ({"data": [{"url": "u"}, {"error": FILTERED}]}, None),
        ({"data": [{"error": FILTERED}]}, "OutputImageSensitiveContentDetected"),
        ({"error": {"code": "Bad", "message": "m"}, "data": []}, "Bad"),
        ({}, None),
    ],
)
def test_reported_failure(response, code):
    failure = reported_failure(response)
    assert (failure.code if failure is not None else None) == code


def test_output_messages():
    fields = {"data": [{"url": "https://u/1"}, {"b64_json": "QUFB"}, {"error": FILTERED}]}
    (message,) = output_messages(fields, ())
    assert message["content"] == [
        {"type": "image_url", "image_url": {"url": "https://u/1"}},
        {"type": "image_url", "image_url": {}},
    ]
    assert output_messages({"data": [{"error": FILTERED}]}, ()) == []
    assert output_messages({}, ()) == []


@pytest.mark.parametrize(
    "response_model, images, expected",
    [
        ("seedream-4-5-251128", 2, (0.0, 2 * PRICE)),
        ("seedream-4-0-250828", 1, (0.0, 0.03)),
        ("unknown-image-model", 3, None),  # no cost when the model is unknown
        ("seedream-4-5-251128", None, None),  # nor when no image count is known
    ],
)
def test_price_per_image(response_model, images, expected):
    attrs = {"gen_ai.response.model": response_model}
    if images is not None:
        attrs["arktrace.image.count"] = images
    got = price(load_prices(env={}), attrs, "ep-x")
    assert got == (expected if expected is None else pytest.approx(expected))


def test_price_prefers_the_billed_count():
    attrs = {"gen_ai.response.model": SERVED, "arktrace.image.count": 1, "arktrace.usage.generated_images": 3}
    assert price(load_prices(env={}), attrs, None) == pytest.approx((0.0, 3 * PRICE))


class _Event:
    """An SDK event as the Ark SDKs parse it: fields as attributes, the missing ones absent."""

    def __init__(self, **fields):
        self.__dict__.update(fields)


def test_stream_state_folds_modelark_events():
    state = ImagesStreamState(limit=100)
    usage = {"generated_images": 2, "output_tokens": 10, "total_tokens": 10}
    for event in (
        _Event(
            type="image_generation.partial_succeeded",
            model="m",
            created=5,
            image_index=0,
            url="u0",
            size="1x1",
        ),
        _Event(
            type="image_generation.partial_succeeded", model="m", image_index=1, b64_json="A" * 50, size="1x1"
        ),
        _Event(type="image_generation.partial_failed", model="m", image_index=2, error=FILTERED),
        _Event(type="image_generation.completed", model="m", usage=usage),
        _Event(type="something.else"),
    ):
        assert state.record(event) is False
    assert state.output_chunks == 2 and state.first_output_at is not None
    assert state.as_response() == {
        "model": "m",
        "created": 5,
        "data": [
            {"url": "u0", "size": "1x1"},
            {"b64_json": "<50 characters of inline data omitted>", "size": "1x1"},
            {"error": {"code": FILTERED["code"], "message": "refused"}},
        ],
        "usage": usage,
    }


def test_stream_state_folds_openai_events():
    state = ImagesStreamState(limit=100)
    state.record({"type": "image_generation.partial_image", "b64_json": "P" * 10, "partial_image_index": 0})
    state.record({"type": "image_generation.completed", "b64_json": "F" * 20, "usage": {"output_tokens": 3}})
    assert state.as_response()["data"] == [{"b64_json": "<20 characters of inline data omitted>"}]
    assert state.output_chunks == 2  # the preview is the first output


def test_response_json_cuts_b64_payloads_and_nothing_else():
    body = {"data": [{"b64_json": "QUJD" * 10}, {"b64_json": "<3 characters of inline data omitted>"}]}
    assert json.loads(response_json(body))["data"] == [
        {"b64_json": "<40 characters of inline data omitted>"},
        {"b64_json": "<3 characters of inline data omitted>"},
    ]
    chat = {"choices": [{"message": {"content": 'say "b64_json":"QUJD"'}}]}
    assert response_json(chat) == json.dumps(chat, separators=(",", ":"))  # text quoting it stays


def test_output_type_words_and_the_declaration():
    assert output_type("image") == "image" and output_type("url") is None and output_type("b64_json") is None
    assert output_type({"type": "json_schema"}) == "json"
    assert operation_for_path("/images/generations") is IMAGES and operation_for_path("/images/edits") is None
    assert IMAGES.name == "generate_content" and not IMAGES.include_usage
