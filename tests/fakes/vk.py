"""A loopback VK API server for tests (the methods a community-wall publisher uses).

It serves, on 127.0.0.1 and a random port (``base_url`` is ``http://127.0.0.1:N/method``):

* ``POST /method/wall.post``: ``owner_id`` must be ``-group_id``; ``message`` or ``attachments``
  required; ``message`` at most 16384 characters; every ``photo{owner}_{id}`` attachment must be
  a saved photo; a repeated ``guid`` returns the first post's id instead of posting again;
* ``POST /method/wall.delete`` (``1`` also for an already deleted post; error 100 for an id that
  never existed);
* ``POST /method/wall.getById`` (``posts=-{group}_{post},...``; API 5.186+ shape ``{"items":
  [...]}`` with ``likes``/``reposts``/``comments``/``views`` counts a test sets with
  :meth:`FakeVK.set_counts`; a deleted or unknown post is left out);
* ``POST /method/groups.getById`` (API 5.194+ shape: ``{"groups": [...], "profiles": []}``);
* ``POST /method/photos.getWallUploadServer`` → an ``upload_url`` on this server;
* ``POST /upload/wall?...`` (multipart, field ``photo``) → ``{"server", "photo", "hash"}``
  where ``photo`` is a JSON string (``"[]"`` when no readable image came);
* ``POST /method/photos.saveWallPhoto`` (checks ``server``/``photo``/``hash`` from the upload).

Parameters may come in the query string or a form body, as VK accepts. Every method needs ``v``
(error 8) and the right ``access_token`` (error 5). Errors come as VK sends them: **HTTP 200**
with ``{"error": {"error_code", "error_msg", "request_params"}}``, and ``request_params`` echoes
every parameter *including the access token*, so tests prove a publisher never shows it.

Tests inspect ``posts`` / ``calls``, inject VK errors with ``fail_next(method, code)`` (or an HTTP
failure with ``http_status=``) and slow answers with ``delay(method, seconds)``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import BodyPartReader, web

from tests.fakes.loopback import LoopbackServer

VK_ERRORS = {
    5: "User authorization failed: invalid access_token (4).",
    6: "Too many requests per second",
    8: "Invalid request: v (version) is required",
    9: "Flood control",
    10: "Internal server error: Unknown error, try later",
    14: "Captcha needed",
    29: "Rate limit reached",
    100: "One of the parameters specified was missing or invalid",
    214: "Access to adding post denied",
}
_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF8", b"RIFF")


@dataclass
class Call:
    method: str
    params: dict[str, str]
    files: dict[str, tuple[bytes, str]] = field(default_factory=dict)


@dataclass
class WallPost:
    id: int
    owner_id: int
    from_group: bool
    message: str
    attachments: list[str]
    guid: str | None
    deleted: bool = False
    counts: dict[str, int] = field(default_factory=dict)
    """``likes``, ``reposts``, ``comments``, ``views``: each becomes ``{"count": n}``."""


@dataclass
class Photo:
    id: int
    owner_id: int
    data: bytes


@dataclass
class _Failure:
    code: int
    message: str
    http_status: int


class FakeVK(LoopbackServer):
    client_max_size = 50 * 1024 * 1024
    base_path = "/method"
    calls: list[Call]

    def __init__(
        self,
        *,
        token: str = "vk1.a.community-secret-token",
        group_id: int = 229_000_111,
        group_name: str = "Nexus Community",
    ) -> None:
        super().__init__()
        self.token = token
        self.group_id = group_id
        self.group_name = group_name
        self.wall: dict[int, WallPost] = {}
        self.photos: dict[int, Photo] = {}
        self._uploads: dict[str, tuple[int, bytes]] = {}  # hash -> (server, data)
        self._guids: dict[str, int] = {}
        self._post_ids = itertools.count(1)
        self._photo_ids = itertools.count(457_239_017)

    # ------------------------------------------------------------ scenario control
    def fail_next(
        self,
        method: str,
        code: int,
        message: str | None = None,
        *,
        http_status: int = 200,
        times: int = 1,
        after: int = 0,
    ) -> None:
        """Make ``times`` calls of ``method`` (e.g. ``"wall.post"``, or ``"upload"`` for the
        photo upload) fail with VK error ``code`` after ``after`` succeed. VK reports errors
        with HTTP 200; pass ``http_status`` (e.g. 502) for a failure of the HTTP layer."""
        failure = _Failure(code, message or VK_ERRORS.get(code, "Unknown error"), http_status)
        self._queue_failure(method, failure, times=times, after=after)

    def set_counts(self, post_id: int | str, **counts: int) -> None:
        """Set a wall post's counters (``likes=7, views=120``); the rest stay 0."""
        self.wall[int(post_id)].counts.update(counts)

    # ------------------------------------------------------------ inspection
    @property
    def posts(self) -> list[WallPost]:
        """Wall posts that exist now, in creation order."""
        return [p for p in self.wall.values() if not p.deleted]

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    # ------------------------------------------------------------ plumbing
    async def _read(self, request: web.Request) -> tuple[dict[str, str], dict[str, Any]]:
        params: dict[str, str] = dict(request.query)
        files: dict[str, tuple[bytes, str]] = {}
        if request.content_type == "multipart/form-data":
            reader = await request.multipart()
            async for part in reader:
                if not isinstance(part, BodyPartReader):
                    continue
                if part.filename:
                    data = bytes(await part.read())
                    files[str(part.name)] = (data, part.headers.get("Content-Type", ""))
                else:
                    params[str(part.name)] = await part.text()
        elif request.content_type == "application/x-www-form-urlencoded":
            form = await request.post()
            params.update({k: str(v) for k, v in form.items()})
        return params, files

    async def _handle(self, request: web.Request) -> web.Response:
        params, files = await self._read(request)
        if request.path == "/upload/wall":
            method = "upload"
        elif request.path.startswith("/method/"):
            method = request.path.removeprefix("/method/")
        else:
            return web.Response(status=404, text="Not found")
        self.calls.append(Call(method, params, files))
        if failure := await self._checkpoint(method):
            if failure.http_status != 200:
                return web.Response(status=failure.http_status, text="<html>Bad Gateway</html>")
            return self._error(method, params, failure.code, failure.message)
        if method == "upload":
            return web.json_response(self._upload(params, files))
        if "v" not in params:
            return self._error(method, params, 8, VK_ERRORS[8])
        if params.get("access_token") != self.token:
            return self._error(method, params, 5, VK_ERRORS[5])
        handler = {
            "wall.post": self._wall_post,
            "wall.delete": self._wall_delete,
            "wall.getById": self._wall_get_by_id,
            "groups.getById": self._group,
            "photos.getWallUploadServer": self._upload_server,
            "photos.saveWallPhoto": self._save_photo,
        }.get(method)
        if handler is None:
            return self._error(method, params, 3, "Unknown method passed")
        try:
            return web.json_response({"response": handler(params)})
        except _VKError as err:
            return self._error(method, params, err.code, err.message)

    def _error(self, method: str, params: dict[str, str], code: int, message: str) -> web.Response:
        echoed = [{"key": "method", "value": method}, {"key": "oauth", "value": "1"}]
        echoed += [{"key": k, "value": v} for k, v in params.items()]
        error = {"error_code": code, "error_msg": message, "request_params": echoed}
        if code == 14:
            error.update(captcha_sid="238273488231", captcha_img="https://api.vk.com/captcha.php")
        return web.json_response({"error": error})  # HTTP 200, as VK does

    def _check_group(self, params: dict[str, str]) -> None:
        if params.get("group_id") != str(self.group_id):
            raise _VKError(100, f"{VK_ERRORS[100]}: group_id is invalid")

    # ------------------------------------------------------------ methods
    def _wall_post(self, params: dict[str, str]) -> dict[str, Any]:
        guid = params.get("guid")
        if guid and guid in self._guids:
            return {"post_id": self._guids[guid]}
        if params.get("owner_id") != str(-self.group_id):
            raise _VKError(214, VK_ERRORS[214])
        message = params.get("message", "")
        attachments = [a for a in params.get("attachments", "").split(",") if a]
        if not message and not attachments:
            raise _VKError(100, f"{VK_ERRORS[100]}: message is empty or invalid")
        if len(message) > 16384:
            raise _VKError(100, f"{VK_ERRORS[100]}: message is too long")
        if len(attachments) > 10:
            raise _VKError(100, f"{VK_ERRORS[100]}: too many attachments")
        for attachment in attachments:
            photo = None
            if attachment.startswith("photo"):
                owner, _, photo_id = attachment.removeprefix("photo").partition("_")
                photo = self.photos.get(int(photo_id)) if photo_id.isdigit() else None
                if photo is not None and str(photo.owner_id) != owner:
                    photo = None
            if photo is None:
                raise _VKError(100, f"{VK_ERRORS[100]}: attachments is invalid")
        post = WallPost(
            id=next(self._post_ids),
            owner_id=-self.group_id,
            from_group=params.get("from_group") == "1",
            message=message,
            attachments=attachments,
            guid=guid,
        )
        self.wall[post.id] = post
        if guid:
            self._guids[guid] = post.id
        return {"post_id": post.id}

    def _wall_delete(self, params: dict[str, str]) -> int:
        if params.get("owner_id") != str(-self.group_id):
            raise _VKError(15, "Access denied")
        post_id = params.get("post_id", "")
        post = self.wall.get(int(post_id)) if post_id.isdigit() else None
        if post is None:
            raise _VKError(100, f"{VK_ERRORS[100]}: post_id is invalid")
        post.deleted = True
        return 1

    def _wall_get_by_id(self, params: dict[str, str]) -> dict[str, Any]:
        wanted = [p for p in params.get("posts", "").split(",") if p]
        if not wanted:
            raise _VKError(100, f"{VK_ERRORS[100]}: posts is undefined")
        items = []
        for key in wanted:
            owner, _, post_id = key.partition("_")
            post = self.wall.get(int(post_id)) if post_id.isdigit() else None
            if post is None or post.deleted or str(post.owner_id) != owner:
                continue
            items.append(
                {
                    "id": post.id,
                    "owner_id": post.owner_id,
                    "from_id": post.owner_id,
                    "date": 1_795_000_000,
                    "post_type": "post",
                    "text": post.message,
                    **{
                        name: {"count": post.counts.get(name, 0)}
                        for name in ("comments", "likes", "reposts", "views")
                    },
                }
            )
        return {"items": items}

    def _group(self, params: dict[str, str]) -> dict[str, Any]:
        self._check_group(params)
        group = {
            "id": self.group_id,
            "name": self.group_name,
            "screen_name": f"club{self.group_id}",
            "is_closed": 0,
            "type": "group",
        }
        return {"groups": [group], "profiles": []}

    def _upload_server(self, params: dict[str, str]) -> dict[str, Any]:
        self._check_group(params)
        return {
            "upload_url": f"{self.root}/upload/wall?act=do_add&mid=1&aid=-14&gid={self.group_id}",
            "album_id": -14,
            "user_id": 1,
        }

    def _upload(self, params: dict[str, str], files: dict[str, tuple[bytes, str]]) -> Any:
        server = 851_228
        data = files.get("photo", (b"", ""))[0]
        if not data.startswith(_IMAGE_MAGIC):
            return {"server": server, "photo": "[]", "hash": hashlib.md5(b"").hexdigest()}
        digest = hashlib.md5(data).hexdigest()
        self._uploads[digest] = (server, data)
        photo = json.dumps([{"photo": digest[:10], "sizes": [], "kid": digest[10:20]}])
        return {"server": server, "photo": photo, "hash": digest}

    def _save_photo(self, params: dict[str, str]) -> list[dict[str, Any]]:
        self._check_group(params)
        upload = self._uploads.pop(params.get("hash", ""), None)
        if upload is None or str(upload[0]) != params.get("server"):
            raise _VKError(100, f"{VK_ERRORS[100]}: hash is invalid")
        if not json.loads(params.get("photo") or "[]"):
            raise _VKError(100, f"{VK_ERRORS[100]}: photo is undefined")
        photo = Photo(next(self._photo_ids), -self.group_id, upload[1])
        self.photos[photo.id] = photo
        return [{"id": photo.id, "owner_id": photo.owner_id, "album_id": -14, "sizes": []}]


class _VKError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message
