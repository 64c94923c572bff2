"""Arize Phoenix: OTLP/HTTP traces, a project header; no metrics. And ``arktrace prices register phoenix``.

Phoenix ignores the cost attributes of a span (``llm.cost.*``). It prices a span when it ingests it,
from its own model table (``phoenix/server/cost_tracking/cost_model_lookup.py``): the model whose
``name_pattern`` matches ``llm.model_name`` (models users added before built-in ones, the most
specific pattern first), at a price per token type, ``input`` and ``output`` plus the types in
``llm.token_count.prompt_details`` / ``completion_details`` (``cache_read``; ``reasoning`` falls back
to the output price), see ``cost_details_calculator.py``. The table has no ModelArk model, so
``arktrace prices register phoenix`` adds one per price-table entry through Phoenix's GraphQL API
(``createModel`` / ``updateModel``): pattern ``^<prefix>`` like arktrace's own longest-prefix look-up.
Spans ingested before that stay unpriced, and Phoenix reloads its table every 5 s.

Registering is a command, not something ``init()`` does: ``init()`` does no network I/O (MLflow's
experiment name aside), and prices change once in months, not per process.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Mapping
from typing import Any, TextIO

from arktrace._errors import ConfigError
from arktrace._prices import PriceTable, load_prices

from ._common import BackendConfig, Preset, get, header_value, http_url, join

DEFAULT_URL = "http://localhost:6006"


def build(env: Mapping[str, str]) -> BackendConfig:
    raw_url = get(env, "PHOENIX_COLLECTOR_ENDPOINT") or DEFAULT_URL
    base = http_url("PHOENIX_COLLECTOR_ENDPOINT", raw_url, DEFAULT_URL)
    if base.path.endswith("/v1/traces"):
        base = base._replace(path=base.path[: -len("/v1/traces")])
    headers: dict[str, str] = {}
    api_key = get(env, "PHOENIX_API_KEY")
    if api_key is not None:
        headers["authorization"] = f"Bearer {header_value('PHOENIX_API_KEY', api_key, secret=True)}"
    project = get(env, "PHOENIX_PROJECT_NAME")
    if project is not None:
        headers["x-project-name"] = header_value("PHOENIX_PROJECT_NAME", project)
    return BackendConfig(
        name="phoenix",
        traces_endpoint=join(base, "/v1/traces"),
        headers=headers,
        auth_vars=("PHOENIX_API_KEY",),
        location_vars=("PHOENIX_COLLECTOR_ENDPOINT",),
    )


PRESET = Preset(
    name="phoenix",
    prefix="PHOENIX_",
    title="Arize Phoenix",
    variables={
        "PHOENIX_COLLECTOR_ENDPOINT": ("http://localhost:6006", "Phoenix base URL."),
        "PHOENIX_API_KEY": ("unset", "API key of a Phoenix with authentication."),
        "PHOENIX_PROJECT_NAME": ("default", "Project that receives the traces."),
    },
    detect_vars=("PHOENIX_COLLECTOR_ENDPOINT", "PHOENIX_API_KEY"),
    metrics=False,
    build=build,
    public_headers={"x-project-name": "project"},
    aliases=("arize", "arize-phoenix"),
)


# ------------------------------------------------------------------------------------ model prices

_LIST = "query { generativeModels(first: 1000) { edges { node { id name kind } } } }"
_CREATE = "mutation($input: CreateModelMutationInput!) { createModel(input: $input) { model { id name } } }"
_UPDATE = "mutation($input: UpdateModelMutationInput!) { updateModel(input: $input) { model { id name } } }"


class PhoenixError(Exception):
    """Phoenix refused a request or could not be reached; the message says which and why."""


def phoenix_models(table: PriceTable) -> list[dict[str, Any]]:
    """One ``createModel`` input per model of the price table.

    Phoenix has no price by prompt length: a model with tiers gets its first (shortest-prompt) tier.
    """
    found = []
    for prefix, tiers in sorted(table.models.items()):
        tier = tiers[0]
        costs = [
            {"tokenType": "input", "costPerMillionTokens": tier.input, "kind": "PROMPT"},
            {"tokenType": "output", "costPerMillionTokens": tier.output, "kind": "COMPLETION"},
            {"tokenType": "cache_read", "costPerMillionTokens": tier.cache_hit, "kind": "PROMPT"},
        ]
        found.append({"name": prefix, "namePattern": "^" + re.escape(prefix), "costs": costs})
    return found


class _Phoenix:
    def __init__(self, base_url: str, headers: Mapping[str, str], timeout: float) -> None:
        self.url = base_url.rstrip("/") + "/graphql"
        self.headers = {"content-type": "application/json", "accept": "application/json", **headers}
        self.timeout = timeout

    def query(self, query: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        import urllib.error  # here: init() imports this module for the preset, and needs neither
        import urllib.request

        body = json.dumps({"query": query, "variables": dict(variables or {})}).encode()
        request = urllib.request.Request(self.url, data=body, headers=self.headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                payload = json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            raise PhoenixError(f"HTTP {error.code} from {self.url}") from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise PhoenixError(f"cannot reach {self.url}: {reason}") from None
        except ValueError:
            raise PhoenixError(f"{self.url} did not answer JSON: is it Phoenix?") from None
        if not isinstance(payload, dict):
            raise PhoenixError(f"{self.url} answered {payload!r}")
        errors = payload.get("errors")
        if errors:
            raise PhoenixError("; ".join(str(e.get("message", e)) for e in errors))
        return payload.get("data") or {}


def register_phoenix(
    table: PriceTable, base_url: str, headers: Mapping[str, str], timeout: float = 10.0
) -> list[tuple[str, str]]:
    """Create or update one Phoenix model per price-table model; return (name, "created"/"updated")."""
    phoenix = _Phoenix(base_url, headers, timeout)
    edges = phoenix.query(_LIST).get("generativeModels", {}).get("edges", [])
    custom = {e["node"]["name"]: e["node"]["id"] for e in edges if e["node"].get("kind") == "CUSTOM"}
    done = []
    for model in phoenix_models(table):
        model_id = custom.get(model["name"])
        if model_id is None:
            phoenix.query(_CREATE, {"input": model})
            done.append((model["name"], "created"))
        else:
            phoenix.query(_UPDATE, {"input": {"id": model_id, **model}})
            done.append((model["name"], "updated"))
    return done


def run_prices(argv: list[str], out: TextIO | None = None, err: TextIO | None = None) -> int:
    """``arktrace prices register phoenix``: exit 0 when every model is registered, 1 when Phoenix
    refused, 2 on a configuration error."""
    import argparse

    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    parser = argparse.ArgumentParser(
        prog="arktrace prices",
        description="Put arktrace's price table (built-in, ARKTRACE_PRICES_FILE) into a backend's own "
        "model prices, for backends that price spans themselves.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    register = commands.add_parser(
        "register",
        help="create or update one model per priced model in the backend",
        description="Phoenix: one model per price-table entry, matched on llm.model_name, with input, "
        "output and cache-read prices; PHOENIX_COLLECTOR_ENDPOINT and PHOENIX_API_KEY as for export.",
    )
    register.add_argument("backend", choices=["phoenix"])
    register.add_argument("--timeout", type=float, default=10.0, help="seconds per request (default 10)")
    register.add_argument("--no-dotenv", action="store_true", help="do not read .env first")
    args = parser.parse_args(argv)

    if not args.no_dotenv:
        from dotenv import find_dotenv, load_dotenv

        path = find_dotenv(usecwd=True)
        if path:
            load_dotenv(path, override=False)
    try:
        table = load_prices()
        config = build(os.environ)
    except ConfigError as error:
        print(f"arktrace prices: {error}", file=err)
        return 2
    base_url = (config.traces_endpoint or "")[: -len("/v1/traces")]
    try:
        done = register_phoenix(table, base_url, config.headers, args.timeout)
    except PhoenixError as error:
        print(f"arktrace prices: Phoenix at {base_url}: {error}", file=err)
        return 1
    for name, what in done:
        print(f"{name:<20} {what}", file=out)
    print(
        f"arktrace prices: {len(done)} model(s) registered in Phoenix at {base_url} ({table.label}); "
        "spans ingested from now on are priced",
        file=out,
    )
    return 0
