"""The bundled server's image generation, video tasks, bot chat and tokenization, called through the
real SDKs (openai for images; the Ark runtime SDKs for everything), sync and async.

The half of a missing Ark SDK package is deselected (``harness.ark_params``), unless
``ARKTRACE_REQUIRE_ARK_SDKS=1``.
"""

from __future__ import annotations

import base64
import importlib
import inspect
import json

import httpx
import openai
import pytest

from arktrace.testing import ModelArkServer, count_tokens
from arktrace.testing.scripts import routes
from harness import ARK_PACKAGES, ark_params

IMAGE_EP = "ep-20250101120000-image"
VIDEO_EP = "ep-20250101120000-video"
BOT = "bot-20250101120000-abcde"
PROMPT = [{"type": "text", "text": "A cat walks through a garden"}]


@pytest.fixture(params=ark_params(*ARK_PACKAGES))
def pkg(request):
    return importlib.import_module(request.param)


@pytest.fixture
def ark(pkg, server):
    with pkg.Ark(base_url=server.base_url, api_key="test-key", max_retries=0) as c:
        yield c


@pytest.fixture
async def aark(pkg, server):
    c = pkg.AsyncArk(base_url=server.base_url, api_key="test-key", max_retries=0)
    yield c
    await c.close()


def sse(server: ModelArkServer, path: str, body: dict) -> list[tuple[str | None, str]]:
    """(event name, data) of each event the server streams, straight off the wire."""
    out, name = [], None
    with httpx.stream("POST", server.base_url + path, json=body, timeout=10) as resp:
        for line in resp.iter_lines():
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                out.append((name, line[6:]))
                name = None
    return out


# ---------------------------------------------------------------------------------------------
# routing


def test_every_route_is_declared_once():
    seen = [(r.method, r.path) for r in routes()]
    assert len(seen) == len(set(seen))
    assert ("POST", "/images/generations") in seen and ("DELETE", "/contents/generations/tasks/{id}") in seen


def test_a_path_asked_with_the_wrong_method_is_an_unknown_action(server):
    assert httpx.get(server.base_url + "/images/generations").json()["error"]["code"] == "InvalidAction"
    assert httpx.post(server.base_url + "/contents/generations/tasks/x").status_code == 404


# ---------------------------------------------------------------------------------------------
# images


def openai_streams_images(client) -> bool:
    return "stream" in inspect.signature(client.images.generate).parameters  # not in openai 1.40


def test_openai_images_generate_gets_modelark_shape(client, server):
    raw = client.images.with_raw_response.generate(model=IMAGE_EP, prompt="a cat", size="1024x1024")
    body = raw.http_response.json()
    assert set(body) == {"model", "created", "data", "usage"}
    assert body["model"] == "seedream-4-5-251128"  # the endpoint's model, like chat
    assert body["usage"] == {"generated_images": 1, "output_tokens": 4096, "total_tokens": 4096}
    image = raw.parse().data[0]
    assert image.url.endswith("_0.jpeg") and image.size == "1024x1024"
    assert server.last_request.path == "/api/v3/images/generations"


async def test_openai_images_stream_async(aclient):
    if not openai_streams_images(aclient):
        pytest.skip("this openai cannot stream images.generate")
    stream = await aclient.images.generate(model="seedream-4-0-250828", prompt="two cats", n=2, stream=True)
    kinds = [event.type async for event in stream]
    assert kinds == ["image_generation.partial_succeeded"] * 2 + ["image_generation.completed"]


def test_ark_images_b64_and_sequential(ark, pkg):
    resp = ark.images.generate(model=IMAGE_EP, prompt="a cat", response_format="b64_json", size="2K")
    assert base64.b64decode(resp.data[0].b64_json).startswith(b"\x89PNG")
    assert resp.data[0].size == "2048x2048" and resp.usage.output_tokens == 2048 * 2048 // 256
    options = importlib.import_module(pkg.__name__ + ".types.images").SequentialImageGenerationOptions
    many = ark.images.generate(
        model=IMAGE_EP,
        prompt="three seasons",
        sequential_image_generation="auto",
        sequential_image_generation_options=options(max_images=3),
    )
    assert len(many.data) == 3 and many.usage.generated_images == 3


async def test_ark_images_stream_async(aark):
    stream = await aark.images.generate(model=IMAGE_EP, prompt="a cat", stream=True)
    events = [e async for e in stream]
    assert [e.type for e in events] == ["image_generation.partial_succeeded", "image_generation.completed"]
    assert events[0].image_index == 0 and events[0].url and events[0].size == "2048x2048"
    # The SDKs' event union has no literal ``type`` to tell its members apart: every event is parsed
    # as ImageGenGeneratingEvent, so the completed event's usage stays a plain dict.
    assert events[1].usage == {"generated_images": 1, "output_tokens": 16384, "total_tokens": 16384}


def test_a_content_filtered_image_among_others(server, client):
    body = {"model": "ep-error-content", "prompt": "cats", "sequential_image_generation": "auto"}
    resp = client.images.with_raw_response.generate(
        model="ep-error-content", prompt="cats", n=3
    ).http_response
    data = resp.json()["data"]
    assert "error" in data[1] and data[1]["error"]["code"] == "OutputImageSensitiveContentDetected"
    assert "url" in data[0] and "url" in data[2] and resp.json()["usage"]["generated_images"] == 2
    events = sse(server, "/images/generations", {**body, "stream": True})
    names = [name for name, _ in events]
    assert names == [
        "image_generation.partial_succeeded",
        "image_generation.partial_failed",
        "image_generation.partial_succeeded",
        "image_generation.partial_succeeded",
        "image_generation.completed",
        None,
    ]
    assert json.loads(events[1][1])["image_index"] == 1 and events[-1][1] == "[DONE]"
    assert json.loads(events[4][1])["usage"]["generated_images"] == 3


def test_the_sdks_raise_at_a_failed_image(ark, client):
    # Every SDK raises on an event whose data carries an "error": the loop ends at the failed image.
    got = []
    with pytest.raises(Exception, match="sensitive information") as raised:
        for event in ark.images.generate(
            model="ep-error-content", prompt="cats", stream=True, extra_body={"n": 2}
        ):
            got.append(event.type)
    assert got == ["image_generation.partial_succeeded"] and "ArkAPIError" in type(raised.value).__name__
    if openai_streams_images(client):
        with pytest.raises(openai.APIError):
            list(client.images.generate(model="ep-error-content", prompt="cats", stream=True, n=2))


def test_image_errors(client, server):
    with pytest.raises(openai.RateLimitError):
        client.images.generate(model="ep-error-429", prompt="x")
    with pytest.raises(openai.InternalServerError):
        client.images.generate(model="ep-error-midstream", prompt="x")
    with pytest.raises(openai.BadRequestError, match="size"):
        client.images.generate(model=IMAGE_EP, prompt="x", size="huge")
    events = sse(
        server, "/images/generations", {"model": "ep-error-midstream", "prompt": "x", "n": 3, "stream": True}
    )
    assert [name for name, _ in events] == ["image_generation.partial_succeeded"] * 2 + ["error"]
    assert json.loads(events[-1][1])["error"]["code"] == "InternalServiceError"


# ---------------------------------------------------------------------------------------------
# video tasks


def test_video_task_lifecycle(ark):
    tasks = ark.content_generation.tasks
    created = tasks.create(model=VIDEO_EP, content=PROMPT, return_last_frame=True, ratio="16:9", duration=5)
    assert created.id.startswith("cgt-")
    states = [tasks.get(task_id=created.id) for _ in range(3)]
    assert [t.status for t in states] == ["queued", "running", "succeeded"]
    done = states[-1]
    assert done.model == "seedance-1-0-pro-250528" and done.content.video_url.endswith(".mp4")
    assert done.content.last_frame_url.endswith(".png")
    assert done.usage.completion_tokens == done.usage.total_tokens == 1280 * 720 * 24 * 5 // 1024
    assert states[0].content is None and states[0].usage is None


async def test_video_task_async_fails_for_the_content_filter_model(aark, server):
    server.task_polls = (0, 0)
    tasks = aark.content_generation.tasks
    created = await tasks.create(model="ep-error-content", content=PROMPT)
    task = await tasks.get(task_id=created.id)
    assert task.status == "failed" and task.error.code == "OutputVideoSensitiveContentDetected"
    assert task.usage is None and task.content is None


def test_video_task_list_and_delete(ark, server, pkg):
    server.task_polls = (1, 0)
    tasks = ark.content_generation.tasks
    model = "ep-list-" + pkg.__name__[:5]
    ids = [tasks.create(model=model, content=PROMPT).id for _ in range(3)]
    tasks.get(task_id=ids[0]), tasks.get(task_id=ids[0])  # queued, then succeeded
    listed = tasks.list(model=model)
    assert listed.total == 3 and [t.id for t in listed.items] == ids[::-1]  # newest first
    assert [t.id for t in tasks.list(model=model, status="succeeded").items] == [ids[0]]
    page = tasks.list(model=model, page_num=2, page_size=2)
    assert page.total == 3 and [t.id for t in page.items] == [ids[0]]
    assert tasks.list(task_ids=[ids[1], ids[2]]).total == 2
    tasks.delete(ids[1])  # queued: cancelled
    assert tasks.get(task_id=ids[1]).status == "cancelled"
    tasks.delete(ids[0])  # finished: gone
    with pytest.raises(Exception) as gone:
        tasks.get(task_id=ids[0])
    assert getattr(gone.value, "status_code", None) == 404
    with pytest.raises(Exception) as refused:
        tasks.delete(ids[1])
    assert getattr(refused.value, "status_code", None) == 400


def test_video_task_errors(ark):
    with pytest.raises(Exception) as missing:
        ark.content_generation.tasks.create(model="ep-error-404", content=PROMPT)
    assert getattr(missing.value, "status_code", None) == 404
    with pytest.raises(Exception) as bad:
        ark.content_generation.tasks.create(model=VIDEO_EP, content=[{"type": "nonsense"}])
    assert getattr(bad.value, "status_code", None) == 400


# ---------------------------------------------------------------------------------------------
# bot chat and tokenization (Volcengine's SDK only)


def test_bot_chat(volc, server):
    with volc.Ark(base_url=server.base_url, api_key="k", max_retries=0) as v:
        resp = v.bot_chat.completions.create(
            model=BOT, messages=[{"role": "user", "content": "weather today"}]
        )
        assert resp.model == BOT and resp.choices[0].message.content == "Echo: weather today"
        assert resp.references[0].title == "weather today" and resp.references[0].url
        (model_usage,) = resp.bot_usage.model_usage
        assert model_usage.total_tokens == resp.usage.total_tokens
        assert resp.bot_usage.action_usage[0].search_count == 1
        chunks = list(
            v.bot_chat.completions.create(
                model=BOT,
                messages=[{"role": "user", "content": "hi"}],
                stream=True,
                stream_options={"include_usage": True},
            )
        )
    assert chunks[0].references and all(c.references is None for c in chunks[1:])
    assert chunks[-1].bot_usage.model_usage[0].completion_tokens == chunks[-1].usage.completion_tokens


async def test_bot_chat_async_stream_without_usage(volc, server):
    v = volc.AsyncArk(base_url=server.base_url, api_key="k", max_retries=0)
    stream = await v.bot_chat.completions.create(
        model=BOT, messages=[{"role": "user", "content": "hi"}], stream=True
    )
    chunks = [c async for c in stream]
    await v.close()
    assert chunks[0].references and all(c.bot_usage is None for c in chunks)


async def test_tokenization(volc, server):
    texts = ["Hello, world", "你好 world"]
    with volc.Ark(base_url=server.base_url, api_key="k", max_retries=0) as v:
        resp = v.tokenization.create(model="ep-20250101120000-abcde", text=texts)
    assert resp.model == "seed-1-8-251228" and [d.index for d in resp.data] == [0, 1]
    for text, item in zip(texts, resp.data):
        assert item.total_tokens == count_tokens(text) == len(item.token_ids) == len(item.offset_mapping)
    assert resp.data[0].offset_mapping == [[0, 5], [5, 6], [7, 12]]
    assert resp.data[0].token_ids[2] == resp.data[1].token_ids[2]  # "world" is one id wherever it is
    a = volc.AsyncArk(base_url=server.base_url, api_key="k", max_retries=0)
    one = await a.tokenization.create(model="ep-20250101120000-abcde", text="Hello")
    await a.close()
    assert one.data[0].offset_mapping == [[0, 5]]
