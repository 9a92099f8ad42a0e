"""Publish posts to a Threads (Meta) profile (Threads Graph API over raw httpx).

Posting takes two calls per post: ``POST /{user_id}/threads`` with ``media_type=TEXT``, ``text``
(and ``reply_to_id`` for later parts) creates a *container* and answers its creation id;
``POST /{user_id}/threads_publish`` with ``creation_id`` publishes it and answers the media id.
Parameters travel form-encoded with ``access_token`` in the body (in the query string for GETs,
as the Graph API wants).

Length: 500 characters per post (counted with ``len``: code points). A longer text becomes a
reply chain: each later part is created with ``reply_to_id`` = the previous part's media id.
``already_posted`` holds the media ids of the parts that went out; a retry continues the chain
from the last of them. Threads has no idempotency key: if ``threads_publish`` times out the part
may be live, and a blind retry can duplicate that one part (an unpublished container is
harmless; it expires by itself).

The post's page comes from ``GET /{media_id}?fields=permalink`` (``url`` is ``None`` when that
call fails; the post itself is out). ``verify`` calls ``GET /me?fields=username`` and returns
``"@username"``. ``delete`` calls ``DELETE /{media_id}``; an id Threads does not know (code 100,
subcode 33) counts as already deleted.

Errors come in Graph format ``{"error": {"message", "type", "code", "error_subcode"}}``:
190 → :class:`AuthExpired`; 4, 17, 32, 613 (application/user/page/custom rate limits) →
:class:`RateLimited` after 60 s (Graph gives no reset time in the body); 1, 2 (unknown /
temporary service error) → :class:`Transient`; 100 (invalid parameter) and anything else →
:class:`Permanent` with Meta's message. Without a Graph error body: 5xx → :class:`Transient`,
401 → :class:`AuthExpired`, 429 → :class:`RateLimited`. Timeouts and network errors →
:class:`Transient`. No reason ever contains the token.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from publishers.base import PublishResult
from publishers.errors import (
    AuthExpired,
    Permanent,
    PublishError,
    RateLimited,
    Transient,
)
from publishers.http import parse_json, send
from publishers.parts import already_posted_parts, note_posted, validate_parts
from publishers.text import split_text

THREADS_TEXT_LIMIT = 500
THREADS_RATE_LIMIT_CODES = frozenset({4, 17, 32, 613})
THREADS_RATE_LIMIT_WAIT = 60.0


class ThreadsPublisher:
    """Posts as the Threads user ``user_id`` that owns ``access_token``."""

    platform = "threads"

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        base_url: str = "https://graph.threads.net/v1.0",
        access_token: str,
        user_id: str,
    ) -> None:
        self._client = client
        self._base_url = base_url.rstrip("/")
        self._token = access_token
        self.user_id = str(user_id)
        self.name = f"threads user {self.user_id}"
        """``"@username"`` once :meth:`verify` ran."""

    def __repr__(self) -> str:  # never show the token
        return f"ThreadsPublisher(user_id={self.user_id!r})"

    # ------------------------------------------------------------------ protocol
    def validate(self, text: str) -> list[str]:
        return validate_parts(text, self.split)

    def split(self, text: str) -> list[str]:
        """The posts ``text`` becomes (a reply chain when over 500 characters)."""
        return split_text(text, THREADS_TEXT_LIMIT, len)

    async def publish(self, text: str, *, already_posted: Sequence[str] = ()) -> PublishResult:
        """Post ``text`` (a reply chain if too long).

        ``already_posted``: the ``posted_part_ids`` of a failed attempt with the *same* text;
        only the rest is posted, replying to the last of them.
        """
        parts = self.split(text)
        posted = already_posted_parts(parts, already_posted, "posts")
        try:
            for index in range(len(posted), len(parts)):
                params = {"media_type": "TEXT", "text": parts[index]}
                if posted:
                    params["reply_to_id"] = posted[-1]
                container = await self._call("POST", f"/{self.user_id}/threads", params)
                published = await self._call(
                    "POST",
                    f"/{self.user_id}/threads_publish",
                    {"creation_id": str(container["id"])},
                )
                posted.append(str(published["id"]))
        except PublishError as exc:
            note_posted(exc, posted, len(parts))
            raise
        return PublishResult(
            external_id=posted[0], url=await self.permalink(posted[0]), part_ids=tuple(posted)
        )

    async def permalink(self, media_id: str) -> str | None:
        """The post's web address, or ``None`` if Threads won't say."""
        try:
            media = await self._call("GET", f"/{media_id}", {"fields": "permalink"})
        except PublishError:
            return None
        return str(media.get("permalink") or "") or None

    async def delete(self, external_id: str) -> None:
        """Delete one post; for a reply chain call it for each of ``part_ids``."""
        try:
            await self._call("DELETE", f"/{external_id}", {})
        except _NotFound:
            return

    async def verify(self) -> str:
        """Check the token; return ``"@username"`` (also kept as :attr:`name`)."""
        me = await self._call("GET", "/me", {"fields": "username"})
        self.name = f"@{me['username']}"
        return self.name

    # ------------------------------------------------------------------ helpers
    async def _call(self, method: str, path: str, params: dict[str, str]) -> Any:
        sent = {**params, "access_token": self._token}
        url = self._base_url + path
        if method == "POST":
            response = await send(self._client, method, url, platform="Threads", data=sent)
        else:
            response = await send(self._client, method, url, platform="Threads", params=sent)
        body = parse_json(response)
        if response.is_success and isinstance(body, dict) and "error" not in body:
            return body
        error = body.get("error") if isinstance(body, dict) else None
        raise self._error(response.status_code, error if isinstance(error, dict) else None)

    def _error(self, status: int, error: dict[str, Any] | None) -> PublishError:
        if error is None:
            if status == 401:
                return AuthExpired("Threads rejected the access token: reconnect the account")
            if status == 429:
                return RateLimited(THREADS_RATE_LIMIT_WAIT, "Threads asked to slow down")
            if status >= 500 or status < 400:
                return Transient(f"Threads sent an unexpected answer (HTTP {status}); will retry")
            return Permanent(f"Threads refused the request (HTTP {status})")
        try:
            code = int(error.get("code") or 0)
        except (TypeError, ValueError):
            code = 0
        subcode = error.get("error_subcode")
        message = str(error.get("error_user_msg") or error.get("message") or f"error {code}")
        if self._token:
            message = message.replace(self._token, "***")
        if code == 190:
            return AuthExpired(
                f"Threads rejected the access token for user {self.user_id}: reconnect the account"
            )
        if code in THREADS_RATE_LIMIT_CODES:
            wait = THREADS_RATE_LIMIT_WAIT
            return RateLimited(wait, f"Threads asked to wait {wait:g} seconds ({message})")
        if code in (1, 2) or (code == 0 and status >= 500):
            return Transient(f"Threads had a temporary problem ({message}); will retry")
        if code == 100 and str(subcode) == "33":
            return _NotFound(f"Threads could not find it: {message}")
        return Permanent(f"Threads refused the post: {message}")


class _NotFound(Permanent):
    """Graph code 100, subcode 33: the object does not exist (``delete`` ignores it)."""
