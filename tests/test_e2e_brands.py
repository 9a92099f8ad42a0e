"""Brands and roles from the chat, through the real app long-polling the loopback Telegram (on
SQLite and PostgreSQL): each role against every command and every button; `/brand` listing,
switching and creating brands; the brand's time zone; the brand named on the preview only for
someone with several brands; and a member of one brand never seeing nor changing another's
drafts, accounts, rules or sources, however the buttons are forged."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiogram.filters.callback_data import CallbackData
from aiogram.types import Chat, Message, Update, User
from sqlalchemy import select

from bot.app import Nexus
from bot.middlewares import SessionMiddleware
from handlers import build_routers
from metrics.alerts import MUTE_DAYS
from scheduler.notify import AlertKind
from storage import repositories as repo
from storage import scope, teams
from storage.models import FIRST_BRAND_ID, Account, Brand, Membership, Role, Rule, Source
from storage.roles import Can, can
from tests.conftest import CHANNEL, OWNER
from tests.fakes.telegram import FakeMessage, FakeTelegram
from tests.test_e2e_drafts import button, preview_for, tap
from ui.callbacks import (
    AccountAct,
    AccountCb,
    BrandCb,
    DraftAct,
    DraftCb,
    DraftJobCb,
    DraftsPageCb,
    ImageAct,
    ImageCb,
    LearnAct,
    LearnCb,
    LinkAloneCb,
    MuteCb,
    OpenDraftCb,
    PlanAct,
    PlanCb,
    PlatformCb,
    PostAct,
    PostCb,
    PostStatsCb,
    PubAct,
    PubCb,
    QueuePageCb,
    RegenCb,
    RejectReason,
    RejectReasonCb,
    RetryDraftCb,
    RuleAct,
    RuleCb,
    ScheduleCb,
    SchedulePick,
    SourceAct,
    SourceCb,
    StatsCb,
    TakeDownAct,
    TakeDownCb,
    TimezoneCb,
    VariantAct,
    VariantCb,
    VoiceCb,
    VoiceField,
    VoiceWholeCb,
)

EDITOR, REVIEWER, VIEWER, OTHER = 2002, 2003, 2004, 3003
ROLES = {OWNER: Role.OWNER, EDITOR: Role.EDITOR, REVIEWER: Role.REVIEWER, VIEWER: Role.VIEWER}
REFUSED = "can't do this"
#: An id no row has: an allowed tap finds nothing and changes nothing.
NONE = 4242

#: Every command and plain message, with the capability it needs.
COMMANDS: list[tuple[str, Can]] = [
    ("/start", Can.VIEW),
    ("/help", Can.VIEW),
    ("/cancel", Can.VIEW),
    ("/brand", Can.VIEW),
    ("/queue", Can.VIEW),
    ("/stats", Can.VIEW),
    ("/digest", Can.VIEW),
    ("/drafts", Can.DRAFT),
    ("/new a post about green tea", Can.DRAFT),
    ("a post about black coffee", Can.DRAFT),
    ("/plan a week of tea", Can.DRAFT),
    ("/slots", Can.MANAGE),
    ("/voice", Can.MANAGE),
    ("/timezone", Can.MANAGE),
    ("/rules", Can.MANAGE),
    ("/sources", Can.MANAGE),
    ("/accounts", Can.MANAGE),
]

#: Every button action, with the capability it needs (ids of nothing: only the gate matters).
TAPS: list[tuple[CallbackData, Can]] = [
    *[(DraftCb(act=act, post=NONE, v=1), Can.DRAFT) for act in DraftAct],
    *[(VariantCb(act=act, post=NONE, v=1, acc=NONE), Can.DRAFT) for act in VariantAct],
    (RegenCb(post=NONE, preset=0), Can.DRAFT),
    *[(ImageCb(act=act, post=NONE, v=1, media=NONE), Can.DRAFT) for act in ImageAct],
    (RetryDraftCb(), Can.DRAFT),
    (LinkAloneCb(), Can.DRAFT),
    (OpenDraftCb(post=NONE), Can.DRAFT),
    (DraftsPageCb(page=0), Can.DRAFT),
    *[(ScheduleCb(post=NONE, pick=pick), Can.DRAFT) for pick in SchedulePick],
    *[(PostCb(act=act, post=NONE), Can.DRAFT) for act in PostAct if act is not PostAct.OPEN],
    (PostCb(act=PostAct.OPEN, post=NONE), Can.VIEW),
    *[(PubCb(act=act, pub=NONE), Can.DRAFT) for act in PubAct],
    (DraftJobCb(job=NONE), Can.DRAFT),
    (RejectReasonCb(post=NONE, reason=RejectReason.TONE), Can.DRAFT),
    *[(PlanCb(act=act, campaign=NONE), Can.DRAFT) for act in PlanAct],
    (QueuePageCb(page=0), Can.VIEW),
    (StatsCb(days=7), Can.VIEW),
    (PostStatsCb(post=NONE), Can.VIEW),
    (BrandCb(id=NONE), Can.VIEW),
    (VoiceCb(field=VoiceField.TONE), Can.MANAGE),
    (VoiceCb(), Can.MANAGE),
    (VoiceWholeCb(), Can.MANAGE),
    *[(LearnCb(act=act, pref=NONE), Can.MANAGE) for act in LearnAct],
    (TimezoneCb(name="Europe/Berlin"), Can.MANAGE),
    *[(AccountCb(act=act, id=NONE), Can.MANAGE) for act in AccountAct],
    (PlatformCb(key="mastodon"), Can.MANAGE),
    *[(TakeDownCb(act=act, post=NONE), Can.MANAGE) for act in TakeDownAct],
    (MuteCb(kind=AlertKind.QUEUE, days=MUTE_DAYS[0]), Can.MANAGE),
    *[(RuleCb(act=act, id=NONE), Can.MANAGE) for act in RuleAct],
    *[(SourceCb(act=act, id=NONE), Can.MANAGE) for act in SourceAct],
]


def test_every_handler_says_which_capability_it_needs() -> None:
    """No handler relies on the owners-only default by accident: each names its capability."""
    for router in (each for top in build_routers() for each in top.chain_tail):
        for observer in (router.message, router.callback_query):
            for handler in observer.handlers:
                assert "can" in handler.flags, (router.name, handler.callback.__name__)


async def add_team(tg: FakeTelegram, nexus: Nexus) -> int:
    """An editor, a reviewer and a viewer in the first brand; "Beta", owned by OTHER alone.
    Returns Beta's id."""
    for user_id, name in ((EDITOR, "Eda"), (REVIEWER, "Rev"), (VIEWER, "Vi"), (OTHER, "Otto")):
        tg.add_user(user_id, name, "en")
    async with nexus.sessions() as session:
        for user_id in (EDITOR, REVIEWER, VIEWER):
            session.add(Membership(brand_id=FIRST_BRAND_ID, user_id=user_id, role=ROLES[user_id]))
        beta = await teams.create_brand(session, "Beta", OTHER)
        assert beta is not None
        await session.commit()
        return beta.id


async def reply_to(tg: FakeTelegram, user_id: int, text: str) -> FakeMessage:
    """Send ``text``; the bot's first answer to it."""
    sent = await tg.user_sends(user_id, text)
    return await tg.wait_message(user_id, lambda m: m.message_id > sent["message_id"])


async def tapped(tg: FakeTelegram, user_id: int, data: str) -> str:
    """Tap ``data`` under the newest bot message of the chat; the tap's answer."""
    anchor = tg.messages(user_id)[-1]
    query = await tg.user_taps(user_id, anchor.message_id, data, force=True)
    await tg.wait_for(lambda: query in tg.callback_answers, timeout=10)
    return tg.callback_answers[query].get("text") or ""


async def test_each_role_against_every_command(tg: FakeTelegram, nexus: Nexus) -> None:
    await add_team(tg, nexus)
    for user_id, role in ROLES.items():
        for text, needed in COMMANDS:
            answer = await reply_to(tg, user_id, text)
            if can(role, needed):
                assert REFUSED not in answer.text, (role, text, answer.text)
            else:
                assert answer.text == f"🔒 As {role} of Main you can't do this. " + (
                    "Ask an owner of the brand if you need to."
                ), (role, text)
    assert tg.messages(CHANNEL) == []


async def test_each_role_against_every_button(tg: FakeTelegram, nexus: Nexus) -> None:
    await add_team(tg, nexus)
    for user_id, role in ROLES.items():
        await reply_to(tg, user_id, "/brand")  # a message to tap under
        for data, needed in TAPS:
            answer = await tapped(tg, user_id, data.pack())
            if can(role, needed):
                assert REFUSED not in answer, (role, data)
            elif isinstance(data, MuteCb):  # the alert's brand decides, not the current one
                assert "Only an owner of Main can mute" in answer, (role, answer)
            else:
                assert REFUSED in answer and str(role) in answer, (role, data, answer)
    assert tg.messages(CHANNEL) == []


async def test_a_forged_button_naming_another_brands_rows_changes_nothing(
    tg: FakeTelegram, nexus: Nexus
) -> None:
    beta = await add_team(tg, nexus)
    preview = await preview_for(tg, "the main brand's launch, not for Beta")
    main_post = int(button(preview, "Approve").split(":")[2])
    async with nexus.sessions() as session:
        channel = await session.scalar(select(Account).where(Account.handle == CHANNEL))
        session.add(Rule(name="main-rule", event="*", brand_id=FIRST_BRAND_ID))
        session.add(Source(kind="webhook", name="main-hook", brand_id=FIRST_BRAND_ID))
        await session.commit()
        rule = await session.scalar(select(Rule.id).where(Rule.name == "main-rule"))
        source = await session.scalar(select(Source.id).where(Source.name == "main-hook"))
        assert channel is not None and rule is not None and source is not None
    # Beta's owner sees none of it
    for command in ("/drafts", "/queue", "/accounts", "/rules", "/sources"):
        answer = await reply_to(tg, OTHER, command)
        for theirs in ("launch", CHANNEL, "main-rule", "main-hook"):
            assert theirs not in answer.text, (command, answer.text)
    # and every forged tap on it is answered without a change
    forged = [
        DraftCb(act=DraftAct.APPROVE, post=main_post, v=1),
        DraftCb(act=DraftAct.REJECT, post=main_post, v=1),
        PostCb(act=PostAct.PUBLISH_NOW, post=main_post),
        ScheduleCb(post=main_post, pick=SchedulePick.IN_1H),
        OpenDraftCb(post=main_post),
        TakeDownCb(act=TakeDownAct.YES, post=main_post),
        AccountCb(act=AccountAct.TOGGLE, id=channel.id),
        AccountCb(act=AccountAct.DISCONNECT, id=channel.id),
        RuleCb(act=RuleAct.DELETE_YES, id=rule),
        RuleCb(act=RuleAct.TOGGLE, id=rule),
        SourceCb(act=SourceAct.DELETE_YES, id=source),
        BrandCb(id=FIRST_BRAND_ID),
    ]
    for data in forged:
        await tapped(tg, OTHER, data.pack())
    assert tg.messages(CHANNEL) == []
    assert all("launch" not in m.text for m in tg.messages(OTHER))
    async with nexus.sessions() as session:
        post = await repo.get_post(session, main_post)
        assert post is not None and post.status == "draft" and post.brand_id == FIRST_BRAND_ID
        account = await session.get(Account, channel.id)
        assert account is not None and account.enabled and account.credentials is None
        assert (await session.get(Rule, rule)) is not None
        assert (await session.get(Source, source)) is not None
        assert await teams.role_in(session, FIRST_BRAND_ID, OTHER) is None
        other = await teams.current_seat(session, OTHER)
        assert other is not None and other.brand.id == beta


async def test_brand_new_switch_and_the_brand_on_the_preview(
    tg: FakeTelegram, nexus: Nexus
) -> None:
    await add_team(tg, nexus)
    single = await preview_for(tg, "a post while the owner has one brand")
    assert "🏷" not in single.text  # nothing changes for a single brand's owner

    made = await reply_to(tg, OWNER, "/brand new Coffee Corner")
    assert "Brand Coffee Corner created" in made.text and "owner" in made.text
    beta_preview = await preview_for(tg, "a post for the coffee brand")
    assert beta_preview.text.startswith("🏷 Coffee Corner")
    async with nexus.sessions() as session:
        brand = await teams.brand_named(session, "coffee corner")
        assert brand is not None
        post = await repo.latest_draft(session, OWNER)
        assert post is not None and post.brand_id == brand.id
        assert await teams.role_in(session, brand.id, OWNER) is Role.OWNER

    listing = await reply_to(tg, OWNER, "/brand")
    assert "working in Coffee Corner" in listing.text
    assert "Main — owner" in listing.text and "Coffee Corner — owner" in listing.text
    await tap(tg, listing, "Work in Main")
    switched = await tg.wait_message(OWNER, lambda m: "now working in Main" in m.text)
    assert switched.message_id == listing.message_id
    listed = await reply_to(tg, OWNER, "/drafts")
    assert listed.text.startswith("🏷 Main\n📝 Drafts waiting for you (1)")
    drafts = " ".join(text for text, _ in listed.buttons())
    assert "one brand" in drafts and "coffee" not in drafts

    assert (await reply_to(tg, OWNER, "/start")).text.startswith("🏷 Main\n")
    assert "🏷" not in (await reply_to(tg, EDITOR, "/start")).text  # one brand: no name shown
    named = await reply_to(tg, OWNER, "/brand coffee corner")
    assert "now working in Coffee Corner" in named.text


async def test_brand_new_refuses_bad_names_and_non_owners(tg: FakeTelegram, nexus: Nexus) -> None:
    await add_team(tg, nexus)
    assert "Send the name" in (await reply_to(tg, OWNER, "/brand new")).text
    assert "already is a brand called “beta”" in (await reply_to(tg, OWNER, "/brand new beta")).text
    too_long = await reply_to(tg, OWNER, "/brand new " + "x" * 65)
    assert "at most 64 characters" in too_long.text
    refused = await reply_to(tg, EDITOR, "/brand new Editor's Own")
    assert "Only an owner of a brand" in refused.text
    unknown = await reply_to(tg, EDITOR, "/brand Beta")  # exists, but not theirs
    assert "You have no brand called “Beta”" in unknown.text
    async with nexus.sessions() as session:
        assert await session.scalar(select(Brand.id).where(Brand.name == "Editor's Own")) is None
        seat = await teams.current_seat(session, EDITOR)
        assert seat is not None and seat.brand.id == FIRST_BRAND_ID


async def test_the_time_zone_is_the_brands(tg: FakeTelegram, nexus: Nexus) -> None:
    beta = await add_team(tg, nexus)
    set_ = await reply_to(tg, OWNER, "/timezone Berlin")
    assert "Time zone of Main set to Europe/Berlin" in set_.text
    shown = await reply_to(tg, OTHER, "/timezone")
    assert "The time zone of Beta is UTC" in shown.text
    refused = await reply_to(tg, VIEWER, "/timezone Tokyo")
    assert REFUSED in refused.text
    preview = await preview_for(tg, "a post for later today")
    await tap(tg, preview, "Schedule")
    await tap(
        tg, await tg.wait_message(OWNER, lambda m: "In 1 hour" in str(m.buttons())), "In 1 hour"
    )
    await tg.wait_message(OWNER, lambda m: "is scheduled" in m.text)
    queue = await reply_to(tg, VIEWER, "/queue")  # the viewer sees the brand's times
    assert "Upcoming posts (1), times in Europe/Berlin" in queue.text
    assert "Upcoming" not in (await reply_to(tg, OTHER, "/queue")).text
    async with nexus.sessions() as session:
        main = await teams.get_brand(session, FIRST_BRAND_ID)
        other = await teams.get_brand(session, beta)
        assert main is not None and main.timezone == "Europe/Berlin"
        assert other is not None and other.timezone is None


async def test_a_preview_tapped_after_switching_brands_still_works_in_its_own(
    tg: FakeTelegram, nexus: Nexus
) -> None:
    """The buttons act in the member's current brand: after a switch, an old preview of the
    other brand is refused as gone, and works again once switched back."""
    await add_team(tg, nexus)
    preview = await preview_for(tg, "a main brand post")
    await reply_to(tg, OWNER, "/brand new Tea House")
    answer = await tapped(tg, OWNER, button(preview, "Approve"))
    assert "no longer exists" in answer
    assert tg.messages(CHANNEL) == []
    await reply_to(tg, OWNER, "/brand Main")
    await tap(tg, preview, "Approve")
    await tg.wait_message(OWNER, lambda m: "is published" in m.text)
    assert len(tg.messages(CHANNEL)) == 1


async def test_connecting_another_brands_account_is_refused(tg: FakeTelegram, nexus: Nexus) -> None:
    await add_team(tg, nexus)
    await reply_to(tg, OTHER, "/accounts")
    await tap_in(tg, OTHER, "Connect an account")
    await tap_in(tg, OTHER, "Telegram")
    await tg.user_sends(OTHER, CHANNEL)
    refused = await tg.wait_message(OTHER, lambda m: "another brand" in m.text)
    assert "(@nexus_channel) is connected to another brand" in refused.text
    async with nexus.sessions() as session:
        accounts = (await session.scalars(select(Account))).all()
        assert [(a.handle, a.brand_id) for a in accounts] == [(CHANNEL, FIRST_BRAND_ID)]


async def tap_in(tg: FakeTelegram, user_id: int, label: str) -> None:
    """Tap the button labelled ``label`` under the newest message that has one."""

    def has(message: FakeMessage) -> bool:
        return any(label in text for text, _ in message.buttons())

    await tg.wait_message(user_id, has)
    newest = [m for m in tg.messages(user_id) if has(m)][-1]
    await tg.user_taps(user_id, newest.message_id, button(newest, label))


async def test_in_a_brands_review_group_an_update_acts_in_that_brand(nexus: Nexus) -> None:
    """The session middleware seats a member in the brand whose review group the update comes
    from, whichever brand they work in elsewhere; someone with no role in that brand is not
    heard there; any other group acts in the member's current brand."""
    group, elsewhere = -100555, -100777
    async with nexus.sessions() as session:
        made = await teams.create_brand(session, "Beta", OTHER)
        assert made is not None
        beta, made.review_chat_id = made.id, group
        made.timezone = "Asia/Tokyo"
        session.add(Membership(brand_id=beta, user_id=OWNER, role=Role.REVIEWER))
        await session.commit()
    middleware = SessionMiddleware(nexus.sessions, "UTC")
    seen: list[tuple[int, Role, int | None, str]] = []

    async def handler(event: object, data: dict[str, Any]) -> None:
        seat = data["seat"]
        seen.append((seat.brand.id, seat.role, scope.brand_of(data["session"]), data["tz"].key))

    def said_in(chat_id: int, user_id: int) -> dict[str, Any]:
        user = User(id=user_id, is_bot=False, first_name="Someone")
        message = Message(
            message_id=1,
            date=datetime.now(UTC),
            chat=Chat(id=chat_id, type="supergroup"),
            from_user=user,
            text="looks good",
        )
        return {"event": Update(update_id=1, message=message), "user": user}

    for chat_id, user_id in ((group, OWNER), (group, EDITOR), (elsewhere, OWNER)):
        said = said_in(chat_id, user_id)
        await middleware(handler, said["event"], {"event_from_user": said["user"]})
    assert seen == [
        (beta, Role.REVIEWER, beta, "Asia/Tokyo"),  # Beta's group: Beta, as its reviewer
        # the editor of Main alone is not heard in Beta's group
        (FIRST_BRAND_ID, Role.OWNER, FIRST_BRAND_ID, "UTC"),  # another group: their own brand
    ]
