"""Telegram channel reactions, pushed by the Bot API as ``message_reaction_count`` updates.

Telegram has no call to read a channel post's counters; instead, a bot that is an administrator
of the channel receives ``message_reaction_count`` updates (anonymous totals per reaction type,
sent with a delay) when it asks for them in ``allowed_updates``. Each update is mapped to the
publication whose account is that channel (by ``@username`` or numeric id, the two ways an
account handle is written) and whose message it is; the sum of all reaction counts becomes its
``likes``, and a ``MetricSnapshot`` records the moment.

A post split into several messages collects reactions per message; Nexus counts those of its
first message (its ``external_id``, the one its link points at): an update for a later part
changes nothing. (Summing the parts would need a count per message, which the schema does not
keep.)
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Account, MetricSnapshot, Publication, PublicationStatus


async def record_reaction_count(
    session: AsyncSession,
    *,
    chat_id: int,
    username: str | None,
    message_id: int,
    likes: int,
    now: datetime,
) -> int | None:
    """Store a channel message's reaction total on its publication and commit; returns the
    publication id, or None if the message is not the first message of a published post."""
    handles = [str(chat_id)] + ([f"@{username}".lower()] if username else [])
    mid = str(message_id)
    pub = await session.scalar(
        select(Publication)
        .join(Account, Account.id == Publication.account_id)
        .where(
            Account.platform == "telegram",
            func.lower(Account.handle).in_(handles),
            Publication.status == PublicationStatus.PUBLISHED,
            Publication.external_id == mid,
        )
        .order_by(Publication.id.desc())
        .limit(1)
    )
    if pub is None:
        return None
    await session.execute(
        update(Publication)
        .where(Publication.id == pub.id)
        .values(likes=likes, metrics_at=now)
        .execution_options(synchronize_session=False)
    )
    session.add(
        MetricSnapshot(
            publication_id=pub.id,
            taken_at=now,
            likes=likes,
            reposts=pub.reposts,
            replies=pub.replies,
            views=pub.views,
        )
    )
    await session.commit()
    return pub.id
