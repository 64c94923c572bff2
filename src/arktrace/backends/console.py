"""Console: spans written to stderr, for a first look; nothing to configure, no metrics."""

from __future__ import annotations

from collections.abc import Mapping

from ._common import BackendConfig, Preset


def build(env: Mapping[str, str]) -> BackendConfig:
    return BackendConfig(name="console", traces_endpoint=None)


PRESET = Preset(
    name="console",
    title="Console (stderr)",
    variables={},
    detect_vars=(),
    metrics=False,
    build=build,
    aliases=("stderr",),
)
