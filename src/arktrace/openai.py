"""``from arktrace.openai import OpenAI``: the openai clients, accepting Langfuse's drop-in keywords.

Code written for Langfuse's drop-in (``from langfuse.openai import openai``) passes ``name=``,
``metadata=``, ``session_id=``, ``user_id=`` and ``tags=`` to ``create()``. The plain SDK raises
``TypeError`` for most of them and sends ``metadata`` to the provider. The clients here are subclasses
of ``openai.OpenAI`` / ``openai.AsyncOpenAI`` whose traced methods (``chat.completions.create`` and
``.parse``, ``completions.create``, ``embeddings.create``, ``responses.create`` and ``.parse``,
``beta.chat.completions.parse``, also through ``with_raw_response`` / ``with_streaming_response``)
take those keywords out before the SDK sees them and hand them to the span of that call, as
``arktrace.context(user_id=..., session_id=..., tags=..., metadata=..., call_name=name)`` would around
it: the same attributes, so every backend shows them as it shows context. ``metadata`` is still sent
when the call sets ``store=True`` (OpenAI's stored completions read it), as Langfuse's drop-in does.

Spans come from ``arktrace.init()`` / ``instrument()`` as for any client; without them the keywords are
taken out all the same, so the application runs unchanged. Everything else of the ``openai`` module is
reachable here too (``arktrace.openai.APIError``, ...), so ``from arktrace import openai`` can replace
``import openai``.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import openai as _openai
from opentelemetry import context as _otel_context

from ._context import _SCOPE_KEY, context
from ._faults import report_fault

__all__ = ["AsyncOpenAI", "OpenAI"]

_KEYWORDS = frozenset(("name", "metadata", "session_id", "user_id", "tags"))

# Where the traced methods are, below a client: attribute -> sub-tree, or the method names at a leaf.
_TREE: dict[str, Any] = {
    "chat": {"completions": ("create", "parse")},
    "completions": ("create",),
    "embeddings": ("create",),
    "responses": ("create", "parse"),
    "beta": {"chat": {"completions": ("parse",)}},
}


def _scope_for(kwargs: dict[str, Any]) -> Any:
    """Take the drop-in keywords out of ``kwargs`` (a call's own dict); the scope they make, or None."""
    name = kwargs.pop("name", None)
    metadata = kwargs.pop("metadata", None)
    session_id = kwargs.pop("session_id", None)
    user_id = kwargs.pop("user_id", None)
    tags = kwargs.pop("tags", None)
    if metadata is not None and kwargs.get("store"):
        kwargs["metadata"] = metadata  # the SDK's own argument then, as with Langfuse's drop-in
    try:
        if isinstance(tags, str):  # one tag, not its letters
            tags = [tags]
        return context(
            user_id=user_id,
            session_id=session_id,
            tags=tags,
            metadata=metadata if isinstance(metadata, dict) else None,
            call_name=name if isinstance(name, str) and name else None,
        )._scope()
    except Exception:
        report_fault("reading the Langfuse-style keywords of a call (the call goes on without them)")
        return None


def _sync_method(base: type, name: str) -> Callable[..., Any]:
    original = getattr(base, name)

    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        # Looked up per call: instrument() may patch the SDK's method after this client was made.
        call = getattr(base, name)
        if kwargs.keys().isdisjoint(_KEYWORDS):
            return call(self, *args, **kwargs)
        scope = _scope_for(kwargs)
        if scope is None:
            return call(self, *args, **kwargs)
        token = _otel_context.attach(_otel_context.set_value(_SCOPE_KEY, scope))
        try:
            return call(self, *args, **kwargs)  # a stream's span starts in here, so it gets the scope
        finally:
            _otel_context.detach(token)

    return functools.update_wrapper(method, original)


def _async_method(base: type, name: str) -> Callable[..., Any]:
    original = getattr(base, name)

    async def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        call = getattr(base, name)
        if kwargs.keys().isdisjoint(_KEYWORDS):
            return await call(self, *args, **kwargs)
        scope = _scope_for(kwargs)
        if scope is None:
            return await call(self, *args, **kwargs)
        # The SDK's span starts when its coroutine runs, so the scope is attached around the await.
        token = _otel_context.attach(_otel_context.set_value(_SCOPE_KEY, scope))
        try:
            return await call(self, *args, **kwargs)
        finally:
            _otel_context.detach(token)

    return functools.update_wrapper(method, original)


_classes: dict[tuple[type, bool], type] = {}
_made: set[type] = set()  # the accepting subclasses, to tell them apart from the SDK's in one look-up


def _accepting(base: type, tree: Any, is_async: bool) -> type:
    """A subclass of the SDK resource class ``base`` whose traced methods accept the keywords."""
    key = (base, is_async)
    cls = _classes.get(key)
    if cls is None:
        namespace: dict[str, Any] = {"__slots__": (), "__module__": base.__module__}
        if isinstance(tree, dict):
            for attribute, sub in tree.items():
                namespace[attribute] = _Resource(attribute, sub, is_async)
        else:
            make = _async_method if is_async else _sync_method
            for method in tree:
                if callable(getattr(base, method, None)):
                    namespace[method] = make(base, method)
        cls = _classes[key] = type(base.__name__, (base,), namespace)
        _made.add(cls)
    return cls


class _Resource:
    """A client's (or resource's) sub-resource attribute, handed out as an accepting subclass.

    The SDK makes sub-resources lazily (``cached_property``) in newer releases and assigns them in
    ``__init__`` in older ones (1.x): as a data descriptor this sees both, and takes the SDK's own
    object, whose class it switches to the accepting subclass (which adds no state).
    """

    def __init__(self, name: str, tree: Any, is_async: bool) -> None:
        self.name = name
        self.tree = tree
        self.is_async = is_async

    def __get__(self, obj: Any, owner: Any = None) -> Any:
        if obj is None:
            return self
        value = obj.__dict__.get(self.name)
        if value is None:
            value = self._sdk_value(obj)
        if type(value) not in _made:
            try:
                value.__class__ = _accepting(type(value), self.tree, self.is_async)
            except TypeError:
                report_fault(f"accepting Langfuse-style keywords on {self.name}")
        return value

    def __set__(self, obj: Any, value: Any) -> None:
        obj.__dict__[self.name] = value

    def _sdk_value(self, obj: Any) -> Any:
        for klass in type(obj).__mro__:
            attribute = klass.__dict__.get(self.name)
            if attribute is not None and attribute is not self and not isinstance(attribute, _Resource):
                value = attribute.__get__(obj, type(obj))  # a cached_property stores it in obj.__dict__
                obj.__dict__[self.name] = value
                return value
        raise AttributeError(f"{type(obj).__name__!r} object has no attribute {self.name!r}")


class OpenAI(_openai.OpenAI):
    """``openai.OpenAI`` whose traced methods accept the Langfuse drop-in keywords."""


class AsyncOpenAI(_openai.AsyncOpenAI):
    """``openai.AsyncOpenAI`` whose traced methods accept the Langfuse drop-in keywords."""


for _attribute, _sub in _TREE.items():
    setattr(OpenAI, _attribute, _Resource(_attribute, _sub, False))
    setattr(AsyncOpenAI, _attribute, _Resource(_attribute, _sub, True))
OpenAI.__module__ = AsyncOpenAI.__module__ = __name__


def __getattr__(name: str) -> Any:
    # The rest of the openai module, so that `from arktrace import openai` stands in for `import openai`.
    return getattr(_openai, name)


def __dir__() -> list[str]:
    return sorted({*globals(), *dir(_openai)})
