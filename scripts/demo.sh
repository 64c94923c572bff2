#!/usr/bin/env bash
# Fresh machine → the demo: a virtualenv with arktrace installed, then `arktrace demo`
# (bundled ModelArk-compatible server, real openai SDK, spans printed as a table).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e .
exec .venv/bin/arktrace demo
