"""The disk spool (``ARKTRACE_SPOOL_DIR``): no span lost to a backend outage or a restart.

Real processes export to the local OTLP receiver through ``arktrace.init()``; the receiver is taken down,
made to answer 503, or brought back, and every span is counted by span id among the requests it answered
200. The processes make their spans with the tracer ``init()`` set up (plus real openai calls where a
test is about the calls), so thousands of spans cost a fraction of a second. The sender's probe interval
is lowered to 0.2 s in these processes so that recovery is seen within the test's time.
"""

from __future__ import annotations

import collections
import logging
import os
import re
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

import pytest
import requests

import arktrace
from arktrace import ConfigError, _setup, _spool
from arktrace._check import run_check
from harness import ENDPOINT, ENV_VARS, SRC
from otlp_receiver import OTLPReceiver

pytestmark = pytest.mark.once


# The application. argv[1] says what it does; the ids of the spans it makes go to APP_IDS, one per line,
# written before each span ends, so a span that may have been exported is always listed.
APP = r"""
import atexit, logging, os, sys, threading, time
logging.basicConfig(level=logging.INFO, format="%(name)s %(levelname)s %(message)s")
import arktrace
from arktrace import _spool

_spool.PROBE_FIRST = _spool.PROBE_MAX = 0.2
_spool.RESCAN = 0.5
sent_files = []
_send = _spool.Spool._send
def counting_send(self, file):
    outcome = _send(self, file)
    if outcome == "sent":
        sent_files.append(file.name)
    return outcome
_spool.Spool._send = counting_send
# registered before init(): runs after arktrace's own exit hook has flushed and stopped the sender
atexit.register(lambda: print(f"sent-files {os.getpid()} {len(sent_files)}", flush=True))

result = arktrace.init(backends=["otlp"], metrics=False, dotenv=False)
tracer = result.tracer_provider.get_tracer("spool-test")
ids = open(os.environ["APP_IDS"], "a", buffering=1)
lock = threading.Lock()
pad = "x" * int(os.environ.get("APP_PAD", "0"))
folder = os.path.join(os.environ["ARKTRACE_SPOOL_DIR"], "otlp")

def span(name, index=0):
    s = tracer.start_span(name, attributes={"index": index, "pad": pad})
    with lock:
        ids.write(format(s.get_span_context().span_id, "016x") + "\n")
    s.end()

def llm_calls(n):
    import openai
    client = openai.OpenAI(api_key="k", base_url=os.environ["APP_BASE_URL"], max_retries=0)
    for i in range(n):
        question = [{"role": "user", "content": f"q{i}"}]
        client.chat.completions.create(model=os.environ["APP_MODEL"], messages=question)

def spooled_files():
    try:
        return [n for n in os.listdir(folder) if n.endswith(".otlp") or ".sending-" in n]
    except OSError:
        return []

def wait_until_spool_empty(limit):
    deadline = time.monotonic() + limit
    while spooled_files() and time.monotonic() < deadline:
        time.sleep(0.05)

mode, count = sys.argv[1], int(sys.argv[2])
started = time.monotonic()
if mode == "spans":
    for i in range(count):
        span(f"span {i}", i)
    print(f"made {count} in {time.monotonic() - started:.3f} s", flush=True)
elif mode == "llm":
    llm_calls(count)
elif mode == "threads":
    def work(t):
        for i in range(count):
            span(f"thread {t} span {i}", i)
            time.sleep(0.001)
    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for t in threads: t.start()
    for t in threads: t.join()
    print("made", flush=True)
    sys.stdin.readline()  # the test stops the flapping, then lets the process finish
    arktrace.flush()
    wait_until_spool_empty(30)
elif mode == "forever":
    i = 0
    while True:
        span(f"span {i}", i)
        i += 1
        time.sleep(0.001)
elif mode == "prefork":
    workers = []
    for w in range(2):
        pid = os.fork()
        if pid == 0:
            for i in range(count):
                span(f"worker {w} span {i}", i)
            arktrace.flush()
            wait_until_spool_empty(30)
            sys.exit(0)
        workers.append(pid)
    for i in range(count):
        span(f"parent span {i}", i)
    codes = [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in workers]
    wait_until_spool_empty(30)
    sys.exit(0 if codes == [0, 0] else 10)
"""


@pytest.fixture
def app(tmp_path: Path, server):
    script = tmp_path / "app.py"
    script.write_text(APP)

    def env(receiver: OTLPReceiver, **extra: str) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if k not in ENV_VARS and not k.startswith("ARKTRACE_")}
        base.update(
            PYTHONPATH=SRC,
            OTEL_EXPORTER_OTLP_ENDPOINT=receiver.url,
            OTEL_EXPORTER_OTLP_TIMEOUT="0.5",
            OTEL_BSP_SCHEDULE_DELAY="100",
            OTEL_SERVICE_NAME="spool-test",
            ARKTRACE_SPOOL_DIR=str(tmp_path / "spool"),
            APP_IDS=str(tmp_path / "ids.txt"),
            APP_BASE_URL=server.base_url,
            APP_MODEL=ENDPOINT,
        )
        base.update(extra)
        return base

    def run(receiver: OTLPReceiver, *args: str, timeout: float = 60, **extra: str):
        done = subprocess.run(
            [sys.executable, str(script), *args],
            env=env(receiver, **extra),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        assert "Traceback" not in done.stderr, done.stderr[-3000:]
        return done

    def popen(receiver: OTLPReceiver, *args: str, **extra: str) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, str(script), *args],
            env=env(receiver, **extra),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    run.env = env  # type: ignore[attr-defined]
    run.popen = popen  # type: ignore[attr-defined]
    run.ids = lambda: (tmp_path / "ids.txt").read_text().split()  # type: ignore[attr-defined]
    run.folder = tmp_path / "spool" / "otlp"  # type: ignore[attr-defined]
    return run


def delivered(receiver: OTLPReceiver) -> collections.Counter[str]:
    """Span ids in the trace requests the receiver answered 200, with how often each arrived."""
    return collections.Counter(
        span.span_id.hex()
        for request in receiver.trace_requests()
        if request.status == 200
        for rs in request.traces.resource_spans  # type: ignore[union-attr]
        for ss in rs.scope_spans
        for span in ss.spans
    )


def files_in(folder: Path) -> list[str]:
    return sorted(os.listdir(folder)) if folder.exists() else []


# ------------------------------------------------------------------------------------------ the proof


def test_an_outage_across_a_restart_loses_no_span(app, receiver: OTLPReceiver) -> None:
    receiver.go_down()
    # 5,000 spans and 10 real LLM calls while nothing listens; the first batch fails, the rest go straight
    # to disk; the process exits normally and its exit hook spools what was still queued.
    first = app(receiver, "spans", "4990", OTEL_BSP_MAX_QUEUE_SIZE="10000")
    app(receiver, "llm", "10")
    assert "kept in the spool folder" in first.stderr
    assert files_in(app.folder), "nothing was spooled"
    assert delivered(receiver) == {}
    made = app.ids()
    assert len(made) == 4990

    receiver.come_back()
    app(receiver, "spans", "0")  # a later start with the same spool sends what waits, then exits
    arrived = delivered(receiver)
    assert len(arrived) == 5000, len(arrived)
    assert set(arrived.values()) == {1}, [k for k, v in arrived.items() if v > 1][:5]
    assert set(made) <= set(arrived)
    llm = [s for s in receiver.spans() if s.name.startswith("chat ")]
    assert len({s.span_id for s in llm}) == 10
    assert files_in(app.folder) == []


def test_a_flapping_backend_gets_every_span_exactly_once(app, receiver: OTLPReceiver) -> None:
    process = app.popen(receiver, "threads", "800")
    stop = threading.Event()

    def flap() -> None:
        status = 503
        while not stop.wait(0.25):
            receiver.respond("/", status)
            status = 200 if status == 503 else 503
        receiver.respond("/", 200)

    flapper = threading.Thread(target=flap, daemon=True)
    flapper.start()
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "made"
    finally:
        stop.set()
        flapper.join()
    try:
        _out, err = process.communicate("go\n", timeout=60)
    finally:
        process.kill()
    assert process.returncode == 0, err[-3000:]
    arrived = delivered(receiver)
    made = app.ids()
    assert len(made) == 3200
    assert set(arrived) == set(made), (len(arrived), len(made))
    assert set(arrived.values()) == {1}
    refused = [r for r in receiver.trace_requests() if r.status == 503]
    resent = [r for r in receiver.trace_requests() if r.headers.get("user-agent") == "arktrace-spool"]
    assert refused and resent, "the backend never failed or the spool never sent: the test proved nothing"
    assert files_in(app.folder) == []


def test_kill_9_during_an_outage_loses_only_what_was_in_memory(app, receiver: OTLPReceiver) -> None:
    receiver.go_down()
    batch = 200
    process = app.popen(receiver, "forever", "0", OTEL_BSP_MAX_EXPORT_BATCH_SIZE=str(batch))
    try:
        deadline = time.monotonic() + 30
        while len([n for n in files_in(app.folder) if n.endswith(".otlp")]) < 6:
            assert time.monotonic() < deadline and process.poll() is None, "no batch was spooled"
            time.sleep(0.05)
    finally:
        process.kill()
        process.wait()  # reaped: its pid is no longer alive, so a claim or temporary file of it is stale
    made = set(app.ids())

    receiver.come_back()
    app(receiver, "spans", "0")
    arrived = delivered(receiver)
    assert set(arrived.values()) == {1}
    assert set(arrived) <= made
    lost = len(made) - len(arrived)
    # The bound: spans still in the processor's queue (fewer than one batch when the exporter keeps up,
    # as it does when batches go straight to disk) plus the batch being written at the kill.
    print(f"kill -9: {len(made)} spans made, {len(arrived)} arrived, {lost} lost (bound {2 * batch})")
    assert 0 <= lost <= 2 * batch, lost
    assert files_in(app.folder) == []


def _making(done: subprocess.CompletedProcess[str]) -> float:
    return float(re.search(r"made \d+ in ([\d.]+) s", done.stdout).group(1))  # type: ignore[union-attr]


def test_a_full_spool_drops_the_oldest_and_counts_them(app, receiver: OTLPReceiver, tmp_path: Path) -> None:
    receiver.go_down()
    total = 3000
    same = {"APP_PAD": "2000", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "100", "OTEL_BSP_MAX_QUEUE_SIZE": "10000"}
    # The control: the same application with no spool, against the same dead backend.
    control = app(
        receiver, "spans", str(total), ARKTRACE_SPOOL_DIR="", APP_IDS=str(tmp_path / "control.txt"), **same
    )
    first = app(receiver, "spans", str(total), ARKTRACE_SPOOL_MAX_MB="1", **same)
    # The spool writes, and drops when full, on its own thread: making the spans costs about what it
    # costs without a spool (waiting on the disk or the dead backend would cost seconds more).
    making, baseline = _making(first), _making(control)
    assert making < 3 * baseline + 2, f"the application was held up: {making:.2f} s, {baseline:.2f} s without"
    used = sum((app.folder / name).stat().st_size for name in files_in(app.folder))
    assert 0 < used <= 1024 * 1024
    (dropped,) = (
        int(n) for n in re.findall(r"(\d+) spans for otlp were dropped from the spool", first.stderr)
    )
    assert first.stderr.count("is full") == 1

    receiver.come_back()
    app(receiver, "spans", "0")
    arrived = delivered(receiver)
    assert set(arrived.values()) == {1}
    assert len(arrived) + dropped == total, (len(arrived), dropped)
    index = {s.span_id: s.attributes["index"] for s in receiver.spans()}
    kept = sorted(index[span_id] for span_id in arrived)
    assert kept == list(range(total - len(kept), total)), "not the oldest were dropped"


def test_pre_fork_workers_and_their_parent_send_each_batch_once(app, receiver: OTLPReceiver) -> None:
    receiver.go_down()
    app(receiver, "spans", "2000", OTEL_BSP_MAX_EXPORT_BATCH_SIZE="50", OTEL_BSP_MAX_QUEUE_SIZE="10000")
    spooled = len(files_in(app.folder))
    assert spooled >= 30

    receiver.come_back()
    receiver.respond("/", 200, delay=0.03)  # slow answers keep all three senders busy at once
    done = app(receiver, "prefork", "20")
    arrived = delivered(receiver)
    assert len(arrived) == 2000 + 3 * 20
    assert set(arrived.values()) == {1}, "a batch was sent twice"
    senders = [int(n) for n in re.findall(r"sent-files \d+ (\d+)", done.stdout)]
    assert sum(senders) == spooled
    assert len([n for n in senders if n]) >= 2, f"only one process sent: {senders}"
    assert files_in(app.folder) == []


def test_arktrace_run_passes_the_spool_through_and_check_counts_it(app, receiver: OTLPReceiver) -> None:
    receiver.go_down()
    program = (
        "import os, openai\n"
        "client = openai.OpenAI(api_key='k', base_url=os.environ['APP_BASE_URL'], max_retries=0)\n"
        "for i in range(3):\n"
        "    client.chat.completions.create(model=os.environ['APP_MODEL'], messages=[{'role': 'user', "
        "'content': 'hi'}])\n"
    )
    env = app.env(receiver, ARKTRACE_METRICS="false")
    command = [sys.executable, "-m", "arktrace"]
    done = subprocess.run([*command, "run", "--", sys.executable, "-c", program], env=env, timeout=60)
    assert done.returncode == 0
    check = subprocess.run(
        [*command, "check", "--no-dotenv"], env=env, capture_output=True, text=True, timeout=60
    )
    assert check.returncode == 1  # the backend is down
    assert re.search(r"spool: 3 spans waiting in \d file\(s\)", check.stdout), check.stdout


# ------------------------------------------------------------------------------------------ settings


def test_bad_spool_settings_fail_at_init_naming_them(
    clean_env: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    cases = [
        ({"ARKTRACE_SPOOL_DIR": str(blocker / "spool")}, {}, "ARKTRACE_SPOOL_DIR"),
        (
            {"ARKTRACE_SPOOL_DIR": str(tmp_path / "ok"), "ARKTRACE_SPOOL_MAX_MB": "lots"},
            {},
            "ARKTRACE_SPOOL_MAX_MB",
        ),
        ({"ARKTRACE_SPOOL_MAX_MB": "-1"}, {}, "ARKTRACE_SPOOL_MAX_MB"),
        ({}, {"spool_dir": str(blocker / "spool")}, "spool_dir"),
        ({}, {"spool_dir": 5}, "spool_dir"),
        ({}, {"spool_dir": str(tmp_path), "spool_max_mb": "100"}, "spool_max_mb"),
        ({}, {"spool_dir": str(tmp_path), "spool_max_mb": 0}, "spool_max_mb"),
    ]
    for env, kwargs, named in cases:
        with monkeypatch.context() as patch:
            for key, value in env.items():
                patch.setenv(key, value)
            with pytest.raises(ConfigError, match=named):
                arktrace.init(backends=["otlp"], dotenv=False, **kwargs)
        assert _setup._state is None
    assert not (tmp_path / "ok").exists() or list((tmp_path / "ok").iterdir()) == []


def test_off_by_default_nothing_is_written(clean_env: None, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "0.2")
    arktrace.init(backends=["otlp"], metrics=False, dotenv=False, instrument=False)
    (processor,) = _setup._state.processor.processors  # type: ignore[union-attr]
    assert processor._health.spool is None  # type: ignore[attr-defined]
    arktrace.shutdown(timeout=2)
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------------------ threads


def test_no_disk_io_on_the_callers_thread(
    clean_env: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, receiver: OTLPReceiver, server
) -> None:
    import openai

    touched: set[int] = set()
    for name in ("keep", "_scan", "_send", "_make_room"):
        original = getattr(_spool.Spool, name)

        def recording(self, *args, _original=original):
            touched.add(threading.get_ident())
            return _original(self, *args)

        monkeypatch.setattr(_spool.Spool, name, recording)
    receiver.go_down()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "0.2")
    monkeypatch.setenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "5")
    arktrace.uninstrument()
    arktrace.init(backends=["otlp"], metrics=False, dotenv=False, spool_dir=tmp_path / "spool")
    with openai.OpenAI(api_key="k", base_url=server.base_url, max_retries=0) as client:
        for _ in range(12):
            client.chat.completions.create(model=ENDPOINT, messages=[{"role": "user", "content": "hi"}])
    arktrace.flush(timeout=3)
    for _ in range(3):
        client_span = _setup._state.result.tracer_provider.get_tracer("t").start_span("after flush")  # type: ignore[union-attr]
        client_span.end()
    assert arktrace.shutdown(timeout=5)  # the queue goes to disk at shutdown, on arktrace's threads
    assert touched, "the spool was never used"
    assert threading.get_ident() not in touched
    assert _spool.waiting(_spool.SpoolSettings(str(tmp_path / "spool"), 1 << 20), "otlp").spans == 15


# ------------------------------------------------------------------------------------------ the folder


def _payload(count: int) -> bytes:
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    for i in range(count):
        provider.get_tracer("t").start_span(f"s{i}").end()
    return encode_spans(memory.get_finished_spans()).SerializePartialToString()


def _spool_at(folder: Path, receiver: OTLPReceiver) -> _spool.Spool:
    return _spool.Spool(
        str(folder), 1 << 20, "otlp", receiver.url + "/v1/traces", {"x-key": "v"}, 2.0, requests.Session
    )


def _dead_pid() -> int:
    done = subprocess.Popen([sys.executable, "-c", "pass"])
    done.wait()
    return done.pid


def test_a_claim_left_by_a_dead_process_is_taken_back(tmp_path: Path, receiver: OTLPReceiver) -> None:
    spool = _spool_at(tmp_path, receiver)
    assert spool.keep(_payload(3), 3)
    (name,) = files_in(tmp_path)
    os.rename(tmp_path / name, tmp_path / f"{name}.sending-{_dead_pid()}")
    (tmp_path / f".{name}x.tmp-{_dead_pid()}").write_bytes(b"half")
    spool._drain()
    assert len(delivered(receiver)) == 3
    request = receiver.trace_requests()[0]
    assert request.headers["x-key"] == "v" and request.content_type == "application/x-protobuf"
    assert files_in(tmp_path) == []


def test_a_damaged_file_is_skipped_with_one_warning(
    tmp_path: Path, receiver: OTLPReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="arktrace")
    spool = _spool_at(tmp_path, receiver)
    payload = _payload(4)
    crc = zlib.crc32(payload)
    for n in range(2):  # truncated files, older than the good one
        (tmp_path / f"{n:020d}-1-{n}-4-{crc:08x}.otlp").write_bytes(payload[: len(payload) // 2])
    assert spool.keep(payload, 4)
    spool._drain()
    assert len(delivered(receiver)) == 4
    assert len([r for r in caplog.records if "damaged" in r.getMessage()]) == 1
    assert len([n for n in files_in(tmp_path) if n.endswith(".corrupt")]) == 2
    assert _spool.waiting(_spool.SpoolSettings(str(tmp_path.parent), 1), tmp_path.name).spans == 0


def test_a_rejected_file_is_set_aside_and_never_retried(
    tmp_path: Path, receiver: OTLPReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="arktrace")
    receiver.respond("/", 400)
    spool = _spool_at(tmp_path, receiver)
    for count in (2, 3):
        assert spool.keep(_payload(count), count)
    spool._drain()
    spool._drain()
    assert len(receiver.trace_requests()) == 2
    assert len([n for n in files_in(tmp_path) if n.endswith(".rejected-400")]) == 2
    assert len([r for r in caplog.records if "rejected a spooled batch" in r.getMessage()]) == 1
    receiver.respond("/", 503)  # retryable: the file stays for later
    assert spool.keep(_payload(1), 1)
    spool._drain()
    assert (
        spool.down and _spool.waiting(_spool.SpoolSettings(str(tmp_path.parent), 1), tmp_path.name).spans == 1
    )


def test_check_shows_the_spans_waiting_per_backend(
    clean_env: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, receiver: OTLPReceiver
) -> None:
    import io

    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
    monkeypatch.setenv("ARKTRACE_SPOOL_DIR", str(tmp_path / "spool"))
    spool = _spool_at(tmp_path / "spool" / "otlp", receiver)
    for count in (3, 4):
        assert spool.keep(_payload(count), count)
    out = io.StringIO()
    assert run_check(["--no-dotenv"], out=out) == 0
    assert "spool: 7 spans waiting in 2 file(s)" in out.getvalue(), out.getvalue()
