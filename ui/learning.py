"""The UI of learning: the rejection reasons, learned preferences under /voice, the acceptance
lines of /stats and the forecast line of a preview."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from metrics.forecast import Forecast
from metrics.learning import Acceptance, percent
from ui.callbacks import LearnAct, LearnCb, RejectReason, RejectReasonCb
from ui.texts import Texts

#: How a reason is stored and named in the catalogue.
REASON_NAMES: dict[RejectReason, str] = {
    RejectReason.TOO_LONG: "too_long",
    RejectReason.OFF_BRAND: "off_brand",
    RejectReason.WRONG_FACTS: "wrong_facts",
    RejectReason.TONE: "tone",
    RejectReason.NOT_NOW: "not_now",
}
#: How much of a rule fits on its 🗑 button.
DROP_LABEL_CHARS = 40


def reason_keyboard(t: Texts, post_id: int) -> InlineKeyboardMarkup:
    buttons = [
        InlineKeyboardButton(
            text=t.plain(f"learn.reason.{name}"),
            callback_data=RejectReasonCb(post=post_id, reason=reason).pack(),
        )
        for reason, name in REASON_NAMES.items()
    ]
    return InlineKeyboardMarkup(inline_keyboard=[buttons[:3], buttons[3:]])


def learned_block(t: Texts, rules: Sequence[str]) -> str:
    """The learned preferences, numbered, as a block for /voice."""
    if not rules:
        return t("learn.voice.head") + "\n" + t("learn.voice.none")
    items = [t("learn.voice.item", index=i, text=rule) for i, rule in enumerate(rules, 1)]
    return "\n".join([t("learn.voice.head"), *items, t("learn.voice.hint")])


def _short(text: str) -> str:
    return text if len(text) <= DROP_LABEL_CHARS else text[: DROP_LABEL_CHARS - 1] + "…"


def with_learning(
    t: Texts, base: InlineKeyboardMarkup, preferences: Sequence[tuple[int, str]]
) -> InlineKeyboardMarkup:
    """``base`` (the voice fields) plus one 🗑 per learned preference and "Learn now"."""
    rows = [list(row) for row in base.inline_keyboard]
    for index, (pref_id, text) in enumerate(preferences, 1):
        label = t.plain("learn.btn.drop", index=index, text=_short(text))
        data = LearnCb(act=LearnAct.DROP, pref=pref_id).pack()
        rows.append([InlineKeyboardButton(text=label, callback_data=data)])
    now = LearnCb(act=LearnAct.NOW).pack()
    rows.append([InlineKeyboardButton(text=t.plain("learn.btn.now"), callback_data=now)])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def acceptance_lines(t: Texts, figures: Acceptance) -> list[str]:
    """/stats: approved as written this week with the trend, the median change, past weeks."""
    week, previous = figures.current, figures.previous
    if week.share is None:
        return [t("learn.stats.none")]
    head = t(
        "learn.stats.accepted",
        accepted=week.as_written,
        total=week.approved,
        share=percent(week.share),
    )
    trend = trend_text(t, week.share, previous.share if previous else None)
    lines = [f"{head}, {trend}" if trend else head]
    if week.median_change is not None:
        lines.append(t("learn.stats.median", share=percent(week.median_change)))
    shares = [percent(w.share) if w.share is not None else "—" for w in figures.weeks]
    lines.append(t("learn.stats.weeks", weeks=" → ".join(shares)))
    return lines


def trend_text(t: Texts, share: float, previous: float | None) -> str:
    """ "↑ from 40% last week", or nothing when last week had no approvals."""
    if previous is None:
        return ""
    if round(share, 2) == round(previous, 2):
        return t.plain("learn.stats.same")
    key = "learn.stats.up" if share > previous else "learn.stats.down"
    return t.plain(key, previous=percent(previous))


def forecast_line(t: Texts, forecast: Forecast) -> str:
    reason = forecast.reason
    why = t.plain(
        f"learn.forecast.{reason.name}",
        bucket=t.plain(f"learn.bucket.{reason.bucket}"),
        ratio=f"{reason.ratio:.1f}",
    )
    return t(f"learn.forecast.{forecast.verdict}", reason=why)
