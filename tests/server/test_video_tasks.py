"""Seedance video generation tasks on both Ark SDKs: create, get (polled), list, delete, one span per
call, against the bundled server's task endpoints (queued → running → succeeded / failed)."""

from __future__ import annotations

import importlib
import json

import pytest
from opentelemetry.trace import SpanContext, StatusCode, TraceFlags

import arktrace
from arktrace._prices import load_prices
from arktrace.operations import OPERATIONS, video_tasks
from arktrace.operations._common import output_type
from arktrace.operations.video_tasks import (
    CREATED_KEPT,
    created_link,
    list_outcome,
    price_video,
    remember_task,
    task_failure,
    task_outcome,
    task_output,
)
from harness import ARK_PACKAGES, ark_params

VIDEO_EP = "ep-20250101120000-video"
MODEL = "seedance-1-0-pro-250528"
FAILS = "ep-error-content"  # the bundled server's task for it ends failed
PROMPT = "A red fox runs through fresh snow at dawn"
IMAGE = "https://example.com/first-frame.png"
INLINE = "data:image/png;base64," + "iVBORw0KGgo" * 40
CONTENT = [
    {"type": "text", "text": PROMPT},
    {"type": "image_url", "image_url": {"url": IMAGE}, "role": "first_frame"},
]
OPTIONS = {"ratio": "16:9", "duration": 5, "resolution": "720p", "seed": 11, "return_last_frame": True}
TOKENS = 108000  # 720 x 1280 x 24 fps x 5 s / 1024, as the server bills a 720p 16:9 5 s video


@pytest.fixture(params=ark_params(*ARK_PACKAGES))
def sdk(request):
    return importlib.import_module(request.param)


@pytest.fixture
def ark(sdk, server, spans):
    client = sdk.Ark(api_key="k", base_url=server.base_url, max_retries=0)
    yield client
    client.close()


@pytest.fixture
async def aark(sdk, server, spans):
    client = sdk.AsyncArk(api_key="k", base_url=server.base_url, max_retries=0)
    yield client
    await client.close()


def untraced(provider, call, **settings):
    """``call()`` made without arktrace, for the side-by-side comparison; instrumented again after."""
    arktrace.uninstrument()
    try:
        return call()
    finally:
        arktrace.instrument(tracer_provider=provider, **settings)


def same_value(traced, bare):
    """Equal apart from the ids and clocks of two different tasks."""
    assert type(traced) is type(bare)
    if traced is None:
        return
    ignore = {"id", "created_at", "updated_at", "content"}
    a = {k: v for k, v in traced.model_dump().items() if k not in ignore}
    b = {k: v for k, v in bare.model_dump().items() if k not in ignore}
    assert a == b


def everything(span):
    return json.dumps(
        [dict(span.attributes), [dict(e.attributes) for e in span.events], span.status.description]
    )


def links_to(span, target):
    return [link.context.span_id for link in span.links] == [target.context.span_id]


# ------------------------------------------------------------------------------------------- create


def test_create_span_and_the_same_value_as_without_arktrace(ark, server, spans, provider):
    created = ark.content_generation.tasks.create(model=VIDEO_EP, content=CONTENT, **OPTIONS)
    span = spans.one()
    a = span.attributes
    assert span.name == f"generate_content {VIDEO_EP}" and span.status.status_code is StatusCode.OK
    assert a["gen_ai.operation.name"] == "generate_content" and a["gen_ai.output.type"] == "video"
    assert a["gen_ai.request.model"] == VIDEO_EP and a["gen_ai.request.seed"] == 11
    assert a["gen_ai.response.id"] == created.id and created.id.startswith("cgt-")
    assert json.loads(a["llm.invocation_parameters"]) == {"model": VIDEO_EP, **OPTIONS}
    assert json.loads(a["input.value"])["content"] == CONTENT
    prefix = "llm.input_messages.0.message"
    assert a[f"{prefix}.role"] == "user"
    assert a[f"{prefix}.contents.0.message_content.text"] == PROMPT
    assert a[f"{prefix}.contents.1.message_content.image.image.url"] == IMAGE
    assert "gen_ai.usage.cost" not in a  # billed when the task succeeds
    # the request went as the caller wrote it
    assert server.last_request.body["content"] == CONTENT

    bare = untraced(provider, lambda: ark.content_generation.tasks.create(model=VIDEO_EP, content=CONTENT))
    assert type(bare) is type(created) and set(bare.model_dump()) == set(created.model_dump())


def test_inline_reference_images_are_never_recorded(ark, spans):
    content = [{"type": "text", "text": PROMPT}, {"type": "image_url", "image_url": {"url": INLINE}}]
    ark.content_generation.tasks.create(model=VIDEO_EP, content=content)
    span = spans.one()
    recorded = everything(span)
    assert "iVBORw0KGgo" not in recorded and "inline data omitted" in recorded
    assert "content" not in json.loads(span.attributes["llm.invocation_parameters"])
    assert content[1]["image_url"]["url"] == INLINE  # the caller's arguments untouched


def test_create_errors(ark, sdk, spans, provider):
    with pytest.raises(sdk._exceptions.ArkAPIStatusError) as info:
        ark.content_generation.tasks.create(model="ep-error-429", content=CONTENT)
    span = spans.one()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["http.response.status_code"] == 429
    assert span.attributes["error.type"] == type(info.value).__qualname__

    def bare_call():
        with pytest.raises(sdk._exceptions.ArkAPIStatusError) as bare:
            ark.content_generation.tasks.create(model="ep-error-429", content=CONTENT)
        return bare.value

    assert type(untraced(provider, bare_call)) is type(info.value)


# ---------------------------------------------------------------------------------------- polling


def test_a_polling_loop_is_one_span_per_poll_each_linked_to_create(ark, server, spans, provider):
    server.task_polls = (2, 1)
    tasks = ark.content_generation.tasks
    created = tasks.create(model=VIDEO_EP, content=CONTENT, **OPTIONS)
    polls = []
    while not polls or polls[-1].status not in ("succeeded", "failed"):
        polls.append(tasks.get(task_id=created.id))
    assert [p.status for p in polls] == ["queued", "queued", "running", "succeeded"]

    create, *gets = spans.all()
    assert create.name.startswith("generate_content") and len(gets) == 4
    for get, poll in zip(gets, polls):
        a = get.attributes
        assert get.name == "get_task" and get.status.status_code is StatusCode.OK
        assert links_to(get, create)
        assert a["gen_ai.operation.name"] == "get_task" and a["gen_ai.output.type"] == "video"
        assert a["gen_ai.response.id"] == created.id and a["gen_ai.response.model"] == MODEL
        assert a["arktrace.task.status"] == poll.status
        assert json.loads(a["llm.invocation_parameters"]) == {"task_id": created.id}
    for get in gets[:-1]:  # nothing billed before the task succeeds
        assert (
            "gen_ai.usage.output_tokens" not in get.attributes and "gen_ai.usage.cost" not in get.attributes
        )
    done = gets[-1].attributes
    assert done["gen_ai.usage.output_tokens"] == done["gen_ai.usage.total_tokens"] == TOKENS
    assert done["gen_ai.usage.cost"] == pytest.approx(TOKENS * 2.50 / 1e6)  # seedance-1-0-pro
    assert (done["arktrace.video.ratio"], done["arktrace.video.resolution"]) == ("16:9", "720p")
    assert (done["arktrace.video.duration"], done["arktrace.video.fps"], done["arktrace.video.seed"]) == (
        5,
        24,
        11,
    )
    output = json.loads(done["output.value"])
    assert output["content"]["video_url"] == polls[-1].content.video_url
    prefix = "llm.output_messages.0.message.contents"
    assert done[f"{prefix}.0.message_content.type"] == "video_url"
    assert done[f"{prefix}.1.message_content.image.image.url"] == polls[-1].content.last_frame_url
    assert "arktrace.task.usage_reported_earlier" not in done

    # Polled again once it succeeded (its URL fetched later): the same answer, but its tokens and cost
    # were counted on the poll above and are not counted twice.
    spans.clear()
    again = tasks.get(task_id=created.id)
    assert again.usage.completion_tokens == TOKENS
    later = spans.one().attributes
    assert later["arktrace.task.status"] == "succeeded" and later["arktrace.task.usage_reported_earlier"]
    assert not [name for name in later if name.startswith(("gen_ai.usage.", "llm.token_count", "llm.cost"))]

    spans.clear()
    server.task_polls = (0, 0)
    bare_id = untraced(provider, lambda: tasks.create(model=VIDEO_EP, content=CONTENT, **OPTIONS).id)
    bare = untraced(provider, lambda: tasks.get(task_id=bare_id))
    same_value(polls[-1], bare)
    # a task this process did not create (here: created untraced) is polled without a link
    tasks.get(task_id=bare_id)
    assert spans.one().links == ()


def test_a_failed_task_ends_its_poll_as_an_error(ark, server, spans):
    server.task_polls = (0, 0)
    created = ark.content_generation.tasks.create(model=FAILS, content=CONTENT)
    task = ark.content_generation.tasks.get(task_id=created.id)  # no exception: the call succeeded
    assert task.status == "failed"
    create, get = spans.all()
    assert get.status.status_code is StatusCode.ERROR and links_to(get, create)
    assert get.attributes["error.type"] == "OutputVideoSensitiveContentDetected"
    assert get.attributes["arktrace.task.status"] == "failed"
    assert task.error.message in get.status.description
    assert "gen_ai.usage.cost" not in get.attributes


def test_get_of_an_unknown_task_is_an_error(ark, sdk, spans):
    with pytest.raises(sdk._exceptions.ArkAPIStatusError):
        ark.content_generation.tasks.get(task_id="cgt-20250101000000-nope0")
    span = spans.one()
    assert span.status.status_code is StatusCode.ERROR and span.attributes["http.response.status_code"] == 404


# ---------------------------------------------------------------------------------- list, delete


def test_list_and_delete_with_positional_arguments(ark, server, spans, provider):
    server.task_polls = (1, 0)
    tasks = ark.content_generation.tasks
    ids = [tasks.create(model=VIDEO_EP, content=CONTENT).id for _ in range(2)]
    spans.clear()
    listed = tasks.list(1, 5, "queued", ids, model=VIDEO_EP)  # page_num, page_size, status, task_ids
    span = spans.one()
    assert span.name == f"list_tasks {VIDEO_EP}" and listed.total == 2
    assert json.loads(span.attributes["llm.invocation_parameters"]) == {
        "page_num": 1,
        "page_size": 5,
        "status": "queued",
        "task_ids": ids,
        "model": VIDEO_EP,
    }
    assert span.attributes["arktrace.task.list.total"] == 2
    assert span.attributes["arktrace.task.list.returned"] == 2
    assert "output.value" not in span.attributes  # the tasks' prompts and URLs are not this span's
    spans.clear()

    deleted = tasks.delete(ids[0])  # by position
    span = spans.one()
    assert span.name == "delete_task" and span.status.status_code is StatusCode.OK
    assert json.loads(span.attributes["llm.invocation_parameters"]) == {"task_id": ids[0]}
    assert len(span.links) == 1  # to the task's create span
    spans.clear()

    # the same values as without arktrace
    bare_list = untraced(provider, lambda: tasks.list(1, 5, "queued", ids[1:], model=VIDEO_EP))
    assert tasks.list(1, 5, "queued", ids[1:], model=VIDEO_EP).model_dump() == bare_list.model_dump()
    bare_deleted = untraced(provider, lambda: tasks.delete(ids[1]))
    assert type(deleted) is type(bare_deleted)


# ------------------------------------------------------------------------------------------ async


async def test_async_create_poll_list_delete(aark, server, spans):
    server.task_polls = (0, 1)
    tasks = aark.content_generation.tasks
    created = await tasks.create(model=VIDEO_EP, content=CONTENT, **OPTIONS)
    running = await tasks.get(task_id=created.id)
    done = await tasks.get(task_id=created.id)
    assert (running.status, done.status) == ("running", "succeeded")
    listed = await tasks.list(model=VIDEO_EP, status="succeeded", task_ids=created.id)
    await tasks.delete(created.id)
    create, poll, last, listing, delete = spans.all()
    assert [s.name for s in (create, poll, last, listing, delete)] == [
        f"generate_content {VIDEO_EP}",
        "get_task",
        "get_task",
        f"list_tasks {VIDEO_EP}",
        "delete_task",
    ]
    assert links_to(poll, create) and links_to(last, create) and links_to(delete, create)
    assert last.attributes["gen_ai.usage.output_tokens"] == TOKENS and "gen_ai.usage.cost" in last.attributes
    assert listing.attributes["arktrace.task.list.total"] == listed.total == 1
    assert json.loads(delete.attributes["llm.invocation_parameters"]) == {"task_id": created.id}


async def test_async_failed_task_and_error(aark, sdk, server, spans):
    server.task_polls = (0, 0)
    created = await aark.content_generation.tasks.create(model=FAILS, content=CONTENT)
    await aark.content_generation.tasks.get(task_id=created.id)
    with pytest.raises(sdk._exceptions.ArkAPIStatusError):
        await aark.content_generation.tasks.create(model="ep-error-500", content=CONTENT)
    create, get, error = spans.all()
    assert get.status.status_code is StatusCode.ERROR and links_to(get, create)
    assert (
        error.status.status_code is StatusCode.ERROR and error.attributes["http.response.status_code"] == 500
    )


# --------------------------------------------------------------------------------- raw responses


def test_raw_create_is_traced_and_its_task_linked(ark, server, spans):
    server.task_polls = (0, 0)
    raw = ark.content_generation.tasks.with_raw_response.create(model=VIDEO_EP, content=CONTENT)
    created = raw.parse()
    create = spans.one()
    assert create.attributes["gen_ai.response.id"] == created.id
    assert create.attributes["http.response.header.x-client-request-id"] == (
        raw.headers["x-client-request-id"],
    )
    spans.clear()
    ark.content_generation.tasks.get(task_id=created.id)
    assert links_to(spans.one(), create)


# ----------------------------------------------------------------------------------- capture off


def test_capture_off_records_no_prompt_and_no_urls(sdk, server, spans, provider):
    arktrace.uninstrument()
    arktrace.instrument(tracer_provider=provider, capture_content=False)
    server.task_polls = (0, 0)
    ark = sdk.Ark(api_key="k", base_url=server.base_url, max_retries=0)
    tasks = ark.content_generation.tasks
    secret_callback = "https://app.example.com/video-done?token=abc123"
    created = tasks.create(model=VIDEO_EP, content=CONTENT, callback_url=secret_callback, **OPTIONS)
    done = tasks.get(task_id=created.id)
    failed = tasks.get(task_id=tasks.create(model=FAILS, content=CONTENT).id)
    tasks.list(model=VIDEO_EP)
    ark.close()
    recorded = [everything(s) for s in spans.all()]
    for text in recorded:
        for secret in (
            PROMPT,
            IMAGE,
            "example.com",
            "https://",
            done.content.video_url,
            failed.error.message,
        ):
            assert secret not in text
    create, get = spans.all()[:2]
    params = json.loads(create.attributes["llm.invocation_parameters"])
    assert params == {"model": VIDEO_EP, **OPTIONS, "callback_url": "<not recorded>"}
    assert get.attributes["gen_ai.usage.output_tokens"] == TOKENS and "gen_ai.usage.cost" in get.attributes
    assert get.attributes["arktrace.task.status"] == "succeeded" and links_to(get, create)


# ------------------------------------------------------------------------ registry and pure parts


def test_the_four_methods_are_declared_once():
    points = {(p[1], p[2]) for op in video_tasks.VIDEO_TASKS for p in op.patch_points}
    assert points == {(c, m) for c in ("Tasks", "AsyncTasks") for m in ("create", "get", "list", "delete")}
    assert all(op in OPERATIONS for op in video_tasks.VIDEO_TASKS)


def _context(n: int) -> SpanContext:
    return SpanContext(trace_id=n + 1, span_id=n + 1, is_remote=False, trace_flags=TraceFlags(1))


def test_the_link_map_is_bounded():
    video_tasks.forget_tasks()
    try:
        for n in range(CREATED_KEPT + 10):
            remember_task(_context(n), {"gen_ai.response.id": f"cgt-{n}"})
        assert len(video_tasks._CREATED) == CREATED_KEPT
        assert created_link({"task_id": "cgt-0"}) is None  # the oldest are forgotten
        newest = created_link({"task_id": f"cgt-{CREATED_KEPT + 9}"})
        assert [link.context.span_id for link in newest] == [CREATED_KEPT + 10]
        remember_task(SpanContext(0, 0, False), {"gen_ai.response.id": "cgt-invalid"})  # no real span
        remember_task(_context(1), {})  # a create that returned no id
        assert created_link({"task_id": "cgt-invalid"}) is None and len(video_tasks._CREATED) == CREATED_KEPT
        assert created_link({}) is None and created_link({"task_id": 7}) is None
    finally:
        video_tasks.forget_tasks()


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            {"status": "queued", "ratio": "16:9"},
            {"arktrace.task.status": "queued", "arktrace.video.ratio": "16:9"},
        ),
        ({"status": 3, "duration": True, "seed": 2**70, "frames": 121}, {"arktrace.video.frames": 121}),
        ({}, {}),
    ],
)
def test_task_outcome(fields, expected):
    assert task_outcome(fields) == expected


def test_list_outcome_output_failure_and_price():
    assert list_outcome({"total": 3, "items": [{}, {}]}) == {
        "arktrace.task.list.total": 3,
        "arktrace.task.list.returned": 2,
    }
    assert list_outcome({"total": -1, "items": None}) == {}
    assert task_output({"content": None}, ()) == []
    assert task_output({"content": {"video_url": "u"}}, ()) == [
        {"role": "assistant", "content": [{"type": "video_url"}]}
    ]
    assert task_failure({"status": "running"}) is None
    failure = task_failure({"status": "failed", "error": {"code": "C", "message": "m"}})
    assert (failure.error_type, str(failure)) == ("C", "m")
    assert task_failure({"status": "expired", "error": None}).error_type == "expired"
    prices = load_prices(None)
    assert price_video(prices, {}, None) is None
    priced = price_video(prices, {"gen_ai.response.model": MODEL, "gen_ai.usage.output_tokens": 10**6}, None)
    assert priced == (0.0, pytest.approx(2.50))
    unknown = {"gen_ai.response.model": "some-video-model", "gen_ai.usage.output_tokens": 5}
    assert price_video(prices, unknown, "ep-unknown") is None  # no cost when the price is unknown
    assert output_type({"type": "video"}) == "video" and output_type({"type": "audio"}) is None


def test_a_create_posted_around_the_resource_method_is_one_span_and_a_get_none(ark, server, spans):
    """The client's own post() to the create path is traced (LiteLLM-style callers); a GET sent
    around the resource methods is not an operation's request and gets no span."""
    created = ark.post(
        "/contents/generations/tasks", body={"model": VIDEO_EP, "content": CONTENT}, cast_to=object
    )
    span = spans.one()
    assert (
        span.name == f"generate_content {VIDEO_EP}" and span.attributes["gen_ai.response.id"] == created["id"]
    )
    spans.clear()
    ark.get(f"/contents/generations/tasks/{created['id']}", cast_to=object)
    assert spans.all() == []
