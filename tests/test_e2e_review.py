"""The review step end to end: the real app long-polls the loopback Telegram, where a brand's
team (an owner, an editor, two reviewers, a viewer) and a review group talk to it; the fake
clock drives the review timeout. Each test asserts what each person sees in their own chat, in
the group and in the channel."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy import select

from bot.app import Nexus
from storage import teams
from storage.models import Brand, Membership, Post, PostStatus, ReviewVote, Role
from tests.clock import FakeClock
from tests.conftest import CHANNEL, OWNER
from tests.fakes.telegram import FakeMessage, FakeTelegram
from tests.test_automation import add_rules, store_event, webhook_source
from tests.test_e2e_drafts import button, is_preview, tap

StartNexus = Callable[..., Awaitable[Nexus]]

EDITOR, RITA, ROB, VIEWER, STRANGER = 2001, 3001, 3002, 4001, 9999
NAMES = {EDITOR: "Eddie", RITA: "Rita", ROB: "Rob", VIEWER: "Vera", STRANGER: "Mallory"}
ROLES = {EDITOR: Role.EDITOR, RITA: Role.REVIEWER, ROB: Role.REVIEWER, VIEWER: Role.VIEWER}


def is_card(message: FakeMessage) -> bool:
    return "For review" in message.text


async def with_team(tg: FakeTelegram, app: Nexus, **brand: object) -> None:
    """The editor, two reviewers and a viewer join brand 1 (as an accepted invite makes them),
    each having opened a private chat with the bot; ``brand`` sets its review settings."""
    for user_id, name in NAMES.items():
        tg.add_user(user_id, name)
    async with app.sessions() as session:
        for user_id, role in ROLES.items():
            session.add(Membership(brand_id=1, user_id=user_id, role=role))
        row = await session.get(Brand, 1)
        assert row is not None
        for field, value in brand.items():
            setattr(row, field, value)
        await session.commit()


async def group_of_team(tg: FakeTelegram) -> int:
    """A review group with the owner, the reviewers, the editor and a stranger in it, bound
    by the owner."""
    group = tg.add_group("Reviews", [OWNER, EDITOR, RITA, ROB, STRANGER])
    await tg.user_sends(OWNER, "/review here", in_chat=group)
    await tg.wait_message(group, lambda m: "now reviews the drafts of" in m.text)
    return group


async def submitted_by_editor(tg: FakeTelegram, brief: str) -> FakeMessage:
    """The editor drafts and taps Approve & publish; the preview says it went to review."""
    sent = await tg.user_sends(EDITOR, brief)
    preview = await tg.wait_message(
        EDITOR, lambda m: is_preview(m) and m.message_id > sent["message_id"]
    )
    await tg.user_taps(EDITOR, preview.message_id, button(preview, "Approve"))
    return await tg.wait_message(
        EDITOR, lambda m: m.message_id == preview.message_id and "went to review" in m.text
    )


async def tap_card(tg: FakeTelegram, user_id: int, card: FakeMessage, label: str) -> dict:
    """A tap on a review card (in the group, or in the user's chat); the tap's answer."""
    group = card.chat_id if card.chat_id != user_id else None
    query = await tg.user_taps(user_id, card.message_id, button(card, label), in_chat=group)
    await tg.wait_for(lambda: query in tg.callback_answers)
    return tg.callback_answers[query]


async def post_row(app: Nexus, post_id: int = 1) -> Post:
    async with app.sessions() as session:
        post = await session.get(Post, post_id)
        assert post is not None
        return post


async def test_two_approvals_in_the_group_publish_the_editors_draft(
    tg: FakeTelegram, nexus: Nexus
) -> None:
    await with_team(tg, nexus, approvals_required=2)
    group = await group_of_team(tg)

    notice = await submitted_by_editor(tg, "launch of the dark mode")
    assert "needs 2 approvals" in notice.text and notice.buttons() == []
    card = await tg.wait_message(group, is_card)
    assert "from Eddie" in card.text and "dark mode" in card.text.lower()
    assert "Approvals 0/2: nobody yet" in card.text
    assert "the reviewers are reminded" in card.text  # the brand's fallback, stated
    assert [label for label, _ in card.buttons()] == [
        "✅ Approve",
        "✏️ Request changes",
        "📝 Edit",
        "🗑 Reject",
    ]
    # the card is in the group only: nobody's private chat gets it, and nothing went out
    for person in (OWNER, EDITOR, RITA, ROB, VIEWER):
        assert not any(is_card(m) for m in tg.messages(person))
    assert tg.messages(CHANNEL) == []

    answer = await tap_card(tg, RITA, card, "Approve")
    assert answer["text"] == "✅ Your approval counts: 1 of 2."
    card = await tg.wait_message(group, lambda m: "Approvals 1/2: Rita" in m.text)
    assert (await tap_card(tg, RITA, card, "Approve"))["text"].startswith("You already answered")
    refused = await tap_card(tg, STRANGER, card, "Approve")  # in the group, not in the brand
    assert str(STRANGER) in refused["text"] and refused.get("show_alert")
    editor = await tap_card(tg, EDITOR, card, "Approve")  # an editor is no reviewer
    assert "Only reviewers and owners" in editor["text"]
    assert (await post_row(nexus)).status == PostStatus.REVIEW

    await tap_card(tg, ROB, card, "Approve")
    card = await tg.wait_message(group, lambda m: "Approved" in m.text)
    assert "Rita, Rob" in card.text and card.buttons() == []
    told = await tg.wait_message(EDITOR, lambda m: "was approved by Rita, Rob" in m.text)
    assert "right after approval" in told.text

    await nexus.dispatcher.run_once()
    published = await tg.wait_message(CHANNEL)
    assert "dark mode" in published.text.lower()
    # the editor's preview became the post's record, as for an owner's Approve & publish
    await tg.wait_message(
        EDITOR, lambda m: m.message_id == notice.message_id and "is published" in m.text
    )
    async with nexus.sessions() as session:
        votes = (await session.scalars(select(ReviewVote))).all()
    assert sorted(v.reviewer_id for v in votes) == [RITA, ROB]


async def test_without_a_group_reviewers_get_cards_and_can_ask_for_changes(
    tg: FakeTelegram, nexus: Nexus
) -> None:
    await with_team(tg, nexus)
    await submitted_by_editor(tg, "webinar next week")
    rita = await tg.wait_message(RITA, is_card)
    rob = await tg.wait_message(ROB, is_card)
    assert not any(is_card(m) for m in tg.messages(OWNER) + tg.messages(VIEWER))

    await tap_card(tg, RITA, rita, "Request changes")
    await tg.wait_message(RITA, lambda m: "Send what should change in draft #1" in m.text)
    await tg.user_sends(RITA, "Say which day, and add the sign-up link")
    await tg.wait_message(RITA, lambda m: "went back to its author" in m.text)

    told = await tg.wait_message(EDITOR, lambda m: "Rita asked for changes" in m.text)
    assert "Say which day, and add the sign-up link" in told.text
    fresh = await tg.wait_message(
        EDITOR, lambda m: is_preview(m) and m.message_id > told.message_id
    )
    assert "Draft #1" in fresh.text  # back in the editor's drafts, ready to edit
    for chat in (RITA, ROB):
        await tg.wait_message(
            chat,
            lambda m: (
                m.message_id in (rita.message_id, rob.message_id)
                and "Changes requested" in m.text
                and m.buttons() == []
            ),
        )
    assert (await post_row(nexus)).status == PostStatus.DRAFT

    # approving it again goes back to review, as a new round
    await tg.user_taps(EDITOR, fresh.message_id, button(fresh, "Approve"))
    await tg.wait_message(RITA, lambda m: is_card(m) and m.message_id > rita.message_id)


async def test_a_reviewer_edits_before_approving_and_earlier_approvals_no_longer_count(
    tg: FakeTelegram, nexus: Nexus
) -> None:
    await with_team(tg, nexus, approvals_required=2)
    group = await group_of_team(tg)
    await submitted_by_editor(tg, "pricing update")
    card = await tg.wait_message(group, is_card)
    await tap_card(tg, RITA, card, "Approve")
    card = await tg.wait_message(group, lambda m: "Approvals 1/2" in m.text)
    old_approve = button(card, "Approve")

    answer = await tap_card(tg, ROB, card, "Edit")
    assert "private chat" in answer["text"]
    await tg.wait_message(ROB, lambda m: "Send the new text of draft #1" in m.text)
    await tg.user_sends(ROB, "Pricing: the Pro plan is now 9 € a month.")
    await tg.wait_message(ROB, lambda m: "approvals start over" in m.text)

    card = await tg.wait_message(group, lambda m: "Edited during review" in m.text)
    assert "Approvals 0/2" in card.text and "9 € a month" in card.text
    stale = await tg.user_taps(RITA, card.message_id, old_approve, in_chat=group, force=True)
    await tg.wait_for(lambda: stale in tg.callback_answers)
    assert "changed since this card" in tg.callback_answers[stale]["text"]

    await tap_card(tg, RITA, card, "Approve")
    await tap_card(tg, ROB, card, "Approve")
    await tg.wait_message(group, lambda m: "Approved" in m.text)
    await nexus.dispatcher.run_once()
    assert "9 € a month" in (await tg.wait_message(CHANNEL)).text


async def test_a_reason_is_a_reply_to_the_prompt_and_the_group_talk_is_left_alone(
    tg: FakeTelegram, nexus: Nexus
) -> None:
    await with_team(tg, nexus)
    group = await group_of_team(tg)
    await submitted_by_editor(tg, "office move")
    card = await tg.wait_message(group, is_card)

    await tap_card(tg, ROB, card, "Reject")
    card = await tg.wait_message(group, lambda m: "Rejected" in m.text and "Rob" in m.text)
    assert card.buttons() == []
    await tg.wait_message(EDITOR, lambda m: "Rob rejected draft #1" in m.text)
    assert (await post_row(nexus)).status == PostStatus.REJECTED

    await submitted_by_editor(tg, "team offsite")
    card = await tg.wait_message(group, lambda m: is_card(m) and "#2" in m.text)
    await tap_card(tg, RITA, card, "Request changes")
    prompt = await tg.wait_message(group, lambda m: "Rita, reply to this message" in m.text)
    before = len(tg.messages(group))
    await tg.user_sends(RITA, "lunch anyone?", in_chat=group)  # talk, not the reason
    await tg.user_sends(EDITOR, "a brief typed in the group", in_chat=group)
    await tg.user_sends(RITA, "Name the venue", in_chat=group, reply_to=prompt.message_id)
    await tg.wait_message(EDITOR, lambda m: "Rita asked for changes" in m.text)
    group_texts = [m.text for m in tg.messages(group)[before:]]
    assert not any("Draft #" in text and "→" in text for text in group_texts)  # no brief
    async with nexus.sessions() as session:
        posts = (await session.scalars(select(Post))).all()
    assert len(posts) == 2  # nothing said in the group became a draft


async def test_review_here_needs_an_owner_in_a_group(tg: FakeTelegram, nexus: Nexus) -> None:
    await with_team(tg, nexus)
    group = tg.add_group("Writers", [OWNER, EDITOR])
    await tg.user_sends(EDITOR, "/review here", in_chat=group)
    await tg.wait_message(group, lambda m: "Only an owner of" in m.text)
    await tg.user_sends(OWNER, "/review here")
    await tg.wait_message(OWNER, lambda m: "inside the Telegram group" in m.text)
    async with nexus.sessions() as session:
        brand = await session.get(Brand, 1)
        assert brand is not None and brand.review_chat_id is None

    # a group the bot is not in never hears the command
    outside = tg.add_group("Elsewhere", [OWNER], bot_member=False)
    await tg.user_sends(OWNER, "/review here", in_chat=outside)
    await tg.user_sends(OWNER, "/review here", in_chat=group)
    await tg.wait_message(group, lambda m: "now reviews the drafts of" in m.text)
    async with nexus.sessions() as session:
        brand = await session.get(Brand, 1)
        assert brand is not None and brand.review_chat_id == group


async def test_review_settings_are_buttons_for_owners(tg: FakeTelegram, nexus: Nexus) -> None:
    await with_team(tg, nexus)
    await tg.user_sends(OWNER, "/review")
    settings = await tg.wait_message(OWNER, lambda m: "Review in" in m.text)
    assert "Approvals needed: 1" in settings.text and "Timeout: 24 h" in settings.text
    await tap(tg, settings, "✅ 3")
    settings = await tg.wait_message(OWNER, lambda m: "Approvals needed: 3" in m.text)
    await tap(tg, settings, "⏳ 4 h")
    settings = await tg.wait_message(OWNER, lambda m: "Timeout: 4 h" in m.text)
    await tap(tg, settings, "Publish")
    settings = await tg.wait_message(OWNER, lambda m: "goes out at its time anyway" in m.text)
    await tap(tg, settings, "Editors publish: off")
    settings = await tg.wait_message(
        OWNER, lambda m: "Editors publish without review: yes" in m.text
    )
    async with nexus.sessions() as session:
        brand = await session.get(Brand, 1)
        assert brand is not None
        assert (brand.approvals_required, brand.review_timeout_minutes) == (3, 240)
        assert (brand.review_fallback, brand.editors_publish) == ("publish", True)
        actions = [e.action for e in await teams.audit_page(session, 1, 10)]
    assert actions.count("review.settings") == 4

    # a reviewer sees the settings without buttons; a forged button changes nothing
    await tg.user_sends(RITA, "/review")
    shown = await tg.wait_message(RITA, lambda m: "Review in" in m.text)
    assert shown.buttons() == [] and "Only owners" in shown.text
    forged = await tg.user_taps(RITA, shown.message_id, button(settings, "✅ 1"), force=True)
    await tg.wait_for(lambda: forged in tg.callback_answers)
    assert "Only owners" in tg.callback_answers[forged]["text"]
    async with nexus.sessions() as session:
        brand = await session.get(Brand, 1)
        assert brand is not None and brand.approvals_required == 3

    # with editors allowed to publish, an editor's approval publishes at once
    sent = await tg.user_sends(EDITOR, "no review needed")
    preview = await tg.wait_message(
        EDITOR, lambda m: is_preview(m) and m.message_id > sent["message_id"]
    )
    await tg.user_taps(EDITOR, preview.message_id, button(preview, "Approve"))
    await nexus.dispatcher.run_once()
    await tg.wait_message(CHANNEL)
    assert not any(is_card(m) for m in tg.messages(RITA))


async def test_an_editors_schedule_keeps_its_time_through_review(
    tg: FakeTelegram, nexus: Nexus, clock: FakeClock
) -> None:
    await with_team(tg, nexus)
    sent = await tg.user_sends(EDITOR, "weekend sale")
    preview = await tg.wait_message(
        EDITOR, lambda m: is_preview(m) and m.message_id > sent["message_id"]
    )
    await tg.user_taps(EDITOR, preview.message_id, button(preview, "Schedule"))
    menu = await tg.wait_message(EDITOR, lambda m: "When should" in m.text)
    await tg.user_taps(EDITOR, menu.message_id, button(menu, "Tomorrow 09:00"))
    await tg.wait_message(EDITOR, lambda m: "went to review" in m.text)
    card = await tg.wait_message(RITA, is_card)
    assert "Goes out: Mon 23 Nov 2026, 09:00" in card.text

    await tap_card(tg, RITA, card, "Approve")
    await tg.wait_message(EDITOR, lambda m: "approved by Rita" in m.text)
    post = await post_row(nexus)
    assert post.status == PostStatus.SCHEDULED and post.scheduled_at is not None
    assert post.scheduled_at.hour == 9 and post.scheduled_at.day == 23
    await nexus.dispatcher.run_once()
    assert tg.messages(CHANNEL) == []
    clock.advance(days=1)
    await nexus.dispatcher.run_once()
    await tg.wait_message(CHANNEL)


async def run_timeouts(app: Nexus) -> None:
    assert app.runtime is not None
    await app.runtime.periodic["reviews"][1]()


async def test_timeout_fallbacks_remind_skip_and_publish(
    tg: FakeTelegram, nexus: Nexus, clock: FakeClock
) -> None:
    await with_team(tg, nexus, review_timeout_minutes=60)
    group = await group_of_team(tg)
    await submitted_by_editor(tg, "first reminder")
    card = await tg.wait_message(group, is_card)

    clock.advance(minutes=59)
    await run_timeouts(nexus)
    assert not any("still waiting" in m.text for m in tg.messages(group))
    clock.advance(minutes=1)
    await run_timeouts(nexus)
    await tg.wait_message(group, lambda m: "still waiting for your review" in m.text)
    await run_timeouts(nexus)  # reminded once per timeout, not every minute
    assert sum("still waiting" in m.text for m in tg.messages(group)) == 1
    assert (await post_row(nexus)).status == PostStatus.REVIEW

    async with nexus.sessions() as session:
        brand = await session.get(Brand, 1)
        assert brand is not None
        brand.review_fallback = "skip"
        await session.commit()
    clock.advance(minutes=60)
    await run_timeouts(nexus)
    await tg.wait_message(
        group, lambda m: m.message_id == card.message_id and "Not reviewed in time" in m.text
    )
    await tg.wait_message(EDITOR, lambda m: "is back in your drafts" in m.text)
    assert (await post_row(nexus)).status == PostStatus.DRAFT

    async with nexus.sessions() as session:
        brand = await session.get(Brand, 1)
        assert brand is not None
        brand.review_fallback = "publish"
        await session.commit()
    await submitted_by_editor(tg, "second goes out anyway")
    second = await tg.wait_message(group, lambda m: is_card(m) and "#2" in m.text)
    assert "it goes out at its time anyway" in second.text
    clock.advance(minutes=61)
    await run_timeouts(nexus)
    await tg.wait_message(EDITOR, lambda m: "as the brand wants, it goes out anyway" in m.text)
    await nexus.dispatcher.run_once()
    assert "second goes out anyway" in (await tg.wait_message(CHANNEL)).text.lower()


async def test_automation_drafts_of_a_reviewing_brand_go_to_review(
    tg: FakeTelegram, nexus: Nexus, clock: FakeClock
) -> None:
    await with_team(tg, nexus)
    await add_rules(
        nexus,
        """
- name: release-draft
  event: github.release.*
  actions:
    - {type: draft, template: "Announce {payload.release.name}"}
- name: auto
  event: deploy.*
  actions:
    - {type: autopublish, template: "Deployed {payload.version}", targets: [telegram],
       delay: 30}
""",
    )
    source = await webhook_source(nexus)
    release = {"release": {"name": "Dark mode"}}
    await nexus.automation.process(
        await store_event(nexus, source, "github.release.published", release, "a")
    )
    card = await tg.wait_message(RITA, lambda m: is_card(m) and "Dark mode" in m.text)
    assert "from Nexus (automation)" in card.text
    assert not any(is_preview(m) for m in tg.messages(OWNER))  # the reviewers decide

    start = clock.now()
    await nexus.automation.process(
        await store_event(nexus, source, "deploy.done", {"version": "1.4"}, "b")
    )
    deploy = await tg.wait_message(RITA, lambda m: is_card(m) and "Deployed 1.4" in m.text)
    assert (await post_row(nexus, 2)).status == PostStatus.REVIEW
    await tap_card(
        tg, ROB, await tg.wait_message(ROB, lambda m: "Deployed 1.4" in m.text), "Approve"
    )
    post = await post_row(nexus, 2)
    assert post.status == PostStatus.SCHEDULED
    assert post.scheduled_at == start + timedelta(minutes=30)
    await tg.wait_message(
        RITA, lambda m: m.message_id == deploy.message_id and "Approved" in m.text
    )
    # the owner authored it: told of the outcome in their own chat
    await tg.wait_message(OWNER, lambda m: "was approved by Rob" in m.text)


async def test_a_reviewer_of_another_brand_cannot_answer(tg: FakeTelegram, nexus: Nexus) -> None:
    await with_team(tg, nexus)
    await submitted_by_editor(tg, "brand one news")
    card = await tg.wait_message(RITA, is_card)
    async with nexus.sessions() as session:
        other = await teams.create_brand(session, "Other", owner_id=STRANGER)
        assert other is not None
        await session.commit()
    await tg.user_sends(STRANGER, "/review")  # a member now, of another brand
    shown = await tg.wait_message(STRANGER, lambda m: "Review in Other" in m.text)
    forged = await tg.user_taps(STRANGER, shown.message_id, button(card, "Approve"), force=True)
    await tg.wait_for(lambda: forged in tg.callback_answers)
    assert "Only reviewers and owners of" in tg.callback_answers[forged]["text"]
    assert (await post_row(nexus)).status == PostStatus.REVIEW


async def test_a_brand_without_reviewers_asks_its_owners(tg: FakeTelegram, nexus: Nexus) -> None:
    await with_team(tg, nexus)
    async with nexus.sessions() as session:
        for reviewer in (RITA, ROB):
            assert await teams.remove_member(session, 1, reviewer)
        await session.commit()
    await submitted_by_editor(tg, "only owners here")
    card = await tg.wait_message(OWNER, is_card)
    await tap_card(tg, OWNER, card, "Approve")
    await tg.wait_message(EDITOR, lambda m: "was approved by Owner" in m.text)
    await nexus.dispatcher.run_once()
    await tg.wait_message(CHANNEL)
    async with nexus.sessions() as session:
        actions = [e.action for e in reversed(await teams.audit_page(session, 1, 10))]
    assert actions == ["review.submit", "review.approve"]  # who, when and what, for /log


async def test_a_group_reviews_one_brand(tg: FakeTelegram, nexus: Nexus) -> None:
    await with_team(tg, nexus)
    shared = tg.add_group("Shared", [OWNER, STRANGER])
    async with nexus.sessions() as session:
        assert await teams.create_brand(session, "Other", owner_id=STRANGER) is not None
        await session.commit()
    await tg.user_sends(STRANGER, "/review here", in_chat=shared)
    await tg.wait_message(shared, lambda m: "now reviews the drafts of Other" in m.text)
    # in Other's group, Main's owner is no member of the brand it reviews: ignored, nothing
    # bound, and nothing said there about either brand
    await tg.user_sends(OWNER, "/review here", in_chat=shared)

    # Other's owner lets the group go; then it can review Main
    await tg.user_sends(STRANGER, "/review")
    settings = await tg.wait_message(STRANGER, lambda m: "Review in Other" in m.text)
    assert "Review group: “Shared”" in settings.text
    async with nexus.sessions() as session:
        main = await session.get(Brand, 1)
        assert main is not None and main.review_chat_id is None
    assert [m.text for m in tg.messages(shared) if "Main" in m.text] == []
    await tg.user_taps(STRANGER, settings.message_id, button(settings, "Unbind"))
    await tg.wait_message(STRANGER, lambda m: "none: cards go to the reviewers'" in m.text)
    await tg.user_sends(OWNER, "/review here", in_chat=shared)
    await tg.wait_message(shared, lambda m: "now reviews the drafts of Main" in m.text)


async def test_cards_go_to_reviewers_when_the_bot_left_the_group(
    tg: FakeTelegram, nexus: Nexus
) -> None:
    await with_team(tg, nexus)
    group = await group_of_team(tg)
    tg.set_bot_member(group, False)
    await submitted_by_editor(tg, "the group is gone")
    await tg.wait_message(RITA, is_card)
    await tg.wait_message(ROB, is_card)


async def test_an_editors_approve_all_submits_each_planned_post(
    tg: FakeTelegram, nexus: Nexus
) -> None:
    await with_team(tg, nexus)
    sent = await tg.user_sends(EDITOR, "/plan v2.3 launch, next week, 2 posts")
    card = await tg.wait_message(
        EDITOR,
        lambda m: (
            m.message_id > sent["message_id"] and any("Approve all" in b for b, _ in m.buttons())
        ),
        timeout=10,
    )
    await tg.user_taps(EDITOR, card.message_id, button(card, "Approve all"))
    await tg.wait_message(
        EDITOR, lambda m: "went to review: each goes out at its planned" in m.text
    )
    await tg.wait_for(lambda: len([m for m in tg.messages(RITA) if is_card(m)]) == 2)
    cards = [m for m in tg.messages(RITA) if is_card(m)]
    assert all("Nov 2026" in c.text and "right after approval" not in c.text for c in cards)
    async with nexus.sessions() as session:
        posts = (await session.scalars(select(Post).order_by(Post.id))).all()
    assert [p.status for p in posts] == [PostStatus.REVIEW, PostStatus.REVIEW]
    assert all(p.scheduled_at == p.planned_at and p.planned_at is not None for p in posts)
    assert tg.messages(CHANNEL) == []


async def test_each_reviewer_reads_the_card_in_their_language(
    tg: FakeTelegram, nexus: Nexus
) -> None:
    await with_team(tg, nexus)
    tg.add_user(ROB, "Rob", "uk")  # as Telegram reports his language
    sent = await tg.user_sends(ROB, "/start")
    await tg.wait_message(ROB, lambda m: m.message_id > sent["message_id"])
    await submitted_by_editor(tg, "release notes")
    english = await tg.wait_message(RITA, is_card)
    ukrainian = await tg.wait_message(ROB, lambda m: "На перевірку" in m.text)
    assert "Approvals 0/1" in english.text and "Схвалень 0/1" in ukrainian.text
    assert [label for label, _ in ukrainian.buttons()][0] == "✅ Схвалити"
    await tap_card(tg, ROB, ukrainian, "Схвалити")
    await tg.wait_message(
        RITA, lambda m: m.message_id == english.message_id and "Approved by Rob" in m.text
    )
    await tg.wait_message(
        ROB, lambda m: m.message_id == ukrainian.message_id and "Схвалено" in m.text
    )
