"""Two brands side by side, end to end through the real app and the loopback Telegram (SQLite and
PostgreSQL): Main's owner builds a team with invite links (an editor, a reviewer), binds a review
group and creates a second brand, Beta, whose own owner joins by link. The editor's draft goes
through the review group to Main's channel; Beta's owner publishes to Beta's channel. Then each
person's chat, the group and both channels hold only what that person (or place) may see, and a
forged tap naming the other brand's post shows nothing."""

from __future__ import annotations

from bot.app import Nexus
from storage import repositories as repo
from storage import teams
from storage.models import Post, PostStatus, Role
from tests.conftest import CHANNEL, OWNER
from tests.fakes.telegram import FakeMessage, FakeTelegram
from tests.test_e2e_drafts import button, is_preview
from tests.test_e2e_team import LINK
from ui.callbacks import PostAct, PostCb

BEA, EDDIE, RITA = 5001, 5002, 5003
MAIN_NEWS, BETA_NEWS = "dark mode", "spring promo"


def seen(tg: FakeTelegram, chat: int | str) -> str:
    """Everything a chat holds, as one lower-case text."""
    return "\n".join(m.text for m in tg.messages(chat)).lower()


async def says(tg: FakeTelegram, user: int, text: str, expected: str, **where: int) -> FakeMessage:
    """``user`` sends ``text``; the next message in that chat containing ``expected``."""
    sent = await tg.user_sends(user, text, **where)
    chat = where.get("in_chat", user)
    return await tg.wait_message(
        chat, lambda m: expected in m.text and m.message_id > sent["message_id"]
    )


async def joins(tg: FakeTelegram, user: int, role_label: str, used: set[str]) -> None:
    """The owner makes a link for ``role_label`` in the brand they work in (/team → ➕ Invite →
    the role); ``user`` opens it. ``used``: the codes shown before, so the new one is told apart."""
    screen = await says(tg, OWNER, "/team", "Team of")
    await tg.user_taps(OWNER, screen.message_id, button(screen, "Invite"))
    roles = await tg.wait_message(OWNER, lambda m: "Invite someone" in m.text)
    await tg.user_taps(OWNER, roles.message_id, button(roles, role_label))

    def new_code() -> str | None:
        found = {code for m in tg.messages(OWNER) for code in LINK.findall(m.text)} - used
        return next(iter(found), None)

    await tg.wait_for(lambda: new_code() is not None)
    code = new_code()
    assert code is not None
    used.add(code)
    await says(tg, user, f"/start {code}", "Welcome")


async def approved(tg: FakeTelegram, user: int, brief: str, outcome: str) -> FakeMessage:
    """``user`` drafts ``brief`` and taps Approve & publish; the preview once it says
    ``outcome``."""
    sent = await tg.user_sends(user, brief)
    preview = await tg.wait_message(
        user, lambda m: is_preview(m) and m.message_id > sent["message_id"]
    )
    await tg.user_taps(user, preview.message_id, button(preview, "Approve"))
    return await tg.wait_message(
        user, lambda m: m.message_id == preview.message_id and outcome in m.text
    )


async def test_each_person_sees_only_their_brands(tg: FakeTelegram, nexus: Nexus) -> None:
    for user, name in ((BEA, "Bea"), (EDDIE, "Eddie"), (RITA, "Rita")):
        tg.add_user(user, name)
    used: set[str] = set()
    await joins(tg, EDDIE, "Editor", used)
    await joins(tg, RITA, "Reviewer", used)
    group = tg.add_group("Main reviews", [OWNER, EDDIE, RITA])
    await says(tg, OWNER, "/review here", "now reviews the drafts of", in_chat=group)

    await says(tg, OWNER, "/brand new Beta", "created")
    await joins(tg, BEA, "Owner", used)  # the owner works in Beta now: the link is Beta's
    beta_channel = tg.add_channel("beta_channel")
    async with nexus.sessions() as session:
        beta = await teams.brand_named(session, "Beta")
        assert beta is not None
        account = await repo.ensure_account(session, "telegram", "@beta_channel")
        account.brand_id = beta.id
        await session.commit()
        assert await teams.role_in(session, beta.id, BEA) is Role.OWNER
        assert await teams.role_in(session, beta.id, EDDIE) is None
    await says(tg, OWNER, "/brand Main", "You are now working in")

    # Main: the editor's draft waits for the reviewer, in the group, then goes out
    await approved(tg, EDDIE, f"announce {MAIN_NEWS}", "went to review")
    card = await tg.wait_message(group, lambda m: "For review" in m.text)
    await tg.user_taps(RITA, card.message_id, button(card, "Approve"), in_chat=group)
    await tg.wait_for(lambda: MAIN_NEWS in seen(tg, CHANNEL))
    await tg.wait_message(EDDIE, lambda m: "was approved by Rita" in m.text)
    # Beta: its owner publishes at once, to Beta's channel alone
    await approved(tg, BEA, f"announce the {BETA_NEWS}", "is published")
    await tg.wait_for(lambda: BETA_NEWS in seen(tg, beta_channel))

    # every person checks what they can: the queue, the stats, the log
    for person in (OWNER, EDDIE, RITA, BEA):
        for command, reply in (("/queue", ""), ("/stats", ""), ("/log", "Log of")):
            await says(tg, person, command, reply)
    await says(tg, BEA, "/log", "Log of Beta")
    await says(tg, EDDIE, "/log", "Log of Main")

    # a forged tap from Beta's owner naming Main's post finds nothing there
    async with nexus.sessions() as session:
        main_post = (await session.get(Post, 1)) or (await session.get(Post, 2))
        assert main_post is not None and MAIN_NEWS in main_post.text.lower()
        forged = PostCb(act=PostAct.OPEN, post=main_post.id).pack()
    last = tg.messages(BEA)[-1]
    query = await tg.user_taps(BEA, last.message_id, forged, force=True)
    await tg.wait_for(lambda: query in tg.callback_answers)

    assert BETA_NEWS not in seen(tg, CHANNEL) and MAIN_NEWS not in seen(tg, beta_channel)
    for chat in (EDDIE, RITA, group):
        assert BETA_NEWS not in seen(tg, chat) and "bea" not in seen(tg, chat), chat
    assert MAIN_NEWS not in seen(tg, BEA)
    assert "eddie" not in seen(tg, BEA) and "rita" not in seen(tg, BEA)
    # the owner of both brands is told of both, each under its brand's name
    assert "🏷 main\n✅ post #" in seen(tg, OWNER) and "🏷 beta\n✅ post #" in seen(tg, OWNER)
    async with nexus.sessions() as session:
        post = await session.get(Post, main_post.id)
        assert post is not None and post.status == PostStatus.PUBLISHED
