"""The bundled server's scripts: one module per ModelArk surface, each declaring its ``ROUTES``.

Adding a surface is one new module here with a ``ROUTES`` tuple of ``Route``s, and its name in
``SURFACES``; the HTTP side (``testing/_server.py``) never changes. A module mirrors the operation
it serves (``arktrace/operations/<name>.py``) where there is one.
"""

from __future__ import annotations

from importlib import import_module

from ._common import Route

SURFACES = (
    "chat",
    "completions",
    "responses",
    "embeddings",
    "context",
    "images",
    "video_tasks",
    "bot_chat",
    "tokenization",
)


def routes() -> tuple[Route, ...]:
    """Every surface's routes, in ``SURFACES`` order."""
    found: list[Route] = []
    for name in SURFACES:
        found.extend(import_module(f"{__name__}.{name}").ROUTES)
    return tuple(found)
