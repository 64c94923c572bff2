"""Estimated call cost from measured token counts and a price table that is data, not code.

The table ships in ``data/prices.json`` (ModelArk list prices, with their source and date). Users
replace or extend it with ``instrument(prices=...)`` / ``init(prices=...)`` or a JSON file named by
``ARKTRACE_PRICES_FILE``, and map their own endpoint ids to models under ``"endpoints"``.

A model is looked up by the *response* model (what served the call: an ``ep-…`` request still
prices right), by longest matching prefix, so ``seed-1-6-flash-250715`` finds ``seed-1-6-flash``
and not ``seed-1-6``. Unknown model, or no usage: no cost at all, never 0.

A model is priced per token (``{"input": …, "output": …}``, USD per 1M tokens; Seedance video tasks
bill their ``completion_tokens`` this way) or per image (``{"per_image": …}``, USD per generated image:
Seedream). Extra keys in an entry (``source``, ``as_of``) are notes for the reader.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from importlib import resources
from typing import Any, NamedTuple

from ._errors import ConfigError

PER_TOKENS = 1_000_000


class Tier(NamedTuple):
    max_prompt_tokens: int | None
    input: float
    cache_hit: float
    output: float


class PriceTable:
    def __init__(
        self,
        models: dict[str, tuple[Tier, ...]],
        endpoints: dict[str, str],
        label: str,
        images: dict[str, float] | None = None,
    ) -> None:
        self.models = models
        self.images = images or {}
        """USD per generated image, by model prefix (models priced per image, not per token)."""
        self.endpoints = endpoints
        self.label = label
        """Where the prices come from, written on every priced span (``arktrace.cost.price_table``)."""
        self._found: dict[str, tuple[Tier, ...] | None] = {}
        self._found_images: dict[str, float | None] = {}

    def image_price(self, response_model: str | None, request_model: str | None) -> float | None:
        """USD per image of the model that served the call, or None when it is not priced per image."""
        model = response_model or self.endpoints.get(request_model or "") or request_model
        if not model:
            return None
        try:
            return self._found_images[model]
        except KeyError:
            pass
        best = _longest_prefix(model, self.images)
        price = self._found_images[model] = self.images[best] if best is not None else None
        return price

    def image_cost(
        self, response_model: str | None, request_model: str | None, images: int | None
    ) -> float | None:
        """USD for ``images`` generated images, or None when the call cannot be priced."""
        if images is None:
            return None
        price = self.image_price(response_model, request_model)
        return None if price is None else price * images

    def tiers_for(self, response_model: str | None, request_model: str | None) -> tuple[Tier, ...] | None:
        model = response_model or self.endpoints.get(request_model or "") or request_model
        if not model:
            return None
        try:
            return self._found[model]  # an app uses a handful of models: remember each look-up
        except KeyError:
            pass
        best = _longest_prefix(model, self.models)
        tiers = self._found[model] = self.models[best] if best is not None else None
        return tiers

    def cost(
        self,
        response_model: str | None,
        request_model: str | None,
        prompt: int | None,
        completion: int | None,
        cached: int | None,
    ) -> tuple[float, float] | None:
        """(prompt cost, completion cost) in USD, or None when the call cannot be priced."""
        if prompt is None or completion is None:
            return None
        tiers = self.tiers_for(response_model, request_model)
        if not tiers:
            return None
        tier = next((t for t in tiers if t.max_prompt_tokens is None or prompt <= t.max_prompt_tokens), None)
        if tier is None:
            return None  # longer prompt than any published tier: no guess
        cached = min(cached or 0, prompt)
        prompt_cost = (tier.input * (prompt - cached) + tier.cache_hit * cached) / PER_TOKENS
        return prompt_cost, tier.output * completion / PER_TOKENS


def _longest_prefix(model: str, prefixes: Mapping[str, Any]) -> str | None:
    best = None
    for prefix in prefixes:
        if model.startswith(prefix) and (best is None or len(prefix) > len(best)):
            best = prefix
    return best


def _per_image(source: str, model: str, raw: Any) -> float | None:
    """The price of a per-image entry (``{"per_image": <USD>}``); None for a per-token entry."""
    if not isinstance(raw, Mapping) or "per_image" not in raw:
        return None
    try:
        price = float(raw["per_image"])
    except (TypeError, ValueError):
        price = -1.0
    if not price >= 0:
        raise ConfigError(
            f'{source}: price of {model!r} is not usable: expected {{"per_image": <USD per image>}}'
        )
    return price


def _add(
    models: dict[str, tuple[Tier, ...]], images: dict[str, float], source: str, model: str, raw: Any
) -> None:
    """One entry of a price file, per image or per token (replacing an earlier entry of either kind)."""
    price = _per_image(source, model, raw)
    if price is not None:
        images[model] = price
        models.pop(model, None)
    else:
        models[model] = _tiers(source, model, raw)
        images.pop(model, None)


def _tiers(source: str, model: str, raw: Any) -> tuple[Tier, ...]:
    items = raw if isinstance(raw, list) else [raw]
    tiers = []
    for item in items:
        try:
            limit = item.get("max_prompt_tokens")
            tiers.append(
                Tier(
                    max_prompt_tokens=int(limit) if limit is not None else None,
                    input=float(item["input"]),
                    cache_hit=float(item.get("cache_hit", item["input"])),
                    output=float(item["output"]),
                )
            )
        except (AttributeError, KeyError, TypeError, ValueError):
            raise ConfigError(
                f"{source}: price of {model!r} is not usable: expected "
                '{"input": <USD per 1M>, "output": <USD per 1M>, "cache_hit": <optional>, '
                '"max_prompt_tokens": <optional>} or a list of those, or {"per_image": <USD per image>}'
            ) from None
    return tuple(sorted(tiers, key=lambda t: t.max_prompt_tokens or float("inf")))


def _builtin() -> dict[str, Any]:
    text = resources.files("arktrace").joinpath("data/prices.json").read_text(encoding="utf-8")
    return json.loads(text)


def load_prices(
    prices: Mapping[str, Any] | str | None = None, env: Mapping[str, str] | None = None
) -> PriceTable:
    """The built-in table, updated by a file named in ``ARKTRACE_PRICES_FILE`` and then by ``prices``.

    ``prices`` is either a mapping ``{"models": {...}, "endpoints": {...}}`` (a bare ``{model: price}``
    mapping is read as ``models``) or the path of a JSON file of that shape.
    """
    env = os.environ if env is None else env
    base = _builtin()
    models: dict[str, tuple[Tier, ...]] = {}
    images: dict[str, float] = {}
    for model, price in base["models"].items():
        _add(models, images, "built-in price table", model, price)
    endpoints = dict(base.get("endpoints", {}))
    label = f"arktrace built-in ({base.get('as_of', 'undated')})"
    overrides: list[tuple[str, Any]] = []
    path = env.get("ARKTRACE_PRICES_FILE", "").strip()
    if path:
        overrides.append((f"ARKTRACE_PRICES_FILE={path!r}", _read_file("ARKTRACE_PRICES_FILE", path)))
    if isinstance(prices, str):
        overrides.append((f"prices={prices!r}", _read_file("prices", prices)))
    elif prices is not None:
        overrides.append(("prices", prices))
    for source, data in overrides:
        if not isinstance(data, Mapping):
            raise ConfigError(f'{source}: expected a JSON object with "models" and/or "endpoints"')
        model_prices = data.get("models") if "models" in data or "endpoints" in data else data
        for model, price in (model_prices or {}).items():
            _add(models, images, source, str(model), price)
        for endpoint, model in (data.get("endpoints") or {}).items():
            endpoints[str(endpoint)] = str(model)
        label = f"{label} + {source.split('=')[0]}"
    return PriceTable(models=models, endpoints=endpoints, label=label, images=images)


def _read_file(name: str, path: str) -> Any:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except OSError as error:
        raise ConfigError(
            f"{name}={path!r} cannot be read ({error.strerror}): expected a JSON price file"
        ) from None
    except ValueError as error:
        raise ConfigError(
            f"{name}={path!r} is not valid JSON ({error}): expected a JSON price file"
        ) from None
