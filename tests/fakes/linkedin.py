"""A loopback LinkedIn REST server for tests (Posts, Images, Organizations, userinfo).

It serves, on 127.0.0.1 and a random port:

* ``POST /rest/posts``: checks ``Authorization``, ``Linkedin-Version`` (a known version) and
  ``X-Restli-Protocol-Version: 2.0.0``; the body's required fields and enums; that ``author`` is
  the token's member or organization (403 otherwise); ``content.media`` / ``multiImage`` image
  URNs that were uploaded; commentary at most 3000 visible characters; a commentary identical to
  an earlier post's → 422 "Content is a duplicate of urn:li:share:…". Answers **201 with an empty
  body** and the URN in ``x-restli-id``.
* **Little text parsing, as LinkedIn does it**: in ``commentary`` a backslash escapes the next
  character; the first *unescaped* reserved character (``\\ | { } @ [ ] ( ) < > # * _ ~``)
  silently truncates the post there (the answer is still 201). ``Post.text`` is what readers
  see; ``Post.commentary`` is what was sent. (Real LinkedIn turns well-formed mentions and
  hashtag templates into links instead; the fake has no such markup and truncates at them.)
* ``DELETE /rest/posts/{url-encoded urn}`` → 204, 404 when unknown;
* ``GET /rest/socialActions/{url-encoded urn}`` → ``likesSummary`` / ``commentsSummary`` with
  the counts a test sets with :meth:`FakeLinkedIn.set_counts`; 404 for a deleted or unknown
  post, 400 when the URN in the path is not URL-encoded (Rest.li 2.0 needs it encoded);
* ``POST /rest/images?action=initializeUpload`` → ``{"value": {"uploadUrl", "image", …}}`` and
  ``PUT /dms-uploads/{id}`` (the raw bytes; must be an image);
* ``GET /rest/organizations/{id}`` (``localizedName``) and ``GET /v2/userinfo`` (OpenID).

Errors look like LinkedIn's: ``{"status", "serviceErrorCode", "code", "message"}``. Tests
inspect ``posts`` / ``calls``, inject trouble with ``fail_next(path, status, message,
headers)`` and slow answers with ``delay(path, seconds)``.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from tests.fakes.loopback import LoopbackServer

RESERVED = "\\|{}@[]()<>#*_~"
KNOWN_VERSIONS = {"202405", "202406", "202409", "202410", "202411", "202501", "202504"}
_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a")


def render_little_text(commentary: str) -> str:
    """What LinkedIn shows for ``commentary``: escapes resolved, cut at unescaped markup."""
    shown: list[str] = []
    chars = iter(commentary)
    for ch in chars:
        if ch == "\\":
            escaped = next(chars, None)
            if escaped is None:
                break  # a lone trailing backslash is itself markup: cut
            shown.append(escaped)
        elif ch in RESERVED:
            break
        else:
            shown.append(ch)
    return "".join(shown)


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    headers: dict[str, str]


@dataclass
class Post:
    urn: str
    author: str
    commentary: str
    text: str
    visibility: str
    content: dict[str, Any] | None
    deleted: bool = False
    likes: int = 0
    comments: int = 0
    first_level_comments: int | None = None


@dataclass
class Image:
    urn: str
    owner: str
    upload_id: str
    data: bytes | None = None


@dataclass
class _Failure:
    status: int
    message: str
    headers: dict[str, str] = field(default_factory=dict)


class FakeLinkedIn(LoopbackServer):
    client_max_size = 50 * 1024 * 1024
    calls: list[Call]

    def __init__(
        self,
        *,
        token: str = "AQX-linkedin-secret-token",
        person_id: str = "Ab12Cd34Ef",
        person_name: str = "Nadia Nexus",
        organization_id: str = "104210001",
        organization_name: str = "Nexus Labs",
    ) -> None:
        super().__init__()
        self.token = token
        self.person_id = person_id
        self.person_name = person_name
        self.organization_id = organization_id
        self.organization_name = organization_name
        self.all_posts: dict[str, Post] = {}
        self.images: dict[str, Image] = {}
        self._ids = itertools.count(7_260_000_000_000_000_001)

    @property
    def person_urn(self) -> str:
        return f"urn:li:person:{self.person_id}"

    @property
    def organization_urn(self) -> str:
        return f"urn:li:organization:{self.organization_id}"

    # ------------------------------------------------------------ scenario control
    def fail_next(
        self,
        path: str,
        status: int,
        message: str | None = None,
        headers: dict[str, str] | None = None,
        *,
        times: int = 1,
        after: int = 0,
    ) -> None:
        """Make ``times`` requests to ``path`` (e.g. ``"/rest/posts"``) fail with ``status``
        after ``after`` succeed, in LinkedIn's error shape."""
        failure = _Failure(status, message or f"HTTP {status}", headers or {})
        self._queue_failure(path, failure, times=times, after=after)

    def set_counts(
        self, urn: str, *, likes: int = 0, comments: int = 0, first_level: int | None = None
    ) -> None:
        """Set a post's reactions: ``comments`` counts replies to comments too, ``first_level``
        (default: the same) only the top-level ones."""
        post = self.all_posts[urn]
        post.likes, post.comments, post.first_level_comments = likes, comments, first_level

    # ------------------------------------------------------------ inspection
    @property
    def posts(self) -> list[Post]:
        """Posts that exist now, in creation order."""
        return [p for p in self.all_posts.values() if not p.deleted]

    def calls_to(self, method: str, path: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and c.path == path]

    # ------------------------------------------------------------ plumbing
    @staticmethod
    def _error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
        code = {
            400: "BAD_REQUEST",
            401: "INVALID_ACCESS_TOKEN",
            403: "ACCESS_DENIED",
            404: "NOT_FOUND",
            422: "UNPROCESSABLE_ENTITY",
            426: "NONEXISTENT_VERSION",
            429: "TOO_MANY_REQUESTS",
        }.get(status, "INTERNAL_SERVER_ERROR")
        body = {"status": status, "serviceErrorCode": 100, "code": code, "message": message}
        return web.json_response(body, status=status, headers=headers)

    async def _handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        body: Any = raw
        if request.content_type == "application/json" and raw:
            try:
                body = json.loads(raw)
            except ValueError:
                return self._error(400, "Unable to parse JSON")
        path = request.path
        self.calls.append(
            Call(request.method, path, dict(request.query), body, dict(request.headers))
        )
        if failure := await self._checkpoint(path):
            return self._error(failure.status, failure.message, failure.headers)
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return self._error(401, "Invalid access token")
        if path.startswith("/rest/"):
            version = request.headers.get("Linkedin-Version")
            if not version:
                return self._error(400, "A version must be present. Please specify a version")
            if version not in KNOWN_VERSIONS:
                return self._error(426, f"Requested version {version} is not active")
            if request.headers.get("X-Restli-Protocol-Version") != "2.0.0":
                return self._error(400, "X-Restli-Protocol-Version 2.0.0 is required")
        if path.startswith("/rest/socialActions/") and ":" in request.raw_path:
            return self._error(400, "Invalid URN in the path: it must be URL-encoded")
        try:
            return self._route(request.method, path, dict(request.query), body)
        except _Error as err:
            return self._error(err.status, err.message)

    def _route(self, method: str, path: str, query: dict[str, str], body: Any) -> web.Response:
        if (method, path) == ("POST", "/rest/posts"):
            urn = self._create(body)
            return web.Response(status=201, headers={"x-restli-id": urn})
        if method == "DELETE" and (m := re.fullmatch(r"/rest/posts/(.+)", path)):
            post = self.all_posts.get(unquote(m.group(1)))
            if post is None or post.deleted:
                raise _Error(404, "Not Found")
            post.deleted = True
            return web.Response(status=204)
        if method == "GET" and (m := re.fullmatch(r"/rest/socialActions/(.+)", path)):
            return web.json_response(self._social_actions(unquote(m.group(1))))
        if (method, path) == ("POST", "/rest/images"):
            if query.get("action") != "initializeUpload":
                raise _Error(400, "Unknown action")
            return web.json_response(self._initialize_upload(body))
        if method == "PUT" and (m := re.fullmatch(r"/dms-uploads/(\w+)", path)):
            self._receive_upload(m.group(1), body if isinstance(body, bytes) else b"")
            return web.Response(status=201)
        if method == "GET" and (m := re.fullmatch(r"/rest/organizations/(\d+)", path)):
            if m.group(1) != self.organization_id:
                raise _Error(403, "Not enough permissions to access: organizations.GET")
            return web.json_response(
                {
                    "id": int(self.organization_id),
                    "localizedName": self.organization_name,
                    "vanityName": "nexus-labs",
                }
            )
        if (method, path) == ("GET", "/v2/userinfo"):
            return web.json_response(
                {"sub": self.person_id, "name": self.person_name, "email_verified": True}
            )
        raise _Error(404, "Not Found")

    def _create(self, body: Any) -> str:
        if not isinstance(body, dict):
            raise _Error(400, "Request body must be a JSON object")
        for required in ("author", "commentary", "visibility", "distribution", "lifecycleState"):
            if required not in body:
                raise _Error(422, f"/{required} :: field is required but not found")
        author = body["author"]
        if author not in (self.person_urn, self.organization_urn):
            raise _Error(
                403, "Not enough permissions to access: partnerApiPostsExternal.CREATE.20241101"
            )
        if body["visibility"] not in ("PUBLIC", "CONNECTIONS", "LOGGED_IN", "CONTAINER"):
            raise _Error(422, f"/visibility :: {body['visibility']!r} is not an enum symbol")
        if body["lifecycleState"] not in ("PUBLISHED", "DRAFT"):
            raise _Error(422, "/lifecycleState :: invalid value")
        distribution = body["distribution"]
        if not isinstance(distribution, dict) or distribution.get("feedDistribution") not in (
            "MAIN_FEED",
            "NONE",
        ):
            raise _Error(422, "/distribution/feedDistribution :: field is required")
        commentary = str(body["commentary"])
        text = render_little_text(commentary)
        if len(text) > 3000:
            raise _Error(422, "/commentary :: length of commentary exceeds 3000 characters")
        content = body.get("content")
        if content is not None:
            self._check_content(content, author)
        for post in self.posts:
            if post.author == author and post.commentary == commentary and commentary:
                raise _Error(422, f"Content is a duplicate of {post.urn}")
        urn = f"urn:li:share:{next(self._ids)}"
        self.all_posts[urn] = Post(urn, author, commentary, text, body["visibility"], content)
        return urn

    def _social_actions(self, urn: str) -> dict[str, Any]:
        post = self.all_posts.get(urn)
        if post is None or post.deleted:
            raise _Error(404, f"Not Found: {urn}")
        first_level = post.first_level_comments
        if first_level is None:
            first_level = post.comments
        return {
            "$URN": f"urn:li:socialActions:{urn}",
            "target": urn,
            "likesSummary": {
                "selectedLikes": [],
                "aggregatedTotalLikes": post.likes,
                "likedByCurrentUser": False,
                "totalLikes": post.likes,
            },
            "commentsSummary": {
                "selectedComments": [],
                "totalFirstLevelComments": first_level,
                "aggregatedTotalComments": post.comments,
            },
        }

    def _check_content(self, content: Any, author: str) -> None:
        if not isinstance(content, dict):
            raise _Error(422, "/content :: must be an object")
        if "media" in content:
            refs = [content["media"]]
        elif "multiImage" in content:
            refs = list((content["multiImage"] or {}).get("images") or [])
            if not 2 <= len(refs) <= 20:
                raise _Error(422, "/content/multiImage/images :: must hold 2 to 20 images")
        else:
            raise _Error(422, "/content :: unsupported content type")
        for ref in refs:
            image = self.images.get(str((ref or {}).get("id")))
            if image is None or image.owner != author:
                raise _Error(422, f"/content :: {ref!r} is not a valid image")
            if image.data is None:
                raise _Error(422, f"/content :: image {image.urn} is still WAITING_UPLOAD")

    def _initialize_upload(self, body: Any) -> dict[str, Any]:
        owner = ((body or {}).get("initializeUploadRequest") or {}).get("owner")
        if owner not in (self.person_urn, self.organization_urn):
            raise _Error(403, "Not enough permissions to access: images.ACTION")
        number = next(self._ids)
        image = Image(f"urn:li:image:D4E10AQ{number}", owner, f"u{number}")
        self.images[image.urn] = image
        return {
            "value": {
                "uploadUrlExpiresAt": 1_900_000_000_000,
                "uploadUrl": f"{self.base_url}/dms-uploads/{image.upload_id}",
                "image": image.urn,
            }
        }

    def _receive_upload(self, upload_id: str, data: bytes) -> None:
        image = next((i for i in self.images.values() if i.upload_id == upload_id), None)
        if image is None:
            raise _Error(404, "Not Found")
        if not data.startswith(_IMAGE_MAGIC):
            raise _Error(400, "The uploaded file is not a supported image")
        image.data = data


class _Error(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message
