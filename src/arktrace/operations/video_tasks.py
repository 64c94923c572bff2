"""Seedance video generation tasks: the Ark SDKs' ``content_generation.tasks`` ``create``, ``get``,
``list`` and ``delete``, one span per call.

A video is made asynchronously: ``create`` submits a task and returns its id, the caller then polls
``get`` until the task ``succeeded`` (with the video's URL and the tokens it is billed by) or
``failed``. Neither SDK has a polling helper (``resources/content_generation/tasks.py`` in
byteplus-python-sdk-v2 3.0.63 and volcengine-ark-runtime 5.0.54: these four methods only), so the
loop is the caller's own, and each poll is its own span, linked to the ``create`` span when this
process made the task (:data:`_CREATED`). The shapes are the SDKs' ``types/content_generation``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from opentelemetry.trace import Link

from .._content import get
from ..conventions.names import (
    ARKTRACE_TASK_STATUS,
    ARKTRACE_TASK_USAGE_REPORTED,
    ARKTRACE_TASKS_RETURNED,
    ARKTRACE_TASKS_TOTAL,
    ARKTRACE_VIDEO_DURATION,
    ARKTRACE_VIDEO_FPS,
    ARKTRACE_VIDEO_FRAMES,
    ARKTRACE_VIDEO_RATIO,
    ARKTRACE_VIDEO_RESOLUTION,
    ARKTRACE_VIDEO_SEED,
    GENAI_RESPONSE_ID,
    GENAI_RESPONSE_MODEL,
    GENAI_USAGE_INPUT_TOKENS,
    GENAI_USAGE_OUTPUT_TOKENS,
)
from ._common import ANY_TEXT, MAX_COUNT, SCALAR, Operation, conversation_content, words
from ._errors import ReportedFailure

_MODULE = "resources.content_generation.tasks"
CREATE_PATH = "/contents/generations/tasks"

STATUSES = words("queued", "running", "cancelled", "succeeded", "failed", "expired")
SERVICE_TIERS = words("default", "flex")
# Allow-lists for content capture off: the generation options, numbers and ModelArk's own words.
# callback_url (the application's URL) and safety_identifier (its user) are not on them.
CREATE_SAFE = {
    "model": ANY_TEXT,
    "ratio": words("16:9", "4:3", "1:1", "3:4", "9:16", "21:9", "adaptive", "keep_ratio"),
    "resolution": words("480p", "720p", "1080p"),
    "duration": SCALAR,
    "frames": SCALAR,
    "seed": SCALAR,
    "camera_fixed": SCALAR,
    "watermark": SCALAR,
    "return_last_frame": SCALAR,
    "generate_audio": SCALAR,
    "draft": SCALAR,
    "service_tier": SERVICE_TIERS,
    "execution_expires_after": SCALAR,
    "priority": SCALAR,
}
TASK_SAFE = {"model": ANY_TEXT, "task_id": ANY_TEXT}  # task ids are ModelArk's
LIST_SAFE = {
    "model": ANY_TEXT,
    "page_num": SCALAR,
    "page_size": SCALAR,
    "status": STATUSES,
    "task_ids": (ANY_TEXT, [ANY_TEXT]),
    "service_tier": SERVICE_TIERS,
}
# list() and delete() take their parameters by position too (get() and create() are keyword-only), in
# this order in both SDKs (the versions above). Written out: the SDKs' ``apikey_required`` decorator
# hides the signature from ``inspect``.
LIST_POSITIONAL = (
    "page_num",
    "page_size",
    "status",
    "task_ids",
    "model",
    "service_tier",
    "extra_headers",
    "extra_body",
    "extra_query",
    "timeout",
)
DELETE_POSITIONAL = ("task_id", "extra_headers", "extra_query", "extra_body", "timeout")

# ------------------------------------------------------------------------------ create → poll links

# Task id → the context of the span that created it, for the polls to link to. Bounded: a process
# that creates tasks and never polls them (a callback_url does it) must not grow without end; a task
# polled after 256 newer ones were created gets no link, which is all it loses.
_CREATED: OrderedDict[str, Any] = OrderedDict()
CREATED_KEPT = 256
_lock = threading.Lock()


def remember_task(span_context: Any, attrs: dict[str, Any]) -> None:
    """``ended`` of create: keep the new task's id with the span that created it."""
    task_id = attrs.get(GENAI_RESPONSE_ID)
    if not isinstance(task_id, str) or not span_context.is_valid:
        return
    with _lock:
        _CREATED[task_id] = span_context
        _CREATED.move_to_end(task_id)
        while len(_CREATED) > CREATED_KEPT:
            _CREATED.popitem(last=False)


def created_link(args: dict[str, Any]) -> list[Link] | None:
    """``links`` of get and delete: the create span of the task, when this process made it."""
    task_id = args.get("task_id")
    if not isinstance(task_id, str):
        return None
    with _lock:
        span_context = _CREATED.get(task_id)
    return [Link(span_context)] if span_context is not None else None


# Task ids whose usage a poll has counted: a task polled again after it succeeded (to fetch its URL
# later, or a loop that does not stop at once) is not billed twice in the cost and token metrics.
# Bounded like the links: a task polled again after 256 newer ones were billed is counted again.
_BILLED: OrderedDict[str, None] = OrderedDict()


def usage_once(fields: dict[str, Any]) -> Any:
    """``usage`` of get: the task's usage on the first poll that sees it, None on later ones."""
    usage = fields.get("usage")
    task_id = fields.get("id")
    if usage is None or not isinstance(task_id, str):
        return usage
    with _lock:
        if task_id in _BILLED:
            return None
        _BILLED[task_id] = None
        while len(_BILLED) > CREATED_KEPT:
            _BILLED.popitem(last=False)
    return usage


def forget_tasks() -> None:
    with _lock:
        _CREATED.clear()
        _BILLED.clear()


# ------------------------------------------------------------------------------------ extraction


def create_content(
    args: dict[str, Any], content: dict[str, Any], whole: str | None, limit: int, budget: int
) -> dict[str, Any]:
    """The request as ``input.value``, and its content parts (the prompt, the reference images by
    URL) as one user message; inline image data is left out (``content`` is sanitised)."""
    parts = content.get("content")
    messages = [{"role": "user", "content": parts}] if isinstance(parts, (list, tuple)) else None
    return conversation_content(args, content, whole, limit, budget, messages or [])


def no_request_content(
    args: dict[str, Any], content: dict[str, Any], whole: str | None, limit: int, budget: int
) -> dict[str, Any]:
    return {}  # a task id or list filters: all in llm.invocation_parameters already


def video_output(args: dict[str, Any]) -> dict[str, str]:
    return {"type": "video"}


def _count(value: Any) -> int | None:
    return value if type(value) is int and 0 <= value <= MAX_COUNT else None


_TASK_FIELDS = (
    ("ratio", ARKTRACE_VIDEO_RATIO, str),
    ("resolution", ARKTRACE_VIDEO_RESOLUTION, str),
    ("duration", ARKTRACE_VIDEO_DURATION, int),
    ("frames", ARKTRACE_VIDEO_FRAMES, int),
    ("framespersecond", ARKTRACE_VIDEO_FPS, int),
    ("seed", ARKTRACE_VIDEO_SEED, int),
)


def task_outcome(fields: dict[str, Any]) -> dict[str, Any]:
    """A polled task: its status and the video it makes (no content: numbers and ModelArk's words)."""
    attrs: dict[str, Any] = {}
    status = fields.get("status")
    if isinstance(status, str):
        attrs[ARKTRACE_TASK_STATUS] = status
    task_id = fields.get("id")
    # Read before usage_once (which runs after the outcome) adds the id of a first success.
    if fields.get("usage") is not None and isinstance(task_id, str) and task_id in _BILLED:
        attrs[ARKTRACE_TASK_USAGE_REPORTED] = True
    for field, name, kind in _TASK_FIELDS:
        value = fields.get(field)
        if type(value) is kind and (kind is str or abs(value) <= MAX_COUNT):  # a bool is no count
            attrs[name] = value
    return attrs


def list_outcome(fields: dict[str, Any]) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    total = _count(fields.get("total"))
    if total is not None:
        attrs[ARKTRACE_TASKS_TOTAL] = total
    items = fields.get("items")
    if isinstance(items, (list, tuple)):
        attrs[ARKTRACE_TASKS_RETURNED] = len(items)
    return attrs


def task_output(fields: dict[str, Any], choices: Any) -> list[dict[str, Any]]:
    """The finished video as an assistant message: the video part, then the last frame as an image.
    The URLs themselves are in ``output.value`` (OpenInference has no video part)."""
    content = fields.get("content")
    parts: list[dict[str, Any]] = []
    if isinstance(get(content, "video_url"), str):
        parts.append({"type": "video_url"})
    last_frame = get(content, "last_frame_url")
    if isinstance(last_frame, str):
        parts.append({"type": "image_url", "image_url": {"url": last_frame}})
    return [{"role": "assistant", "content": parts}] if parts else []


def task_failure(response: Any) -> ReportedFailure | None:
    """A task that ``failed`` (or ``expired``) ends its poll's span as an error, as the Responses
    API's ``status: failed`` does: the call succeeded, the generation did not, and a trace view shows
    that in red; ``error.type`` is ModelArk's code (``OutputVideoSensitiveContentDetected``)."""
    status = get(response, "status")
    if status != "failed" and status != "expired":
        return None
    error = get(response, "error")
    return ReportedFailure(get(error, "code") or status, get(error, "message"))


def price_video(prices: Any, attrs: dict[str, Any], request_model: Any) -> Any:
    """A finished task's output tokens, at the model's price (Seedance bills no input tokens)."""
    output = attrs.get(GENAI_USAGE_OUTPUT_TOKENS)
    if output is None:
        return None  # not finished, or failed: nothing billed to price
    return prices.cost(
        attrs.get(GENAI_RESPONSE_MODEL), request_model, attrs.get(GENAI_USAGE_INPUT_TOKENS, 0), output, None
    )


def no_price(prices: Any, attrs: dict[str, Any], request_model: Any) -> None:
    return None


# ----------------------------------------------------------------------------------- operations

CREATE_TASK = Operation(
    name="generate_content",
    span_kind="LLM",
    paths=(CREATE_PATH,),
    patch_points=((_MODULE, "Tasks", "create"), (_MODULE, "AsyncTasks", "create")),
    safe_arguments=CREATE_SAFE,
    request_content=create_content,
    output_messages=None,  # a task id, no content
    price=no_price,  # billed when the task succeeds: on the poll that sees it
    include_usage=False,
    output_format=video_output,
    reads_choices=False,
    ended=remember_task,
    # The prompt and reference images (maybe inline data): content, never invocation parameters.
    content_arguments=frozenset({"content"}),
)

GET_TASK = Operation(
    name="get_task",
    span_kind="LLM",
    paths=(),  # a GET: traced at the resource method only
    patch_points=((_MODULE, "Tasks", "get"), (_MODULE, "AsyncTasks", "get")),
    safe_arguments=TASK_SAFE,
    request_content=no_request_content,
    output_messages=task_output,
    price=price_video,
    include_usage=False,
    reported_failure=task_failure,
    outcome=task_outcome,
    output_format=video_output,
    reads_choices=False,
    links=created_link,
    usage=usage_once,
)

LIST_TASKS = Operation(
    name="list_tasks",
    span_kind="CHAIN",
    paths=(),
    patch_points=((_MODULE, "Tasks", "list"), (_MODULE, "AsyncTasks", "list")),
    safe_arguments=LIST_SAFE,
    request_content=no_request_content,
    output_messages=None,  # the tasks' prompts and URLs: not recorded
    price=no_price,
    include_usage=False,
    outcome=list_outcome,
    reads_choices=False,
    positional=LIST_POSITIONAL,
)

DELETE_TASK = Operation(
    name="delete_task",
    span_kind="CHAIN",
    paths=(),
    patch_points=((_MODULE, "Tasks", "delete"), (_MODULE, "AsyncTasks", "delete")),
    safe_arguments=TASK_SAFE,
    request_content=no_request_content,
    output_messages=None,
    price=no_price,
    include_usage=False,
    reads_choices=False,
    positional=DELETE_POSITIONAL,
    links=created_link,
)

VIDEO_TASKS = (CREATE_TASK, GET_TASK, LIST_TASKS, DELETE_TASK)
