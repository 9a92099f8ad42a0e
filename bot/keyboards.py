"""Inline keyboards. Each function returns the markup for one situation."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import (
    DraftAct,
    DraftCb,
    DraftsPageCb,
    OpenDraftCb,
    RegenCb,
    RetryDraftCb,
    VoiceCb,
    VoiceField,
)
from bot.texts import Texts

#: Regeneration presets: (catalogue key of the button, instruction given to the AI).
REGEN_PRESETS: tuple[tuple[str, str | None], ...] = (
    ("regen.shorter", "Make it noticeably shorter."),
    ("regen.longer", "Make it longer, with more detail."),
    ("regen.formal", "Make the tone more formal."),
    ("regen.casual", "Make the tone more casual and friendly."),
    ("regen.cta", "End with a clear call to action."),
    ("regen.again", None),
)
#: RegenCb.preset values that are not indexes into REGEN_PRESETS.
REGEN_ASK_OWN = -1  # ask the owner for an instruction
REGEN_REPLIED = -2  # retry: the instruction is the message the button's message replies to


def _button(
    text: str, callback: DraftCb | RegenCb | RetryDraftCb | VoiceCb
) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=callback.pack())


def draft_keyboard(t: Texts, post_id: int, version: int) -> InlineKeyboardMarkup:
    def cb(act: DraftAct) -> DraftCb:
        return DraftCb(act=act, post=post_id, v=version)

    return InlineKeyboardMarkup(
        inline_keyboard=[
            [_button(t.plain("btn.approve"), cb(DraftAct.APPROVE))],
            [
                _button(t.plain("btn.edit"), cb(DraftAct.EDIT)),
                _button(t.plain("btn.regenerate"), cb(DraftAct.REGENERATE)),
                _button(t.plain("btn.reject"), cb(DraftAct.REJECT)),
            ],
        ]
    )


def regenerate_keyboard(t: Texts, post_id: int, version: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for index, (key, _instruction) in enumerate(REGEN_PRESETS):
        builder.add(_button(t.plain(key), RegenCb(post=post_id, v=version, preset=index)))
    builder.add(
        _button(t.plain("regen.own"), RegenCb(post=post_id, v=version, preset=REGEN_ASK_OWN))
    )
    builder.add(_button(t.plain("btn.back"), DraftCb(act=DraftAct.BACK, post=post_id, v=version)))
    builder.adjust(2, 2, 2, 1, 1)
    return builder.as_markup()


def single_button(text: str, callback: DraftCb | RegenCb | RetryDraftCb) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[_button(text, callback)]])


def drafts_keyboard(
    t: Texts, items: list[tuple[int, str]], page: int, has_next: bool
) -> InlineKeyboardMarkup:
    rows = [
        [
            InlineKeyboardButton(
                text=t.plain("btn.open", post_id=post_id, snippet=snippet),
                callback_data=OpenDraftCb(post=post_id).pack(),
            )
        ]
        for post_id, snippet in items
    ]
    nav = []
    if page > 0:
        nav.append(
            InlineKeyboardButton(
                text=t.plain("btn.prev"), callback_data=DraftsPageCb(page=page - 1).pack()
            )
        )
    if has_next:
        nav.append(
            InlineKeyboardButton(
                text=t.plain("btn.next"), callback_data=DraftsPageCb(page=page + 1).pack()
            )
        )
    if nav:
        rows.append(nav)
    return InlineKeyboardMarkup(inline_keyboard=rows)


def voice_keyboard(t: Texts) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for field in VoiceField:
        label = t.plain(f"voice.field.{field.value}")
        builder.add(_button(label[:1].upper() + label[1:], VoiceCb(field=field)))
    builder.add(_button(t.plain("voice.clear"), VoiceCb(field=None)))
    builder.adjust(3, 2, 1)
    return builder.as_markup()
