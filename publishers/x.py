"""Publish posts to X (API v2 over raw httpx), as a user: OAuth 2.0 or OAuth 1.0a user context.

Posting: ``POST /2/tweets`` (JSON ``{"text", "reply": {"in_reply_to_tweet_id"}, "media":
{"media_ids"}}``). Text longer than 280 weighted units (:func:`x_weighted_length`) becomes a
thread: each part replies to the previous one. Images are uploaded first with
``POST /2/media/upload`` (multipart, ``media_category=tweet_image``; JPEG, PNG, GIF or WebP, at
most 5 MB, at most 4) and attached to the first post only. A post's URL is
``https://x.com/i/web/status/{id}``.

Counting (twitter-text config v3, :func:`x_weighted_length`): the text is NFC-normalised; every
URL counts 23; an emoji (a whole sequence: ZWJ families, flags, keycaps, skin tones) counts 2;
any other code point counts 1 in the ranges U+0000–U+10FF, U+2000–U+200D, U+2010–U+201F and
U+2032–U+2037 and 2 elsewhere (CJK, Hangul, "…", "€", ...). URLs are recognised with a scheme
(``http(s)://host.tld/...``) or without one for common generic TLDs (``example.com/x``) and
country TLDs the way twitter-text does (``bbc.co.uk``, ``t.co/abc``, ``example.co``; a lone
``name.io`` without a path is not a link). Anything we fail to see as a URL is counted by its
characters, which errs towards shorter posts, never rejected ones, except for a protocol-less
link with an exotic TLD longer than 23 characters: write links with ``https://``.

Auth: :class:`OAuth2UserAuth` sends ``Authorization: Bearer``. On a 401 the publisher renews the
access token once (``POST /2/oauth2/token``, ``grant_type=refresh_token``; HTTP Basic with the
client secret for confidential clients, ``client_id`` in the form for public ones), hands the
new tokens to ``on_tokens`` (sync or async; X rotates refresh tokens, so the old one is dead from
now on: store the new ones) and retries the request once. A refused renewal, or a second 401, is
:class:`AuthExpired`. :class:`OAuth1UserAuth` signs every request with HMAC-SHA1 per RFC 5849
(:func:`oauth1_authorization`); a 401 is :class:`AuthExpired` at once.

Errors: 429 → :class:`RateLimited` until ``x-rate-limit-reset`` (unix seconds; X sends no
Retry-After), 900 s without it; a 429 that means a quota is used up is
:class:`QuotaUsedUp` instead: ``x-user-limit-24hour-remaining: 0`` (the 24-hour posting cap, until
``x-user-limit-24hour-reset``) or the ``UsageCapExceeded`` problem
(``type`` ``…/2/problems/usage-capped``: the app's pay-per-use cap for the period, until
``x-rate-limit-reset``, a day without it); 400/403 (duplicate content, invalid request,
missing permission) → :class:`Permanent` with X's ``detail``; 5xx, timeouts, network errors →
:class:`Transient`. X has no idempotency key: if a post timed out *after* X created it, the
retry gets 403 "duplicate content" (:class:`Permanent`). No reason or repr ever contains a token
or secret.

Cost: pay-per-use, each post (each part of a thread) at ``prices.post``, or
``prices.link_post`` when it carries a link (:meth:`cost`, :mod:`publishers.quota`).

Metrics: ``GET /2/tweets/:id?tweet.fields=public_metrics`` for the first post of a thread:
likes = ``like_count``, reposts = ``retweet_count + quote_count``, replies = ``reply_count``,
views = ``impression_count`` (None when X leaves it out). X answers a deleted post with HTTP 200
and a "resource-not-found" problem in ``errors``: :class:`Permanent` ("the post was deleted on
X"). Rate limits and auth behave as for posting.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import inspect
import re
import secrets
import time
import unicodedata
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

import httpx
import regex

from publishers.base import MediaLimits, Metrics, PublishResult, Renewal, unshared_renewal
from publishers.errors import (
    AuthExpired,
    Permanent,
    PublishError,
    QuotaUsedUp,
    RateLimited,
    Transient,
)
from publishers.http import json_result, send
from publishers.media import MediaItem, load_media
from publishers.metrics import check_media_count, media_count_problems, post_deleted, read_metrics
from publishers.parts import validate_parts
from publishers.quota import Cost, XPrices, price
from publishers.text import split_text
from publishers.thread import OnConfirmed, confirmed_parts, harmless, post_thread

X_WEIGHTED_LIMIT = 280
X_URL_LENGTH = 23
X_MAX_IMAGES = 4
X_IMAGE_MAX_BYTES = 5 * 1024 * 1024
X_IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")
X_IMAGE_MAX_SIDE = 4096
DEFAULT_RATE_LIMIT_WAIT = 900.0  # X's rate-limit windows are 15 minutes
_NOT_FOUND_PROBLEM = "https://api.twitter.com/2/problems/resource-not-found"
_USAGE_CAPPED_PROBLEM = "https://api.twitter.com/2/problems/usage-capped"
USAGE_CAP_WAIT = 86400.0  # X does not say when a period's cap resets without x-rate-limit-reset

# ------------------------------------------------------------------ weighted length
_LIGHT_RANGES = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))
_SCALE, _LIGHT, _HEAVY = 100, 100, 200

_GENERIC_TLDS = frozenset(
    "com net org edu gov mil int info biz name pro mobi app dev page blog shop store online "
    "site tech xyz news live cloud club space website email today world design agency studio "
    "media link art top wiki social network digital company solutions ventures".split()
)
_SPECIAL_CCTLDS = frozenset({"co", "tv"})  # linked even as a lone "name.co"
_HOST = r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}(?![a-z0-9-])"
_PATH_CHAR = r"[A-Za-z0-9_\-.~:/?#\[\]@!$&'()*+,;=%\u00c0-\u024f\u0400-\u04ff]"
_URL_RE = re.compile(
    r"(?<![A-Za-z0-9@$#＠＃_./-])(?P<scheme>https?://)?(?P<host>" + _HOST + r")"
    r"(?::\d{1,5})?(?P<path>[/?#]" + _PATH_CHAR + r"*)?",
    re.IGNORECASE,
)
_EMOJI_RE = regex.compile(r"\p{Extended_Pictographic}|\p{Regional_Indicator}|\u20e3")
_CLUSTER_RE = regex.compile(r"\X")


def _trim_url(url: str) -> str:
    while url and (url[-1] in ".,;:!?\"'" or (url[-1] == ")" and url.count("(") < url.count(")"))):
        url = url[:-1]
    return url


def find_urls(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of every URL X would shorten to 23 characters in (NFC) ``text``."""
    spans: list[tuple[int, int]] = []
    for m in _URL_RE.finditer(text):
        host = m.group("host").lower()
        tld = host.rsplit(".", 1)[1]
        if not m.group("scheme"):
            if tld in _GENERIC_TLDS or tld in _SPECIAL_CCTLDS:
                pass
            elif len(tld) == 2 and (m.group("path") or host.count(".") > 1):
                pass  # a country TLD needs a path or a second label ("t.co/x", "bbc.co.uk")
            else:
                continue
        url = _trim_url(m.group())
        spans.append((m.start(), m.start() + len(url)))
    return spans


def _code_point_weight(ch: str) -> int:
    cp = ord(ch)
    for low, high in _LIGHT_RANGES:
        if low <= cp <= high:
            return _LIGHT
    return _HEAVY


def x_weighted_length(text: str) -> int:
    """Length of ``text`` as X counts it against 280 (twitter-text v3 weighting)."""
    text = unicodedata.normalize("NFC", text)
    total = 0
    position = 0
    for start, end in [*find_urls(text), (len(text), len(text))]:
        chunk = text[position:start]
        if chunk.isascii():
            total += len(chunk) * _LIGHT
        else:
            for cluster in _CLUSTER_RE.findall(chunk):
                if _EMOJI_RE.search(cluster):
                    total += _HEAVY  # an emoji sequence counts 2 as a whole
                else:
                    total += sum(_code_point_weight(ch) for ch in cluster)
        if start < len(text):
            total += X_URL_LENGTH * _SCALE
        position = end
    return total // _SCALE


def split_for_x(text: str, limit: int = X_WEIGHTED_LIMIT) -> list[str]:
    """The posts ``text`` becomes: cut at whitespace, each at most ``limit`` weighted units."""
    return split_text(text, limit, x_weighted_length)


# ------------------------------------------------------------------ auth
@dataclass(frozen=True)
class OAuth2UserAuth:
    """OAuth 2.0 user context (PKCE app). ``client_secret`` only for confidential clients."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    client_id: str
    client_secret: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class OAuth1UserAuth:
    """OAuth 1.0a user context: the app's consumer key pair and the user's access token pair."""

    consumer_key: str
    consumer_secret: str = field(repr=False)
    access_token: str = field(repr=False)
    access_token_secret: str = field(repr=False)


XAuth = OAuth2UserAuth | OAuth1UserAuth
TokensCallback = Callable[[dict[str, Any]], Awaitable[None] | None]


def _pct(value: str) -> str:
    """RFC 3986 percent-encoding as RFC 5849 §3.6 wants it (only unreserved stay)."""
    return quote(value, safe="-._~")


def oauth1_signature_base(method: str, url: str, params: Sequence[tuple[str, str]]) -> str:
    """RFC 5849 §3.4.1: ``METHOD&base-uri&normalized-params`` (query params taken from url)."""
    parts = urlsplit(url)
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    port = parts.port
    if port is not None and (scheme, port) not in (("http", 80), ("https", 443)):
        host = f"{host}:{port}"
    base_uri = urlunsplit((scheme, host, parts.path or "/", "", ""))
    pairs = [*parse_qsl(parts.query, keep_blank_values=True), *params]
    normalized = "&".join(f"{k}={v}" for k, v in sorted((_pct(k), _pct(v)) for k, v in pairs))
    return "&".join((method.upper(), _pct(base_uri), _pct(normalized)))


def oauth1_sign(base_string: str, consumer_secret: str, token_secret: str) -> str:
    """HMAC-SHA1 of the base string, base64 (RFC 5849 §3.4.2)."""
    key = f"{_pct(consumer_secret)}&{_pct(token_secret)}".encode()
    return base64.b64encode(hmac.new(key, base_string.encode(), hashlib.sha1).digest()).decode()


def oauth1_authorization(
    method: str,
    url: str,
    auth: OAuth1UserAuth,
    *,
    form: Sequence[tuple[str, str]] = (),
    nonce: str | None = None,
    timestamp: int | None = None,
) -> str:
    """The ``Authorization: OAuth ...`` header for one request.

    ``form``: the parameters of an ``application/x-www-form-urlencoded`` body, which are signed
    too; JSON and multipart bodies are not (RFC 5849 §3.4.1.3.1).
    """
    oauth = {
        "oauth_consumer_key": auth.consumer_key,
        "oauth_nonce": nonce or secrets.token_hex(16),
        "oauth_signature_method": "HMAC-SHA1",
        "oauth_timestamp": str(int(time.time()) if timestamp is None else timestamp),
        "oauth_token": auth.access_token,
        "oauth_version": "1.0",
    }
    base = oauth1_signature_base(method, url, [*oauth.items(), *form])
    oauth["oauth_signature"] = oauth1_sign(base, auth.consumer_secret, auth.access_token_secret)
    return "OAuth " + ", ".join(f'{_pct(k)}="{_pct(v)}"' for k, v in sorted(oauth.items()))


# ------------------------------------------------------------------ the publisher
class XPublisher:
    """Posts as the user the ``auth`` credentials belong to."""

    platform = "x"
    media_limits = MediaLimits(
        max_count=X_MAX_IMAGES,
        max_bytes=X_IMAGE_MAX_BYTES,
        max_side=X_IMAGE_MAX_SIDE,
        formats=X_IMAGE_TYPES,
    )

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        base_url: str = "https://api.x.com",
        upload_url: str | None = None,
        auth: XAuth,
        on_tokens: TokensCallback | None = None,
        renewal: Renewal = unshared_renewal,
        clock: Callable[[], float] = time.time,
        prices: XPrices | None = None,
    ) -> None:
        self._client = client
        self.prices = prices or XPrices()
        self._base_url = base_url.rstrip("/")
        # the v2 media endpoint lives on the API host (v1.1 used upload.twitter.com)
        self._upload_url = (upload_url or base_url).rstrip("/")
        self._auth = auth
        self._on_tokens = on_tokens
        self._renewal = renewal
        self._clock = clock
        self._refresh_lock = asyncio.Lock()
        self.name = "X"
        """``"@username"`` once :meth:`verify` ran."""

    def __repr__(self) -> str:  # never show a token or secret
        kind = "oauth2" if isinstance(self._auth, OAuth2UserAuth) else "oauth1"
        return f"XPublisher(base_url={self._base_url!r}, auth={kind})"

    @property
    def auth(self) -> XAuth:
        """The current credentials (OAuth 2.0 tokens change after a refresh)."""
        return self._auth

    # ------------------------------------------------------------------ protocol
    def validate(self, text: str, *, media_count: int = 0) -> list[str]:
        return validate_parts(text, split_for_x) + media_count_problems(
            "X", self.media_limits, media_count
        )

    def split(self, text: str) -> list[str]:
        return split_for_x(text)

    def cost(self, text: str) -> Cost:
        """Pay-per-use: each part is a post, priced as a link post when it carries a link."""
        parts = self.split(text)
        return price(len(parts), sum(bool(find_urls(p)) for p in parts), self.prices)

    async def publish(
        self,
        text: str,
        *,
        already_posted: Sequence[str] = (),
        media: Sequence[MediaItem] = (),
        key: str = "",
        on_confirmed: OnConfirmed | None = None,
    ) -> PublishResult:
        """Post ``text`` as one post or a reply thread; up to 4 images on the first post.

        ``already_posted``: the confirmed parts of a failed attempt with the *same* text; only
        the rest is posted, the first of them replying to the last confirmed part (images are
        not uploaded again: they went with the first part). X has no idempotency key: a part
        that may have gone out raises ``OutcomeUnknown`` (``key`` is unused).
        """
        parts = self.split(text)
        posted = confirmed_parts(parts, already_posted, "posts")
        files = [load_media(m) for m in media] if not posted else []
        self._check_images(files)
        with harmless():
            media_ids = [await self._upload(data, name, mime) for data, name, mime in files]

        async def send_part(index: int, previous: str | None) -> str:
            payload: dict[str, Any] = {"text": parts[index]}
            if previous is not None:
                payload["reply"] = {"in_reply_to_tweet_id": previous}
            if index == 0 and media_ids:
                payload["media"] = {"media_ids": media_ids}
            body = await self._call("POST", self._base_url + "/2/tweets", json=payload)
            return str(_data(body)["id"])

        posted = await post_thread(
            parts, posted, send_part, noun="posts", on_confirmed=on_confirmed
        )
        return PublishResult(
            external_id=posted[0], url=self.post_url(posted[0]), part_ids=tuple(posted)
        )

    async def delete(self, external_id: str) -> None:
        """Delete one post; for a thread call it for each of ``part_ids``."""
        try:
            await self._call("DELETE", f"{self._base_url}/2/tweets/{external_id}")
        except _NotFound:
            return  # already gone

    async def fetch_metrics(self, result: PublishResult) -> Metrics:
        """The counters of the post (``GET /2/tweets/:id?tweet.fields=public_metrics``).

        For a thread these are the first post's (``result.external_id``): that is the post
        people see and share; replies to it within the thread are counted in its replies.
        likes = ``like_count``, reposts = ``retweet_count + quote_count``, replies =
        ``reply_count``, views = ``impression_count``. A deleted post (X answers 200 with a
        "resource-not-found" problem, or 404) is :class:`Permanent`.
        """
        url = f"{self._base_url}/2/tweets/{result.external_id}?tweet.fields=public_metrics"
        try:
            body = await self._call("GET", url)
        except _NotFound as exc:
            raise post_deleted("X") from exc
        if isinstance(body, dict) and "data" not in body:
            errors = body.get("errors")
            if isinstance(errors, list) and any(
                isinstance(e, dict) and e.get("type") == _NOT_FOUND_PROBLEM for e in errors
            ):
                raise post_deleted("X")
        return read_metrics(
            _data(body).get("public_metrics"),
            likes=["like_count"],
            reposts=["retweet_count", "quote_count"],
            replies=["reply_count"],
            views="impression_count",
        )

    async def verify(self) -> str:
        """Check the credentials; return ``"@username"`` (also kept as :attr:`name`)."""
        body = await self._call("GET", self._base_url + "/2/users/me")
        self.name = f"@{_data(body)['username']}"
        return self.name

    @staticmethod
    def post_url(post_id: str) -> str:
        return f"https://x.com/i/web/status/{post_id}"

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _check_images(files: Sequence[tuple[bytes, str, str]]) -> None:
        check_media_count("X", XPublisher.media_limits, len(files))
        for data, name, mime in files:
            if mime not in X_IMAGE_TYPES:
                raise Permanent(f"X accepts JPEG, PNG, GIF or WebP images; {name} is {mime}")
            if len(data) > X_IMAGE_MAX_BYTES:
                raise Permanent(
                    f"the image {name} is {len(data) / 1024 / 1024:.1f} MB; X allows at most 5 MB"
                )

    async def _upload(self, data: bytes, name: str, mime: str) -> str:
        body = await self._call(
            "POST",
            self._upload_url + "/2/media/upload",
            files={"media": (name, data, mime)},
            data={"media_category": "tweet_image", "media_type": mime},
        )
        return str(_data(body)["id"])

    def _authorization(self, method: str, url: str) -> str:
        auth = self._auth
        if isinstance(auth, OAuth2UserAuth):
            return f"Bearer {auth.access_token}"
        return oauth1_authorization(method, url, auth, timestamp=int(self._clock()))

    async def _call(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        files: Any = None,
        data: dict[str, str] | None = None,
    ) -> Any:
        for attempt in (1, 2):
            sent_auth = self._auth
            headers = {"Authorization": self._authorization(method, url)}
            response = await self._send(
                method, url, json=json, files=files, data=data, headers=headers
            )
            if (
                response.status_code == 401
                and attempt == 1
                and isinstance(sent_auth, OAuth2UserAuth)
            ):
                with harmless():  # a token refresh publishes nothing
                    await self._refresh(sent_auth)
                continue
            return self._result(response)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return await send(self._client, method, url, platform="X", **kwargs)

    async def _refresh(self, stale: OAuth2UserAuth) -> None:
        """Swap the refresh token for new tokens once, even when several calls (or several
        processes, through the shared ``renewal`` lease) got a 401 at the same time."""
        async with self._refresh_lock:
            if self._auth is not stale:
                return  # another call renewed them meanwhile
            async with self._renewal() as stored:
                if stored and stored.get("refresh_token") not in (None, stale.refresh_token):
                    # another process renewed them while this one waited: use its tokens
                    self._auth = replace(
                        stale,
                        access_token=str(stored["access_token"]),
                        refresh_token=str(stored["refresh_token"]),
                    )
                    return
                await self._redeem(stale)

    async def _redeem(self, stale: OAuth2UserAuth) -> None:
        """Spend the refresh token on new tokens and hand them to ``on_tokens`` to be stored."""
        form = {"grant_type": "refresh_token", "refresh_token": stale.refresh_token}
        basic: tuple[str, str] | None = None
        if stale.client_secret:
            basic = (stale.client_id, stale.client_secret)
        else:
            form["client_id"] = stale.client_id
        response = await self._send(
            "POST", self._base_url + "/2/oauth2/token", data=form, auth=basic
        )
        if response.status_code in (400, 401):
            raise AuthExpired(
                "X refused to renew the access (the authorisation was revoked or has "
                "expired): reconnect the X account"
            )
        body = self._result(response)
        if not isinstance(body, dict) or not body.get("access_token"):
            raise Transient("X sent an unreadable answer while renewing the access")
        new = replace(
            stale,
            access_token=str(body["access_token"]),
            refresh_token=str(body.get("refresh_token") or stale.refresh_token),
        )
        self._auth = new
        if self._on_tokens is not None:
            tokens: dict[str, Any] = {
                "access_token": new.access_token,
                "refresh_token": new.refresh_token,
                "token_type": body.get("token_type", "bearer"),
                "scope": body.get("scope"),
                "expires_in": body.get("expires_in"),
                "expires_at": (
                    self._clock() + float(body["expires_in"])
                    if body.get("expires_in") is not None
                    else None
                ),
            }
            outcome = self._on_tokens(tokens)
            if inspect.isawaitable(outcome):
                await outcome

    def _result(self, response: httpx.Response) -> Any:
        return json_result(response, platform="X", error=self._error)

    def _secrets(self) -> list[str]:
        auth = self._auth
        if isinstance(auth, OAuth2UserAuth):
            return [s for s in (auth.access_token, auth.refresh_token, auth.client_secret) if s]
        return [auth.consumer_secret, auth.access_token, auth.access_token_secret]

    def _error(self, response: httpx.Response, body: Mapping[str, Any]) -> PublishError:
        status = response.status_code
        detail = str(body.get("detail") or body.get("title") or f"HTTP {status}")
        errors = body.get("errors")
        if isinstance(errors, list):
            extra = [
                str(e.get("message")) for e in errors if isinstance(e, dict) and e.get("message")
            ]
            extra = [m for m in extra if m != detail]
            if extra:
                detail = f"{detail} {'; '.join(extra)}"
        for secret in self._secrets():
            detail = detail.replace(secret, "***")
        if status == 429:
            return self._too_many(response.headers, body, detail)
        if status >= 500 or status == 408:
            return Transient(f"X had a server error ({detail}); will retry")
        if status == 401:
            return AuthExpired("X rejected the credentials: reconnect the X account")
        if status == 404:
            return _NotFound(f"X could not find it: {detail}")
        return Permanent(f"X refused the post: {detail}")

    def _too_many(
        self, headers: httpx.Headers, body: Mapping[str, Any], detail: str
    ) -> PublishError:
        """A 429: a used-up quota (the 24-hour posting cap, the usage cap) or a rate limit."""
        if headers.get("x-user-limit-24hour-remaining") == "0":
            wait = self._until(headers.get("x-user-limit-24hour-reset"), DEFAULT_RATE_LIMIT_WAIT)
            limit = _int_or_none(headers.get("x-user-limit-24hour-limit"))
            return QuotaUsedUp(
                wait,
                f"X's 24-hour posting limit is used up; it resets in {wait:.0f} seconds",
                limit=limit,
                window="day",
            )
        if body.get("type") == _USAGE_CAPPED_PROBLEM or body.get("title") == "UsageCapExceeded":
            wait = self._until(headers.get("x-rate-limit-reset"), USAGE_CAP_WAIT)
            period = str(body.get("period") or "").lower()
            return QuotaUsedUp(
                wait,
                f"X's usage cap is reached ({detail})",
                window="month" if period == "monthly" else "day",
            )
        wait = self._until(headers.get("x-rate-limit-reset"), DEFAULT_RATE_LIMIT_WAIT)
        return RateLimited(wait, f"X asked to wait {wait:.0f} seconds")

    def _until(self, reset: str | None, default: float) -> float:
        """Seconds until a unix-time reset header (``default`` without a readable one)."""
        if reset:
            try:
                return max(float(reset) - self._clock(), 1.0)
            except ValueError:
                pass
        return default


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def _data(body: Any) -> dict[str, Any]:
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        raise Transient("X sent an answer without data")
    return data


class _NotFound(Permanent):
    """A 404: a missing post (``delete`` ignores it)."""
