"""Compare the openai SDK's own test suite run three ways; print one line, exit 1 on any difference.

    python compare.py OPENAI_VERSION DESELECTED PLAIN.xml NAME=RUN.xml:COUNTS_DIR ...

Each RUN after the plain one must have the same outcome (passed, failed, error, skipped) for every
test id as the plain run, and must prove that arktrace was active in it: spans ended for at least one
operation and nothing logged by the ``arktrace`` logger (faults included), in every process.
"""

from __future__ import annotations

import glob
import json
import os
import sys
import xml.etree.ElementTree as ET
from collections import Counter


def outcomes(path: str) -> dict[str, str]:
    """Test id -> outcome. A test that fails in its call and errors in teardown counts once, as both."""
    found: dict[str, str] = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        test_id = f"{case.get('classname')}::{case.get('name')}"
        kinds = sorted({child.tag for child in case if child.tag in ("failure", "error", "skipped")})
        outcome = "+".join(kinds) or "passed"
        found[test_id] = f"{found[test_id]}+{outcome}" if test_id in found else outcome
    return found


def activity(folder: str) -> tuple[Counter[str], list[str], int]:
    spans: Counter[str] = Counter()
    complaints: list[str] = []
    files = glob.glob(os.path.join(folder, "*.json"))
    for path in files:
        with open(path) as f:
            counts = json.load(f)
        if not counts["instrumented"]:
            complaints.append(f"{os.path.basename(path)}: not instrumented at the end of the session")
        spans.update(counts["spans"])
        complaints += [f"fault reported in {where}" for where in counts["faults"]]
        complaints += counts["complaints"]
    return spans, complaints, len(files)


def main(argv: list[str]) -> int:
    version, deselected, plain_path, *runs = argv
    plain = outcomes(plain_path)
    tally = Counter(plain.values())
    problems: list[str] = []
    notes: list[str] = []
    for run in runs:
        name, rest = run.split("=", 1)
        path, folder = rest.rsplit(":", 1)
        other = outcomes(path)
        for test_id in sorted(plain.keys() | other.keys()):
            a, b = plain.get(test_id, "absent"), other.get(test_id, "absent")
            if a != b:
                problems.append(f"{name}: {test_id}: {a} plain, {b} with arktrace")
        spans, complaints, processes = activity(folder)
        if not processes:
            problems.append(f"{name}: no counts written: was the arktrace plugin loaded?")
        if not any(n > 0 for n in spans.values()):
            problems.append(f"{name}: no span ended: arktrace was not active")
        problems += [f"{name}: arktrace logged: {c}" for c in dict.fromkeys(complaints)]
        notes.append(f"{name} spans " + ",".join(f"{op}={n}" for op, n in sorted(spans.items())))
    for line in problems:
        print(line)
    outcome = ", ".join(f"{n} {kind}" for kind, n in sorted(tally.items()))
    verdict = "identical" if not problems else f"{len(problems)} differences or faults"
    print(
        f"openai-suite {version}: {len(plain)} tests ({outcome}; {deselected} deselected, need prism),"
        f" {len(runs) + 1} ways {verdict}; " + "; ".join(notes)
    )
    return 1 if problems or not plain else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
