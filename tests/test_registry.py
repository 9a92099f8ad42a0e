"""The platform registry: every platform the owner can pick in /accounts can be built, and every
credential it asks for has a prompt in both languages."""

from __future__ import annotations

import httpx
import pytest

from publishers.base import Publisher
from publishers.registry import PLATFORMS, Context, build_publisher
from publishers.telegram_limits import TelegramLimits
from ui.texts import Texts, languages

SAMPLE = {
    "instance": "https://mastodon.example",
    "webhook_url": "https://discord.com/api/webhooks/123/abc",
    "group_id": "123",
    "user_id": "456",
    "author_urn": "urn:li:organization:789",
    "service": "https://pds.example",
}


@pytest.mark.parametrize("key", sorted(PLATFORMS))
async def test_every_platform_builds_a_publisher(key: str) -> None:
    platform = PLATFORMS[key]
    credentials = {f.name: SAMPLE.get(f.name, f"{f.name}-value") for f in platform.fields}
    async with httpx.AsyncClient() as http:
        ctx = Context(http, "123:token", "http://127.0.0.1:1", TelegramLimits())
        publisher = build_publisher(ctx, key, "@handle", credentials)
        assert isinstance(publisher, Publisher)
        assert publisher.platform == key
        assert all(str(v) not in repr(publisher) for f, v in credentials.items() if "token" in f)


@pytest.mark.parametrize("language", languages())
def test_every_credential_has_a_prompt(language: str) -> None:
    t = Texts(language)
    for platform in PLATFORMS.values():
        for field in platform.fields:
            specific = f"acc.field.{platform.key}.{field.name}"
            assert t.has(specific) or t.has(f"acc.field.{field.name}"), (platform.key, field)


def test_unknown_platform_is_refused() -> None:
    with pytest.raises(LookupError):
        build_publisher(None, "myspace", "@x", {})  # type: ignore[arg-type]
