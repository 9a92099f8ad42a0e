"""/plan: a week of posts proposed as one card, approved, reviewed one by one or discarded.

``/plan launch of v2.3, next week, 5 posts`` plans around a theme; ``/plan`` alone plans from
recent events and feed items. The free slots of the horizon are worked out first (an ask that
can't fit is explained before Claude is called); the plan is validated as a whole
(``ai.plans``) and stored as a proposed campaign (``scheduler.campaigns``) before its card
shows, so the card's buttons still work after a restart.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from zoneinfo import ZoneInfo

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from ai.drafter import Drafter
from ai.errors import AIError
from ai.plans import (
    DEFAULT_PLAN_POSTS,
    Plan,
    PlanAskError,
    PlanInvalid,
    PlanRequest,
    event_line,
    make_plan,
    parse_ask,
    variant_texts,
)
from ai.pricing import estimate_cost
from ai.service import load_voice
from config.settings import Settings
from handlers import review
from handlers.previews import show_preview
from handlers.routing import TYPING, TappedMessage, needs
from metrics.best_time import slot_fallback
from publishers.registry import PLATFORMS
from scheduler import campaigns, lifecycle
from scheduler.campaigns import PlannedDraft
from scheduler.clock import Clock
from storage import repositories as repo
from storage import teams
from storage.roles import Can
from storage.teams import Seat
from ui import views
from ui.callbacks import PlanAct, PlanCb
from ui.dates import moment
from ui.keyboards import plan_keyboard
from ui.texts import Texts

log = logging.getLogger(__name__)

#: With no theme, the plan draws on what happened in this many days (at most this many events).
MATERIAL_DAYS = 14
MATERIAL_EVENTS = 12
#: How many of an invalid plan's problems the owner is shown.
MAX_PROBLEMS_SHOWN = 3


async def _material(session: AsyncSession, clock: Clock) -> tuple[str, ...]:
    since = clock.now() - timedelta(days=MATERIAL_DAYS)
    events = await repo.recent_events(session, since, MATERIAL_EVENTS)
    return tuple(event_line(e.type, e.payload) for e in events)


async def on_plan(
    message: Message,
    command: CommandObject,
    bot: Bot,
    session: AsyncSession,
    drafter: Drafter,
    clock: Clock,
    seat: Seat,
    t: Texts,
    tz: ZoneInfo,
    state: FSMContext,
) -> None:
    await state.clear()
    now = clock.now()
    try:
        ask = parse_ask(command.args or "", now.astimezone(tz).date())
    except PlanAskError as exc:
        await message.answer(t(exc.key, **exc.values))
        return
    accounts = await repo.enabled_accounts(session)
    platforms = list(dict.fromkeys(a.platform for a in accounts if a.platform in PLATFORMS))
    if not platforms:
        await message.answer(t("plan.no_accounts"))
        return
    learned = await slot_fallback(session, [a.id for a in accounts], now=now, tz=tz)
    slots = await campaigns.free_slots(
        session,
        start=ask.start,
        end=ask.end,
        now=now,
        tz=tz,
        brand_id=seat.brand.id,
        fallback=learned,
    )
    count = ask.count or min(DEFAULT_PLAN_POSTS, len(slots))
    if len(slots) < max(count, 1):
        span = f"{ask.start:%d.%m}–{ask.end:%d.%m}"
        await message.answer(t("plan.too_few_slots", free=len(slots), count=count, span=span))
        return
    material = () if ask.theme else await _material(session, clock)
    if not ask.theme and not material:
        await message.answer(t("plan.nothing_to_plan"))
        return
    in_english = Texts("en")  # the slots as Claude reads them
    request = PlanRequest(
        count=count,
        slots=[moment(in_english, s, tz) for s in slots],
        platforms=platforms,
        theme=ask.theme,
        material=material,
        voice=await load_voice(session),
    )
    await session.commit()  # no transaction open during the AI call
    progress = await message.answer(t.n("plan.planning", count))
    try:
        outcome = await make_plan(drafter, request, slots)
    except PlanInvalid as exc:
        log.warning("planning failed: %s", exc)
        shown = "; ".join(exc.problems[:MAX_PROBLEMS_SHOWN])
        await progress.edit_text(t("plan.invalid", problems=shown))
        return
    except AIError as exc:
        log.warning("planning failed: %s", exc)
        await progress.edit_text(views.ai_error(t, exc) + "\n\n" + t("plan.try_again"))
        return
    if outcome.model:
        await repo.record_ai_usage(
            session,
            brand_id=seat.brand.id,
            at=now,
            model=outcome.model,
            purpose="plan",
            input_tokens=outcome.input_tokens,
            output_tokens=outcome.output_tokens,
            cost_usd=estimate_cost(outcome.model, outcome.input_tokens, outcome.output_tokens),
        )
    plan_json = outcome.plan.model_dump_json()
    campaign = await campaigns.propose(session, outcome.plan.title, plan_json, seat.brand.id)
    await progress.edit_text(
        views.plan_card(t, outcome.plan, tz), reply_markup=plan_keyboard(t, campaign.id)
    )


def _drafts(plan: Plan) -> list[PlannedDraft]:
    return [
        PlannedDraft(p.angle, p.text, tuple(p.platforms), p.at, plan.offline) for p in plan.posts
    ]


async def _proposed(
    query: CallbackQuery, callback_data: PlanCb, session: AsyncSession, t: Texts
) -> tuple[int, Plan] | None:
    """The campaign a /plan card's button names, with its plan; gone: the tap is answered so."""
    campaign = await repo.get_campaign(session, callback_data.campaign)
    if campaign is None:
        await query.answer(t.plain("plan.gone"), show_alert=True)
        return None
    return campaign.id, Plan.model_validate_json(campaign.plan)


async def _refused(
    query: CallbackQuery,
    card: Message,
    t: Texts,
    tz: ZoneInfo,
    plan: Plan,
    campaign_id: int,
    outcome: campaigns.Outcome,
) -> bool:
    """Answers a tap whose campaign was already decided, has nowhere to go, or whose slots
    were taken meanwhile (the card then names them); False when the outcome stands."""
    if outcome.status is not None:
        await query.answer(t.plain(f"plan.already_{outcome.status}"), show_alert=True)
    elif outcome.no_targets:
        await query.answer(t.plain("publish.no_targets"), show_alert=True)
    elif outcome.clashes:
        taken = ", ".join(views.when(t, at, tz) for at in outcome.clashes)
        await query.answer()
        await card.edit_text(
            views.plan_card(t, plan, tz) + "\n\n" + t("plan.clash", taken=taken),
            reply_markup=plan_keyboard(t, campaign_id),
        )
    else:
        return False
    return True


async def on_discard(
    query: CallbackQuery,
    callback_data: PlanCb,
    message: Message,
    session: AsyncSession,
    t: Texts,
    tz: ZoneInfo,
) -> None:
    found = await _proposed(query, callback_data, session, t)
    if found is None:
        return
    campaign_id, plan = found
    outcome = await campaigns.discard(session, campaign_id)
    if await _refused(query, message, t, tz, plan, campaign_id, outcome):
        return
    await query.answer()
    await message.edit_text(t("plan.discarded", title=plan.title))


async def on_approve_all(
    query: CallbackQuery,
    callback_data: PlanCb,
    message: Message,
    bot: Bot,
    session: AsyncSession,
    clock: Clock,
    wake: Callable[[], None],
    settings: Settings,
    t: Texts,
    tz: ZoneInfo,
    seat: Seat,
) -> None:
    found = await _proposed(query, callback_data, session, t)
    if found is None:
        return
    campaign_id, plan = found
    campaign = await repo.get_campaign(session, campaign_id)
    if campaign is not None and await review.waits_for_review(
        session, campaign.brand_id, query.from_user.id
    ):
        await _submit_all(query, message, bot, session, clock, settings, t, tz, campaign_id, plan)
        return
    subject = f"campaign:{campaign_id}"
    actor = query.from_user.id
    await teams.record(session, seat.brand.id, actor, "plan.approve", subject, plan.title)
    outcome = await campaigns.approve_all(
        session,
        campaign_id,
        _drafts(plan),
        variant_texts,
        author_id=query.from_user.id,
        now=clock.now(),
    )
    if await _refused(query, message, t, tz, plan, campaign_id, outcome):
        return
    await query.answer()
    await message.edit_text(
        views.plan_card(t, plan, tz).rsplit("\n\n", 1)[0]
        + "\n\n"
        + t.n("plan.approved", len(outcome.post_ids), title=plan.title)
    )
    wake()


async def _submit_all(
    query: CallbackQuery,
    message: Message,
    bot: Bot,
    session: AsyncSession,
    clock: Clock,
    settings: Settings,
    t: Texts,
    tz: ZoneInfo,
    campaign_id: int,
    plan: Plan,
) -> None:
    """✅ Approve all by a member whose approvals wait for review (an editor): every post is
    drafted and submitted for review, each to go out at its planned slot once approved."""
    author = query.from_user
    outcome = await campaigns.review(
        session, campaign_id, _drafts(plan), variant_texts, author_id=author.id
    )
    if await _refused(query, message, t, tz, plan, campaign_id, outcome):
        return
    await query.answer()
    await message.edit_text(t("review.plan_submitted", title=plan.title))
    for post_id in outcome.post_ids:
        post = await repo.get_post(session, post_id)
        if post is None:
            continue
        try:
            await review.submit_draft(
                bot,
                session,
                t,
                post,
                post.planned_at,
                by=author.id,
                now=clock.now(),
                default_tz=settings.timezone,
            )
        except lifecycle.NoTargets:
            await bot.send_message(author.id, t("publish.no_targets"))
            return


async def on_review(
    query: CallbackQuery,
    callback_data: PlanCb,
    message: Message,
    bot: Bot,
    session: AsyncSession,
    t: Texts,
    tz: ZoneInfo,
) -> None:
    found = await _proposed(query, callback_data, session, t)
    if found is None:
        return
    campaign_id, plan = found
    author = query.from_user.id
    outcome = await campaigns.review(
        session, campaign_id, _drafts(plan), variant_texts, author_id=author
    )
    if await _refused(query, message, t, tz, plan, campaign_id, outcome):
        return
    await query.answer()
    await message.edit_text(t.n("plan.reviewing", len(outcome.post_ids), title=plan.title))
    for post_id in outcome.post_ids:
        post = await repo.get_post(session, post_id)
        if post is not None:
            await show_preview(bot, session, t, post, chat_id=author, new_message=True)


def router() -> Router:
    r = Router(name="plan")
    r.message.register(on_plan, Command("plan"), flags=needs(Can.DRAFT, **TYPING))
    r.callback_query.filter(TappedMessage())
    r.callback_query.register(
        on_approve_all, PlanCb.filter(F.act == PlanAct.APPROVE), flags=needs(Can.DRAFT)
    )
    r.callback_query.register(
        on_review, PlanCb.filter(F.act == PlanAct.REVIEW), flags=needs(Can.DRAFT)
    )
    r.callback_query.register(
        on_discard, PlanCb.filter(F.act == PlanAct.DISCARD), flags=needs(Can.DRAFT)
    )
    return r
