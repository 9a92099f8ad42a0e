"""Photos from the chat: a photo with a caption is a brief with its image, an album joins one
draft, a photo alone goes to the latest draft; images are stored under the data dir and go out
with the post, fitted to each platform (Telegram's album, Mastodon's attachments)."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

from bot.app import Nexus, ensure_channel
from storage import repositories as repo
from storage.models import PostMedia, Publication, PublicationStatus
from tests.conftest import CHANNEL, OWNER
from tests.fakes.fixtures import picture
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.telegram import FakeTelegram
from tests.test_e2e_drafts import is_preview, tap

StartNexus = Callable[..., Awaitable[Nexus]]


@pytest.fixture
async def mastodon() -> AsyncIterator[FakeMastodon]:
    async with FakeMastodon() as server:
        yield server


async def stored_media(nexus: Nexus) -> list[PostMedia]:
    async with nexus.sessions() as session:
        return list(await session.scalars(select(PostMedia).order_by(PostMedia.id)))


async def test_photo_with_caption_is_a_brief_with_its_image(
    tg: FakeTelegram, nexus: Nexus, tmp_path: Path
) -> None:
    big = picture((5000, 3000))  # larger than any platform takes
    sent = await tg.user_sends_photo(OWNER, "announce the new logo", image=big)
    preview = await tg.wait_message(
        OWNER, lambda m: is_preview(m) and m.message_id > sent["message_id"]
    )
    assert "1 image(s) attached" in preview.text and "new logo" in preview.text.lower()
    [media] = await stored_media(nexus)
    # kept at most 4096 px on the long side, as a file under the data dir
    assert (media.width, media.height) == (4096, 2458)
    stored = tmp_path / "data" / media.path
    assert stored.is_file() and stored.read_bytes()[:3] == b"\xff\xd8\xff"

    await tap(tg, preview, "Approve")
    await nexus.dispatcher.run_once()  # (or the embedded scheduler, woken by the tap)
    post = await tg.wait_message(CHANNEL)
    assert post.photo and "new logo" in (post.text or "").lower()  # the caption
    with Image.open(io.BytesIO(post.file or b"")) as sent_image:
        assert max(sent_image.size) <= 2560  # fitted to Telegram's limits on the way out


async def test_an_album_joins_one_draft_and_goes_out_as_an_album(
    tg: FakeTelegram, nexus_factory: StartNexus, mastodon: FakeMastodon
) -> None:
    nexus = await nexus_factory()
    await ensure_channel(nexus)
    async with nexus.sessions() as session:
        await repo.save_account(
            session,
            "mastodon",
            "@nexus@masto.test",
            "@nexus@masto.test",
            nexus.vault.encrypt({"instance": mastodon.base_url, "access_token": mastodon.token}),
        )
        await session.commit()
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]
    await tg.user_sends_photo(
        OWNER, "three shots from the launch", image=picture(colour=colours[0]), media_group_id="g1"
    )
    for colour in colours[1:]:
        await tg.user_sends_photo(OWNER, image=picture(colour=colour), media_group_id="g1")
    await tg.wait_message(OWNER, lambda m: is_preview(m) and "3 image(s) attached" in m.text)
    preview = [m for m in tg.messages(OWNER) if is_preview(m)][-1]
    assert len(await stored_media(nexus)) == 3

    await tap(tg, preview, "Approve")
    await nexus.dispatcher.run_once()
    await tg.wait_for(lambda: len(tg.messages(CHANNEL)) == 3)
    await tg.wait_message(OWNER, lambda m: "is published" in m.text)
    channel = tg.messages(CHANNEL)
    assert [m.photo for m in channel] == [True, True, True]
    assert len({m.media_group_id for m in channel}) == 1  # one album
    assert len(mastodon.posts) == 1 and len(mastodon.posts[0].media_ids) == 3
    async with nexus.sessions() as session:
        pubs = list(await session.scalars(select(Publication)))
    assert {p.status for p in pubs} == {PublicationStatus.PUBLISHED}


async def test_a_photo_alone_joins_the_latest_draft(tg: FakeTelegram, nexus: Nexus) -> None:
    sent = await tg.user_sends(OWNER, "announce the office move")
    await tg.wait_message(OWNER, lambda m: is_preview(m) and m.message_id > sent["message_id"])
    await tg.user_sends_photo(OWNER, image=picture())
    await tg.wait_message(OWNER, lambda m: is_preview(m) and "1 image(s) attached" in m.text)
    assert len(await stored_media(nexus)) == 1


async def test_a_photo_without_a_draft_or_a_broken_file_is_explained(
    tg: FakeTelegram, nexus: Nexus
) -> None:
    await tg.user_sends_photo(OWNER, image=picture())
    await tg.wait_message(OWNER, lambda m: "Send the photo with your idea" in m.text)
    await tg.user_sends_photo(OWNER, "announce the broken file", image=b"not an image at all")
    explained = await tg.wait_message(OWNER, lambda m: "could not use that file" in m.text)
    assert "JPEG" in explained.text
    preview = await tg.wait_message(OWNER, is_preview)  # the draft itself is kept, imageless
    assert "image(s) attached" not in preview.text
    assert await stored_media(nexus) == []
