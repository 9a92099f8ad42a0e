"""A campaign's figures together: how many of its posts are out and how many views they had
(the latest counters synced for each publication), for /stats."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import repositories as repo
from storage.models import CampaignStatus, Post, PostStatus, Publication

#: /stats reports the campaigns created most recently.
CAMPAIGNS_IN_STATS = 3


@dataclass(frozen=True)
class CampaignFigures:
    title: str
    posts: int
    published: int
    views: int


async def campaign_figures(
    session: AsyncSession, limit: int = CAMPAIGNS_IN_STATS, brand_id: int | None = None
) -> list[CampaignFigures]:
    """The latest campaigns that went ahead (approved or reviewed), newest first; of
    ``brand_id`` when given."""
    campaigns = await repo.recent_campaigns(
        session, [CampaignStatus.APPROVED, CampaignStatus.REVIEWING], limit, brand_id
    )
    figures = []
    for campaign in campaigns:
        statuses = (
            await session.scalars(select(Post.status).where(Post.campaign_id == campaign.id))
        ).all()
        views = await session.scalar(
            select(func.coalesce(func.sum(Publication.views), 0))
            .join(Post, Post.id == Publication.post_id)
            .where(Post.campaign_id == campaign.id)
        )
        figures.append(
            CampaignFigures(
                title=campaign.title,
                posts=len(statuses),
                published=sum(1 for s in statuses if s == PostStatus.PUBLISHED),
                views=int(views or 0),
            )
        )
    return figures
