"""The hardened client for users' URLs (publishers.outbound), over real loopback HTTP.

No test sends a packet anywhere but 127.0.0.1: private and public targets are only ever
*refused* (before any connection), and names are resolved by an injected resolver."""

from __future__ import annotations

import gzip
import ipaddress
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from publishers.outbound import (
    DeadlineExceeded,
    GuardedClient,
    OutboundPolicy,
    RefusedURL,
    TooLarge,
    refusal,
)
from tests.fakes.feeds import FakeFeeds, rss

LOOPBACK = ipaddress.ip_network("127.0.0.1/32")
#: The fakes listen on 127.0.0.1: exempt exactly that address, so every other private one,
#: 127.0.0.2 included, stays refused as in production.
POLICY = OutboundPolicy(exempt=(LOOPBACK,))

NAMES = {
    "feeds.example": ["127.0.0.1"],  # a public-looking name for the fake
    "intranet.example": ["10.0.0.5"],
    "split.example": ["93.184.216.34", "192.168.1.7"],  # one public, one private address
    "public.example": ["93.184.216.34"],
}


async def resolver(host: str, port: int) -> list[str]:
    try:
        return NAMES[host]
    except KeyError:
        raise OSError(f"unknown host {host}") from None


@pytest.fixture
async def feeds() -> AsyncIterator[FakeFeeds]:
    async with FakeFeeds() as server:
        yield server


@pytest.fixture
async def guarded() -> AsyncIterator[GuardedClient]:
    client = GuardedClient(POLICY, resolver=resolver)
    yield client
    await client.aclose()


# ------------------------------------------------------------------ the classifier
PRIVATE_NETWORKS = [
    "127.0.0.0/8",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "169.254.0.0/16",
    "100.64.0.0/10",
    "0.0.0.0/8",
    "224.0.0.0/4",
    "240.0.0.0/4",
    "::1/128",
    "fe80::/10",
    "fc00::/7",
    "ff00::/8",
    "::/128",
]


@st.composite
def private_addresses(draw: st.DrawFn) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    network = ipaddress.ip_network(draw(st.sampled_from(PRIVATE_NETWORKS)))
    offset = draw(st.integers(min_value=0, max_value=network.num_addresses - 1))
    return network[offset]


@given(private_addresses())
def test_every_private_loopback_link_local_or_multicast_address_is_refused(
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> None:
    assert refusal(ip) is not None
    if isinstance(ip, ipaddress.IPv4Address):
        assert refusal(ipaddress.IPv6Address(f"::ffff:{ip}")) is not None  # IPv4-mapped


@given(st.ip_addresses(v=4))
def test_an_ipv4_mapped_address_is_judged_as_the_ipv4_address(ip: ipaddress.IPv4Address) -> None:
    mapped = ipaddress.IPv6Address(f"::ffff:{ip}")
    assert refusal(mapped) == refusal(ip)


@given(st.ip_addresses())
def test_an_address_is_refused_unless_global_and_not_multicast(
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> None:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # where a connection to it really goes
    if refusal(ip) is None:
        assert not (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast)
        assert not (ip.is_reserved or ip.is_unspecified)


def test_public_addresses_pass() -> None:
    for text in ("93.184.216.34", "1.1.1.1", "2606:4700::1111", "::ffff:8.8.8.8"):
        assert refusal(ipaddress.ip_address(text)) is None, text


# ------------------------------------------------------------------ refusals on every hop
@pytest.mark.parametrize(
    ("target", "shown"),
    [
        ("http://169.254.169.254/latest/meta-data/", "that address is a link-local address"),
        ("http://127.0.0.2:{port}/feed.xml", "that address points to this machine itself"),
        ("http://[::1]:{port}/feed.xml", "that address points to this machine itself"),
        ("http://10.1.2.3/feed.xml", "that address points inside this network (10.1.2.3)"),
        ("http://[::ffff:10.0.0.1]/", "that address points inside this network (10.0.0.1)"),
        ("http://intranet.example/feed.xml", "intranet.example points inside this network"),
        ("http://split.example/feed.xml", "split.example points inside this network"),
    ],
)
async def test_a_redirect_inside_the_network_is_refused(
    feeds: FakeFeeds, guarded: GuardedClient, target: str, shown: str
) -> None:
    port = feeds.root.rsplit(":", 1)[1]
    url = feeds.redirect("old.xml", target.format(port=port))
    with pytest.raises(RefusedURL) as refused:
        await guarded.fetch(url)
    assert shown in refused.value.reason
    assert "Nexus refuses it unless NEXUS_ALLOW_PRIVATE_URLS is on" in refused.value.reason
    assert [c.path for c in feeds.calls] == ["/old.xml"]  # the fake saw only the first hop


async def test_allowed_redirects_are_followed_to_the_checked_address(
    feeds: FakeFeeds, guarded: GuardedClient
) -> None:
    """A name is resolved once, checked, and connected to by address with Host kept: the
    fake's name exists only in the injected resolver, so the system's DNS is never asked."""
    port = feeds.root.rsplit(":", 1)[1]
    feeds.serve("feed.xml", rss(("1", "One")))
    url = feeds.redirect("old.xml", f"http://feeds.example:{port}/feed.xml", status=301)
    page = await guarded.fetch(url)
    assert page.status_code == 200
    assert b"<title>One</title>" in page.content
    assert str(page.url) == f"http://feeds.example:{port}/feed.xml"
    assert feeds.hosts == [f"127.0.0.1:{port}", f"feeds.example:{port}"]


async def test_too_many_redirects_stop(feeds: FakeFeeds, guarded: GuardedClient) -> None:
    for hop in range(7):
        feeds.redirect(f"hop{hop}", feeds.url(f"hop{hop + 1}"))
    with pytest.raises(httpx.TooManyRedirects):
        await guarded.fetch(feeds.url("hop0"))
    assert len(feeds.calls) == POLICY.max_redirects + 1


async def test_private_urls_are_refused_without_the_setting(feeds: FakeFeeds) -> None:
    feeds.serve("feed.xml", rss(("1", "One")))
    client = GuardedClient(OutboundPolicy(), resolver=resolver)
    try:
        with pytest.raises(RefusedURL, match=r"that address points to this machine itself"):
            await client.fetch(feeds.url("feed.xml"))
    finally:
        await client.aclose()
    assert feeds.calls == []
    allowed = GuardedClient(OutboundPolicy(allow_private=True), resolver=resolver)
    try:
        assert (await allowed.fetch(feeds.url("feed.xml"))).status_code == 200
    finally:
        await allowed.aclose()


async def test_credentials_go_over_https_only(feeds: FakeFeeds) -> None:
    """Servers that receive tokens: plain http to a public host is refused before any
    connection; a private host the owner allowed may use http (a LAN instance)."""
    servers = GuardedClient(OutboundPolicy(require_https=True), resolver=resolver)
    try:
        with pytest.raises(RefusedURL, match=r"public.example must be reached over https://"):
            await servers.http.post("http://public.example/api/v1/statuses", json={})
    finally:
        await servers.aclose()
    lan = GuardedClient(OutboundPolicy(require_https=True, allow_private=True), resolver=resolver)
    try:
        feeds.serve("api", "{}", content_type="application/json")
        assert (await lan.http.get(feeds.url("api"))).status_code == 200
    finally:
        await lan.aclose()


async def test_an_unknown_name_is_a_connect_error(guarded: GuardedClient) -> None:
    with pytest.raises(httpx.ConnectError, match="cannot find the address of nowhere.example"):
        await guarded.fetch("http://nowhere.example/feed.xml")


# ------------------------------------------------------------------ size and time
async def test_an_endless_answer_is_cut_at_the_cap(feeds: FakeFeeds) -> None:
    client = GuardedClient(OutboundPolicy(exempt=(LOOPBACK,), max_bytes=256 * 1024))
    try:
        with pytest.raises(TooLarge, match="larger than 256 KiB"):
            await client.fetch(feeds.endless("huge.xml"))
        with pytest.raises(TooLarge):  # the API client too, not only fetch()
            await client.http.get(feeds.url("huge.xml"))
    finally:
        await client.aclose()


async def test_a_small_gzip_body_cannot_inflate_past_the_cap(feeds: FakeFeeds) -> None:
    bomb = gzip.compress(b" " * (8 * 1024 * 1024))  # 8 MiB of spaces in about 8 KiB
    client = GuardedClient(OutboundPolicy(exempt=(LOOPBACK,), max_bytes=1024 * 1024))
    try:
        url = feeds.serve("bomb.xml", bomb, content_encoding="gzip")
        with pytest.raises(TooLarge, match="larger than 1024 KiB"):
            await client.fetch(url)
    finally:
        await client.aclose()


async def test_a_trickling_answer_hits_the_total_deadline(feeds: FakeFeeds) -> None:
    """One byte every 50 ms never trips a read timeout; the deadline ends it anyway."""
    client = GuardedClient(OutboundPolicy(exempt=(LOOPBACK,), deadline=0.3))
    started = time.monotonic()
    try:
        with pytest.raises(DeadlineExceeded, match="within 0.3 s"):
            await client.fetch(feeds.trickle("slow.xml", every=0.05))
    finally:
        await client.aclose()
    assert time.monotonic() - started < 1.5
