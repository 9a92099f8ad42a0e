"""The platforms with media support built from the registry satisfy the extended Publisher
protocol (X, Bluesky, Mastodon, VK and LinkedIn are covered where they are made to conform)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from publishers.base import MediaLimits, Publisher
from publishers.media import FileMediaHost
from publishers.registry import PLATFORMS, Context, build_publisher
from publishers.telegram_limits import TelegramLimits

OWNED = ("telegram", "discord", "threads", "instagram")
CREDENTIALS = {
    "telegram": {},
    "discord": {"webhook_url": "https://discord.com/api/webhooks/123/abc"},
    "threads": {"user_id": "456", "access_token": "t"},
    "instagram": {"user_id": "789", "access_token": "t"},
}


@pytest.mark.parametrize("key", OWNED)
async def test_publisher_conforms_with_media_limits(key: str, tmp_path: Path) -> None:
    assert key in PLATFORMS
    async with httpx.AsyncClient() as http:
        host = FileMediaHost(tmp_path, None)
        ctx = Context(http, "123:token", "http://127.0.0.1:1", TelegramLimits(), host)
        publisher = build_publisher(ctx, key, "@handle", CREDENTIALS[key])
        assert isinstance(publisher, Publisher)
        limits = publisher.media_limits
        assert isinstance(limits, MediaLimits)
        assert limits.max_count >= 1 and limits.max_bytes > 0 and limits.max_side > 0
        assert "image/jpeg" in limits.formats  # fit() can always produce a JPEG
        too_many = publisher.validate("hello", media_count=limits.max_count + 1)
        assert any(f"at most {limits.max_count} images" in p for p in too_many)
        assert publisher.validate("hello", media_count=1) == []
        assert bool(publisher.validate("hello", media_count=0)) == limits.required
