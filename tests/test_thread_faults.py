"""Threads under every fault, on every thread-capable platform: the real dispatcher, a real SQLite
file and the platform's loopback fake.

For each platform, hypothesis picks a thread of 1–3 parts, a fault and the part it hits:

* ``lost``: the part is made but the answer never comes (the fake drops the connection after
  processing the request: what a timeout after sending looks like to us);
* ``5xx`` / ``429``: the platform refuses the part (nothing is made);
* ``crash``: the process stops right after the part was made, before hearing the answer (the
  request hangs, the dispatcher task is cancelled, a new dispatcher recovers past the lease).

The dispatcher then runs until the publication settles, the owner answering its questions as a
person would after looking at the platform: "✅ Yes" when the whole thread is there, otherwise
deleting the stray part it did make (if any) and "🔁 Send again". Checked on the platform's
own record: the parts in order, each replying to the one before (where the platform chains),
no part twice, no hole; the post is published only when the thread is whole, and the owner is
asked exactly when the platform gives no safe way to resend (never on Mastodon, VK and Bluesky
for a lost answer).
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from publishers.base import Publisher
from publishers.bluesky import BlueskyPublisher
from publishers.discord import DiscordWebhookPublisher
from publishers.mastodon import MastodonPublisher
from publishers.telegram import TelegramPublisher
from publishers.telegram import _split as telegram_split
from publishers.threads import ThreadsPublisher
from publishers.vk import VKPublisher
from publishers.x import OAuth2UserAuth, XPublisher
from scheduler.dispatcher import DispatchConfig, PublicationDispatcher
from scheduler.lifecycle import confirm_posted, schedule_post, send_again
from scheduler.notify import SilentNotifier
from storage import repositories as repo
from storage.db import create_engine, make_session_factory
from storage.migrate import upgrade
from storage.models import Post, Publication, PublicationStatus, User
from tests.clock import FakeClock
from tests.fakes.bluesky import FakeBluesky
from tests.fakes.discord import FakeDiscord
from tests.fakes.loopback import LosesAnswers
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.telegram import FakeTelegram
from tests.fakes.threads import FakeThreads
from tests.fakes.vk import FakeVK
from tests.fakes.x import FakeX

OWNER = 1001
FAULTS = ("lost", "5xx", "429", "crash")


@dataclass(frozen=True)
class Part:
    id: str
    text: str
    reply_to: str | None


async def _no_sleep(seconds: float) -> None:
    return None


@dataclass(frozen=True)
class Rig:
    """One platform: its fake, a publisher for it, how to refuse a part, how to read its record."""

    platform: str
    limit: int  # characters per part, roughly (the texts are made to split into n parts)
    fake: Callable[[], Any]
    publisher: Callable[[Any, httpx.AsyncClient], Publisher]
    record: Callable[[Any], list[Part]]  # the live parts, in the order they were made
    create: Callable[[Any], Any]  # the route key of the request that makes a part
    #: (fake, "5xx" | "429", after); None: the fake's ``fail_next(create, 503 | 429)``
    refuse: Callable[[Any, str, int], None] | None = None
    chained: bool = False  # whether later parts reply to the previous one
    safe_resend: bool = False  # a lost answer is resolved without asking the owner


def _tg_refuse(fake: FakeTelegram, kind: str, after: int) -> None:
    if kind == "5xx":
        fake.fail_next("sendMessage", error_code=502, description="Bad Gateway", after=after)
    else:
        fake.fail_next(
            "sendMessage", error_code=429, description="Too Many", retry_after=7, after=after
        )


def _bsky_record(fake: FakeBluesky) -> list[Part]:
    parts = []
    for r in fake.posts:
        reply = r.value.get("reply")
        parts.append(Part(r.uri, r.text, reply["parent"]["uri"] if reply else None))
    return parts


def _x(f: FakeX, c: httpx.AsyncClient) -> XPublisher:
    auth = OAuth2UserAuth(f.access_token, f.refresh_token, f.client_id, f.client_secret)
    return XPublisher(c, base_url=f.base_url, auth=auth)


RIGS = {
    "telegram": Rig(
        "telegram",
        4096,
        FakeTelegram,
        lambda f, c: TelegramPublisher(
            c, token=f.token, chat="@nexus_channel", base_url=f.base_url
        ),
        lambda f: [Part(str(m.message_id), m.text, None) for m in f.messages("@nexus_channel")],
        create=lambda f: "sendmessage",
        refuse=_tg_refuse,
    ),
    "x": Rig(
        "x",
        280,
        FakeX,
        _x,
        lambda f: [Part(t.id, t.text, t.in_reply_to) for t in f.posts],
        create=lambda f: "/2/tweets",
        chained=True,
    ),
    "bluesky": Rig(
        "bluesky",
        300,
        FakeBluesky,
        lambda f, c: BlueskyPublisher(
            c, service=f.base_url, handle=f.handle, app_password=f.app_password
        ),
        _bsky_record,
        create=lambda f: "com.atproto.repo.createRecord",
        chained=True,
        safe_resend=True,
    ),
    "mastodon": Rig(
        "mastodon",
        500,
        FakeMastodon,
        lambda f, c: MastodonPublisher(c, base_url=f.base_url, access_token=f.token),
        lambda f: [Part(s.id, s.text, s.in_reply_to_id) for s in f.posts],
        create=lambda f: "/api/v1/statuses",
        chained=True,
        safe_resend=True,
    ),
    "discord": Rig(
        "discord",
        2000,
        FakeDiscord,
        lambda f, c: DiscordWebhookPublisher(c, webhook_url=f.webhook_url, sleep=_no_sleep),
        lambda f: [Part(m.id, m.content, None) for m in f.messages],
        create=lambda f: None,  # one webhook: one route
        refuse=lambda f, kind, after: (
            f.fail_next(502, after=after) if kind == "5xx" else f.rate_limit_next(after=after)
        ),
    ),
    "vk": Rig(
        "vk",
        16384,
        FakeVK,
        lambda f, c: VKPublisher(c, base_url=f.base_url, access_token=f.token, group_id=f.group_id),
        lambda f: [Part(str(p.id), p.message, None) for p in f.posts],
        create=lambda f: "wall.post",
        refuse=lambda f, kind, after: f.fail_next(
            "wall.post", 10 if kind == "5xx" else 6, after=after
        ),
        safe_resend=True,
    ),
    "threads": Rig(
        "threads",
        500,
        FakeThreads,
        lambda f, c: ThreadsPublisher(
            c, base_url=f.base_url, access_token=f.token, user_id=f.user_id
        ),
        lambda f: [Part(p.id, p.text, p.reply_to_id) for p in f.media.values() if not p.deleted],
        create=lambda f: f"/{f.user_id}/threads_publish",
        refuse=lambda f, kind, after: f.fail_next(
            f"/{f.user_id}/threads_publish", 2 if kind == "5xx" else 4, after=after
        ),
        chained=True,
    ),
}


def thread_text(parts: int, limit: int, seed: int) -> str:
    """A text of ``parts`` paragraphs, each about 70% of a part, so it splits into ``parts``."""
    words = max(3, int(limit * 0.7) // 8)
    return "\n\n".join(" ".join(f"p{i}w{j:03d}s{seed}" for j in range(words)) for i in range(parts))


@pytest.fixture(scope="module")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for every example (migrating each time would be slow)."""
    path = tmp_path_factory.mktemp("db") / "template.sqlite3"
    asyncio.run(migrate_to(path))
    return path


async def migrate_to(path: Path) -> None:
    """A SQLite file at ``path`` with the schema up to date."""
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    await upgrade(engine)
    await engine.dispose()


class Owner(SilentNotifier):
    def __init__(self) -> None:
        self.questions: list[int] = []

    async def publication_unsure(self, publication_id: int) -> None:
        self.questions.append(publication_id)


async def scenario(
    rig: Rig, db: Path, parts: int, fault: str, at: int, seed: int
) -> tuple[list[str], list[Part], Publication, int]:
    """Publish a thread of ``parts`` parts with ``fault`` at part ``at``; the expected texts,
    the platform's record, the publication and how many questions the owner got."""
    clock = FakeClock()
    engine = create_engine(f"sqlite+aiosqlite:///{db}")
    sessions = make_session_factory(engine)
    owner = Owner()
    fake = rig.fake()
    timeout = 0.1 if fault == "slow" else 5.0  # "slow": the answer comes after the timeout
    async with fake, httpx.AsyncClient(timeout=timeout) as http:
        if isinstance(fake, FakeTelegram):
            fake.add_channel("nexus_channel")
        publisher = rig.publisher(fake, http)
        text = thread_text(parts, rig.limit, seed)
        expected = getattr(publisher, "split", telegram_split)(text)
        assert len(expected) == parts
        async with sessions() as session:
            session.add(User(id=OWNER, language="en"))
            await repo.ensure_account(session, rig.platform, "target")
            post = Post(author_id=OWNER, brief="b", text=text, offline=True)
            session.add(post)
            await session.commit()
            assert await schedule_post(session, post, clock.now())

        def dispatcher() -> PublicationDispatcher:
            return PublicationDispatcher(
                sessions, lambda account: publisher, owner, clock, DispatchConfig()
            )

        create = rig.create(fake)
        assert isinstance(fake, LosesAnswers)
        if fault == "lost":
            fake.lose_answer(create, "drop", after=at)
        elif fault == "slow":
            fake.lose_answer(create, "slow", seconds=1.0, after=at)
        elif fault == "crash":
            fake.lose_answer(create, "hang", after=at)
        elif rig.refuse is None:
            fake.fail_next(create, 503 if fault == "5xx" else 429, after=at)
        else:
            rig.refuse(fake, fault, at)

        async def publication() -> Publication:
            async with sessions() as session:
                return (await session.scalars(select(Publication))).one()

        if fault == "crash":
            run = asyncio.create_task(dispatcher().run_once())
            await asyncio.wait_for(fake.hanging.wait(), 5)
            run.cancel()  # the process stops here, the part made, its answer unheard
            with pytest.raises(asyncio.CancelledError):
                await run
            fake.release()
            clock.advance(minutes=11)  # past the lease
            assert await dispatcher().recover() == 1

        for _ in range(30):
            pub = await publication()
            if pub.status == PublicationStatus.UNKNOWN:
                await answer_as_a_person(rig, fake, publisher, sessions, pub, parts, clock)
                continue
            if pub.status in (PublicationStatus.PUBLISHED, PublicationStatus.FAILED):
                break
            due = await dispatcher().next_due()
            if due is not None and due > clock.now():
                clock.current = due
            await dispatcher().run_once()
        record = rig.record(fake)
    await engine.dispose()
    return [str(p) for p in expected], record, await _final(db), len(owner.questions)


async def _final(db: Path) -> Publication:
    engine = create_engine(f"sqlite+aiosqlite:///{db}")
    async with make_session_factory(engine)() as session:
        pub = (await session.scalars(select(Publication))).one()
    await engine.dispose()
    return pub


async def answer_as_a_person(
    rig: Rig, fake: Any, publisher: Publisher, sessions: Any, pub: Publication, parts: int, clock
) -> None:
    """Look at the platform: the whole thread → "Yes"; otherwise "Send again", first deleting
    what the unknown attempt left beyond the recorded parts where a resend would repeat it (a
    platform that dedups returns that part to the resend instead, so it stays)."""
    live = rig.record(fake)
    async with sessions() as session:
        if len(live) == parts:
            assert await confirm_posted(session, pub.id, clock.now())
            return
        recorded = pub.part_ids.split(",") if pub.part_ids else []
        for stray in live[len(recorded) :] if not rig.safe_resend else []:
            await publisher.delete(stray.id)
        assert await send_again(session, pub.id, clock.now())


@pytest.mark.parametrize("platform", sorted(RIGS))
@settings(
    max_examples=5,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_a_thread_is_whole_in_order_and_never_doubled(
    platform: str, template_db: Path, tmp_path: Path, data: st.DataObject
) -> None:
    rig = RIGS[platform]
    parts = data.draw(st.integers(1, 3), label="parts")
    fault = data.draw(st.sampled_from(FAULTS), label="fault")
    at = data.draw(st.integers(0, parts - 1), label="at part")
    db = tmp_path / f"{platform}-{parts}-{fault}-{at}.sqlite3"
    shutil.copyfile(template_db, db)
    expected, record, pub, questions = asyncio.run(scenario(rig, db, parts, fault, at, 1))
    db.unlink()

    texts = [p.text for p in record]
    assert len(texts) == len(set(texts)), f"a part appears twice: {texts}"
    assert texts == expected[: len(texts)], "the parts are out of order or one is missing"
    if rig.chained:
        for before, after in zip(record, record[1:], strict=False):
            assert after.reply_to == before.id, "a part does not reply to the one before it"
    assert pub.status == PublicationStatus.PUBLISHED
    assert texts == expected, "reported published while the thread is not whole"
    asked = fault == "crash" or (fault == "lost" and not rig.safe_resend)
    assert questions == (1 if asked else 0)
    if not asked:
        assert pub.part_ids == ",".join(p.id for p in record)  # every part's id, by index
