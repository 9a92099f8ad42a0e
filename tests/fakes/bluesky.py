"""A loopback Bluesky PDS for tests: the XRPC methods a publisher uses, with the real payloads.

Served at ``{base_url}/xrpc/{nsid}`` on 127.0.0.1 and a random port:

* ``com.atproto.server.createSession`` / ``refreshSession`` (refresh tokens rotate; a used one is
  dead) / ``getSession``, ``com.atproto.identity.resolveHandle``. Logins are limited as on
  bsky.social: 30 ``createSession`` per 5 minutes and 300 a day per account, then 429
  ``RateLimitExceeded`` with the ``ratelimit-limit``/``-remaining``/``-reset``/``-policy``
  headers (``now`` is the fake's clock, unix seconds);
* ``com.atproto.repo.uploadBlob`` (raw body), ``createRecord``, ``getRecord``, ``deleteRecord``;
  writes spend the account's write points as on bsky.social (create 3, delete 1; 5,000 an hour
  and 35,000 a day): a ``createRecord`` that does not fit is 429 ``RateLimitExceeded`` with
  ``ratelimit-policy: 5000;w=3600`` (or ``35000;w=86400``) and the reset when the oldest points
  leave the window (:meth:`spend_points` stands for writes made elsewhere);
* ``app.bsky.feed.getPosts?uris=...`` (authenticated, as the PDS proxies it to the AppView):
  post views with the counters a test set with :meth:`FakeBluesky.set_counts`; a deleted or
  unknown post is simply left out of ``posts``, as the AppView does.

Errors are XRPC's ``{"error": "ExpiredToken", "message": "..."}``: 401 ``AuthMissing`` /
``InvalidToken`` for no or an unknown token, 400 ``ExpiredToken`` for an expired access token
(:meth:`expire_access_tokens` simulates the two-hour expiry), 400 ``InvalidRequest`` for a record
the lexicon rejects. ``createRecord`` checks what the PDS and the lexicon check: text at most 300
graphemes and 3000 UTF-8 bytes, a parseable ``createdAt``, facet byte ranges inside the UTF-8
text and on character boundaries with known features, reply refs (uri *and* cid) that point to
existing records, image embeds (at most 4, uploaded blobs of at most 1,000,000 bytes, ``alt``).
A record key given with ``rkey`` must be a TID; a key already taken is refused with HTTP 500
``InternalServerError``, as the PDS does today, and never makes a second record.

Tests inspect ``posts`` / ``calls``, inject trouble with ``fail_next(nsid, status, body,
headers)`` and slow answers with ``delay(nsid, seconds)``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import web

from tests.fakes.loopback import HttpFailure, LoopbackServer

try:
    import regex

    def _graphemes(text: str) -> int:
        return len(regex.findall(r"\X", text))

except ImportError:  # pragma: no cover - without ``regex`` use the publishers' approximation
    from publishers.bluesky import grapheme_len as _graphemes

POST = "app.bsky.feed.post"
Params = dict[str, Any]
_TID_CHARS = "234567abcdefghijklmnopqrstuvwxyz"
_FEATURES = {
    "app.bsky.richtext.facet#link": "uri",
    "app.bsky.richtext.facet#mention": "did",
    "app.bsky.richtext.facet#tag": "tag",
}


_TID_RE = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")


class XrpcError(Exception):
    headers: dict[str, str] | None = None

    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error, self.message = status, error, message


#: (logins, seconds): bsky.social's createSession limits per account.
LOGIN_LIMITS = ((30, 300), (300, 86_400))
WRITE_LIMITS = ((5_000, 3_600), (35_000, 86_400))
CREATE_POINTS, DELETE_POINTS = 3, 1


class RateLimitedXrpc(XrpcError):
    """429 RateLimitExceeded, with the rate-limit headers the PDS sends."""

    def __init__(self, headers: dict[str, str]) -> None:
        super().__init__(429, "RateLimitExceeded", "Rate Limit Exceeded")
        self.headers = headers


def _invalid(message: str) -> XrpcError:
    return XrpcError(400, "InvalidRequest", f"Invalid app.bsky.feed.post record: {message}")


@dataclass
class Call:
    nsid: str
    params: dict[str, Any]
    headers: dict[str, str]


@dataclass
class Record:
    uri: str
    cid: str
    value: dict[str, Any]
    deleted: bool = False
    counts: dict[str, int] = field(default_factory=dict)
    """``likeCount``, ``repostCount``, ``replyCount``, ``quoteCount`` as the AppView shows."""

    @property
    def text(self) -> str:
        return str(self.value.get("text", ""))

    @property
    def rkey(self) -> str:
        return self.uri.rsplit("/", 1)[-1]


@dataclass
class Blob:
    cid: str
    data: bytes
    mime: str
    owner: str


class FakeBluesky(LoopbackServer):
    client_max_size = 20 * 1024 * 1024
    route = "/xrpc/{nsid}"
    calls: list[Call]

    def __init__(
        self,
        *,
        handle: str = "nexus.bsky.social",
        app_password: str = "abcd-efgh-ijkl-mnop",
        did: str = "did:plc:nexus0000000000000000000",
    ) -> None:
        super().__init__()
        self.handle, self.app_password, self.did = handle, app_password, did
        self.records: dict[str, Record] = {}  # uri -> record
        self.blobs: dict[str, Blob] = {}
        self.upload_limit = 5_000_000  # the PDS's own blob size limit
        self._accounts: dict[str, tuple[str, str | None]] = {handle: (did, app_password)}
        self._access: dict[str, tuple[str, bool]] = {}  # token -> (did, expired)
        self._refresh: dict[str, str] = {}  # token -> did
        self._tids = itertools.count(3_000_000_000)
        self.now: Callable[[], float] = time.time
        self._logins: dict[str, list[float]] = {}  # did -> createSession times
        self._writes: dict[str, list[tuple[float, int]]] = {}  # did -> (time, points)

    # ------------------------------------------------------------ scenario control
    def spend_points(self, points: int, did: str | None = None) -> None:
        """Write points spent now by another app on the account (they count all the same)."""
        self._writes.setdefault(did or self.did, []).append((self.now(), points))

    def add_account(self, handle: str, did: str | None = None) -> str:
        """Another account (a mention target); returns its DID."""
        did = did or "did:plc:" + hashlib.sha256(handle.encode()).hexdigest()[:24]
        self._accounts[handle.lower()] = (did, None)
        return did

    def expire_access_tokens(self) -> None:
        """Every access token issued so far now answers 400 ExpiredToken."""
        self._access = {t: (did, True) for t, (did, _) in self._access.items()}

    def revoke_sessions(self) -> None:
        """Every access and refresh token issued so far is dead (as after a password change)."""
        self.expire_access_tokens()
        self._refresh.clear()

    def change_password(self, password: str) -> None:
        self.app_password = password
        self._accounts[self.handle] = (self.did, password)
        self.revoke_sessions()

    def set_counts(self, uri: str, **counts: int) -> None:
        """Set a post's counters (``likeCount=5, quoteCount=1``); the rest stay 0."""
        self.records[uri].counts.update(counts)

    def fail_next(
        self,
        nsid: str,
        status: int,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        *,
        times: int = 1,
        after: int = 0,
    ) -> None:
        """Make ``times`` calls of ``nsid`` fail with this answer, after ``after`` succeed."""
        body = body or {"error": "InternalServerError", "message": "Internal Server Error"}
        failure = HttpFailure(status, body, headers or {})
        self._queue_failure(nsid, failure, times=times, after=after)

    # ------------------------------------------------------------ inspection
    @property
    def posts(self) -> list[Record]:
        """Post records that exist now, in creation order."""
        return [r for r in self.records.values() if not r.deleted]

    def calls_to(self, nsid: str) -> list[Call]:
        return [c for c in self.calls if c.nsid == nsid]

    # ------------------------------------------------------------ plumbing
    async def _handle(self, request: web.Request) -> web.Response:
        nsid = request.match_info["nsid"]
        params: dict[str, Any] = dict(request.query)
        raw = await request.read()
        if request.content_type == "application/json" and raw:
            try:
                params.update(json.loads(raw))
            except ValueError:
                return self._json({"error": "InvalidRequest", "message": "bad JSON"}, 400)
        self.calls.append(Call(nsid, params, dict(request.headers)))
        if failure := await self._checkpoint(nsid):
            return failure.response()
        handler = getattr(self, "_x_" + nsid.replace(".", "_"), None)
        if handler is None:
            return self._json({"error": "MethodNotImplemented", "message": nsid}, 501)
        try:
            result = await handler(request, params, raw)
        except XrpcError as err:
            return self._json({"error": err.error, "message": err.message}, err.status, err.headers)
        return self._json(result, 200)

    @staticmethod
    def _json(body: Any, status: int, headers: dict[str, str] | None = None) -> web.Response:
        return web.json_response(body, status=status, headers=headers)

    def _bearer(self, request: web.Request) -> str:
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            raise XrpcError(401, "AuthMissing", "Authentication Required")
        return auth[len("Bearer ") :]

    def _authed(self, request: web.Request) -> str:
        token = self._bearer(request)
        if token not in self._access:
            raise XrpcError(401, "InvalidToken", "Token could not be verified")
        did, expired = self._access[token]
        if expired:
            raise XrpcError(400, "ExpiredToken", "Token has expired")
        return did

    def _session(self, did: str) -> dict[str, Any]:
        access, refresh = "acc-" + secrets.token_hex(16), "ref-" + secrets.token_hex(16)
        self._access[access] = (did, False)
        self._refresh[refresh] = did
        handle = next(h for h, (d, _) in self._accounts.items() if d == did)
        return {"accessJwt": access, "refreshJwt": refresh, "handle": handle, "did": did}

    def _tid(self) -> str:
        n, out = next(self._tids) * 1024, ""
        for _ in range(13):
            out = _TID_CHARS[n & 31] + out
            n >>= 5
        return out

    # ------------------------------------------------------------ methods
    async def _x_com_atproto_server_createSession(
        self, request: web.Request, params: Params, raw: bytes
    ) -> Params:
        identifier = str(params.get("identifier") or "").lower().lstrip("@")
        for handle, (did, password) in self._accounts.items():
            if identifier in (handle, did) and password is not None:
                self._count_login(did)
                if params.get("password") == password:
                    return self._session(did)
        raise XrpcError(401, "AuthenticationRequired", "Invalid identifier or password")

    def _count_login(self, did: str) -> None:
        """bsky.social's login limits: 30 per 5 minutes, 300 per day, per account."""
        now = self.now()
        logins = [t for t in self._logins.get(did, []) if t > now - 86_400]
        for limit, window in LOGIN_LIMITS:
            recent = [t for t in logins if t > now - window]
            if len(recent) >= limit:
                raise RateLimitedXrpc(
                    {
                        "ratelimit-limit": str(limit),
                        "ratelimit-remaining": "0",
                        "ratelimit-reset": str(int(recent[0] + window)),
                        "ratelimit-policy": f"{limit};w={window}",
                    }
                )
        self._logins[did] = [*logins, now]

    def _spend(self, did: str, points: int) -> None:
        """The write points of a repo write: refused (nothing written) when a window is full."""
        now = self.now()
        writes = [(t, p) for t, p in self._writes.get(did, []) if t > now - 86_400]
        for limit, window in WRITE_LIMITS:
            recent = [(t, p) for t, p in writes if t > now - window]
            if sum(p for _t, p in recent) + points > limit:
                raise RateLimitedXrpc(
                    {
                        "ratelimit-limit": str(limit),
                        "ratelimit-remaining": "0",
                        "ratelimit-reset": str(int(recent[0][0] + window)),
                        "ratelimit-policy": f"{limit};w={window}",
                    }
                )
        self._writes[did] = [*writes, (now, points)]

    async def _x_com_atproto_server_getSession(
        self, request: web.Request, params: Params, raw: bytes
    ) -> Params:
        did = self._authed(request)
        handle = next(h for h, (d, _) in self._accounts.items() if d == did)
        return {"handle": handle, "did": did, "active": True}

    async def _x_com_atproto_server_refreshSession(
        self, request: web.Request, params: Params, raw: bytes
    ) -> Params:
        token = self._bearer(request)
        did = self._refresh.pop(token, None)
        if did is None:
            raise XrpcError(400, "ExpiredToken", "Token has been revoked")
        return self._session(did)

    async def _x_com_atproto_identity_resolveHandle(
        self, request: web.Request, params: Params, raw: bytes
    ) -> Params:
        account = self._accounts.get(str(params.get("handle") or "").lower())
        if account is None:
            raise XrpcError(400, "InvalidRequest", "Unable to resolve handle")
        return {"did": account[0]}

    async def _x_com_atproto_repo_uploadBlob(
        self, request: web.Request, params: Params, raw: bytes
    ) -> Params:
        did = self._authed(request)
        if len(raw) > self.upload_limit:
            raise XrpcError(413, "PayloadTooLarge", "request entity too large")
        cid = "bafkrei" + hashlib.sha256(raw).hexdigest()[:52]
        mime = request.headers.get("Content-Type", "application/octet-stream")
        self.blobs[cid] = Blob(cid, raw, mime, did)
        return {
            "blob": {"$type": "blob", "ref": {"$link": cid}, "mimeType": mime, "size": len(raw)}
        }

    async def _x_com_atproto_repo_createRecord(
        self, request: web.Request, params: Params, raw: bytes
    ) -> Params:
        did = self._authed(request)
        if params.get("repo") not in (did, self.handle if did == self.did else None):
            raise XrpcError(400, "InvalidRequest", f"Could not find repo: {params.get('repo')}")
        if params.get("collection") != POST:
            raise XrpcError(400, "InvalidRequest", "this fake only stores posts")
        record = params.get("record")
        if not isinstance(record, dict):
            raise XrpcError(400, "InvalidRequest", "Input/record must be an object")
        self._validate_post(record, did)
        rkey = params.get("rkey")
        if rkey is not None and not _TID_RE.match(str(rkey)):
            raise XrpcError(400, "InvalidRequest", "Invalid record key for a post (must be a TID)")
        uri = f"at://{did}/{POST}/{rkey or self._tid()}"
        if uri in self.records and not self.records[uri].deleted:  # a taken key: what the PDS
            # answers today (bluesky-social/atproto#3718): no second record, a 500
            raise XrpcError(500, "InternalServerError", "Internal Server Error")
        self._spend(did, CREATE_POINTS)
        cid = (
            "bafyrei"
            + hashlib.sha256(
                json.dumps(record, sort_keys=True).encode() + uri.encode()
            ).hexdigest()[:52]
        )
        self.records[uri] = Record(uri, cid, record)
        return {
            "uri": uri,
            "cid": cid,
            "commit": {"cid": "bafyreicommit", "rev": self._tid()},
            "validationStatus": "valid",
        }

    async def _x_com_atproto_repo_getRecord(
        self, request: web.Request, params: Params, raw: bytes
    ) -> Params:
        uri = f"at://{params.get('repo')}/{params.get('collection')}/{params.get('rkey')}"
        record = self.records.get(uri)
        if record is None or record.deleted:
            raise XrpcError(400, "RecordNotFound", f"Could not locate record: {uri}")
        return {"uri": uri, "cid": record.cid, "value": record.value}

    async def _x_com_atproto_repo_deleteRecord(
        self, request: web.Request, params: Params, raw: bytes
    ) -> Params:
        did = self._authed(request)
        if params.get("repo") != did:
            raise XrpcError(400, "InvalidRequest", f"Could not find repo: {params.get('repo')}")
        record = self.records.get(f"at://{did}/{params.get('collection')}/{params.get('rkey')}")
        if record is not None:
            self._spend(did, DELETE_POINTS)
            record.deleted = True
        return {"commit": {"cid": "bafyreicommit", "rev": self._tid()}}

    async def _x_app_bsky_feed_getPosts(
        self, request: web.Request, params: Params, raw: bytes
    ) -> Params:
        self._authed(request)
        uris = request.query.getall("uris", [])
        if not uris:
            raise XrpcError(400, "InvalidRequest", 'Error: Params must have the property "uris"')
        if len(uris) > 25:
            raise XrpcError(400, "InvalidRequest", "uris must not have more than 25 elements")
        posts: list[dict[str, Any]] = []
        for uri in uris:
            record = self.records.get(uri)
            if record is None or record.deleted:
                continue
            author = uri[len("at://") :].split("/", 1)[0]
            handle = next((h for h, (d, _) in self._accounts.items() if d == author), "")
            names = ("replyCount", "repostCount", "likeCount", "quoteCount")
            posts.append(
                {
                    "uri": uri,
                    "cid": record.cid,
                    "author": {"did": author, "handle": handle},
                    "record": record.value,
                    **{n: record.counts.get(n, 0) for n in names},
                    "indexedAt": record.value.get("createdAt"),
                    "labels": [],
                }
            )
        return {"posts": posts}

    # ------------------------------------------------------------ validation
    def _validate_post(self, record: dict[str, Any], did: str) -> None:
        if record.get("$type") != POST:
            raise _invalid("Record/$type must be app.bsky.feed.post")
        text = record.get("text")
        if not isinstance(text, str):
            raise _invalid("Record/text must be a string")
        data = text.encode()
        if len(data) > 3000:
            raise _invalid("Record/text must not be longer than 3000 characters")
        if _graphemes(text) > 300:
            raise _invalid("Record/text must not be longer than 300 graphemes")
        try:
            datetime.fromisoformat(str(record.get("createdAt")))
        except ValueError:
            raise _invalid("Record/createdAt must be an valid atproto datetime") from None
        for n, facet in enumerate(record.get("facets") or []):
            self._validate_facet(facet, data, f"Record/facets/{n}")
        if "reply" in record:
            reply = record["reply"]
            for which in ("root", "parent"):
                ref = reply.get(which) if isinstance(reply, dict) else None
                if not isinstance(ref, dict) or not {"uri", "cid"} <= ref.keys():
                    raise _invalid(f"Record/reply/{which} must have the properties uri and cid")
                target = self.records.get(ref["uri"])
                if target is None or target.deleted or target.cid != ref["cid"]:
                    raise _invalid(f"Record/reply/{which} does not point to an existing record")
        if "embed" in record:
            self._validate_images(record["embed"], did)

    def _validate_facet(self, facet: Any, data: bytes, where: str) -> None:
        index = facet.get("index") if isinstance(facet, dict) else None
        if not isinstance(index, dict):
            raise _invalid(f"{where} must have the property index")
        start, end = index.get("byteStart"), index.get("byteEnd")
        if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(data)):
            raise _invalid(f"{where}/index is outside the text ({start}..{end} of {len(data)})")
        try:
            data[:start].decode()
            data[:end].decode()
        except UnicodeDecodeError:
            raise _invalid(f"{where}/index does not lie on character boundaries") from None
        features = facet.get("features")
        if not isinstance(features, list) or not features:
            raise _invalid(f"{where}/features must not be empty")
        for feature in features:
            kind = feature.get("$type") if isinstance(feature, dict) else None
            if kind not in _FEATURES or not isinstance(feature.get(_FEATURES[kind]), str):
                raise _invalid(f"{where}/features has an unknown or incomplete feature")
            if kind.endswith("#mention") and not feature["did"].startswith("did:"):
                raise _invalid(f"{where}/features/did must be a valid did")
            if kind.endswith("#tag") and (len(feature["tag"].encode()) > 640 or not feature["tag"]):
                raise _invalid(f"{where}/features/tag must not be longer than 640 characters")

    def _validate_images(self, embed: Any, did: str) -> None:
        if not isinstance(embed, dict) or embed.get("$type") != "app.bsky.embed.images":
            raise _invalid("Record/embed is not an image embed this fake knows")
        images = embed.get("images")
        if not isinstance(images, list) or not 1 <= len(images) <= 4:
            raise _invalid("Record/embed/images must hold 1 to 4 items")
        for n, image in enumerate(images):
            if not isinstance(image, dict) or not isinstance(image.get("alt"), str):
                raise _invalid(f"Record/embed/images/{n} must have the property alt")
            ref = ((image.get("image") or {}).get("ref") or {}).get("$link")
            blob = self.blobs.get(str(ref))
            if blob is None or blob.owner != did:
                raise XrpcError(400, "BlobNotFound", "Could not find blob: " + str(ref))
            if len(blob.data) > 1_000_000:
                raise _invalid(f"Record/embed/images/{n}/image file too large")
            if not blob.mime.startswith("image/"):
                raise _invalid(f"Record/embed/images/{n}/image has the wrong mime type")
