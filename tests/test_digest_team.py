"""The digest's line on team activity, from the audit log: absent for a solo owner, counted by
kind once the brand has a team (through /digest and the loopback Telegram)."""

from __future__ import annotations

from storage import teams
from storage.models import FIRST_BRAND_ID, Role
from tests.clock import FakeClock
from tests.conftest import OWNER
from tests.fakes.telegram import FakeTelegram
from tests.test_digest import NOW, StartNexus, at, digests_in, started

EDITOR = 2002


async def test_the_digest_has_a_line_on_team_activity_once_there_is_a_team(
    tg: FakeTelegram, nexus_factory: StartNexus, clock: FakeClock
) -> None:
    nexus = await started(tg, nexus_factory)
    async with nexus.sessions() as session:
        await teams.record(session, FIRST_BRAND_ID, OWNER, "post.approve", "post:1", at=at(21, 9))
        await session.commit()
    await tg.user_sends(OWNER, "/digest")
    solo = await tg.wait_message(OWNER, lambda m: "Digest for" in m.text)
    assert "Team" not in solo.text  # a solo owner's digest is as it always was

    async with nexus.sessions() as session:
        code = await teams.create_invite(session, FIRST_BRAND_ID, Role.EDITOR, OWNER, NOW)
        await teams.redeem_invite(session, code, EDITOR, NOW)
        for action, when in (
            ("post.edit", at(21, 10)),
            ("post.schedule", at(21, 11)),
            ("post.reject", at(22, 8)),
            ("team.join", at(22, 8)),
            ("post.approve", at(20, 23, 59)),  # the day before yesterday: not counted
        ):
            await teams.record(session, FIRST_BRAND_ID, EDITOR, action, at=when)
        await session.commit()
    await tg.user_sends(OWNER, "/digest")
    await tg.wait_for(lambda: len(digests_in(tg)) == 2)
    line = "👥 Team since yesterday: approved 2 · rejected 1 · edits 1 · other changes 1 (/log)"
    assert line in digests_in(tg)[-1].text
