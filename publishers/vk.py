"""Publish posts to a VK community wall (VK API methods over raw httpx).

Calls: every method is ``POST {base_url}/{method}`` with a form-encoded body that carries the
method's parameters plus ``access_token`` and ``v`` (the API version). The token travels only in
the body, never in a URL.

Posting: ``wall.post`` with ``owner_id=-group_id`` and ``from_group=1`` (the post appears as the
community, not as the admin), ``message`` and optionally ``attachments``. Each post carries a
``guid`` derived from the publication's ``key``, the whole text, the part's position and the
part's text: VK refuses to create a second post with the same ``guid`` and answers with the
first one's id, so a part whose answer timed out is resent once at once (then left to the
scheduler's next attempt as a plain ``Transient``) and never appears twice.
The message limit is 16384 characters (counted with ``len``: code points); a longer text becomes
several wall posts, in order (VK walls have no reply chains), the attachments on the first one.

Photos: ``publish(..., media=[bytes | path, ...])`` uploads each image with
``photos.getWallUploadServer(group_id)`` → multipart upload (field ``photo``) to the returned
``upload_url`` → ``photos.saveWallPhoto(group_id, photo, server, hash)``; the saved photo becomes
the attachment ``photo{owner_id}_{id}``. At most 10 attachments per post (VK's limit).

Errors: VK answers HTTP 200 with ``{"error": {"error_code": N, "error_msg": ...,
"request_params": [...]}}``. Mapping:

====  ==========================  ==========================================================
code  VK meaning                  raised
====  ==========================  ==========================================================
5     user authorization failed   :class:`AuthExpired`
6     too many requests / second  :class:`RateLimited` after 1 s (VK allows 3 calls a second)
9     flood control               :class:`RateLimited` after 60 s (too many same actions)
10    internal server error       :class:`Transient`
14    captcha needed              :class:`Permanent` ("VK asks for a captcha; post manually
                                  once"): a bot can't solve it and retrying only re-asks
29    rate limit reached          :class:`RateLimited` after 3600 s (the method's daily quota)
100+  invalid parameter, other    :class:`Permanent` with VK's ``error_msg``
====  ==========================  ==========================================================

Metrics: ``wall.getById`` with ``posts=-{group_id}_{post_id}`` (the first wall post of a split
post): likes = ``likes.count``, reposts = ``reposts.count``, replies = ``comments.count``, views
= ``views.count``. A deleted post is left out of the answer: :class:`Permanent`.

HTTP 5xx, timeouts and network errors → :class:`Transient`. VK echoes ``request_params`` in its
errors, which may include the token; no reason ever shows them, and the token is scrubbed from
``error_msg`` as well.

Ids: ``external_id`` (and every ``part_ids`` item) is the ``post_id`` as a string; the post's
address is ``https://vk.com/wall-{group_id}_{post_id}``. ``delete`` calls ``wall.delete``; VK
answers ``1`` for a post that is already deleted (it stays restorable), and a post id that never
existed (error 100) is treated as gone too. ``verify`` calls ``groups.getById`` and returns the
community's name.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import httpx

from publishers.base import MediaLimits, Metrics, PublishResult
from publishers.errors import (
    AuthExpired,
    Permanent,
    PublishError,
    RateLimited,
    Transient,
)
from publishers.http import parse_json, send
from publishers.media import MediaItem, load_media
from publishers.metrics import check_media_count, media_count_problems, post_deleted, read_metrics
from publishers.parts import validate_parts
from publishers.text import split_text
from publishers.thread import OnConfirmed, harmless, key_digest, post_thread

VK_MESSAGE_LIMIT = 16384
VK_MAX_ATTACHMENTS = 10
VK_PHOTO_MAX_BYTES = 50 * 1024 * 1024
VK_PHOTO_MAX_SIDE = 7000  # VK wants width + height at most 14000 px
VK_API_VERSION = "5.199"

#: error_code -> seconds to wait, for VK's three rate-limit signals.
VK_RATE_LIMIT_WAITS = {6: 1.0, 9: 60.0, 29: 3600.0}
VK_CAPTCHA_REASON = "VK asks for a captcha; post manually once"


def make_guid(text: str, index: int, part: str, seed: str = "") -> str:
    """The ``guid`` of wall post ``index`` (text ``part``) of ``text``: deterministic."""
    return key_digest("nexus-vk-v1", seed, text, str(index), part)[:32]


class VKPublisher:
    """Posts on the wall of community ``group_id`` with a community (or admin) access token."""

    platform = "vk"
    media_limits = MediaLimits(
        max_count=VK_MAX_ATTACHMENTS,
        max_bytes=VK_PHOTO_MAX_BYTES,
        max_side=VK_PHOTO_MAX_SIDE,
        formats=("image/jpeg", "image/png", "image/gif"),
    )

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        base_url: str = "https://api.vk.com/method",
        access_token: str,
        group_id: int,
        api_version: str = VK_API_VERSION,
    ) -> None:
        self._client = client
        self._base_url = base_url.rstrip("/")
        self._token = access_token
        self.group_id = abs(int(group_id))
        self.api_version = api_version
        self.name = f"vk.com/club{self.group_id}"
        """The community's name once :meth:`verify` ran; ``vk.com/club{id}`` before."""

    def __repr__(self) -> str:  # never show the token
        return f"VKPublisher(group_id={self.group_id})"

    # ------------------------------------------------------------------ protocol
    def validate(self, text: str, *, media_count: int = 0) -> list[str]:
        return validate_parts(text, self.split) + media_count_problems(
            "VK", self.media_limits, media_count
        )

    def split(self, text: str) -> list[str]:
        """The wall posts ``text`` becomes (one unless it is over 16384 characters)."""
        return split_text(text, VK_MESSAGE_LIMIT, len)

    def post_url(self, post_id: str) -> str:
        return f"https://vk.com/wall-{self.group_id}_{post_id}"

    async def publish(
        self,
        text: str,
        *,
        already_posted: Sequence[str] = (),
        media: Sequence[MediaItem] = (),
        key: str = "",
        on_confirmed: OnConfirmed | None = None,
    ) -> PublishResult:
        """Post ``text`` as one wall post (several if too long), photos on the first one.

        ``already_posted``: the confirmed parts of a failed attempt with the *same* text; only
        the rest is posted. ``key`` (the publication's, e.g. ``"pub-7"``) is mixed into every
        post's ``guid``: a post that timed out is resent at once with the same ``guid`` and VK
        answers with the post it already made; deliberate repeats of one text are told apart.
        """
        parts = self.split(text)
        files = [load_media(m) for m in media] if not already_posted else []
        check_media_count("VK", self.media_limits, len(files))
        for index, (_, name, mime) in enumerate(files, 1):
            if not mime.startswith("image/"):
                raise Permanent(f"attachment {index} ({name}) is not an image VK accepts")
        with harmless():  # a saved photo nobody posted is never seen
            attachments = [await self._upload_photo(data, name, mime) for data, name, mime in files]

        async def send_part(index: int, previous: str | None) -> str:
            params: dict[str, Any] = {
                "owner_id": -self.group_id,
                "from_group": 1,
                "message": parts[index],
                "guid": make_guid(text, index, parts[index], key),
            }
            if index == 0 and attachments:
                params["attachments"] = ",".join(attachments)
            answer = await self._call("wall.post", params)
            return str(answer["post_id"])

        posted = await post_thread(
            parts,
            already_posted,
            send_part,
            noun="wall posts",
            resend_is_safe=True,
            on_confirmed=on_confirmed,
        )
        return PublishResult(
            external_id=posted[0], url=self.post_url(posted[0]), part_ids=tuple(posted)
        )

    async def delete(self, external_id: str) -> None:
        """Delete one wall post; for a split post call it for each of ``part_ids``."""
        try:
            await self._call("wall.delete", {"owner_id": -self.group_id, "post_id": external_id})
        except _InvalidParameter:
            return  # a post id that never existed: nothing to delete

    async def fetch_metrics(self, result: PublishResult) -> Metrics:
        """The counters of the wall post (``wall.getById`` with ``posts=-{group}_{post}``).

        For a post split over several wall posts these are the first one's
        (``result.external_id``), the one that carries the photos. likes = ``likes.count``,
        reposts = ``reposts.count``, replies = ``comments.count``, views = ``views.count``.
        A deleted post is missing from the answer: :class:`Permanent`.
        """
        wanted = f"-{self.group_id}_{result.external_id}"
        answer = await self._call("wall.getById", {"posts": wanted})
        # API 5.186+ answers {"items": [...]}; older versions a bare list.
        items = answer.get("items") if isinstance(answer, dict) else answer
        post = next(
            (
                p
                for p in items or []
                if isinstance(p, dict) and str(p.get("id")) == str(result.external_id)
            ),
            None,
        )
        if post is None:
            raise post_deleted("VK")
        return read_metrics(
            post,
            likes=["likes.count"],
            reposts=["reposts.count"],
            replies=["comments.count"],
            views="views.count",
        )

    async def verify(self) -> str:
        """Check the token with ``groups.getById``; return the community's name."""
        answer = await self._call("groups.getById", {"group_id": self.group_id})
        # API 5.194+ answers {"groups": [...], "profiles": [...]}; older versions a bare list.
        groups = answer.get("groups") if isinstance(answer, dict) else answer
        if not groups:
            raise Permanent(f"VK has no community with id {self.group_id}")
        self.name = str(groups[0].get("name") or self.name)
        return self.name

    # ------------------------------------------------------------------ helpers
    async def _upload_photo(self, data: bytes, name: str, mime: str) -> str:
        server = await self._call("photos.getWallUploadServer", {"group_id": self.group_id})
        try:
            response = await self._client.post(
                str(server["upload_url"]), files={"photo": (name, data, mime)}
            )
        except httpx.TimeoutException as exc:
            raise Transient("VK's photo upload server did not answer in time; will retry") from exc
        except httpx.HTTPError as exc:
            raise Transient("could not upload the photo to VK (network error); will retry") from exc
        if response.status_code >= 500:
            raise Transient(f"VK's photo upload server failed (HTTP {response.status_code})")
        uploaded = parse_json(response)
        if not isinstance(uploaded, dict) or "error" in uploaded:
            raise Permanent(f"VK did not accept the photo {name}")
        photo = str(uploaded.get("photo") or "")
        try:
            empty = json.loads(photo or "[]") == []
        except ValueError:
            empty = False  # not JSON: let photos.saveWallPhoto judge it
        if empty:
            raise Permanent(f"VK did not accept the photo {name} (not an image it can read)")
        saved = await self._call(
            "photos.saveWallPhoto",
            {
                "group_id": self.group_id,
                "photo": photo,
                "server": uploaded.get("server"),
                "hash": uploaded.get("hash"),
            },
        )
        if not saved:
            raise Transient(f"VK did not save the photo {name}; will retry")
        first = saved[0]
        return f"photo{first['owner_id']}_{first['id']}"

    async def _call(self, method: str, params: dict[str, Any]) -> Any:
        form = {k: str(v) for k, v in params.items() if v is not None}
        form.update(access_token=self._token, v=self.api_version)
        response = await send(
            self._client,
            "POST",
            f"{self._base_url}/{method}",
            platform="VK",
            idempotent=method != "wall.post",  # every method is a POST; only this one posts
            data=form,
        )
        if response.status_code >= 500:
            raise Transient(f"VK had a server error (HTTP {response.status_code}); will retry")
        body = parse_json(response)
        if not isinstance(body, dict):
            raise Transient(f"VK sent an unreadable answer (HTTP {response.status_code})")
        if isinstance(body.get("error"), dict):
            raise self._error(method, body["error"])
        if "response" not in body:
            raise Transient(f"VK sent an unexpected answer (HTTP {response.status_code})")
        return body["response"]

    def _error(self, method: str, error: dict[str, Any]) -> PublishError:
        # ``request_params`` is deliberately never read: VK may echo the token there.
        try:
            code = int(error.get("error_code") or 0)
        except (TypeError, ValueError):
            code = 0
        message = str(error.get("error_msg") or f"error {code}")
        if self._token:
            message = message.replace(self._token, "***")
        if code == 5:
            return AuthExpired(
                f"VK rejected the access token for community {self.group_id}: reconnect it"
            )
        if code in VK_RATE_LIMIT_WAITS:
            wait = VK_RATE_LIMIT_WAITS[code]
            return RateLimited(wait, f"VK asked to wait {wait:g} seconds ({code})")
        if code == 14:
            return Permanent(VK_CAPTCHA_REASON)
        if code == 10:
            return Transient(f"VK had an internal error ({message}); will retry")
        if code == 100:
            return _InvalidParameter(f"VK refused {method}: {message}")
        return Permanent(f"VK refused {method} (error {code}): {message}")


class _InvalidParameter(Permanent):
    """VK error 100 (a parameter is missing or invalid); ``delete`` reads it as "not found"."""
