"""FileMediaHost: images get a stable public address, or a plain reason why they can't."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from publishers.errors import Permanent
from publishers.media import FileMediaHost, MediaHost

JPEG = b"\xff\xd8\xff\xe0" + b"picture" * 10


async def test_writes_a_content_addressed_file_and_returns_its_address(tmp_path: Path) -> None:
    host = FileMediaHost(tmp_path / "public", "https://nexus.example.com/")
    assert isinstance(host, MediaHost)
    url = await host.public_url(JPEG, "image/jpeg")
    name = hashlib.sha256(JPEG).hexdigest() + ".jpg"
    assert url == f"https://nexus.example.com/media/{name}"
    assert (tmp_path / "public" / name).read_bytes() == JPEG
    assert await host.public_url(JPEG, "image/jpeg") == url  # the same picture, stored once
    png_url = await host.public_url(b"\x89PNG\r\n\x1a\nother", "image/png")
    assert png_url.endswith(".png") and png_url != url
    assert sorted(p.name for p in (tmp_path / "public").iterdir()) == sorted(
        [name, png_url.rsplit("/", 1)[1]]
    )  # no temporary files left behind


async def test_without_a_public_url_the_reason_says_what_to_set(tmp_path: Path) -> None:
    host = FileMediaHost(tmp_path, None)
    with pytest.raises(Permanent, match="need a public address for images: set NEXUS_PUBLIC_URL"):
        await host.public_url(JPEG, "image/jpeg")
    with pytest.raises(Permanent, match="^Instagram needs a public address"):
        await host.for_platform("Instagram").public_url(JPEG, "image/jpeg")
    assert list(tmp_path.iterdir()) == []
