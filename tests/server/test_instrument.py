"""instrument() / uninstrument(): idempotent, reversible, covering every patch point."""

from __future__ import annotations

import asyncio
import importlib
import inspect
import os
import subprocess
import sys
import typing

import openai
import pytest

import arktrace
from arktrace import _instrument
from harness import ENDPOINT

PATCHED = [
    (openai.resources.chat.completions.Completions, "create"),
    (openai.resources.chat.completions.AsyncCompletions, "create"),
    (openai.resources.completions.Completions, "create"),
    (openai.resources.completions.AsyncCompletions, "create"),
    (openai.resources.embeddings.Embeddings, "create"),
    (openai.resources.embeddings.AsyncEmbeddings, "create"),
]


def _current():
    return [owner.__dict__[name] for owner, name in PATCHED]


def test_uninstrument_restores_the_originals(provider):
    originals = _current()
    arktrace.instrument(tracer_provider=provider)
    assert all(now is not before for now, before in zip(_current(), originals))
    assert arktrace.is_instrumented()
    arktrace.uninstrument()
    assert _current() == originals
    assert not arktrace.is_instrumented()
    arktrace.uninstrument()  # a second call is harmless


def test_instrument_is_idempotent(provider):
    arktrace.instrument(tracer_provider=provider)
    patched = _current()
    arktrace.instrument(tracer_provider=provider)
    assert _current() == patched
    assert all(getattr(fn, "__wrapped__", None) is not None for fn in patched)
    assert not any(getattr(fn.__wrapped__, "__wrapped__", None) in patched for fn in patched)
    arktrace.uninstrument()


def test_patched_methods_keep_their_names():
    arktrace.instrument()
    try:
        create = openai.resources.chat.completions.Completions.create
        assert create.__name__ == "create"
        assert create.__wrapped__.__qualname__ == create.__qualname__
    finally:
        arktrace.uninstrument()


def test_raw_helpers_built_while_instrumented_pass_through_after_uninstrument(client, server, spans):
    raw = client.chat.completions.with_raw_response  # built now, around the patched create
    raw.create(model=ENDPOINT, messages=[{"role": "user", "content": "x"}]).parse()
    spans.one()  # control: traced while instrumented
    spans.clear()
    arktrace.uninstrument()
    raw.create(model=ENDPOINT, messages=[{"role": "user", "content": "x"}]).parse()
    assert spans.all() == []


def test_every_call_kind_is_patched(provider):
    arktrace.instrument(tracer_provider=provider)
    try:
        names = {(p.owner.__name__, p.name) for p in _instrument._state.patches}
    finally:
        arktrace.uninstrument()
    assert {("Completions", "create"), ("AsyncCompletions", "create"), ("Embeddings", "create")} <= names
    assert ("AsyncEmbeddings", "create") in names
    has_parse = hasattr(openai.resources.chat.completions.Completions, "parse")
    assert (("Completions", "parse") in names) == (has_parse or _has_beta_parse())


def _has_beta_parse():
    try:
        from openai.resources.beta.chat.completions import Completions
    except ImportError:
        return False
    return "parse" in Completions.__dict__


def test_bad_settings_fail_at_instrument_naming_the_variable(monkeypatch):
    monkeypatch.setenv("ARKTRACE_CAPTURE_CONTENT", "maybe")
    with pytest.raises(arktrace.ConfigError, match=r"ARKTRACE_CAPTURE_CONTENT='maybe'.*true/false"):
        arktrace.instrument()
    assert not arktrace.is_instrumented()


def test_a_resource_module_the_app_has_not_loaded_is_patched_when_it_is_not_loaded_by_us():
    # openai loads some resource modules only when the client first uses them (the Responses API in
    # 2.x/3.x): instrument() must neither import them (tens of ms, MBs) nor miss them later.
    module = "openai.resources.responses.responses"
    script = f"""
import sys
import subprocess
import sys

import openai
import arktrace
loaded_before = "{module}" in sys.modules
arktrace.instrument()
assert loaded_before or "{module}" not in sys.modules, "instrument() imported {module}"
client = openai.OpenAI(api_key="k", base_url="http://127.0.0.1:9")
client.responses  # the SDK imports the module now
from {module} import Responses
assert getattr(Responses.__dict__["create"], "__wrapped__", None) is not None, "not patched on import"
print("ok")
"""
    if not hasattr(openai.OpenAI, "responses"):
        pytest.skip("this openai has no Responses API")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "ok", done.stderr


def _introspection(fn):
    """What tools read off a method: each must be the same on the patched method as on the original."""
    try:
        hints = typing.get_type_hints(fn)
    except Exception as error:  # the same failure is the same answer
        hints = type(error)
    return {
        "name": fn.__name__,
        "qualname": fn.__qualname__,
        "doc": fn.__doc__,
        "module": fn.__module__,
        "annotations": fn.__annotations__,
        "signature": inspect.signature(fn),
        "type hints": hints,
        "inspect.iscoroutinefunction": inspect.iscoroutinefunction(fn),
        "asyncio.iscoroutinefunction": asyncio.iscoroutinefunction(fn),
        "unwrapped": inspect.unwrap(fn),
    }


def test_every_patched_method_introspects_as_the_original(provider):
    for module in _ALL_POINT_MODULES:  # so that every patch point this install has is patched
        try:
            importlib.import_module(module)
        except ImportError:
            pass
    originals = {}
    arktrace.instrument(tracer_provider=provider)
    try:
        patches = list(_instrument._state.patches)
        for patch in patches:
            originals[patch] = _introspection(patch.original)
            assert patch.owner.__dict__[patch.name] is patch.wrapper
            assert patch.wrapper.__wrapped__ is patch.original
            assert _introspection(patch.wrapper) == originals[patch], (patch.owner, patch.name)
    finally:
        arktrace.uninstrument()
    names = {(p.owner.__module__, p.owner.__qualname__, p.name) for p in patches}
    assert len(names) == len(patches) >= 12
    assert openai.resources.chat.completions.AsyncCompletions in {p.owner for p in patches}
    hints = originals[next(p for p in patches if p.owner is openai.resources.chat.completions.Completions)]
    assert len(hints["type hints"]) > 10  # resolved, against the SDK's own namespace


_ALL_POINT_MODULES = [
    f"{package}.{suffix}" for package in _instrument._SDK_PACKAGES for suffix in _instrument._POINT_MODULES
]


def test_the_suite_starts_from_an_environment_without_the_developers_settings():
    # conftest clears ARKTRACE_*, OTEL_* and backend variables before any test runs (a developer's
    # LANGFUSE_* would otherwise export test spans to a real host). This fails if the clearing goes.
    from harness import SHELL_PREFIXES, is_harness_variable

    left = [name for name in os.environ if name.startswith(SHELL_PREFIXES) and not is_harness_variable(name)]
    assert left == []
