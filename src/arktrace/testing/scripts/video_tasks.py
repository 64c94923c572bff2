"""Seedance video generation tasks (``/contents/generations/tasks``): create, get, list, delete.

Shapes from the Volcengine Ark docs (create 1520757, get 1521309, list 1521675, delete 1521720, as
quoted in InteraqtDev/interaqt-app-boilerplate ``integrations/docs/volcengine/fangzhou/videogen/``)
and the Ark SDKs' ``types/content_generation``. A task is ``queued`` for its first
``ModelArkServer.task_polls[0]`` ``GET`` s, ``running`` for the next ``task_polls[1]``, then
``succeeded`` (``content.video_url``, ``content.last_frame_url`` when ``return_last_frame`` was set,
``usage``) or, for the magic ``ep-error-content`` model, ``failed`` (``error``). Only a ``GET`` of the
task moves it on; ``list`` and ``delete`` see it where it is. Tokens are width x height x fps x
seconds / 1024, as ModelArk bills them.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from typing import Any

from ._common import CONTENT_FILTER_MODEL, ArkError, Call, Route, invalid, make_error

DEFAULT_VIDEO_MODEL = "seedance-1-0-pro-250528"
URL_BASE = "https://ark-content-generation.example.com"
FPS = 24
PAGE_SIZE = 10
_SHORT_SIDE = {"480p": 480, "720p": 720, "1080p": 1080}
_RATIO_RE = re.compile(r"(\d+):(\d+)\Z")
_PARTS = ("text", "image_url", "video_url", "audio_url", "draft_task")

FILTERED_CODE = "OutputVideoSensitiveContentDetected"
FILTERED_MESSAGE = "The request failed because the output video may contain sensitive information."


@dataclass
class Task:
    id: str
    requested: str  # the model or endpoint id the caller named (what filter.model matches)
    model: str  # the model that serves it
    body: dict[str, Any]
    created_at: int
    fails: bool
    polls: int = 0
    cancelled: bool = False


def new_task_id() -> str:
    return "cgt-" + time.strftime("%Y%m%d%H%M%S") + "-" + os.urandom(3).hex()[:5]


def _opt(body: dict[str, Any], name: str, kind: type, default: Any) -> Any:
    value = body.get(name)
    if value is None:
        return default
    if isinstance(value, bool) is not (kind is bool) or not isinstance(value, kind):
        raise invalid(f"The parameter {name} specified in the request is not valid: {value!r}.")
    return value


def _validate(body: dict[str, Any]) -> None:
    content = body["content"]
    if not isinstance(content, list) or not all(
        isinstance(p, dict) and p.get("type") in _PARTS for p in content
    ):
        raise invalid("The parameter content specified in the request is not valid.")
    resolution = _opt(body, "resolution", str, "720p")
    if resolution not in _SHORT_SIDE:
        raise invalid(f"The parameter resolution specified in the request is not valid: {resolution!r}.")
    _opt(body, "ratio", str, "16:9")
    _opt(body, "duration", int, 5)
    _opt(body, "frames", int, None)
    _opt(body, "seed", int, -1)


def _tokens(body: dict[str, Any]) -> int:
    short = _SHORT_SIDE[body.get("resolution") or "720p"]
    m = _RATIO_RE.match(body.get("ratio") or "16:9")  # adaptive / keep_ratio: 16:9
    a, b = (int(m.group(1)), int(m.group(2))) if m else (16, 9)
    long = round(short * max(a, b) / max(min(a, b), 1) / 16) * 16
    seconds = body["frames"] / FPS if body.get("frames") else body.get("duration") or 5
    return int(short * long * FPS * seconds // 1024)


def status(task: Task, queued: int, running: int) -> str:
    if task.cancelled:
        return "cancelled"
    if task.polls <= queued:
        return "queued"
    if task.polls <= queued + running:
        return "running"
    return "failed" if task.fails else "succeeded"


def task_object(task: Task, state: str) -> dict[str, Any]:
    body = task.body
    seed = body.get("seed")
    out: dict[str, Any] = {
        "id": task.id,
        "model": task.model,
        "status": state,
        "error": None,
        "created_at": task.created_at,
        "updated_at": task.created_at + task.polls,
        "seed": seed if isinstance(seed, int) and seed >= 0 else 42,
        "resolution": body.get("resolution") or "720p",
        "ratio": body.get("ratio") or "16:9",
        "framespersecond": FPS,
        "service_tier": body.get("service_tier") or "default",
        "execution_expires_after": body.get("execution_expires_after") or 172800,
    }
    if body.get("frames"):
        out["frames"] = body["frames"]
    else:
        out["duration"] = body.get("duration") or 5
    for flag in ("generate_audio", "draft"):
        if body.get(flag) is not None:
            out[flag] = body[flag]
    if body.get("safety_identifier") is not None:
        out["safety_identifier"] = body["safety_identifier"]
    if state == "succeeded":
        content = {"video_url": f"{URL_BASE}/{task.model}/{task.id}.mp4"}
        if body.get("return_last_frame"):
            content["last_frame_url"] = f"{URL_BASE}/{task.model}/{task.id}_last_frame.png"
        out["content"] = content
        tokens = _tokens(body)
        out["usage"] = {"completion_tokens": tokens, "total_tokens": tokens}
    elif state == "failed":
        out["error"] = {"code": FILTERED_CODE, "message": FILTERED_MESSAGE}
    return out


def _not_found(task_id: str) -> ArkError:
    return ArkError(404, "ResourceNotFound", f"The specified task {task_id} is not found.")


def _create(call: Call) -> Any:
    call.refuse_unstreamed_midstream()
    body = call.body
    _validate(body)
    task = Task(
        new_task_id(),
        str(call.requested),
        call.model,
        dict(body),
        call.created,
        call.requested == CONTENT_FILTER_MODEL,
    )
    with call.app._lock:
        call.app._tasks[task.id] = task
    return {"id": task.id}


def _get(call: Call) -> Any:
    app, task_id = call.app, call.params["id"]
    with app._lock:
        task = app._tasks.get(task_id)
        if task is None:
            raise _not_found(task_id)
        task.polls += 1
        state = status(task, *app.task_polls)
    return task_object(task, state)


def _page(query: dict[str, list[str]], name: str, default: int) -> int:
    raw = (query.get(name) or [str(default)])[-1]
    if not raw.isdigit() or not 1 <= int(raw) <= 500:
        raise invalid(f"The parameter {name} specified in the request is not valid: {raw!r}.")
    return int(raw)


def _list(call: Call) -> Any:
    app, query = call.app, call.query
    page_num, page_size = _page(query, "page_num", 1), _page(query, "page_size", PAGE_SIZE)
    wanted_status = (query.get("filter.status") or [None])[-1]
    wanted_model = (query.get("filter.model") or [None])[-1]
    wanted_tier = (query.get("filter.service_tier") or [None])[-1]
    wanted_ids = set(query.get("filter.task_ids") or ())
    with app._lock:
        tasks = [(t, status(t, *app.task_polls)) for t in app._tasks.values()]
    found = [
        task_object(t, state)
        for t, state in reversed(tasks)  # newest first
        if (wanted_status is None or state == wanted_status)
        and (wanted_model is None or wanted_model in (t.requested, t.model))
        and (wanted_tier is None or (t.body.get("service_tier") or "default") == wanted_tier)
        and (not wanted_ids or t.id in wanted_ids)
    ]
    start = (page_num - 1) * page_size
    return {"total": len(found), "items": found[start : start + page_size]}


def _delete(call: Call) -> Any:
    """A queued task is cancelled; a finished one is deleted; a running or cancelled one stays."""
    app, task_id = call.app, call.params["id"]
    with app._lock:
        task = app._tasks.get(task_id)
        if task is None:
            raise _not_found(task_id)
        state = status(task, *app.task_polls)
        if state == "queued":
            task.cancelled = True
        elif state in ("succeeded", "failed"):
            del app._tasks[task_id]
        else:
            raise make_error(400, "InvalidAction", action=f"DELETE of a {state} task")
    return {}


_TASKS = "/contents/generations/tasks"

ROUTES = (
    Route("POST", _TASKS, _create, ("content",), default_model=DEFAULT_VIDEO_MODEL),
    Route("GET", _TASKS + "/{id}", _get, json=False),
    Route("GET", _TASKS, _list, json=False),
    Route("DELETE", _TASKS + "/{id}", _delete, json=False),
)
