"""The daily digest: one message a day per brand to each of its members, about yesterday and
today in that brand alone.

What it says (all days are the brand's local days, in `Brand.timezone` or NEXUS_TIMEZONE):
what was published yesterday (count per platform, links), yesterday's engagement against the
median of the 7 days before, the top post, yesterday's failures, and today's queue (count and
first times), with a chart of the last eight days as a photo. A day with nothing published,
nothing failed and nothing queued gets a short "quiet day" digest, still sent, so silence
always means the bot is down rather than "nothing to say".

Once a week, in the Monday digest (``LEARNING_WEEKDAY``), a learning section follows: how many AI
drafts were approved as written in the 7 days up to now, against the 7 before, and the median
share of words changed before approval (``metrics.learning``).

Who: every member of the brand (every role may see digests: `storage.roles.Can.VIEW`) who has
talked to the bot and has not turned digests off (`User.digest_enabled`, one switch for all
their brands). Someone in two brands gets two digests, each headed by its brand's name.

When: a job runs every minute (`Digests.run_due`) and sends the digest of every brand whose
local digest time (`Brand.digest_at` or NEXUS_DIGEST_AT, set by an owner with `/digest at`) has
passed today. Exactly once a day per brand and person: the key
`digest:<brand>:<user>:<local date>` is claimed (`claim_period`, a unique row) and committed
before sending, so several workers, or a restart around that minute, send it once. A restart
late in the day still sends today's digest; yesterday's is never sent late, because only today's
key is ever looked at. `/digest` sends the current brand's on demand without touching the key.

A brand with a team (more than one member) gets one more line: what the team did since the
start of yesterday, from the audit log (approvals, rejections, edits, everything else; `/log`
has the details). A solo owner's digest has no such line.

The numbers come from `metrics.stats` (the same queries as /stats); this module adds only what
the digest alone needs: yesterday's failures and today's queue.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from metrics.chart import render_chart
from metrics.learning import Acceptance, acceptance, percent
from metrics.stats import DayPoint, PeriodStats, PostLine, published_lines, summarize
from publishers.registry import target_label
from scheduler.clock import Clock
from scheduler.notify import Link, Notifier, OwnerReport, ReportLine, ReportValue, line
from storage import repositories as repo
from storage import teams
from storage.models import (
    Account,
    Brand,
    PeriodLock,
    Post,
    PostStatus,
    Publication,
    PublicationStatus,
    User,
)
from storage.roles import GRANTS, Can

log = logging.getLogger(__name__)

#: Days before yesterday that make the engagement baseline.
BASELINE_DAYS = 7
#: At most this many links, failures and queue times are listed (the rest are counted).
MAX_LINKS = 8
MAX_FAILURES = 5
MAX_QUEUE_TIMES = 3
#: The weekday (0 = Monday) whose digest carries the weekly learning section.
LEARNING_WEEKDAY = 0

#: (language, catalogue key) → plain text; the bot passes its catalogue in, so the chart's
#: labels are translated without `metrics` importing `bot`.
Translate = Callable[[str, str], str]


@dataclass(frozen=True)
class Failure:
    post_id: int
    target: str
    reason: str


@dataclass(frozen=True)
class DigestNumbers:
    """Everything a digest reports, before it is put into words."""

    day: date
    #: Yesterday's publications with their counters, oldest first.
    lines: tuple[PostLine, ...]
    yesterday: PeriodStats
    #: Median engagement per publication over the `BASELINE_DAYS` days before yesterday.
    baseline: float | None
    #: Publications and engagement per day, the baseline days and yesterday (the chart).
    series: tuple[DayPoint, ...]
    failures: tuple[Failure, ...]
    #: Due times of the posts still scheduled for today, soonest first.
    queue: tuple[datetime, ...]
    #: The weekly learning figures (only in the digest of ``LEARNING_WEEKDAY``).
    learning: Acceptance | None = None
    #: Audit-log entries per action since yesterday's start (`team_activity`; empty for a
    #: brand of one person, whose digest has no team line).
    team: Mapping[str, int] = field(default_factory=dict)

    @property
    def quiet(self) -> bool:
        return not self.lines and not self.failures and not self.queue

    @property
    def change(self) -> float | None:
        """Yesterday's median engagement against the baseline, as a fraction (+0.4 = 40% up)."""
        median = self.yesterday.median_engagement
        if median is None or not self.baseline:
            return None
        return (median - self.baseline) / self.baseline


def midnight(day: date, tz: ZoneInfo) -> datetime:
    """The start of a local day, as a UTC instant."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


async def digest_numbers(
    session: AsyncSession, *, now: datetime, tz: ZoneInfo, brand_id: int | None = None
) -> DigestNumbers:
    """The digest of the local day before `now`'s, read in one session (nothing is written);
    of one brand's posts when ``brand_id`` is given."""
    today = now.astimezone(tz).date()
    day = today - timedelta(days=1)
    start, end = midnight(day, tz), midnight(today, tz)
    since = midnight(day - timedelta(days=BASELINE_DAYS), tz)
    week = await published_lines(session, since=since, until=end, brand_id=brand_id)
    lines = [pub for pub in week if pub.published_at >= start]
    before = [pub for pub in week if pub.published_at < start]
    return DigestNumbers(
        day=day,
        lines=tuple(lines),
        yesterday=summarize(lines, since=start, until=end, tz=tz),
        baseline=summarize(before, since=since, until=start, tz=tz).median_engagement,
        series=summarize(week, since=since, until=end, tz=tz).days,
        failures=tuple(await failures_between(session, start, end, brand_id)),
        queue=tuple(
            await queued_between(session, now, midnight(today + timedelta(days=1), tz), brand_id)
        ),
        learning=(
            await acceptance(session, now, brand_id=brand_id)
            if today.weekday() == LEARNING_WEEKDAY
            else None
        ),
        team=await team_activity(session, brand_id, start) if brand_id is not None else {},
    )


async def team_activity(session: AsyncSession, brand_id: int, since: datetime) -> dict[str, int]:
    """What the brand's team did since ``since`` (audit entries per action); nothing for a
    brand whose only member is its owner: a solo owner's digest stays as it was."""
    if len(await teams.member_ids(session, brand_id)) < 2:
        return {}
    return await teams.activity_since(session, brand_id, since)


async def failures_between(
    session: AsyncSession, since: datetime, until: datetime, brand_id: int | None = None
) -> list[Failure]:
    """Publications that failed for good in [since, until) (the moment they were last
    changed), oldest first; of ``brand_id``'s posts when given."""
    stmt = (
        select(
            Publication.post_id,
            Account.platform,
            Account.title,
            Account.handle,
            Publication.last_error,
        )
        .join(Account, Account.id == Publication.account_id)
        .where(
            Publication.status == PublicationStatus.FAILED,
            Publication.updated_at >= since,
            Publication.updated_at < until,
        )
        .order_by(Publication.updated_at, Publication.id)
    )
    if brand_id is not None:  # a brand's posts go out on its own accounts alone
        stmt = stmt.where(Account.brand_id == brand_id)
    rows = await session.execute(stmt)
    return [
        Failure(post_id, target_label(platform, title, handle), error or "?")
        for post_id, platform, title, handle, error in rows
    ]


async def queued_between(
    session: AsyncSession, since: datetime, until: datetime, brand_id: int | None = None
) -> list[datetime]:
    """Due times of the posts scheduled in [since, until), soonest first; of ``brand_id``
    when given."""
    stmt = (
        select(Post.scheduled_at)
        .where(
            Post.status == PostStatus.SCHEDULED,
            Post.scheduled_at >= since,
            Post.scheduled_at < until,
        )
        .order_by(Post.scheduled_at, Post.id)
    )
    if brand_id is not None:
        stmt = stmt.where(Post.brand_id == brand_id)
    rows = await session.scalars(stmt)
    return [when for when in rows if when is not None]


def format_change(change: float) -> str:
    """+40%, -55%: how a change against the baseline is written."""
    return f"{change:+.0%}"


def format_number(value: float) -> str:
    """A median without a needless ".0"."""
    return f"{value:g}" if value == int(value) else f"{value:.1f}"


def compose(
    numbers: DigestNumbers,
    *,
    tz: ZoneInfo,
    at: str,
    photo: bytes | None = None,
    brand_id: int | None = None,
) -> OwnerReport:
    """The digest as catalogue lines (the bot words and formats them), about ``brand_id``."""
    lines: list[ReportLine] = [line("digest.title", day=numbers.day)]
    if numbers.quiet:
        lines.append(line("digest.quiet"))
    else:
        lines += _published(numbers)
        lines += _failures(numbers.failures)
        lines += _queue(numbers.queue, tz)
    if numbers.learning is not None:
        lines += _learning(numbers.learning)
    lines += team_line(numbers.team)
    lines.append(line("digest.footer", at=at, tz=tz.key))
    return OwnerReport(tuple(lines), photo=photo, brand_id=brand_id)


def _published(numbers: DigestNumbers) -> list[ReportLine]:
    stats = numbers.yesterday
    if not stats.publications:
        return [line("digest.none")]
    platforms = ", ".join(f"{p.platform} {p.posts}" for p in stats.platforms)
    out = [line("digest.published", count=stats.publications, platforms=platforms)]
    linked = [pub for pub in numbers.lines if pub.url]
    for pub in linked[:MAX_LINKS]:
        assert pub.url is not None
        out.append(line("digest.link", target=pub.target, post=Link(f"#{pub.post_id}", pub.url)))
    if len(linked) > MAX_LINKS:
        out.append(line("digest.more", count=len(linked) - MAX_LINKS))
    median = stats.median_engagement
    assert median is not None  # there are publications
    if numbers.change is not None and numbers.baseline is not None:
        out.append(
            line(
                "digest.engagement",
                total=stats.total_engagement,
                median=format_number(median),
                change=format_change(numbers.change),
                baseline=format_number(numbers.baseline),
            )
        )
    else:
        out.append(line("digest.engagement_new", total=stats.total_engagement))
    best = stats.best
    if best is not None:
        post: str | Link = Link(f"#{best.post_id}", best.url) if best.url else f"#{best.post_id}"
        out.append(line("digest.top", post=post, target=best.target, score=best.engagement))
    return out


def _failures(failures: Sequence[Failure]) -> list[ReportLine]:
    if not failures:
        return []
    out = [line("digest.failures", count=len(failures))]
    for failure in failures[:MAX_FAILURES]:
        out.append(
            line(
                "digest.failure",
                post_id=failure.post_id,
                target=failure.target,
                reason=failure.reason,
            )
        )
    if len(failures) > MAX_FAILURES:
        out.append(line("digest.more", count=len(failures) - MAX_FAILURES))
    return out


def _queue(queue: Sequence[datetime], tz: ZoneInfo) -> list[ReportLine]:
    if not queue:
        return [line("digest.queue_empty")]
    times = ", ".join(when.astimezone(tz).strftime("%H:%M") for when in queue[:MAX_QUEUE_TIMES])
    if len(queue) > MAX_QUEUE_TIMES:
        times += ", …"
    return [line("digest.queue", count=len(queue), times=times)]


#: The audit actions the team line counts as approvals, rejections and edits; every other
#: action (scheduling moves, cancels, accounts, team and settings changes) counts as "other".
TEAM_APPROVALS = frozenset({"post.approve", "post.schedule", "plan.approve", "review.approve"})
TEAM_REJECTIONS = frozenset({"post.reject", "review.reject"})
TEAM_EDITS = frozenset({"post.edit"})


def team_line(activity: Mapping[str, int]) -> list[ReportLine]:
    """The digest's one line on team activity; none when nobody did anything."""
    if not activity:
        return []

    def total(actions: frozenset[str]) -> int:
        return sum(count for action, count in activity.items() if action in actions)

    approved, rejected = total(TEAM_APPROVALS), total(TEAM_REJECTIONS)
    edits = total(TEAM_EDITS)
    other = sum(activity.values()) - approved - rejected - edits
    return [line("digest.team", approved=approved, rejected=rejected, edits=edits, other=other)]


def _learning(figures: Acceptance) -> list[ReportLine]:
    """The weekly learning section; nothing in a week without approved AI drafts."""
    week, previous = figures.current, figures.previous
    if week.share is None:
        return []
    values: dict[str, ReportValue] = {
        "accepted": week.as_written,
        "total": week.approved,
        "share": percent(week.share),
    }
    if previous is None or previous.share is None:
        out = [line("learn.digest.new", **values)]
    else:
        trend = (
            "same"
            if round(week.share, 2) == round(previous.share, 2)
            else "up"
            if week.share > previous.share
            else "down"
        )
        out = [line(f"learn.digest.{trend}", previous=percent(previous.share), **values)]
    if week.median_change is not None:
        out.append(line("learn.digest.median", share=percent(week.median_change)))
    return out


@dataclass(frozen=True)
class DigestSchedule:
    enabled: bool
    at: str


class Digests:
    """Sends digests: the daily one of each brand (`run_due`, every minute) and on demand
    (`send_now`)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        notifier: Notifier,
        clock: Clock,
        *,
        default_tz: str,
        default_at: str,
        translate: Translate | None = None,
    ) -> None:
        self.sessions = sessions
        self.notifier = notifier
        self.clock = clock
        self.default_tz = default_tz
        self.default_at = default_at
        self.translate = translate

    def _zone(self, brand: Brand) -> ZoneInfo:
        return ZoneInfo(brand.timezone or self.default_tz)

    def _at(self, brand: Brand) -> str:
        return brand.digest_at or self.default_at

    async def run_due(self) -> int:
        """Send today's digest of every brand whose digest time has passed to each of its
        members who has not had it yet; returns how many were sent."""
        now = self.clock.now()
        async with self.sessions() as session:
            brands = list(await session.scalars(select(Brand).order_by(Brand.id)))
        sent = 0
        for brand in brands:
            try:
                sent += await self._send_daily(brand, now)
            except Exception:  # one brand's failure must not keep the others' digests back
                log.exception("daily digest of brand %s failed", brand.id)
        return sent

    async def _send_daily(self, brand: Brand, now: datetime) -> int:
        tz = self._zone(brand)
        local = now.astimezone(tz)
        hour, minute = (int(part) for part in self._at(brand).split(":"))
        if local.time() < time(hour, minute):
            return 0
        day = local.date().isoformat()
        async with self.sessions() as session:
            readers = await _readers(session, brand.id)
            due = [
                (user.id, user.language)
                for user in readers
                if await session.get(PeriodLock, _key(brand, user.id, day)) is None
            ]  # the cheap check; the claim below is the real guard
            if not due:
                return 0
            numbers = await digest_numbers(session, now=now, tz=tz, brand_id=brand.id)
            await session.rollback()  # end the read before the claims' writes
        reports: dict[str, OwnerReport] = {}  # one chart per language
        sent = 0
        for user_id, language in due:
            async with self.sessions() as session:
                if not await repo.claim_period(session, _key(brand, user_id, day)):
                    continue
                await session.commit()
            if language not in reports:
                reports[language] = await self._compose(brand, numbers, language)
            await self.notifier.send_report(user_id, reports[language])
            sent += 1
        return sent

    async def send_now(self, user_id: int, brand_id: int) -> bool:
        """The brand's digest as of now, on demand (it does not count as the daily one)."""
        async with self.sessions() as session:
            user = await session.get(User, user_id)
            brand = await teams.get_brand(session, brand_id)
            if user is None or brand is None:
                return False
            numbers = await digest_numbers(
                session, now=self.clock.now(), tz=self._zone(brand), brand_id=brand.id
            )
        return await self.notifier.send_report(
            user_id, await self._compose(brand, numbers, user.language)
        )

    async def _compose(self, brand: Brand, numbers: DigestNumbers, language: str) -> OwnerReport:
        photo = None
        if not numbers.quiet:  # rendering is CPU work: keep it off the event loop
            photo = await asyncio.to_thread(self._chart, numbers, language)
        return compose(
            numbers, tz=self._zone(brand), at=self._at(brand), photo=photo, brand_id=brand.id
        )

    def _chart(self, numbers: DigestNumbers, language: str) -> bytes | None:
        if self.translate is None:
            return None

        def say(key: str) -> str:
            assert self.translate is not None
            return self.translate(language, key)

        try:
            return render_chart(
                numbers.series,
                title=say("digest.chart.title"),
                engagement_label=say("digest.chart.engagement"),
                posts_label=say("digest.chart.posts"),
            )
        except Exception:  # a digest without its picture beats no digest
            log.exception("digest chart failed")
            return None

    async def configure(
        self,
        session: AsyncSession,
        user_id: int,
        brand_id: int,
        *,
        enabled: bool | None = None,
        at: str | None = None,
    ) -> DigestSchedule:
        """Turn the person's daily digests on or off (all their brands) and/or move the brand's
        digest to `at` ("HH:MM", already validated; the caller checked they may); returns the
        schedule in force for them in that brand."""
        user = await session.get(User, user_id)
        brand = await teams.get_brand(session, brand_id)
        assert user is not None and brand is not None, "the session middleware found both"
        if at is not None:
            brand.digest_at = at
        if enabled is not None:
            user.digest_enabled = enabled
        await session.commit()
        return DigestSchedule(user.digest_enabled, self._at(brand))


def _key(brand: Brand, user_id: int, day: str) -> str:
    return f"digest:{brand.id}:{user_id}:{day}"


#: The roles that see digests.
_READING = [role for role, grants in GRANTS.items() if Can.VIEW in grants]


async def _readers(session: AsyncSession, brand_id: int) -> list[User]:
    """The brand's members who get its digest: who may see it, has talked to the bot (a chat
    exists) and keeps digests on; by id."""
    people = await teams.member_ids(session, brand_id, _READING)
    return list(
        await session.scalars(
            select(User).where(User.id.in_(people), User.digest_enabled).order_by(User.id)
        )
    )
