"""MLflow (>= 3.6 tracking server): OTLP/HTTP traces into an experiment; no metrics.

The experiment is chosen by a header carrying its id; ``MLFLOW_EXPERIMENT_NAME`` is turned into that id
over MLflow's REST API when ``init()`` runs (the one network call ``init()`` makes, :func:`prepare`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from arktrace._errors import ConfigError
from arktrace._redact import display_url

from ._common import BackendConfig, Preset, basic, get, header_value, http_url, join

logger = logging.getLogger("arktrace")

RESOLVE_TIMEOUT = 5.0
EXPERIMENT_HEADER = "x-mlflow-experiment-id"


def build(env: Mapping[str, str]) -> BackendConfig:
    raw_uri = get(env, "MLFLOW_TRACKING_URI")
    if raw_uri is None:
        raise ConfigError(
            "MLFLOW_TRACKING_URI", None, "the tracking server's URL, e.g. http://localhost:5000"
        )
    try:
        scheme = urlsplit(raw_uri).scheme.lower()
    except ValueError:
        scheme = ""
    if scheme not in ("http", "https"):
        raise ConfigError(
            "MLFLOW_TRACKING_URI",
            repr(display_url(raw_uri)),
            "an http:// or https:// MLflow tracking server (>= 3.6) such as http://localhost:5000; "
            "file:, sqlite: and databricks URIs cannot receive OTLP (choose backends with ARKTRACE_BACKENDS)",
        )
    base = http_url("MLFLOW_TRACKING_URI", raw_uri, "http://localhost:5000")
    tracking_uri = urlunsplit(base)
    headers: dict[str, str] = {}
    auth_vars: tuple[str, ...] = ()
    token = get(env, "MLFLOW_TRACKING_TOKEN")
    user = get(env, "MLFLOW_TRACKING_USERNAME")
    password = get(env, "MLFLOW_TRACKING_PASSWORD")
    if token is not None:
        headers["authorization"] = f"Bearer {header_value('MLFLOW_TRACKING_TOKEN', token, secret=True)}"
        auth_vars = ("MLFLOW_TRACKING_TOKEN",)
    elif user is not None or password is not None:
        if user is None or password is None:
            missing = "MLFLOW_TRACKING_USERNAME" if user is None else "MLFLOW_TRACKING_PASSWORD"
            raise ConfigError(
                missing, None, "both MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD, or neither"
            )
        headers["authorization"] = basic(user, password)
        auth_vars = ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD")
    experiment_id = get(env, "MLFLOW_EXPERIMENT_ID")
    experiment_name = get(env, "MLFLOW_EXPERIMENT_NAME")
    notes: tuple[str, ...] = ()
    if experiment_id is not None:
        if any(ch.isspace() or ch == "/" for ch in experiment_id) or not experiment_id.isascii():
            raise ConfigError("MLFLOW_EXPERIMENT_ID", repr(experiment_id), "an experiment id such as 1")
        headers["x-mlflow-experiment-id"] = experiment_id
        experiment_name = None
    elif experiment_name is None:
        headers["x-mlflow-experiment-id"] = "0"
        notes = ("experiment 0 (Default); set MLFLOW_EXPERIMENT_NAME or MLFLOW_EXPERIMENT_ID to choose",)
    return BackendConfig(
        name="mlflow",
        traces_endpoint=join(base, "/v1/traces"),
        headers=headers,
        api_url=tracking_uri,
        pending={} if experiment_name is None else {"experiment name": experiment_name},
        auth_vars=auth_vars,
        location_vars=("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME"),
        notes=notes,
    )


def _mlflow_request(
    url: str, headers: Mapping[str, str], body: dict[str, Any] | None, timeout: float
) -> tuple[int, dict[str, Any]]:
    import urllib.error
    import urllib.request

    data = None if body is None else json.dumps(body).encode()
    request_headers = {"accept": "application/json", **headers}
    if data is not None:
        request_headers["content-type"] = "application/json"
    request = urllib.request.Request(
        url, data=data, headers=request_headers, method="GET" if data is None else "POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    try:
        payload = json.loads(raw or b"{}")
    except ValueError:
        payload = {}
    return status, payload if isinstance(payload, dict) else {}


def resolve_mlflow_experiment(config: BackendConfig, timeout: float = RESOLVE_TIMEOUT) -> BackendConfig:
    """Turn ``MLFLOW_EXPERIMENT_NAME`` into an experiment id, creating the experiment if it is missing.

    Uses ``GET /api/2.0/mlflow/experiments/get-by-name`` and ``POST /api/2.0/mlflow/experiments/create``.
    Raises :class:`ConfigError` naming ``MLFLOW_EXPERIMENT_NAME`` when the server cannot be reached or
    refuses; returns ``config`` unchanged when there is no name to resolve.
    """
    name = config.pending.get("experiment name")
    if name is None or config.api_url is None:
        return config
    import urllib.error  # imported here: only this look-up needs it, `import arktrace` stays light
    import urllib.parse

    base = config.api_url.rstrip("/")
    auth = {k: v for k, v in config.headers.items() if k == "authorization"}
    where = display_url(config.api_url)

    def fail(reason: str) -> ConfigError:
        return ConfigError(
            "MLFLOW_EXPERIMENT_NAME",
            repr(name),
            f"an experiment the MLflow server at {where} can find or create ({reason}); "
            "or set MLFLOW_EXPERIMENT_ID instead",
        )

    get_url = f"{base}/api/2.0/mlflow/experiments/get-by-name?" + urllib.parse.urlencode(
        {"experiment_name": name}
    )
    try:
        for attempt in range(2):
            status, payload = _mlflow_request(get_url, auth, None, timeout)
            if status == 200:
                experiment = payload.get("experiment") or {}
                if experiment.get("lifecycle_stage") == "deleted":
                    raise fail("the experiment is deleted: restore it or choose another name")
                experiment_id = experiment.get("experiment_id")
                if not experiment_id:
                    raise fail("the server's answer has no experiment_id")
                return config.prepared(**{EXPERIMENT_HEADER: str(experiment_id)})
            if status in (401, 403):
                raise fail(
                    f"HTTP {status}: credentials rejected, check MLFLOW_TRACKING_TOKEN or USERNAME/PASSWORD"
                )
            if status != 404:
                raise fail(f"HTTP {status} from experiments/get-by-name")
            status, payload = _mlflow_request(
                f"{base}/api/2.0/mlflow/experiments/create", auth, {"name": name}, timeout
            )
            if status == 200 and payload.get("experiment_id"):
                logger.info("arktrace: created MLflow experiment %r (id %s)", name, payload["experiment_id"])
                return config.prepared(**{EXPERIMENT_HEADER: str(payload["experiment_id"])})
            if status == 400 and payload.get("error_code") == "RESOURCE_ALREADY_EXISTS" and attempt == 0:
                continue  # created concurrently by another process: look it up again
            raise fail(f"HTTP {status} from experiments/create")
    except ConfigError:
        raise
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        config_error = fail(f"cannot reach it: {reason}")
        # read by `arktrace check`, to explain the failure like one of its own requests
        config_error.network_error = error  # type: ignore[attr-defined]
        config_error.url = config.api_url  # type: ignore[attr-defined]
        raise config_error from None
    raise fail("the experiment could not be created")


def prepare(config: BackendConfig, timeout: float) -> BackendConfig:
    return resolve_mlflow_experiment(config, timeout=min(timeout, RESOLVE_TIMEOUT))


PRESET = Preset(
    name="mlflow",
    prefix="MLFLOW_",
    title="MLflow",
    variables={
        "MLFLOW_TRACKING_URI": ("unset", "Tracking server (http or https, MLflow >= 3.6)."),
        "MLFLOW_EXPERIMENT_ID": ("0", "Experiment that receives the traces."),
        "MLFLOW_EXPERIMENT_NAME": ("unset", "Experiment by name, looked up or created when `init()` runs."),
        "MLFLOW_TRACKING_TOKEN": ("unset", "Bearer token of a server with authentication."),
        "MLFLOW_TRACKING_USERNAME": ("unset", "User of a server with basic authentication."),
        "MLFLOW_TRACKING_PASSWORD": ("unset", "Password of a server with basic authentication."),
    },
    detect_vars=("MLFLOW_TRACKING_URI",),
    metrics=False,
    build=build,
    public_headers={EXPERIMENT_HEADER: "experiment"},
    prepare=prepare,
    prepare_label="MLflow experiment lookup",
    status_hints={
        404: "unknown experiment, or not an MLflow >= 3.6 server: check MLFLOW_EXPERIMENT_ID / "
        "MLFLOW_EXPERIMENT_NAME and MLFLOW_TRACKING_URI",
        422: "missing experiment header (x-mlflow-experiment-id): set MLFLOW_EXPERIMENT_ID",
    },
)
