"""The disk spool is never on the request path: the application's latency with the backend down.

    python benchmarks/spool_latency.py              # 10 rounds x 200 calls per phase (< 1 min)
    python benchmarks/spool_latency.py --rounds 4 --calls 100

One application process makes real openai SDK chat calls to the bundled ModelArk-compatible server
(``python -m arktrace.testing``, its own process) with ``arktrace.init()`` exporting over OTLP/HTTP to a
local receiver (``tests/otlp_receiver.py``, its own process, so that decoding what it receives is not
counted) and the spool on (``ARKTRACE_SPOOL_DIR`` in a temporary folder). Four phases, interleaved in
rounds whose order rotates and reverses, so that the machine's drift falls on all of them alike:

- ``up``: the receiver answers 200;
- ``down``: its port is closed (connection refused);
- ``hanging``: it reads each request and never answers;
- ``up-again``: ``up`` once more, as its own phase: how far two identical phases differ in this run,
  the noise against which the others' ratios are read.

Before each phase's timed calls, untimed calls run until the spool is in that phase's steady state: for
``up``, not down and its folder empty (the backlog sent); for ``down`` and ``hanging``, down, so that every
batch goes to disk. The timed calls of a down phase must write spool files (counted by name, as the folder
gains them during the timed calls) or the run fails: what is measured is the real spooling path. Every
``Spool.keep`` call (the disk write) records its thread, and the run fails if one ran on the application's
thread. At the end the receiver is up again and every span must have arrived exactly once.

Settings that make the phases reach their steady state within a round (each noted in the output):
``OTEL_EXPORTER_OTLP_TIMEOUT`` 1 s (a hanging export is given up sooner), ``OTEL_BSP_SCHEDULE_DELAY``
50 ms (batches are exported, and so spooled, during the timed calls rather than after them), and the
sender's probe interval lowered to 0.2 s (so ``up`` is reached quickly after an outage; this makes more
background work during the outage, not less).

Prints a Markdown report (and writes it with ``--out``). Exit 1 when a check fails.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "src"))

MODEL = "ep-20250101120000-fghij"  # a non-reasoning endpoint of the bundled server
MESSAGES = [{"role": "user", "content": "Say hello in five words."}]
PHASES = ("up", "down", "hanging", "up-again")  # up-again: the same as up, the noise between phases
SETTLE_LIMIT = 30.0

# The receiver's process: commands on stdin, one answer line each on stdout.
RECEIVER = r"""
import sys
sys.path.insert(0, sys.argv[1])
from otlp_receiver import OTLPReceiver
rx = OTLPReceiver().start()
print(rx.url, flush=True)
for line in sys.stdin:
    command = line.strip()
    if command == "up":
        rx.release()
        if rx._server is None:
            rx.come_back()
    elif command == "down":
        rx.release()
        rx.go_down()
    elif command == "hang":
        if rx._server is None:
            rx.come_back()
        rx.hang()
    elif command == "count":
        ids = [s.span_id for r in list(rx.requests) if r.status == 200 and r.traces is not None
               for rs in r.traces.resource_spans for ss in rs.scope_spans for s in ss.spans]
        print(len(ids), len(set(ids)), flush=True)
        continue
    print("ok", flush=True)
"""


class Child:
    def __init__(self, args: list[str], env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen(
            args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True
        )
        assert self.process.stdout is not None
        self.first_line = self.process.stdout.readline().strip()
        if not self.first_line:
            self.stop()
            raise SystemExit(f"{args[:3]} did not start")

    def ask(self, command: str) -> str:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return self.process.stdout.readline().strip()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def ratio_intervals(
    mine: list[list[float]], base: list[list[float]], resamples: int = 1000
) -> tuple[tuple[float, float], tuple[float, float]]:
    """95% intervals of the p50 and p99 ratios mine / base, resampling whole rounds (paired).

    A round is the unit the machine's drift moves together, so rounds, not calls, are resampled, the
    same rounds for both phases.
    """
    rng = random.Random(0)
    n = len(mine)
    p50s, p99s = [], []
    for _ in range(resamples):
        picks = [rng.randrange(n) for _ in range(n)]
        a = sorted(v for i in picks for v in mine[i])
        b = sorted(v for i in picks for v in base[i])
        p50s.append(a[len(a) // 2] / b[len(b) // 2])
        p99s.append(a[int(0.99 * len(a))] / b[int(0.99 * len(b))])
    low, high = int(0.025 * resamples), int(0.975 * resamples) - 1
    p50s.sort()
    p99s.sort()
    return (p50s[low], p50s[high]), (p99s[low], p99s[high])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--calls", type=int, default=200, help="timed calls per phase per round")
    parser.add_argument(
        "--probe", type=float, default=0.2, help="seconds between the spool sender's probes of a down backend"
    )
    parser.add_argument("--out", type=Path, default=None, help="also write the report here")
    args = parser.parse_args()

    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")]))
    server = Child([sys.executable, "-m", "arktrace.testing", "--port", "0"], env)
    receiver = Child([sys.executable, "-c", RECEIVER, str(REPO / "tests")], env)
    spool_dir = tempfile.mkdtemp(prefix="arktrace-spool-bench-")
    try:
        return run(args, server.first_line.rsplit(" ", 1)[-1], receiver, spool_dir)
    finally:
        server.stop()
        receiver.stop()


def run(args: argparse.Namespace, base_url: str, receiver: Child, spool_dir: str) -> int:
    for name in [n for n in os.environ if n.startswith(("ARKTRACE_", "OTEL_"))]:
        del os.environ[name]
    os.environ.update(
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver.first_line,
        OTEL_EXPORTER_OTLP_TIMEOUT="1",
        OTEL_BSP_SCHEDULE_DELAY="50",
        ARKTRACE_SPOOL_DIR=spool_dir,
    )
    import openai

    import arktrace
    from arktrace import _spool

    _spool.PROBE_FIRST = _spool.PROBE_MAX = args.probe
    spools: list[_spool.Spool] = []
    writers: dict[str, int] = {}
    original_start, original_keep = _spool.Spool.start, _spool.Spool.keep

    def start(self: _spool.Spool) -> None:
        spools.append(self)
        original_start(self)

    def keep(self: _spool.Spool, payload: bytes, spans: int) -> bool:
        name = threading.current_thread().name
        writers[name] = writers.get(name, 0) + 1
        return original_keep(self, payload, spans)

    _spool.Spool.start, _spool.Spool.keep = start, keep  # type: ignore[method-assign]
    arktrace.init(backends=["otlp"], metrics=False, dotenv=False, service_name="spool-latency")
    (spool,) = spools
    client = openai.OpenAI(api_key="k", base_url=base_url, max_retries=0)
    create = client.chat.completions.create
    made = 0

    def call() -> float:
        nonlocal made
        started = time.perf_counter()
        create(model=MODEL, messages=MESSAGES)
        elapsed = time.perf_counter() - started
        made += 1
        return elapsed

    def batches() -> dict[str, int]:
        """The spool's batch files by their own name (a claimed file counts as itself) -> spans."""
        found = {}
        for name in os.listdir(spool.folder) if os.path.isdir(spool.folder) else []:
            base = name.split(".sending-")[0]
            match = _spool._NAME.match(base)
            if match:
                found[base] = int(match.group(4))
        return found

    def settle(phase: str) -> float:
        receiver.ask({"up": "up", "up-again": "up", "down": "down", "hanging": "hang"}[phase])
        started = time.monotonic()
        while time.monotonic() - started < SETTLE_LIMIT:
            for _ in range(20):
                call()
            if phase.startswith("up") and not spool.down and not batches():
                return time.monotonic() - started
            if not phase.startswith("up") and spool.down:
                return time.monotonic() - started
            time.sleep(0.05)
        raise SystemExit(f"the spool did not reach its {phase!r} state within {SETTLE_LIMIT:.0f} s")

    for _ in range(50):  # warm-up: imports, connections, caches
        call()
    latencies: dict[str, list[float]] = {p: [] for p in PHASES}
    per_round: dict[str, list[list[float]]] = {p: [] for p in PHASES}
    written: dict[str, list[tuple[int, int]]] = {p: [] for p in PHASES}  # (files, spans) per round
    settled: dict[str, list[float]] = {p: [] for p in PHASES}
    # CPU of every thread but the application's during the timed calls: the work that competes for the GIL
    background: dict[str, float] = {p: 0.0 for p in PHASES}
    wall = time.monotonic()
    for index in range(args.rounds):
        order = PHASES[index % len(PHASES) :] + PHASES[: index % len(PHASES)]
        if index % 2:
            order = order[::-1]
        for phase in order:
            settled[phase].append(settle(phase))
            before = batches()
            process, caller = time.process_time(), time.thread_time()
            times = [call() for _ in range(args.calls)]
            background[phase] += (time.process_time() - process) - (time.thread_time() - caller)
            after = batches()
            new = {name: spans for name, spans in after.items() if name not in before}
            written[phase].append((len(new), sum(new.values())))
            latencies[phase].extend(times)
            per_round[phase].append(times)
    wall = time.monotonic() - wall
    settle("up")
    arktrace.flush()
    deadline = time.monotonic() + SETTLE_LIMIT
    while time.monotonic() < deadline:
        total, unique = map(int, receiver.ask("count").split())
        if unique >= made and not batches():
            break
        time.sleep(0.2)

    failures = []
    for phase in ("down", "hanging"):
        if any(files == 0 for files, _ in written[phase]):
            failures.append(f"a {phase} phase's timed calls wrote no spool file: {written[phase]}")
    if writers.get(threading.main_thread().name):
        failures.append(f"the application's thread wrote to the spool: {writers}")
    if unique != made or total != made:
        failures.append(f"the receiver has {unique} distinct spans ({total} in all) of the {made} made")

    lines = report(
        args, latencies, per_round, written, background, settled, writers, made, total, unique, wall, failures
    )
    text = "\n".join(lines) + "\n"
    print(text, end="")
    if args.out is not None:
        args.out.write_text(text)
    arktrace.shutdown()
    return 1 if failures else 0


def report(
    args, latencies, per_round, written, background, settled, writers, made, total, unique, wall, failures
):
    def ms(seconds: float) -> str:
        return f"{seconds * 1000:.3f}"

    up50, up99 = percentile(latencies["up"], 0.5), percentile(latencies["up"], 0.99)
    lines = [
        "# Spool latency: the application's calls with the backend up, down and hanging",
        "",
        f"Command: `python benchmarks/spool_latency.py --rounds {args.rounds} --calls {args.calls} "
        f"--probe {args.probe:g}`",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"openai {__import__('openai').__version__}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        f"Settings: OTEL_EXPORTER_OTLP_TIMEOUT=1, OTEL_BSP_SCHEDULE_DELAY=50, spool probe {args.probe:g} s; "
        f"{args.rounds} rounds x {args.calls} timed calls per phase, phase order rotated and reversed; "
        f"timed part {wall:.1f} s.",
        "",
        "Per-call wall time of `client.chat.completions.create` (ms); ratios against `up`, with 95% "
        "intervals from resampling whole rounds (paired).",
        "",
        "| phase | calls | p50 | p99 | p50 / up | p99 / up "
        "| other threads' CPU per call (µs) | spool files (spans) written during the timed calls |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for phase in PHASES:
        values = latencies[phase]
        p50, p99 = percentile(values, 0.5), percentile(values, 0.99)
        (low50, high50), (low99, high99) = ratio_intervals(per_round[phase], per_round["up"])
        files = sum(f for f, _ in written[phase])
        spans = sum(s for _, s in written[phase])
        lines.append(
            f"| {phase} | {len(values)} | {ms(p50)} | {ms(p99)} "
            f"| {p50 / up50:.3f} ({low50:.2f}-{high50:.2f}) | {p99 / up99:.3f} ({low99:.2f}-{high99:.2f}) "
            f"| {background[phase] / len(values) * 1e6:.0f} | {files} ({spans}) |"
        )
    lines += [
        "",
        "Per-round p50 (ms), in the order the rounds ran:",
        "",
        "| phase | " + " | ".join(str(i + 1) for i in range(args.rounds)) + " |",
        "|---|" + "---|" * args.rounds,
        *(f"| {p} | " + " | ".join(ms(statistics.median(v)) for v in per_round[p]) + " |" for p in PHASES),
        "",
        "Checks:",
        f"- spool writes (`Spool.keep`) by thread: {writers}; on the application's thread: "
        f"{writers.get(threading.main_thread().name, 0)}",
        f"- spool files written per round's timed calls, down: {[f for f, _ in written['down']]}, "
        f"hanging: {[f for f, _ in written['hanging']]}",
        f"- spans made (timed and untimed calls): {made}; received by the OTLP receiver at the end: "
        f"{unique} distinct, {total} in all",
        "- seconds to reach each phase's state before its timed calls (median): "
        + ", ".join(f"{p} {statistics.median(settled[p]):.2f}" for p in PHASES),
        "",
        "Result: " + ("FAILED: " + "; ".join(failures) if failures else "all checks passed"),
    ]
    return lines


if __name__ == "__main__":
    sys.exit(main())
