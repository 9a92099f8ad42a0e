"""The team from the chat, through the real app long-polling the loopback Telegram (SQLite and
PostgreSQL): an owner invites with a single-use link, the invitee joins and is greeted, owners are
told; roles change and members leave; each person's chat holds only what is theirs to see; taps
that name a brand the tapper does not own change nothing; /log pages the audit log."""

from __future__ import annotations

import re

from bot.app import Nexus
from storage import teams
from storage.models import FIRST_BRAND_ID, Role
from tests.clock import FakeClock
from tests.conftest import CHANNEL, OWNER
from tests.fakes.telegram import FakeMessage, FakeTelegram
from tests.test_e2e_drafts import button, is_preview, preview_for, tap
from ui.callbacks import LogPageCb, TeamAct, TeamCb

ERIN, MALLORY, OTTO = 2002, 3003, 4004
LINK = re.compile(r"https://t\.me/nexus_test_bot\?start=([A-Za-z0-9_-]+)")


def answers(tg: FakeTelegram) -> list[str]:
    return [a.get("text", "") for a in tg.callback_answers.values()]


async def team_message(tg: FakeTelegram, user: int = OWNER) -> FakeMessage:
    sent = await tg.user_sends(user, "/team")
    return await tg.wait_message(
        user, lambda m: "Team of" in m.text and m.message_id > sent["message_id"]
    )


async def invite_link(tg: FakeTelegram, role_label: str) -> str:
    """/team → ➕ Invite → the role: the link the owner is shown."""
    screen = await team_message(tg)
    await tap(tg, screen, "Invite")
    await tg.wait_for(lambda: "as:" in tg.messages(OWNER)[-1].text)
    await tap(tg, tg.messages(OWNER)[-1], role_label)
    shown = await tg.wait_message(OWNER, lambda m: LINK.search(m.text) is not None)
    match = LINK.search(shown.text)
    assert match is not None
    return match.group(1)


async def test_an_invite_link_joins_once_and_the_owner_is_told(
    tg: FakeTelegram, nexus: Nexus
) -> None:
    tg.add_user(ERIN, "Erin", "en")
    tg.add_user(MALLORY, "Mallory", "en")
    code = await invite_link(tg, "Editor")
    shown = tg.messages(OWNER)[-1].text
    assert "Invite to Main as editor" in shown and "works once" in shown

    await tg.user_sends(ERIN, f"/start {code}")
    welcome = await tg.wait_message(ERIN, lambda m: "Welcome" in m.text)
    assert "Welcome to Main! You are its editor now." in welcome.text
    assert "drafts" in welcome.text  # what an editor can do
    told = await tg.wait_message(OWNER, lambda m: "joined" in m.text)
    assert told.text == "👋 Erin opened your invite and joined Main as editor."

    # the same link a second time: refused politely, with the id and nothing else
    await tg.user_sends(MALLORY, f"/start {code}")
    refused = await tg.wait_message(MALLORY, lambda m: "already used" in m.text)
    assert str(MALLORY) in refused.text
    await tg.user_sends(MALLORY, "/queue")
    await tg.wait_message(MALLORY, lambda m: "private Nexus bot" in m.text)
    assert len(tg.messages(MALLORY)) == 2
    async with nexus.sessions() as session:
        assert await teams.role_in(session, FIRST_BRAND_ID, ERIN) == Role.EDITOR
        assert await teams.role_in(session, FIRST_BRAND_ID, MALLORY) is None

    # the team is the owners' business; the log is everyone's
    await tg.user_sends(ERIN, "/team")
    await tg.wait_message(ERIN, lambda m: "As editor of Main you can't do this" in m.text)
    await tg.user_sends(ERIN, "/log")
    page = await tg.wait_message(ERIN, lambda m: "Log of Main" in m.text)
    assert "Erin joined as editor" in page.text
    assert "Owner made an invite link for a new editor" in page.text
    assert all("Team of" not in m.text for m in tg.messages(ERIN))


async def test_an_expired_or_unknown_link_is_refused(
    tg: FakeTelegram, nexus: Nexus, clock: FakeClock
) -> None:
    tg.add_user(ERIN, "Erin", "ru")
    code = await invite_link(tg, "Viewer")
    clock.advance(hours=24, minutes=1)
    await tg.user_sends(ERIN, f"/start {code}")
    expired = await tg.wait_message(ERIN, lambda m: "истёк" in m.text)
    assert "24 часа" in expired.text and str(ERIN) in expired.text
    await tg.user_sends(ERIN, "/start not-a-code")
    await tg.wait_message(ERIN, lambda m: "недействительна" in m.text)
    async with nexus.sessions() as session:
        assert await teams.role_in(session, FIRST_BRAND_ID, ERIN) is None


async def test_a_member_opening_a_link_they_do_not_need_leaves_it_for_someone_else(
    tg: FakeTelegram, nexus: Nexus
) -> None:
    tg.add_user(ERIN, "Erin", "en")
    code = await invite_link(tg, "Viewer")
    await tg.user_sends(OWNER, f"/start {code}")
    await tg.wait_message(OWNER, lambda m: "You are already owner of Main" in m.text)
    await tg.user_sends(ERIN, f"/start {code}")
    await tg.wait_message(ERIN, lambda m: "You are its viewer now" in m.text)
    async with nexus.sessions() as session:
        assert await teams.role_in(session, FIRST_BRAND_ID, OWNER) == Role.OWNER


async def test_roles_change_and_members_leave_and_are_told(tg: FakeTelegram, nexus: Nexus) -> None:
    tg.add_user(ERIN, "Erin", "uk")
    code = await invite_link(tg, "Editor")
    await tg.user_sends(ERIN, f"/start {code}")
    await tg.wait_message(ERIN, lambda m: "Ласкаво просимо" in m.text)

    screen = await team_message(tg)
    assert "Erin (id 2002): editor" in screen.text and "Owner (id 1001): owner, you" in screen.text
    await tap(tg, screen, "🔁 Erin")
    await tg.wait_for(lambda: "Their new role" in tg.messages(OWNER)[-1].text)
    await tap(tg, tg.messages(OWNER)[-1], "Reviewer")
    told = await tg.wait_message(ERIN, lambda m: "Ваша роль у" in m.text)
    assert told.text == "🔁 Ваша роль у Main тепер: рецензент."
    await tg.wait_for(lambda: "Erin (id 2002): reviewer" in tg.messages(OWNER)[-1].text)

    # an owner by NEXUS_OWNER_IDS stays one (start-up would make them one again)
    screen = tg.messages(OWNER)[-1]
    await tap(tg, screen, "🔁 Owner")
    await tg.wait_for(lambda: "Their new role" in tg.messages(OWNER)[-1].text)
    await tap(tg, tg.messages(OWNER)[-1], "Viewer")
    await tg.wait_for(lambda: any("NEXUS_OWNER_IDS" in a for a in answers(tg)))

    screen = await team_message(tg)
    erin_remove = [d for label, d in screen.buttons() if "Remove" in label][1]
    await tg.user_taps(OWNER, screen.message_id, erin_remove)
    await tg.wait_for(lambda: "Remove Erin from Main?" in tg.messages(OWNER)[-1].text)
    await tap(tg, tg.messages(OWNER)[-1], "Yes, remove")
    await tg.wait_message(ERIN, lambda m: "більше не учасник Main" in m.text)
    await tg.user_sends(ERIN, "/queue")
    await tg.wait_message(ERIN, lambda m: str(ERIN) in m.text and "NEXUS_OWNER_IDS" in m.text)

    async with nexus.sessions() as session:
        assert await teams.role_in(session, FIRST_BRAND_ID, ERIN) is None
        assert await teams.role_in(session, FIRST_BRAND_ID, OWNER) == Role.OWNER
    await tg.user_sends(OWNER, "/log")
    page = await tg.wait_message(OWNER, lambda m: "Log of Main" in m.text)
    lines = page.text.splitlines()
    assert "Owner removed Erin" in lines[2] and "Owner made Erin reviewer" in lines[3]


async def test_a_tap_naming_a_brand_the_tapper_does_not_own_changes_nothing(
    tg: FakeTelegram, nexus: Nexus
) -> None:
    tg.add_user(ERIN, "Erin", "en")
    tg.add_user(OTTO, "Otto", "en")
    async with nexus.sessions() as session:
        other = await teams.create_brand(session, "Beta", OTTO)
        assert other is not None
        beta = other.id
        await session.commit()
    code = await invite_link(tg, "Editor")
    await tg.user_sends(ERIN, f"/start {code}")
    await tg.wait_message(ERIN, lambda m: "Welcome" in m.text)

    # the owner of Main forges a removal of Beta's owner, and a log page of Beta
    screen = await team_message(tg)
    forged = TeamCb(act=TeamAct.REMOVE_YES, brand=beta, user=OTTO).pack()
    await tg.user_taps(OWNER, screen.message_id, forged, force=True)
    await tg.wait_for(lambda: any("Only an owner of this brand" in a for a in answers(tg)))
    await tg.user_taps(OWNER, screen.message_id, LogPageCb(brand=beta, page=0).pack(), force=True)
    await tg.wait_for(lambda: any("not a member of this brand" in a for a in answers(tg)))
    # an editor of Main forges an invite for themselves as owner
    await tg.user_sends(ERIN, "/log")
    page = await tg.wait_message(ERIN, lambda m: "Log of Main" in m.text)
    raise_me = TeamCb(act=TeamAct.SET_ROLE, brand=FIRST_BRAND_ID, user=ERIN, role=Role.OWNER)
    await tg.user_taps(ERIN, page.message_id, raise_me.pack(), force=True)
    invite = TeamCb(act=TeamAct.INVITE_ROLE, brand=FIRST_BRAND_ID, role=Role.OWNER)
    await tg.user_taps(ERIN, page.message_id, invite.pack(), force=True)
    await tg.wait_for(lambda: sum("Only an owner of this brand" in a for a in answers(tg)) == 3)

    # a change of role that names no role is no change at all
    no_role = TeamCb(act=TeamAct.SET_ROLE, brand=FIRST_BRAND_ID, user=ERIN).pack()
    query = await tg.user_taps(OWNER, screen.message_id, no_role, force=True)
    await tg.wait_for(lambda: query in tg.callback_answers)
    assert "button" in tg.callback_answers[query]["text"]

    async with nexus.sessions() as session:
        assert await teams.role_in(session, beta, OTTO) == Role.OWNER
        assert await teams.role_in(session, FIRST_BRAND_ID, ERIN) == Role.EDITOR
        assert await teams.audit_count(session, beta) == 0
        actions = [e.action for e in await teams.audit_page(session, FIRST_BRAND_ID, 10)]
        assert actions == ["team.join", "team.invite"]
    assert all(LINK.search(m.text) is None for m in tg.messages(ERIN))
    assert tg.messages(OTTO) == []  # Beta's owner heard nothing of Main


async def test_log_pages_newest_first(tg: FakeTelegram, nexus: Nexus, clock: FakeClock) -> None:
    async with nexus.sessions() as session:
        for n in range(1, 24):
            clock.advance(minutes=1)
            await teams.record(
                session, FIRST_BRAND_ID, OWNER, "post.reject", f"post:{n}", at=clock.now()
            )
        await session.commit()
    await tg.user_sends(OWNER, "/log")
    first = await tg.wait_message(OWNER, lambda m: "Log of Main" in m.text)
    assert "page 1 of 3" in first.text
    assert "rejected #23" in first.text and "rejected #13" not in first.text
    assert [label for label, _ in first.buttons()] == ["▶"]
    await tg.user_taps(OWNER, first.message_id, button(first, "▶"))
    await tg.wait_for(lambda: "page 2 of 3" in tg.messages(OWNER)[-1].text)
    second = tg.messages(OWNER)[-1]
    assert "rejected #13" in second.text and "rejected #23" not in second.text
    assert [label for label, _ in second.buttons()] == ["◀", "▶"]
    await tg.user_taps(OWNER, second.message_id, button(second, "▶"))
    await tg.wait_for(lambda: "page 3 of 3" in tg.messages(OWNER)[-1].text)
    third = tg.messages(OWNER)[-1]
    assert "rejected #1\n" in third.text + "\n" and [lbl for lbl, _ in third.buttons()] == ["◀"]


async def test_decisions_are_logged_with_who_and_what(tg: FakeTelegram, nexus: Nexus) -> None:
    first = await preview_for(tg, "announce the team feature")
    stale_reject = button(first, "Reject")
    await tap(tg, first, "Edit")
    await tg.wait_message(OWNER, lambda m: "Send the new text" in m.text)
    await tg.user_sends(OWNER, "Teams are here")
    edited = await tg.wait_message(OWNER, lambda m: is_preview(m) and "Teams are here" in m.text)
    await tap(tg, edited, "Approve")
    await tg.wait_message(OWNER, lambda m: "is published" in m.text)
    second = await preview_for(tg, "a post we will not run")
    await tap(tg, second, "Reject")
    await tg.wait_for(lambda: any("rejected" in a.lower() for a in answers(tg)))
    # a tap on the stale first preview changes nothing, so nothing is logged for it
    await tg.user_taps(OWNER, first.message_id, stale_reject, force=True)
    await tg.wait_for(lambda: len(answers(tg)) == 3)

    await tg.user_sends(OWNER, "/log")
    page = await tg.wait_message(OWNER, lambda m: "Log of Main" in m.text)
    lines = page.text.splitlines()[2:]
    assert [line.split(" · ", 1)[1] for line in lines] == [
        "Owner rejected #2",
        "Owner approved #1 to publish now",
        "Owner edited #1",
    ]


async def test_account_changes_and_settings_are_logged(tg: FakeTelegram, nexus: Nexus) -> None:
    await tg.user_sends(OWNER, "/accounts")
    overview = await tg.wait_message(OWNER, lambda m: "Accounts" in m.text)
    await tap(tg, overview, "Disable")
    await tg.wait_for(
        lambda: any("Enable" in label for label, _ in tg.messages(OWNER)[-1].buttons())
    )
    await tg.user_sends(OWNER, "/timezone Europe/Berlin")
    await tg.wait_message(OWNER, lambda m: "Europe/Berlin" in m.text)
    await tg.user_sends(OWNER, "/log")
    page = await tg.wait_message(OWNER, lambda m: "Log of Main" in m.text)
    lines = [line.split(" · ", 1)[1] for line in page.text.splitlines()[2:]]
    assert lines == [
        "Owner set the time zone to Europe/Berlin",
        "Owner switched Telegram @nexus_channel off",
    ]


async def test_a_brand_keeps_its_last_owner(tg: FakeTelegram, nexus: Nexus) -> None:
    tg.add_user(OTTO, "Otto", "en")
    async with nexus.sessions() as session:
        beta = await teams.create_brand(session, "Beta", OTTO)
        assert beta is not None
        await session.commit()
    screen = await team_message(tg, OTTO)
    assert "Team of Beta" in screen.text and "Otto (id 4004): owner, you" in screen.text
    await tg.user_taps(OTTO, screen.message_id, button(screen, "🔁 Otto"))
    await tg.wait_for(lambda: "Their new role" in tg.messages(OTTO)[-1].text)
    await tg.user_taps(OTTO, screen.message_id, button(tg.messages(OTTO)[-1], "Editor"))
    await tg.user_taps(OTTO, screen.message_id, button(tg.messages(OTTO)[-1], "Back"))
    await tg.wait_for(lambda: "Team of Beta" in tg.messages(OTTO)[-1].text)
    await tg.user_taps(OTTO, screen.message_id, button(tg.messages(OTTO)[-1], "Remove"))
    await tg.wait_for(lambda: "Remove Otto from Beta?" in tg.messages(OTTO)[-1].text)
    await tg.user_taps(OTTO, screen.message_id, button(tg.messages(OTTO)[-1], "Yes, remove"))
    await tg.wait_for(lambda: sum("at least one owner" in a for a in answers(tg)) == 2)
    async with nexus.sessions() as session:
        assert await teams.role_in(session, beta.id, OTTO) == Role.OWNER
        assert await teams.audit_count(session, beta.id) == 0


async def test_a_take_down_is_logged_with_where_it_went(tg: FakeTelegram, nexus: Nexus) -> None:
    await tap(tg, await preview_for(tg, "a post we will regret"), "Approve")
    record = await tg.wait_message(OWNER, lambda m: "is published" in m.text)
    await tap(tg, record, "Delete…")
    ask = await tg.wait_message(OWNER, lambda m: "from every platform" in m.text)
    await tap(tg, ask, "Yes, delete everywhere")
    await tg.wait_for(lambda: not tg.messages(CHANNEL))
    await tg.user_sends(OWNER, "/log")
    page = await tg.wait_message(OWNER, lambda m: "Log of Main" in m.text)
    assert [line.split(" · ", 1)[1] for line in page.text.splitlines()[2:]] == [
        "Owner took #1 down (deleted from 1/1 targets)",
        "Owner approved #1 to publish now",
    ]


async def test_people_are_named_as_they_are_now_in_telegram(tg: FakeTelegram, nexus: Nexus) -> None:
    tg.add_user(ERIN, "Erin", "en")
    code = await invite_link(tg, "Viewer")
    await tg.user_sends(ERIN, f"/start {code}")
    await tg.wait_message(ERIN, lambda m: "Welcome" in m.text)
    tg.add_user(ERIN, "Erin <b>Brown</b>", "en")  # renamed in Telegram (markup stays text)
    await tg.user_sends(ERIN, "/log")
    await tg.wait_message(ERIN, lambda m: "Log of Main" in m.text)
    screen = await team_message(tg)
    assert "Erin <b>Brown</b> (id 2002): viewer" in screen.text
    assert ("🔁 Erin <b>Brown</b>", TeamCb(act=TeamAct.ROLE_MENU, brand=1, user=ERIN).pack()) in (
        screen.buttons()
    )
