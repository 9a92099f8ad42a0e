"""Publish image posts to an Instagram professional account (Instagram Graph API over raw httpx).

Instagram takes no uploads and no text-only posts: every post is one image or a carousel of 2–10,
which Meta's servers download from a public ``image_url``. The publisher gets those addresses
from its :class:`~publishers.media.MediaHost` (Nexus's own HTTP server under
``NEXUS_PUBLIC_URL``); without one, an image post is ``Permanent`` before any request.

Posting, for user ``user_id`` (the IG professional account id):

1. ``GET /{user_id}/content_publishing_limit?fields=config,quota_usage``: an account may publish
   only ``quota_total`` posts (50, lately 100) through the API in a rolling 24 h; when they are
   used up the post is refused with :class:`QuotaUsedUp` at once instead of creating containers
   that can't be published (Meta does not say when a slot frees, so the wait is one hour);
2. ``POST /{user_id}/media`` with ``image_url`` and ``caption`` (one image), or one container per
   image with ``is_carousel_item=true`` and then ``media_type=CAROUSEL&children=<ids>&caption``;
3. ``GET /{container_id}?fields=status_code`` until FINISHED (IN_PROGRESS: wait
   ``container_poll_interval`` seconds, at most ``container_poll_attempts`` times; ERROR →
   ``Permanent``; EXPIRED → ``Transient``; see :func:`publishers.graph.wait_until_finished`);
4. ``POST /{user_id}/media_publish`` with ``creation_id`` → the media id (a lost answer is
   resolved by the container's status, see :mod:`publishers.graph`);
5. ``GET /{media_id}?fields=permalink`` for the post's address (``None`` if that fails).

Limits checked by :meth:`validate` before anything is sent: caption at most 2200 characters and
30 hashtags, at least one and at most 10 images. Images must be JPEG
(:data:`INSTAGRAM_MEDIA_LIMITS`, with the 4:5…1.91:1 aspect range that
:func:`publishers.images.fit` pads into).

There is no split post: a caption that is too long is a validation problem, and
``already_posted`` (non-empty only if the post went out) just returns that post again.
Instagram's API cannot delete posts: :meth:`delete` says so.

Metrics: ``GET /{media_id}?fields=like_count,comments_count`` (likes and replies).

Errors in Graph format (:func:`publishers.graph.graph_error`): 190 → ``AuthExpired``; 4, 17, 32,
613 → ``RateLimited``; subcode 2207042 (the publishing limit) → ``QuotaUsedUp``; 1, 2 and
5xx → ``Transient``; others → ``Permanent`` with Meta's message. The access token travels in
request bodies and query strings only; it never appears in a reason or repr.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from publishers.base import MediaLimits, Metrics, PublishResult
from publishers.errors import Permanent, PublishError
from publishers.graph import GraphContainers, graph_error
from publishers.media import MediaItem
from publishers.parts import validate_media
from publishers.thread import OnConfirmed, harmless

INSTAGRAM_API = "https://graph.facebook.com/v21.0"
INSTAGRAM_CAPTION_LIMIT = 2200
INSTAGRAM_HASHTAG_LIMIT = 30
INSTAGRAM_MEDIA_LIMITS = MediaLimits(
    max_count=10,
    max_bytes=8 * 1024 * 1024,
    max_side=1440,
    formats=("image/jpeg",),
    required=True,
    aspect=(4 / 5, 1.91),
)
"""JPEG only, at most 8 MB; Instagram stores at most 1440 px wide; 4:5 to 1.91:1."""
PUBLISHING_LIMIT_SUBCODE = 2207042
_HASHTAG_RE = re.compile(r"(?<![\w&])#\w+")


def count_hashtags(text: str) -> int:
    return len(_HASHTAG_RE.findall(text))


class InstagramPublisher(GraphContainers):
    """Posts as the Instagram professional account ``user_id`` that ``access_token`` manages."""

    platform = "instagram"
    media_limits = INSTAGRAM_MEDIA_LIMITS
    title = "Instagram"
    api_url = INSTAGRAM_API
    poll_attempts = 20
    unnamed = "Instagram account {user_id}"
    media_edge = "media"
    text_param = "caption"
    status_fields = ("status_code", "status")
    publish_edge = "media_publish"
    limit_edge = "content_publishing_limit"

    # ------------------------------------------------------------------ protocol
    def validate(self, text: str, *, media_count: int = 0) -> list[str]:
        problems = validate_media("Instagram", self.media_limits, media_count)
        if len(text) > INSTAGRAM_CAPTION_LIMIT:
            problems.append(
                f"Instagram captions take at most {INSTAGRAM_CAPTION_LIMIT} characters; "
                f"this one has {len(text)}"
            )
        if (tags := count_hashtags(text)) > INSTAGRAM_HASHTAG_LIMIT:
            problems.append(
                f"Instagram takes at most {INSTAGRAM_HASHTAG_LIMIT} hashtags; this post has {tags}"
            )
        return problems

    async def publish(
        self,
        text: str,
        *,
        already_posted: Sequence[str] = (),
        media: Sequence[MediaItem] = (),
        key: str = "",
        on_confirmed: OnConfirmed | None = None,
    ) -> PublishResult:
        """Post ``media`` (1 image, or a carousel of 2–10) with ``text`` as the caption. A lost
        publish answer is resolved by the container's status (:mod:`publishers.graph`); ``key``
        is unused."""
        if already_posted:
            first = str(already_posted[0])
            return PublishResult(first, await self.permalink(first), (first,))
        if problems := self.validate(text, media_count=len(media)):
            raise Permanent(problems[0])
        urls = await self._public_urls(media)
        with harmless():  # a container nobody publishes expires by itself
            await self._check_quota()
            container_id = await self._container(text, urls)
        media_id = await self._publish_counted(container_id)
        return PublishResult(media_id, await self.permalink(media_id), (media_id,))

    async def fetch_metrics(self, result: PublishResult) -> Metrics:
        media = await self._call(
            "GET", f"/{result.external_id}", {"fields": "like_count,comments_count"}
        )
        return Metrics(
            likes=int(media.get("like_count") or 0), replies=int(media.get("comments_count") or 0)
        )

    async def delete(self, external_id: str) -> None:
        raise Permanent(
            "Instagram does not allow deleting posts through the API; delete it in the app"
        )

    async def verify(self) -> str:
        """Check the token and account; return ``"@username on Instagram"``."""
        me = await self._call("GET", f"/{self.user_id}", {"fields": "username"})
        self.name = f"@{me['username']} on Instagram"
        return self.name

    async def permalink(self, media_id: str) -> str | None:
        """The post's web address, or ``None`` if Instagram won't say."""
        try:
            media = await self._call("GET", f"/{media_id}", {"fields": "permalink"})
        except PublishError:
            return None
        return str(media.get("permalink") or "") or None

    # ------------------------------------------------------------------ helpers
    def _error(self, status: int, error: dict[str, Any] | None) -> PublishError:
        if str((error or {}).get("error_subcode")) == str(PUBLISHING_LIMIT_SUBCODE):
            return self._used_up(None)
        return graph_error(
            status,
            error,
            platform="Instagram",
            token=self._token,
            account=f"account {self.user_id}",
        )
