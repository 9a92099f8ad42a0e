"""A loopback X API v2 server for tests (the paths, payloads and errors a publisher meets).

It serves, on 127.0.0.1 and a random port:

* ``POST /2/tweets`` (JSON ``text``, ``reply.in_reply_to_tweet_id``, ``media.media_ids``),
  checking the weighted length the way twitter-text v3 counts (:func:`weighted_length`,
  written independently of the publisher's), refusing duplicate text with X's 403, unknown
  reply targets and unknown media ids;
  pay-per-use caps as X answers them: past ``usage_cap`` posts, 429 ``UsageCapExceeded``
  (``type`` ``https://api.twitter.com/2/problems/usage-capped``, ``period`` ``Monthly``, with
  ``x-rate-limit-reset``); past ``daily_post_limit`` posts in 24 hours, 429 with
  ``x-user-limit-24hour-limit``/``-remaining: 0``/``-reset`` (``now`` is the fake's clock);
* ``DELETE /2/tweets/:id`` (``{"data": {"deleted": true}}``), ``GET /2/users/me``;
* ``GET /2/tweets/:id`` (``tweet.fields=public_metrics`` adds the counters a test set with
  :meth:`FakeX.set_metrics`); a deleted or unknown post answers **200** with a
  "resource-not-found" problem in ``errors`` and no ``data``, as X does;
* ``POST /2/media/upload`` (multipart ``media`` + ``media_category``; images only, ≤ 5 MB);
* ``POST /2/oauth2/token`` with ``grant_type=refresh_token``: refresh tokens are single use and
  rotate, as X's do (a spent one presented again: 400 ``invalid_grant``, counted in
  ``refresh_reuses``); a confidential client must authenticate with HTTP Basic.

Auth: every API call needs either a live OAuth 2.0 bearer token (``expire_access_token()`` ends
the current ones, ``revoke()`` ends the refresh token too) or an OAuth 1.0a header whose
HMAC-SHA1 signature the fake recomputes from the consumer and token secrets (RFC 5849; a reused
nonce is refused). Failures use X's problem JSON ``{"title", "detail", "type", "status"}``.
Tests inspect ``tweets`` / ``posts`` / ``calls``, inject trouble with ``fail_next(path, status,
body, headers)`` and slow answers with ``delay(path, seconds)``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import re
import secrets
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote

import regex
from aiohttp import BodyPartReader, web

from tests.fakes.loopback import HttpFailure, LoopbackServer

_URL = re.compile(
    r"(?<![A-Za-z0-9@$#_./-])(?:https?://(?:[a-z0-9-]+\.)+[a-z]{2,}"
    r"|(?:[a-z0-9-]+\.)+(?:com|net|org)(?![a-z0-9-]))"
    r"(?::\d+)?(?:[/?#][A-Za-z0-9_\-.~:/?#\[\]@!$&'()*+,;=%]*)?",
    re.I,
)
_LIGHT = [(0x0000, 0x10FF), (0x2000, 0x200D), (0x2010, 0x201F), (0x2032, 0x2037)]
_PICTO = regex.compile(r"[\p{Extended_Pictographic}\p{Regional_Indicator}\u20e3]")


def weighted_length(text: str) -> int:
    """twitter-text v3: URLs 23, emoji sequences 2, other code points 1 or 2 by range."""
    text = unicodedata.normalize("NFC", text)
    units = 0
    rest: list[str] = []
    position = 0
    for m in _URL.finditer(text):
        url = _trim(m.group())
        rest.append(text[position : m.start()])
        units += 2300
        position = m.start() + len(url)
    rest.append(text[position:])
    for piece in rest:
        for cluster in regex.findall(r"\X", piece):
            if _PICTO.search(cluster):
                units += 200
                continue
            for ch in cluster:
                units += 100 if any(lo <= ord(ch) <= hi for lo, hi in _LIGHT) else 200
    return units // 100


def _trim(url: str) -> str:
    url = url.rstrip(".,;:!?\"'")
    while url.endswith(")") and url.count(")") > url.count("("):
        url = url[:-1]
    return url


def _pct(value: str) -> str:
    return quote(value, safe="-._~")


def _problem(status: int, title: str, detail: str, **extra: Any) -> dict[str, Any]:
    return {"title": title, "detail": detail, "type": "about:blank", "status": status, **extra}


@dataclass
class Call:
    method: str
    path: str
    params: dict[str, Any]
    headers: dict[str, str]


@dataclass
class Tweet:
    id: str
    text: str
    in_reply_to: str | None
    media_ids: list[str]
    deleted: bool = False
    metrics: dict[str, int] = field(default_factory=dict)
    """``public_metrics`` as X reports them (``like_count``, ``impression_count``, ...)."""


@dataclass
class Media:
    id: str
    data: bytes
    mime: str
    category: str


_MAGIC = {b"\x89PNG": "image/png", b"\xff\xd8\xff": "image/jpeg", b"GIF8": "image/gif"}


class FakeX(LoopbackServer):
    client_max_size = 20 * 1024 * 1024
    calls: list[Call]

    def __init__(
        self,
        *,
        username: str = "nexus_x",
        client_id: str = "x-client-id",
        client_secret: str | None = None,
        consumer_key: str = "x-consumer-key",
        consumer_secret: str = "x-consumer-secret-0000",
        oauth1_token: str = "1-x-oauth1-token-0000",
        oauth1_token_secret: str = "x-oauth1-token-secret-0000",
    ) -> None:
        super().__init__()
        self.username = username
        self.client_id = client_id
        self.client_secret = client_secret
        self.consumer_key, self.consumer_secret = consumer_key, consumer_secret
        self.oauth1_token, self.oauth1_token_secret = oauth1_token, oauth1_token_secret
        self.access_tokens: set[str] = set()
        self.refresh_tokens: set[str] = set()
        self.access_token, self.refresh_token = self.issue_tokens()
        self.tweets: dict[str, Tweet] = {}
        self.media: dict[str, Media] = {}
        self.refreshes = 0
        #: Refresh tokens already exchanged, and how often one was presented again.
        self.spent_refresh_tokens: set[str] = set()
        self.refresh_reuses = 0
        self._nonces: set[str] = set()
        self._ids = itertools.count(1_860_000_000_000_000_001)
        self.usage_cap: int | None = None
        """Posts the app may make before its usage cap is reached (None: no cap)."""
        self.usage_cap_reset = 0
        """When the cap's period ends (unix seconds), sent as ``x-rate-limit-reset``."""
        self.daily_post_limit: int | None = None
        self.now: Callable[[], float] = time.time
        self._post_times: list[float] = []

    # ------------------------------------------------------------ scenario control
    def issue_tokens(self) -> tuple[str, str]:
        access, refresh = "xa-" + secrets.token_urlsafe(24), "xr-" + secrets.token_urlsafe(24)
        self.access_tokens.add(access)
        self.refresh_tokens.add(refresh)
        return access, refresh

    def expire_access_token(self) -> None:
        """Every OAuth 2.0 access token issued so far stops working (refresh tokens still do)."""
        self.access_tokens.clear()

    def revoke(self) -> None:
        """The user revoked the app: access and refresh tokens all stop working."""
        self.access_tokens.clear()
        self.refresh_tokens.clear()

    def fail_next(
        self,
        path: str,
        status: int,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        *,
        times: int = 1,
        after: int = 0,
    ) -> None:
        """Make ``times`` requests to ``path`` fail (after ``after`` succeed) with X's problem
        JSON (or ``body``)."""
        failure = HttpFailure(
            status, body or _problem(status, f"HTTP {status}", f"HTTP {status}"), headers or {}
        )
        self._queue_failure(path, failure, times=times, after=after)

    def set_metrics(self, tweet_id: str, **counts: int) -> None:
        """Set a post's ``public_metrics`` (``like_count=3, impression_count=40``); the rest
        stay 0."""
        self.tweets[tweet_id].metrics.update(counts)

    # ------------------------------------------------------------ inspection
    @property
    def posts(self) -> list[Tweet]:
        return [t for t in self.tweets.values() if not t.deleted]

    def calls_to(self, method: str, path: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and c.path == path]

    # ------------------------------------------------------------ plumbing
    async def _params(
        self, request: web.Request
    ) -> tuple[dict[str, Any], dict[str, Any], list[tuple[str, str]]]:
        params: dict[str, Any] = dict(request.query)
        files: dict[str, Any] = {}
        form: list[tuple[str, str]] = []
        if request.content_type == "application/json":
            raw = await request.read()
            if raw:
                params.update(json.loads(raw))
        elif request.content_type == "multipart/form-data":
            reader = await request.multipart()
            async for part in reader:
                if not isinstance(part, BodyPartReader):
                    continue
                if part.filename:
                    files[str(part.name)] = (
                        bytes(await part.read()),
                        part.headers.get("Content-Type", ""),
                    )
                else:
                    params[str(part.name)] = await part.text()
        elif request.content_type == "application/x-www-form-urlencoded":
            posted = await request.post()
            form = [(k, str(v)) for k, v in posted.items()]
            params.update(form)
        return params, files, form

    async def _handle(self, request: web.Request) -> web.Response:
        path = request.path
        try:
            params, files, form = await self._params(request)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return web.json_response(
                _problem(400, "Invalid Request", "Request body is not valid JSON"), status=400
            )
        self.calls.append(Call(request.method, path, params, dict(request.headers)))
        if failure := await self._checkpoint(path):
            return failure.response()
        if path == "/2/oauth2/token":
            return self._token(request, params)
        if not self._authorized(request, form):
            return web.json_response(_problem(401, "Unauthorized", "Unauthorized"), status=401)
        try:
            return self._route(request.method, path, params, files)
        except _Error as err:
            return web.json_response(err.body, status=err.status, headers=err.headers)

    def _authorized(self, request: web.Request, form: list[tuple[str, str]]) -> bool:
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            return header[7:] in self.access_tokens
        if not header.startswith("OAuth "):
            return False
        oauth = {unquote(k): unquote(v) for k, v in re.findall(r'([\w%]+)="([^"]*)"', header[6:])}
        signature = oauth.pop("oauth_signature", "")
        if (
            oauth.get("oauth_consumer_key") != self.consumer_key
            or oauth.get("oauth_token") != self.oauth1_token
            or oauth.get("oauth_signature_method") != "HMAC-SHA1"
            or not oauth.get("oauth_nonce")
            or not oauth.get("oauth_timestamp", "").isdigit()
            or oauth["oauth_nonce"] in self._nonces
        ):
            return False
        self._nonces.add(oauth["oauth_nonce"])
        pairs = sorted(
            (_pct(k), _pct(v)) for k, v in [*oauth.items(), *request.query.items(), *form]
        )
        base_url = f"{request.scheme}://{request.host.lower()}{request.path}"
        base = "&".join(
            [request.method, _pct(base_url), _pct("&".join(f"{k}={v}" for k, v in pairs))]
        )
        key = f"{_pct(self.consumer_secret)}&{_pct(self.oauth1_token_secret)}".encode()
        expected = base64.b64encode(hmac.new(key, base.encode(), hashlib.sha1).digest()).decode()
        return hmac.compare_digest(expected, signature)

    def _token(self, request: web.Request, params: dict[str, Any]) -> web.Response:
        self.refreshes += 1
        invalid = {
            "error": "invalid_request",
            "error_description": "Value passed for the token was invalid.",
        }
        if request.method != "POST" or params.get("grant_type") != "refresh_token":
            return web.json_response(invalid, status=400)
        if self.client_secret is not None:
            expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
            if request.headers.get("Authorization") != f"Basic {expected}":
                return web.json_response(
                    {
                        "error": "unauthorized_client",
                        "error_description": "Missing valid authorization header",
                    },
                    status=401,
                )
        elif params.get("client_id") != self.client_id:
            return web.json_response(invalid, status=400)
        token = params.get("refresh_token")
        if token in self.spent_refresh_tokens:  # single use: a second use is refused
            self.refresh_reuses += 1
            return web.json_response(
                {"error": "invalid_grant", "error_description": "Refresh token already used."},
                status=400,
            )
        if token not in self.refresh_tokens:
            return web.json_response(invalid, status=400)
        self.refresh_tokens.discard(token)  # single use: X rotates refresh tokens
        self.spent_refresh_tokens.add(str(token))
        self.access_token, self.refresh_token = self.issue_tokens()
        return web.json_response(
            {
                "token_type": "bearer",
                "expires_in": 7200,
                "access_token": self.access_token,
                "scope": "tweet.write users.read tweet.read offline.access media.write",
                "refresh_token": self.refresh_token,
            }
        )

    def _route(
        self, method: str, path: str, params: dict[str, Any], files: dict[str, Any]
    ) -> web.Response:
        if (method, path) == ("POST", "/2/tweets"):
            return web.json_response({"data": self._post(params)}, status=201)
        if (method, path) == ("GET", "/2/users/me"):
            return web.json_response(
                {"data": {"id": "2244994945", "name": "Nexus", "username": self.username}}
            )
        if (method, path) == ("POST", "/2/media/upload"):
            return web.json_response({"data": self._upload(params, files)})
        if method == "GET" and (m := re.fullmatch(r"/2/tweets/(\d+)", path)):
            return web.json_response(self._lookup(m.group(1), params))
        if method == "DELETE" and (m := re.fullmatch(r"/2/tweets/(\d+)", path)):
            tweet = self.tweets.get(m.group(1))
            if tweet is None or tweet.deleted:
                return web.json_response({"data": {"deleted": False}})
            tweet.deleted = True
            return web.json_response({"data": {"deleted": True}})
        raise _Error(404, _problem(404, "Not Found Error", f"Could not find {path}"))

    def _check_caps(self) -> None:
        """X's pay-per-use cap and 24-hour posting limit, checked before a post is made."""
        now = self.now()
        if self.usage_cap is not None and len(self.tweets) >= self.usage_cap:
            problem = _problem(
                429,
                "UsageCapExceeded",
                "Usage cap exceeded: Monthly product cap",
                type="https://api.twitter.com/2/problems/usage-capped",
                period="Monthly",
                scope="Product",
            )
            raise _Error(429, problem, {"x-rate-limit-reset": str(self.usage_cap_reset)})
        recent = [t for t in self._post_times if t > now - 86_400]
        if self.daily_post_limit is not None and len(recent) >= self.daily_post_limit:
            headers = {
                "x-user-limit-24hour-limit": str(self.daily_post_limit),
                "x-user-limit-24hour-remaining": "0",
                "x-user-limit-24hour-reset": str(int(recent[0] + 86_400)),
            }
            raise _Error(429, _problem(429, "Too Many Requests", "Too Many Requests"), headers)
        self._post_times = recent

    def _post(self, params: dict[str, Any]) -> dict[str, Any]:
        self._check_caps()
        text = params.get("text")
        media_ids = (params.get("media") or {}).get("media_ids") or []
        invalid = "https://api.twitter.com/2/problems/invalid-request"
        if not isinstance(text, str) or (not text.strip() and not media_ids):
            raise _Error(
                400,
                _problem(
                    400,
                    "Invalid Request",
                    "One or more parameters to your request was invalid.",
                    type=invalid,
                ),
            )
        if weighted_length(text) > 280:
            raise _Error(
                400,
                _problem(
                    400,
                    "Invalid Request",
                    "One or more parameters to your request was invalid.",
                    type=invalid,
                    errors=[
                        {"parameters": {"text": [text]}, "message": "Your Tweet text is too long."}
                    ],
                ),
            )
        if any(t.text == text for t in self.posts):
            raise _Error(
                403,
                _problem(
                    403,
                    "Forbidden",
                    "You are not allowed to create a Tweet with duplicate content.",
                ),
            )
        if (
            not isinstance(media_ids, list)
            or len(media_ids) > 4
            or any(not isinstance(i, str) or i not in self.media for i in media_ids)
        ):
            raise _Error(
                400, _problem(400, "Invalid Request", "Your media IDs are invalid.", type=invalid)
            )
        reply_to = (params.get("reply") or {}).get("in_reply_to_tweet_id")
        if reply_to is not None:
            parent = self.tweets.get(str(reply_to))
            if parent is None or parent.deleted:
                raise _Error(
                    403,
                    _problem(
                        403,
                        "Forbidden",
                        "You attempted to reply to a Tweet that is deleted or not visible to you.",
                    ),
                )
        tweet_id = str(next(self._ids))
        self.tweets[tweet_id] = Tweet(tweet_id, text, reply_to, list(media_ids))
        self._post_times.append(self.now())
        return {"id": tweet_id, "text": text, "edit_history_tweet_ids": [tweet_id]}

    def _lookup(self, tweet_id: str, params: dict[str, Any]) -> dict[str, Any]:
        tweet = self.tweets.get(tweet_id)
        if tweet is None or tweet.deleted:
            return {
                "errors": [
                    {
                        "value": tweet_id,
                        "detail": f"Could not find tweet with id: [{tweet_id}].",
                        "title": "Not Found Error",
                        "resource_type": "tweet",
                        "parameter": "id",
                        "resource_id": tweet_id,
                        "type": "https://api.twitter.com/2/problems/resource-not-found",
                    }
                ]
            }
        data: dict[str, Any] = {
            "id": tweet.id,
            "text": tweet.text,
            "edit_history_tweet_ids": [tweet.id],
        }
        if "public_metrics" in str(params.get("tweet.fields", "")).split(","):
            names = ("retweet_count", "reply_count", "like_count", "quote_count")
            extra = ("bookmark_count", "impression_count")
            data["public_metrics"] = {n: tweet.metrics.get(n, 0) for n in (*names, *extra)}
        return {"data": data}

    def _upload(self, params: dict[str, Any], files: dict[str, Any]) -> dict[str, Any]:
        bad = "https://api.twitter.com/2/problems/invalid-request"
        if "media" not in files:
            raise _Error(400, _problem(400, "Invalid Request", "media is required", type=bad))
        data, _ = files["media"]
        category = params.get("media_category", "tweet_image")
        mime = next((m for magic, m in _MAGIC.items() if data.startswith(magic)), None)
        if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            mime = "image/webp"
        if category != "tweet_image" or mime is None:
            raise _Error(400, _problem(400, "Invalid Request", "Unsupported media type", type=bad))
        if len(data) > 5 * 1024 * 1024:
            raise _Error(
                400, _problem(400, "Invalid Request", "File size exceeds 5242880 bytes", type=bad)
            )
        media_id = str(next(self._ids))
        self.media[media_id] = Media(media_id, data, mime, category)
        return {
            "id": media_id,
            "media_key": f"3_{media_id}",
            "size": len(data),
            "expires_after_secs": 86400,
            "image": {"image_type": mime, "w": 1, "h": 1},
        }


class _Error(Exception):
    def __init__(
        self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(body.get("detail"))
        self.status, self.body, self.headers = status, body, headers or {}
