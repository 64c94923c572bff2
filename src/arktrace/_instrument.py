"""Patch points and the wrappers the patched SDK methods share.

Two levels are patched. The resource methods (``Completions.create`` and friends) are where a
documented call starts: they see the caller's arguments and run the whole call, retries included.
Below them, the client's ``request()`` sees every request the client sends, also those sent around
the resource methods (LiteLLM >= 1.100 calls ``client.post("/chat/completions", ...)`` directly). It
traces only a POST to the path of an operation arktrace traces (``operations.PATH_OPERATIONS``): a
``models.list()`` or a file upload is not an LLM call and gets no span. Inside a traced resource method
it passes straight through after one context lookup, so a call is one span whichever level saw it
first. ``request()`` rather than ``post()``: resources bind ``client.post`` when they are built, so a
client built before ``instrument()`` would keep the unpatched one, while ``self.request`` is looked up
on every call; and the retries happen inside it, so they still share the call's span. One wrapper per
level serves every patched method; whether it awaits is the only difference between sync and async.
"""

from __future__ import annotations

import copy
import functools
import importlib.util
import inspect
import logging
import sys
import threading
from collections.abc import Iterable, Mapping
from typing import Any, Callable, NamedTuple

import wrapt
from opentelemetry import context as otel_context
from opentelemetry import trace

from . import _events
from ._call import IN_CALL_KEY, Call
from ._compat import RAW_RESPONSE_HEADER
from ._compat import SUPPRESS_KEY as _SUPPRESS_KEY
from ._context import ensure_processor, remove_processors
from ._endpoint import clear_cache, endpoint_for
from ._errors import ConfigError
from ._faults import forget as forget_faults
from ._faults import report_fault
from ._metrics import Metrics
from ._prices import load_prices
from ._recorder import Recorder, set_current_recorder
from ._recorder import current_recorder as current_recorder  # read by tests and benchmarks here
from ._settings import load_settings
from ._version import SCHEMA_URL, __version__
from .conventions.backend_extras import extras_for
from .conventions.names import HTTP_CLIENT_REQUEST_ID, HTTP_REQUEST_ID
from .operations import PATCH_POINTS, Operation, operation_for_path

# The client's own send method (module suffix, class, method): the lower patch point. A request sent
# to an LLM path around the resource methods (LiteLLM >= 1.100 calls ``client.post("/chat/completions",
# ...)``) is traced here; inside a traced resource method it passes straight through. ``request`` and
# not ``post``: resources bind ``client.post`` when they are built, so a client built before
# instrument() would keep sending through the unpatched one; ``self.request`` is looked up per call.
_CLIENT_POINTS: tuple[tuple[str, str, str], ...] = (
    ("_base_client", "SyncAPIClient", "request"),
    ("_base_client", "AsyncAPIClient", "request"),
)
_POINT_MODULES = tuple(
    dict.fromkeys([suffix for suffix, _, _, _ in PATCH_POINTS] + [suffix for suffix, _, _ in _CLIENT_POINTS])
)
# The OpenAI SDK, and the two Ark runtime SDKs (forks of its structure) when installed.
_SDK_PACKAGES = ("openai", "byteplussdkarkruntime", "volcenginesdkarkruntime")
# The response header behind the ``_request_id`` an SDK sets on what it parses: openai keeps the
# provider's request id, the Ark SDKs the X-Client-Request-Id they sent (which ModelArk echoes).
_PARSED_ID_ATTRIBUTE = {"openai": HTTP_REQUEST_ID}


class _Patch(NamedTuple):
    owner: type
    name: str
    original: Any
    wrapper: Any


class _State:
    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self.patches: list[_Patch] = []
        self.packages: set[str] = set()  # SDK packages seen so far
        self.modules: set[str] = set()  # their resource modules patched so far
        self.active = True


logger = logging.getLogger("arktrace")
_lock = threading.RLock()  # re-entrant: an import hook may fire while instrument() holds it
_state: _State | None = None
_hooks_registered = False
_module_hooks: set[str] = set()  # resource modules with an import hook (wrapt's hooks are for good)


def instrument(
    tracer_provider: Any = None,
    meter_provider: Any = None,
    *,
    capture_content: bool | str | None = None,
    max_value_length: int | None = None,
    stream_usage: str | bool | None = None,
    max_message_attributes: int | None = None,
    prices: Any = None,
    conventions: str | None = None,
) -> None:
    """Trace every LLM call of the OpenAI (and Ark) SDKs: the operations in ``arktrace.operations``.

    Idempotent: a second call while instrumented changes nothing. Settings not given here come from
    the environment (``ARKTRACE_*``); a bad value raises :class:`arktrace.ConfigError` now.
    ``prices`` updates the built-in price table (a mapping, or the path of a JSON file).
    """
    global _state
    settings = load_settings(
        capture_content=capture_content,
        max_value_length=max_value_length,
        stream_usage=stream_usage,
        max_message_attributes=max_message_attributes,
        conventions=conventions,
    )
    price_table = load_prices(prices)
    if tracer_provider is not None and not callable(getattr(tracer_provider, "get_tracer", None)):
        raise ConfigError("tracer_provider", repr(tracer_provider), "an OpenTelemetry TracerProvider")
    if meter_provider is not None and not callable(getattr(meter_provider, "get_meter", None)):
        raise ConfigError("meter_provider", repr(meter_provider), "an OpenTelemetry MeterProvider")
    with _lock:
        if _state is not None:
            return
        if tracer_provider is not None:
            ensure_processor(tracer_provider)
        ensure_processor(trace.get_tracer_provider())
        recorder = Recorder(
            tracer=trace.get_tracer("arktrace", __version__, tracer_provider, schema_url=SCHEMA_URL),
            metrics=Metrics(meter_provider),
            prices=price_table,
            settings=settings,
        )
        _state = _State(recorder=recorder)
        set_current_recorder(recorder)
        # SDKs the application already imported are patched now; the others when they are imported
        # (importing an SDK the application may never use would cost it up to a second and 14 MB).
        for package in _SDK_PACKAGES:
            module = sys.modules.get(package)
            if module is not None:
                _patch_package(module)
        _register_import_hooks()


def _register_import_hooks() -> None:
    global _hooks_registered
    if not _hooks_registered:
        _hooks_registered = True
        for package in _SDK_PACKAGES:
            wrapt.register_post_import_hook(_patch_package, package)


def _patch_package(module: Any) -> None:
    """Patch one SDK package's methods, once per instrumentation (runs as a post-import hook too).

    Never raises: it may run inside the application's ``import openai``, which must work whatever
    the installed SDK looks like.
    """
    try:
        _patch_package_now(module)
    except Exception:
        report_fault(f"patching {getattr(module, '__name__', module)}")


def _patch_package_now(module: Any) -> None:
    package = module.__name__
    with _lock:
        state = _state
        if state is None or package in state.packages:
            return
        state.packages.add(package)
        # find_spec locates the subpackage without running it: openai 0.x and anything else without
        # the 1.x-3.x layout is reported, not patched.
        try:
            layout = importlib.util.find_spec(f"{package}.resources")
        except (ImportError, ValueError):  # a plain module, or a package without a spec
            layout = None
        if layout is None:
            version = getattr(module, "__version__", "of unknown version")
            logger.warning(
                "arktrace: %s %s has none of the methods arktrace traces (openai 1.x to 3.x are supported); "
                "its calls are not traced",
                package,
                version,
            )
            return
        # A resource module the application has not imported is patched when it is, never imported
        # here: openai loads some lazily (responses: ~60 ms and 2 MB the application may never spend).
        for suffix in _POINT_MODULES:
            name = f"{package}.{suffix}"
            loaded = sys.modules.get(name)
            if loaded is not None:
                _patch_module_now(state, loaded)
            elif name not in _module_hooks:
                _module_hooks.add(name)
                wrapt.register_post_import_hook(_patch_module, name)


def _patch_module(module: Any) -> None:
    """Import hook of one resource module; like _patch_package, it must never raise."""
    try:
        with _lock:
            state = _state
            if state is not None and module.__name__.partition(".")[0] in state.packages:
                _patch_module_now(state, module)
    except Exception:
        report_fault(f"patching {getattr(module, '__name__', module)}")


def _patch_module_now(state: _State, module: Any) -> None:
    if module.__name__ in state.modules:
        return
    state.modules.add(module.__name__)
    package, _, suffix = module.__name__.partition(".")
    id_attribute = _PARSED_ID_ATTRIBUTE.get(package, HTTP_CLIENT_REQUEST_ID)
    for point_suffix, class_name, method, op in PATCH_POINTS:
        if point_suffix != suffix:
            continue
        owner = getattr(module, class_name, None)
        if not isinstance(owner, type) or method not in owner.__dict__:
            continue  # not in this SDK version
        original = owner.__dict__[method]
        is_async = inspect.iscoroutinefunction(original) or owner.__name__.startswith("Async")
        wrapper = _make_wrapper(state, op, original, is_async, id_attribute)
        setattr(owner, method, wrapper)
        state.patches.append(_Patch(owner, method, original, wrapper))
    for point_suffix, class_name, method in _CLIENT_POINTS:
        if point_suffix != suffix:
            continue
        owner = getattr(module, class_name, None)
        if not isinstance(owner, type) or method not in owner.__dict__:
            continue
        original = owner.__dict__[method]
        wrapper = _make_request_wrapper(state, original, inspect.iscoroutinefunction(original), id_attribute)
        setattr(owner, method, wrapper)
        state.patches.append(_Patch(owner, method, original, wrapper))


def uninstrument() -> None:
    """Restore every patched method. Raw-response helpers built while instrumented pass calls through.

    Also takes off the context processors, forgets parsed base URLs and reported faults: a later
    instrument() starts as in a fresh process.
    """
    global _state
    with _lock:
        state, _state = _state, None
        set_current_recorder(None)
        if state is not None:
            state.active = False
            for patch in reversed(state.patches):
                if patch.owner.__dict__.get(patch.name) is patch.wrapper:
                    setattr(patch.owner, patch.name, patch.original)
        remove_processors()
        clear_cache()
        _events.reset()
        forget_faults()


def is_instrumented() -> bool:
    return _state is not None


def write_names_for(backends: Iterable[str]) -> None:
    """Have every call write the names of its own that each of ``backends`` reads (``init()`` calls it)."""
    with _lock:
        state = _state
        if state is not None:
            state.recorder = state.recorder._replace(backends=extras_for(backends))
            set_current_recorder(state.recorder)


def _make_wrapper(
    state: _State,
    op: Operation,
    original: Callable[..., Any],
    is_async: bool,
    id_attribute: str = HTTP_REQUEST_ID,
) -> Callable[..., Any]:
    """Build the replacement for one SDK method. Async methods get an async replacement."""

    def begin(
        instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[Call | None, dict[str, Any]]:
        if (
            not state.active
            or otel_context.get_value(IN_CALL_KEY)
            or (_SUPPRESS_KEY is not None and otel_context.get_value(_SUPPRESS_KEY))
        ):
            return None, kwargs
        try:
            client = instance._client
            # openai clients expose base_url; the Ark SDK clients keep only _base_url
            base_url = getattr(client, "base_url", None) or getattr(client, "_base_url", "")
            named = kwargs
            if args:  # recorded under their names; what is sent stays as the caller gave it
                named = dict(zip(op.positional, args))
                named.update(kwargs)
            call = Call(state.recorder, op, named, endpoint_for(base_url), id_attribute, client)
            return call, call.request_kwargs(kwargs)
        except Exception:
            report_fault("starting a span")
            return None, kwargs

    if is_async:

        async def async_wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            call, send = begin(self, args, kwargs)
            if call is None:
                return await original(self, *args, **kwargs)
            token = otel_context.attach(call.context())
            try:
                result = await original(self, *args, **send)
            except BaseException as error:
                call.fail(error)
                raise
            finally:
                otel_context.detach(token)
            return call.returned(result)

        wrapper: Callable[..., Any] = async_wrapper
        if not inspect.iscoroutinefunction(original):
            # A plain function that returns an awaitable (openai's @required_args methods): so is
            # this one, for tools that branch on inspect.iscoroutinefunction. The span still starts
            # when the caller awaits, in the caller's context, as with the original.
            def awaitable_wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
                return async_wrapper(self, *args, **kwargs)

            wrapper = awaitable_wrapper
    else:

        def sync_wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            call, send = begin(self, args, kwargs)
            if call is None:
                return original(self, *args, **kwargs)
            token = otel_context.attach(call.context())
            try:
                result = original(self, *args, **send)
            except BaseException as error:
                call.fail(error)
                raise
            finally:
                otel_context.detach(token)
            return call.returned(result)

        wrapper = sync_wrapper

    # Name, doc, module, annotations (resolved by get_type_hints in the namespace __wrapped__ leads
    # to: the SDK's), and the signature inspect reads through __wrapped__: the original's, for every
    # tool that introspects SDK methods. Done once, at patch time.
    return functools.update_wrapper(wrapper, original)


_get_value = otel_context.get_value


def _make_request_wrapper(
    state: _State, original: Callable[..., Any], is_async: bool, id_attribute: str
) -> Callable[..., Any]:
    """Build the replacement for a client's ``request``, which every request the client sends goes through.

    A request a traced resource method sends passes straight through (one context lookup). Any other
    POST to an LLM path becomes a :class:`Call` built from what is sent (the path, the JSON body, the
    extra body and headers of the request options), which then lives exactly as a resource method's
    call does.
    """

    def begin(client: Any, options: Any) -> tuple[Call | None, Any]:
        call = None
        try:
            if str(getattr(options, "method", "")).lower() != "post":
                return None, options
            base_url = getattr(client, "base_url", None) or getattr(client, "_base_url", "")
            op = operation_for_path(getattr(options, "url", None), base_url)
            if op is None or not state.active or (_SUPPRESS_KEY is not None and _get_value(_SUPPRESS_KEY)):
                return None, options
            # openai keeps the body in json_data; the Ark SDKs' post() in body
            field = "json_data" if getattr(options, "json_data", None) is not None else "body"
            body = getattr(options, field, None)
            sent = body if isinstance(body, Mapping) else {}
            extra = getattr(options, "extra_json", None) or getattr(options, "extra_body", None)
            if isinstance(extra, Mapping):
                sent = {**sent, "extra_body": dict(extra)}
            # The request's own headers and query stand for the resource call's extra_headers and
            # extra_query: what to cut from an error that quotes them back.
            call = Call(state.recorder, op, sent, endpoint_for(base_url), id_attribute, client)
            call.kwargs = {
                "extra_headers": getattr(options, "headers", None),
                "extra_query": getattr(options, "params", None),
            }
            headers = getattr(options, "headers", None)  # a raw request's marker; LiteLLM's is read-only
            call.raw_mode = headers.get(RAW_RESPONSE_HEADER) if isinstance(headers, Mapping) else None
            if isinstance(body, Mapping):
                send = call.request_kwargs(body)  # a copy when it adds include_usage
                if send is not body:
                    options = copy.copy(options)  # the caller's options and body stay as they were
                    setattr(options, field, send)
            return call, options
        except Exception:
            report_fault("starting a span")
            if call is not None:
                call.stream_usage_added = False  # what is sent is the caller's own body
            return call, options

    if is_async:

        async def async_request(self: Any, cast_to: Any, options: Any, *args: Any, **kwargs: Any) -> Any:
            if _get_value(IN_CALL_KEY):
                return await original(self, cast_to, options, *args, **kwargs)
            call, send = begin(self, options)
            if call is None:
                return await original(self, cast_to, options, *args, **kwargs)
            token = otel_context.attach(call.context())
            try:
                result = await original(self, cast_to, send, *args, **kwargs)
            except BaseException as error:
                call.fail(error)
                raise
            finally:
                otel_context.detach(token)
            return call.returned(result)

        wrapper: Callable[..., Any] = async_request
    else:

        def sync_request(self: Any, cast_to: Any, options: Any, *args: Any, **kwargs: Any) -> Any:
            if _get_value(IN_CALL_KEY):
                return original(self, cast_to, options, *args, **kwargs)
            call, send = begin(self, options)
            if call is None:
                return original(self, cast_to, options, *args, **kwargs)
            token = otel_context.attach(call.context())
            try:
                result = original(self, cast_to, send, *args, **kwargs)
            except BaseException as error:
                call.fail(error)
                raise
            finally:
                otel_context.detach(token)
            return call.returned(result)

        wrapper = sync_request
    return functools.update_wrapper(wrapper, original)
