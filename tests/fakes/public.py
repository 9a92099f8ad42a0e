"""What stands in for the public internet in tests of Instagram and Threads images.

:class:`PublicFiles` is a loopback static server for the directory a
:class:`~publishers.media.FileMediaHost` writes to (``GET /media/{name}``, as Nexus's own HTTP
server serves it in production), so a ``FileMediaHost(directory, files.root)`` hands out
addresses that really answer. :func:`fetch_image` is what Meta's servers do with an
``image_url``: download it and look at what it is.
"""

from __future__ import annotations

import io
from pathlib import Path

import httpx
from aiohttp import web
from PIL import Image

from tests.fakes.loopback import LoopbackServer

_MIME = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}


class PublicFiles(LoopbackServer):
    route = "/media/{name}"

    def __init__(self, directory: Path) -> None:
        super().__init__()
        self.directory = directory
        self.calls: list[str] = []
        """Names requested, in order."""

    async def _handle(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        self.calls.append(name)
        path = self.directory / name
        if request.method != "GET" or "/" in name or name.startswith(".") or not path.is_file():
            return web.Response(status=404, text="not found")
        return web.Response(body=path.read_bytes(), content_type="application/octet-stream")


async def fetch_image(url: str) -> tuple[bytes, str] | None:
    """Download ``url`` and decode it: ``(data, mime)``, or ``None`` when the address does not
    answer 200 or what it serves is no image."""
    try:
        async with httpx.AsyncClient(timeout=2.0) as client:
            response = await client.get(url)
    except httpx.HTTPError:
        return None
    if response.status_code != 200:
        return None
    try:
        with Image.open(io.BytesIO(response.content)) as image:
            image.load()
            mime = _MIME.get(str(image.format))
    except Exception:  # whatever Pillow can't read, Meta can't either
        return None
    return (response.content, mime) if mime else None
