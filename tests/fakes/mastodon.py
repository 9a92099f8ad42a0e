"""A loopback Mastodon server for tests (the REST API paths and payloads a publisher uses).

It serves, on 127.0.0.1 and a random port:

* ``GET /api/v2/instance`` with ``configuration.statuses.max_characters``;
* ``GET /api/v1/accounts/verify_credentials``;
* ``POST /api/v1/statuses`` (form or JSON; ``media_ids[]`` or ``media_ids``), honouring
  ``Idempotency-Key`` (the same key returns the same status, as Mastodon does for an hour),
  checking the length the way Mastodon's ``StatusLengthValidator`` counts (graphemes, URLs as 23,
  ``@user@domain`` as ``@user``), ``in_reply_to_id`` and the attachments;
* ``GET``/``DELETE /api/v1/statuses/:id`` (with ``favourites_count``, ``reblogs_count`` and
  ``replies_count``, which a test sets with :meth:`FakeMastodon.set_counts`; 404 once deleted);
* ``POST /api/v2/media`` (202 while processing) and ``GET /api/v1/media/:id`` (206 until ready).

Errors look like Mastodon's: ``{"error": "..."}`` with the right status; 401 for a wrong token.
Tests inspect ``posts`` / ``calls``, inject trouble with ``fail_next(path, status, body,
headers)`` and slow answers with ``delay(path, seconds)``.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass, field
from typing import Any

from aiohttp import BodyPartReader, web

from tests.fakes.loopback import HttpFailure, LoopbackServer

try:
    import regex

    def _graphemes(text: str) -> int:
        return len(regex.findall(r"\X", text))

except ImportError:  # pragma: no cover - without ``regex`` use the publishers' approximation
    from publishers.bluesky import grapheme_len as _graphemes

_URL = re.compile(
    r"(?<![A-Za-z0-9@$#])https?://(?:[^\s/?#.]+\.)+[^\W\d_]{2,}(?::\d+)?(?:[/?#]\S*)?", re.I
)
_MENTION = re.compile(r"(?<![=/\w])@([a-z0-9_]+(?:[.-]+[a-z0-9_]+)*)(?:@\w+(?:[.-]+\w+)*)?", re.I)


def countable_length(text: str) -> int:
    """Mastodon's StatusLengthValidator: grapheme length after rewriting URLs and mentions."""
    spans: list[tuple[int, int, str]] = []
    for m in _URL.finditer(text):
        url = m.group()
        while url and (
            url[-1] in ".,;:!?\"'" or (url[-1] == ")" and url.count("(") < url.count(")"))
        ):
            url = url[:-1]
        spans.append((m.start(), m.start() + len(url), "x" * 23))
    spans += [(m.start(), m.end(), "@" + m.group(1)) for m in _MENTION.finditer(text)]
    out, pos = [], 0
    for start, end, repl in sorted(spans):
        if start >= pos:
            out += [text[pos:start], repl]
            pos = end
    out.append(text[pos:])
    return _graphemes("".join(out))


@dataclass
class Call:
    method: str
    path: str
    params: dict[str, Any]
    headers: dict[str, str]


@dataclass
class Status:
    id: str
    text: str
    visibility: str
    in_reply_to_id: str | None
    media_ids: list[str]
    url: str
    deleted: bool = False
    counts: dict[str, int] = field(default_factory=dict)


@dataclass
class Media:
    id: str
    data: bytes
    mime: str
    description: str | None
    polls_left: int  # GETs that still answer "processing"
    url: str | None = None


class FakeMastodon(LoopbackServer):
    client_max_size = 20 * 1024 * 1024
    calls: list[Call]

    def __init__(
        self,
        *,
        token: str = "mastodon-secret-token",
        username: str = "nexus",
        max_characters: int = 500,
    ) -> None:
        super().__init__()
        self.token = token
        self.username = username
        self.max_characters = max_characters
        self.max_media_attachments = 4
        self.statuses: dict[str, Status] = {}
        self.media: dict[str, Media] = {}
        self.processing_polls = 0
        """How many ``GET /api/v1/media/:id`` answer 206 before an upload is ready."""
        self._keys: dict[str, str] = {}  # Idempotency-Key -> status id
        self._ids = itertools.count(110_000_000_000_000_001)

    # ------------------------------------------------------------ scenario control
    def fail_next(
        self,
        path: str,
        status: int,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        *,
        times: int = 1,
        after: int = 0,
    ) -> None:
        """Make ``times`` requests to ``path`` (e.g. ``"/api/v1/statuses"``) fail, after
        ``after`` succeed. The body defaults to Mastodon's ``{"error": ...}``."""
        failure = HttpFailure(status, body or {"error": f"HTTP {status}"}, headers or {})
        self._queue_failure(path, failure, times=times, after=after)

    def set_counts(self, status_id: str, **counts: int) -> None:
        """Set a status's counters (``favourites_count=4``); the rest stay 0."""
        self.statuses[status_id].counts.update(counts)

    # ------------------------------------------------------------ inspection
    @property
    def posts(self) -> list[Status]:
        """Statuses that exist now, in creation order."""
        return [s for s in self.statuses.values() if not s.deleted]

    def calls_to(self, method: str, path: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and c.path == path]

    # ------------------------------------------------------------ plumbing
    async def _params(self, request: web.Request) -> tuple[dict[str, Any], dict[str, Any]]:
        params: dict[str, Any] = dict(request.query)
        files: dict[str, Any] = {}
        if request.content_type == "application/json":
            raw = await request.read()
            if raw:
                params.update(json.loads(raw))
        elif request.content_type == "multipart/form-data":
            reader = await request.multipart()
            async for part in reader:
                if not isinstance(part, BodyPartReader):
                    continue
                name = str(part.name)
                if part.filename:
                    files[name] = (bytes(await part.read()), part.headers.get("Content-Type", ""))
                else:
                    params[name] = await part.text()
        elif request.content_type == "application/x-www-form-urlencoded":
            form = await request.post()
            for key in form:
                values = form.getall(key)
                params[key] = values if key.endswith("[]") else values[-1]
        return params, files

    async def _handle(self, request: web.Request) -> web.Response:
        path = request.path
        try:
            params, files = await self._params(request)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return web.json_response({"error": "Invalid JSON"}, status=400)
        self.calls.append(Call(request.method, path, params, dict(request.headers)))
        if failure := await self._checkpoint(path):
            return failure.response()
        if path != "/api/v2/instance" and (
            request.headers.get("Authorization") != f"Bearer {self.token}"
        ):
            return web.json_response({"error": "The access token is invalid"}, status=401)
        try:
            return await self._route(request.method, path, params, files, request.headers)
        except _Error as err:
            return web.json_response({"error": err.message}, status=err.status)

    async def _route(
        self, method: str, path: str, params: dict[str, Any], files: dict[str, Any], headers: Any
    ) -> web.Response:
        if (method, path) == ("GET", "/api/v2/instance"):
            return web.json_response(self._instance())
        if (method, path) == ("GET", "/api/v1/accounts/verify_credentials"):
            return web.json_response(self._account())
        if (method, path) == ("POST", "/api/v1/statuses"):
            return web.json_response(self._post(params, headers.get("Idempotency-Key")))
        if (method, path) == ("POST", "/api/v2/media"):
            uploaded = self._upload(params, files)
            code = 202 if not uploaded.url else 200
            return web.json_response(self._media_json(uploaded), status=code)
        if m := re.fullmatch(r"/api/v1/media/(\d+)", path):
            media = self.media.get(m.group(1))
            if media is None:
                raise _Error(404, "Record not found")
            if media.url is None:
                if media.polls_left > 0:
                    media.polls_left -= 1
                    return web.json_response(self._media_json(media), status=206)
                media.url = f"{self.base_url}/system/media/{media.id}"
            return web.json_response(self._media_json(media))
        if m := re.fullmatch(r"/api/v1/statuses/(\d+)", path):
            status = self.statuses.get(m.group(1))
            if status is None or status.deleted:
                raise _Error(404, "Record not found")
            if method == "DELETE":
                status.deleted = True
            return web.json_response(self._status_json(status))
        raise _Error(404, "Not found")

    def _instance(self) -> dict[str, Any]:
        return {
            "domain": "127.0.0.1",
            "title": "Fake Mastodon",
            "version": "4.3.0",
            "configuration": {
                "statuses": {
                    "max_characters": self.max_characters,
                    "max_media_attachments": self.max_media_attachments,
                    "characters_reserved_per_url": 23,
                },
                "media_attachments": {"image_size_limit": 16777216},
            },
        }

    def _account(self) -> dict[str, Any]:
        return {
            "id": "1",
            "username": self.username,
            "acct": self.username,
            "url": f"{self.base_url}/@{self.username}",
        }

    def _post(self, params: dict[str, Any], key: str | None) -> dict[str, Any]:
        if key and key in self._keys:
            earlier = self.statuses[self._keys[key]]
            if earlier.deleted:  # Mastodon looks the remembered status up: gone is a 404
                raise _Error(404, "Record not found")
            return self._status_json(earlier)
        text = str(params.get("status") or "")
        media_ids = params.get("media_ids[]") or params.get("media_ids") or []
        if isinstance(media_ids, str):
            media_ids = [media_ids]
        media_ids = [str(i) for i in media_ids]
        if not text.strip() and not media_ids:
            raise _Error(422, "Validation failed: Text can't be blank")
        if countable_length(text) > self.max_characters:
            raise _Error(
                422, f"Validation failed: Text character limit of {self.max_characters} exceeded"
            )
        if len(media_ids) > self.max_media_attachments:
            raise _Error(422, "Validation failed: Media attachments limit exceeded")
        for media_id in media_ids:
            media = self.media.get(media_id)
            if media is None:
                raise _Error(422, "Validation failed: Media attachments is invalid")
            if media.url is None:
                raise _Error(422, "Cannot attach files that have not finished processing")
        visibility = str(params.get("visibility") or "public")
        if visibility not in ("public", "unlisted", "private", "direct"):
            raise _Error(422, "Validation failed: Visibility is not included in the list")
        reply_to = params.get("in_reply_to_id")
        if reply_to is not None:
            parent = self.statuses.get(str(reply_to))
            if parent is None or parent.deleted:
                raise _Error(404, "Record not found")
        status_id = str(next(self._ids))
        status = Status(
            id=status_id,
            text=text,
            visibility=visibility,
            in_reply_to_id=str(reply_to) if reply_to is not None else None,
            media_ids=media_ids,
            url=f"{self.base_url}/@{self.username}/{status_id}",
        )
        self.statuses[status_id] = status
        if key:
            self._keys[key] = status_id
        return self._status_json(status)

    def _upload(self, params: dict[str, Any], files: dict[str, Any]) -> Media:
        if "file" not in files:
            raise _Error(422, "Validation failed: File can't be blank")
        data, mime = files["file"]
        if not data:
            raise _Error(422, "Validation failed: File file size must be greater than 0 Bytes")
        if not str(mime).startswith(("image/", "video/", "audio/")):
            raise _Error(422, "Validation failed: File content type is invalid")
        media_id = str(next(self._ids))
        media = Media(media_id, data, mime, params.get("description"), self.processing_polls)
        if self.processing_polls == 0:
            media.url = f"{self.base_url}/system/media/{media_id}"
        self.media[media_id] = media
        return media

    def _media_json(self, media: Media) -> dict[str, Any]:
        return {
            "id": media.id,
            "type": media.mime.split("/")[0],
            "url": media.url,
            "preview_url": media.url,
            "description": media.description,
        }

    def _status_json(self, status: Status) -> dict[str, Any]:
        return {
            "id": status.id,
            "uri": f"{self.base_url}/users/{self.username}/statuses/{status.id}",
            "url": status.url,
            "content": f"<p>{status.text}</p>",
            "visibility": status.visibility,
            "in_reply_to_id": status.in_reply_to_id,
            "media_attachments": [self._media_json(self.media[i]) for i in status.media_ids],
            **{
                name: status.counts.get(name, 0)
                for name in ("replies_count", "reblogs_count", "favourites_count")
            },
        }


class _Error(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message
