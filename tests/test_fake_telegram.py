"""The fake Telegram server enforces Telegram's rules and speaks aiogram's wire format."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.filters import CommandStart
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)

from tests.fakes.fixtures import picture
from tests.fakes.telegram import FakeTelegram, parse_html

OWNER = 1001


@pytest.fixture
async def tg():
    async with FakeTelegram() as fake:
        fake.add_user(OWNER)
        yield fake


@pytest.fixture
async def api(tg: FakeTelegram):
    async with httpx.AsyncClient(base_url=f"{tg.base_url}/bot{tg.token}/") as client:
        yield client


@pytest.fixture
async def bot(tg: FakeTelegram):
    session = AiohttpSession(api=TelegramAPIServer.from_base(tg.base_url))
    bot = Bot(tg.token, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))
    yield bot
    await bot.session.close()


# ---------------------------------------------------------------- rules
@pytest.mark.parametrize(
    "html",
    ["R&D", "a < b", "<b>bold", "<b>x</i>", "<br>", "<span>x</span>", "x</b>", "&nbsp;"],
)
async def test_bad_html_is_rejected(api: httpx.AsyncClient, html: str) -> None:
    r = await api.post("sendMessage", json={"chat_id": OWNER, "text": html, "parse_mode": "HTML"})
    assert r.status_code == 400
    body = r.json()
    assert body["ok"] is False and body["error_code"] == 400
    assert body["description"].startswith("Bad Request: can't parse entities")


def test_html_parser_entities_use_utf16_offsets() -> None:
    text, entities = parse_html('😀 <b>x &amp; y</b> <a href="https://e.x/?a=1&amp;b=2">l</a>')
    assert text == "😀 x & y l"
    assert entities == [
        {"type": "bold", "offset": 3, "length": 5},
        {"type": "text_link", "offset": 9, "length": 1, "url": "https://e.x/?a=1&b=2"},
    ]
    text, entities = parse_html('<pre><code class="language-py">x</code></pre>')
    assert entities == [{"type": "pre", "offset": 0, "length": 1, "language": "py"}]


async def test_length_is_counted_after_parsing_in_utf16(api: httpx.AsyncClient) -> None:
    fits = "<b>" + "😀" * 2048 + "</b>"  # 4096 UTF-16 units after parsing
    r = await api.post("sendMessage", json={"chat_id": OWNER, "text": fits, "parse_mode": "HTML"})
    assert r.status_code == 200, r.text
    r = await api.post("sendMessage", json={"chat_id": OWNER, "text": "😀" * 2048 + "x"})
    assert r.json()["description"] == "Bad Request: message is too long"


async def test_empty_unknown_token_and_method(tg: FakeTelegram, api: httpx.AsyncClient) -> None:
    r = await api.post("sendMessage", json={"chat_id": OWNER, "text": "  <b></b> "})
    assert r.status_code == 200  # no parse_mode: tags are plain text
    r = await api.post(
        "sendMessage", json={"chat_id": OWNER, "text": " <b> </b>", "parse_mode": "HTML"}
    )
    assert (r.status_code, r.json()["description"]) == (400, "Bad Request: message text is empty")
    r = await api.post("sendMessage", json={"chat_id": 42, "text": "hi"})
    assert (r.status_code, r.json()["description"]) == (400, "Bad Request: chat not found")
    r = await api.post("noSuchMethod")
    assert (r.status_code, r.json()["description"]) == (404, "Not Found")
    async with httpx.AsyncClient() as client:
        r = await client.post(f"{tg.base_url}/bot1:WRONG/getMe")
    assert r.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}


async def test_form_encoded_bodies_and_button_data_limit(
    tg: FakeTelegram, api: httpx.AsyncClient
) -> None:
    markup = {"inline_keyboard": [[{"text": "Go", "callback_data": "x" * 64}]]}
    r = await api.post(
        "sendMessage",
        data={"chat_id": str(OWNER), "text": "hi", "reply_markup": json.dumps(markup)},
    )
    assert r.status_code == 200, r.text
    assert tg.calls[-1].params["reply_markup"] == markup
    assert tg.calls[-1].params["chat_id"] == OWNER
    assert tg.messages(OWNER)[0].buttons() == [("Go", "x" * 64)]
    markup["inline_keyboard"][0][0]["callback_data"] = "é" * 33  # 66 bytes
    r = await api.post("sendMessage", json={"chat_id": OWNER, "text": "hi", "reply_markup": markup})
    assert r.json()["description"] == "Bad Request: BUTTON_DATA_INVALID"


async def test_channels_edits_and_deletes(tg: FakeTelegram, api: httpx.AsyncClient) -> None:
    channel = tg.add_channel("news")
    tg.add_channel("closed", bot_is_admin=False)
    r = await api.post("sendMessage", json={"chat_id": "@closed", "text": "hi"})
    assert r.status_code == 403
    assert r.json()["description"] == "Forbidden: bot is not a member of the channel chat"
    sent = (await api.post("sendMessage", json={"chat_id": "@news", "text": "v1"})).json()["result"]
    assert sent["sender_chat"]["id"] == channel and "from" not in sent
    edit = {"chat_id": channel, "message_id": sent["message_id"], "text": "v1"}
    r = await api.post("editMessageText", json=edit)
    assert r.json()["description"].startswith("Bad Request: message is not modified")
    r = await api.post("editMessageText", json={**edit, "text": "<i>v2</i>", "parse_mode": "HTML"})
    assert r.status_code == 200
    [message] = tg.messages("@news")
    assert (message.text, message.html, message.edited) == ("v2", "<i>v2</i>", True)
    del edit["text"]
    assert (await api.post("deleteMessage", json=edit)).json() == {"ok": True, "result": True}
    assert tg.messages(channel) == []
    r = await api.post("deleteMessage", json=edit)
    assert r.json()["description"] == "Bad Request: message to delete not found"


async def test_groups_have_members_and_see_the_bot_only_while_it_is_in(
    tg: FakeTelegram, api: httpx.AsyncClient
) -> None:
    tg.add_user(2002, "Rita")
    tg.add_user(3003, "Outsider")
    group = tg.add_group("Reviews", [OWNER, 2002])
    card = (await api.post("sendMessage", json={"chat_id": group, "text": "card"})).json()
    button = {"text": "ok", "callback_data": "ok"}
    markup = {"inline_keyboard": [[button]]}
    edit = {"chat_id": group, "message_id": card["result"]["message_id"], "reply_markup": markup}
    assert (await api.post("editMessageReplyMarkup", json=edit)).status_code == 200
    sent = await tg.user_sends(2002, "hello all", in_chat=group)
    assert (sent["chat"]["type"], sent["from"]["id"]) == ("supergroup", 2002)
    reply = await tg.user_sends(OWNER, "yes", in_chat=group, reply_to=sent["message_id"])
    assert reply["reply_to_message"]["text"] == "hello all"
    await tg.user_taps(2002, card["result"]["message_id"], "ok", in_chat=group)
    with pytest.raises(ValueError, match="not in group"):
        await tg.user_taps(3003, card["result"]["message_id"], "ok", in_chat=group)
    member = {"chat_id": group, "user_id": 2002}
    assert (await api.post("getChatMember", json=member)).json()["result"]["status"] == "member"

    tg.set_bot_member(group, False)  # removed: it can't write there, nor hear anything
    r = await api.post("sendMessage", json={"chat_id": group, "text": "card"})
    assert r.status_code == 403
    assert r.json()["description"] == "Forbidden: bot is not a member of the supergroup chat"
    queued = len(tg._updates)
    await tg.user_sends(2002, "anyone?", in_chat=group)
    assert len(tg._updates) == queued


async def test_photo_upload_and_media_group(tg: FakeTelegram, api: httpx.AsyncClient) -> None:
    r = await api.post(
        "sendPhoto",
        data={"chat_id": str(OWNER), "caption": "<b>pic</b>", "parse_mode": "HTML"},
        files={"photo": ("p.jpg", picture())},
    )
    assert r.status_code == 200, r.text
    file_id = r.json()["result"]["photo"][-1]["file_id"]
    r = await api.post(
        "sendPhoto", json={"chat_id": OWNER, "photo": file_id, "caption": "x" * 1025}
    )
    assert r.json()["description"] == "Bad Request: message caption is too long"
    media = [{"type": "photo", "media": file_id}, {"type": "photo", "media": "https://e.x/a.jpg"}]
    r = await api.post("sendMediaGroup", json={"chat_id": OWNER, "media": media})
    assert len(r.json()["result"]) == 2
    r = await api.post("sendMediaGroup", json={"chat_id": OWNER, "media": media[:1]})
    assert r.status_code == 400
    assert [m.photo for m in tg.messages(OWNER)] == [True, True, True]
    assert tg.messages(OWNER)[0].file == picture()
    # Telegram decodes uploads: a file that is no picture, or too oddly shaped, is refused
    for data, error in (
        (b"\xff\xd8 not really", "IMAGE_PROCESS_FAILED"),
        (picture((400, 10)), "PHOTO_INVALID_DIMENSIONS"),
    ):
        r = await api.post(
            "sendPhoto", data={"chat_id": str(OWNER)}, files={"photo": ("p.jpg", data)}
        )
        assert r.json()["description"] == f"Bad Request: {error}"


async def test_injected_failures_and_wait_for_timeout(
    tg: FakeTelegram, api: httpx.AsyncClient
) -> None:
    tg.fail_next("getMe", error_code=429, description="Too Many Requests", retry_after=3)
    r = await api.post("getMe")
    assert r.status_code == 429
    assert r.json() == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 3",
        "parameters": {"retry_after": 3},
    }
    assert (await api.post("getMe")).status_code == 200
    with pytest.raises(TimeoutError, match="getMe"):
        await tg.wait_for(lambda: False, timeout=0.05)


# ---------------------------------------------------------------- aiogram
async def test_aiogram_bot_talks_to_the_fake(tg: FakeTelegram, bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.username) == (tg.bot_id, "nexus_test_bot")
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="Approve", callback_data="ok:1")]]
    )
    sent = await bot.send_message(OWNER, "<b>R&amp;D</b>", reply_markup=keyboard)
    assert sent.text == "R&D" and sent.from_user and sent.from_user.id == tg.bot_id
    assert sent.reply_markup and sent.reply_markup.inline_keyboard[0][0].callback_data == "ok:1"
    assert tg.messages(OWNER)[0].buttons() == [("Approve", "ok:1")]
    photo = await bot.send_photo(OWNER, BufferedInputFile(picture(fmt="PNG"), "a.png"), caption="c")
    assert photo.photo and photo.caption == "c"
    channel = tg.add_channel("chan")
    chat = await bot.get_chat("@chan")
    assert (chat.id, chat.title) == (channel, "Channel chan")
    member = await bot.get_chat_member(channel, tg.bot_id)
    assert member.status == "administrator"
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(OWNER, "a <b")
    tg.add_channel("other", bot_is_admin=False)
    with pytest.raises(TelegramForbiddenError):
        await bot.send_message("@other", "x")


async def test_long_poll_returns_as_soon_as_an_update_arrives(tg: FakeTelegram, bot: Bot) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    poll = asyncio.create_task(bot.get_updates(timeout=10, allowed_updates=["message"]))
    await asyncio.sleep(0.05)
    await tg.user_sends(OWNER, "/start hello")
    [update] = await poll
    assert loop.time() - started < 2
    assert update.message and update.message.text == "/start hello"
    assert update.message.entities and update.message.entities[0].type == "bot_command"
    # Confirming with offset drops it; an empty poll with timeout=0 answers at once.
    assert await bot.get_updates(offset=update.update_id + 1, timeout=0) == []


async def test_dispatcher_polling_end_to_end(tg: FakeTelegram, bot: Bot) -> None:
    router = Router()

    @router.message(CommandStart())
    async def start(message: Message) -> None:
        button = InlineKeyboardButton(text="Tap", callback_data="tap")
        await message.answer(
            "Hi &lt;you&gt;", reply_markup=InlineKeyboardMarkup(inline_keyboard=[[button]])
        )

    @router.callback_query(F.data == "tap")
    async def tap(query: CallbackQuery) -> None:
        assert isinstance(query.message, Message)
        await query.message.edit_text("Tapped")
        await query.answer("done")

    dp = Dispatcher()
    dp.include_router(router)
    polling = asyncio.create_task(dp.start_polling(bot, handle_signals=False, polling_timeout=5))
    try:
        await tg.user_sends(OWNER, "/start")
        shown = await tg.wait_message(OWNER, lambda m: m.text == "Hi <you>")
        query_id = await tg.user_taps(OWNER, shown.message_id, "tap")
        await tg.wait_for(lambda: query_id in tg.callback_answers)
        assert tg.callback_answers[query_id]["text"] == "done"
        assert [(m.text, m.edited) for m in tg.messages(OWNER)] == [("Tapped", True)]
    finally:
        await dp.stop_polling()
        await polling
