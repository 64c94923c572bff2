"""The price table's per-image entries (Seedream) and the video models priced per token (Seedance)."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from arktrace import ConfigError
from arktrace._prices import load_prices


def test_seedream_is_priced_per_image():
    table = load_prices(env={})
    assert table.image_cost("seedream-4-5-251128", "ep-20250101120000-image", 3) == pytest.approx(0.12)
    assert table.image_cost("seedream-4-0-250828", None, 1) == pytest.approx(0.03)
    # not per token: a token-priced call of it gets no cost, and a chat model no image cost
    assert table.cost("seedream-4-5-251128", None, 10, 10, 0) is None
    assert table.image_cost("seed-1-8-251228", None, 1) is None
    assert table.image_cost("seedream-4-5-251128", None, None) is None


def test_seedance_is_priced_per_output_token():
    table = load_prices(env={})
    # a 5 s 720p 16:9 video: 1280 x 720 x 24 x 5 / 1024 tokens, all output
    assert table.cost("seedance-1-0-pro-250528", None, 0, 108000, 0) == pytest.approx((0.0, 0.27))
    assert table.cost("seedance-1-5-pro-251215", None, 0, 1_000_000, 0) == pytest.approx((0.0, 2.40))
    assert table.image_cost("seedance-1-0-pro-250528", None, 1) is None


def test_every_new_entry_names_its_source_and_date():
    raw = json.loads(resources.files("arktrace").joinpath("data/prices.json").read_text(encoding="utf-8"))
    for prefix, entry in raw["models"].items():
        if prefix.startswith(("seedream", "seedance")):
            first = entry[0] if isinstance(entry, list) else entry
            assert first["source"] and first["as_of"] == "2026-12", prefix


def test_per_image_overrides_and_endpoints(tmp_path):
    path = tmp_path / "prices.json"
    path.write_text(
        json.dumps({"models": {"seedream-4-5": {"per_image": 0.05}}, "endpoints": {"ep-pic": "seedream-4-0"}})
    )
    table = load_prices(
        {"seed-1-8": {"per_image": 1.0}, "seedream-4-0": {"input": 1, "output": 2}},
        env={"ARKTRACE_PRICES_FILE": str(path)},
    )
    assert table.image_cost("seedream-4-5-251128", None, 2) == pytest.approx(0.10)
    # an entry of the other kind replaces the built-in one
    assert table.image_cost("seed-1-8-251228", None, 1) == 1.0 and "seed-1-8" not in table.models
    assert table.image_cost(None, "ep-pic", 1) is None and table.tiers_for(None, "ep-pic")[0].output == 2


def test_existing_format_loads_as_before():
    table = load_prices(env={})
    (tier,) = table.models["seed-1-8"]
    assert (tier.input, tier.cache_hit, tier.output) == (0.25, 0.05, 2.00)
    assert set(table.images) == {"seedream-4-5", "seedream-4-0"}


@pytest.mark.parametrize("bad", [{"per_image": "free"}, {"per_image": -1}, {"per_image": None}])
def test_a_bad_per_image_price_is_a_clear_error(bad):
    with pytest.raises(ConfigError, match="per_image"):
        load_prices({"my-image-model": bad}, env={})
