"""Instructions each instrumentation adds per call, counted by callgrind: the same figure on any run.

    python benchmarks/count.py            # uninstrumented, bare-span reference, arktrace (~9 min)
    python benchmarks/count.py --peers    # + the four peers, each in its own virtualenv (~20 min)
    python benchmarks/count.py --peers --only openlit   # count one again, keep the others

``run.py`` measures CPU time, which on these shared machines moves by ±30% between runs and can reorder
configurations whose costs are close. This counts instructions instead: each configuration's worker
(``worker.py``, task ``instructions``) runs under ``valgrind --tool=callgrind`` and makes the same real
SDK calls over HTTP to the bundled server (in its own process, not counted), in batches with its
patches on and off; callgrind counts each batch alone. Added per call = (on - off) / calls. Counts
of the same configuration differ by under 0.5% between runs, so one run is enough.

Instructions are not time: a cache miss or a branch mispredicted costs many cycles and counts one. They
compare configurations on the same work, and arktrace's changes between commits, without the noise.
Writes ``results/instructions-per-call.md`` and ``.json``. Needs valgrind and Python 3.11+.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from run import (
    CONFIG_ENV,
    HERE,
    LABELS,
    PEERS,
    RAW,
    RESULTS,
    Server,
    interpreters,
    log,
    warm_bytecode,
    worker_env,
)

SCENARIOS = ("chat_sync", "chat_async", "stream_50", "completion", "embedding", "replay_50", "replay_2000")
CALLS = {
    "chat_sync": 40,
    "chat_async": 40,
    "stream_50": 10,
    "completion": 40,
    "embedding": 40,
    "replay_50": 20,
    "replay_2000": 4,
}
ROW_LABELS = {
    "chat_sync": "chat",
    "chat_async": "chat (async)",
    "stream_50": "stream, 50 chunks",
    "completion": "legacy completion",
    "embedding": "embedding",
}
# callgrind counts only inside this C function (worker.py runs each batch through operator.call) and
# writes one numbered dump as each batch returns.
CALLGRIND = [
    "valgrind",
    "--tool=callgrind",
    "--collect-atstart=no",
    "--toggle-collect=_operator_call",
    "--dump-after=_operator_call",
]


def count_worker(config: str, python: str, spec: dict[str, Any]) -> dict[str, Any]:
    """Run one configuration's worker under callgrind; its regions with their instruction counts."""
    RAW.mkdir(parents=True, exist_ok=True)
    out = RAW / f"count-{config}.json"
    dumps = RAW / f"count-{config}.callgrind"
    for old in [out, *RAW.glob(f"{dumps.name}*")]:
        old.unlink(missing_ok=True)
    spec = dict(spec, config=config, scratch=str(RAW))
    with open(RAW / f"count-{config}.log", "w") as log_file:
        subprocess.run(
            [
                *CALLGRIND,
                f"--callgrind-out-file={dumps}",
                python,
                str(HERE / "worker.py"),
                json.dumps(spec),
                str(out),
            ],
            env=worker_env(config, python),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            timeout=3600,
            check=False,
        )
    if not out.exists():
        return {"config": config, "fatal": f"worker wrote no result; see {RAW / f'count-{config}.log'}"}
    result = json.loads(out.read_text())
    regions = result.get("regions", [])
    counts = [_total(RAW / f"{dumps.name}.{i}") for i in range(1, len(regions) + 1)]
    if len(regions) != len(list(RAW.glob(f"{dumps.name}.*"))) or None in counts:
        result.setdefault(
            "fatal", "callgrind dumps do not match the batches (did something else call operator.call?)"
        )
        return result
    for region, count in zip(regions, counts):
        region["instructions"] = count
    return result


def _total(path: Path) -> int | None:
    if not path.exists():
        return None
    for line in path.read_text().splitlines():
        if line.startswith("totals:"):
            return int(line.split()[1])
    return None


def per_call(result: dict[str, Any]) -> dict[str, float]:
    """Instructions added per call by the configuration's patches, per scenario."""
    by: dict[str, dict[bool, dict[str, Any]]] = {}
    for region in result.get("regions", []):
        by.setdefault(region["scenario"], {})[region["on"]] = region
    added = {}
    errors = result.get("errors", {})
    for name, pair in by.items():
        if name not in errors and True in pair and False in pair and "instructions" in pair[True]:
            added[name] = (pair[True]["instructions"] - pair[False]["instructions"]) / pair[True]["calls"]
    if "replay_50" in added and "replay_2000" in added:
        added["per_chunk"] = (added["replay_2000"] - added["replay_50"]) / 1950
    return added


def render(report: dict[str, Any]) -> str:
    env = report["environment"]
    configs = [c for c in report["configs"] if c != "baseline"]
    added = report["added"]
    lines = [
        f"Counted {env['date']} with `{env['command']}` (valgrind callgrind; Python {env['python']}, "
        f"openai {env['openai']}, OpenTelemetry SDK {env['otel_sdk']}): instructions added per call by each "
        "configuration's patches, real SDK calls over HTTP to the bundled server, message content captured, "
        "exactly one span per call checked. In brackets: times the bare span's count.",
        "",
    ]
    if report.get("recounted"):
        again = ", ".join(report["recounted"])
        lines += [f"Counted again with `--only`: {again}; the others are kept from the run before.", ""]
    lines += [
        "|  | " + " | ".join(LABELS.get(c, c) for c in configs) + " |",
        "|---" * (len(configs) + 1) + "|",
    ]
    for name, label in ROW_LABELS.items():
        row = [f"{label}, instructions per call"]
        bare = added.get("bare-span", {}).get(name)
        for config in configs:
            value = added.get(config, {}).get(name)
            failed = report["fatal"].get(config) or report["errors"].get(config, {}).get(name)
            if value is None:
                row.append(
                    "✗ no span" if failed and "0 spans" in failed else f"✗ {failed}" if failed else "-"
                )
            elif config == "bare-span" or not bare:
                row.append(f"+{value:,.0f}")
            else:
                row.append(f"+{value:,.0f} ({value / bare:.1f}x)")
        lines.append("| " + " | ".join(row) + " |")
    row = ["per stream chunk, instructions"]
    for config in configs:
        value = added.get(config, {}).get("per_chunk")
        row.append("-" if value is None or config == "bare-span" else f"{value:,.0f}")
    lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--peers", action="store_true", help="also count the peer instrumentations")
    parser.add_argument(
        "--only",
        help="comma-separated configurations to count again; the others are kept from the last results file",
    )
    parser.add_argument("--jobs", type=int, default=2, help="workers run side by side (default 2)")
    parser.add_argument("--venv-python", help="Python (>= 3.11) to create the peers' venvs with")
    parser.add_argument("--out", default=str(RESULTS), help="where instructions-per-call.md/.json go")
    parser.add_argument(
        "--conventions",
        choices=("openinference", "genai", "both"),
        help="count arktrace with this ARKTRACE_CONVENTIONS (default: its own default, both)",
    )
    args = parser.parse_args(argv)
    if args.conventions:
        CONFIG_ENV["arktrace"] = {**CONFIG_ENV.get("arktrace", {}), "ARKTRACE_CONVENTIONS": args.conventions}
    if shutil.which("valgrind") is None:
        raise SystemExit("count.py needs valgrind (apt-get install valgrind)")
    configs = ["baseline", "bare-span", "arktrace", *(PEERS if args.peers else ())]
    out = Path(args.out)
    kept: dict[str, dict[str, Any]] = {}
    if args.only:
        wanted = {c.strip() for c in args.only.split(",")}
        last = json.loads((out / "instructions-per-call.json").read_text())
        kept = {c: last["results"][c] for c in configs if c not in wanted and c in last["results"]}
        configs_to_run = [c for c in configs if c in wanted]
    else:
        configs_to_run = configs
    started = time.time()
    pythons = interpreters(
        argparse.Namespace(peers=args.peers, pinned=False, venv_python=args.venv_python), configs
    )
    for config in configs:
        warm_bytecode(pythons[config], config)
    spec = {
        "task": "instructions",
        "transport": "socket",
        "scenarios": SCENARIOS,
        "calls": CALLS,
        "warmup": 5,
    }
    server = Server(pythons["arktrace"] if "arktrace" in pythons else pythons["baseline"])
    try:
        spec["base_url"] = server.base_url

        def one(config: str) -> dict[str, Any]:
            t0 = time.time()
            result = count_worker(config, pythons[config], spec)
            log(f"[count] {config:<16} {time.time() - t0:6.1f} s {result.get('fatal') or ''}")
            return result

        with ThreadPoolExecutor(max(args.jobs, 1)) as pool:
            results = dict(kept, **dict(zip(configs_to_run, pool.map(one, configs_to_run))))
    finally:
        server.stop()

    versions = results["baseline"].get("versions", {})
    report = {
        "environment": {
            "date": time.strftime("%Y-%m-%d"),
            "command": "python benchmarks/count.py"
            + (" --peers" if args.peers else "")
            + (f" --conventions {args.conventions}" if args.conventions else ""),
            "python": results["baseline"].get("python", "?"),
            "openai": versions.get("openai"),
            "otel_sdk": versions.get("opentelemetry-sdk"),
            "cpus": os.cpu_count(),
            "seconds": round(time.time() - started, 1),
        },
        "configs": configs,
        "calls": CALLS,
        "recounted": sorted(configs_to_run) if kept else None,
        "fatal": {c: r["fatal"] for c, r in results.items() if r.get("fatal")},
        "errors": {c: r.get("errors", {}) for c, r in results.items()},
        "added": {c: per_call(r) for c, r in results.items()},
        "results": results,
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "instructions-per-call.json").write_text(json.dumps(report, indent=1, sort_keys=True) + "\n")
    markdown = render(report)
    (out / "instructions-per-call.md").write_text(markdown)
    print(markdown)
    log(f"[done] {time.time() - started:.0f} s")
    return 1 if report["fatal"] else 0


if __name__ == "__main__":
    sys.exit(main())
