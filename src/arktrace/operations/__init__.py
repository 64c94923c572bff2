"""The operations arktrace traces, one module each, and the tables the patching is built from.

An operation module declares one :class:`~arktrace.operations._common.Operation`: its patch points
(openai and both Ark SDKs), API paths, safe arguments, request and response extraction, stream state,
failure-with-200 detection and pricing. Adding one is a new module and a line in ``OPERATIONS``;
the lifecycle (``_call.py``, ``_instrument.py``) reads these tables and never names an operation.

Logfire keeps one ``EndpointConfig`` NamedTuple per endpoint, with the stream-state class that folds
its chunks (``logfire/_internal/integrations/llm_providers/types.py``); an ``Operation`` carries, in
the same way, everything that differs between operations, so that nothing else has to branch.

To add one (``images.generate``, say): write ``images.py`` declaring an ``Operation`` (the fields
are described on the class, the shared pieces are in ``_common.py`` and ``_errors.py``), add it to
``OPERATIONS`` below, put any new attribute name in ``conventions/names.py``, and give the bundled
server (``arktrace.testing``) its endpoint. ``tests/test_operations.py`` checks the declaration and
``tests/test_layers.py`` that the module imports nothing of the lifecycle.
"""

from __future__ import annotations

from typing import Any

from ._common import Operation
from .bot_chat import BOT_CHAT
from .chat import CHAT
from .completions import TEXT_COMPLETION
from .embeddings import EMBEDDINGS
from .images import IMAGES
from .responses import RESPONSES
from .tokenization import TOKENIZATION
from .video_tasks import VIDEO_TASKS

OPERATIONS: tuple[Operation, ...] = (
    CHAT,
    TEXT_COMPLETION,
    EMBEDDINGS,
    RESPONSES,
    IMAGES,
    BOT_CHAT,
    TOKENIZATION,
    *VIDEO_TASKS,
)

# (module suffix, class, method, operation); each is tried under every SDK package prefix, and
# skipped where it does not exist in the installed version.
PATCH_POINTS: tuple[tuple[str, str, str, Operation], ...] = tuple(
    (suffix, owner, method, op) for op in OPERATIONS for suffix, owner, method in op.patch_points
)

# The paths the SDKs send each traced operation to, as their resource methods write them. Only these
# are LLM calls: files, models and every other path are not traced.
PATH_OPERATIONS: dict[str, Operation] = {path: op for op in OPERATIONS for path in op.paths}


def operation_for_path(path: Any, base_url: Any = "") -> Operation | None:
    """The operation a request to ``path`` performs, or None when it is not an LLM call.

    ``path`` is what a caller passes to the client's ``post()``: usually as the SDKs write it, but a
    relative path without the leading slash, or a full URL under the client's ``base_url``, reach the
    same endpoint.
    """
    if not isinstance(path, str):
        return None
    op = PATH_OPERATIONS.get(path)
    if op is not None:
        return op
    if "://" in path:
        base = str(base_url)
        if not base or not path.startswith(base):
            return None
        path = path[len(base) :]
    return PATH_OPERATIONS.get("/" + path.split("?", 1)[0].strip("/"))


__all__ = [
    "BOT_CHAT",
    "CHAT",
    "EMBEDDINGS",
    "IMAGES",
    "OPERATIONS",
    "PATCH_POINTS",
    "PATH_OPERATIONS",
    "RESPONSES",
    "TEXT_COMPLETION",
    "TOKENIZATION",
    "Operation",
    "operation_for_path",
]
