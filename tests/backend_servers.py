"""Real MLflow and Phoenix servers on 127.0.0.1 for tests (fixtures ``mlflow_server`` and ``phoenix_server``
in conftest.py).

The servers come from the virtualenvs that ``scripts/install-backend-servers.sh`` creates under
``.ci-venvs/`` (or ``ARKTRACE_VENVS_DIR``). Both are launched at once on free loopback ports the first time
either fixture is used, polled until ready, and stopped at the end of the session by signalling the process
group of the PID we started. Logs go to a temporary directory; their tail is part of every failure message.

A missing install skips the tests that need it, with the install command as the reason, unless
``ARKTRACE_REQUIRE_BACKENDS=1`` (set by CI), which turns it into a failure.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pytest

from harness import ROOT, free_port

INSTALL = "scripts/install-backend-servers.sh"
START_TIMEOUT = 120.0

# Phoenix binds its gRPC receiver to every interface whatever PHOENIX_HOST says; this launcher narrows
# that bind to loopback before starting the server.
_PHOENIX_LAUNCHER = """
import sys

import grpc.aio

_server = grpc.aio.server


def _loopback_server(*args, **kwargs):
    server = _server(*args, **kwargs)
    add_insecure, add_secure = server.add_insecure_port, server.add_secure_port
    server.add_insecure_port = lambda address: add_insecure(address.replace("[::]", "127.0.0.1"))
    server.add_secure_port = lambda address, *rest: add_secure(address.replace("[::]", "127.0.0.1"), *rest)
    return server


grpc.aio.server = _loopback_server
from phoenix.server.main import main

sys.argv = ["phoenix", "serve"]
sys.exit(main())
"""


def venvs_dir() -> Path:
    return Path(os.environ.get("ARKTRACE_VENVS_DIR") or ROOT / ".ci-venvs")


def backends_required() -> bool:
    return os.environ.get("ARKTRACE_REQUIRE_BACKENDS", "").strip().lower() in ("1", "true", "yes")


def http_json(method: str, url: str, body: Any = None, timeout: float = 10.0) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    headers = {"accept": "application/json"}
    if data is not None:
        headers["content-type"] = "application/json"
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    try:
        return status, json.loads(raw or b"null")
    except ValueError:
        return status, raw.decode(errors="replace")


@dataclass
class ServerProcess:
    name: str
    command: list[str]
    env: dict[str, str]
    workdir: Path
    url: str
    ready_path: str
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    ready_after: float | None = None
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.name}.log"

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "wb")  # noqa: SIM115 - handed to the child process
        self.started_at = time.monotonic()
        self.process = subprocess.Popen(
            self.command,
            env=self.env,
            cwd=self.workdir,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so stop() reaches the workers it forks
        )
        log.close()

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        if self.ready_after is not None or self.error is not None:
            return
        assert self.process is not None
        deadline = self.started_at + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.error = f"{self.name} exited with code {self.process.returncode} while starting"
                return
            try:
                with urllib.request.urlopen(self.url + self.ready_path, timeout=2) as response:
                    if response.status == 200:
                        self.ready_after = time.monotonic() - self.started_at
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.25)
        self.error = f"{self.name} not ready at {self.url}{self.ready_path} within {timeout:.0f} s"

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        pid = self.process.pid
        try:
            os.killpg(pid, signal.SIGTERM)  # the group led by the PID we started, and nothing else
        except ProcessLookupError:
            return
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(pid, signal.SIGKILL)
            self.process.wait(timeout=5)

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return f"--- last {lines} lines of {self.log_path} ---\n" + "\n".join(text[-lines:])

    def fail(self, message: str) -> None:
        pytest.fail(f"{message}\n{self.log_tail()}", pytrace=False)

    def poll(self, what: str, fetch: Callable[[], Any], timeout: float = 20.0) -> Any:
        """Call ``fetch`` until it returns something truthy; fail with the server log otherwise."""
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            try:
                last = fetch()
            except (urllib.error.URLError, OSError, KeyError, IndexError, ValueError) as error:
                last = error
            else:
                if last:
                    return last
            time.sleep(0.3)
        self.fail(f"{self.name}: {what} did not appear within {timeout:.0f} s (last answer: {last!r})")
        return None


def _binary(venv: str, name: str) -> Path | None:
    path = venvs_dir() / venv / "bin" / name
    return path if path.exists() else None


def _mlflow(workdir: Path) -> ServerProcess | None:
    binary = _binary("mlflow", "mlflow")
    if binary is None:
        return None
    port = free_port()
    env = {
        **os.environ,
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",  # otherwise ~15 processes and ~3 GiB
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "DO_NOT_TRACK": "true",
        "MLFLOW_MODEL_CATALOG_URI": "",  # otherwise the first span with usage stalls on a network look-up
    }
    command = [
        str(binary),
        "server",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--backend-store-uri",
        f"sqlite:///{workdir / 'mlflow.db'}",
        "--artifacts-destination",
        str(workdir / "artifacts"),
    ]
    return ServerProcess("mlflow", command, env, workdir, f"http://127.0.0.1:{port}", "/health")


def _phoenix(workdir: Path) -> ServerProcess | None:
    python = _binary("phoenix", "python")
    if python is None or _binary("phoenix", "phoenix") is None:
        return None
    port = free_port()
    env = {
        **os.environ,
        "PHOENIX_HOST": "127.0.0.1",
        "PHOENIX_PORT": str(port),
        "PHOENIX_GRPC_PORT": str(free_port()),
        "PHOENIX_WORKING_DIR": str(workdir),
        "PHOENIX_TELEMETRY_ENABLED": "false",
        "PHOENIX_ALLOW_EXTERNAL_RESOURCES": "false",
    }
    return ServerProcess(
        "phoenix", [str(python), "-c", _PHOENIX_LAUNCHER], env, workdir, f"http://127.0.0.1:{port}", "/readyz"
    )


def installed(root: Path) -> dict[str, ServerProcess | None]:
    """Each server, not yet started, with its files under ``root``; ``None`` for one not installed."""
    return {"mlflow": _mlflow(root / "mlflow"), "phoenix": _phoenix(root / "phoenix")}


def ready(servers: dict[str, ServerProcess | None], name: str) -> ServerProcess:
    """The server ``name`` once it answers; skips (or fails, when required) the test if not installed."""
    server = servers[name]
    if server is None:
        reason = f"{name} server not installed under {venvs_dir()}: run `bash {INSTALL}` (about 90 s)"
        if backends_required():
            pytest.fail(reason + " [ARKTRACE_REQUIRE_BACKENDS is set]", pytrace=False)
        pytest.skip(reason)
    server.wait_ready()
    if server.error is not None:
        server.fail(server.error)
    return server
