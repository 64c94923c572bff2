#!/usr/bin/env bash
# Install the MLflow and Phoenix servers that tests/backends/test_mlflow_phoenix.py starts on 127.0.0.1.
#
# Each server gets its own virtualenv under .ci-venvs/ (ignored by git) so that neither its dependencies
# nor its pins leak into the project's environment. Versions are pinned; a marker file records what was
# installed, so a second run with the same pins returns in well under a second.
#
#   scripts/install-backend-servers.sh            # both
#   scripts/install-backend-servers.sh mlflow     # only one
#
# Environment: ARKTRACE_SERVERS_PYTHON picks the interpreter (needs Python >= 3.10; default: the first of
# python3.11, python3.12, python3.10, python3 that is new enough). ARKTRACE_VENVS_DIR overrides .ci-venvs.
set -euo pipefail

MLFLOW_VERSION="3.17.2"    # 3.18.0 needs an mlflow-skinny release that is not published
PHOENIX_VERSION="20.26.1"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venvs="${ARKTRACE_VENVS_DIR:-$root/.ci-venvs}"

pick_python() {
    if [[ -n "${ARKTRACE_SERVERS_PYTHON:-}" ]]; then
        echo "$ARKTRACE_SERVERS_PYTHON"
        return
    fi
    local candidate
    for candidate in python3.11 python3.12 python3.10 python3; do
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' >/dev/null 2>&1; then
            echo "$candidate"
            return
        fi
    done
    echo "install-backend-servers: no Python >= 3.10 found (set ARKTRACE_SERVERS_PYTHON)" >&2
    exit 1
}

quiet_pip() {
    grep -v "^WARNING: Location '.*' is ignored" || true
}

# install NAME BINARY REQUIREMENT...
install() {
    local name="$1" binary="$2"
    shift 2
    local dir="$venvs/$name"
    local want="$*"
    local marker="$dir/.arktrace-installed"
    if [[ -x "$dir/bin/$binary" && -f "$marker" && "$(cat "$marker")" == "$want" ]]; then
        echo "install-backend-servers: $name already installed ($want)"
        return
    fi
    local start=$SECONDS
    echo "install-backend-servers: installing $want into $dir"
    rm -rf "$dir"
    "$(pick_python)" -m venv "$dir"
    # pip repeats a warning for every configured local index it cannot find: keep real errors only.
    "$dir/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip 2>&1 | quiet_pip
    "$dir/bin/python" -m pip install --quiet --disable-pip-version-check "$@" 2>&1 | quiet_pip
    "$dir/bin/$binary" --help >/dev/null
    echo "$want" >"$marker"
    echo "install-backend-servers: $name ready in $((SECONDS - start)) s"
}

targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
    targets=(mlflow phoenix)
fi
for target in "${targets[@]}"; do
    if [[ "$target" != mlflow && "$target" != phoenix ]]; then
        echo "install-backend-servers: unknown server '$target' (expected mlflow or phoenix)" >&2
        exit 2
    fi
done
mkdir -p "$venvs"
# The installs are independent: run them side by side and fail if any failed.
pids=()
for target in "${targets[@]}"; do
    case "$target" in
        mlflow) install mlflow mlflow "mlflow==$MLFLOW_VERSION" & ;;
        phoenix) install phoenix phoenix "arize-phoenix==$PHOENIX_VERSION" & ;;
    esac
    pids+=($!)
done
status=0
for pid in "${pids[@]}"; do
    wait "$pid" || status=1
done
exit "$status"
