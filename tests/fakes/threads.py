"""A loopback Threads Graph API server for tests (text posts, reply chains, permalinks).

It serves, on 127.0.0.1 and a random port (``base_url`` is ``http://127.0.0.1:N/v1.0``):

* ``POST /v1.0/{user_id}/threads`` (form or query): ``media_type=TEXT`` (other types: error
  100), ``text`` at most 500 characters, optional ``reply_to_id`` that must be a published post
  → ``{"id": creation_id}`` (an unpublished container);
* ``POST /v1.0/{user_id}/threads_publish`` with ``creation_id`` (a container of this user, not
  yet published) → ``{"id": media_id}``;
  ``media_type=IMAGE`` with an ``image_url`` that the fake downloads (JPEG or PNG, ≤ 8 MB,
  else the container's status is ERROR), optionally ``is_carousel_item=true``;
  ``media_type=CAROUSEL`` with ``children`` (2–20 finished carousel items);
* ``GET /v1.0/{container_id}?fields=status`` (PUBLISHED once published; IN_PROGRESS
  ``processing_polls`` times, then
  FINISHED); publishing a container that is not FINISHED is error 9007;
* ``GET /v1.0/{user_id}/threads_publishing_limit?fields=quota_usage,config`` →
  ``{"data": [{"quota_usage", "config": {"quota_total": 250, "quota_duration": 86400}}]}``:
  usage is the chains started here (replies don't count) plus ``used_quota`` (posts made
  elsewhere); publishing a chain's first post with none left is answered with code 4
  ("Application request limit reached": Meta documents the limit, not its error, and code 4 is
  the Graph rate-limit code it uses);
* ``GET /v1.0/{media_id}/insights?metric=...`` in Meta's ``{"data": [{"name", "values":
  [{"value"}]}]}`` form (tests set ``post.insights``);
* ``GET /v1.0/{media_id}?fields=permalink`` and ``GET /v1.0/me?fields=username``;
* ``DELETE /v1.0/{media_id}`` → ``{"success": true}``;
* ``GET /refresh_access_token?grant_type=th_refresh_token&access_token=…`` (at the root, no
  version) → ``{"access_token", "token_type": "bearer", "expires_in": 5184000}``: a new
  token replaces ``token`` (the old one stops working here, which shows it was stored); a token
  younger than 24 hours (``token_age_hours``) is refused with code 190.

Every call needs ``access_token`` (query or form) equal to ``token``: otherwise code 190. Errors
come in Graph format ``{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}``
with the HTTP status Meta uses (400 for most, 500 for codes 1 and 2). Unknown ids answer code
100 subcode 33. Tests inspect ``posts`` / ``containers`` / ``calls``, inject errors with
``fail_next(path, code)`` (``path`` without the version, e.g. ``"/{user}/threads_publish"``) and
slow answers with ``delay(path, seconds)``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.loopback import LoopbackServer
from tests.fakes.public import fetch_image

GRAPH_ERRORS: dict[int, tuple[str, str]] = {
    1: ("An unknown error occurred", "OAuthException"),
    2: ("An unexpected error has occurred. Please retry your request later.", "OAuthException"),
    4: ("Application request limit reached", "OAuthException"),
    17: ("User request limit reached", "OAuthException"),
    32: ("Page request limit reached", "OAuthException"),
    100: ("Invalid parameter", "OAuthException"),
    190: ("Invalid OAuth access token - Cannot parse access token", "OAuthException"),
    613: ("Calls to this api have exceeded the rate limit.", "OAuthException"),
}


@dataclass
class Call:
    method: str
    path: str
    params: dict[str, str]


@dataclass
class Container:
    id: str
    text: str
    reply_to_id: str | None
    media_id: str | None = None
    media_type: str = "TEXT"
    images: list[bytes] = field(default_factory=list)
    """What Threads downloaded from ``image_url`` (a carousel: from each child, in order)."""
    carousel_item: bool = False
    status: str = "FINISHED"
    error_message: str | None = None
    polls_left: int = 0


@dataclass
class ThreadsPost:
    id: str
    text: str
    reply_to_id: str | None
    shortcode: str
    deleted: bool = False
    media_type: str = "TEXT"
    images: list[bytes] = field(default_factory=list)
    insights: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(("views", "likes", "replies", "reposts", "quotes"), 0)
    )


@dataclass
class _Failure:
    code: int
    message: str
    subcode: int | None
    http_status: int


class FakeThreads(LoopbackServer):
    base_path = "/v1.0"
    calls: list[Call]

    def __init__(
        self,
        *,
        token: str = "THAAG-threads-secret-token",
        user_id: str = "17841400000000001",
        username: str = "nexus.daily",
    ) -> None:
        super().__init__()
        self.token = token
        self.user_id = user_id
        self.username = username
        self.containers: dict[str, Container] = {}
        self.processing_polls = 0
        """How many status reads answer IN_PROGRESS before an image container is FINISHED."""
        self.media: dict[str, ThreadsPost] = {}
        self._ids = itertools.count(18_028_000_000_000_001)
        self.token_age_hours = 24 * 30
        """How old the current token is; Threads refreshes only tokens 24 hours or older."""
        self.refreshes = 0
        self.quota_total = 250
        self.used_quota = 0
        """Posts of the last 24 hours made elsewhere (they count against the limit too)."""

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
        """Make ``times`` requests to ``path`` (without ``/v1.0``) fail with Graph error
        ``code`` after ``after`` succeed."""
        default_message = GRAPH_ERRORS.get(code, ("Unknown error", "OAuthException"))[0]
        status = http_status or (500 if code in (1, 2) else 400)
        failure = _Failure(code, message or default_message, subcode, status)
        self._queue_failure(path, failure, times=times, after=after)

    # ------------------------------------------------------------ inspection
    @property
    def posts(self) -> list[ThreadsPost]:
        """Published posts that exist now, in publishing order."""
        return [p for p in self.media.values() if not p.deleted]

    def calls_to(self, method: str, path: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and c.path == path]

    @property
    def quota_usage(self) -> int:
        """Posts counted against the publishing limit (chains started, not their replies)."""
        return self.used_quota + sum(p.reply_to_id is None for p in self.media.values())

    # ------------------------------------------------------------ plumbing
    @staticmethod
    def _error(
        code: int, message: str, subcode: int | None = None, status: int | None = None
    ) -> web.Response:
        error: dict[str, Any] = {
            "message": message,
            "type": GRAPH_ERRORS.get(code, ("", "OAuthException"))[1],
            "code": code,
            "fbtrace_id": "AbCdEfGhIjKl",
        }
        if subcode is not None:
            error["error_subcode"] = subcode
        return web.json_response(
            {"error": error}, status=status or (500 if code in (1, 2) else 400)
        )

    async def _handle(self, request: web.Request) -> web.Response:
        if request.path == "/refresh_access_token":
            self.calls.append(Call(request.method, request.path, dict(request.query)))
            return self._refresh(dict(request.query))
        if not request.path.startswith("/v1.0/"):
            return self._error(100, "Unknown path components", 2500)
        path = request.path.removeprefix("/v1.0")
        params: dict[str, str] = dict(request.query)
        if request.content_type == "application/x-www-form-urlencoded":
            form = await request.post()
            params.update({k: str(v) for k, v in form.items()})
        self.calls.append(Call(request.method, path, params))
        if f := await self._checkpoint(path):
            return self._error(f.code, f.message, f.subcode, f.http_status)
        if params.get("access_token") != self.token:
            return self._error(190, GRAPH_ERRORS[190][0])
        try:
            return web.json_response(await self._route(request.method, path, params))
        except _GraphError as err:
            return self._error(err.code, err.message, err.subcode)

    async def _route(self, method: str, path: str, params: dict[str, str]) -> dict[str, Any]:
        segments = path.strip("/").split("/")
        if method == "POST" and len(segments) == 2 and segments[1] == "threads":
            self._check_user(segments[0])
            return await self._create(params)
        if method == "GET" and len(segments) == 2 and segments[1] == "insights":
            return self._insights(segments[0], params)
        if method == "GET" and len(segments) == 1 and segments[0] in self.containers:
            return self._container_status(self.containers[segments[0]])
        if method == "POST" and len(segments) == 2 and segments[1] == "threads_publish":
            self._check_user(segments[0])
            return self._publish(params)
        if method == "GET" and len(segments) == 2 and segments[1] == "threads_publishing_limit":
            self._check_user(segments[0])
            config = {"quota_total": self.quota_total, "quota_duration": 86400}
            return {"data": [{"quota_usage": self.quota_usage, "config": config}]}
        if method == "GET" and segments == ["me"]:
            return {"id": self.user_id, "username": self.username}
        if len(segments) == 1 and method in ("GET", "DELETE"):
            post = self.media.get(segments[0])
            if post is None or post.deleted:
                raise _GraphError(
                    100,
                    f"Unsupported {method.lower()} request. Object with ID '{segments[0]}' does "
                    "not exist, cannot be loaded due to missing permissions, or does not "
                    "support this operation",
                    33,
                )
            if method == "DELETE":
                post.deleted = True
                return {"success": True}
            answer: dict[str, Any] = {"id": post.id}
            if "permalink" in params.get("fields", "").split(","):
                answer["permalink"] = (
                    f"https://www.threads.net/@{self.username}/post/{post.shortcode}"
                )
            return answer
        raise _GraphError(100, "Unknown path components", 2500)

    def _refresh(self, params: dict[str, str]) -> web.Response:
        if params.get("grant_type") != "th_refresh_token":
            return self._error(100, "Invalid grant_type: expected th_refresh_token")
        if params.get("access_token") != self.token:
            return self._error(190, GRAPH_ERRORS[190][0])
        if self.token_age_hours < 24:
            return self._error(190, "The access token must be at least 24 hours old to refresh")
        self.refreshes += 1
        self.token, self.token_age_hours = f"THAAG-renewed-{self.refreshes}", 0
        return web.json_response(
            {"access_token": self.token, "token_type": "bearer", "expires_in": 5184000}
        )

    def _check_user(self, user_id: str) -> None:
        if user_id not in (self.user_id, "me"):
            raise _GraphError(100, "Object does not exist or missing permissions", 33)

    async def _create(self, params: dict[str, str]) -> dict[str, Any]:
        media_type = params.get("media_type")
        if media_type not in ("TEXT", "IMAGE", "CAROUSEL"):
            raise _GraphError(100, "Param media_type must be one of {TEXT, IMAGE, VIDEO, CAROUSEL}")
        text = params.get("text", "")
        if media_type == "TEXT" and not text.strip():
            raise _GraphError(100, "Param text is required for TEXT posts")
        if len(text) > 500:
            raise _GraphError(100, "Param text must be at most 500 characters long", 4279009)
        reply_to = params.get("reply_to_id")
        if reply_to is not None:
            parent = self.media.get(reply_to)
            if parent is None or parent.deleted:
                raise _GraphError(100, "The post you are replying to does not exist", 4279011)
        container = Container(str(next(self._ids)), text, reply_to, media_type=media_type)
        if media_type == "IMAGE":
            await self._image(container, params)
        elif media_type == "CAROUSEL":
            self._carousel(container, params)
        self.containers[container.id] = container
        return {"id": container.id}

    async def _image(self, container: Container, params: dict[str, str]) -> None:
        """Threads downloads ``image_url`` now; a failure shows later as status ERROR."""
        url = params.get("image_url")
        if not url:
            raise _GraphError(100, "Param image_url is required for IMAGE posts")
        container.carousel_item = params.get("is_carousel_item") == "true"
        fetched = await fetch_image(url)
        if fetched is None or fetched[1] not in ("image/jpeg", "image/png"):
            container.status, container.error_message = "ERROR", "UNKNOWN"
        elif len(fetched[0]) > 8 * 1024 * 1024:
            container.status, container.error_message = "ERROR", "UNKNOWN"
        else:
            container.images = [fetched[0]]
            container.status, container.polls_left = "IN_PROGRESS", self.processing_polls
            if not self.processing_polls:
                container.status = "FINISHED"

    def _carousel(self, container: Container, params: dict[str, str]) -> None:
        ids = [i for i in params.get("children", "").split(",") if i]
        if not 2 <= len(ids) <= 20:
            raise _GraphError(100, "Param children must have between 2 and 20 items")
        for child_id in ids:
            child = self.containers.get(child_id)
            if child is None or not child.carousel_item:
                raise _GraphError(100, f"Param children: {child_id} is not a carousel item", 33)
            if child.status != "FINISHED":
                raise _GraphError(
                    9007, "The media is not ready for publishing, please wait for a moment"
                )
            container.images += child.images

    def _container_status(self, container: Container) -> dict[str, Any]:
        if container.status == "IN_PROGRESS":
            if container.polls_left > 0:
                container.polls_left -= 1
            else:
                container.status = "FINISHED"
        status = "PUBLISHED" if container.media_id is not None else container.status
        answer: dict[str, Any] = {"id": container.id, "status": status}
        if container.error_message:
            answer["error_message"] = container.error_message
        return answer

    def _insights(self, media_id: str, params: dict[str, str]) -> dict[str, Any]:
        post = self.media.get(media_id)
        if post is None or post.deleted:
            raise _GraphError(100, f"Object with ID '{media_id}' does not exist", 33)
        names = [n for n in params.get("metric", "").split(",") if n]
        unknown = [n for n in names if n not in post.insights]
        if not names or unknown:
            raise _GraphError(
                100,
                "(#100) metric[0] must be one of the following values: views, likes, "
                "replies, reposts, quotes, shares",
            )
        return {
            "data": [
                {
                    "name": name,
                    "period": "lifetime",
                    "values": [{"value": post.insights[name]}],
                    "title": name.capitalize(),
                    "description": f"The number of {name} of your post.",
                    "id": f"{media_id}/insights/{name}/lifetime",
                }
                for name in names
            ]
        }

    def _publish(self, params: dict[str, str]) -> dict[str, Any]:
        container = self.containers.get(params.get("creation_id", ""))
        if container is None:
            raise _GraphError(100, "Param creation_id is not a valid media container", 33)
        if container.media_id is not None:
            raise _GraphError(100, "The media container has already been published", 4279013)
        if container.carousel_item:
            raise _GraphError(100, "A carousel item can't be published on its own")
        if container.status == "ERROR":
            raise _GraphError(100, "The media container could not be processed", 4279010)
        if container.status != "FINISHED":
            raise _GraphError(
                9007, "The media is not ready for publishing, please wait for a moment", 2207027
            )
        if container.reply_to_id is None and self.quota_usage >= self.quota_total:
            raise _GraphError(4, GRAPH_ERRORS[4][0])
        media_id = str(next(self._ids))
        container.media_id = media_id
        self.media[media_id] = ThreadsPost(
            media_id,
            container.text,
            container.reply_to_id,
            f"C{int(media_id) % 10**9:x}",
            media_type=container.media_type,
            images=list(container.images),
        )
        return {"id": media_id}


class _GraphError(Exception):
    def __init__(self, code: int, message: str, subcode: int | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.subcode = code, message, subcode
