"""A loopback web server for RSS/Atom feeds: serves whatever bytes a test puts at a path, with
an ETag and Last-Modified, and answers 304 to a conditional GET that matches them.

Like hostile or broken sites, a path can also redirect anywhere (:meth:`FakeFeeds.redirect`),
stream without end (:meth:`FakeFeeds.endless`) or trickle a byte at a time
(:meth:`FakeFeeds.trickle`), to test the hardened client's hops, size cap and deadline.

Sample documents imitate what real sites serve, including the broken ones feed readers must
cope with: an unescaped ``&``, an encoding declaration that lies, entries without dates.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass

from aiohttp import web

from tests.fakes.loopback import HttpFailure, LoopbackServer

LAST_MODIFIED = "Sun, 22 Nov 2026 08:00:00 GMT"


@dataclass
class Page:
    body: bytes
    content_type: str
    etag: str
    last_modified: str = LAST_MODIFIED
    content_encoding: str | None = None


@dataclass
class FeedRequest:
    path: str
    if_none_match: str | None
    if_modified_since: str | None


class FakeFeeds(LoopbackServer):
    def __init__(self) -> None:
        super().__init__()
        self.pages: dict[str, Page] = {}
        self.calls: list[FeedRequest] = []
        #: The Host header of every request, in order (what name the client asked for).
        self.hosts: list[str] = []
        self._redirects: dict[str, tuple[int, str]] = {}
        self._streams: dict[str, tuple[int, float]] = {}

    def url(self, path: str) -> str:
        return f"{self.root}/{path.lstrip('/')}"

    def serve(
        self,
        path: str,
        body: str | bytes,
        content_type: str = "application/rss+xml",
        *,
        content_encoding: str | None = None,
    ) -> str:
        """Put a document at `path` (a new version gets a new ETag); returns its URL. With
        `content_encoding` ("gzip"), `body` is sent as already encoded that way."""
        data = body.encode("utf-8") if isinstance(body, str) else body
        etag = '"' + hashlib.sha256(data).hexdigest()[:16] + '"'
        self.pages["/" + path.lstrip("/")] = Page(
            data, content_type, etag, content_encoding=content_encoding
        )
        return self.url(path)

    def redirect(self, path: str, location: str, status: int = 302) -> str:
        """Answer `path` with a redirect to `location` (anywhere); returns `path`'s URL."""
        self._redirects["/" + path.lstrip("/")] = (status, location)
        return self.url(path)

    def endless(self, path: str, chunk: int = 64 * 1024) -> str:
        """Stream `chunk`-byte pieces of a feed at `path` for ever."""
        self._streams["/" + path.lstrip("/")] = (chunk, 0.0)
        return self.url(path)

    def trickle(self, path: str, every: float) -> str:
        """Send one byte every `every` seconds at `path`, for ever (no read timeout trips)."""
        self._streams["/" + path.lstrip("/")] = (1, every)
        return self.url(path)

    def fail_next(self, path: str, status: int = 500, *, times: int = 1) -> None:
        self._queue_failure("/" + path.lstrip("/"), HttpFailure(status, {}), times=times, after=0)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        self.hosts.append(request.headers.get("Host", ""))
        self.calls.append(
            FeedRequest(
                path, request.headers.get("If-None-Match"), request.headers.get("If-Modified-Since")
            )
        )
        failure = await self._checkpoint(path)
        if failure is not None:
            return web.Response(status=failure.status, text="server error")
        if path in self._redirects:
            status, location = self._redirects[path]
            return web.Response(status=status, headers={"Location": location})
        if path in self._streams:
            return await self._stream(request, *self._streams[path])
        page = self.pages.get(path)
        if page is None:
            return web.Response(status=404, text="not found")
        headers = {"ETag": page.etag, "Last-Modified": page.last_modified}
        if request.headers.get("If-None-Match") == page.etag:
            return web.Response(status=304, headers=headers)
        headers["Content-Type"] = page.content_type
        if page.content_encoding:
            headers["Content-Encoding"] = page.content_encoding
        return web.Response(body=page.body, headers=headers)

    async def _stream(self, request: web.Request, chunk: int, every: float) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
        await response.prepare(request)
        try:
            await response.write(b"<?xml version='1.0'?><rss><channel>")
            while not self._closed.is_set():
                await response.write(b" " * chunk)
                await asyncio.sleep(every)
        except ConnectionResetError:  # the client stopped reading: what the test wants
            pass
        return response


def rss(*items: tuple[str, str], title: str = "Example Blog") -> str:
    """An RSS 2.0 document with (guid, title) items, newest first."""
    entries = "".join(
        f"<item><guid>{guid}</guid><title>{name}</title>"
        f"<link>https://blog.example.com/{guid}</link>"
        f"<description>&lt;p&gt;All about {name}.&lt;/p&gt;</description>"
        f"<pubDate>Sat, 21 Nov 2026 10:00:00 GMT</pubDate></item>"
        for guid, name in items
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>{title}</title><link>https://blog.example.com/</link>{entries}"
        "</channel></rss>"
    )


def atom(*entries: tuple[str, str]) -> str:
    """An Atom document with (id, title) entries."""
    body = "".join(
        f"<entry><id>tag:example.com,2026:{eid}</id><title>{name}</title>"
        f'<link href="https://atom.example.com/{eid}"/><updated>2026-11-21T10:00:00Z</updated>'
        f"<summary>Summary of {name}</summary></entry>"
        for eid, name in entries
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        "<title>Atom Example</title><id>tag:example.com,2026:feed</id>"
        f"<updated>2026-11-21T10:00:00Z</updated>{body}</feed>"
    )


#: Like many hand-rolled feeds: a raw "&" in titles, no guids, no dates.
MALFORMED_RSS = (
    '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
    "<title>Tips & Tricks</title><link>https://tips.example.com/</link>"
    "<item><title>Salt & pepper</title><link>https://tips.example.com/salt</link></item>"
    "<item><title>Bread & butter</title><link>https://tips.example.com/bread</link></item>"
    "</channel></rss>"
)

#: Declares UTF-8 but is Windows-1251 (a Russian site's old CMS).
WRONG_ENCODING_RSS = (
    '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
    "<title>Новости</title><item><title>Релиз 2.0</title>"
    "<link>https://news.example.ru/2</link></item></channel></rss>"
).encode("cp1251")

HTML_PAGE = (
    "<!DOCTYPE html><html><head><title>Example Blog</title></head>"
    "<body><h1>Welcome</h1><p>This is a web page, not a feed.</p></body></html>"
)
