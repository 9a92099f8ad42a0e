"""Campaigns: the posts of one /plan, from the proposed plan to drafts or scheduled posts.

A plan is stored as a *proposed* campaign before its card shows (so the card's buttons survive a
restart). Its three answers are each one transaction guarded by a conditional UPDATE of the
campaign's status, so a double tap or two racing taps act once:

* approve all: every post becomes a draft in the campaign and is scheduled at its slot, all in
  one transaction; if one of the slots was taken since the card was shown, nothing changes and
  the clashing times are reported;
* review one by one: every post becomes a draft in the campaign, remembering its slot (the
  schedule menu offers it first); the owner then handles each preview as usual;
* discard: nothing is drafted.

Free slots are the owner's weekly slots (``scheduler.slots``; the default times without any)
inside the horizon, after now, minus the minutes at which a post already waits in the queue.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.lifecycle import NoTargets, schedule_post
from scheduler.slots import slot_times, slots_of, taken_times
from storage import repositories as repo
from storage.models import Account, Campaign, CampaignStatus, Post, PostStatus

#: account id → the planned text shaped for that account's platform (``ai.plans.variant_texts``).
TextsFor = Callable[[str, Sequence[Account]], dict[int, str]]


@dataclass(frozen=True)
class PlannedDraft:
    """One post of a plan as the campaign drafts it."""

    angle: str
    text: str
    platforms: tuple[str, ...]
    at: datetime
    offline: bool = False


@dataclass(frozen=True)
class Outcome:
    """What an answer to the plan card did: ``post_ids`` made, or why nothing was done."""

    post_ids: tuple[int, ...] = ()
    #: The campaign was not proposed any more (answered already): its status now.
    status: str | None = None
    #: Slots taken in the queue since the plan was made.
    clashes: tuple[datetime, ...] = ()
    no_targets: bool = False


async def free_slots(
    session: AsyncSession,
    *,
    start: date,
    end: date,
    now: datetime,
    tz: ZoneInfo,
    brand_id: int,
    fallback: Sequence[int] = (),
) -> list[datetime]:
    """The brand's free slot times from local day `start` to `end` (inclusive), after `now`."""
    accounts = [a.id for a in await _accounts(session, brand_id)]
    slots = await slots_of(session, accounts, fallback)
    taken = await taken_times(session, accounts, now=now)
    first = max(now, datetime(start.year, start.month, start.day, tzinfo=tz).astimezone(now.tzinfo))
    days = (end - start).days + 1
    limit = datetime(end.year, end.month, end.day, tzinfo=tz) + timedelta(days=1)
    return [
        moment
        for moment in slot_times(slots, after=first - timedelta(seconds=1), tz=tz, days=days)
        if moment > now and moment < limit and moment.replace(second=0, microsecond=0) not in taken
    ]


async def propose(session: AsyncSession, title: str, plan_json: str, brand_id: int) -> Campaign:
    """Store a validated plan as a proposed campaign of the brand (committed)."""
    campaign = await repo.create_campaign(session, title, plan_json)
    campaign.brand_id = brand_id
    await session.commit()
    return campaign


async def _accounts(session: AsyncSession, brand_id: int) -> list[Account]:
    """The brand's enabled accounts: a campaign plans, drafts and publishes for its own brand."""
    return list(await repo.enabled_accounts(session, brand_id))


async def _draft_all(
    session: AsyncSession,
    campaign: Campaign,
    drafts: Sequence[PlannedDraft],
    texts_for: TextsFor,
    *,
    author_id: int,
) -> list[Post]:
    accounts = await _accounts(session, campaign.brand_id)
    posts = []
    for planned in drafts:
        post = await repo.create_draft(
            session,
            brand_id=campaign.brand_id,
            author_id=author_id,
            brief=f"{campaign.title}: {planned.angle}",
            text=planned.text,
            offline=planned.offline,
            campaign_id=campaign.id,
            planned_at=planned.at,
        )
        await repo.save_variants(session, post.id, texts_for(planned.text, accounts))
        for account in accounts:  # the plan's platform mix: the others are switched off
            if account.platform not in planned.platforms:
                await repo.update_variant(session, post.id, account.id, enabled=False)
        posts.append(post)
    return posts


async def _answerable(
    session: AsyncSession, campaign_id: int, new: CampaignStatus
) -> Campaign | Outcome:
    if await repo.transition_campaign(session, campaign_id, CampaignStatus.PROPOSED, new):
        campaign = await repo.get_campaign(session, campaign_id)
        assert campaign is not None
        return campaign
    await session.rollback()
    current = await repo.get_campaign(session, campaign_id)
    return Outcome(status=current.status if current else "gone")


async def approve_all(
    session: AsyncSession,
    campaign_id: int,
    drafts: Sequence[PlannedDraft],
    texts_for: TextsFor,
    *,
    author_id: int,
    now: datetime,
) -> Outcome:
    """Draft and schedule every post of the campaign at its slot, all or nothing."""
    campaign = await _answerable(session, campaign_id, CampaignStatus.APPROVED)
    if isinstance(campaign, Outcome):
        return campaign
    accounts = [a.id for a in await _accounts(session, campaign.brand_id)]
    taken = await taken_times(session, accounts, now=now)
    clashes = tuple(
        d.at for d in drafts if d.at <= now or d.at.replace(second=0, microsecond=0) in taken
    )
    if clashes:
        await session.rollback()
        return Outcome(clashes=clashes)
    posts = await _draft_all(session, campaign, drafts, texts_for, author_id=author_id)
    for post, planned in zip(posts, drafts, strict=True):
        try:
            if not await schedule_post(session, post, planned.at, commit=False):
                return Outcome(status=PostStatus.DRAFT)  # rolled back: nothing was made
        except NoTargets:  # rolled back too
            return Outcome(no_targets=True)
    await session.commit()
    return Outcome(post_ids=tuple(p.id for p in posts))


async def review(
    session: AsyncSession,
    campaign_id: int,
    drafts: Sequence[PlannedDraft],
    texts_for: TextsFor,
    *,
    author_id: int,
) -> Outcome:
    """Make every post of the campaign a draft that remembers its slot."""
    campaign = await _answerable(session, campaign_id, CampaignStatus.REVIEWING)
    if isinstance(campaign, Outcome):
        return campaign
    posts = await _draft_all(session, campaign, drafts, texts_for, author_id=author_id)
    await session.commit()
    return Outcome(post_ids=tuple(p.id for p in posts))


async def discard(session: AsyncSession, campaign_id: int) -> Outcome:
    campaign = await _answerable(session, campaign_id, CampaignStatus.DISCARDED)
    if isinstance(campaign, Outcome):
        return campaign
    await session.commit()
    return Outcome()
