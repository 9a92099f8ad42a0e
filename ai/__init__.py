"""Drafting posts: Claude when an API key is configured, a deterministic offline drafter otherwise.

Public surface (everything else is an implementation detail)::

    make_drafter(api_key, model, base_url=None) -> Drafter
    AnthropicDrafter                            (ai.anthropic_drafter; imports the SDK, so it
                                                 is loaded only when a key is set)
    Drafter protocol: draft(DraftRequest) -> Draft, check() -> str, aclose()
    BrandVoice, DraftRequest, Draft             (ai.models)
    AIError and its subclasses                  (ai.errors)

No aiogram here: handlers pass plain data in and get validated models back.

Layering: imports `publishers` (text rules) and `storage` (`ai.service`); never
aiogram (tests/test_layering.py).
"""

from __future__ import annotations

from pydantic import SecretStr

from ai.drafter import Drafter
from ai.errors import (
    AIAuthError,
    AIBadAnswer,
    AIError,
    AIOverloaded,
    AIRateLimited,
    AIRequestRejected,
    AITimeout,
    AIUnavailable,
)
from ai.models import BrandVoice, Draft, DraftRequest, text_length
from ai.offline import OfflineDrafter

__all__ = [
    "AIAuthError",
    "AIBadAnswer",
    "AIError",
    "AIOverloaded",
    "AIRateLimited",
    "AIRequestRejected",
    "AITimeout",
    "AIUnavailable",
    "BrandVoice",
    "Draft",
    "DraftRequest",
    "Drafter",
    "OfflineDrafter",
    "make_drafter",
    "text_length",
]


def make_drafter(
    api_key: str | SecretStr | None,
    model: str,
    base_url: str | None = None,
    *,
    timeout: float = 60.0,
    max_retries: int = 2,
) -> Drafter:
    """Claude when ``api_key`` is non-blank, else the offline drafter (which needs no network).

    ``base_url=None`` leaves the SDK to honour ``ANTHROPIC_BASE_URL``. Close the result with
    ``await drafter.aclose()`` on shutdown.
    """
    key = api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key
    key = (key or "").strip()
    if not key:
        return OfflineDrafter()
    # The SDK is imported only when a key asks for Claude: it weighs tens of MB.
    from ai.anthropic_drafter import AnthropicDrafter

    return AnthropicDrafter(key, model, base_url=base_url, timeout=timeout, max_retries=max_retries)
