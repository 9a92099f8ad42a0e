"""Whether Nexus is learning: how many AI drafts the owner approved as written, week by week,
and how much of a draft they changed before approving it.

A draft is "approved as written" when the words the owner approved are the words Claude last
wrote (whitespace aside): ``ai.wordiff.changed_share`` is 0. The change of a draft is that same
share of words, and its median is taken over the week's approved AI drafts (as written ones
count as 0). Weeks are rolling 7-day windows ending now (inclusive), so "last week" is the 7
days before.
Offline drafts are left out: the offline drafter does not learn.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from ai.wordiff import changed_share
from storage import learning

WEEK = timedelta(days=7)
TREND_WEEKS = 4


@dataclass(frozen=True)
class Week:
    """One 7-day window: AI drafts approved in it, and how many of them as written."""

    start: datetime
    approved: int
    as_written: int
    #: The median share of words changed before approval (None without approvals).
    median_change: float | None

    @property
    def share(self) -> float | None:
        return self.as_written / self.approved if self.approved else None


@dataclass(frozen=True)
class Acceptance:
    """The last ``TREND_WEEKS`` weeks, oldest first; the last one is the 7 days up to now."""

    weeks: tuple[Week, ...]

    @property
    def current(self) -> Week:
        return self.weeks[-1]

    @property
    def previous(self) -> Week | None:
        return self.weeks[-2] if len(self.weeks) > 1 else None


async def acceptance(
    session: AsyncSession,
    now: datetime,
    weeks: int = TREND_WEEKS,
    *,
    brand_id: int | None = None,
) -> Acceptance:
    since = now - weeks * WEEK
    approvals = [
        a for a in await learning.approvals_between(session, since, now, brand_id) if a.ai_drafted
    ]
    result = []
    for index in range(weeks):
        start = since + index * WEEK
        shares = [
            changed_share(a.drafted, a.approved) for a in approvals if start < a.at <= start + WEEK
        ]
        result.append(
            Week(
                start=start,
                approved=len(shares),
                as_written=sum(1 for share in shares if share == 0),
                median_change=statistics.median(shares) if shares else None,
            )
        )
    return Acceptance(tuple(result))


def percent(share: float) -> str:
    return f"{share:.0%}"
