"""What tokens cost, from the `genai-prices` package's price table (pure: its data ships inside the
package and is read offline; the gateway never asks it to fetch newer prices).

`costs(by_model, provider, discount)` prices usage numbers per model (`translators.usage` names)
at the provider's real-time prices, then takes the batch discount off: a batch run by the
provider's batch API costs `1 - discount` of the real-time price (0.5 for OpenAI, Azure OpenAI,
Anthropic, Gemini, Vertex AI and Bedrock: each one's published figure; the package has no batch
prices). Cached input tokens are priced at the model's cache-read price where it has one. Anthropic
cache writes are not in OpenAI's usage shape, so they are priced as ordinary input.
A model the table does not know is listed in `unpriced_models` and makes the totals null: a total
that silently leaves a model out would be wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from importlib import metadata

# The gateway's provider name -> the price table's provider (None: guessed from the model name).
PRICE_PROVIDERS = {"openai": "openai", "azure": "azure", "anthropic": "anthropic", "gemini": "google",
                   "vertex": "google", "bedrock": "aws"}
# Each provider's published batch discount on its real-time prices (DEEPINTSHIELD_BATCH_DISCOUNTS overrides).
DEFAULT_DISCOUNTS = dict.fromkeys(PRICE_PROVIDERS, 0.5)
SOURCE = f"genai-prices {metadata.version('genai-prices')}"
CURRENCY = "USD"
_PLACES = Decimal("0.00000001")  # costs to a hundred-millionth of a dollar


def _money(value: Decimal) -> float:
    return float(value.quantize(_PLACES))


def model_cost(numbers: Mapping[str, int], model: str, provider: str, discount: float) -> dict:
    """One model's cost: `{model, price_model, price_provider, input_cost, output_cost, total_cost}`
    (the costs null when the price table does not know the model)."""
    entry: dict = {"model": model, "input_tokens": int(numbers["input_tokens"]),
                   "cached_tokens": int(numbers["cached_tokens"]), "output_tokens": int(numbers["output_tokens"]),
                   "price_model": None, "price_provider": None,
                   "input_cost": None, "output_cost": None, "total_cost": None}
    if not model:
        return entry
    # Imported on first use: the package and pydantic add about 25 MB to every worker that never prices.
    import genai_prices

    usage = genai_prices.Usage(input_tokens=entry["input_tokens"],
                               cache_read_tokens=min(entry["cached_tokens"], entry["input_tokens"]),
                               output_tokens=entry["output_tokens"])
    try:
        price = genai_prices.calc_price(usage, model, provider_id=PRICE_PROVIDERS.get(provider))
    except LookupError:
        return entry
    keep = Decimal(1) - Decimal(str(discount))
    input_cost, output_cost = price.input_price * keep, price.output_price * keep
    entry.update(price_model=price.model.id, price_provider=price.provider.id, input_cost=_money(input_cost),
                 output_cost=_money(output_cost), total_cost=_money(input_cost + output_cost))
    return entry


def costs(by_model: Mapping[str, Mapping[str, int]], provider: str, discount: float) -> dict:
    """Every model's cost and the totals: `{input_cost, output_cost, total_cost, models, unpriced_models}`;
    the totals are null when a model that used tokens could not be priced."""
    models = [model_cost(numbers, model, provider, discount) for model, numbers in sorted(by_model.items())]
    unpriced = [entry["model"] for entry in models
                if entry["total_cost"] is None and entry["input_tokens"] + entry["output_tokens"] > 0]
    totals: dict = {"input_cost": None, "output_cost": None, "total_cost": None}
    if not unpriced:
        for name in totals:
            totals[name] = _money(sum((Decimal(str(entry[name] or 0)) for entry in models), Decimal(0)))
    return {**totals, "models": models, "unpriced_models": unpriced}


def discount_for(provider: str, configured: Mapping[str, float], *, gateway_run: bool = False) -> float:
    """The batch discount that applies: none for a batch the gateway runs (real-time calls), else the
    configured one, else the provider's published one, else none."""
    if gateway_run:
        return 0.0
    return float(configured.get(provider, DEFAULT_DISCOUNTS.get(provider, 0.0)))
