"""Photos from the chat: a photo with a caption is a brief with its image, an album joins one
draft, a photo alone goes to the latest draft; images are stored under the data dir and go out
with the post, fitted to each platform (Telegram's album, Mastodon's attachments)."""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable
from pathlib import Path

from PIL import Image
from sqlalchemy import select

from bot.app import Nexus, ensure_first_brand
from storage import repositories as repo
from storage.models import PostMedia, Publication, PublicationStatus
from tests.conftest import CHANNEL, OWNER
from tests.fakes.fixtures import picture
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.telegram import FakeTelegram
from tests.test_e2e_drafts import button, is_preview, tap

StartNexus = Callable[..., Awaitable[Nexus]]


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
    assert "1 image attached" in preview.text and "new logo" in preview.text.lower()
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
    await ensure_first_brand(nexus)
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
    await tg.wait_message(OWNER, lambda m: is_preview(m) and "3 images attached" in m.text)
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
    await tg.wait_message(OWNER, lambda m: is_preview(m) and "1 image attached" in m.text)
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
    assert "attached" not in preview.text
    assert await stored_media(nexus) == []


def colour_of(data: bytes | None) -> str:
    """ "red", "green", "blue" or "yellow": the colour of a plain test picture after JPEG."""
    with Image.open(io.BytesIO(data or b"")) as image:
        r, g, b = image.convert("RGB").getpixel((image.width // 2, image.height // 2))
    names = {"red": (255, 0, 0), "green": (0, 255, 0), "blue": (0, 0, 255), "yellow": (255, 255, 0)}
    return min(
        names, key=lambda n: sum(abs(a - c) for a, c in zip(names[n], (r, g, b), strict=True))
    )


async def answer_to(tg: FakeTelegram, query_id: str) -> str:
    await tg.wait_for(lambda: query_id in tg.callback_answers)
    return str(tg.callback_answers[query_id].get("text", ""))


async def media_colours(nexus: Nexus, tmp_path: Path) -> list[str]:
    async with nexus.sessions() as session:
        rows = list(await session.scalars(select(PostMedia).order_by(PostMedia.position)))
    assert len({m.position for m in rows}) == len(rows)  # the order is never a tie
    return [colour_of((tmp_path / "data" / m.path).read_bytes()) for m in rows]


async def test_images_view_takes_one_off_and_the_post_goes_out_without_it(
    tg: FakeTelegram, nexus: Nexus, tmp_path: Path
) -> None:
    red, green, blue, yellow = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)
    await tg.user_sends_photo(
        OWNER, "three shots from the launch", image=picture(colour=red), media_group_id="g1"
    )
    for colour in (green, blue):
        await tg.user_sends_photo(OWNER, image=picture(colour=colour), media_group_id="g1")
    preview = await tg.wait_message(OWNER, lambda m: is_preview(m) and "3 images" in m.text)

    await tap(tg, preview, "Images (3)")
    view = await tg.wait_message(
        OWNER, lambda m: m.message_id == preview.message_id and "in the order they go out" in m.text
    )
    assert "1. 64×48 JPEG" in view.text and "3. 64×48 JPEG" in view.text
    labels = [label for label, _ in view.buttons()]
    assert labels[:3] == ["🗑 1", "🗑 2", "🗑 3"] and "🗑 Remove all" in labels
    stale_remove_first = button(view, "🗑 1")

    answer = await answer_to(tg, await tap(tg, view, "🗑 2"))
    assert "Image 2 is off draft" in answer
    after = await tg.wait_message(
        OWNER, lambda m: m.message_id == preview.message_id and "2 images" in m.text
    )
    assert "3. " not in after.text and [label for label, _ in after.buttons()][:2] == ["🗑 1", "🗑 2"]
    assert await media_colours(nexus, tmp_path) == ["red", "blue"]

    # a tap on the view as it was before does nothing but say so
    answer = await answer_to(
        tg, await tg.user_taps(OWNER, preview.message_id, stale_remove_first, force=True)
    )
    assert "out of date" in answer
    assert await media_colours(nexus, tmp_path) == ["red", "blue"]

    # a photo sent now goes after the others, not into the removed one's place
    await tg.user_sends_photo(OWNER, image=picture(colour=yellow))
    fresh = await tg.wait_message(OWNER, lambda m: is_preview(m) and "3 images" in m.text)
    assert await media_colours(nexus, tmp_path) == ["red", "blue", "yellow"]

    # 👁 sends them into the chat, numbered, and the images view comes back under them
    shown_from = max(m.message_id for m in tg.messages(OWNER))
    await tap(tg, fresh, "Images (3)")
    view = await tg.wait_message(OWNER, lambda m: "in the order they go out" in m.text)
    await tap(tg, view, "Show them")
    await tg.wait_for(
        lambda: len([m for m in tg.messages(OWNER) if m.photo and m.message_id > shown_from]) == 3
    )
    album = [m for m in tg.messages(OWNER) if m.photo and m.message_id > shown_from]
    assert [m.text for m in album] == ["1", "2", "3"]
    assert [colour_of(m.file) for m in album] == ["red", "blue", "yellow"]
    below = await tg.wait_message(
        OWNER,
        lambda m: m.message_id > album[-1].message_id and "in the order they go out" in m.text,
    )
    [pointer] = [m for m in tg.messages(OWNER) if m.message_id == view.message_id]
    assert "its images and buttons are below" in pointer.text and pointer.buttons() == []

    await tap(tg, below, "Back")
    back = await tg.wait_message(
        OWNER, lambda m: m.message_id == below.message_id and is_preview(m)
    )
    await tap(tg, back, "Approve")
    await nexus.dispatcher.run_once()
    await tg.wait_for(lambda: len(tg.messages(CHANNEL)) == 3)
    assert [colour_of(m.file) for m in tg.messages(CHANNEL)] == ["red", "blue", "yellow"]


async def test_remove_all_leaves_a_text_post(tg: FakeTelegram, nexus: Nexus) -> None:
    await tg.user_sends_photo(OWNER, "a post that needs no picture", image=picture())
    preview = await tg.wait_message(OWNER, lambda m: is_preview(m) and "1 image attached" in m.text)
    await tap(tg, preview, "Images (1)")
    view = await tg.wait_message(OWNER, lambda m: "in the order they go out" in m.text)
    answer = await answer_to(tg, await tap(tg, view, "Remove all"))
    assert "Every image is off draft" in answer
    empty = await tg.wait_message(
        OWNER, lambda m: m.message_id == preview.message_id and "has no images now" in m.text
    )
    assert [label for label, _ in empty.buttons()] == ["« Back"]
    assert await stored_media(nexus) == []

    await tap(tg, empty, "Back")
    back = await tg.wait_message(
        OWNER, lambda m: m.message_id == preview.message_id and is_preview(m)
    )
    assert "🖼" not in back.text and not any("Images" in b for b, _ in back.buttons())
    await tap(tg, back, "Approve")
    post = await tg.wait_message(CHANNEL)
    assert not post.photo and "no picture" in post.text
