"""Publish posts to Bluesky (AT Protocol XRPC over raw httpx).

Session: ``com.atproto.server.createSession`` (handle + app password) gives an access and a
refresh JWT; they are kept on the publisher, handed to ``on_tokens`` to be stored (encrypted,
with the account) and given back as ``session`` when a publisher is built again, so a restart
does not log in again: Bluesky allows 30 logins per 5 minutes and 300 a day. When a call answers
``ExpiredToken`` (HTTP 400) or 401, the publisher calls ``com.atproto.server.refreshSession``
with the refresh JWT (single use: it rotates) and retries the call once; if the refresh is
refused too, it logs in again with the app password once, and only if *that* is refused raises
:class:`AuthExpired`. A renewal runs once per publisher however many calls need it, and under
the ``renewal`` lease that every process shares; a session another process stored meanwhile is
adopted instead. :meth:`verify` checks the session (``getSession``) and logs in only without
one.

Text: a post holds at most 300 graphemes (user-perceived characters; an emoji family is one)
and at most 3000 UTF-8 bytes (``app.bsky.feed.post`` lexicon). :func:`post_measure` folds both
into one number that :func:`publishers.text.split_text` uses, so a longer text becomes a thread:
every later post carries ``reply = {root, parent}`` strong refs (uri + cid) to the first and the
previous post.

Rich text: links (``http(s)://``), mentions (``@handle.domain``, resolved to a DID with
``com.atproto.identity.resolveHandle``; a handle that does not resolve stays plain text) and
hashtags become facets whose ``byteStart``/``byteEnd`` are **UTF-8 byte offsets** into the
post's own text (:func:`find_spans` is pure and property-tested).

Images: ``publish(..., media=[bytes | path, ...], alt_texts=[...])`` uploads each with
``com.atproto.repo.uploadBlob`` and embeds them (``app.bsky.embed.images``) in the *first*
post. At most 4 images of at most 1,000,000 bytes each; larger or more are refused with
:class:`Permanent` before anything is uploaded.

External ids are the posts' ``at://`` URIs; retrying with ``already_posted`` fetches the cids it
needs for reply refs with ``com.atproto.repo.getRecord``. Exactly once: given the publication's
``key``, every part is created under a record key of our choosing (:func:`record_key`, a TID
derived from the key and the part's index). A PDS never holds two records under one key, so a
``createRecord`` that timed out is simply resent; if it (or the resend) fails, the record under
that key is looked up, and if it exists, that is the part.

Errors: 400 ``InvalidRequest`` (and other 4xx) → :class:`Permanent` with the server's message;
401/``ExpiredToken`` → refresh as above; 429 → :class:`RateLimited` after ``ratelimit-reset``
(unix seconds) minus now, 60 s when absent, or :class:`QuotaUsedUp` when ``ratelimit-policy``
names a window of an hour or a day (the account's write points: a record costs 3 of 5,000 an
hour and 35,000 a day); 5xx, timeouts and network errors →
:class:`Transient`. No reason ever contains the app password or a JWT.

Metrics: ``app.bsky.feed.getPosts?uris=<at-uri>`` (an AppView method the PDS proxies) for the
first post of a thread: likes = ``likeCount``, reposts = ``repostCount + quoteCount``, replies =
``replyCount``; no views. A deleted post is missing from ``posts``: :class:`Permanent`.

Graphemes: with the ``regex`` package installed, clusters are Unicode's extended grapheme
clusters (``\\X``); without it, :func:`graphemes` falls back to an approximation that keeps
combining marks, variation selectors, emoji modifiers, ZWJ sequences, regional-indicator pairs,
Hangul syllable sequences and CR LF together.
"""

from __future__ import annotations

import asyncio
import re
import time
import unicodedata
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

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
from publishers.media import sniff_image_type as sniff_image_type  # re-exported
from publishers.metrics import check_media_count, media_count_problems, post_deleted, read_metrics
from publishers.parts import validate_parts
from publishers.text import split_text
from publishers.thread import OnConfirmed, confirmed_parts, harmless, key_digest, post_thread

try:  # pragma: no cover - which branch runs depends on the environment
    import regex as _regex
except ImportError:  # pragma: no cover
    _regex = None

BLUESKY_GRAPHEME_LIMIT = 300
BLUESKY_BYTE_LIMIT = 3000
BLUESKY_IMAGE_MAX_BYTES = 1_000_000
BLUESKY_MAX_IMAGES = 4
BLUESKY_IMAGE_MAX_SIDE = 2000  # the app shrinks larger images to 2000 px anyway
POST_COLLECTION = "app.bsky.feed.post"
DEFAULT_RATE_LIMIT_WAIT = 60.0

# ---------------------------------------------------------------- graphemes
_GRAPHEME_RE = _regex.compile(r"\X") if _regex is not None else None
_ZWJ = "\u200d"


def _extends(ch: str) -> bool:
    """Characters that never start a cluster in the fallback approximation."""
    if unicodedata.category(ch) in ("Mn", "Me", "Mc"):
        return True
    cp = ord(ch)
    return (
        0xFE00 <= cp <= 0xFE0F  # variation selectors
        or 0x1F3FB <= cp <= 0x1F3FF  # emoji skin-tone modifiers
        or 0xE0020 <= cp <= 0xE007F  # tag characters (subdivision flags)
        or 0xE0100 <= cp <= 0xE01EF
        or cp == 0x200C
        or ch == _ZWJ
    )


def _regional(ch: str) -> bool:
    return 0x1F1E6 <= ord(ch) <= 0x1F1FF


def _hangul_jamo_joins(prev: str, ch: str) -> bool:
    p, c = ord(prev), ord(ch)
    lead = 0x1100 <= p <= 0x115F
    vowel = 0x1160 <= c <= 0x11A7
    trail = 0x11A8 <= c <= 0x11FF
    syllable_p = 0xAC00 <= p <= 0xD7A3
    return (lead and (0x1100 <= c <= 0x11A7 or 0xAC00 <= c <= 0xD7A3)) or (
        (syllable_p or 0x1160 <= p <= 0x11FF) and (vowel or trail)
    )


def _fallback_graphemes(text: str) -> list[str]:
    clusters: list[str] = []
    i, n = 0, len(text)
    while i < n:
        j = i + 1
        if text[i] == "\r" and j < n and text[j] == "\n":
            clusters.append("\r\n")
            i = j + 1
            continue
        if _regional(text[i]) and j < n and _regional(text[j]):
            j += 1
        while j < n:
            ch = text[j]
            if _extends(ch):
                j += 1
                if ch == _ZWJ and j < n and not text[j].isspace():
                    j += 1  # ZWJ joins the next pictograph
            elif _hangul_jamo_joins(text[j - 1], ch):
                j += 1
            else:
                break
        clusters.append(text[i:j])
        i = j
    return clusters


def graphemes(text: str) -> list[str]:
    """``text`` cut into grapheme clusters."""
    if _GRAPHEME_RE is not None:
        return list(_GRAPHEME_RE.findall(text))
    return _fallback_graphemes(text)  # pragma: no cover


def grapheme_len(text: str) -> int:
    """Number of grapheme clusters (what Bluesky counts against 300)."""
    if text.isascii():
        return len(text) - text.count("\r\n")
    return len(graphemes(text))


def post_measure(text: str) -> int:
    """One number for both post limits: ≤ 300 means ≤ 300 graphemes *and* ≤ 3000 bytes."""
    byte_units = -(-len(text.encode()) // (BLUESKY_BYTE_LIMIT // BLUESKY_GRAPHEME_LIMIT))
    return max(grapheme_len(text), byte_units)


# ---------------------------------------------------------------- rich text
@dataclass(frozen=True)
class Span:
    """A link, mention or tag found in a text, with UTF-8 byte offsets.

    ``value`` is the link's URI, the mention's handle (no ``@``) or the tag (no ``#``);
    ``text.encode()[byte_start:byte_end]`` is the link, ``"@" + handle`` or ``"#" + tag``.
    """

    kind: str  # "link" | "mention" | "tag"
    value: str
    byte_start: int
    byte_end: int


_BOUNDARY = r"(?<![^\s(])"  # at the start, or after whitespace or "("
_LINK_RE = re.compile(_BOUNDARY + r"https?://[^\s]+", re.IGNORECASE)
_MENTION_RE = re.compile(_BOUNDARY + r"@([a-zA-Z0-9][a-zA-Z0-9.-]*[a-zA-Z0-9])(?![a-zA-Z0-9_])")
_HANDLE_RE = re.compile(
    r"^([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+"
    r"[a-zA-Z]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$"
)
_TAG_RE = re.compile(r"(?<!\S)#([^\s#]+)")
_TRAILING_LINK_PUNCT = ".,;:!?\"'"
_TAG_MAX_GRAPHEMES = 64


def _is_punct(ch: str) -> bool:
    return unicodedata.category(ch).startswith("P")


def _trim_link(url: str) -> str:
    while url and (
        url[-1] in _TRAILING_LINK_PUNCT or (url[-1] == ")" and url.count("(") < url.count(")"))
    ):
        url = url[:-1]
    return url


def find_spans(text: str) -> list[Span]:
    """Links, mentions and tags in ``text``, in order, with UTF-8 byte offsets (pure)."""
    found: list[tuple[int, int, str, str]] = []  # (char start, char end, kind, value)
    for m in _LINK_RE.finditer(text):
        url = _trim_link(m.group())
        if url.split("://", 1)[1]:
            found.append((m.start(), m.start() + len(url), "link", url))
    for m in _MENTION_RE.finditer(text):
        handle = m.group(1)
        if len(handle) <= 253 and _HANDLE_RE.match(handle):
            found.append((m.start(), m.end(), "mention", handle.lower()))
    for m in _TAG_RE.finditer(text):
        tag = m.group(1)
        while tag and _is_punct(tag[-1]):
            tag = tag[:-1]
        if not tag or grapheme_len(tag) > _TAG_MAX_GRAPHEMES:
            continue
        if all(c.isdigit() or _is_punct(c) for c in tag):
            continue
        found.append((m.start(), m.start() + 1 + len(tag), "tag", tag))
    found.sort()
    spans: list[Span] = []
    last_end = -1
    for start, end, kind, value in found:
        if start < last_end:
            continue  # overlaps an earlier span (e.g. "#x" inside a URL's fragment)
        last_end = end
        byte_start = len(text[:start].encode())
        byte_end = byte_start + len(text[start:end].encode())
        spans.append(Span(kind, value, byte_start, byte_end))
    return spans


def build_facets(spans: Sequence[Span], dids: dict[str, str | None]) -> list[dict[str, Any]]:
    """Lexicon facets for ``spans``; mentions whose handle has no DID in ``dids`` are dropped."""
    facets: list[dict[str, Any]] = []
    for span in spans:
        feature: dict[str, Any]
        if span.kind == "link":
            feature = {"$type": "app.bsky.richtext.facet#link", "uri": span.value}
        elif span.kind == "mention":
            did = dids.get(span.value)
            if not did:
                continue
            feature = {"$type": "app.bsky.richtext.facet#mention", "did": did}
        else:
            feature = {"$type": "app.bsky.richtext.facet#tag", "tag": span.value}
        facets.append(
            {
                "$type": "app.bsky.richtext.facet",
                "index": {"byteStart": span.byte_start, "byteEnd": span.byte_end},
                "features": [feature],
            }
        )
    return facets


# ---------------------------------------------------------------- the publisher
_TID_CHARS = "234567abcdefghijklmnopqrstuvwxyz"  # base32-sortable
_TID_EPOCH_US = 1_600_000_000_000_000  # 2020-09-13: a record key's clock part lies in the past
_TID_SPAN_US = 100_000_000_000_000  # ~3 years


def record_key(key: str, index: int) -> str:
    """The record key of part ``index`` of the publication ``key``: a TID (13 base32-sortable
    characters of a 64-bit number, top bit 0: microseconds then a 10-bit clock id), the only
    key ``app.bsky.feed.post`` accepts, derived from the key alone so that every process and
    every retry picks the same one."""
    digest = int(key_digest("nexus-bluesky-v1", key, str(index))[:16], 16)
    micros = _TID_EPOCH_US + digest % _TID_SPAN_US
    n = (micros << 10) | (digest >> 54)
    return "".join(_TID_CHARS[(n >> (5 * shift)) & 31] for shift in range(12, -1, -1))


def _rkey(uri: str) -> str:
    return uri.rstrip("/").rsplit("/", 1)[-1]


class BlueskyPublisher:
    """Posts as one Bluesky account (``handle`` and an app password)."""

    platform = "bluesky"
    media_limits = MediaLimits(
        max_count=BLUESKY_MAX_IMAGES,
        max_bytes=BLUESKY_IMAGE_MAX_BYTES,
        max_side=BLUESKY_IMAGE_MAX_SIDE,
        formats=("image/jpeg", "image/png", "image/webp"),
    )

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        service: str = "https://bsky.social",
        handle: str,
        app_password: str,
        session: Mapping[str, Any] | None = None,
        on_tokens: Callable[[dict[str, str]], Awaitable[None]] | None = None,
        renewal: Renewal = unshared_renewal,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``session``: a stored session (``access_jwt``, ``refresh_jwt``, ``did``) to resume;
        ``on_tokens`` receives every new one in that shape."""
        self._client = client
        self._service = service.rstrip("/")
        self.handle = handle.strip().lstrip("@").lower()
        self.name = f"@{self.handle}"
        self._password = app_password
        self._clock = clock
        self._on_tokens = on_tokens
        self._renewal = renewal
        self._renewing = asyncio.Lock()
        self._access: str | None = None
        self._refresh: str | None = None
        self.did: str | None = None
        self._adopt(session or {})
        self._dids: dict[str, str | None] = {}

    def __repr__(self) -> str:  # never show the password or tokens
        return f"BlueskyPublisher(handle={self.handle!r})"

    # ------------------------------------------------------------------ protocol
    def validate(self, text: str, *, media_count: int = 0) -> list[str]:
        return validate_parts(text, self.split) + media_count_problems(
            "Bluesky", self.media_limits, media_count
        )

    def split(self, text: str) -> list[str]:
        """The posts ``text`` becomes (one unless it is over the limit)."""
        return split_text(text, BLUESKY_GRAPHEME_LIMIT, post_measure)

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
        """Post ``text`` (a thread if it is too long), with up to 4 images on the first post.

        ``already_posted``: the confirmed parts (at:// URIs) of a failed earlier attempt with
        the *same* text; only the remaining posts are created, replying to those. ``alt_texts``
        gives the images' descriptions, in order (missing ones are empty). ``key`` (the
        publication's): each part goes under a record key derived from it, so a part that
        timed out is resent safely; without it a timeout raises ``OutcomeUnknown``.
        """
        parts = self.split(text)
        confirmed_parts(parts, already_posted, "posts")
        images = [load_media(m) for m in media] if not already_posted else []
        check_media_count("Bluesky", self.media_limits, len(images))
        for index, (data, name, mime) in enumerate(images, 1):
            if len(data) > BLUESKY_IMAGE_MAX_BYTES:
                raise Permanent(
                    f"image {index} ({name}) is {len(data):,} bytes; Bluesky accepts at most "
                    f"{BLUESKY_IMAGE_MAX_BYTES:,} bytes per image"
                )
            if not mime.startswith("image/"):
                raise Permanent(f"image {index} ({name}) is not an image Bluesky accepts")
        with harmless():  # logging in, looking up and uploading publish nothing
            repo = await self._did()
            root = await self._strong_ref(already_posted[0]) if already_posted else None
            parent = await self._strong_ref(already_posted[-1]) if len(already_posted) > 1 else root
            embed = await self._upload_images(images, alt_texts) if images else None

        async def send_part(index: int, previous: str | None) -> str:
            nonlocal root, parent
            record = await self._record(parts[index])
            if index == 0 and embed:
                record["embed"] = embed
            if root is not None and parent is not None:
                record["reply"] = {"root": root, "parent": parent}
            ref = await self._create_post(repo, record, record_key(key, index) if key else None)
            root, parent = root or ref, ref
            return ref["uri"]

        posted = await post_thread(
            parts,
            already_posted,
            send_part,
            noun="posts",
            resend_is_safe=bool(key),
            on_confirmed=on_confirmed,
        )
        return PublishResult(
            external_id=posted[0], url=self.web_url(posted[0]), part_ids=tuple(posted)
        )

    async def delete(self, external_id: str) -> None:
        """Delete one post by its at:// URI (or bare rkey); a missing post is not an error."""
        await self._xrpc(
            "POST",
            "com.atproto.repo.deleteRecord",
            json={
                "repo": await self._did(),
                "collection": POST_COLLECTION,
                "rkey": _rkey(external_id),
            },
        )

    async def fetch_metrics(self, result: PublishResult) -> Metrics:
        """The counters of the post (``app.bsky.feed.getPosts?uris=<at-uri>``).

        For a thread these are the first post's (``result.external_id``), the one people see
        and share. likes = ``likeCount``, reposts = ``repostCount + quoteCount``, replies =
        ``replyCount``; Bluesky shows no views. A deleted post is simply missing from
        ``posts``: :class:`Permanent`.
        """
        uri = result.external_id
        if not uri.startswith("at://"):
            uri = f"at://{await self._did()}/{POST_COLLECTION}/{uri}"
        answer = await self._xrpc("GET", "app.bsky.feed.getPosts", params={"uris": uri})
        posts = answer.get("posts") if isinstance(answer, dict) else None
        post = next((p for p in posts or [] if isinstance(p, dict) and p.get("uri") == uri), None)
        if post is None:
            raise post_deleted("Bluesky")
        return read_metrics(
            post,
            likes=["likeCount"],
            reposts=["repostCount", "quoteCount"],
            replies=["replyCount"],
        )

    async def verify(self) -> str:
        """Check the session (renewed, or a new login, only if it no longer works); return
        ``"@handle"``."""
        if self._access is None:
            await self._renew(None)
        else:
            await self._xrpc("GET", "com.atproto.server.getSession")
        return self.name

    def web_url(self, uri: str) -> str:
        """``https://bsky.app/profile/{handle}/post/{rkey}`` for an at:// post URI."""
        return f"https://bsky.app/profile/{self.handle}/post/{_rkey(uri)}"

    # ------------------------------------------------------------------ helpers
    async def _did(self) -> str:
        if self.did is None:
            await self._renew(None)
        assert self.did is not None
        return self.did

    async def _record(self, text: str) -> dict[str, Any]:
        spans = find_spans(text)
        for span in spans:
            if span.kind == "mention" and span.value not in self._dids:
                self._dids[span.value] = await self._resolve(span.value)
        record: dict[str, Any] = {
            "$type": POST_COLLECTION,
            "text": text,
            "createdAt": datetime.fromtimestamp(self._clock(), UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
        }
        facets = build_facets(spans, self._dids)
        if facets:
            record["facets"] = facets
        return record

    async def _resolve(self, handle: str) -> str | None:
        try:
            answer = await self._xrpc(
                "GET", "com.atproto.identity.resolveHandle", params={"handle": handle}
            )
        except Permanent:
            return None  # no such handle: the mention stays plain text
        did = answer.get("did")
        return str(did) if did else None

    async def _create_post(
        self, repo: str, record: dict[str, Any], rkey: str | None
    ) -> dict[str, str]:
        """``createRecord``, under the record key ``rkey`` when given; the post's strong ref.

        A PDS refuses a second record under a taken key (with HTTP 500 today, a
        ``RecordAlreadyExists``-style 4xx on newer versions), so a resend after a timeout cannot
        duplicate the post: when the create fails in any way that is not final, the record
        under ``rkey`` is looked up, and if it is there, that is the post.
        """
        body: dict[str, Any] = {"repo": repo, "collection": POST_COLLECTION, "record": record}
        if rkey is not None:
            body["rkey"] = rkey
        try:
            created = await self._xrpc("POST", "com.atproto.repo.createRecord", json=body)
        except (Transient, Permanent) as exc:
            if rkey is None or isinstance(exc, RateLimited):
                raise
            with harmless():
                found = await self._find_post(repo, rkey)
            if found is None:
                raise
            return found
        return {"uri": str(created["uri"]), "cid": str(created["cid"])}

    async def _find_post(self, repo: str, rkey: str) -> dict[str, str] | None:
        """The strong ref of our post under ``rkey``, or None if there is none."""
        try:
            return await self._strong_ref(f"at://{repo}/{POST_COLLECTION}/{rkey}")
        except _RecordNotFound:
            return None

    async def _strong_ref(self, uri: str) -> dict[str, str]:
        if not uri.startswith("at://"):
            uri = f"at://{await self._did()}/{POST_COLLECTION}/{uri}"
        repo = uri[len("at://") :].split("/", 1)[0]
        answer = await self._xrpc(
            "GET",
            "com.atproto.repo.getRecord",
            params={"repo": repo, "collection": POST_COLLECTION, "rkey": _rkey(uri)},
        )
        return {"uri": str(answer.get("uri") or uri), "cid": str(answer["cid"])}

    async def _upload_images(
        self, images: list[tuple[bytes, str, str]], alt_texts: Sequence[str]
    ) -> dict[str, Any]:
        embedded = []
        for index, (data, _name, mime) in enumerate(images):
            answer = await self._xrpc(
                "POST",
                "com.atproto.repo.uploadBlob",
                content=data,
                headers={"Content-Type": mime},
            )
            alt = alt_texts[index] if index < len(alt_texts) else ""
            embedded.append({"alt": alt, "image": answer["blob"]})
        return {"$type": "app.bsky.embed.images", "images": embedded}

    async def _create_session(self) -> None:
        answer = await self._request(
            "POST",
            "com.atproto.server.createSession",
            json={"identifier": self.handle, "password": self._password},
            token=None,
        )
        await self._take_session(answer)

    def _adopt(self, session: Mapping[str, Any]) -> None:
        """Use a stored session (``access_jwt``, ``refresh_jwt``, ``did``) if it is complete."""
        if all(session.get(key) for key in ("access_jwt", "refresh_jwt", "did")):
            self._access = str(session["access_jwt"])
            self._refresh = str(session["refresh_jwt"])
            self.did = str(session["did"])

    async def _take_session(self, answer: Any) -> None:
        session = {
            "access_jwt": str(answer["accessJwt"]),
            "refresh_jwt": str(answer["refreshJwt"]),
            "did": str(answer["did"]),
        }
        self._adopt(session)
        if self._on_tokens is not None:
            await self._on_tokens(session)

    async def _renew(self, stale: str | None) -> None:
        """Replace the session whose access JWT ``stale`` was refused (None: there is none yet),
        once however many calls ask: adopt the one another process stored meanwhile, else
        refresh it, else log in again."""
        async with self._renewing:
            if self._access != stale:
                return  # another call renewed it meanwhile
            async with self._renewal() as stored:
                if stored and stored.get("access_jwt") not in (None, stale):
                    self._adopt(stored)
                    return
                if self._refresh:
                    try:
                        answer = await self._request(
                            "POST", "com.atproto.server.refreshSession", token=self._refresh
                        )
                    except _TokenRejected:
                        self._access = self._refresh = None
                    else:
                        await self._take_session(answer)
                        return
                await self._create_session()

    async def _xrpc(self, method: str, nsid: str, **kwargs: Any) -> Any:
        """An authenticated call: log in if needed, renew the session once on expiry."""
        if self._access is None:
            await self._renew(None)
        sent = self._access
        try:
            return await self._request(method, nsid, token=sent, **kwargs)
        except _TokenRejected:
            await self._renew(sent)
        try:
            return await self._request(method, nsid, token=self._access, **kwargs)
        except _TokenRejected as exc:
            raise self._auth_expired() from exc

    def _auth_expired(self) -> AuthExpired:
        return AuthExpired(
            f"Bluesky refused the login for {self.name}: create a new app password and "
            f"reconnect the account"
        )

    async def _request(
        self,
        method: str,
        nsid: str,
        *,
        token: str | None,
        json: Any = None,
        params: dict[str, str] | None = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        url = f"{self._service}/xrpc/{nsid}"
        sent_headers = dict(headers or {})
        if token:
            sent_headers["Authorization"] = f"Bearer {token}"
        response = await send(
            self._client,
            method,
            url,
            platform="Bluesky",
            idempotent=nsid != "com.atproto.repo.createRecord",  # the one call that posts
            json=json,
            params=params,
            content=content,
            headers=sent_headers,
        )
        return json_result(
            response, platform="Bluesky", error=lambda r, body: self._error(r, nsid, body)
        )

    def _scrub(self, text: str) -> str:
        for secret in (self._password, self._access, self._refresh):
            if secret:
                text = text.replace(secret, "***")
        return text

    def _too_many(self, headers: httpx.Headers) -> PublishError:
        """A 429: the write points of an hour or a day used up (``ratelimit-policy`` with a
        window of an hour or more), or a short rate limit; either until ``ratelimit-reset``."""
        wait = DEFAULT_RATE_LIMIT_WAIT
        reset = headers.get("ratelimit-reset")
        if reset:
            try:
                wait = max(float(reset) - self._clock(), 1.0)
            except ValueError:
                pass
        policy = re.match(r"\s*(\d+)\s*;\s*w=(\d+)", headers.get("ratelimit-policy") or "")
        if policy and int(policy[2]) >= 3600:
            limit, window = int(policy[1]), "hour" if int(policy[2]) < 86400 else "day"
            return QuotaUsedUp(
                wait,
                f"Bluesky's {limit:,} write points per {window} are used up",
                limit=limit,
                window=window,
                unit="points",
            )
        return RateLimited(wait, f"Bluesky asked to wait {wait:g} seconds")

    def _error(self, response: httpx.Response, nsid: str, body: dict[str, Any]) -> Exception:
        status = response.status_code
        error = str(body.get("error") or "")
        message = self._scrub(str(body.get("message") or error or f"HTTP {status}"))
        if status == 429:
            return self._too_many(response.headers)
        if status >= 500:
            return Transient(f"Bluesky had a server error ({message}); will retry")
        if nsid == "com.atproto.server.createSession" and status in (400, 401):
            if error == "AccountTakedown":
                return AuthExpired(f"Bluesky suspended {self.name}: {message}")
            return self._auth_expired()
        if status == 401 or error in ("ExpiredToken", "InvalidToken", "AuthenticationRequired"):
            return _TokenRejected(message)
        if status == 413:
            return Permanent("Bluesky refused the upload: the file is too large")
        if error == "RecordNotFound":
            return _RecordNotFound(f"Bluesky could not find it: {message}")
        return Permanent(f"Bluesky refused the request: {message}")


class _RecordNotFound(Permanent):
    """A ``getRecord`` for a record that is not there (``_find_post`` reads it as "none")."""


class _TokenRejected(PublishError):
    """Internal: the access or refresh token was refused (never escapes the publisher)."""
