"""`arktrace run`: unmodified programs traced with no code change, their spans counted at an OTLP receiver.

Each test starts a real process tree (`python -m arktrace run -- python app.py`, or the `arktrace` console
script) whose program calls the bundled ModelArk server with the real openai SDK; the receiver decodes
what the program's exporters sent before it exited.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from arktrace._reference import BACKEND_VARIABLES, OPTIONS
from harness import ENDPOINT, ENV_VARS, RESOLVED, SRC
from otlp_receiver import OTLPReceiver, _iter_spans

pytestmark = pytest.mark.once


# An application that knows nothing of arktrace. argv[1] says how it ends.
APP = """
import os, sys
import openai

client = openai.OpenAI(api_key="k", base_url=os.environ["APP_BASE_URL"], max_retries=0)
for i in range(int(os.environ.get("APP_CALLS", "2"))):
    question = [{"role": "user", "content": f"call {i}"}]
    client.chat.completions.create(model=os.environ["APP_MODEL"], messages=question)
open(os.environ["APP_MARKER"], "w").write("ran")
how = sys.argv[1]
if how == "exit":
    sys.exit(3)
if how == "raise":
    raise LookupError("the application's own failure")
"""

# A pre-fork server in miniature: the parent calls, exports, then forks workers that each call and end with
# sys.exit() as gunicorn's workers do; the parent calls again after they are done.
PREFORK_APP = """
import os, sys, time
import openai

def call(client, text):
    question = [{"role": "user", "content": text}]
    client.chat.completions.create(model=os.environ["APP_MODEL"], messages=question)

client = openai.OpenAI(api_key="k", base_url=os.environ["APP_BASE_URL"], max_retries=0)
call(client, "parent before fork")
time.sleep(0.5)  # the batch processor (OTEL_BSP_SCHEDULE_DELAY=50 ms) exports it over a pooled connection
workers = []
for w in range(3):
    pid = os.fork()
    if pid == 0:
        worker_client = openai.OpenAI(api_key="k", base_url=os.environ["APP_BASE_URL"], max_retries=0)
        for c in range(2):
            call(worker_client, f"worker {w} call {c}")
        sys.exit(0)
    workers.append(pid)
codes = [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in workers]
call(client, "parent after workers")
sys.exit(0 if codes == [0, 0, 0] else 10)
"""


def _env(tmp_path: Path, server, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ENV_VARS and not k.startswith("ARKTRACE_")}
    env.update(
        PYTHONPATH=SRC,
        APP_BASE_URL=server.base_url,
        APP_MODEL=ENDPOINT,
        APP_MARKER=str(tmp_path / "ran"),
        ARKTRACE_METRICS="false",
        OTEL_SERVICE_NAME="run-test",
    )
    env.update(extra)
    return env


def _run(tmp_path: Path, env: dict[str, str], app: str, *args: str, launcher=None):
    script = tmp_path / "app.py"
    script.write_text(app)
    launcher = launcher or [sys.executable, "-m", "arktrace", "run"]
    return subprocess.run(
        [*launcher, "--", sys.executable, str(script), *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _contents(receiver: OTLPReceiver) -> list[str]:
    return sorted(s.attributes["llm.input_messages.0.message.content"] for s in receiver.spans())


@pytest.mark.parametrize(
    ("how", "code"),
    [("normal", 0), ("exit", 3), ("raise", 1)],
)
def test_every_span_arrives_and_the_exit_is_the_programs(tmp_path, server, receiver, how, code):
    env = _env(tmp_path, server, OTEL_EXPORTER_OTLP_ENDPOINT=receiver.url)
    done = _run(tmp_path, env, APP, how)
    assert done.returncode == code, done.stderr
    if how == "raise":
        assert done.stderr.rstrip().endswith("LookupError: the application's own failure")
        assert "Traceback (most recent call last)" in done.stderr
    # where the spans go, said once on stderr (the program's stdout is its own)
    said = [line for line in done.stderr.splitlines() if line.startswith("arktrace run")]
    assert said == [
        f"arktrace run: exporting to otlp [detected from the environment], via a new TracerProvider: "
        f"otlp ({receiver.url}/v1/traces; no metrics)"
    ]
    assert "arktrace" not in done.stdout
    spans = receiver.spans()
    assert _contents(receiver) == ["call 0", "call 1"]
    assert {s.attributes["gen_ai.response.model"] for s in spans} == {RESOLVED}
    assert {s.resource["service.name"] for s in spans} == {"run-test"}
    assert {s.scope for s in spans} == {"arktrace"}


def test_the_console_script_and_dotenv(tmp_path, server, receiver):
    launcher = Path(sys.executable).with_name("arktrace")
    assert launcher.exists(), "pyproject.toml's [project.scripts] entry is not installed"
    # the settings come from .env in the program's working directory, as init() reads them
    (tmp_path / ".env").write_text(
        f"OTEL_EXPORTER_OTLP_ENDPOINT={receiver.url}\nARKTRACE_CAPTURE_CONTENT=false\n"
    )
    done = _run(
        tmp_path, _env(tmp_path, server, APP_CALLS="1"), APP, "normal", launcher=[str(launcher), "run"]
    )
    assert done.returncode == 0, done.stderr
    (span,) = receiver.spans()
    assert span.name == f"chat {ENDPOINT}"
    assert "llm.input_messages.0.message.content" not in span.attributes


def test_prefork_workers_export_their_own_spans(tmp_path, server, receiver):
    env = _env(tmp_path, server, OTEL_EXPORTER_OTLP_ENDPOINT=receiver.url, OTEL_BSP_SCHEDULE_DELAY="50")
    done = _run(tmp_path, env, PREFORK_APP)
    assert done.returncode == 0, done.stderr
    expected = ["parent after workers", "parent before fork"]
    expected += [f"worker {w} call {c}" for w in range(3) for c in range(2)]
    # each span exactly once: none lost in a worker, none exported twice by parent and child
    assert _contents(receiver) == sorted(expected)
    assert len({s.span_id for s in receiver.spans()}) == len(expected)
    # and no worker wrote on the connection it inherited from the parent
    by_content = {}
    for request in receiver.trace_requests():
        for span in _iter_spans([request]):
            by_content[span.attributes["llm.input_messages.0.message.content"]] = request.client
    parent = by_content["parent before fork"]
    assert all(by_content[f"worker {w} call {c}"] != parent for w in range(3) for c in range(2))


def test_a_config_error_stops_the_program_with_one_line(tmp_path, server):
    env = _env(tmp_path, server, ARKTRACE_MAX_VALUE_LENGTH="abc")
    done = _run(tmp_path, env, APP, "normal")
    assert done.returncode == 78
    assert done.stderr == (
        "arktrace run: ARKTRACE_MAX_VALUE_LENGTH='abc' is not usable: expected a whole number >= 64\n"
    )
    assert not (tmp_path / "ran").exists()
    assert server.requests == []


def test_a_backend_config_error_names_the_variable(tmp_path, server):
    done = _run(tmp_path, _env(tmp_path, server, ARKTRACE_BACKENDS="langfuse"), APP, "normal")
    assert done.returncode == 78
    assert done.stderr.startswith("arktrace run: LANGFUSE_PUBLIC_KEY is not set;")
    assert done.stderr.count("\n") == 1


def test_an_existing_sitecustomize_still_runs(tmp_path, server, receiver):
    theirs = tmp_path / "site-theirs"
    theirs.mkdir()
    (theirs / "sitecustomize.py").write_text("import os\nos.environ['APP_CALLS'] = '1'\n")
    env = _env(tmp_path, server, OTEL_EXPORTER_OTLP_ENDPOINT=receiver.url)
    env["PYTHONPATH"] = os.pathsep.join([str(theirs), SRC])
    done = _run(tmp_path, env, APP + "\nimport sitecustomize; print(sitecustomize.__file__)\n", "normal")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(theirs / "sitecustomize.py")
    assert _contents(receiver) == ["call 0"]


def test_a_missing_program_and_a_missing_program_name(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "arktrace", "run", "--", "arktrace-no-such-program"],
        env={**os.environ, "PYTHONPATH": SRC},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (done.returncode, done.stderr) == (
        127,
        "arktrace run: cannot run 'arktrace-no-such-program': No such file or directory\n",
    )
    done = subprocess.run(
        [sys.executable, "-m", "arktrace", "run"],
        env={**os.environ, "PYTHONPATH": SRC},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "the program to run is missing" in done.stderr


def test_help_lists_every_setting_from_the_registry():
    done = subprocess.run(
        [sys.executable, "-m", "arktrace", "run", "--help"],
        env={**os.environ, "PYTHONPATH": SRC},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    for option in OPTIONS:
        heading = " or ".join(reversed(option.env)) if option.env else "(no variable)"
        if option.keyword:
            heading += f"  [{option.keyword}=]"
        at = lines.index("  " + heading)
        assert lines[at + 1].startswith(f"      default {option.default}.")
    for name, (default, _meaning) in BACKEND_VARIABLES.items():
        at = lines.index("  " + name)
        assert f"default {default}." in lines[at + 1]


MULTIPROCESSING_APP = """
import multiprocessing, os, sys
import openai

def work(w):
    client = openai.OpenAI(api_key="k", base_url=os.environ["APP_BASE_URL"], max_retries=0)
    question = [{"role": "user", "content": f"process {w}"}]
    client.chat.completions.create(model=os.environ["APP_MODEL"], messages=question)

if __name__ == "__main__":
    context = multiprocessing.get_context(sys.argv[1])
    workers = [context.Process(target=work, args=(w,)) for w in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    sys.exit(sum(worker.exitcode for worker in workers))
"""


@pytest.mark.parametrize("start_method", ["fork", "spawn"])
def test_multiprocessing_workers_export_their_spans(tmp_path, server, receiver, start_method):
    # forked workers end with os._exit() (no atexit); spawned ones are new interpreters that start traced
    env = _env(tmp_path, server, OTEL_EXPORTER_OTLP_ENDPOINT=receiver.url)
    done = _run(tmp_path, env, MULTIPROCESSING_APP, start_method)
    assert done.returncode == 0, done.stderr
    assert _contents(receiver) == ["process 0", "process 1"]
    # said by the program's first process only, not again by each spawned worker
    assert done.stderr.count("arktrace run: exporting to otlp") == 1, done.stderr


def test_an_unknown_arktrace_variable_stops_the_program_naming_the_closest(tmp_path, server):
    done = _run(tmp_path, _env(tmp_path, server, ARKTRACE_BACKEND="console"), APP, "normal")
    assert done.returncode == 78
    assert done.stderr == (
        "arktrace run: ARKTRACE_BACKEND is not a variable arktrace reads (did you mean ARKTRACE_BACKENDS?); "
        "fix or unset it\n"
    )
    assert not (tmp_path / "ran").exists()
    assert server.requests == []
