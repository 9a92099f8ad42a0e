"""The one hardened HTTP client for URLs a user gives us (feeds, Mastodon/Bluesky servers,
Discord webhooks, later "draft from this link").

A URL typed into the chat may point anywhere, and a server we reach may redirect anywhere: to
``127.0.0.1``, to a LAN box, to ``169.254.169.254`` where cloud metadata (and credentials) live.
So every request made through a :class:`GuardedClient` goes through :class:`GuardedTransport`,
which for each request, including each redirect hop:

* parses the host; an IP literal is checked as it is, a name is resolved with ``getaddrinfo``
  in a thread (off the event loop) and **every** address it has must be public (a name with one
  private address among public ones is refused: the connection could go to either);
* refuses private, loopback, link-local, multicast, reserved, shared (CGNAT) and unspecified
  addresses, IPv4 and IPv6, looking inside IPv4-mapped, 6to4 and Teredo addresses;
* connects to the address it checked: the request's URL is rewritten to the IP while the
  ``Host`` header and the TLS server name (httpx's ``sni_hostname`` request extension) stay the
  name, so the certificate is verified against the name and no second DNS answer (rebinding)
  can slip in between check and connect. Connections are not kept alive: httpcore pools by
  address, and a TLS connection verified for one name must not carry another name's request;
* requires ``https`` when the policy says credentials travel (``require_https``), except to a
  private host the owner allowed;
* caps the answer's size (the body is streamed; reading stops past the cap) and bounds each
  request with a total deadline, not only per-read timeouts (a server trickling one byte every
  few seconds never trips a read timeout).

``NEXUS_ALLOW_PRIVATE_URLS`` (``allow_private``) opts in to LAN-hosted instances and feeds, and
lets plain http through to those private hosts.

:meth:`GuardedClient.fetch` is the GET for a user's URL: redirects followed by hand (at most
``max_redirects`` hops, each one checked by the transport), the whole exchange under the one
deadline, the body capped.

Errors (all ``httpx.HTTPError``, so callers catching httpx's errors keep working; ``reason`` is
plain words for the owner)::

    httpx.TransportError
    ├── RefusedURL          the address or scheme is not allowed; says why and what to do
    └── TooLarge            the answer is larger than the cap
    httpx.TimeoutException
    └── DeadlineExceeded    the whole request took longer than the deadline
    httpx.TooManyRedirects  more hops than allowed (httpx's own)
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass

import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
#: ``(host, port) -> the addresses the host name stands for`` (injected in tests).
Resolver = Callable[[str, int], Awaitable[list[str]]]

ALLOW_PRIVATE_SETTING = "NEXUS_ALLOW_PRIVATE_URLS"
#: A feed or an API answer larger than this is not what we asked for.
DEFAULT_MAX_BYTES = 5 * 1024 * 1024
DEFAULT_DEADLINE_S = 30.0
DEFAULT_MAX_REDIRECTS = 5


class RefusedURL(httpx.TransportError):
    """The URL may not be fetched: a private address, http where https is needed, no host."""

    def __init__(self, reason: str, *, request: httpx.Request | None = None) -> None:
        super().__init__(reason, request=request)
        self.reason = reason


class TooLarge(httpx.TransportError):
    """The answer went past the size cap; reading stopped there."""

    def __init__(self, limit: int, *, request: httpx.Request | None = None) -> None:
        self.reason = f"the answer is larger than {limit // 1024} KiB, more than Nexus reads"
        super().__init__(self.reason, request=request)


class DeadlineExceeded(httpx.TimeoutException):
    """The request (redirects and body included) took longer than the total deadline."""

    def __init__(self, seconds: float, *, request: httpx.Request | None = None) -> None:
        self.reason = f"the server did not finish answering within {seconds:g} s"
        super().__init__(self.reason, request=request)


def refusal(ip: IPAddress) -> str | None:
    """Why ``ip`` must not be contacted (plain words), or None for a public address."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:  # ::ffff:a.b.c.d is a.b.c.d
            return refusal(ip.ipv4_mapped)
        for inner in (ip.sixtofour, ip.teredo[1] if ip.teredo else None):
            if inner is not None and (why := refusal(inner)):
                return why
    if ip.is_loopback or ip.is_unspecified:  # 0.0.0.0 and :: reach this machine too
        return "points to this machine itself"
    if ip.is_link_local:
        return "is a link-local address (where cloud metadata services live)"
    if ip.is_multicast:
        return "is a multicast address"
    if ip.is_reserved or not ip.is_global:
        return "points inside this network"
    return None


def refusal_message(host: str, ip: IPAddress, why: str) -> str:
    """The owner's explanation, naming the address and the setting that would allow it:
    "that address points inside this network (10.0.0.5); Nexus refuses it unless …"."""
    try:
        literal = ipaddress.ip_address(host.strip("[]")) == ip
    except ValueError:
        literal = False
    name = "that address" if literal else host
    mapped = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
    shown = mapped or ip
    return f"{name} {why} ({shown}); Nexus refuses it unless {ALLOW_PRIVATE_SETTING} is on"


async def system_resolver(host: str, port: int) -> list[str]:
    """The host's addresses from the system resolver (``getaddrinfo`` runs in a thread)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class OutboundPolicy:
    """What a guarded client allows. One policy per client: feeds (http fine) and servers
    that receive credentials (https required)."""

    allow_private: bool = False
    require_https: bool = False
    max_bytes: int = DEFAULT_MAX_BYTES
    deadline: float = DEFAULT_DEADLINE_S
    max_redirects: int = DEFAULT_MAX_REDIRECTS
    #: Private networks allowed even with ``allow_private`` off: one LAN host rather than all
    #: of them (the tests exempt the loopback address their fakes listen on).
    exempt: tuple[IPNetwork, ...] = ()

    def refuses(self, ip: IPAddress) -> str | None:
        """Why this policy refuses ``ip`` (see :func:`refusal`), or None."""
        why = refusal(ip)
        if why is None or self.allow_private or any(ip in net for net in self.exempt):
            return None
        return why


class AddressGuard:
    """Checks a URL against a policy and answers the one address to connect to."""

    def __init__(self, policy: OutboundPolicy, resolver: Resolver = system_resolver) -> None:
        self.policy = policy
        self._resolve = resolver

    async def check(self, url: httpx.URL, request: httpx.Request | None = None) -> str:
        """The checked IP address to connect to for ``url``; RefusedURL if none may be used."""
        host = url.host
        if url.scheme not in ("http", "https") or not host:
            raise RefusedURL("only http:// and https:// addresses can be used", request=request)
        addresses = await self._addresses(host, url.port or _default_port(url), request)
        for ip in addresses:  # all of them: the connection could go to any
            if why := self.policy.refuses(ip):
                raise RefusedURL(refusal_message(host, ip, why), request=request)
        private = any(refusal(ip) for ip in addresses)  # allowed, as the owner asked
        if url.scheme == "http" and self.policy.require_https and not private:
            raise RefusedURL(
                f"{host} must be reached over https:// (credentials are sent to it)",
                request=request,
            )
        return str(addresses[0])

    async def _addresses(
        self, host: str, port: int, request: httpx.Request | None
    ) -> list[IPAddress]:
        try:
            return [ipaddress.ip_address(host)]
        except ValueError:
            pass
        try:
            found = await self._resolve(host, port)
        except OSError as exc:
            raise httpx.ConnectError(
                f"cannot find the address of {host} ({exc})", request=request
            ) from exc
        addresses = []
        for text in found:
            try:
                addresses.append(ipaddress.ip_address(text.split("%", 1)[0]))
            except ValueError:
                continue
        if not addresses:
            raise httpx.ConnectError(f"{host} has no address", request=request)
        return addresses


def _default_port(url: httpx.URL) -> int:
    return 443 if url.scheme == "https" else 80


class GuardedTransport(httpx.AsyncBaseTransport):
    """An httpx transport that checks every request's address and connects to that address."""

    def __init__(
        self,
        guard: AddressGuard,
        inner: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.guard = guard
        self._inner = inner or httpx.AsyncHTTPTransport(
            limits=httpx.Limits(max_keepalive_connections=0)
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        policy = self.guard.policy
        started = time.monotonic()
        try:
            async with asyncio.timeout(policy.deadline):
                ip = await self.guard.check(request.url, request)
                pinned = httpx.Request(
                    request.method,
                    request.url.copy_with(host=ip),
                    headers=request.headers,  # Host: still the name
                    stream=request.stream,
                    extensions={
                        **request.extensions,
                        "sni_hostname": request.url.raw_host.decode("ascii"),  # IDNA form
                    },
                )
                response = await self._inner.handle_async_request(pinned)
        except TimeoutError:
            raise DeadlineExceeded(policy.deadline, request=request) from None
        body = _Capped(response, request, policy, started)
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=body,
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._inner.aclose()


class _Capped(httpx.AsyncByteStream):
    """The answer's body, cut off past the size cap or the request's deadline."""

    def __init__(
        self,
        response: httpx.Response,
        request: httpx.Request,
        policy: OutboundPolicy,
        started: float,
    ) -> None:
        self._response = response
        self._request = request
        self._policy = policy
        self._ends = started + policy.deadline

    async def __aiter__(self) -> AsyncIterator[bytes]:
        chunks = self._response.aiter_raw().__aiter__()
        received = 0
        while True:
            remaining = self._ends - time.monotonic()
            try:
                if remaining <= 0:
                    raise TimeoutError
                chunk = await asyncio.wait_for(chunks.__anext__(), remaining)
            except StopAsyncIteration:
                return
            except TimeoutError:
                raise DeadlineExceeded(self._policy.deadline, request=self._request) from None
            received += len(chunk)
            if received > self._policy.max_bytes:
                raise TooLarge(self._policy.max_bytes, request=self._request)
            yield chunk

    async def aclose(self) -> None:
        await self._response.aclose()


@dataclass(frozen=True)
class Page:
    """A fetched answer: status, headers, the (capped) body, and the URL it finally came from."""

    status_code: int
    headers: httpx.Headers
    content: bytes
    url: httpx.URL


class GuardedClient:
    """An httpx client whose every request (each redirect hop too) passes one policy.

    ``http`` is for API calls (publishers: it never follows redirects); :meth:`fetch` is the GET
    of a user's URL, following redirects by hand."""

    def __init__(
        self,
        policy: OutboundPolicy,
        *,
        resolver: Resolver = system_resolver,
        timeout: httpx.Timeout | None = None,
    ) -> None:
        self.policy = policy
        self.http = httpx.AsyncClient(
            transport=GuardedTransport(AddressGuard(policy, resolver)),
            timeout=timeout or httpx.Timeout(min(policy.deadline, 30.0), connect=10.0),
            follow_redirects=False,
        )

    async def fetch(self, url: str, *, headers: Mapping[str, str] | None = None) -> Page:
        """GET ``url``, following at most ``max_redirects`` redirects (each hop checked), all
        within the deadline, the body capped. Raises the errors above (or another
        ``httpx.HTTPError``)."""
        policy = self.policy
        target = httpx.URL(url)
        try:
            async with asyncio.timeout(policy.deadline):
                for _hop in range(policy.max_redirects + 1):
                    request = self.http.build_request("GET", target, headers=headers)
                    response = await self.http.send(request, stream=True)
                    try:
                        location = response.headers.get("location")
                        if response.is_redirect and location:
                            target = target.join(location)
                            continue
                        content = await _read_capped(response, policy.max_bytes)
                    finally:
                        await response.aclose()
                    return Page(response.status_code, response.headers, content, target)
        except TimeoutError:
            raise DeadlineExceeded(policy.deadline) from None
        raise httpx.TooManyRedirects(f"it redirected more than {policy.max_redirects} times")

    async def aclose(self) -> None:
        await self.http.aclose()


async def _read_capped(response: httpx.Response, limit: int) -> bytes:
    """The decoded body, stopping past ``limit`` bytes: the transport caps what arrives, this
    caps what it decompresses into (a small gzip body can inflate a thousandfold)."""
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) > limit:
            raise TooLarge(limit, request=response.request)
    return bytes(body)
