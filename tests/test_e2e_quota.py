"""Costs and quotas from the owner's chair: the approval card says what each target costs or
uses, a used-up quota moves only that target to a slot after the reset (and says so) instead
of failing it, it goes out exactly once after the reset, and /stats shows the month's platform
spend next to the AI spend. The real app runs against the loopback Telegram, X, Threads and
Bluesky servers, on a FakeClock."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy import select

from bot.app import Nexus, ensure_first_brand
from storage.models import Account, Post, PostStatus, Publication, PublicationStatus
from tests.clock import FakeClock
from tests.conftest import OWNER
from tests.fakes.bluesky import FakeBluesky
from tests.fakes.fixtures import serve
from tests.fakes.telegram import FakeMessage, FakeTelegram
from tests.fakes.threads import FakeThreads
from tests.fakes.x import FakeX
from tests.test_e2e_drafts import is_preview, preview_for, tap
from tests.test_e2e_variants import connect, publications

StartNexus = Callable[..., Awaitable[Nexus]]
th = serve(FakeThreads)
sky = serve(FakeBluesky)
LINKED = "announce v2.3 with dark mode, notes at https://example.com/v2"


async def linked_preview(tg: FakeTelegram) -> FakeMessage:
    """The preview of a brief with a link, drafted from the link alone (the tests' page can't
    be read: nothing serves example.com here)."""
    sent = await tg.user_sends(OWNER, LINKED)
    unread = await tg.wait_message(
        OWNER,
        lambda m: (
            m.message_id > sent["message_id"]
            and any("link alone" in label for label, _ in m.buttons())
        ),
    )
    await tap(tg, unread, "Draft from the link alone")
    return await tg.wait_message(
        OWNER, lambda m: is_preview(m) and m.message_id >= unread.message_id
    )


async def start(
    nexus_factory: StartNexus,
    *,
    x: FakeX | None = None,
    th: FakeThreads | None = None,
    sky: FakeBluesky | None = None,
    **env: str,
) -> Nexus:
    """The app with the channel and the given platforms connected."""
    apis = []
    if x is not None:
        apis.append(f"x={x.base_url}")
    if th is not None:
        apis.append(f"threads={th.base_url}")
    nexus = await nexus_factory(NEXUS_API_URLS=",".join(apis) or None, **env)
    await ensure_first_brand(nexus)
    if x is not None:
        credentials = {
            "api_key": x.consumer_key,
            "api_secret": x.consumer_secret,
            "access_token": x.oauth1_token,
            "access_token_secret": x.oauth1_token_secret,
        }
        await connect(nexus, "x", "@nexus_x", credentials)
    if th is not None:
        await connect(
            nexus, "threads", "@nexus.daily", {"user_id": th.user_id, "access_token": th.token}
        )
    if sky is not None:
        credentials = {
            "handle": sky.handle,
            "app_password": sky.app_password,
            "service": sky.base_url,
        }
        await connect(nexus, "bluesky", "@nexus.bsky.social", credentials)
    return nexus


def line_of(text: str, target: str) -> str:
    return next(line for line in text.splitlines() if line.startswith(f"✓ {target}"))


async def test_card_shows_each_targets_cost_or_quota(
    tg: FakeTelegram,
    nexus_factory: StartNexus,
    x: FakeX,
    th: FakeThreads,
    sky: FakeBluesky,
) -> None:
    th.used_quota = 12
    await start(nexus_factory, x=x, th=th, sky=sky)
    preview = await linked_preview(tg)
    assert line_of(preview.text, "X @nexus_x").endswith("· $0.20 (link)")
    assert line_of(preview.text, "Threads @nexus.daily").endswith("· 13/250 today")
    assert line_of(preview.text, "Bluesky").endswith("· 3 of 5,000 points/h")
    assert line_of(preview.text, "Telegram").endswith("/4096")  # free: nothing added

    th.fail_next(f"/{th.user_id}/threads_publishing_limit", 2, times=20)
    second = await preview_for(tg, "announce the beta")
    assert line_of(second.text, "Threads").endswith("· quota unknown")
    assert line_of(second.text, "X @nexus_x").endswith("· $0.015")


async def test_used_up_threads_quota_moves_that_target_and_tells_the_owner(
    tg: FakeTelegram, nexus_factory: StartNexus, th: FakeThreads, clock: FakeClock
) -> None:
    th.used_quota = 250
    nexus = await start(nexus_factory, th=th)
    preview = await preview_for(tg, "announce v2.3 with dark mode")
    await tap(tg, preview, "Approve")
    await nexus.dispatcher.run_once()

    moved = await tg.wait_message(OWNER, lambda m: "has used" in m.text, timeout=15)
    assert "Threads @nexus.daily has used its 250 posts for today; post #1 moved to" in moved.text
    assert "18:00" in moved.text and "after the limit resets" in moved.text
    pubs = await publications(nexus)
    # nothing of ours in the window: an hour (10:00), then the first free slot (18:00)
    slot = clock.now().replace(hour=18, minute=0)
    threads_pub = pubs["threads"]
    assert threads_pub.status == PublicationStatus.PENDING
    assert threads_pub.next_attempt_at == slot and threads_pub.attempts == 0
    assert pubs["telegram"].status == PublicationStatus.PUBLISHED  # the channel went on time
    assert not th.posts and not th.calls_to("POST", f"/{th.user_id}/threads")

    await nexus.dispatcher.run_once()  # not due yet: nothing is sent, nothing is told twice
    assert not th.posts and len([m for m in tg.messages(OWNER) if "has used" in m.text]) == 1

    th.used_quota = 0  # the window moved on
    clock.current = slot
    await nexus.dispatcher.run_once()
    await tg.wait_message(OWNER, lambda m: "published" in m.text and "#1" in m.text, timeout=15)
    assert len(th.posts) == 1
    pubs = await publications(nexus)
    assert pubs["threads"].status == PublicationStatus.PUBLISHED and pubs["threads"].attempts == 1
    async with nexus.sessions() as session:
        post = await session.get(Post, 1)
        assert post is not None and post.status == PostStatus.PUBLISHED


async def test_moving_window_waits_for_our_oldest_post_to_leave_it(
    tg: FakeTelegram, nexus_factory: StartNexus, th: FakeThreads, clock: FakeClock
) -> None:
    nexus = await start(nexus_factory, th=th)
    first = await preview_for(tg, "announce v2.3 with dark mode")
    await tap(tg, first, "Approve")
    await nexus.dispatcher.run_once()
    await tg.wait_message(OWNER, lambda m: "published" in m.text and "#1" in m.text, timeout=15)

    clock.advance(hours=20)  # 05:00 the next day; the other 249 places were taken elsewhere
    th.used_quota = 249
    second = await preview_for(tg, "announce the beta")
    await tap(tg, second, "Approve")
    await nexus.dispatcher.run_once()
    await tg.wait_message(OWNER, lambda m: "has used" in m.text and "#2" in m.text, timeout=15)
    pubs = await _publications_of(nexus, 2)
    # our first post leaves the 24 h window at 09:00 (not in an hour, at 06:00, when a slot at
    # 09:00 would still find the window full): the first slot after then is 18:00
    expected = datetime(2026, 11, 23, 18, 0, tzinfo=clock.now().tzinfo)
    assert pubs["threads"].next_attempt_at == expected


async def test_x_usage_cap_answer_moves_the_target_past_the_cap(
    tg: FakeTelegram, nexus_factory: StartNexus, x: FakeX, clock: FakeClock
) -> None:
    x.usage_cap = 0
    x.usage_cap_reset = int(time.time()) + 2 * 86_400
    nexus = await start(nexus_factory, x=x)
    preview = await preview_for(tg, "announce v2.3 with dark mode")
    await tap(tg, preview, "Approve")
    await nexus.dispatcher.run_once()
    moved = await tg.wait_message(OWNER, lambda m: "has used" in m.text, timeout=15)
    assert "X @nexus_x has used its usage cap for this month; post #1 moved to" in moved.text
    pub = (await publications(nexus))["x"]
    assert pub.status == PublicationStatus.PENDING and pub.next_attempt_at is not None
    assert pub.next_attempt_at >= clock.now() + timedelta(days=2) - timedelta(minutes=1)
    assert not x.posts


async def test_bluesky_points_spent_by_our_own_posts_hold_the_post_before_sending(
    tg: FakeTelegram, nexus_factory: StartNexus, sky: FakeBluesky, clock: FakeClock
) -> None:
    nexus = await start(nexus_factory, sky=sky)
    preview = await preview_for(tg, "announce v2.3 with dark mode")
    async with nexus.sessions() as session:  # the ledger: a long thread we posted 10 min ago
        account = await session.scalar(select(Account).where(Account.platform == "bluesky"))
        assert account is not None
        earlier = Post(author_id=OWNER, brief="b", text="t", status=PostStatus.PUBLISHED)
        session.add(earlier)
        await session.flush()
        session.add(
            Publication(
                post_id=earlier.id,
                account_id=account.id,
                text="t",
                status=PublicationStatus.PUBLISHED,
                part_ids=",".join(f"at://p/{i}" for i in range(1666)),  # 4,998 points
                published_at=clock.now() - timedelta(minutes=10),
            )
        )
        await session.commit()
    await tap(tg, preview, "Approve")
    await nexus.dispatcher.run_once()
    moved = await tg.wait_message(OWNER, lambda m: "has used" in m.text, timeout=15)
    assert "its 5000 write points for this hour" in moved.text
    assert not sky.calls_to("com.atproto.repo.createRecord")  # refused before sending
    pub = (await _publications_of(nexus, 1))["bluesky"]
    # the points free at 09:50 (the thread leaves the hour); the first free slot is 18:00
    assert pub.next_attempt_at == clock.now().replace(hour=18, minute=0)


async def test_stats_shows_the_months_platform_spend_next_to_ai(
    tg: FakeTelegram, nexus_factory: StartNexus, x: FakeX, clock: FakeClock
) -> None:
    nexus = await start(nexus_factory, x=x, NEXUS_X_PRICE_LINK_POST="0.25")
    preview = await linked_preview(tg)
    assert line_of(preview.text, "X @nexus_x").endswith("· $0.25 (link)")
    await tap(tg, preview, "Approve")
    await nexus.dispatcher.run_once()
    await tg.wait_message(OWNER, lambda m: "published" in m.text and "#1" in m.text, timeout=15)
    assert (await publications(nexus))["x"].cost_usd == 0.25
    assert (await publications(nexus))["telegram"].cost_usd is None

    clock.advance(minutes=5)
    await tg.user_sends(OWNER, "/stats")
    stats = await tg.wait_message(OWNER, lambda m: "platforms" in m.text, timeout=15)
    assert "This month: AI $0.00 · platforms $0.25 (X 1 post)" in stats.text


async def _publications_of(nexus: Nexus, post_id: int) -> dict[str, Publication]:
    async with nexus.sessions() as session:
        rows = await session.scalars(
            select(Publication).where(Publication.post_id == post_id).order_by(Publication.id)
        )
        return {p.account.platform: p for p in rows}
