"""Attachments as publishers take them: raw bytes or a file path, and their MIME type; and
:class:`MediaHost`, which gives an image a public address for platforms that only fetch URLs."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import mimetypes
import os
import tempfile
from pathlib import Path
from typing import Protocol, runtime_checkable

from publishers.errors import Permanent

MediaItem = bytes | str | os.PathLike[str]

_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def sniff_image_type(data: bytes, name: str | None = None) -> str:
    """The MIME type of an image from its first bytes (or its file name as a fallback)."""
    for magic, mime in _MAGIC:
        if data.startswith(magic):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if name:
        guessed, _ = mimetypes.guess_type(name)
        if guessed:
            return guessed
    return "application/octet-stream"


def load_media(item: MediaItem) -> tuple[bytes, str, str]:
    """``(data, file name, mime type)`` for raw bytes or a file path."""
    if isinstance(item, bytes | bytearray | memoryview):
        data = bytes(item)
        mime = sniff_image_type(data)
        ext = mimetypes.guess_extension(mime) or ".bin"
        return data, f"image{ext}", mime
    path = Path(item)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise Permanent(f"can't read the image file {path.name}: {exc.strerror}") from exc
    return data, path.name, sniff_image_type(data, path.name)


@runtime_checkable
class MediaHost(Protocol):
    """Puts an image where a platform can fetch it: Instagram and Threads take no uploads,
    only a public ``image_url`` that their servers download."""

    async def public_url(self, data: bytes, mime: str) -> str:
        """The public https address of ``data``; ``Permanent`` if there is none."""
        ...


class FileMediaHost:
    """Writes images into ``directory`` for Nexus's own HTTP server to serve under
    ``{base_url}/media/{name}``.

    Names are content addressed (``<sha256>.<ext>``): the same picture is stored once, a name
    never points at different bytes, and nothing guessable (like a post id) leaks into the
    address. Files are written to a temporary name and renamed, so the server never serves a
    half-written file to a platform that fetches it at that very moment. ``platform`` only
    words the error when no public address is configured.
    """

    def __init__(
        self, directory: Path, base_url: str | None, *, platform: str = "Instagram and Threads"
    ) -> None:
        self.directory = Path(directory)
        self.base_url = base_url.rstrip("/") if base_url else None
        self.platform = platform

    def for_platform(self, platform: str) -> FileMediaHost:
        """The same host, with errors that name ``platform``."""
        return FileMediaHost(self.directory, self.base_url, platform=platform)

    async def public_url(self, data: bytes, mime: str) -> str:
        if not self.base_url:
            raise no_public_address(self.platform)
        name = hashlib.sha256(data).hexdigest() + _EXTENSIONS.get(mime, ".bin")
        target = self.directory / name
        if not target.exists():
            await asyncio.to_thread(_write_atomically, target, data)
        return f"{self.base_url}/media/{name}"


def no_public_address(platform: str) -> Permanent:
    """The reason given when images need a public address and Nexus has none."""
    needs = "need" if " and " in platform else "needs"
    return Permanent(
        f"{platform} {needs} a public address for images: set NEXUS_PUBLIC_URL to this "
        "server's https address"
    )


_EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
    "image/webp": ".webp",
}


def _write_atomically(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".upload-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
