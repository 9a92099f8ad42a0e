"""Estimated cost of an AI call, for /stats and the monthly budget alert.

Prices are US dollars per million tokens by model family, from Anthropic's public price list;
an unknown model is priced like Sonnet. The figure is an estimate for budgeting, not a bill.
"""

from __future__ import annotations

#: family → (input, output) USD per million tokens
PRICES: dict[str, tuple[float, float]] = {
    "haiku": (1.0, 5.0),
    "sonnet": (3.0, 15.0),
    "opus": (5.0, 25.0),
}
_DEFAULT = PRICES["sonnet"]


def estimate_cost(model: str, input_tokens: int, output_tokens: int) -> float:
    family = next((name for name in PRICES if name in model.lower()), None)
    price_in, price_out = PRICES[family] if family else _DEFAULT
    return (input_tokens * price_in + output_tokens * price_out) / 1_000_000
