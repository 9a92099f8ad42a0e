"""Publish posts to LinkedIn as a person or an organization (Posts API over raw httpx).

Posting: ``POST /rest/posts`` (JSON) with ``Authorization: Bearer``, ``Linkedin-Version`` (e.g.
``202411``) and ``X-Restli-Protocol-Version: 2.0.0``; the body names the ``author`` URN, the
``commentary``, ``visibility: PUBLIC``, ``distribution`` to the main feed, ``lifecycleState:
PUBLISHED``. LinkedIn answers 201 with an empty body; the new post's URN (``urn:li:share:…``
or ``urn:li:ugcPost:…``) is in the ``x-restli-id`` header. Its page is
``https://www.linkedin.com/feed/update/{urn}/``.

Escaping: ``commentary`` is in LinkedIn's "little text" format, where ``\\ | { } @ [ ] ( ) < > #
* _ ~`` are markup (mentions ``@[Name](urn)``, hashtags ``{hashtag|\\#|tag}``, …). An unescaped
one makes LinkedIn *silently truncate* the post right there, so :func:`escape_little_text`
backslash-escapes every one of them; drafts are plain text and never carry markup.

Length: at most 3000 characters, counted (with ``len``) on the text the reader sees, i.e.
before escaping. LinkedIn has no threads: a longer text is refused with :class:`Permanent`
(``validate`` says so first); shorten the variant instead.

Images: ``publish(..., media=[bytes | path, ...], alt_texts=[...])`` registers each with
``POST /rest/images?action=initializeUpload`` (owner = the author), PUTs the bytes to the
returned ``uploadUrl`` and puts the ``urn:li:image:…`` in ``content.media`` (one image) or
``content.multiImage.images`` (2 to 20).

Duplicates: LinkedIn refuses a post identical to a recent one with 422 "Content is a duplicate
of urn:li:share:…". The publisher reads that as "already published" and returns that URN, so a
retry after a timed-out create (the post may exist) does not fail nor post twice. There is no
idempotency key otherwise.

Errors: 401 → :class:`AuthExpired`; 429 → :class:`RateLimited` after ``Retry-After`` seconds
(60 without it); 400/422 (and other 4xx) → :class:`Permanent` with LinkedIn's ``message``; 5xx,
timeouts and network errors → :class:`Transient`. No reason ever contains the token.

Metrics: ``GET /rest/socialActions/{url-encoded urn}`` with the versioned headers: likes =
``likesSummary.totalLikes``, replies = ``commentsSummary.aggregatedTotalComments``
(``totalFirstLevelComments`` if absent); reposts 0 and views None (not exposed there). 404 →
:class:`Permanent` ("the post was deleted on LinkedIn").

``delete``: ``DELETE /rest/posts/{url-encoded urn}`` (204; 404 means already gone).
``verify``: for an organization author ``GET /rest/organizations/{id}`` → its
``localizedName``; for a person ``GET /v2/userinfo`` (OpenID Connect, needs the ``openid`` and
``profile`` scopes) → ``name``. Each is the cheapest authenticated call that also proves the
token matches the author kind we post as.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

import httpx

from publishers.base import MediaLimits, Metrics, PublishResult
from publishers.errors import AuthExpired, Permanent, PublishError, RateLimited, Transient
from publishers.http import parse_json, send
from publishers.media import MediaItem, load_media
from publishers.metrics import check_media_count, media_count_problems, post_deleted, read_metrics
from publishers.text import BREAKABLE_SPACE
from publishers.thread import OnConfirmed, harmless

LINKEDIN_TEXT_LIMIT = 3000
LINKEDIN_MAX_IMAGES = 20
LINKEDIN_IMAGE_MAX_BYTES = 5 * 1024 * 1024
LINKEDIN_IMAGE_MAX_SIDE = 6012  # images must have fewer than 36,152,320 pixels
LINKEDIN_VERSION = "202411"
DEFAULT_RATE_LIMIT_WAIT = 60.0

#: Characters that are markup in LinkedIn's "little text" format.
LITTLE_TEXT_RESERVED = "\\|{}@[]()<>#*_~"
_RESERVED_RE = re.compile("[" + re.escape(LITTLE_TEXT_RESERVED) + "]")
_DUPLICATE_RE = re.compile(r"duplicate of (urn:li:[A-Za-z]+:[\w-]+)")
_AUTHOR_RE = re.compile(r"urn:li:(person|organization):([\w-]+)")


def escape_little_text(text: str) -> str:
    """Backslash-escape every reserved character so LinkedIn shows ``text`` literally."""
    return _RESERVED_RE.sub(lambda m: "\\" + m.group(), text)


def post_url(urn: str) -> str:
    return f"https://www.linkedin.com/feed/update/{urn}/"


class LinkedInPublisher:
    """Posts as ``author_urn`` (``urn:li:person:…`` or ``urn:li:organization:…``)."""

    platform = "linkedin"
    media_limits = MediaLimits(
        max_count=LINKEDIN_MAX_IMAGES,
        max_bytes=LINKEDIN_IMAGE_MAX_BYTES,
        max_side=LINKEDIN_IMAGE_MAX_SIDE,
        formats=("image/jpeg", "image/png", "image/gif"),
    )

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        base_url: str = "https://api.linkedin.com",
        access_token: str,
        author_urn: str,
        version: str = LINKEDIN_VERSION,
    ) -> None:
        match = _AUTHOR_RE.fullmatch(author_urn.strip())
        if match is None:
            raise ValueError("author_urn must be urn:li:person:<id> or urn:li:organization:<id>")
        self._client = client
        self._base_url = base_url.rstrip("/")
        self._token = access_token
        self.author_urn = match.group()
        self.author_kind, self.author_id = match.group(1), match.group(2)
        self.version = version
        self.name = self.author_urn
        """The person's or organization's name once :meth:`verify` ran; the URN before."""

    def __repr__(self) -> str:  # never show the token
        return f"LinkedInPublisher(author_urn={self.author_urn!r})"

    # ------------------------------------------------------------------ protocol
    def validate(self, text: str, *, media_count: int = 0) -> list[str]:
        problems = media_count_problems("LinkedIn", self.media_limits, media_count)
        text = text.strip(BREAKABLE_SPACE)
        if not text:
            return ["the post is empty", *problems]
        if len(text) > LINKEDIN_TEXT_LIMIT:
            return [
                f"the post is too long for LinkedIn ({len(text)} characters, the limit is "
                f"{LINKEDIN_TEXT_LIMIT}; LinkedIn has no threads): shorten it",
                *problems,
            ]
        return problems

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
        """Post ``text`` (never split) with up to 20 images.

        ``already_posted``: a LinkedIn post is one part, so a non-empty value means it is
        already out; its result is returned and nothing is sent. LinkedIn has no idempotency
        key: a post that may have gone out raises ``OutcomeUnknown`` (``key`` is unused).
        """
        if already_posted:
            urn = str(already_posted[0])
            return PublishResult(external_id=urn, url=post_url(urn), part_ids=(urn,))
        problems = self.validate(text)
        if problems:
            raise Permanent(problems[0])
        files = [load_media(m) for m in media]
        check_media_count("LinkedIn", self.media_limits, len(files))
        for index, (_, name, mime) in enumerate(files, 1):
            if not mime.startswith("image/"):
                raise Permanent(f"attachment {index} ({name}) is not an image LinkedIn accepts")
        with harmless():  # an image no post uses is never seen
            images = [
                {
                    "id": await self._upload(data),
                    "altText": alt_texts[i] if i < len(alt_texts) else "",
                }
                for i, (data, _, _) in enumerate(files)
            ]
        body: dict[str, Any] = {
            "author": self.author_urn,
            "commentary": escape_little_text(text.strip(BREAKABLE_SPACE)),
            "visibility": "PUBLIC",
            "distribution": {
                "feedDistribution": "MAIN_FEED",
                "targetEntities": [],
                "thirdPartyDistributionChannels": [],
            },
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": False,
        }
        if len(images) == 1:
            body["content"] = {"media": images[0]}
        elif images:
            body["content"] = {"multiImage": {"images": images}}
        try:
            response = await self._request("POST", "/rest/posts", json=body)
        except _Duplicate as dup:
            urn = dup.urn
        else:
            urn = response.headers.get("x-restli-id", "")
            if not urn:
                raise Transient("LinkedIn did not say which post it created; check the page")
        return PublishResult(external_id=urn, url=post_url(urn), part_ids=(urn,))

    async def delete(self, external_id: str) -> None:
        """Delete the post with URN ``external_id``; a missing post is not an error."""
        try:
            await self._request(
                "DELETE",
                f"/rest/posts/{quote(external_id, safe='')}",
                headers={"X-RestLi-Method": "DELETE"},
            )
        except _NotFound:
            return

    async def fetch_metrics(self, result: PublishResult) -> Metrics:
        """The counters of the post (``GET /rest/socialActions/{url-encoded urn}``).

        A LinkedIn post is never split, so ``result.external_id`` is the whole post. likes =
        ``likesSummary.totalLikes``, replies = ``commentsSummary.aggregatedTotalComments``
        (``totalFirstLevelComments`` when absent); LinkedIn's social actions count no reposts
        (0) and no views. A deleted post (404) is :class:`Permanent`.
        """
        try:
            response = await self._request(
                "GET", f"/rest/socialActions/{quote(result.external_id, safe='')}"
            )
        except _NotFound as exc:
            raise post_deleted("LinkedIn") from exc
        actions = parse_json(response)
        if not isinstance(actions, dict):
            raise Transient("LinkedIn sent an unreadable answer about the post's reactions")
        comments = actions.get("commentsSummary") or {}
        total = "aggregatedTotalComments" if "aggregatedTotalComments" in comments else None
        return read_metrics(
            actions,
            likes=["likesSummary.totalLikes"],
            replies=[f"commentsSummary.{total or 'totalFirstLevelComments'}"],
        )

    async def verify(self) -> str:
        """Check the token; return the organization's or person's name (kept as :attr:`name`)."""
        if self.author_kind == "organization":
            response = await self._request("GET", f"/rest/organizations/{self.author_id}")
            self.name = str(response.json().get("localizedName") or self.name)
        else:
            response = await self._request("GET", "/v2/userinfo")
            info = response.json()
            if info.get("sub") and info["sub"] != self.author_id:
                raise Permanent(
                    "the LinkedIn token belongs to another person than the one we post as: "
                    "reconnect the account"
                )
            self.name = str(info.get("name") or self.name)
        return self.name

    # ------------------------------------------------------------------ helpers
    async def _upload(self, data: bytes) -> str:
        response = await self._request(
            "POST",
            "/rest/images?action=initializeUpload",
            json={"initializeUploadRequest": {"owner": self.author_urn}},
        )
        value = response.json()["value"]
        await self._request("PUT", str(value["uploadUrl"]), content=data, absolute=True)
        return str(value["image"])

    async def _request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        absolute: bool = False,
    ) -> httpx.Response:
        sent = {
            "Authorization": f"Bearer {self._token}",
            "Linkedin-Version": self.version,
            "X-Restli-Protocol-Version": "2.0.0",
            **(headers or {}),
        }
        url = path if absolute else self._base_url + path
        response = await send(
            self._client, method, url, platform="LinkedIn", json=json, content=content, headers=sent
        )
        if response.is_success:
            return response
        raise self._error(response)

    def _error(self, response: httpx.Response) -> PublishError:
        status = response.status_code
        body = parse_json(response)
        message = str((body or {}).get("message") or f"HTTP {status}")
        if self._token:
            message = message.replace(self._token, "***")
        if status == 401:
            return AuthExpired(
                f"LinkedIn rejected the access token for {self.author_urn}: reconnect the account"
            )
        if status == 429:
            wait = DEFAULT_RATE_LIMIT_WAIT
            try:
                wait = max(float(response.headers.get("Retry-After", "")), 1.0)
            except ValueError:
                pass
            return RateLimited(wait, f"LinkedIn asked to wait {wait:g} seconds")
        if status >= 500 or status == 408:
            return Transient(f"LinkedIn had a server error ({message}); will retry")
        if status == 404:
            return _NotFound(f"LinkedIn could not find it: {message}")
        if status == 422 and (dup := _DUPLICATE_RE.search(message)):
            return _Duplicate(dup.group(1))
        if status == 403:
            return Permanent(f"LinkedIn does not let this account do that: {message}")
        return Permanent(f"LinkedIn refused the post: {message}")


class _NotFound(Permanent):
    """A 404: ``delete`` reads it as "already gone"."""


class _Duplicate(Permanent):
    """LinkedIn already has this exact post (``urn``): publishing it again is a success."""

    def __init__(self, urn: str) -> None:
        super().__init__(f"LinkedIn already has this post ({urn})")
        self.urn = urn
