"""/stats: a chart and the numbers of the last 7 or 30 days, per platform or all; "📊 Stats"
under a published post; and Telegram's channel reaction counts, stored as that post's likes."""

from __future__ import annotations

import asyncio
import html
import logging
from zoneinfo import ZoneInfo

from aiogram import Bot, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    Message,
    MessageReactionCountUpdated,
)
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.previews import branded
from handlers.routing import TappedMessage, needs
from metrics.best_time import MIN_POSTS, best_time
from metrics.campaigns import campaign_figures
from metrics.chart import render_chart
from metrics.learning import acceptance
from metrics.reactions import record_reaction_count
from metrics.stats import Overview, overview, post_targets
from publishers.registry import PLATFORMS
from scheduler.clock import Clock
from scheduler.slots import describe_slots
from storage.roles import Can
from storage.teams import Seat
from ui import views
from ui.callbacks import PostStatsCb, StatsCb
from ui.dates import weekday_names
from ui.keyboards import STATS_PERIODS, stats_keyboard
from ui.learning import acceptance_lines
from ui.texts import Html, Texts

log = logging.getLogger(__name__)

#: Telegram's limit on a photo caption (after entity parsing; markup is counted here too, which
#: only errs on the safe side).
CAPTION_LIMIT = 1024


def _platform_title(t: Texts, key: str) -> str:
    if not key:
        return t.plain("stats.all")
    return PLATFORMS[key].title if key in PLATFORMS else key


def _number(value: float | None) -> str:
    if value is None:
        return "0"
    return f"{value:g}" if isinstance(value, float) else str(value)


async def _caption(
    session: AsyncSession,
    t: Texts,
    tz: ZoneInfo,
    ov: Overview,
    clock: Clock,
    days: int,
    brand_id: int,
) -> str:
    stats = ov.stats
    platform = stats.platform or ""
    lines = [
        t("stats.head", days=days, platform=_platform_title(t, platform)),
        t("stats.posts", posts=stats.posts, publications=stats.publications),
        t(
            "stats.engagement",
            total=stats.total_engagement,
            median=_number(stats.median_engagement),
        ),
    ]
    if stats.best is not None:
        best = stats.best
        values = {"post_id": best.post_id, "target": best.target, "engagement": best.engagement}
        if best.url:
            link = Html(f'<a href="{html.escape(best.url)}">{t("stats.link")}</a>')
            lines.append(t("stats.best", link=link, **values))
        else:
            lines.append(t("stats.best_nolink", **values))
    if not platform and len(stats.platforms) > 1:
        lines += [
            t(
                "stats.platform_line",
                platform=_platform_title(t, p.platform),
                posts=p.posts,
                engagement=p.engagement,
            )
            for p in stats.platforms
        ]
    lines += [
        t("stats.followers", target=f.target, first=f.first, last=f.last, change=f"{f.change:+d}")
        for f in stats.followers
    ]
    best_slot = await best_time(
        session, now=clock.now(), tz=tz, brand_id=brand_id, platform=stats.platform
    )
    if best_slot is None:
        lines.append(t("stats.best_time_unknown", count=MIN_POSTS))
    else:
        names = weekday_names(t)
        when = describe_slots([(best_slot.weekday, best_slot.minute)], names)
        lines.append(t("stats.best_time", when=f"{when} ({tz.key})"))
    lines += [
        t.n("plan.stats_line", c.posts, title=c.title, published=c.published, views=f"{c.views:,}")
        for c in await campaign_figures(session, brand_id=brand_id)
    ]
    ai = ov.ai
    tokens = ai.input_tokens + ai.output_tokens
    lines.append(t("stats.ai", calls=ai.calls, tokens=tokens, cost=f"{ai.cost_usd:.2f}"))
    lines += acceptance_lines(t, await acceptance(session, clock.now(), brand_id=brand_id))
    lines.append(spend_line(t, ov))
    return "\n".join(lines)


def spend_line(t: Texts, ov: Overview) -> str:
    """ "This month: AI $1.23 · platforms $4.56 (X 23 posts)": what posting costs, next to
    what drafting costs."""
    platforms = sum(s.cost_usd for s in ov.spend)
    each = ", ".join(t.n("stats.spend_platform", s.posts, platform=s.platform) for s in ov.spend)
    return t(
        "stats.spend",
        ai=f"{ov.ai.cost_usd:.2f}",
        platforms=f"{platforms:.2f}",
        detail=Html(f" ({each})" if each else ""),
    )


async def send_stats(
    bot: Bot,
    session: AsyncSession,
    t: Texts,
    tz: ZoneInfo,
    clock: Clock,
    *,
    chat_id: int,
    days: int,
    platform: str,
    brand_id: int,
) -> None:
    """The brand's chart as a photo with the numbers as its caption (or in a follow-up message
    when they do not fit), and the period/platform buttons; without posts, a friendly line."""
    ov = await overview(
        session,
        now=clock.now(),
        days=days,
        platform=platform or None,
        tz=tz,
        brand_id=brand_id,
    )
    choices = [(key, _platform_title(t, key)) for key in ov.platforms]
    markup = stats_keyboard(t, days=days, platform=platform, platforms=choices)
    title = _platform_title(t, platform)
    if ov.stats.empty:
        learning = acceptance_lines(t, await acceptance(session, clock.now(), brand_id=brand_id))
        await bot.send_message(
            chat_id,
            branded(
                session, t, "\n".join([t("stats.empty", days=days, platform=title), *learning])
            ),
            reply_markup=markup,
        )
        return
    caption = branded(session, t, await _caption(session, t, tz, ov, clock, days, brand_id))
    png = await asyncio.to_thread(
        render_chart,
        ov.stats.days,
        title=t.plain("stats.chart_title", days=days, platform=title),
        engagement_label=t.plain("stats.chart_engagement"),
        posts_label=t.plain("stats.chart_posts"),
    )
    photo = BufferedInputFile(png, filename="stats.png")
    if len(caption) <= CAPTION_LIMIT:
        await bot.send_photo(chat_id, photo, caption=caption, reply_markup=markup)
        return
    await bot.send_photo(chat_id, photo, caption=caption.split("\n", 1)[0] + "\n" + t("stats.more"))
    await bot.send_message(chat_id, caption, reply_markup=markup)


async def on_stats(
    message: Message,
    bot: Bot,
    session: AsyncSession,
    seat: Seat,
    t: Texts,
    tz: ZoneInfo,
    clock: Clock,
) -> None:
    await send_stats(
        bot,
        session,
        t,
        tz,
        clock,
        chat_id=message.chat.id,
        days=STATS_PERIODS[0],
        platform="",
        brand_id=seat.brand.id,
    )


async def on_stats_switch(
    query: CallbackQuery,
    callback_data: StatsCb,
    message: Message,
    bot: Bot,
    session: AsyncSession,
    seat: Seat,
    t: Texts,
    tz: ZoneInfo,
    clock: Clock,
) -> None:
    """A period or platform button: the old chart makes way for the new one (a photo cannot
    become a different photo by editing its caption)."""
    await query.answer()
    days = callback_data.days if callback_data.days in STATS_PERIODS else STATS_PERIODS[0]
    platform = callback_data.pf if callback_data.pf in PLATFORMS else ""
    try:
        await message.delete()
    except TelegramBadRequest as exc:  # too old to delete (48 h): just send the new one
        log.info("could not delete the old stats message: %s", exc)
    await send_stats(
        bot,
        session,
        t,
        tz,
        clock,
        chat_id=query.from_user.id,
        days=days,
        platform=platform,
        brand_id=seat.brand.id,
    )


async def on_post_stats(
    query: CallbackQuery,
    callback_data: PostStatsCb,
    bot: Bot,
    session: AsyncSession,
    t: Texts,
    tz: ZoneInfo,
) -> None:
    post_id = callback_data.post
    lines = await post_targets(session, post_id)
    if not lines:
        await query.answer(t.plain("post.stats.none", post_id=post_id), show_alert=True)
        return
    await query.answer()
    rows = [t("post.stats.head", post_id=post_id)]
    for line in lines:
        link = Html(f'<a href="{html.escape(line.url)}">{t("stats.link")}</a>') if line.url else "—"
        synced = (
            t("post.stats.synced", when=views.when(t, line.metrics_at, tz))
            if line.metrics_at
            else t("post.stats.never")
        )
        rows.append(
            t(
                "post.stats.line",
                target=line.target,
                likes=line.likes,
                reposts=line.reposts,
                replies=line.replies,
                views=Html(t("post.stats.views", views=line.views))
                if line.views is not None
                else "",
                link=link,
                synced=Html(synced),
            )
        )
    await bot.send_message(query.from_user.id, "\n".join(rows))


async def on_reaction_count(
    event: MessageReactionCountUpdated, session: AsyncSession, clock: Clock
) -> None:
    """Telegram's anonymous reaction totals of a channel message: all kinds count as likes."""
    likes = sum(reaction.total_count for reaction in event.reactions)
    await record_reaction_count(
        session,
        chat_id=event.chat.id,
        username=event.chat.username,
        message_id=event.message_id,
        likes=likes,
        now=clock.now(),
    )


def router() -> Router:
    r = Router(name="stats")
    r.message.register(on_stats, Command("stats"), flags=needs(Can.VIEW))
    r.callback_query.filter(TappedMessage())
    r.callback_query.register(on_stats_switch, StatsCb.filter(), flags=needs(Can.VIEW))
    r.callback_query.register(on_post_stats, PostStatsCb.filter(), flags=needs(Can.VIEW))
    r.message_reaction_count.register(on_reaction_count)
    return r
