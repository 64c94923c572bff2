"""One benchmark worker: a fresh process that sets up one configuration and measures it.

``run.py`` starts it with the Python of the virtualenv that holds the configuration's packages:
``python worker.py SPEC_JSON OUT_PATH``. A configuration is the uninstrumented ``baseline``,
``arktrace``, or one peer instrumentation. All of them get the same TracerProvider: one
``SimpleSpanProcessor`` in front of an exporter that only counts spans, so a span's whole cost
(creation, attributes, end, processor, export call) is paid on the caller's thread and shows in
``time.process_time()``; exporting to a real backend would add the same for every configuration.

Tasks:

``calls``   import + instrument() time and memory, then the CPU and wall time of each scenario, measured
            in *pairs*: the configuration's patches are switched off and on again inside the process
            (see :class:`Switch`), and each batch with the patches on is compared with the adjacent batch
            with them off. On a shared, noisy machine the pairs cancel the drift (other processes, CPU
            frequency, cache) that separate processes measured minutes apart do not.
``memory``  memory growth over many calls, and memory retained while reading one very long stream.
``instructions``  run under callgrind by ``count.py``: each scenario's batch of calls with the patches
            on, then off, each batch alone inside ``operator.call`` (the C function callgrind is told
            to count inside and dump after), so every batch gets its own instruction count.

Every configuration must produce exactly one span per call with its patches on and none with them
off; a scenario where it does not is reported as a failure rather than timed. The result is written as
JSON to OUT_PATH (some peers print to stdout). This file keeps to Python 3.9 syntax.
"""

from __future__ import annotations

import asyncio
import gc
import json
import operator
import os
import sys
import traceback
from time import perf_counter, process_time
from types import ModuleType
from typing import Any, Callable

CHAT_MODEL = "ep-20250101120000-fghij"  # a non-reasoning endpoint of the bundled server
EMBED_MODEL = "ep-20250101120000-embed"
QUESTION = "What is the capital of France? Answer in one short sentence."
MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant. Be brief."},
    {"role": "user", "content": QUESTION},
]
PROMPT = "Say this is a test. " + QUESTION
EMBED_INPUT = "The quick brown fox jumps over the lazy dog."

# the distribution whose version is reported, per configuration
DISTRIBUTIONS = {
    "baseline": "openai",
    "bare-span": "opentelemetry-sdk",
    "arktrace": "arktrace",
    "arktrace-patched": "arktrace",
    "openinference": "openinference-instrumentation-openai",
    "openai-v2": "opentelemetry-instrumentation-openai-v2",
    "openllmetry": "opentelemetry-instrumentation-openai",
    "openlit": "openlit",
}

# Modules whose attributes an instrumentation may replace; the switch looks at these (not openai.types).
_PATCHABLE_PREFIXES = ("openai", "httpx", "httpx2")
_SKIPPED_PREFIXES = ("openai.types",)
_NOT_PATCHES = ("__pydantic", "_abc_")
_MISSING = object()


# ----------------------------------------------------------------------------------------------- memory


def rss_bytes() -> int:
    """Current resident set size (Linux /proc); peak RSS where /proc is missing."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024


# ------------------------------------------------------------------------------------------- exporting


def make_provider() -> tuple[Any, Any]:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

    class CountingExporter(SpanExporter):
        """Counts spans and keeps the last one (for its attributes): O(1) memory."""

        def __init__(self) -> None:
            self.count = 0
            self.last: Any = None

        def export(self, spans: Any) -> Any:
            self.count += len(spans)
            if spans:
                self.last = spans[-1]
            return SpanExportResult.SUCCESS

        def shutdown(self) -> None:
            pass

    exporter = CountingExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def instrument(config: str, provider: Any, scratch: str) -> None:
    """Import and switch on one configuration: what the import + instrument() figures measure."""
    if config == "baseline":
        return
    if config == "bare-span":
        bare_span_patches(provider)
    elif config in ("arktrace", "arktrace-patched"):
        import arktrace

        if config == "arktrace-patched":  # a candidate change, monkeypatched in to be measured
            path = os.environ["ARKTRACE_BENCH_PATCH"]
            with open(path) as f:
                exec(compile(f.read(), path, "exec"), {"__name__": "arktrace_bench_patch"})
        arktrace.instrument(tracer_provider=provider, capture_content=True, stream_usage="always")
    elif config == "openinference":
        from openinference.instrumentation.openai import OpenAIInstrumentor

        OpenAIInstrumentor().instrument(tracer_provider=provider)
    elif config == "openai-v2":
        from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

        OpenAIInstrumentor().instrument(tracer_provider=provider)
    elif config == "openllmetry":
        from opentelemetry.instrumentation.openai import OpenAIInstrumentor

        OpenAIInstrumentor().instrument(tracer_provider=provider)
    elif config == "openlit":
        import openlit
        from openlit._instrumentors import MODULE_NAME_MAP

        # A local pricing file: without one, init() downloads a table (no network here). Everything but
        # the openai instrumentor is switched off, or the httpx/requests instrumentors would add spans.
        pricing = os.path.join(scratch, "openlit-pricing.json")
        with open(pricing, "w") as f:
            json.dump({"chat": {}, "embeddings": {}, "images": {}, "audio": {}}, f)
        openlit.init(
            capture_message_content=True,
            disable_metrics=True,
            disable_events=True,
            pricing_json=pricing,
            disabled_instrumentors=[name for name in MODULE_NAME_MAP if name != "openai"],
        )
    else:
        raise SystemExit(f"unknown configuration {config!r}")


def bare_span_patches(provider: Any) -> None:
    """A reference, not a product: a span made current around each call, and nothing recorded on it.

    The least any span-per-call instrumentation can cost with this provider (a stream's span ends when
    ``create()`` returns, not when the stream does).
    """
    import openai
    from opentelemetry import context, trace

    tracer = provider.get_tracer("bare-span")
    kind = trace.SpanKind.CLIENT

    def wrap(original: Any, is_async: bool) -> Any:
        if is_async:

            async def async_wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
                span = tracer.start_span("bare", kind=kind)
                token = context.attach(trace.set_span_in_context(span))
                try:
                    return await original(self, *args, **kwargs)
                finally:
                    context.detach(token)
                    span.end()

            return async_wrapper

        def sync_wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            span = tracer.start_span("bare", kind=kind)
            token = context.attach(trace.set_span_in_context(span))
            try:
                return original(self, *args, **kwargs)
            finally:
                context.detach(token)
                span.end()

        return sync_wrapper

    for client_class, is_async in ((openai.OpenAI, False), (openai.AsyncOpenAI, True)):
        client = client_class(base_url="http://127.0.0.1:9/v1", api_key="unused")
        for resource in (client.chat.completions, client.completions, client.embeddings):
            owner = type(resource)
            owner.create = wrap(owner.__dict__["create"], is_async)


class Switch:
    """Turns whatever an instrumentation patched off and on again, without its own uninstrument().

    A snapshot of the attributes of the openai/httpx modules and their classes is taken before
    instrumenting and compared after: each attribute that changed is a patch, which ``set(False)`` puts
    back to the original and ``set(True)`` re-applies. This works alike for arktrace's setattr, wrapt's
    ``wrap_function_wrapper`` and an instrumentation without a working ``uninstrument()``.
    """

    def __init__(self) -> None:
        self._before = self._snapshot()
        self.patches: list[tuple[Any, str, Any, Any]] = []

    @staticmethod
    def _snapshot() -> dict[tuple[int, str], tuple[Any, Any]]:
        found: dict[tuple[int, str], tuple[Any, Any]] = {}
        for name, module in list(sys.modules.items()):
            if (
                module is None
                or not name.startswith(_PATCHABLE_PREFIXES)
                or name.startswith(_SKIPPED_PREFIXES)
            ):
                continue
            owners: list[Any] = [module]
            for value in list(vars(module).values()):
                # type(value), never value.__class__: openai's lazy module proxies load on any access
                if issubclass(type(value), type) and vars(value).get("__module__") == name:
                    owners.append(value)
            for owner in owners:
                for attr, value in list(vars(owner).items()):
                    found[(id(owner), attr)] = (owner, value)
        return found

    def capture(self) -> None:
        after = self._snapshot()
        owners = {key[0] for key in self._before}
        for key, (owner, value) in after.items():
            if key[1].startswith(_NOT_PATCHES) or issubclass(type(value), ModuleType):
                continue  # pydantic's lazily built class state, ABC caches, submodules bound on import
            before = self._before.get(key)
            if before is None:
                if key[0] not in owners or not isinstance(owner, type) or key[1].startswith("__"):
                    continue  # modules loaded since, new module globals, dunders: not patches
                self.patches.append((owner, key[1], _MISSING, value))
            elif before[1] is not value:
                self.patches.append((owner, key[1], before[1], value))
        self._before = {}

    def names(self) -> list[str]:
        return sorted(
            f"{getattr(o, '__module__', '')}.{getattr(o, '__qualname__', o)}.{a}"
            for o, a, _, _ in self.patches
        )

    def set(self, on: bool) -> None:
        for owner, attr, original, patched in self.patches:
            value = patched if on else original
            if value is _MISSING:
                try:
                    delattr(owner, attr)
                except AttributeError:
                    pass
            else:
                setattr(owner, attr, value)


# ----------------------------------------------------------------------------------- no-socket transport


def http_module() -> Any:
    """The HTTP client package the installed openai uses: httpx (openai 1.x/2.x) or httpx2 (3.x)."""
    import openai._base_client as base_client

    module = getattr(base_client, "httpx2", None)
    return module if module is not None else base_client.httpx


def replay_transport(base_url: str) -> Any:
    """A transport that answers from memory: the first request with a given body goes to the bundled
    server (over a socket, with the standard library) and its response is recorded; every later request
    with the same body gets those bytes back. No socket, no server, no scheduler noise in timed calls;
    the SDK still builds, sends, reads and parses everything as usual. Works with httpx and httpx2."""
    import http.client
    from urllib.parse import urlsplit

    httpmod = http_module()
    parts = urlsplit(base_url)
    recorded: dict[tuple[str, bytes], tuple[int, list[tuple[str, str]], bytes]] = {}
    skip = {"content-length", "transfer-encoding", "connection"}

    def record(request: Any) -> tuple[int, list[tuple[str, str]], bytes]:
        body = request.content
        key = (request.url.path, body)
        found = recorded.get(key)
        if found is None:
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
            headers = {"Content-Type": "application/json", "Authorization": "Bearer test"}
            conn.request(request.method, request.url.path, body=body, headers=headers)
            reply = conn.getresponse()
            payload = reply.read()
            kept = [(k, v) for k, v in reply.getheaders() if k.lower() not in skip]
            conn.close()
            found = recorded[key] = (reply.status, kept, payload)
        return found

    class Replay(httpmod.BaseTransport, httpmod.AsyncBaseTransport):
        def handle_request(self, request: Any) -> Any:
            request.read()
            status, headers, payload = record(request)
            return httpmod.Response(status, headers=headers, content=payload)

        async def handle_async_request(self, request: Any) -> Any:
            await request.aread()
            status, headers, payload = record(request)
            return httpmod.Response(status, headers=headers, content=payload)

    return Replay()


class ChunkSources:
    """Replaces the SDK's SSE decoding (``Stream.__stream__``) for chosen clients only.

    ``replay``: the first stream with a given request body is decoded by the SDK as usual and its chunk
    objects kept; later streams with that body yield the same objects again. What remains per chunk is
    the instrumentation's own work, so its cost per chunk can be resolved to a tenth of a microsecond
    (the SDK's decoding alone costs 100-300 µs per chunk on a 2-core shared machine).
    ``synthetic``: a stream of ``chunks`` content chunks, each a new SDK object with new text, copied
    from the SDK-decoded chunks of a short real stream: a very long stream at little cost.
    Everything else (request, response, ``Stream`` object, closing the response) is the SDK's own.
    """

    def __init__(self) -> None:
        from openai import _streaming

        self.kinds: dict[int, str] = {}
        self.synthetic_chunks = 0
        self._cache: dict[bytes, list[Any]] = {}
        original = _streaming.Stream.__stream__
        sources = self

        def __stream__(stream: Any) -> Any:
            kind = sources.kinds.get(id(stream._client))
            if kind is None:
                return original(stream)
            key = stream.response.request.content
            chunks = sources._cache.get(key)
            if chunks is None:
                chunks = sources._cache[key] = list(original(stream))
                return iter(chunks)
            if kind == "replay":
                return _replayed(stream.response, chunks)
            return _synthetic(stream.response, chunks, sources.synthetic_chunks)

        _streaming.Stream.__stream__ = __stream__


REPLAY_POOL = 50  # distinct chunk objects a replayed stream cycles through


def _replayed(response: Any, chunks: list[Any]) -> Any:
    # The content chunks are cycled from a small pool: a freshly decoded chunk is in the CPU cache, and
    # thousands of distinct chunks decoded long ago are not. Replaying those would charge whoever reads
    # a chunk first (an instrumentation, before the application) for cache misses the SDK never causes:
    # it doubled arktrace's apparent per-chunk cost in a first version of this benchmark.
    try:
        content = [c for c in chunks if c.choices and c.choices[0].finish_reason is None]
        pool = content[:REPLAY_POOL]
        for i in range(len(content)):
            yield pool[i % REPLAY_POOL]
        yield from chunks[len(content) :]
    finally:
        response.close()


def _synthetic(response: Any, template: list[Any], n: int) -> Any:
    try:
        first = template[0]
        choice = first.choices[0]
        delta = choice.delta
        for i in range(n):
            new_delta = delta.model_copy(update={"content": f"w{i} "})
            new_choice = choice.model_copy(update={"delta": new_delta})
            yield first.model_copy(update={"choices": [new_choice]})
        for chunk in template[1:]:
            if chunk.choices and chunk.choices[0].finish_reason is None:
                continue  # the template's own content chunks
            yield chunk
    finally:
        response.close()


def make_clients(base_url: str, transport: str) -> dict[str, Any]:
    import openai

    def memory_client(cls: Any, http_cls_name: str) -> Any:
        httpmod = http_module()
        http_client = getattr(httpmod, http_cls_name)(transport=replay_transport(base_url))
        return cls(base_url=base_url, api_key="test", max_retries=0, http_client=http_client)

    clients: dict[str, Any] = {}
    if transport == "memory":
        clients["sync"] = memory_client(openai.OpenAI, "Client")
        clients["async"] = memory_client(openai.AsyncOpenAI, "AsyncClient")
    else:
        clients["sync"] = openai.OpenAI(base_url=base_url, api_key="test", max_retries=0)
        clients["async"] = openai.AsyncOpenAI(base_url=base_url, api_key="test", max_retries=0)
    clients["replay"] = memory_client(openai.OpenAI, "Client")
    clients["synthetic"] = memory_client(openai.OpenAI, "Client")
    return clients


# ------------------------------------------------------------------------------------------- scenarios


def scenario_calls(clients: dict[str, Any]) -> dict[str, tuple[bool, Callable[[], Any]]]:
    """name -> (is_async, one call). Each call consumes its whole response and returns a chunk count."""
    chat = clients["sync"].chat.completions
    achat = clients["async"].chat.completions
    replay_chat = clients["replay"].chat.completions
    client = clients["sync"]

    def chat_sync() -> int:
        chat.create(model=CHAT_MODEL, messages=MESSAGES)
        return 0

    async def chat_async() -> int:
        await achat.create(model=CHAT_MODEL, messages=MESSAGES)
        return 0

    def stream(resource: Any, n: int) -> Callable[[], int]:
        extra = {"arktrace_chunks": n}

        def run() -> int:
            # Read each chunk's text, as an application does: the chunk is then in the CPU cache for
            # everyone, and an instrumentation is not charged for being the first to touch it.
            seen = 0
            for chunk in resource.create(model=CHAT_MODEL, messages=MESSAGES, stream=True, extra_body=extra):
                seen += 1
                if chunk.choices:
                    chunk.choices[0].delta.content  # noqa: B018
            return seen

        return run

    def completion() -> int:
        client.completions.create(model=CHAT_MODEL, prompt=PROMPT)
        return 0

    def embedding() -> int:
        client.embeddings.create(model=EMBED_MODEL, input=EMBED_INPUT)
        return 0

    return {
        "chat_sync": (False, chat_sync),
        "chat_async": (True, chat_async),
        "stream_50": (False, stream(chat, 50)),
        "stream_500": (False, stream(chat, 500)),
        "completion": (False, completion),
        "embedding": (False, embedding),
        "replay_50": (False, stream(replay_chat, 50)),
        "replay_2000": (False, stream(replay_chat, 2000)),
    }


def describe_span(span: Any) -> dict[str, Any]:
    """What the configuration recorded on its last span: attribute count, size, content, tokens."""
    if span is None:
        return {}
    attrs = dict(span.attributes or {})
    text = " ".join(str(v) for v in attrs.values())
    return {
        "name": span.name,
        "attributes": len(attrs),
        "attribute_chars": len(text),
        "input_captured": "capital of France" in text,
        "tokens_recorded": any("token" in k and isinstance(v, int) for k, v in attrs.items()),
        "keys": sorted(attrs),
    }


class Runner:
    def __init__(self, loop: Any, exporter: Any, switch: Switch, spans_when_on: int) -> None:
        self.loop = loop
        self.exporter = exporter
        self.switch = switch
        self.spans_when_on = spans_when_on

    def batch(self, is_async: bool, call: Callable[[], Any], n: int, on: bool) -> tuple[float, float, Any]:
        """Per-call process (CPU) and wall seconds over ``n`` calls; a count error or None."""
        self.switch.set(on)
        gc.collect()
        before = self.exporter.count
        c0, w0 = process_time(), perf_counter()
        _calls(is_async, call, n, self.loop)
        c1, w1 = process_time(), perf_counter()
        spans = self.exporter.count - before
        expected = n * self.spans_when_on if on else 0
        error = (
            None if spans == expected else f"{spans} spans for {n} calls (patches {'on' if on else 'off'})"
        )
        return (c1 - c0) / n, (w1 - w0) / n, error


def run_calls(
    spec: dict[str, Any], result: dict[str, Any], clients: dict[str, Any], exporter: Any, switch: Switch
) -> None:
    calls = scenario_calls(clients)
    loop = asyncio.new_event_loop()
    runner = Runner(loop, exporter, switch, 0 if spec["config"] == "baseline" else 1)
    scenarios: dict[str, Any] = {}
    result["scenarios"] = scenarios
    # Warm every scenario both ways first (first-call imports, caches, recorded replies), then freeze
    # what exists: the collector then skips the long-lived heap, so a collection before each batch
    # costs little and no full collection lands at random inside a timed batch.
    for name in spec["scenarios"]:
        is_async, call = calls[name]
        entry: dict[str, Any] = {}
        scenarios[name] = entry
        try:
            _, _, error = runner.batch(is_async, call, spec["warmup"], True)
            entry["span"] = describe_span(exporter.last) if runner.spans_when_on else {}
            entry["chunks_seen"] = _one(is_async, call, loop)
            if error is None:
                _, _, error = runner.batch(is_async, call, spec["warmup"], False)
            if error is not None:
                entry["error"] = error  # no span, or several, per call: a failure, not a fast result
        except Exception as error:  # a peer that breaks a call is reported, not fatal
            entry["error"] = f"{type(error).__name__}: {error}"[:300]
            entry["traceback"] = traceback.format_exc()[-2000:]
    gc.collect()
    gc.freeze()

    pairs = spec["pairs"]
    for name in spec["scenarios"]:
        entry = scenarios[name]
        if "error" in entry:
            continue
        is_async, call = calls[name]
        n = spec["calls"][name]
        on_cpu: list[float] = []
        off_cpu: list[float] = []
        on_wall: list[float] = []
        off_wall: list[float] = []
        try:
            for k in range(pairs):
                for on in (True, False) if k % 2 == 0 else (False, True):
                    cpu, wall, error = runner.batch(is_async, call, n, on)
                    if error is not None:
                        raise RuntimeError(error)
                    (on_cpu if on else off_cpu).append(cpu)
                    (on_wall if on else off_wall).append(wall)
        except Exception as error:
            entry["error"] = f"{type(error).__name__}: {error}"[:300]
            entry["traceback"] = traceback.format_exc()[-2000:]
        entry.update(calls=n, on_cpu=on_cpu, off_cpu=off_cpu, on_wall=on_wall, off_wall=off_wall)
    switch.set(True)
    loop.close()

    # Reference: what a bare span costs with this provider (start + end, no attributes).
    from opentelemetry.trace import SpanKind

    tracer = spec["_provider"].get_tracer("arktrace-benchmark")
    n = spec["calls"]["bare_span"]
    bare = []
    for _ in range(5):
        gc.collect()
        c0 = process_time()
        for _ in range(n):
            tracer.start_span("chat bare", kind=SpanKind.CLIENT).end()
        bare.append((process_time() - c0) / n)
    result["bare_span_cpu"] = bare


def run_instructions(
    spec: dict[str, Any], result: dict[str, Any], clients: dict[str, Any], exporter: Any, switch: Switch
) -> None:
    """Batches for callgrind to count: one region per (scenario, patches on/off), in a fixed order.

    Only what runs inside ``operator.call`` is counted (``count.py`` starts callgrind with collection
    off and toggles it on that function), so switching patches, collecting garbage and checking span
    counts between batches is not.
    """
    if not hasattr(operator, "call"):
        raise RuntimeError("counting instructions needs Python 3.11 or later (operator.call)")
    calls = scenario_calls(clients)
    loop = asyncio.new_event_loop()
    spans_when_on = 0 if spec["config"] == "baseline" else 1
    runner = Runner(loop, exporter, switch, spans_when_on)
    regions: list[dict[str, Any]] = []
    errors: dict[str, str] = {}
    result["regions"] = regions
    result["errors"] = errors
    for name in spec["scenarios"]:
        is_async, call = calls[name]
        n = spec["calls"][name]
        try:
            for on in (True, False):
                _, _, error = runner.batch(is_async, call, spec["warmup"], on)
                if error is not None:
                    raise RuntimeError(error)
        except Exception as error:  # no span, or several, per call: a failure, not a cheap result
            errors[name] = f"{type(error).__name__}: {error}"[:300]
            continue
        for on in (True, False):
            switch.set(on)
            gc.collect()
            before = exporter.count
            operator.call(_calls, is_async, call, n, loop)
            spans = exporter.count - before
            regions.append({"scenario": name, "on": on, "calls": n, "spans": spans})
            if spans != (n * spans_when_on if on else 0):
                errors[name] = f"{spans} spans for {n} calls (patches {'on' if on else 'off'})"
    switch.set(True)
    loop.close()


def _calls(is_async: bool, call: Callable[[], Any], n: int, loop: Any) -> None:
    """``n`` calls one after the other: what every timed or counted batch runs."""
    if is_async:

        async def many() -> None:
            for _ in range(n):
                await call()

        loop.run_until_complete(many())
    else:
        for _ in range(n):
            call()


def _one(is_async: bool, call: Callable[[], Any], loop: Any) -> Any:
    return loop.run_until_complete(call()) if is_async else call()


# ---------------------------------------------------------------------------------------------- memory


def run_memory(
    spec: dict[str, Any],
    result: dict[str, Any],
    clients: dict[str, Any],
    exporter: Any,
    sources: ChunkSources,
) -> None:
    """Growth over ``memory_calls`` mixed sync calls, then retained memory along one long stream."""
    import tracemalloc

    client = clients["sync"]
    chat = client.chat.completions
    short_stream = {"arktrace_chunks": 10}

    def mixed(i: int) -> None:
        kind = i % 4
        if kind == 0:
            chat.create(model=CHAT_MODEL, messages=MESSAGES)
        elif kind == 1:
            for _ in chat.create(model=CHAT_MODEL, messages=MESSAGES, stream=True, extra_body=short_stream):
                pass
        elif kind == 2:
            client.completions.create(model=CHAT_MODEL, prompt=PROMPT)
        else:
            client.embeddings.create(model=EMBED_MODEL, input=EMBED_INPUT)

    per_call = 0 if spec["config"] == "baseline" else 1
    total = spec["memory_calls"]
    step = max(total // 10, 1)
    for i in range(spec["warmup"] * 4):
        mixed(i)
    gc.collect()
    gc.freeze()
    before = exporter.count
    samples = [(0, sys.getallocatedblocks(), rss_bytes())]
    c0 = process_time()
    for i in range(total):
        mixed(i)
        if (i + 1) % step == 0:
            gc.collect()
            samples.append((i + 1, sys.getallocatedblocks(), rss_bytes()))
    result["growth"] = {
        "calls": total,
        "cpu_per_call": (process_time() - c0) / total,
        "samples": samples,  # (calls, allocated blocks, RSS bytes)
        "spans_ok": exporter.count - before == total * per_call,
    }

    # One very long stream: what stays allocated while it is read (tracemalloc: exact Python bytes).
    big = clients["synthetic"].chat.completions
    chunks = spec["big_stream_chunks"]
    sources.synthetic_chunks = chunks
    template = {"arktrace_chunks": 2}
    for _ in big.create(model=CHAT_MODEL, messages=MESSAGES, stream=True, extra_body=template):
        pass  # records the template chunks (and the usage chunk a configuration asks for)
    every = max(chunks // 20, 1)
    before = exporter.count
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    rss0 = rss_bytes()
    trace: list[tuple[int, int, int]] = []
    seen = 0
    c0 = process_time()
    for _ in big.create(model=CHAT_MODEL, messages=MESSAGES, stream=True, extra_body=template):
        seen += 1
        if seen % every == 0:
            trace.append((seen, tracemalloc.get_traced_memory()[0] - base, rss_bytes() - rss0))
    cpu = process_time() - c0
    peak = tracemalloc.get_traced_memory()[1] - base
    gc.collect()
    after = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    result["big_stream"] = {
        "chunks": chunks,
        "seen": seen,
        "cpu_per_chunk_traced": cpu / max(seen, 1),
        "samples": trace,  # (chunks read, traced bytes retained, RSS growth)
        "peak_traced": peak,
        "after_traced": after,  # once the stream has ended and its span is exported
        "spans_ok": exporter.count - before == per_call,
    }


# ------------------------------------------------------------------------------------------------ main


def main() -> None:
    spec = json.loads(sys.argv[1])
    out_path = sys.argv[2]
    config = spec["config"]
    result: dict[str, Any] = {"config": config, "task": spec["task"]}
    try:
        # The application's side, not counted: openai and the OTel SDK imported, a provider set up and
        # clients made (which imports the resource modules the benchmark calls).
        import openai
        from opentelemetry import trace

        provider, exporter = make_provider()
        trace.set_tracer_provider(provider)  # global too, for peers that read it (openlit)
        spec["_provider"] = provider
        warm = openai.OpenAI(base_url=spec["base_url"], api_key="test")
        for path in ("chat.completions", "completions", "embeddings"):
            obj: Any = warm
            for part in path.split("."):
                obj = getattr(obj, part)
        sources = ChunkSources()
        switch = Switch()
        gc.collect()
        rss0 = rss_bytes()
        c0, w0 = process_time(), perf_counter()
        instrument(config, provider, spec["scratch"])
        c1, w1 = process_time(), perf_counter()
        gc.collect()
        result["import"] = {"cpu": c1 - c0, "wall": w1 - w0, "rss": rss_bytes() - rss0}
        switch.capture()
        result["patched"] = switch.names()
        result["python"] = sys.version.split()[0]
        from importlib import metadata

        versions = {}
        for name in ("openai", "opentelemetry-sdk", DISTRIBUTIONS[config]):
            try:
                versions[name] = metadata.version(name)
            except metadata.PackageNotFoundError:  # arktrace from src/ on the path, not installed
                module = sys.modules.get(name.replace("-", "_").split("_instrumentation")[0])
                versions[name] = getattr(module, "__version__", "?")
        result["versions"] = versions
        clients = make_clients(spec["base_url"], spec["transport"])
        sources.kinds[id(clients["replay"])] = "replay"
        sources.kinds[id(clients["synthetic"])] = "synthetic"
        if spec["task"] == "instructions":
            run_instructions(spec, result, clients, exporter, switch)
        elif spec["task"] == "calls":
            run_calls(spec, result, clients, exporter, switch)
            gc.collect()
            result["rss_end"] = rss_bytes()
        else:
            run_memory(spec, result, clients, exporter, sources)
    except BaseException as error:
        result["fatal"] = f"{type(error).__name__}: {error}"
        result["traceback"] = traceback.format_exc()[-3000:]
    with open(out_path, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main()
