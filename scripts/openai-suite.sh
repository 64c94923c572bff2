#!/usr/bin/env bash
# The openai SDK's own test suite as the judge of "arktrace changes nothing":
#
#   bash scripts/openai-suite.sh VENV_PYTHON OPENAI_VERSION
#
# Downloads the sdist of OPENAI_VERSION from PyPI (checked against the sha256 pinned below), unpacks
# its tests/ under .ci-venvs/openai-suite/ (ignored; never committed), installs their test
# dependencies (pinned below) into VENV_PYTHON's environment, which must already hold openai at
# OPENAI_VERSION and arktrace, and runs the selection three ways:
#   plain      - no arktrace;
#   instrument - arktrace.instrument() from process start (tests/openai_suite/arktrace_plugin.py);
#   always     - the same with ARKTRACE_STREAM_USAGE=always.
# Fails when any test id has a different outcome in a way than in the plain run, or when an
# instrumented run ended no span or logged anything on the `arktrace` logger. Prints one summary line
# (the differences, if any, above it; each way's log stays in the work folder).
#
# Selection: the SDK's tests of what arktrace patches (chat completions, completions, embeddings,
# responses, streams and their helpers, the tool runners built on them), of the client core every
# call goes through (tests/test_client.py, streaming, response parsing, models) and of the request
# paths the client request() hook reads (Azure deployments and redirects): 5,380 tests for 3.57.0, in
# about 5 minutes for the three ways on 2 cores (aiohttp installed, so the SDK's aiohttp transport runs
# too). 13 of them fail in every way alike: tests/lib/chat/test_completions_streaming.py reads
# inline-snapshot's external snapshot files, which the sdist does not ship. OPENAI_SUITE_TESTS="tests" runs the whole tree
# instead: 13,322 tests for 3.57.0, about 8 minutes a way on 2 cores. Run plain against instrumented on
# 2026-12-06 it differed in 4 tests, each a timing test (live transcript deadlines, a realtime
# keep-alive, a 4-second websocket wait) on a machine loaded by other work, each passing when run again
# with arktrace. In both, the tests that need a prism mock server are deselected
# (tests/openai_suite/prism_deselect.py).
set -uo pipefail
# The interpreter as the caller named it, made absolute before moving: the runs happen in the
# unpacked sdist's folder.
case ${1:-} in /*) given_python=${1:-} ;; *) given_python=$PWD/${1:-} ;; esac
cd "$(dirname "$0")/.."
repo=$PWD

if [ $# -ne 2 ]; then
  echo "usage: bash scripts/openai-suite.sh VENV_PYTHON OPENAI_VERSION" >&2
  exit 2
fi
python=$given_python version=$2

# sha256 of each release's sdist as PyPI serves it.
case $version in
  3.57.0) sha256=5a0a89d6a542efc85e2a8cec701ca9265b795d578c777828e10fafdf80e333b6 ;;
  2.54.0) sha256=e3e6f8bc1ba30ddf381ace1a14340eed381cb984a1a59bd0f34b5be3b5d49cfa ;;
  1.40.0) sha256=1b7b316e27b2333b063ee62b6539b74267c7282498d9a02fc4ccb38a9c14336c ;;
  *) echo "openai-suite $version: no sha256 pinned for this version in $0" >&2; exit 2 ;;
esac

# The SDK's test dependencies (its dev lock / uv.lock; closest release on PyPI), pytest and
# pytest-asyncio excepted: those stay the ones arktrace's own tests run with.
case ${version%%.*} in
  3) deps=(pytest-xdist==3.8.0 inline-snapshot==0.36.1 rich==15.0.0 trio==0.35.0 websockets==15.0.1
           aiohttp==3.14.5) ;;
  2) deps=(pytest-xdist==3.8.0 inline-snapshot==0.31.1 rich==14.2.0 trio==0.31.0 websockets==15.0.1
           respx==0.22.0 dirty-equals==0.11 time-machine==2.19.0 nest-asyncio==1.6.0 executing==2.2.1) ;;
  *) deps=(pytest-xdist==3.8.0 inline-snapshot==0.10.2 rich==13.7.1 trio==0.22.2
           respx==0.20.2 dirty-equals==0.6.0 time-machine==2.9.0) ;;
esac

selection=(
  tests/api_resources tests/lib/chat tests/lib/responses tests/lib/streaming
  tests/lib/test_embeddings.py tests/lib/test_azure.py tests/lib/test_old_api.py tests/lib/test_pydantic.py
  tests/lib/test_audio.py tests/test_client.py tests/test_streaming.py tests/test_response.py
  tests/test_legacy_response.py tests/test_models.py tests/test_transform.py
  # The helpers built on the patched methods, and the request paths the client request() hook reads:
  tests/lib/test_responses_tool_runner.py tests/lib/test_runner_server_tools.py
  tests/lib/test_decisions_tool_runner.py tests/lib/test_responses_input_file_history.py
  tests/lib/test_azure_deployment_path.py tests/lib/test_azure_redirects.py
  tests/lib/test_audio_response_format.py tests/test_debug_logging.py
)
[ -n "${OPENAI_SUITE_TESTS:-}" ] && read -r -a selection <<<"$OPENAI_SUITE_TESTS"

work=$repo/.ci-venvs/openai-suite/$version
fail() { echo "openai-suite $version: $*"; exit 1; }

installed=$("$python" -c 'import importlib.metadata as m; print(m.version("openai"))' 2>/dev/null)
[ "$installed" = "$version" ] || fail "$python has openai ${installed:-(none)}, not $version"

mkdir -p "$work/download"
sdist=$work/download/openai-$version.tar.gz
if [ ! -f "$sdist" ] || ! echo "$sha256  $sdist" | sha256sum --check --status; then
  rm -f "$sdist"
  "$python" -m pip download --quiet --disable-pip-version-check --no-binary :all: --no-deps \
    -d "$work/download" "openai==$version" >"$work/download.log" 2>&1 || fail "download failed: $work/download.log"
fi
echo "$sha256  $sdist" | sha256sum --check --status || fail "sha256 of $sdist is not the pinned $sha256"

rm -rf "$work/src" && mkdir -p "$work/src"
tar -xzf "$sdist" -C "$work/src" --strip-components=1 || fail "cannot unpack $sdist"
"$python" -m pip install --quiet --disable-pip-version-check "${deps[@]}" >"$work/install.log" 2>&1 ||
  fail "cannot install the test dependencies: $work/install.log"

present=()
for path in "${selection[@]}"; do [ -e "$work/src/$path" ] && present+=("$path"); done
[ ${#present[@]} -gt 0 ] || fail "none of the selected test paths exists in the sdist"

run() {  # way, extra pytest args...
  local way=$1; shift
  rm -rf "$work/counts-$way" && mkdir -p "$work/counts-$way"
  # The developer's shell must not steer either side: no arktrace, OTel or openai settings, no
  # TEST_API_BASE_URL (the SDK's tests read it).
  (cd "$work/src" && env $(env | grep -oE '^(ARKTRACE|OTEL|OPENAI)_[A-Za-z0-9_]*' | sed 's/^/-u /') \
    -u TEST_API_BASE_URL "${way_env[@]}" \
    PYTHONPATH="$repo/tests/openai_suite" ARKTRACE_SUITE_COUNTS="$work/counts-$way" \
    OPENAI_SUITE_DESELECTED="$work/deselected" \
    timeout 1800 "$python" -m pytest -q -p no:cacheprovider -p prism_deselect "$@" \
    -n "${OPENAI_SUITE_WORKERS:-auto}" --junitxml="$work/$way.xml" "${present[@]}") >"$work/$way.log" 2>&1
  [ -s "$work/$way.xml" ] || fail "the $way run wrote no results: $work/$way.log"
}

way_env=()
run plain
run instrument -p arktrace_plugin
way_env=(ARKTRACE_STREAM_USAGE=always)
run always -p arktrace_plugin

"$python" "$repo/tests/openai_suite/compare.py" "$version" "$(cat "$work/deselected" 2>/dev/null || echo '?')" \
  "$work/plain.xml" "instrument=$work/instrument.xml:$work/counts-instrument" \
  "always=$work/always.xml:$work/counts-always"
