"""Publish posts to a Threads (Meta) profile (Threads Graph API over raw httpx).

Posting takes two calls per post: ``POST /{user_id}/threads`` with ``media_type=TEXT``, ``text``
(and ``reply_to_id`` for later parts) creates a *container* and answers its creation id;
``POST /{user_id}/threads_publish`` with ``creation_id`` publishes it and answers the media id.
Parameters travel form-encoded with ``access_token`` in the body (in the query string for GETs,
as the Graph API wants).

Length: 500 characters per post (counted with ``len``: code points). A longer text becomes a
reply chain: each later part is created with ``reply_to_id`` = the previous part's media id.
``already_posted`` holds the media ids of the parts that went out; a retry continues the chain
from the last of them. Threads has no idempotency key, but a container publishes at most once:
if ``threads_publish`` times out, the container's status tells whether to publish it again
(FINISHED) or to ask the owner (PUBLISHED: live, but its id is unknown); see
:mod:`publishers.graph`.

The post's page comes from ``GET /{media_id}?fields=permalink`` (``url`` is ``None`` when that
call fails; the post itself is out). ``verify`` calls ``GET /me?fields=username`` and returns
``"@username"``. ``delete`` calls ``DELETE /{media_id}``; an id Threads does not know (code 100,
subcode 33) counts as already deleted.

Images (already fitted to :data:`THREADS_MEDIA_LIMITS`): Threads takes no uploads, only a public
``image_url`` it downloads, so the publisher gets one from its :class:`~publishers.media.MediaHost`
(without one, or without ``NEXUS_PUBLIC_URL``, an image post is ``Permanent`` before any
request). One image is an ``IMAGE`` container with the text; 2–20 are ``IMAGE`` containers with
``is_carousel_item=true`` gathered by a ``CAROUSEL`` container (``children`` = their ids). Every
image container is polled (``GET /{id}?fields=status``) until FINISHED before it is used
(:func:`publishers.graph.wait_until_finished`). Only the first post of a chain has images.

Metrics: ``GET /{media_id}/insights?metric=likes,replies,reposts,views``, answered as
``{"data": [{"name": "likes", "period": "lifetime", "values": [{"value": N}], ...}]}``.

Tokens: a long-lived token lasts 60 days and can be extended once it is 24 hours old with
``GET /refresh_access_token?grant_type=th_refresh_token`` (at the API's root, outside the
version path), answered as ``{"access_token", "token_type", "expires_in"}``; :meth:`renew_token`
does it, uses the new token from then on and hands it to ``on_tokens`` to be stored.

Publishing limit: 250 API posts per profile in a moving 24 hours (replies in a chain have their
own, larger limit). Before the first post of a chain, ``GET /{user_id}/threads_publishing_limit``
(:meth:`quota`) says how many are used; none left → :class:`QuotaUsedUp` before any container
is made. A rate limit answered to that post's ``threads_publish`` is read the same way when the
count says the limit is used (see :mod:`publishers.graph`).

Errors come in Graph format ``{"error": {"message", "type", "code", "error_subcode"}}``:
190 → :class:`AuthExpired`; 4, 17, 32, 613 (application/user/page/custom rate limits) →
:class:`RateLimited` after 60 s (Graph gives no reset time in the body); 1, 2 (unknown /
temporary service error) → :class:`Transient`; 100 (invalid parameter) and anything else →
:class:`Permanent` with Meta's message. Without a Graph error body: 5xx → :class:`Transient`,
401 → :class:`AuthExpired`, 429 → :class:`RateLimited`. Timeouts and network errors →
:class:`Transient`. No reason ever contains the token.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import httpx

from publishers.base import MediaLimits, Metrics, PublishResult
from publishers.errors import Permanent, PublishError, Transient
from publishers.graph import (
    GRAPH_RATE_LIMIT_CODES,
    GraphContainers,
    graph_error,
)
from publishers.media import MediaItem, no_public_address
from publishers.parts import validate_post
from publishers.text import split_text
from publishers.thread import OnConfirmed, harmless, post_thread

THREADS_TEXT_LIMIT = 500
THREADS_RATE_LIMIT_CODES = GRAPH_RATE_LIMIT_CODES
THREADS_MEDIA_LIMITS = MediaLimits(
    max_count=20, max_bytes=8 * 1024 * 1024, max_side=1440, formats=("image/jpeg", "image/png")
)
"""Threads takes JPEG and PNG up to 8 MB, shown at most 1440 px wide; a carousel holds 2–20."""


class ThreadsPublisher(GraphContainers):
    """Posts as the Threads user ``user_id`` that owns ``access_token``; ``on_tokens`` receives
    ``{"access_token": …}`` after a renewal."""

    platform = "threads"
    media_limits = THREADS_MEDIA_LIMITS
    title = "Threads"
    api_url = "https://graph.threads.net/v1.0"
    poll_attempts = 10
    unnamed = "threads user {user_id}"
    media_edge = "threads"
    image_params = {"media_type": "IMAGE"}
    text_param = "text"
    status_fields = ("status", "error_message")
    publish_edge = "threads_publish"
    limit_edge = "threads_publishing_limit"

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        on_tokens: Callable[[dict[str, str]], Awaitable[None]] | None = None,
        **options: Any,
    ) -> None:
        super().__init__(client, **options)
        self._on_tokens = on_tokens

    async def renew_token(self) -> float:
        """Extend the long-lived token for another 60 days; its lifetime in seconds."""
        root = re.sub(r"/v\d+(\.\d+)?$", "", self._base_url)
        answer = await self._call_url(
            "GET", f"{root}/refresh_access_token", {"grant_type": "th_refresh_token"}
        )
        token, lifetime = answer.get("access_token"), answer.get("expires_in")
        if not isinstance(token, str) or not token or not isinstance(lifetime, int | float):
            raise Transient("Threads sent an unreadable answer while renewing the token")
        self._token = token
        if self._on_tokens is not None:
            await self._on_tokens({"access_token": token})
        return float(lifetime)

    # ------------------------------------------------------------------ protocol
    def validate(self, text: str, *, media_count: int = 0) -> list[str]:
        return validate_post(
            text, self.split, title="Threads", limits=self.media_limits, media_count=media_count
        )

    def split(self, text: str) -> list[str]:
        """The posts ``text`` becomes (a reply chain when over 500 characters)."""
        return split_text(text, THREADS_TEXT_LIMIT, len)

    async def publish(
        self,
        text: str,
        *,
        already_posted: Sequence[str] = (),
        media: Sequence[MediaItem] = (),
        key: str = "",
        on_confirmed: OnConfirmed | None = None,
    ) -> PublishResult:
        """Post ``text`` (a reply chain if too long), ``media`` on the first post (one image, or
        a carousel of 2–20).

        ``already_posted``: the confirmed parts of a failed attempt with the *same* text; only
        the rest is posted, replying to the last of them. A lost publish answer is resolved by
        the container's status (:mod:`publishers.graph`); ``key`` is unused.
        """
        if len(media) > self.media_limits.max_count:
            raise Permanent(self.validate(text, media_count=len(media))[0])
        parts = self.split(text) if text.strip() or not media else [""]
        if media and not already_posted and self._media_host is None:
            raise no_public_address("Threads")

        async def send_part(index: int, previous: str | None) -> str:
            with harmless():  # a container nobody publishes expires by itself
                urls = await self._public_urls(media) if index == 0 and media else []
                if index == 0:  # the chain's first post counts against the publishing limit
                    await self._check_quota()
                if urls:
                    creation_id = await self._container(parts[0], urls)
                else:
                    params = {"media_type": "TEXT", "text": parts[index]}
                    if previous is not None:
                        params["reply_to_id"] = previous
                    container = await self._call("POST", f"/{self.user_id}/threads", params)
                    creation_id = str(container["id"])
            if index == 0:
                return await self._publish_counted(creation_id)
            return await self._publish(creation_id)

        posted = await post_thread(
            parts, already_posted, send_part, noun="posts", on_confirmed=on_confirmed
        )
        return PublishResult(
            external_id=posted[0], url=await self.permalink(posted[0]), part_ids=tuple(posted)
        )

    async def fetch_metrics(self, result: PublishResult) -> Metrics:
        """Likes, replies, reposts and views of the first post of the chain
        (``GET /{media_id}/insights``; the later parts are replies to it, and counting their
        views too would count the same readers twice)."""
        insights = await self._call(
            "GET",
            f"/{result.external_id}/insights",
            {"metric": "likes,replies,reposts,views"},
        )
        values: dict[str, int] = {}
        for metric in insights.get("data") or []:
            points = metric.get("values") or [{}]
            values[str(metric.get("name"))] = int(points[-1].get("value") or 0)
        return Metrics(
            likes=values.get("likes", 0),
            replies=values.get("replies", 0),
            reposts=values.get("reposts", 0),
            views=values.get("views"),
        )

    async def permalink(self, media_id: str) -> str | None:
        """The post's web address, or ``None`` if Threads won't say."""
        try:
            media = await self._call("GET", f"/{media_id}", {"fields": "permalink"})
        except PublishError:
            return None
        return str(media.get("permalink") or "") or None

    async def delete(self, external_id: str) -> None:
        """Delete one post; for a reply chain call it for each of ``part_ids``."""
        try:
            await self._call("DELETE", f"/{external_id}", {})
        except _NotFound:
            return

    async def verify(self) -> str:
        """Check the token; return ``"@username"`` (also kept as :attr:`name`)."""
        me = await self._call("GET", "/me", {"fields": "username"})
        self.name = f"@{me['username']}"
        return self.name

    # ------------------------------------------------------------------ helpers
    def _error(self, status: int, error: dict[str, Any] | None) -> PublishError:
        if error is not None and str(error.get("code")) == "100":
            if str(error.get("error_subcode")) == "33":
                message = str(error.get("message") or "").replace(self._token or "\0", "***")
                return _NotFound(f"Threads could not find it: {message}")
        return graph_error(
            status,
            error,
            platform="Threads",
            token=self._token,
            account=f"user {self.user_id}",
        )


class _NotFound(Permanent):
    """Graph code 100, subcode 33: the object does not exist (``delete`` ignores it)."""
