"""pytest plugin for the openai SDK's own test suite: leave out the tests that need a prism mock server.

The SDK's generated ``tests/api_resources`` tests send real requests to a prism server built from the
OpenAPI spec (``TEST_API_BASE_URL``, default ``http://127.0.0.1:4010``); only those that take the
respx fixture (``respx2_mock`` from 3.x, ``respx_mock`` before) mock the transport and run without it.
Deselected, not skipped: the count is in pytest's summary line, and written to the file named by
``OPENAI_SUITE_DESELECTED`` when set (with xdist only the workers collect; each writes the same number).
"""

from __future__ import annotations

import os
from typing import Any

_RESPX_FIXTURES = ("respx2_mock", "respx_mock")


def needs_prism(item: Any, root: str) -> bool:
    path = os.path.relpath(str(item.path), root).replace(os.sep, "/")
    if not path.startswith("tests/api_resources/"):
        return False
    return not any(name in item.fixturenames for name in _RESPX_FIXTURES)


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    root = str(config.rootpath)
    keep, drop = [], []
    for item in items:
        (drop if needs_prism(item, root) else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
    report = os.environ.get("OPENAI_SUITE_DESELECTED")
    if report:
        with open(report, "w") as out:
            out.write(str(len(drop)))
