"""The UI of review: the review card (the draft's preview under what the review stands at), its
buttons, the lines its author is told, and the /review settings of a brand."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from storage.models import Brand, ReviewFallback
from ui import views
from ui.callbacks import ReviewAct, ReviewCb, ReviewSet, ReviewSetCb
from ui.fit import fit_html
from ui.texts import Texts

#: The timeouts /review offers, in hours.
TIMEOUT_HOURS = (1, 4, 12, 24, 48, 72)
#: The fallbacks in the order /review offers them (a button carries the index).
FALLBACKS = tuple(ReviewFallback)


@dataclass(frozen=True)
class CardState:
    """What a review card says above the draft."""

    brand: str
    author: str
    #: When it goes out once approved (None: right after approval).
    when: datetime | None
    approvals: Sequence[str]
    required: int
    #: When the brand's fallback applies, and which one.
    due: datetime | None
    fallback: str
    #: An edit during review voided earlier approvals.
    voided: bool = False
    #: The end of the review, one finished line (None while it waits).
    outcome: str | None = None


def when_text(t: Texts, moment: datetime | None, tz: ZoneInfo) -> str:
    return views.when(t, moment, tz) if moment is not None else t.plain("review.when_now")


def card(t: Texts, state: CardState, preview: str, tz: ZoneInfo) -> str:
    """The review card: who asks, when it goes out, who approved, the fallback, then the
    preview; once decided, the outcome on top."""
    lines = [] if state.outcome is None else [state.outcome, ""]
    lines.append(t("review.card.head", brand=state.brand, author=state.author))
    lines.append(t("review.card.when", when=when_text(t, state.when, tz)))
    names = ", ".join(state.approvals) or t.plain("review.card.nobody")
    lines.append(
        t(
            "review.card.approvals",
            count=len(state.approvals),
            required=state.required,
            names=names,
        )
    )
    if state.voided:
        lines.append(t("review.card.voided"))
    if state.outcome is None and state.due is not None:
        fallback = t.plain(f"review.fallback.{state.fallback}")
        lines.append(t("review.card.due", due=views.when(t, state.due, tz), fallback=fallback))
    return fit_html("\n".join([*lines, "", preview]))


def card_keyboard(t: Texts, post_id: int, version: int) -> InlineKeyboardMarkup:
    def button(key: str, act: ReviewAct) -> InlineKeyboardButton:
        data = ReviewCb(act=act, post=post_id, v=version).pack()
        return InlineKeyboardButton(text=t.plain(key), callback_data=data)

    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                button("btn.review.approve", ReviewAct.APPROVE),
                button("btn.review.changes", ReviewAct.CHANGES),
            ],
            [
                button("btn.review.edit", ReviewAct.EDIT),
                button("btn.review.reject", ReviewAct.REJECT),
            ],
        ]
    )


def settings(t: Texts, brand: Brand, *, owner: bool, group_title: str | None = None) -> str:
    """/review: the brand's review settings (`group_title`: its review group's name, when
    Telegram told it)."""
    group = (
        t.plain("review.settings.group", title=group_title or brand.review_chat_id)
        if brand.review_chat_id is not None
        else t.plain("review.settings.no_group")
    )
    lines = [
        t(
            "review.settings",
            brand=brand.name,
            group=group,
            required=brand.approvals_required,
            hours=brand.review_timeout_minutes // 60,
            fallback=t.plain(f"review.fallback.{brand.review_fallback}"),
            editors=t.plain(
                "review.settings.yes" if brand.editors_publish else "review.settings.no"
            ),
        )
    ]
    if not owner:
        lines.append(t("review.settings.owners_only"))
    return "\n".join(lines)


def settings_keyboard(t: Texts, brand: Brand) -> InlineKeyboardMarkup:
    def button(
        label: str, what: ReviewSet, value: int = 0, current: bool = False
    ) -> InlineKeyboardButton:
        text = t.plain("btn.review.current", label=label) if current else label
        data = ReviewSetCb(set=what, brand=brand.id, value=value).pack()
        return InlineKeyboardButton(text=text, callback_data=data)

    approvals = [
        button(
            t.plain("btn.review.approvals", count=n),
            ReviewSet.APPROVALS,
            n,
            n == brand.approvals_required,
        )
        for n in (1, 2, 3)
    ]
    minutes = brand.review_timeout_minutes
    timeouts = [
        button(t.plain("btn.review.timeout", hours=h), ReviewSet.TIMEOUT, h, h * 60 == minutes)
        for h in TIMEOUT_HOURS
    ]
    fallbacks = [
        button(
            t.plain(f"btn.review.fallback.{f}"), ReviewSet.FALLBACK, i, f == brand.review_fallback
        )
        for i, f in enumerate(FALLBACKS)
    ]
    editors = "btn.review.editors_on" if brand.editors_publish else "btn.review.editors_off"
    rows = [
        approvals,
        timeouts[:3],
        timeouts[3:],
        fallbacks,
        [button(t.plain(editors), ReviewSet.EDITORS)],
    ]
    if brand.review_chat_id is not None:
        rows.append([button(t.plain("btn.review.unbind"), ReviewSet.UNBIND)])
    return InlineKeyboardMarkup(inline_keyboard=rows)
