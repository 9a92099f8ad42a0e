"""A loopback Instagram Graph API server for tests (content publishing, as Meta validates it).

It serves, on 127.0.0.1 and a random port (``base_url`` is ``http://127.0.0.1:N/v21.0``):

* ``GET /{ig_user_id}/content_publishing_limit`` → ``{"data": [{"quota_usage", "config":
  {"quota_total", "quota_duration"}}]}`` (usage: posts published here plus ``used_quota``);
* ``POST /{ig_user_id}/media``: ``image_url`` (+ optional ``is_carousel_item=true``) and
  ``caption``, or ``media_type=CAROUSEL`` with ``children`` (2–10 finished carousel items). The
  caption may hold at most 2200 characters and 30 hashtags. The fake DOWNLOADS ``image_url``
  as Meta does: an address that does not answer is error 9004/2207052, anything but a JPEG is
  refused, and an aspect ratio outside 4:5…1.91:1 is 36003/2207009;
* ``GET /{container_id}?fields=status_code`` → PUBLISHED once published, else IN_PROGRESS
  ``processing_polls`` times, then
  FINISHED (or ERROR for a container named in ``broken_containers``);
* ``POST /{ig_user_id}/media_publish`` with ``creation_id`` (a FINISHED container; otherwise
  9007/2207027; over the quota 4/2207042);
* ``GET /{media_id}?fields=permalink,like_count,comments_count`` and
  ``GET /{ig_user_id}?fields=username``.

Every call needs ``access_token`` equal to ``token`` (code 190 otherwise). Errors use the Graph
format of :mod:`tests.fakes.threads`. Tests inspect ``posts`` / ``containers`` / ``calls``, inject
errors with ``fail_next(path, code)`` and slow answers with ``delay(path, seconds)``.
"""

from __future__ import annotations

import io
import itertools
import re
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from PIL import Image

from tests.fakes.loopback import LoopbackServer
from tests.fakes.public import fetch_image
from tests.fakes.threads import GRAPH_ERRORS, Call, FakeThreads, _Failure, _GraphError


@dataclass
class IgContainer:
    id: str
    caption: str
    images: list[bytes]
    carousel_item: bool = False
    media_type: str = "IMAGE"
    status: str = "IN_PROGRESS"
    polls_left: int = 0
    media_id: str | None = None


@dataclass
class IgPost:
    id: str
    caption: str
    media_type: str
    images: list[bytes]
    shortcode: str
    like_count: int = 0
    comments_count: int = 0


@dataclass
class FakeInstagram(LoopbackServer):
    token: str = "EAAG-instagram-secret-token"
    user_id: str = "17841400000000042"
    username: str = "nexus.daily"
    quota_total: int = 100
    used_quota: int = 0
    """API posts made elsewhere in the last 24 hours (add to what was published here)."""
    processing_polls: int = 0
    broken_containers: set[str] = field(default_factory=set)

    base_path = "/v21.0"

    def __post_init__(self) -> None:
        super().__init__()
        self.calls: list[Call] = []
        self.containers: dict[str, IgContainer] = {}
        self.media: dict[str, IgPost] = {}
        self._ids = itertools.count(17_900_000_000_000_001)

    # ------------------------------------------------------------ scenario control
    def fail_next(
        self,
        path: str,
        code: int,
        message: str | None = None,
        *,
        subcode: int | None = None,
        http_status: int | None = None,
        times: int = 1,
        after: int = 0,
    ) -> None:
        """Make ``times`` requests to ``path`` (without ``/v21.0``) fail with Graph error
        ``code`` after ``after`` succeed."""
        default = GRAPH_ERRORS.get(code, ("Unknown error", "OAuthException"))[0]
        status = http_status or (500 if code in (1, 2) else 400)
        failure = _Failure(code, message or default, subcode, status)
        self._queue_failure(path, failure, times=times, after=after)

    # ------------------------------------------------------------ inspection
    @property
    def posts(self) -> list[IgPost]:
        return list(self.media.values())

    def calls_to(self, method: str, path: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and c.path == path]

    # ------------------------------------------------------------ plumbing
    async def _handle(self, request: web.Request) -> web.Response:
        path = request.path.removeprefix(self.base_path)
        params: dict[str, str] = dict(request.query)
        if request.content_type == "application/x-www-form-urlencoded":
            params.update({k: str(v) for k, v in (await request.post()).items()})
        self.calls.append(Call(request.method, path, params))
        if f := await self._checkpoint(path):
            return FakeThreads._error(f.code, f.message, f.subcode, f.http_status)
        if params.get("access_token") != self.token:
            return FakeThreads._error(190, "Error validating access token", 463)
        try:
            return web.json_response(await self._route(request.method, path, params))
        except _GraphError as err:
            return FakeThreads._error(err.code, err.message, err.subcode)

    async def _route(self, method: str, path: str, params: dict[str, str]) -> dict[str, Any]:
        segments = path.strip("/").split("/")
        user = segments[0] == self.user_id
        if method == "GET" and user and segments[1:] == ["content_publishing_limit"]:
            return {
                "data": [
                    {
                        "quota_usage": self._usage(),
                        "config": {"quota_total": self.quota_total, "quota_duration": 86400},
                    }
                ]
            }
        if method == "POST" and user and segments[1:] == ["media"]:
            return await self._create(params)
        if method == "POST" and user and segments[1:] == ["media_publish"]:
            return self._publish(params.get("creation_id", ""))
        if method == "GET" and len(segments) == 1:
            return self._read(segments[0], params.get("fields", "").split(","))
        raise _GraphError(100, "Unsupported request: unknown path components", 33)

    def _usage(self) -> int:
        return self.used_quota + len(self.media)

    async def _create(self, params: dict[str, str]) -> dict[str, Any]:
        caption = params.get("caption", "")
        if len(caption) > 2200:
            raise _GraphError(100, "The caption is too long (at most 2200 characters)", 2207010)
        if len(re.findall(r"(?<![\w&])#\w+", caption)) > 30:
            raise _GraphError(100, "The caption has more than 30 hashtags", 2207011)
        container_id = str(next(self._ids))
        if params.get("media_type") == "CAROUSEL":
            images = self._children(params.get("children", ""))
            container = IgContainer(container_id, caption, images, media_type="CAROUSEL")
        else:
            if params.get("media_type") not in (None, "IMAGE"):
                raise _GraphError(100, "Only image posts are supported by this fake")
            url = params.get("image_url")
            if not url:
                raise _GraphError(100, "The parameter image_url is required")
            data = await self._download(url)
            carousel_item = params.get("is_carousel_item") == "true"
            if carousel_item and caption:
                raise _GraphError(100, "Carousel items can't have a caption")
            container = IgContainer(container_id, caption, [data], carousel_item=carousel_item)
        container.polls_left = self.processing_polls
        self.containers[container_id] = container
        return {"id": container_id}

    async def _download(self, url: str) -> bytes:
        fetched = await fetch_image(url)
        if fetched is None:
            raise _GraphError(
                9004,
                "Media download has failed.: The media URI doesn't meet our requirements.",
                2207052,
            )
        data, mime = fetched
        if mime != "image/jpeg":
            raise _GraphError(9004, "Only photo or video can be accepted as media type.", 2207026)
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
        if not 0.8 <= width / height <= 1.91:
            raise _GraphError(
                36003,
                f"The submitted image with aspect ratio ('{width}', '{height}') cannot be "
                "published. Please submit an image with a valid aspect ratio.",
                2207009,
            )
        return data

    def _children(self, children: str) -> list[bytes]:
        ids = [i for i in children.split(",") if i]
        if not 2 <= len(ids) <= 10:
            raise _GraphError(100, "The carousel must have between 2 and 10 children", 2207004)
        images: list[bytes] = []
        for child_id in ids:
            child = self.containers.get(child_id)
            if child is None or not child.carousel_item:
                raise _GraphError(100, f"Child {child_id} is not a carousel item", 2207006)
            if self._status(child) != "FINISHED":
                raise _GraphError(9007, "Media ID is not available", 2207027)
            images += child.images
        return images

    def _status(self, container: IgContainer) -> str:
        if container.id in self.broken_containers:
            container.status = "ERROR"
        elif container.status == "IN_PROGRESS":
            if container.polls_left > 0:
                container.polls_left -= 1
            else:
                container.status = "FINISHED"
        return container.status

    def _publish(self, creation_id: str) -> dict[str, Any]:
        container = self.containers.get(creation_id)
        if container is None:
            raise _GraphError(100, "The parameter creation_id is invalid", 33)
        if container.carousel_item:
            raise _GraphError(100, "A carousel item can't be published on its own", 2207006)
        if container.media_id is not None:
            raise _GraphError(100, "The media has already been published", 2207008)
        if container.status != "FINISHED":
            raise _GraphError(9007, "Media ID is not available", 2207027)
        if self._usage() >= self.quota_total:
            raise _GraphError(4, "Application request limit reached", 2207042)
        media_id = str(next(self._ids))
        container.media_id = media_id
        shortcode = f"C{int(media_id) % 10**9:x}"
        self.media[media_id] = IgPost(
            media_id, container.caption, container.media_type, container.images, shortcode
        )
        return {"id": media_id}

    def _read(self, object_id: str, fields: list[str]) -> dict[str, Any]:
        if object_id == self.user_id:
            return {"id": self.user_id, "username": self.username}
        if container := self.containers.get(object_id):
            published = container.media_id is not None
            return {
                "id": object_id,
                "status_code": "PUBLISHED" if published else self._status(container),
            }
        post = self.media.get(object_id)
        if post is None:
            raise _GraphError(100, f"Object with ID '{object_id}' does not exist", 33)
        values = {
            "permalink": f"https://www.instagram.com/p/{post.shortcode}/",
            "like_count": post.like_count,
            "comments_count": post.comments_count,
            "media_type": "CAROUSEL_ALBUM" if post.media_type == "CAROUSEL" else "IMAGE",
        }
        return {"id": post.id, **{f: values[f] for f in fields if f in values}}
