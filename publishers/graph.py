"""What Meta's Graph APIs (Threads, Instagram) share: their error format and media containers.

Both answer errors as ``{"error": {"message", "type", "code", "error_subcode"}}`` and both
publish in two steps: create a *container* (``image_url`` for pictures, which Meta's servers
download), wait until its status is ``FINISHED``, then publish it. The mapping of codes:

    190                           → AuthExpired   (token expired or revoked)
    4, 17, 32, 613 (+ subcodes)   → RateLimited   (Graph gives no reset time: a fixed wait)
    1, 2, or 5xx without a code   → Transient
    anything else                 → Permanent with Meta's own message

No reason ever contains the access token.

Publishing limits: both count API posts in a moving 24 hours and say how many are used at
``GET /{user}/<limit_edge>?fields=quota_usage,config`` (Threads ``threads_publishing_limit``,
Instagram ``content_publishing_limit``), answered as
``{"data": [{"quota_usage": 4, "config": {"quota_total": 250, "quota_duration": 86400}}]}``.
:meth:`GraphContainers.quota` reads it; a publisher checks it before creating containers and
raises :class:`~publishers.errors.QuotaUsedUp` when no post is left. Meta does not say when a
place frees (the oldest post leaves the window): the wait given is an hour, and the dispatcher,
which knows when our own posts went out, works out a better one.

Exactly once: a container publishes at most once, and its status says whether it did. When the
publish call's answer is lost (:class:`~publishers.errors.OutcomeUnknown`), the container's
status is read: still ``FINISHED`` → it was not published, so the *same* container is published
again (it cannot become two posts); ``PUBLISHED`` → it is live, but Meta does not give the new
post's id with the status, so the outcome stays unknown and the owner is asked. Creating a
container publishes nothing (an unused one expires in 24 hours), so a timeout there is a plain
``Transient``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection, Sequence
from typing import Any

import httpx

from publishers.errors import (
    AuthExpired,
    OutcomeUnknown,
    Permanent,
    PublishError,
    QuotaUsedUp,
    RateLimited,
    Transient,
)
from publishers.http import parse_json, send
from publishers.media import MediaHost, MediaItem, load_media, no_public_address
from publishers.quota import Quota
from publishers.thread import harmless

GRAPH_RATE_LIMIT_CODES = frozenset({4, 17, 32, 613})
GRAPH_RATE_LIMIT_WAIT = 60.0
#: How long a used-up publishing limit is waited out when nothing better is known.
PUBLISHING_LIMIT_WAIT = 3600.0


def read_publishing_limit(answer: dict[str, Any]) -> Quota:
    """A ``…_publishing_limit`` answer as a :class:`Quota` (a day's window unless
    ``quota_duration`` says an hour); ``Transient`` when it has no ``quota_total``."""
    data = answer.get("data")
    usage = data[0] if isinstance(data, list) and data and isinstance(data[0], dict) else {}
    found = usage.get("config")
    config: dict[str, Any] = found if isinstance(found, dict) else {}
    total = _int(config.get("quota_total"))
    if total <= 0:
        raise Transient("the publishing limit answer had no quota_total")
    window = "hour" if _int(config.get("quota_duration")) == 3600 else "day"
    return Quota(_int(usage.get("quota_usage")), total, window)


def graph_error(
    status: int,
    error: dict[str, Any] | None,
    *,
    platform: str,
    token: str,
    account: str,
    rate_limit_subcodes: Collection[int] = (),
    rate_limit_wait: float = GRAPH_RATE_LIMIT_WAIT,
) -> PublishError:
    """The :mod:`publishers.errors` exception for a Graph answer with HTTP ``status`` and
    ``error`` (the body's ``"error"`` object, or ``None`` when there is none)."""
    if error is None:
        if status == 401:
            return AuthExpired(f"{platform} rejected the access token: reconnect the account")
        if status == 429:
            return RateLimited(rate_limit_wait, f"{platform} asked to slow down")
        if status >= 500 or status < 400:
            return Transient(f"{platform} sent an unexpected answer (HTTP {status}); will retry")
        return Permanent(f"{platform} refused the request (HTTP {status})")
    code = _int(error.get("code"))
    subcode = _int(error.get("error_subcode"))
    message = str(error.get("error_user_msg") or error.get("message") or f"error {code}")
    if token:
        message = message.replace(token, "***")
    if code == 190:
        return AuthExpired(
            f"{platform} rejected the access token for {account}: reconnect the account"
        )
    if code in GRAPH_RATE_LIMIT_CODES or subcode in rate_limit_subcodes:
        wait = rate_limit_wait
        return RateLimited(wait, f"{platform} asked to wait {wait:g} seconds ({message})")
    if code in (1, 2) or (code == 0 and status >= 500):
        return Transient(f"{platform} had a temporary problem ({message}); will retry")
    return Permanent(f"{platform} refused the post: {message}")


async def wait_until_finished(
    status_of: Callable[[], Awaitable[tuple[str, str]]],
    *,
    platform: str,
    attempts: int,
    interval: float,
    sleep: Callable[[float], Awaitable[None]],
) -> None:
    """Poll a container with ``status_of()`` → ``(status, detail)`` until it is FINISHED.

    ERROR → ``Permanent`` (Meta could not use the media; ``detail`` says why), EXPIRED →
    ``Transient`` (a container lives 24 hours; a retry makes a new one), still IN_PROGRESS
    after ``attempts`` polls ``interval`` seconds apart → ``Transient``.
    """
    for attempt in range(max(attempts, 1)):
        status, detail = await status_of()
        if status in ("FINISHED", "PUBLISHED"):
            return
        if status == "ERROR":
            why = f": {detail}" if detail else ""
            raise Permanent(f"{platform} could not process the image{why}")
        if status == "EXPIRED":
            raise Transient(f"the {platform} upload expired before it was published; will retry")
        if attempt + 1 < attempts:
            await sleep(interval)
    raise Transient(f"{platform} is still processing the image; will retry")


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


async def graph_call(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    params: dict[str, str],
    *,
    token: str,
    platform: str,
    error: Callable[[int, dict[str, Any] | None], PublishError],
) -> Any:
    """One Graph request: form-encoded with ``access_token`` in the body for POST, in the query
    otherwise (as the Graph API wants). The JSON answer, or ``error(status, body["error"])``."""
    sent = {**params, "access_token": token}
    if method == "POST":
        response = await send(client, method, url, platform=platform, data=sent)
    else:
        response = await send(client, method, url, platform=platform, params=sent)
    body = parse_json(response)
    if response.is_success and isinstance(body, dict) and "error" not in body:
        return body
    found = body.get("error") if isinstance(body, dict) else None
    raise error(response.status_code, found if isinstance(found, dict) else None)


class GraphContainers:
    """The container half of a Meta Graph publisher (Threads, Instagram): one place for the
    request helper, image/carousel containers and the wait for Meta to fetch the images.

    A subclass sets what differs between the two APIs (the class attributes below) and
    ``_error``.
    """

    title: str
    #: The API's public base URL (``base_url`` replaces it: a proxy, a test server).
    api_url: str
    #: How often a container is polled before giving up (Meta takes longer for Instagram).
    poll_attempts: int
    #: The target's name until ``verify`` learns the username.
    unnamed: str
    #: The edge containers are created on: ``/{user_id}/<edge>``.
    media_edge: str
    #: Extra parameters of an image container (Threads wants ``media_type=IMAGE``).
    image_params: dict[str, str] = {}
    #: The parameter that carries the post's text (``caption`` or ``text``).
    text_param: str
    #: The container fields holding (status, detail), as the API names them.
    status_fields: tuple[str, str]
    #: The edge a container is published on: ``/{user_id}/<edge>``.
    publish_edge: str
    #: The edge that tells how much of the publishing limit is used: ``/{user_id}/<edge>``.
    limit_edge: str

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        user_id: str,
        access_token: str,
        base_url: str | None = None,
        media_host: MediaHost | None = None,
        container_poll_attempts: int | None = None,
        container_poll_interval: float = 3.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._client = client
        self._base_url = (base_url or self.api_url).rstrip("/")
        self._token = access_token
        self.user_id = str(user_id)
        self._media_host = media_host
        self._poll_attempts = container_poll_attempts or self.poll_attempts
        self._poll_interval = container_poll_interval
        self._sleep = sleep
        self.name = self.unnamed.format(user_id=self.user_id)
        """The username once :meth:`verify` ran."""

    def __repr__(self) -> str:  # never show the token
        return f"{type(self).__name__}(user_id={self.user_id!r})"

    def _error(self, status: int, error: dict[str, Any] | None) -> PublishError:
        raise NotImplementedError

    async def _public_urls(self, media: Sequence[MediaItem]) -> list[str]:
        """The public address of each image (Meta downloads them); without one, refused."""
        if self._media_host is None:
            raise no_public_address(self.title)
        urls = []
        for item in media:
            data, _name, mime = load_media(item)
            urls.append(await self._media_host.public_url(data, mime))
        return urls

    async def _container(self, text: str, urls: Sequence[str]) -> str:
        """An image container, or a carousel of image items (``urls`` from ``_public_urls``),
        with ``text``; its id once Meta has fetched every image."""
        path = f"/{self.user_id}/{self.media_edge}"
        if len(urls) == 1:
            params = {**self.image_params, "image_url": urls[0]}
        else:
            children = []
            for url in urls:
                child = {**self.image_params, "image_url": url, "is_carousel_item": "true"}
                children.append(str((await self._call("POST", path, child))["id"]))
            for child_id in children:
                await self._wait_for(child_id)
            params = {"media_type": "CAROUSEL", "children": ",".join(children)}
        if text:
            params[self.text_param] = text
        container_id = str((await self._call("POST", path, params))["id"])
        await self._wait_for(container_id)
        return container_id

    async def _publish(self, container_id: str) -> str:
        """Publish a container; the new post's id. See the module docstring for a lost answer."""
        path = f"/{self.user_id}/{self.publish_edge}"
        try:
            return str((await self._call("POST", path, {"creation_id": container_id}))["id"])
        except OutcomeUnknown as exc:
            with harmless():
                status, _detail = await self._status(container_id)
            if status == "PUBLISHED":
                raise OutcomeUnknown(
                    f"{exc.reason}; {self.title} says it was published but did not give its id"
                ) from exc
            if status != "FINISHED":
                raise Transient(f"{exc.reason}; it was not published ({status})") from exc
        # not published when we looked: the same container again (it publishes at most once)
        try:
            return str((await self._call("POST", path, {"creation_id": container_id}))["id"])
        except Permanent as exc:  # "already published": the lost one landed after we looked
            raise OutcomeUnknown(
                f"{self.title} refused to publish it again ({exc.reason}); it may be out"
            ) from exc

    async def quota(self) -> Quota:
        """How many API posts of the moving 24 hours are used, as the platform says now."""
        answer = await self._call(
            "GET", f"/{self.user_id}/{self.limit_edge}", {"fields": "quota_usage,config"}
        )
        return read_publishing_limit(answer)

    async def _check_quota(self) -> None:
        """Refuse before creating containers that could not be published: the limit is used."""
        quota = await self.quota()
        if not quota.fits():
            raise self._used_up(quota)

    def _used_up(self, quota: Quota | None) -> QuotaUsedUp:
        limit = quota.limit if quota else None
        posts = f"all {limit} API posts" if limit else "all its API posts"
        return QuotaUsedUp(
            PUBLISHING_LIMIT_WAIT,
            f"this {self.title} account has used {posts} of the last 24 hours",
            limit=limit,
            window=quota.window if quota else "day",
        )

    async def _publish_counted(self, container_id: str) -> str:
        """:meth:`_publish` for a post that counts against the limit: a rate limit there is
        read as the limit used up when the platform's count says so."""
        try:
            return await self._publish(container_id)
        except QuotaUsedUp:
            raise
        except RateLimited as exc:
            try:
                quota = await self.quota()
            except PublishError:
                raise exc from None
            if quota.fits():
                raise
            raise self._used_up(quota) from exc

    async def _status(self, container_id: str) -> tuple[str, str]:
        """A container's (status, detail)."""
        status_field, detail_field = self.status_fields
        fields = f"{status_field},{detail_field}"
        answer = await self._call("GET", f"/{container_id}", {"fields": fields})
        return str(answer.get(status_field) or ""), str(answer.get(detail_field) or "")

    async def _wait_for(self, container_id: str) -> None:
        await wait_until_finished(
            lambda: self._status(container_id),
            platform=self.title,
            attempts=self._poll_attempts,
            interval=self._poll_interval,
            sleep=self._sleep,
        )

    async def _call(self, method: str, path: str, params: dict[str, str]) -> Any:
        return await self._call_url(method, self._base_url + path, params)

    async def _call_url(self, method: str, url: str, params: dict[str, str]) -> Any:
        return await graph_call(
            self._client,
            method,
            url,
            params,
            token=self._token,
            platform=self.title,
            error=self._error,
        )
