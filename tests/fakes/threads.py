"""A loopback Threads Graph API server for tests (text posts, reply chains, permalinks).

It serves, on 127.0.0.1 and a random port (``base_url`` is ``http://127.0.0.1:N/v1.0``):

* ``POST /v1.0/{user_id}/threads`` (form or query): ``media_type=TEXT`` (other types: error
  100), ``text`` at most 500 characters, optional ``reply_to_id`` that must be a published post
  → ``{"id": creation_id}`` (an unpublished container);
* ``POST /v1.0/{user_id}/threads_publish`` with ``creation_id`` (a container of this user, not
  yet published) → ``{"id": media_id}``;
* ``GET /v1.0/{media_id}?fields=permalink`` and ``GET /v1.0/me?fields=username``;
* ``DELETE /v1.0/{media_id}`` → ``{"success": true}``.

Every call needs ``access_token`` (query or form) equal to ``token``: otherwise code 190. Errors
come in Graph format ``{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}``
with the HTTP status Meta uses (400 for most, 500 for codes 1 and 2). Unknown ids answer code
100 subcode 33. Tests inspect ``posts`` / ``containers`` / ``calls``, inject errors with
``fail_next(path, code)`` (``path`` without the version, e.g. ``"/{user}/threads_publish"``) and
slow answers with ``delay(path, seconds)``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.fakes.loopback import LoopbackServer

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


@dataclass
class ThreadsPost:
    id: str
    text: str
    reply_to_id: str | None
    shortcode: str
    deleted: bool = False


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
        self.media: dict[str, ThreadsPost] = {}
        self._ids = itertools.count(18_028_000_000_000_001)

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
            return web.json_response(self._route(request.method, path, params))
        except _GraphError as err:
            return self._error(err.code, err.message, err.subcode)

    def _route(self, method: str, path: str, params: dict[str, str]) -> dict[str, Any]:
        segments = path.strip("/").split("/")
        if method == "POST" and len(segments) == 2 and segments[1] == "threads":
            self._check_user(segments[0])
            return self._create(params)
        if method == "POST" and len(segments) == 2 and segments[1] == "threads_publish":
            self._check_user(segments[0])
            return self._publish(params)
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

    def _check_user(self, user_id: str) -> None:
        if user_id not in (self.user_id, "me"):
            raise _GraphError(100, "Object does not exist or missing permissions", 33)

    def _create(self, params: dict[str, str]) -> dict[str, Any]:
        if params.get("media_type") != "TEXT":
            raise _GraphError(100, "Param media_type must be one of {TEXT, IMAGE, VIDEO}")
        text = params.get("text", "")
        if not text.strip():
            raise _GraphError(100, "Param text is required for TEXT posts")
        if len(text) > 500:
            raise _GraphError(100, "Param text must be at most 500 characters long", 4279009)
        reply_to = params.get("reply_to_id")
        if reply_to is not None:
            parent = self.media.get(reply_to)
            if parent is None or parent.deleted:
                raise _GraphError(100, "The post you are replying to does not exist", 4279011)
        container = Container(str(next(self._ids)), text, reply_to)
        self.containers[container.id] = container
        return {"id": container.id}

    def _publish(self, params: dict[str, str]) -> dict[str, Any]:
        container = self.containers.get(params.get("creation_id", ""))
        if container is None:
            raise _GraphError(100, "Param creation_id is not a valid media container", 33)
        if container.media_id is not None:
            raise _GraphError(100, "The media container has already been published", 4279013)
        media_id = str(next(self._ids))
        container.media_id = media_id
        self.media[media_id] = ThreadsPost(
            media_id, container.text, container.reply_to_id, f"C{int(media_id) % 10**9:x}"
        )
        return {"id": media_id}


class _GraphError(Exception):
    def __init__(self, code: int, message: str, subcode: int | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.subcode = code, message, subcode
