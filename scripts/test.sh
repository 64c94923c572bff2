#!/usr/bin/env bash
# Fresh machine → the whole test suite. Installs everything it needs under .ci-venvs/ (reused when
# present), lints, then runs the suite once per supported openai major version: the oldest 1.x we
# support, the latest 2.x and 3.x we pinned, and the newest release on the index (unpinned). The backend tests (real MLflow and Phoenix servers on
# 127.0.0.1) run in the 3.x pass. Ends with one summary line over all passes.
set -uo pipefail
cd "$(dirname "$0")/.."
VENVS=.ci-venvs
mkdir -p "$VENVS"
PIP=(python -m pip install --quiet --disable-pip-version-check)

# openai versions under test; "httpx<0.28" because openai releases before 1.55.3 pass `proxies` to httpx.
OPENAI_MATRIX=(
  "1x|openai==1.40.0 httpx<0.28"
  "2x|openai==2.54.0"
  "3x|openai==3.57.0"
  # Unpinned: the newest openai on the index the day CI runs, so an SDK change that breaks a promise
  # (openai 3.63 stopped carrying the failed request in its errors) shows the day it ships.
  "latest|--upgrade openai"
)

# The pass that also tests the BytePlus Ark SDK (arktrace[ark], ~200 MB: about 2 min on first install);
# volcengine-ark-runtime is in [test], so every pass tests that one.
ARK_PASS=3x

make_venv() {  # name, extra requirements...
  local dir="$VENVS/$1" extras=test
  [ "$1" = "$ARK_PASS" ] && extras=test,ark
  shift
  if [ ! -x "$dir/bin/python" ]; then python3 -m venv "$dir" || return 1; fi
  "$dir/bin/${PIP[0]}" "${PIP[@]:1}" -e ".[$extras]" "$@"
}

failed=0
results=()
run_pass() {  # name, pytest args...
  local name=$1; shift
  echo "== pytest ($name)"
  # The full-size load test (16 threads x 500 calls, tests/wire/test_load.py) runs in the 3x pass only.
  if [ "$name" = 3x ]; then export ARKTRACE_LOAD_CALLS=500; else unset ARKTRACE_LOAD_CALLS; fi
  "$VENVS/$name/bin/python" -m pytest -q -p no:cacheprovider --junitxml="$VENVS/results-$name.xml" "$@"
  local rc=$?
  [ $rc -eq 0 ] || failed=1
  results+=("$VENVS/results-$name.xml")
}

echo "== installing test environments"
# The environments are independent: installed side by side (about half the time on a 2-CPU machine),
# each into its own log, shown only when that install fails.
install_jobs=()
for entry in "${OPENAI_MATRIX[@]}"; do
  name=${entry%%|*}; spec=${entry#*|}
  # shellcheck disable=SC2086
  make_venv "$name" $spec ruff >"$VENVS/install-$name.log" 2>&1 &
  install_jobs+=("$!|the $name environment|$VENVS/install-$name.log")
done
bash scripts/install-backend-servers.sh >"$VENVS/install-servers.log" 2>&1 &
install_jobs+=("$!|the MLflow / Phoenix servers|$VENVS/install-servers.log")
# The libraries people call the SDK through (tests/frameworks/test_frameworks.py), pinned; instructor with
# --no-deps (its jiter pin conflicts with openai 3.x, see the requirements file). An older LiteLLM,
# which reached the SDK another way, in an environment of its own.
{ make_venv frameworks -r tests/frameworks/requirements.txt &&
  "$VENVS/frameworks/bin/${PIP[0]}" "${PIP[@]:1}" --no-deps -r tests/frameworks/requirements-nodeps.txt
} >"$VENVS/install-frameworks.log" 2>&1 &
install_jobs+=("$!|the frameworks environment|$VENVS/install-frameworks.log")
make_venv litellm-old -r tests/frameworks/requirements-litellm-old.txt >"$VENVS/install-litellm-old.log" 2>&1 &
install_jobs+=("$!|the older-LiteLLM environment|$VENVS/install-litellm-old.log")
for job in "${install_jobs[@]}"; do
  IFS='|' read -r pid what log <<<"$job"
  if ! wait "$pid"; then
    tail -n 40 "$log"
    echo "could not install $what"
    exit 1
  fi
done

echo "== ruff"
"$VENVS/3x/bin/ruff" check . || failed=1
"$VENVS/3x/bin/ruff" format --check . || failed=1

# Tests marked `once` (configuration, export, subprocesses: nothing an openai version changes) run
# in the 3x pass only, which keeps CI well under its 15-minute budget.
# The framework tests run in their own environments only (deselected elsewhere, not skipped).
run_pass 1x -m "not backends and not once and not frameworks"
run_pass 2x -m "not backends and not once and not frameworks"
echo "== openai in the newest pass: $("$VENVS/latest/bin/python" -c 'import openai; print(openai.__version__)')"
run_pass latest -m "not backends and not once and not frameworks"
ARKTRACE_REQUIRE_BACKENDS=1 ARKTRACE_REQUIRE_ARK_SDKS=1 run_pass 3x -m "not frameworks"
ARKTRACE_REQUIRE_FRAMEWORKS=1 run_pass frameworks -m frameworks tests/frameworks/test_frameworks.py
ARKTRACE_REQUIRE_FRAMEWORKS=1 run_pass litellm-old -m frameworks -k litellm tests/frameworks/test_frameworks.py

# The openai SDK's own tests, plain, instrumented and with ARKTRACE_STREAM_USAGE=always: the same
# outcome for every test id (after the 3x pass: it adds the SDK's test dependencies to that venv).
echo "== openai's own test suite, three ways"
bash scripts/openai-suite.sh "$VENVS/3x/bin/python" 3.57.0 || failed=1

python3 scripts/summarize_junit.py "${results[@]}" || failed=1
exit $failed
