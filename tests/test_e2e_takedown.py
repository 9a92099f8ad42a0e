"""🗑 Delete… under a published post: confirmed once, the post is deleted from every platform
it went out to (each part of a thread), its targets stop being synced, and a platform that
fails keeps its post up with the reason, ready for another try. The real app runs against the
loopback Telegram, Mastodon, X and LinkedIn servers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy import select

from bot.app import Nexus, ensure_first_brand
from storage.models import Publication, PublicationStatus
from tests.conftest import CHANNEL, OWNER
from tests.fakes.linkedin import FakeLinkedIn
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.telegram import FakeMessage, FakeTelegram
from tests.fakes.x import FakeX
from tests.test_e2e_drafts import button, preview_for, tap
from tests.test_e2e_variants import LONG_IDEA, connect, publications, publish, start_with_targets

StartNexus = Callable[..., Awaitable[Nexus]]


async def answer_to(tg: FakeTelegram, query_id: str) -> str:
    await tg.wait_for(lambda: query_id in tg.callback_answers)
    return str(tg.callback_answers[query_id].get("text", ""))


async def ask_to_delete(tg: FakeTelegram, record: FakeMessage) -> FakeMessage:
    await tap(tg, record, "Delete…")
    return await tg.wait_message(
        OWNER, lambda m: "from every platform it went out to?" in m.text and not m.deleted
    )


async def test_a_published_post_is_deleted_everywhere_after_one_confirmation(
    tg: FakeTelegram,
    nexus_factory: StartNexus,
    mastodon: FakeMastodon,
    x: FakeX,
    linkedin: FakeLinkedIn,
) -> None:
    nexus = await start_with_targets(nexus_factory, mastodon, x, linkedin)
    record = await publish(tg, nexus, await preview_for(tg, LONG_IDEA))
    delete_button = button(record, "Delete…")
    assert len(x.posts) > 1  # a thread: every part must go
    assert tg.messages(CHANNEL) and mastodon.posts and linkedin.posts

    # "Keep it" changes nothing
    ask = await ask_to_delete(tg, record)
    for name in ("Telegram", "Mastodon", "X @nexus_x", "LinkedIn"):
        assert name in ask.text
    assert "stays up" in await answer_to(tg, await tap(tg, ask, "Keep it"))
    await tg.wait_for(lambda: ask.deleted)
    assert tg.messages(CHANNEL) and x.posts and mastodon.posts and linkedin.posts

    ask = await ask_to_delete(tg, record)
    first = await tap(tg, ask, "Yes, delete everywhere")
    second = await tap(tg, ask, "Yes, delete everywhere")  # a quick double tap
    done = await tg.wait_message(
        OWNER, lambda m: m.message_id == ask.message_id and "is deleted" in m.text
    )
    assert await answer_to(tg, first) == ""
    assert "not live anywhere" in await answer_to(tg, second)
    [kept] = [m for m in tg.messages(OWNER) if m.message_id == ask.message_id]
    assert "is deleted" in kept.text  # the second tap leaves the first one's answer
    assert done.text.count("✓") == 4 and "✗" not in done.text
    assert tg.messages(CHANNEL) == [] and x.posts == []
    assert mastodon.posts == [] and linkedin.posts == []
    pubs = await publications(nexus)
    assert {p.status for p in pubs.values()} == {PublicationStatus.DELETED}
    assert all(p.metrics_due_at is None for p in pubs.values())  # no more syncs

    # the record above loses its dead links and buttons
    retired = await tg.wait_message(
        OWNER, lambda m: m.message_id == record.message_id and "then deleted" in m.text
    )
    assert retired.buttons() == [] and "href" not in (retired.html or "")
    assert "published, then deleted from every platform" in retired.text
    # a tap that was already on its way only says there is nothing left
    stale = await tg.user_taps(OWNER, record.message_id, delete_button, force=True)
    assert "not live anywhere" in await answer_to(tg, stale)


async def test_a_platform_that_fails_keeps_its_post_for_another_try(
    tg: FakeTelegram,
    nexus_factory: StartNexus,
    mastodon: FakeMastodon,
) -> None:
    nexus = await nexus_factory()
    await ensure_first_brand(nexus)
    await connect(
        nexus,
        "mastodon",
        "@nexus@masto.test",
        {"instance": mastodon.base_url, "access_token": mastodon.token},
    )
    record = await publish(tg, nexus, await preview_for(tg, "announce the beta"))
    [status] = mastodon.posts
    mastodon.fail_next(f"/api/v1/statuses/{status.id}", 503)

    await tap(tg, await ask_to_delete(tg, record), "Yes, delete everywhere")
    partial = await tg.wait_message(OWNER, lambda m: "could not be deleted everywhere" in m.text)
    assert "✓ Telegram" in partial.text and "✗ Mastodon" in partial.text
    [kept] = [m for m in tg.messages(OWNER) if m.message_id == record.message_id]
    assert "Delete…" in str(kept.buttons())  # something is still live: the record stays as it is
    assert tg.messages(CHANNEL) == [] and mastodon.posts == [status]
    async with nexus.sessions() as session:
        pubs = {p.account.platform: p for p in await session.scalars(select(Publication))}
    assert pubs["telegram"].status == PublicationStatus.DELETED
    assert pubs["mastodon"].status == PublicationStatus.PUBLISHED
    assert (pubs["mastodon"].last_error or "").startswith("could not delete")

    # another try offers only what is still up, and takes it down
    again = await ask_to_delete(tg, record)
    assert "Mastodon" in again.text and "Telegram" not in again.text.split("?", 1)[1]
    await tap(tg, again, "Yes, delete everywhere")
    await tg.wait_message(
        OWNER, lambda m: m.message_id == again.message_id and "is deleted" in m.text
    )
    assert mastodon.posts == []
    await tg.wait_message(OWNER, lambda m: m.message_id == record.message_id and not m.buttons())
