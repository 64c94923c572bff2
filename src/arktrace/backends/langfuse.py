"""Langfuse: OTLP/HTTP traces under ``/api/public/otel``, Basic auth from the key pair; no metrics."""

from __future__ import annotations

from collections.abc import Mapping

from arktrace._errors import ConfigError, mask_secret

from ._common import BackendConfig, Preset, basic, get, http_url, join

DEFAULT_URL = "https://cloud.langfuse.com"
INGESTION_VERSION = "4"


def build(env: Mapping[str, str]) -> BackendConfig:
    public = get(env, "LANGFUSE_PUBLIC_KEY")
    secret = get(env, "LANGFUSE_SECRET_KEY")
    if public is None and secret is None:
        raise ConfigError(
            "LANGFUSE_PUBLIC_KEY",
            None,
            "the project's key pair in LANGFUSE_PUBLIC_KEY (pk-lf-…) and LANGFUSE_SECRET_KEY (sk-lf-…)",
        )
    if secret is None:
        # Only a pk-lf-… key is shown: a secret key pasted into the wrong variable must stay hidden.
        shown = repr(public) if public.startswith("pk-lf-") else repr(mask_secret(public))
        raise ConfigError(
            "LANGFUSE_SECRET_KEY",
            None,
            f"the secret half (sk-lf-…) of the key pair whose public key {shown} is in LANGFUSE_PUBLIC_KEY",
        )
    if public is None:
        raise ConfigError(
            "LANGFUSE_PUBLIC_KEY",
            None,
            "the public half (pk-lf-…) of the key pair whose secret key is in LANGFUSE_SECRET_KEY",
        )
    if public.startswith("sk-lf-") or secret.startswith("pk-lf-"):
        raise ConfigError(
            "LANGFUSE_PUBLIC_KEY",
            f"{mask_secret(public)!r} (it looks like a secret key)",
            "the pk-lf-… key in LANGFUSE_PUBLIC_KEY and the sk-lf-… key in LANGFUSE_SECRET_KEY; "
            "they look swapped",
        )
    var = "LANGFUSE_BASE_URL" if get(env, "LANGFUSE_BASE_URL") else "LANGFUSE_HOST"
    raw_url = get(env, var) or DEFAULT_URL
    base = http_url(var, raw_url, DEFAULT_URL)
    return BackendConfig(
        name="langfuse",
        traces_endpoint=join(base, "/api/public/otel/v1/traces"),
        headers={
            "authorization": basic(public, secret),
            # Real-time write path: traces show up in the UI within seconds.
            "x-langfuse-ingestion-version": INGESTION_VERSION,
        },
        auth_vars=("LANGFUSE_PUBLIC_KEY", "LANGFUSE_SECRET_KEY"),
        location_vars=(var,),
    )


PRESET = Preset(
    name="langfuse",
    prefix="LANGFUSE_",
    title="Langfuse",
    variables={
        "LANGFUSE_PUBLIC_KEY": ("unset", "Public half of the project key pair (`pk-lf-…`)."),
        "LANGFUSE_SECRET_KEY": ("unset", "Secret half of the project key pair (`sk-lf-…`)."),
        "LANGFUSE_BASE_URL": ("https://cloud.langfuse.com", "Region or self-hosted URL."),
        "LANGFUSE_HOST": ("unset", "Older name of `LANGFUSE_BASE_URL`."),
    },
    detect_vars=("LANGFUSE_PUBLIC_KEY", "LANGFUSE_SECRET_KEY"),
    metrics=False,
    build=build,
    public_headers={"x-langfuse-ingestion-version": ""},
    auth_hint=" (and that LANGFUSE_BASE_URL is the region of these keys)",
)
