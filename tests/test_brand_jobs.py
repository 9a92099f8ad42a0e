"""Work that runs without a chat update stays inside its brand: publishing outcomes, alerts, the
daily digest and automation reach the people of the brand they concern (and only those whose
role lets them act), through the real app, the loopback Telegram and the fake clock.

Two brands: "Main" (brand 1, owned by OWNER, publishing to CHANNEL) and "Beta", with an owner,
an editor, a reviewer and a viewer of its own, its own channel and its own time zone.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from ai.learning import learn_due
from ai.offline import OfflineDrafter
from automation import rulebook
from automation import sources as source_service
from bot.app import Nexus
from scheduler.lifecycle import schedule_post
from scheduler.notify import AlertKind
from scheduler.recurrence import RepeatRule
from scheduler.series import recycle_evergreen_everywhere
from storage import learning, teams
from storage import repositories as repo
from storage.models import (
    FIRST_BRAND_ID,
    Account,
    AiUsage,
    AlertState,
    BrandVoice,
    DecisionKind,
    DraftJob,
    DraftJobStatus,
    Event,
    Membership,
    Post,
    PostStatus,
    Publication,
    PublicationStatus,
    Role,
    Rule,
    RuleRun,
    User,
)
from tests.clock import FakeClock
from tests.conftest import CHANNEL, OWNER
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.telegram import FakeMessage, FakeTelegram
from tests.test_e2e_drafts import button, is_preview
from ui.callbacks import MuteCb

StartNexus = Callable[..., Awaitable[Nexus]]

BETA_OWNER, BETA_EDITOR, BETA_REVIEWER, BETA_VIEWER = 2001, 2002, 2003, 2004
BETA_PEOPLE = (BETA_OWNER, BETA_EDITOR, BETA_REVIEWER, BETA_VIEWER)
BETA_CHANNEL = "@beta_channel"
EVERYONE = (OWNER, *BETA_PEOPLE)


async def beta_brand(app: Nexus, tg: FakeTelegram, *, reviews: bool = True) -> int:
    """Brand "Beta" (Tokyo time, digest at 18:00) with its four people and its channel; OWNER
    is in the first brand only. Everyone has talked to the bot (a user row and a chat). With
    ``reviews`` off, BETA_REVIEWER is no member: a brand without reviewers approves its
    automation drafts itself (with one, they go the review way, `tests/test_e2e_review.py`)."""
    tg.add_channel(BETA_CHANNEL.lstrip("@"))
    for person in BETA_PEOPLE:
        tg.add_user(person, f"Person {person}")
    async with app.sessions() as session:
        brand = await teams.create_brand(session, "Beta", BETA_OWNER, timezone="Asia/Tokyo")
        assert brand is not None
        brand.digest_at = "18:00"
        for person, role in (
            (BETA_EDITOR, Role.EDITOR),
            (BETA_REVIEWER, Role.REVIEWER),
            (BETA_VIEWER, Role.VIEWER),
        ):
            if person == BETA_REVIEWER and not reviews:
                continue
            session.add(Membership(brand_id=brand.id, user_id=person, role=role))
        for person in EVERYONE:
            if await session.get(User, person) is None:
                session.add(User(id=person, language="en"))
        session.add(
            Account(brand_id=brand.id, platform="telegram", handle=BETA_CHANNEL, title="Beta")
        )
        await session.commit()
        return brand.id


async def account_of(app: Nexus, handle: str) -> Account:
    async with app.sessions() as session:
        account = await session.scalar(select(Account).where(Account.handle == handle))
        assert account is not None
        return account


def texts(tg: FakeTelegram, person: int) -> list[str]:
    return [m.text for m in tg.messages(person)]


def mark(tg: FakeTelegram) -> dict[int, int]:
    """How many messages each person has now (the start-up note on a new key, say)."""
    return {person: len(tg.messages(person)) for person in EVERYONE}


def nothing_for(
    tg: FakeTelegram, people: tuple[int, ...], *words: str, since: dict[int, int] | None = None
) -> None:
    """None of ``people`` got a message with any of ``words``; no words: no message at all
    after ``since`` (a `mark`)."""
    for person in people:
        for text in texts(tg, person)[(since or {}).get(person, 0) :]:
            assert words and not any(word in text for word in words), (person, text)


# --- what the dispatcher reports ---------------------------------------------------------------


async def test_a_brands_outcome_reaches_its_owners_editors_and_author_only(
    tg: FakeTelegram, nexus: Nexus, clock: FakeClock
) -> None:
    beta = await beta_brand(nexus, tg)
    before = mark(tg)
    async with nexus.sessions() as session:
        post = await repo.create_draft(
            session,
            brand_id=beta,
            author_id=BETA_REVIEWER,  # a reviewer who wrote it (once an editor): still told
            brief="launch",
            text="Beta launches today",
            offline=True,
        )
        assert await schedule_post(session, post, clock.now())
    await nexus.dispatcher.run_once()
    await nexus.dispatcher.run_once()

    [out] = tg.messages(BETA_CHANNEL)  # the brand's own channel, never the first brand's
    assert out.text == "Beta launches today"
    assert tg.messages(CHANNEL) == []
    for person in (BETA_REVIEWER, BETA_OWNER, BETA_EDITOR):  # the author first, then the crew
        told = await tg.wait_message(person, lambda m: "is published" in m.text)
        assert f"#{post.id}" in told.text
    nothing_for(tg, (OWNER, BETA_VIEWER), since=before)  # another brand's owner, a viewer


async def test_a_post_held_while_nexus_was_down_is_asked_about_in_its_brands_zone(
    tg: FakeTelegram, nexus: Nexus, clock: FakeClock
) -> None:
    beta = await beta_brand(nexus, tg)
    before = mark(tg)
    async with nexus.sessions() as session:
        post = await repo.create_draft(
            session, brand_id=beta, author_id=BETA_EDITOR, brief="b", text="Hi", offline=True
        )
        assert await schedule_post(session, post, clock.now())  # 09:00 UTC, 18:00 in Tokyo
    clock.advance(hours=3)  # Nexus was down past the misfire grace
    await nexus.dispatcher.run_once()
    for person in (BETA_EDITOR, BETA_OWNER):
        asked = await tg.wait_message(person, lambda m: "Should it go out now?" in m.text)
        assert "Sun 22 Nov 2026, 18:00 (Asia/Tokyo)" in asked.text
    assert tg.messages(BETA_CHANNEL) == []
    nothing_for(tg, (OWNER, BETA_REVIEWER, BETA_VIEWER), since=before)


async def test_someone_in_two_brands_sees_which_brand_an_outcome_is_about(
    tg: FakeTelegram, nexus: Nexus, clock: FakeClock
) -> None:
    beta = await beta_brand(nexus, tg)
    async with nexus.sessions() as session:
        session.add(Membership(brand_id=beta, user_id=OWNER, role=Role.EDITOR))
        post = await repo.create_draft(
            session, brand_id=beta, author_id=BETA_EDITOR, brief="b", text="Hi", offline=True
        )
        await session.commit()
        assert await schedule_post(session, post, clock.now())
    await nexus.dispatcher.run_once()
    await nexus.dispatcher.run_once()

    two_brands = await tg.wait_message(OWNER, lambda m: "is published" in m.text)
    assert two_brands.text.startswith("🏷 Beta\n")
    one_brand = await tg.wait_message(BETA_EDITOR, lambda m: "is published" in m.text)
    assert "🏷" not in one_brand.text  # nothing changes for someone with a single brand


# --- alerts ------------------------------------------------------------------------------------


async def test_alerts_go_to_the_brands_owners_and_install_alerts_to_the_first_brands(
    tg: FakeTelegram, nexus_factory: StartNexus, clock: FakeClock
) -> None:
    app = await nexus_factory(NEXUS_AI_BUDGET_USD="1")
    beta = await beta_brand(app, tg)
    before = mark(tg)
    beta_account = await account_of(app, BETA_CHANNEL)
    async with app.sessions() as session:
        await repo.set_account_health(
            session, beta_account.id, last_error="bot was removed", checked_at=clock.now()
        )
        session.add(  # Beta's drafting used up the install's monthly AI budget
            AiUsage(
                brand_id=beta,
                at=clock.now(),
                model="claude",
                purpose="draft",
                input_tokens=1,
                output_tokens=1,
                cost_usd=2.5,
            )
        )
        await session.commit()

    assert await app.alerts.run_checks() == 2
    auth = await tg.wait_message(BETA_OWNER, lambda m: "bot was removed" in m.text)
    assert "Telegram Beta" in auth.text
    budget = await tg.wait_message(OWNER, lambda m: "AI budget is used up" in m.text)
    assert "$2.50 spent of $1.00" in budget.text
    nothing_for(tg, (OWNER,), "bot was removed")  # Beta's account is none of Main's business
    nothing_for(tg, (BETA_OWNER,), "AI budget")  # the key is the install's, run by Main
    nothing_for(tg, (BETA_EDITOR, BETA_REVIEWER, BETA_VIEWER), since=before)  # owners only


async def test_muting_silences_one_brands_alerts_and_only_its_owner_may(
    tg: FakeTelegram, nexus: Nexus, clock: FakeClock
) -> None:
    await beta_brand(nexus, tg)
    beta_account = await account_of(nexus, BETA_CHANNEL)
    main_account = await account_of(nexus, CHANNEL)

    async def broken(account: Account, reason: str) -> None:
        async with nexus.sessions() as session:
            await repo.set_account_health(
                session, account.id, last_error=reason, checked_at=clock.now()
            )
            await session.commit()

    await broken(beta_account, "beta token revoked")
    await broken(main_account, "main token revoked")
    assert await nexus.alerts.run_checks() == 2
    beta_alert = await tg.wait_message(BETA_OWNER, lambda m: "beta token revoked" in m.text)
    main_alert = await tg.wait_message(OWNER, lambda m: "main token revoked" in m.text)
    mute_beta = button(beta_alert, "Mute 24 h")
    assert MuteCb.unpack(mute_beta).brand != 0

    # Main's owner forges Beta's mute button under his own alert: refused, nothing muted
    answer = await tg.user_taps(OWNER, main_alert.message_id, mute_beta, force=True)
    await tg.wait_for(lambda: answer in tg.callback_answers)
    assert "Only an owner of Beta" in tg.callback_answers[answer]["text"]
    await tg.user_taps(BETA_OWNER, beta_alert.message_id, mute_beta)
    await tg.wait_message(BETA_OWNER, lambda m: "Muted until" in m.text)

    clock.advance(hours=2)  # past the cooldown: both accounts are still broken
    assert await nexus.alerts.run_checks() == 1  # Main's again; Beta's is muted
    await tg.wait_for(lambda: sum("main token revoked" in t for t in texts(tg, OWNER)) == 2)
    assert sum("beta token revoked" in t for t in texts(tg, BETA_OWNER)) == 1
    async with nexus.sessions() as session:  # the mute is Beta's, not the kind's everywhere
        muted = {
            state.key
            for state in await session.scalars(select(AlertState))
            if state.muted_until is not None
        }
    assert muted == {f"{AlertKind.AUTH.value}@{MuteCb.unpack(mute_beta).brand}"}


# --- the daily digest --------------------------------------------------------------------------


async def published(
    app: Nexus,
    brand_id: int,
    handle: str,
    when: datetime,
    url: str,
    *,
    text: str = "t",
    evergreen: bool = False,
) -> None:
    account = await account_of(app, handle)
    async with app.sessions() as session:
        post = Post(
            brand_id=brand_id,
            author_id=OWNER,
            brief="b",
            text=text,
            status=PostStatus.PUBLISHED,
            published_at=when,
            evergreen=evergreen,
        )
        session.add(post)
        await session.flush()
        session.add(
            Publication(
                post_id=post.id,
                account_id=account.id,
                text="t",
                status=PublicationStatus.PUBLISHED,
                published_at=when,
                url=url,
                likes=3,
            )
        )
        await session.commit()


def digests(tg: FakeTelegram, person: int) -> list[FakeMessage]:
    return [m for m in tg.messages(person) if "Digest for" in m.text]


async def test_each_brand_has_its_digest_at_its_time_once_for_each_member(
    tg: FakeTelegram, nexus_factory: StartNexus, clock: FakeClock
) -> None:
    app = await nexus_factory(NEXUS_DIGEST_AT="09:30")  # Main: 09:30 UTC
    beta = await beta_brand(app, tg)  # Beta: 18:00 in Tokyo, 09:00 UTC
    async with app.sessions() as session:  # Beta's viewer also watches Main
        session.add(Membership(brand_id=FIRST_BRAND_ID, user_id=BETA_VIEWER, role=Role.VIEWER))
        await session.commit()
    yesterday = datetime(2026, 11, 21, 6, 0, tzinfo=UTC)  # the 21st both in Tokyo and UTC
    await published(app, FIRST_BRAND_ID, CHANNEL, yesterday, "https://t.me/nexus_channel/7")
    await published(app, beta, BETA_CHANNEL, yesterday, "https://t.me/beta_channel/3")

    assert clock.now() == datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    assert await app.digests.run_due() == 4  # Beta's four people; Main's time has not come
    for person in BETA_PEOPLE:
        [digest] = digests(tg, person)
        assert "Sat 21 Nov 2026" in digest.text and "Published: 1 (telegram 1)" in digest.text
        assert "Daily at 18:00 (Asia/Tokyo)" in digest.text
        links = [e.get("url") for e in digest.entities]
        assert "https://t.me/beta_channel/3" in links
        assert "https://t.me/nexus_channel/7" not in links  # never another brand's posts
    assert digests(tg, BETA_VIEWER)[0].text.startswith("🏷 Beta\n")
    assert "🏷" not in digests(tg, BETA_OWNER)[0].text
    assert digests(tg, OWNER) == []
    assert await app.digests.run_due() == 0  # once a day

    clock.advance(minutes=30)  # 09:30 UTC: Main's
    assert await app.digests.run_due() == 2  # its owner, and Beta's viewer who watches it too
    [main] = digests(tg, OWNER)
    assert "https://t.me/nexus_channel/7" in [e.get("url") for e in main.entities]
    assert "beta_channel" not in json.dumps(main.entities)
    watched = digests(tg, BETA_VIEWER)
    assert len(watched) == 2 and watched[1].text.startswith("🏷 Main\n")
    assert await app.digests.run_due() == 0


async def test_digest_time_is_the_brands_and_only_its_owner_moves_it(
    tg: FakeTelegram, nexus: Nexus
) -> None:
    beta = await beta_brand(nexus, tg)
    await tg.user_sends(BETA_VIEWER, "/digest at 07:00")
    await tg.wait_message(BETA_VIEWER, lambda m: "only an owner can move it" in m.text)
    await tg.user_sends(BETA_VIEWER, "/digest off")  # but their own digests are theirs
    await tg.wait_message(BETA_VIEWER, lambda m: "digest is off" in m.text)
    await tg.user_sends(BETA_OWNER, "/digest at 07:00")
    await tg.wait_message(BETA_OWNER, lambda m: "comes at 07:00 (Asia/Tokyo)" in m.text)
    async with nexus.sessions() as session:
        brand = await teams.get_brand(session, beta)
        main = await teams.get_brand(session, FIRST_BRAND_ID)
        viewer = await session.get(User, BETA_VIEWER)
        assert brand is not None and brand.digest_at == "07:00"
        assert main is not None and main.digest_at is None  # the other brand is untouched
        assert viewer is not None and not viewer.digest_enabled


# --- automation --------------------------------------------------------------------------------

MAIN_RULE = """
- name: main-release
  event: github.release.*
  actions:
    - {type: draft, template: "Main: {payload.release.name}"}
"""

BETA_RULES = """
- name: beta-release
  event: github.release.*
  actions:
    - {type: draft, template: "Beta ships {payload.release.name}"}
    - {type: notify, template: "Beta released {payload.release.tag_name}"}
"""

RELEASE = {"action": "published", "release": {"tag_name": "v9", "name": "Rockets"}}


async def test_a_sources_events_run_its_brands_rules_and_reach_its_owners_and_editors(
    tg: FakeTelegram, nexus: Nexus
) -> None:
    beta = await beta_brand(nexus, tg, reviews=False)
    async with nexus.sessions() as session:
        await rulebook.import_rules(session, MAIN_RULE)
    async with nexus.sessions() as session:
        await rulebook.import_rules(session, BETA_RULES)
        rule = await session.scalar(select(Rule).where(Rule.name == "beta-release"))
        assert rule is not None
        rule.brand_id = beta
        source, _secret = await source_service.add_webhook(session, nexus.vault, "github", "b")
        source.brand_id = beta
        await session.commit()
        event = Event(
            source_id=source.id, external_id="d-1", type="github.release.published", payload=""
        )
        event.payload = json.dumps(RELEASE)
        session.add(event)
        await session.commit()
        event_id, rule_id = event.id, rule.id

    before = mark(tg)
    assert await nexus.automation.process(event_id)
    for person in (BETA_OWNER, BETA_EDITOR):
        preview = await tg.wait_message(person, is_preview)
        assert "Beta ships Rockets" in preview.text and "→ Telegram Beta" in preview.text
        await tg.wait_message(person, lambda m: m.text == "Beta released v9")
    nothing_for(tg, (OWNER, BETA_REVIEWER, BETA_VIEWER), since=before)  # review has its own way
    async with nexus.sessions() as session:
        [post] = (await session.scalars(select(Post))).all()
        assert post.brand_id == beta and post.author_id == BETA_OWNER
        assert [v.account.handle for v in post.variants] == [BETA_CHANNEL]
        runs = (await session.scalars(select(RuleRun))).all()
        assert [run.rule_id for run in runs] == [rule_id]  # Main's rule never saw the event


async def test_an_automation_draft_shown_to_several_is_decided_on_the_tapped_copy(
    tg: FakeTelegram, nexus: Nexus
) -> None:
    beta = await beta_brand(nexus, tg, reviews=False)
    async with nexus.sessions() as session:
        await rulebook.import_rules(session, BETA_RULES)
        rule = await session.scalar(select(Rule).where(Rule.name == "beta-release"))
        assert rule is not None
        rule.brand_id = beta
        source, _secret = await source_service.add_webhook(session, nexus.vault, "github", "b")
        source.brand_id = beta
        event = Event(
            source_id=source.id,
            external_id="d-1",
            type="github.release.published",
            payload=json.dumps(RELEASE),
        )
        session.add(event)
        await session.commit()
        event_id = event.id
    assert await nexus.automation.process(event_id)
    mine = await tg.wait_message(BETA_OWNER, is_preview)
    theirs = await tg.wait_message(BETA_EDITOR, is_preview)

    await tg.user_taps(BETA_OWNER, mine.message_id, button(mine, "Approve"))
    await tg.wait_message(BETA_CHANNEL)
    record = await tg.wait_message(
        BETA_OWNER, lambda m: m.message_id == mine.message_id and "is published" in m.text
    )
    assert record.edited  # the copy the owner tapped became the record, no second message
    assert sum("is published" in text for text in texts(tg, BETA_OWNER)) == 1
    await tg.wait_message(BETA_EDITOR, lambda m: "is published" in m.text)  # told anew
    assert not tg.messages(BETA_EDITOR)[0].edited  # their copy was left alone
    assert tg.messages(BETA_EDITOR)[0].message_id == theirs.message_id


async def test_a_failing_source_is_reported_to_its_brands_owners(
    tg: FakeTelegram, nexus: Nexus
) -> None:
    beta = await beta_brand(nexus, tg)
    async with nexus.sessions() as session:
        source, _secret = await source_service.add_webhook(session, nexus.vault, "github", "b")
        source.brand_id = beta
        event = Event(source_id=source.id, external_id="x", type="github.push", payload="{no")
        session.add(event)
        await session.commit()
        event_id = event.id
    before = mark(tg)
    assert await nexus.automation.process(event_id)
    alert = await tg.wait_message(BETA_OWNER, lambda m: "not JSON" in m.text)
    assert "Automation" in alert.text
    nothing_for(tg, (OWNER, BETA_EDITOR, BETA_REVIEWER, BETA_VIEWER), since=before)


# --- learning ----------------------------------------------------------------------------------


async def test_each_brand_learns_from_its_own_decisions(
    tg: FakeTelegram, nexus: Nexus, clock: FakeClock
) -> None:
    beta = await beta_brand(nexus, tg)
    async with nexus.sessions() as session:
        for n in range(4):  # Beta's editor takes the emoji out of every draft
            text = f"Our launch day is here, come and see number {n}"
            post = await repo.create_draft(
                session,
                brand_id=beta,
                author_id=BETA_EDITOR,
                brief="b",
                text=f"{text} 🎉",
                offline=False,
            )
            await learning.record_decision(
                session, post, DecisionKind.EDITED, after=text, ai_drafted=True, at=clock.now()
            )
        await session.commit()
    learned = await learn_due(nexus.sessions, OfflineDrafter(), clock.now() + timedelta(days=2))
    assert set(learned) == {beta}  # Main made no decisions: nothing to learn there
    async with nexus.sessions() as session:
        assert [p.text for p in await learning.active_preferences(session, beta)] == ["No emoji"]
        assert await learning.active_preferences(session, FIRST_BRAND_ID) == []


# --- series, stats ------------------------------------------------------------------------------


async def test_a_repeating_posts_next_occurrence_stays_in_its_brand(
    tg: FakeTelegram, nexus: Nexus, clock: FakeClock
) -> None:
    beta = await beta_brand(nexus, tg)
    daily = RepeatRule(kind="daily", start=clock.now(), tz="Asia/Tokyo")
    async with nexus.sessions() as session:
        post = await repo.create_draft(
            session, brand_id=beta, author_id=BETA_EDITOR, brief="b", text="Tip", offline=True
        )
        post.repeat_rule = daily.to_json()
        await session.commit()
        assert await schedule_post(session, post, clock.now())
    await nexus.dispatcher.run_once()
    await nexus.dispatcher.run_once()
    assert len(tg.messages(BETA_CHANNEL)) == 1
    async with nexus.sessions() as session:
        nxt = await session.scalar(select(Post).where(Post.series_id == post.id))
        assert nxt is not None and nxt.status == PostStatus.SCHEDULED
        assert nxt.brand_id == beta  # not the first brand's, whose channel it would go to
        targets = await session.scalars(select(Publication).where(Publication.post_id == nxt.id))
        assert [p.account.handle for p in targets] == [BETA_CHANNEL]

    clock.advance(days=1)
    await nexus.dispatcher.run_once()
    await nexus.dispatcher.run_once()
    assert len(tg.messages(BETA_CHANNEL)) == 2 and tg.messages(CHANNEL) == []


async def test_stats_count_the_current_brands_posts_only(
    tg: FakeTelegram, nexus: Nexus, clock: FakeClock
) -> None:
    beta = await beta_brand(nexus, tg)
    day = clock.now() - timedelta(days=1)
    await published(nexus, FIRST_BRAND_ID, CHANNEL, day, "https://t.me/nexus_channel/1")
    await published(nexus, FIRST_BRAND_ID, CHANNEL, day, "https://t.me/nexus_channel/2")
    await published(nexus, beta, BETA_CHANNEL, day, "https://t.me/beta_channel/1")

    await tg.user_sends(BETA_OWNER, "/stats")
    beta_stats = await tg.wait_message(BETA_OWNER, lambda m: "Posts:" in m.text)
    assert "Posts: 1 (1 across targets)" in beta_stats.text
    await tg.user_sends(OWNER, "/stats")
    main_stats = await tg.wait_message(OWNER, lambda m: "Posts:" in m.text)
    assert "Posts: 2 (2 across targets)" in main_stats.text


async def test_claude_drafts_for_a_brand_in_its_own_voice_and_preferences(
    tg: FakeTelegram, ai: FakeAnthropic, nexus_factory: StartNexus, clock: FakeClock
) -> None:
    app = await nexus_factory(ANTHROPIC_API_KEY=ai.api_key, ANTHROPIC_BASE_URL=ai.base_url)
    beta = await beta_brand(app, tg, reviews=False)
    async with app.sessions() as session:
        session.add(BrandVoice(id=FIRST_BRAND_ID, tone="formal banking tone"))
        session.add(BrandVoice(id=beta, tone="playful rocket tone"))
        await learning.replace_preferences(
            session,
            ["Never mention bank rates"],
            source="x",
            now=clock.now(),
            brand_id=FIRST_BRAND_ID,
        )
        await learning.replace_preferences(
            session, ["Always end with a rocket"], source="x", now=clock.now(), brand_id=beta
        )
        await rulebook.import_rules(session, BETA_RULES)
        rule = await session.scalar(select(Rule).where(Rule.name == "beta-release"))
        assert rule is not None
        rule.brand_id = beta
        source, _secret = await source_service.add_webhook(session, app.vault, "github", "b")
        source.brand_id = beta
        event = Event(
            source_id=source.id,
            external_id="d-1",
            type="github.release.published",
            payload=json.dumps(RELEASE),
        )
        session.add(event)
        await session.commit()
        event_id = event.id

    ai.reply_tool({"text": "Rockets are go 🚀", "hashtags": []})
    assert await app.automation.process(event_id)
    await tg.wait_message(BETA_OWNER, is_preview)
    asked = json.dumps(ai.requests[-1])
    assert "playful rocket tone" in asked and "Always end with a rocket" in asked
    assert "banking" not in asked and "bank rates" not in asked  # never another brand's
    async with app.sessions() as session:
        [usage] = (await session.scalars(select(AiUsage))).all()
        assert usage.brand_id == beta  # what Beta's drafting cost is Beta's


async def test_an_interrupted_draft_names_its_brand_for_someone_in_two(
    tg: FakeTelegram, nexus: Nexus
) -> None:
    beta = await beta_brand(nexus, tg)
    async with nexus.sessions() as session:
        session.add(Membership(brand_id=FIRST_BRAND_ID, user_id=BETA_EDITOR, role=Role.EDITOR))
        for author, brief in ((BETA_EDITOR, "rocket sale"), (BETA_OWNER, "moon trip")):
            session.add(
                DraftJob(
                    brand_id=beta,
                    kind="new",
                    status=DraftJobStatus.INTERRUPTED,
                    chat_id=author,
                    author_id=author,
                    brief=brief,
                )
            )
        await session.commit()
    assert await nexus.drafting.report_interrupted(nexus.bot) == 2
    two = await tg.wait_message(BETA_EDITOR, lambda m: "was interrupted" in m.text)
    assert two.text.startswith("🏷 Beta\n") and "rocket sale" in two.text
    one = await tg.wait_message(BETA_OWNER, lambda m: "was interrupted" in m.text)
    assert "🏷" not in one.text and "moon trip" in one.text


async def test_each_brand_recycles_its_own_evergreen_posts_into_its_own_slots(
    tg: FakeTelegram, nexus: Nexus, clock: FakeClock
) -> None:
    beta = await beta_brand(nexus, tg)
    long_ago = clock.now() - timedelta(days=60)
    main = FIRST_BRAND_ID
    await published(nexus, main, CHANNEL, long_ago, "u1", text="Main guide", evergreen=True)
    await published(nexus, beta, BETA_CHANNEL, long_ago, "u2", text="Beta guide", evergreen=True)
    gap = timedelta(days=nexus.settings.evergreen_gap_days)

    copies = await recycle_evergreen_everywhere(
        nexus.sessions, clock, default_tz=nexus.settings.tz, min_gap=gap
    )
    assert sorted((c.brand_id, c.text) for c in copies) == [
        (FIRST_BRAND_ID, "Main guide"),
        (beta, "Beta guide"),
    ]
    assert (
        await recycle_evergreen_everywhere(
            nexus.sessions, clock, default_tz=nexus.settings.tz, min_gap=gap
        )
        == []
    )  # each brand's slot is filled once
    for when in sorted(c.scheduled_at for c in copies if c.scheduled_at is not None):
        clock.current = when  # each in its brand's slot, in its brand's zone
        await nexus.dispatcher.run_once()
        await nexus.dispatcher.run_once()
    assert [m.text for m in tg.messages(CHANNEL)] == ["Main guide"]
    assert [m.text for m in tg.messages(BETA_CHANNEL)] == ["Beta guide"]
