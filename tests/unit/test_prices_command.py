"""`arktrace prices register phoenix` without a Phoenix: what the user is told, and the exit codes.

Registration itself is read back from a real Phoenix in tests/backends/test_mlflow_phoenix.py."""

from __future__ import annotations

import io

import pytest

from arktrace.__main__ import main
from arktrace._prices import load_prices
from arktrace.backends.phoenix import phoenix_models, run_prices
from harness import free_port

pytestmark = pytest.mark.usefixtures("clean_env")


def test_every_priced_model_becomes_one_phoenix_model() -> None:
    table = load_prices()
    models = {m["name"]: m for m in phoenix_models(table)}
    assert set(models) == set(table.models)
    seed = models["seed-1-8"]
    assert seed["namePattern"] == r"^seed\-1\-8"
    prices = {c["tokenType"]: (c["costPerMillionTokens"], c["kind"]) for c in seed["costs"]}
    (tier,) = table.models["seed-1-8"]
    assert prices == {
        "input": (tier.input, "PROMPT"),
        "output": (tier.output, "COMPLETION"),
        "cache_read": (tier.cache_hit, "PROMPT"),
    }


def test_phoenix_not_reachable_is_said_and_exits_1(monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("PHOENIX_COLLECTOR_ENDPOINT", url)
    out, err = io.StringIO(), io.StringIO()
    assert run_prices(["register", "phoenix", "--no-dotenv", "--timeout", "2"], out=out, err=err) == 1
    assert f"Phoenix at {url}: cannot reach {url}/graphql" in err.getvalue()
    assert out.getvalue() == ""


def test_bad_phoenix_url_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHOENIX_COLLECTOR_ENDPOINT", "localhost:6006")
    err = io.StringIO()
    assert run_prices(["register", "phoenix", "--no-dotenv"], out=io.StringIO(), err=err) == 2
    assert "PHOENIX_COLLECTOR_ENDPOINT" in err.getvalue()


def test_the_command_line_reaches_it(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["prices", "register", "--help"])
    assert exit_info.value.code == 0
    assert "phoenix" in capsys.readouterr().out
