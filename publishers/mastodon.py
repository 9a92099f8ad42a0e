"""Publish posts to a Mastodon account (REST API over raw httpx).

Posting: ``POST /api/v1/statuses`` (JSON) with ``Authorization: Bearer`` and an
``Idempotency-Key`` header. The key is derived from the publication's ``key``, the whole text,
the part's position and the part's text, so resending the same part after a timeout returns the
status that was already created instead of posting it twice: a part that timed out is resent
once at once, and then left to the scheduler's next attempt (a plain ``Transient``). Mastodon
remembers keys for about an hour per account (Redis, ``idempotency:<account>:<key>``), longer
than the scheduler's retries take; two publications of one text have different keys.

Length: the limit is read once per publisher from ``GET /api/v2/instance``
(``configuration.statuses.max_characters``, default 500; also ``characters_reserved_per_url``,
default 23) and counted as Mastodon's ``StatusLengthValidator`` does (:func:`mastodon_length`):
graphemes, after every ``http(s)://`` URL is replaced by 23 characters and every
``@user@domain`` mention by ``@user``. Longer text becomes a thread: each part replies
(``in_reply_to_id``) to the previous one. ``validate`` is synchronous and uses the cached limit
(500 before the first ``publish``/``max_characters`` call).

Media: ``publish(..., media=[bytes | path, ...], alt_texts=[...])`` uploads each file with
``POST /api/v2/media``; a 202 means the server is still processing it, so the publisher polls
``GET /api/v1/media/:id`` until ``url`` is set (at most ``media_poll_attempts`` times,
``media_poll_interval`` seconds apart; then :class:`Transient`). The attachments go on the first
status only; at most 4 of at most 16 MB each, or what the instance's
``configuration.statuses.max_media_attachments`` and ``media_attachments.image_size_limit``
say once :meth:`MastodonPublisher.max_characters` has read them (``media_limits`` follows).

Metrics: ``GET /api/v1/statuses/:id`` of the thread's first status: likes =
``favourites_count``, reposts = ``reblogs_count``, replies = ``replies_count``; no views. 404
(deleted) → :class:`Permanent`.

Errors: 401 → :class:`AuthExpired`; 422 (and other 4xx) → :class:`Permanent` with the server's
``error`` text; 429 → :class:`RateLimited` until ``X-RateLimit-Reset`` (an ISO time), 60 s
without it; 5xx, timeouts and network errors → :class:`Transient`. A reason never contains the
access token.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from publishers.base import MediaLimits, Metrics, PublishResult
from publishers.bluesky import grapheme_len
from publishers.errors import (
    AuthExpired,
    Permanent,
    PublishError,
    RateLimited,
    Transient,
)
from publishers.http import json_result, send
from publishers.media import MediaItem, load_media
from publishers.metrics import check_media_count, media_count_problems, post_deleted, read_metrics
from publishers.parts import validate_parts
from publishers.text import split_text
from publishers.thread import OnConfirmed, harmless, key_digest, post_thread

MASTODON_DEFAULT_LIMIT = 500
MASTODON_URL_LENGTH = 23
MASTODON_MAX_MEDIA = 4
MASTODON_IMAGE_MAX_BYTES = 16 * 1024 * 1024
MASTODON_IMAGE_MAX_SIDE = 4096  # image_matrix_limit: 16,777,216 pixels before 4.3
DEFAULT_RATE_LIMIT_WAIT = 60.0

# URLs as Mastodon's extractor finds them (extract_url_without_protocol: false): a scheme, a
# host with a dotted alphabetic TLD (or localhost), and whatever non-space follows, minus
# trailing punctuation. Not preceded by a letter, digit, @, $ or #.
_URL_RE = re.compile(
    r"(?<![A-Za-z0-9@$#＠＃])https?://"
    r"(?:[^\s/?#.]+\.)+[^\W\d_]{2,}(?::\d+)?(?:[/?#][^\s]*)?",
    re.IGNORECASE,
)
# Account::MENTION_RE: ``@user`` or ``@user@domain``; counted as ``@user``.
_MENTION_RE = re.compile(
    r"(?<![=/\w])@([a-z0-9_]+(?:[.-]+[a-z0-9_]+)*)(?:@\w+(?:[.-]+\w+)*)?", re.IGNORECASE
)
_URL_TRAILING = ".,;:!?\"'"


def _trim_url(url: str) -> str:
    while url and (
        url[-1] in _URL_TRAILING or (url[-1] == ")" and url.count("(") < url.count(")"))
    ):
        url = url[:-1]
    return url


def mastodon_length(text: str, url_length: int = MASTODON_URL_LENGTH) -> int:
    """Length of a status as Mastodon counts it (graphemes; URLs 23; mentions without domain)."""
    entities: list[tuple[int, int, str]] = []
    for m in _URL_RE.finditer(text):
        url = _trim_url(m.group())
        entities.append((m.start(), m.start() + len(url), "x" * url_length))
    for m in _MENTION_RE.finditer(text):
        entities.append((m.start(), m.end(), "@" + m.group(1)))
    entities.sort()
    pieces: list[str] = []
    position = 0
    for start, end, replacement in entities:
        if start < position:
            continue  # overlapping entities: the earlier one wins
        pieces.append(text[position:start])
        pieces.append(replacement)
        position = end
    pieces.append(text[position:])
    return grapheme_len("".join(pieces))


def make_idempotency_key(text: str, index: int, part: str, seed: str = "") -> str:
    """The ``Idempotency-Key`` for part ``index`` (text ``part``) of ``text``: deterministic."""
    return key_digest("nexus-mastodon-v1", seed, text, str(index), part)


class MastodonPublisher:
    """Posts as the account that owns ``access_token`` on the instance at ``base_url``."""

    platform = "mastodon"
    media_limits = MediaLimits(
        max_count=MASTODON_MAX_MEDIA,
        max_bytes=MASTODON_IMAGE_MAX_BYTES,
        max_side=MASTODON_IMAGE_MAX_SIDE,
        formats=("image/jpeg", "image/png", "image/gif", "image/webp"),
    )
    """Mastodon's defaults; :meth:`max_characters` replaces them with the instance's own."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        base_url: str,
        access_token: str,
        visibility: str = "public",
        media_poll_interval: float = 1.0,
        media_poll_attempts: int = 60,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._client = client
        self._base_url = base_url.rstrip("/")
        self._token = access_token
        self.visibility = visibility
        self._poll_interval = media_poll_interval
        self._poll_attempts = media_poll_attempts
        self._clock = clock
        self._sleep = sleep
        self.host = urlsplit(self._base_url).hostname or self._base_url
        self.name = self.host
        """``"@user@instance"`` once :meth:`verify` ran; the instance's host before."""
        self._limit: int | None = None
        self._url_length = MASTODON_URL_LENGTH

    def __repr__(self) -> str:  # never show the token
        return f"MastodonPublisher(base_url={self._base_url!r})"

    # ------------------------------------------------------------------ protocol
    def validate(self, text: str, *, media_count: int = 0) -> list[str]:
        return validate_parts(text, self.split) + media_count_problems(
            "Mastodon", self.media_limits, media_count
        )

    def measure(self, text: str) -> int:
        """Length of ``text`` as this instance counts it."""
        return mastodon_length(text, self._url_length)

    def split(self, text: str) -> list[str]:
        """The statuses ``text`` becomes, with the cached (or default) limit."""
        return split_text(text, self._limit or MASTODON_DEFAULT_LIMIT, self.measure)

    async def max_characters(self) -> int:
        """The instance's status limit (``GET /api/v2/instance``), fetched once and cached."""
        if self._limit is None:
            try:
                instance = await self._call("GET", "/api/v2/instance")
            except Permanent:  # an old server without v2: Mastodon's default
                instance = {}
            configuration = (instance or {}).get("configuration") or {}
            statuses = configuration.get("statuses") or {}
            attachments = configuration.get("media_attachments") or {}
            self._url_length = int(statuses.get("characters_reserved_per_url") or 23)
            self._limit = int(statuses.get("max_characters") or MASTODON_DEFAULT_LIMIT)
            self.media_limits = replace(
                self.media_limits,
                max_count=int(statuses.get("max_media_attachments") or MASTODON_MAX_MEDIA),
                max_bytes=int(attachments.get("image_size_limit") or MASTODON_IMAGE_MAX_BYTES),
            )
        return self._limit

    async def publish(
        self,
        text: str,
        *,
        already_posted: Sequence[str] = (),
        media: Sequence[MediaItem] = (),
        alt_texts: Sequence[str] = (),
        key: str = "",
        on_confirmed: OnConfirmed | None = None,
    ) -> PublishResult:
        """Post ``text`` as one status or a thread, with up to 4 attachments on the first one.

        ``already_posted``: the confirmed parts of a failed attempt with the *same* text; only
        the rest is posted, replying to the last of them. ``alt_texts``: the attachments'
        descriptions, in order. ``key`` (the publication's, e.g. ``"pub-7"``) is mixed into
        every part's ``Idempotency-Key``: a part that timed out is resent at once under the same
        key, and Mastodon answers with the status it already made instead of a second one.
        """
        await self.max_characters()
        parts = self.split(text)
        files = [load_media(m) for m in media] if not already_posted else []
        check_media_count("Mastodon", self.media_limits, len(files))
        first_url: str | None = None
        with harmless():  # an attachment nobody posted is never seen
            media_ids = [
                await self._upload(data, name, mime, alt_texts[i] if i < len(alt_texts) else "")
                for i, (data, name, mime) in enumerate(files)
            ]

        async def send_part(index: int, previous: str | None) -> str:
            nonlocal first_url
            payload: dict[str, Any] = {"status": parts[index], "visibility": self.visibility}
            if previous is not None:
                payload["in_reply_to_id"] = previous
            if index == 0 and media_ids:
                payload["media_ids"] = media_ids
            try:
                status = await self._post_status(payload, text, index, parts[index], key)
            except _NotFound:
                # Mastodon remembers the key but its status is gone: the owner deleted a
                # stray copy and asked to send again. A second key, as stable as the first.
                again = f"{key}/sent-again"
                status = await self._post_status(payload, text, index, parts[index], again)
            if index == 0:
                first_url = status.get("url") or status.get("uri")
            return str(status["id"])

        posted = await post_thread(
            parts,
            already_posted,
            send_part,
            noun="statuses",
            resend_is_safe=True,
            on_confirmed=on_confirmed,
        )
        if first_url is None:
            first_url = await self._status_url(posted[0])
        return PublishResult(external_id=posted[0], url=first_url, part_ids=tuple(posted))

    async def _post_status(
        self, payload: dict[str, Any], text: str, index: int, part: str, seed: str
    ) -> Any:
        headers = {"Idempotency-Key": make_idempotency_key(text, index, part, seed)}
        return await self._call("POST", "/api/v1/statuses", json=payload, headers=headers)

    async def delete(self, external_id: str) -> None:
        """Delete one status; for a thread call it for each of ``part_ids``."""
        try:
            await self._call("DELETE", f"/api/v1/statuses/{external_id}")
        except _NotFound:
            return  # already gone: deleting is idempotent

    async def fetch_metrics(self, result: PublishResult) -> Metrics:
        """The counters of the status (``GET /api/v1/statuses/:id``).

        For a thread these are the first status's (``result.external_id``), the one people
        see and boost. likes = ``favourites_count``, reposts = ``reblogs_count``, replies =
        ``replies_count``; Mastodon shows no views. A deleted status (404) is
        :class:`Permanent`.
        """
        try:
            status = await self._call("GET", f"/api/v1/statuses/{result.external_id}")
        except _NotFound as exc:
            raise post_deleted("Mastodon") from exc
        return read_metrics(
            status,
            likes=["favourites_count"],
            reposts=["reblogs_count"],
            replies=["replies_count"],
        )

    async def verify(self) -> str:
        """Check the token; return ``"@user@instance"`` (also kept as :attr:`name`)."""
        account = await self._call("GET", "/api/v1/accounts/verify_credentials")
        domain = urlsplit(str(account.get("url") or "")).hostname or self.host
        self.name = f"@{account['username']}@{domain}"
        return self.name

    # ------------------------------------------------------------------ helpers
    async def _status_url(self, status_id: str) -> str | None:
        try:
            status = await self._call("GET", f"/api/v1/statuses/{status_id}")
        except PublishError:
            return None
        return status.get("url") or status.get("uri")

    async def _upload(self, data: bytes, name: str, mime: str, alt: str) -> str:
        form = {"description": alt} if alt else None
        attachment = await self._call(
            "POST", "/api/v2/media", files={"file": (name, data, mime)}, data=form
        )
        media_id = str(attachment["id"])
        for _ in range(self._poll_attempts):
            if attachment.get("url"):
                return media_id
            await self._sleep(self._poll_interval)
            attachment = await self._call("GET", f"/api/v1/media/{media_id}")
        if attachment.get("url"):
            return media_id
        raise Transient(f"Mastodon is still processing the attachment {name}; will retry")

    async def _call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        headers: dict[str, str] | None = None,
        files: Any = None,
        data: dict[str, str] | None = None,
    ) -> Any:
        sent = {"Authorization": f"Bearer {self._token}", **(headers or {})}
        response = await send(
            self._client,
            method,
            self._base_url + path,
            platform="Mastodon",
            json=json,
            headers=sent,
            files=files,
            data=data,
        )
        return json_result(response, platform="Mastodon", error=self._error)

    def _error(self, response: httpx.Response, body: dict[str, Any]) -> PublishError:
        status = response.status_code
        message = str(body.get("error") or f"HTTP {status}").replace(self._token, "***")
        if status == 429:
            wait = DEFAULT_RATE_LIMIT_WAIT
            reset = response.headers.get("X-RateLimit-Reset")
            if reset:
                try:
                    wait = max(datetime.fromisoformat(reset).timestamp() - self._clock(), 1.0)
                except ValueError:
                    pass
            return RateLimited(wait, f"Mastodon asked to wait {wait:.0f} seconds")
        if status >= 500 or status == 408:
            return Transient(f"Mastodon had a server error ({message}); will retry")
        if status == 401:
            return AuthExpired(
                f"Mastodon rejected the access token for {self.host}: reconnect the account"
            )
        if status == 404:
            return _NotFound(f"Mastodon could not find it: {message}")
        return Permanent(f"Mastodon refused the post: {message}")


class _NotFound(Permanent):
    """A 404: a missing status (``delete`` ignores it) or an API the instance lacks."""
