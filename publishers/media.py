"""Attachments as publishers take them: raw bytes or a file path, and their MIME type."""

from __future__ import annotations

import mimetypes
import os
from pathlib import Path

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
