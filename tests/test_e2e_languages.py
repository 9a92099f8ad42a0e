"""End to end in Ukrainian: an owner whose Telegram speaks Ukrainian reads Ukrainian everywhere,
from the command menu to a scheduled post's date, through the loopback Telegram server."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.app import Nexus
from tests.conftest import OWNER
from tests.fakes.telegram import FakeMessage, FakeTelegram
from ui.texts import Texts

StartNexus = Callable[..., Awaitable[Nexus]]
UKRAINIAN = 3003
UK = Texts("uk")


def button(message: FakeMessage, label: str) -> str:
    for text, data in message.buttons():
        if label in text:
            return data
    raise AssertionError(f"no button {label!r} in {message.buttons()}")


async def test_a_ukrainian_owner_reads_ukrainian(
    tg: FakeTelegram, nexus_factory: StartNexus
) -> None:
    tg.add_user(UKRAINIAN, "Власник", "uk")
    await nexus_factory(NEXUS_OWNER_IDS=f"{OWNER},{UKRAINIAN}", NEXUS_TIMEZONE="Europe/Kyiv")

    menus = {c.params.get("language_code"): c.params["commands"] for c in tg.calls
             if c.method == "setMyCommands"}  # fmt: skip
    assert {None, "ru", "uk"} <= set(menus)
    new = next(c for c in menus["uk"] if c["command"] == "new")
    assert new["description"] == "Чернетка допису: /new <про що допис>"

    await tg.user_sends(UKRAINIAN, "/start")
    welcome = await tg.wait_message(UKRAINIAN, lambda m: "Nexus" in m.text and "🔑" not in m.text)
    assert "пише дописи голосом вашого бренду" in welcome.text

    await tg.user_sends(UKRAINIAN, "анонс версії 2.3")
    preview = await tg.wait_message(UKRAINIAN, lambda m: "Чернетка #" in m.text)
    labels = [text for text, _ in preview.buttons()]
    assert "✅ Схвалити й опублікувати" in labels and "🗓 Запланувати" in labels

    await tg.user_taps(UKRAINIAN, preview.message_id, button(preview, "Запланувати"))
    menu = await tg.wait_message(UKRAINIAN, lambda m: "Коли опублікувати" in m.text)
    await tg.user_taps(UKRAINIAN, menu.message_id, button(menu, UK.plain("sched.other")))
    await tg.wait_message(UKRAINIAN, lambda m: "Надішліть час" in m.text)
    await tg.user_sends(UKRAINIAN, "завтра в 9:00")
    card = await tg.wait_message(UKRAINIAN, lambda m: "заплановано" in m.text)
    assert "пн, 23 листопада 2026, 09:00 (Europe/Kyiv)" in card.text  # the catalogue's words
    assert not any(word in card.text for word in ("Черновик", "ноября", "Draft", "Nov"))

    await tg.user_sends(UKRAINIAN, "/slots sat 11:00; sun 10:00")
    slots = await tg.wait_message(UKRAINIAN, lambda m: "сб 11:00" in m.text)
    assert "нд 10:00" in slots.text  # Ukrainian's own weekday names, not Russian's "вс"
