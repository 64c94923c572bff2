"""The settings registry (`arktrace._reference`) is held to the code, and the README to the registry."""

from __future__ import annotations

import importlib.util
import inspect
import json
import re
from pathlib import Path

import pytest

import arktrace
from arktrace import _setup
from arktrace._backends import PRESETS, resolve_backends
from arktrace._errors import ConfigError
from arktrace._prices import load_prices
from arktrace._reference import BACKEND_VARIABLES, OPTIONS, help_text, markdown
from arktrace._settings import Settings, load_settings
from arktrace._spool import read_settings as read_spool_settings
from harness import free_port

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = Path(arktrace.__file__).resolve().parent
PROVIDERS = {"tracer_provider", "meter_provider"}


def _shown(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _parameters(function) -> dict[str, inspect.Parameter]:
    return {
        name: p
        for name, p in inspect.signature(function).parameters.items()
        if p.kind is not inspect.Parameter.VAR_KEYWORD
    }


def test_every_keyword_of_init_and_instrument_is_described_once():
    instrument_keywords = set(_parameters(arktrace.instrument))
    # init() passes what it does not know to instrument(), except the providers, which it makes itself
    init_keywords = set(_parameters(_setup.init)) | (instrument_keywords - PROVIDERS)
    described = [o.keyword for o in OPTIONS if o.keyword is not None]
    assert len(described) == len(set(described))
    assert {o.keyword for o in OPTIONS if "instrument" in o.functions} == instrument_keywords
    assert {o.keyword for o in OPTIONS if "init" in o.functions and o.keyword} == init_keywords


def test_described_defaults_are_the_real_defaults():
    resolved = load_settings({})
    checked = set()
    for option in OPTIONS:
        if option.keyword in Settings._fields:
            assert option.default == _shown(getattr(resolved, option.keyword)), option.keyword
            checked.add(option.keyword)
        elif option.keyword in _parameters(_setup.init):
            default = _parameters(_setup.init)[option.keyword].default
            if isinstance(default, bool):
                assert option.default == _shown(default), option.keyword
                checked.add(option.keyword)
    assert checked == {*Settings._fields, "instrument", "dotenv"}


def _init_result(monkeypatch, **env: str) -> _setup.InitResult:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{free_port()}")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    try:
        return _setup.init(backends=["otlp"], dotenv=False)
    finally:
        from harness import reset_otel_globals

        reset_otel_globals()


def _prices_file(tmp_path: Path) -> str:
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"models": {"my-model": {"input": 1, "output": 2}}}))
    return str(path)


# One proof per variable named in OPTIONS that setting it changes what the code does.
PROOFS = {
    "OTEL_SERVICE_NAME": lambda mp, tmp: (
        mp.setenv("OTEL_SERVICE_NAME", "proof"),
        _setup.build_resource().attributes["service.name"] == "proof",
    )[1],
    "OTEL_RESOURCE_ATTRIBUTES": lambda mp, tmp: (
        mp.setenv("OTEL_RESOURCE_ATTRIBUTES", "service.version=9,deployment.environment.name=proof"),
        _setup.build_resource().attributes["service.version"] == "9",
    )[1],
    "ARKTRACE_BACKENDS": lambda mp, tmp: (
        [c.name for c in resolve_backends(None, {"ARKTRACE_BACKENDS": "console"})[0]] == ["console"]
    ),
    "ARKTRACE_METRICS": lambda mp, tmp: (
        _init_result(mp).metrics is True and _init_result(mp, ARKTRACE_METRICS="false").metrics is False
    ),
    "OTEL_SDK_DISABLED": lambda mp, tmp: _init_result(mp, OTEL_SDK_DISABLED="true").backends == (),
    "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": lambda mp, tmp: (
        load_settings({"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "false"}).capture_content
        is False
    ),
    "ARKTRACE_CAPTURE_CONTENT": lambda mp, tmp: (
        load_settings({"ARKTRACE_CAPTURE_CONTENT": "false"}).capture_content is False
    ),
    "ARKTRACE_MAX_VALUE_LENGTH": lambda mp, tmp: (
        load_settings({"ARKTRACE_MAX_VALUE_LENGTH": "100"}).max_value_length == 100
    ),
    "ARKTRACE_STREAM_USAGE": lambda mp, tmp: (
        load_settings({"ARKTRACE_STREAM_USAGE": "never"}).stream_usage == "never"
    ),
    "ARKTRACE_MAX_MESSAGE_ATTRIBUTES": lambda mp, tmp: (
        load_settings({"ARKTRACE_MAX_MESSAGE_ATTRIBUTES": "3"}).max_message_attributes == 3
    ),
    "ARKTRACE_SPOOL_DIR": lambda mp, tmp: (
        _init_result(mp, ARKTRACE_SPOOL_DIR=str(tmp / "spool")).backends == ("otlp",)
        and (tmp / "spool").is_dir()
    ),
    "ARKTRACE_SPOOL_MAX_MB": lambda mp, tmp: (
        read_spool_settings({"ARKTRACE_SPOOL_DIR": "s", "ARKTRACE_SPOOL_MAX_MB": "2"}).max_bytes == 2 << 20
    ),
    "ARKTRACE_PRICES_FILE": lambda mp, tmp: (
        "my-model" in load_prices(env={"ARKTRACE_PRICES_FILE": _prices_file(tmp)}).models
    ),
}


def test_every_described_variable_has_a_proof():
    assert {name for o in OPTIONS for name in o.env} == set(PROOFS)


@pytest.mark.parametrize("name", sorted(PROOFS))
def test_a_described_variable_changes_what_the_code_does(name, clean_env, monkeypatch, tmp_path):
    assert PROOFS[name](monkeypatch, tmp_path)


def test_the_new_message_budget_variable_is_validated():
    with pytest.raises(ConfigError, match="ARKTRACE_MAX_MESSAGE_ATTRIBUTES='many'"):
        load_settings({"ARKTRACE_MAX_MESSAGE_ATTRIBUTES": "many"})
    assert (
        load_settings(
            {"ARKTRACE_MAX_MESSAGE_ATTRIBUTES": "3"}, max_message_attributes=5
        ).max_message_attributes
        == 5
    )


def test_every_backend_variable_is_described():
    read = {name for preset in PRESETS.values() for name in preset.env_vars}
    assert set(BACKEND_VARIABLES) == read


def test_no_variable_in_the_code_is_left_out():
    described = {name for o in OPTIONS for name in o.env} | set(BACKEND_VARIABLES)
    pattern = re.compile(r"""["']((?:ARKTRACE|OTEL|OPENOBSERVE|LANGFUSE|MLFLOW|PHOENIX)_[A-Z0-9_]+)["']""")
    found = {}
    for path in PACKAGE.rglob("*.py"):
        if path.name != "_reference.py":
            for name in pattern.findall(path.read_text(encoding="utf-8")):
                found.setdefault(name, path.name)
    missing = {name: where for name, where in found.items() if name not in described}
    assert missing == {}


def _generator():
    spec = importlib.util.spec_from_file_location(
        "gen_settings_reference", ROOT / "scripts/gen_settings_reference.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_readme_reference_is_what_the_script_writes():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    generator = _generator()
    assert generator.rewrite(readme) == readme, "run: python scripts/gen_settings_reference.py"
    assert generator.main(["--check"]) == 0
    section = readme[readme.index(generator.BEGIN) : readme.index(generator.END)]
    assert section.endswith(markdown())
    for option in OPTIONS:
        assert all(f"`{name}`" in section for name in option.env)
        if option.keyword:
            assert f"`{option.keyword}`" in section


def test_the_script_notices_a_stale_readme():
    generator = _generator()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    stale = readme.replace(
        "| `ARKTRACE_MAX_VALUE_LENGTH` | `32000` |", "| `ARKTRACE_MAX_VALUE_LENGTH` | `1` |"
    )
    assert stale != readme
    assert generator.rewrite(stale) == readme


def test_help_text_names_every_variable_and_keyword():
    text = help_text()
    for option in OPTIONS:
        assert all(name in text for name in option.env)
        if option.keyword:
            assert f"[{option.keyword}=]" in text
    assert all(name in text for name in BACKEND_VARIABLES)
