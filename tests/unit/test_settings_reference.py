"""The settings registry (`arktrace._reference`) is held to the code, and docs/settings.md to the registry."""

from __future__ import annotations

import importlib.util
import inspect
import json
import re
from pathlib import Path

import pytest

import arktrace
from arktrace import _setup, instrumentor
from arktrace._errors import ConfigError
from arktrace._options import (
    BY_KEYWORD,
    NOT_MISSPELLINGS,
    keywords,
    one_of,
    parse_bool,
    parse_choice,
    parse_http_url,
    parse_int,
    parse_seconds,
    passed_on,
)
from arktrace._prices import load_prices
from arktrace._reference import BACKEND_VARIABLES, OPTIONS, help_text, markdown
from arktrace._settings import Settings, load_settings
from arktrace._spool import read_settings as read_spool_settings
from arktrace.backends import resolve_backends
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


def test_the_signatures_of_instrument_and_init_are_the_option_table():
    # Spelled out for IDE help, held to the table here: the table is the one list of options.
    assert tuple(_parameters(arktrace.instrument)) == keywords("instrument")
    assert all(p.default is None for p in _parameters(arktrace.instrument).values())
    init_keywords = (*_parameters(_setup.init), *passed_on())
    assert sorted(init_keywords) == sorted(keywords("init"))
    assert set(passed_on()) == set(keywords("instrument")) - PROVIDERS
    assert keywords("instrument") == instrumentor._OPTIONS
    for name, parameter in _parameters(_setup.init).items():
        if isinstance(parameter.default, bool):
            assert BY_KEYWORD[name].value is parameter.default, name


def test_the_option_table_is_whole():
    described = [o.keyword for o in OPTIONS if o.keyword is not None]
    assert len(described) == len(set(described))
    for option in OPTIONS:
        # Either the table resolves it, or it names the one place that does.
        assert (option.from_env or option.from_keyword) or option.read_by, option
        if option.env and option.from_env is None:
            assert option.read_by, option
        if isinstance(option.value, tuple):  # capture_content: (on spans, in events); shown by the first
            assert option.default == _shown(option.value[0]), option
            assert option.from_keyword(option.keyword, option.value[0]) == option.value
        elif option.value is not None:
            assert option.default == _shown(option.value), option
            if option.from_keyword is not None:  # the default is a value its own checker accepts
                assert option.from_keyword(option.keyword, option.value) == option.value
        assert option.resolve(None, {}) == option.value


def test_settings_are_the_instrument_options_of_the_table():
    resolved = load_settings({})
    # content_events is no option of its own: capture_content's event modes set it.
    for name in set(Settings._fields) - {"content_events"}:
        option = BY_KEYWORD[name]
        assert "instrument" in option.functions and option.from_env and option.from_keyword, name
        value = option.value[0] if name == "capture_content" else option.value
        assert Settings._field_defaults[name] == value == getattr(resolved, name), name
    assert (resolved.capture_content, resolved.content_events) == BY_KEYWORD["capture_content"].value
    with pytest.raises(ConfigError, match="did you mean capture_content"):
        load_settings({}, capture_contents=False)


@pytest.mark.parametrize(
    ("parse", "raw", "said"),
    [
        (
            lambda raw: parse_bool("ARKTRACE_X", raw),
            "maybe",
            "ARKTRACE_X='maybe' is not usable: expected true or false",
        ),
        (
            lambda raw: parse_int("ARKTRACE_X", raw, 64),
            "12",
            "ARKTRACE_X='12' is not usable: expected a whole number >= 64",
        ),
        (
            lambda raw: parse_seconds("ARKTRACE_X", raw),
            "0",
            "ARKTRACE_X is '0'; expected a positive number of seconds",
        ),
        (
            lambda raw: parse_seconds("ARKTRACE_X", raw),
            "ten",
            "ARKTRACE_X is 'ten'; expected a number of seconds",
        ),
        (
            lambda raw: parse_http_url("ARKTRACE_X", raw, "http://h:1"),
            "h:1",
            "ARKTRACE_X is 'h:1' (the scheme is missing)",
        ),
        (
            lambda raw: parse_choice("ARKTRACE_X", raw, ("auto", "always", "never")),
            "alway",
            "ARKTRACE_X='alway' is not usable: expected auto, always or never (did you mean always?)",
        ),
    ],
)
def test_one_parser_per_kind_names_the_variable_the_value_and_what_was_expected(parse, raw, said):
    with pytest.raises(ConfigError) as raised:
        parse(raw)
    assert said in str(raised.value)


def test_a_near_miss_of_a_word_is_named():
    with pytest.raises(
        ConfigError, match=r"ARKTRACE_STREAM_USAGE='alway'.*auto, always or never \(did you mean always\?\)"
    ):
        load_settings({"ARKTRACE_STREAM_USAGE": "alway"})
    from_env, from_keyword = one_of("openinference", "genai", "both")
    assert from_env("ARKTRACE_X", " GenAI ") == "genai"
    with pytest.raises(ConfigError, match=r"x='gen' is not usable.*did you mean genai\?"):
        from_keyword("x", "gen")
    with pytest.raises(ConfigError, match=r"x is 1; expected one of 'openinference', 'genai', 'both'"):
        from_keyword("x", 1)


def test_the_parsers_accept_what_they_promise():
    assert [parse_bool("X", v) for v in ("1", " TRUE ", "yes", "On", "0", "false", "NO", "off")] == [
        True
    ] * 4 + [False] * 4
    assert parse_int("X", " 64 ", 64) == 64
    assert parse_seconds("X", "2.5") == 2.5
    assert parse_http_url("X", "https://h:1/p/", "e").geturl() == "https://h:1/p"
    assert parse_choice("X", "ALWAYS", ("auto", "always")) == "always"


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
    "ARKTRACE_CONVENTIONS": lambda mp, tmp: (
        load_settings({"ARKTRACE_CONVENTIONS": "genai"}).conventions == "genai"
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


def test_no_variable_in_the_code_is_left_out():
    described = {name for o in OPTIONS for name in o.env} | set(BACKEND_VARIABLES)
    pattern = re.compile(r"""["']((?:ARKTRACE|OTEL|OPENOBSERVE|LANGFUSE|MLFLOW|PHOENIX)_[A-Z0-9_]+)["']""")
    found = {}
    for path in PACKAGE.rglob("*.py"):
        if path.name != "_reference.py":
            for name in pattern.findall(path.read_text(encoding="utf-8")):
                found.setdefault(name, path.name)
    missing = {
        name: where for name, where in found.items() if name not in described and name not in NOT_MISSPELLINGS
    }
    assert missing == {}


def _generator():
    spec = importlib.util.spec_from_file_location(
        "gen_settings_reference", ROOT / "scripts/gen_settings_reference.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_settings_reference_is_what_the_script_writes():
    readme = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    generator = _generator()
    assert generator.rewrite(readme) == readme, "run: python scripts/gen_settings_reference.py"
    assert generator.main(["--check"]) == 0
    section = readme[readme.index(generator.BEGIN) : readme.index(generator.END)]
    assert section.endswith(markdown())
    for option in OPTIONS:
        assert all(f"`{name}`" in section for name in option.env)
        if option.keyword:
            assert f"`{option.keyword}`" in section


def test_the_script_notices_a_stale_reference():
    generator = _generator()
    readme = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
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
