"""Alerts: short warnings to the owners when something needs them, never more often than needed.

Alerts belong to a brand and reach that brand's owners alone, never another brand's people: an
account's (🔑 refused, token expiring, posts at risk) go to the account's brand, a silent
channel or an engagement drop is judged per brand (in the brand's time zone), and a failing rule
or feed is reported to its brand. What concerns the whole install rather than a brand, the
monthly AI budget (one Anthropic key) and the dispatcher's backlog (one queue), goes to the
owners of the first brand: NEXUS_OWNER_IDS always own it, and they run the install, while the
owners of other brands (an agency's clients) could not fix the key or the server anyway.

Every alert has a key ("queue", "auth@2:3", "rule@1:github") and a kind (`AlertKind`, the key's
prefix; "@<brand>" follows it for a brand's alert, so cooldowns and mutes are per brand). Two
guards decide whether it goes out, both kept in `alert_states` rows so that every worker and
every restart agrees:

- **cooldown and dedupe**, per key: the same key is sent at most once per
  NEXUS_ALERT_COOLDOWN_MINUTES. Claiming the key is one conditional UPDATE
  (`... WHERE key = :key AND (last_sent_at IS NULL OR last_sent_at <= :now - cooldown)`) or, for a
  key never seen, one INSERT that fails on the primary key; the row count says who won, so two
  workers evaluating the same condition in the same minute send one alert. The claim is
  committed before sending: a crash in between loses one alert, never repeats it.
- **mute**, per kind and brand: the 🔕 buttons under an alert set `muted_until` on the row of
  the kind ("auth@2"), which silences that brand's alerts of that kind alone.

What is watched (`run_checks`, every minute): accounts whose last health check failed or whose
token expires within three days, scheduled posts due within the hour on such an account, a
backed-up queue, a silent channel (NEXUS_SILENCE_ALERT_HOURS), engagement that fell by more
than half against the 7-day median, and the monthly AI budget.
`check_accounts` (every 30 minutes) is the health check that feeds the first two: it calls
each enabled account's `verify()` and records the outcome on the account. The rules engine
reports its failures through `automation_failed`.

A publication that failed for good is *not* an alert here: the dispatcher's report
(`Notifier.post_settled`) already reaches the owner with Retry/Edit/Drop, and muting it would hide
a decision only the owner can take. The daily digest lists the day's failures again, so one
that could not be delivered (Telegram down at that moment) is not lost.

Alert texts are plain words from the catalogue; reasons come from `PublishError.reason` (which
never holds a token or URL) and pass through `scrub` on top, so nothing secret reaches the chat.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from metrics.digest import digest_numbers, format_change, format_number
from metrics.stats import ai_spend, month_start
from publishers.base import Publisher
from publishers.errors import AuthExpired, Permanent, PublishError
from publishers.registry import account_label
from scheduler.clock import Clock
from scheduler.notify import AlertKind, Notifier, OwnerReport, ReportLine, line
from storage import repositories as repo
from storage import teams
from storage.models import (
    FIRST_BRAND_ID,
    Account,
    AlertState,
    Brand,
    Post,
    Publication,
    PublicationStatus,
    Role,
    User,
)

log = logging.getLogger(__name__)

PublisherFor = Callable[[Account], Publisher]
UTC_ZONE = ZoneInfo("UTC")

#: A token that expires within this long is announced.
EXPIRY_NOTICE = timedelta(days=3)
#: A scheduled post is at risk when it is due within this long on an account that failed its
#: last check.
RISK_WINDOW = timedelta(hours=1)
#: A healthy dispatcher takes due work within seconds; pending this long after its time is stuck.
QUEUE_GRACE = timedelta(minutes=2)
#: How often the health check runs (one worker per period does it).
HEALTH_EVERY = timedelta(minutes=30)
#: Mute choices offered under an alert, in days.
MUTE_DAYS = (1, 7)

#: Longest key kept (the column holds 128); longer names are cut.
_KEY_LIMIT = 120
_REASON_LIMIT = 300
#: Long runs of letters and digits look like tokens or keys: they are hidden from the chat.
_SECRET_LIKE = re.compile(r"(?=[A-Za-z0-9_\-]*\d)(?=[A-Za-z0-9_\-]*[A-Za-z])[A-Za-z0-9_\-]{24,}")
_URL_QUERY = re.compile(r"(https?://[^\s?#]+)[?#]\S*")


def scrub(reason: str) -> str:
    """A reason safe to show: query strings and token-like strings removed, length capped."""
    text = _URL_QUERY.sub(r"\1", reason)
    text = _SECRET_LIKE.sub("[hidden]", text)
    return text if len(text) <= _REASON_LIMIT else text[: _REASON_LIMIT - 1] + "…"


@dataclass(frozen=True)
class AlertConfig:
    cooldown: timedelta = timedelta(minutes=60)
    queue_alert_at: int = 10
    silence: timedelta | None = None
    budget_usd: float | None = None
    #: Whose "yesterday" the engagement check compares (NEXUS_TIMEZONE).
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))


#: Engagement that fell by more than this against the 7-day median is announced.
ENGAGEMENT_DROP = 0.5
#: Yesterday's engagement keeps growing as counters sync; it is judged at most this often.
ENGAGEMENT_EVERY = timedelta(hours=1)


def _money(amount: float) -> str:
    return f"${amount:,.2f}"


class Alerts:
    """The one place alerts are decided and sent. Safe to run in every worker."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        notifier: Notifier,
        clock: Clock,
        config: AlertConfig | None = None,
        *,
        publisher_for: PublisherFor | None = None,
        observe: Callable[[str], None] = lambda kind: None,
    ) -> None:
        self.observe = observe
        self.sessions = sessions
        self.notifier = notifier
        self.clock = clock
        self.config = config or AlertConfig()
        self.publisher_for = publisher_for
        self._engagement_checked: dict[int, datetime] = {}

    # --- public entry points -------------------------------------------------------------------

    async def run_checks(self) -> int:
        """The periodic evaluation; returns how many alerts went out."""
        sent = 0
        for check in (
            self._check_auth,
            self._check_risk,
            self._check_queue,
            self._check_silence,
            self._check_engagement,
            self.check_budget,
        ):
            try:
                sent += int(await check())
            except Exception:  # one broken check must not silence the others
                log.exception("alert check %s failed", check.__name__)
        return sent

    async def account_refused(self, account_id: int, reason: str) -> bool:
        """A platform refused an account's credentials while publishing or syncing: mark the
        account as the health check would (⚠️ in /accounts, its posts at risk) and send the 🔑
        alert now, once per cooldown. Returns whether an alert went out."""
        async with self.sessions() as session:
            await repo.set_account_health(
                session, account_id, last_error=scrub(reason), checked_at=self.clock.now()
            )
            await session.commit()
            account = await session.get(Account, account_id)
        return account is not None and await self._alert_auth(account)

    async def automation_failed(self, brand_id: int, name: str, reason: str) -> bool:
        """An automation rule or event source of ``brand_id`` failed (called by the rules engine
        and the feed poller): tell the brand's owners, once per cooldown per source. Returns
        whether an alert went out."""
        name = " ".join(name.split())[:80] or "?"
        return await self._raise(
            AlertKind.AUTOMATION,
            name,
            [line("alert.automation", name=name, reason=scrub(reason))],
            brand_id=brand_id,
        )

    async def check_budget(self) -> bool:
        """Alert when this month's AI spend (UTC month) has reached NEXUS_AI_BUDGET_USD; once per
        cooldown, and at most once a day, while it stays used up."""
        budget = self.config.budget_usd
        if budget is None:
            return False
        # the budget month starts at 00:00 UTC on the 1st, as the provider bills
        start = month_start(self.clock.now(), UTC_ZONE)
        end = (start + timedelta(days=32)).replace(day=1)
        async with self.sessions() as session:
            spent = (await ai_spend(session, since=start, until=end)).cost_usd
        if spent < budget:
            return False
        return await self._raise(
            AlertKind.BUDGET,
            start.strftime("%Y-%m"),
            [line("alert.budget", spent=_money(spent), budget=_money(budget))],
            brand_id=None,
            at_least=timedelta(days=1),
        )

    async def mute(self, kind: AlertKind, days: int, brand_id: int | None) -> datetime:
        """Silence one kind of alert about ``brand_id`` (None: the install's) for `days`;
        returns until when."""
        until = self.clock.now() + timedelta(days=days)
        key = _kind_key(kind, brand_id)
        async with self.sessions() as session:
            stmt = update(AlertState).where(AlertState.key == key)
            result: CursorResult[object] = await session.execute(  # type: ignore[assignment]
                stmt.values(muted_until=until)
            )
            if result.rowcount == 0:
                try:
                    async with session.begin_nested():
                        session.add(AlertState(key=key, muted_until=until))
                except IntegrityError:  # another tap created it first: set ours on top
                    await session.execute(stmt.values(muted_until=until))
            await session.commit()
        return until

    async def check_accounts(self) -> int:
        """The health check: verify every enabled account and record `checked_at`/`last_error`.

        Rejected credentials (AuthExpired) and permanent refusals (bot no longer an admin) are
        recorded; a network hiccup or a rate limit records nothing, so one blip is not an
        alert. One worker per period does it (a `claim_period` key). Returns accounts checked.
        """
        if self.publisher_for is None:
            return 0
        now = self.clock.now()
        slot = int(now.timestamp() // HEALTH_EVERY.total_seconds())
        async with self.sessions() as session:
            if not await repo.claim_period(session, f"health:{slot}"):
                return 0
            await session.commit()
            accounts = list(await repo.enabled_accounts(session))
        checked = 0
        for account in accounts:
            error: str | None
            try:
                await self.publisher_for(account).verify()
                error = None
            except (AuthExpired, Permanent) as exc:
                error = scrub(exc.reason)
            except PublishError as exc:  # transient: try again next period
                log.info("health check of account %s inconclusive: %s", account.id, exc.reason)
                continue
            except Exception:
                log.exception("health check of account %s failed", account.id)
                continue
            async with self.sessions() as session:
                await session.execute(
                    update(Account)
                    .where(Account.id == account.id)
                    .values(checked_at=self.clock.now(), last_error=error)
                )
                await session.commit()
            checked += 1
        return checked

    # --- the checks ----------------------------------------------------------------------------

    async def _check_auth(self) -> int:
        now = self.clock.now()
        async with self.sessions() as session:
            accounts = list(
                await session.scalars(
                    select(Account)
                    .where(
                        Account.enabled,
                        or_(
                            Account.last_error.is_not(None),
                            Account.token_expires_at <= now + EXPIRY_NOTICE,
                        ),
                    )
                    .order_by(Account.id)
                )
            )
        sent = 0
        for account in accounts:
            target = account_label(account)
            if account.last_error is not None:
                sent += await self._alert_auth(account)
            expires = account.token_expires_at
            if expires is not None and expires <= now + EXPIRY_NOTICE:
                key = "alert.expired" if expires <= now else "alert.expiry"
                report = line(key, target=target, when=expires)
                sent += await self._raise(
                    AlertKind.EXPIRY, str(account.id), [report], brand_id=account.brand_id
                )
        return sent

    async def _alert_auth(self, account: Account) -> bool:
        """The 🔑 alert of an account whose last error is recorded, once per cooldown."""
        reason = scrub(account.last_error or "")
        report = line("alert.auth", target=account_label(account), reason=reason)
        return await self._raise(
            AlertKind.AUTH, str(account.id), [report], brand_id=account.brand_id
        )

    async def _check_risk(self) -> int:
        now = self.clock.now()
        async with self.sessions() as session:
            rows = (
                await session.execute(
                    select(Post.id, Publication.next_attempt_at, Account)
                    .join(Publication, Publication.post_id == Post.id)
                    .join(Account, Account.id == Publication.account_id)
                    .where(
                        Publication.status == PublicationStatus.PENDING,
                        Publication.next_attempt_at >= now,
                        Publication.next_attempt_at <= now + RISK_WINDOW,
                        Account.last_error.is_not(None),
                    )
                    .order_by(Publication.next_attempt_at, Post.id)
                )
            ).all()
        sent = 0
        for post_id, due, account in rows:
            assert due is not None  # the query compared it with now
            report = line(
                "alert.risk",
                post_id=post_id,
                target=account_label(account),
                when=due,
                reason=scrub(account.last_error or ""),
            )
            sent += await self._raise(
                AlertKind.RISK, f"{post_id}:{account.id}", [report], brand_id=account.brand_id
            )
        return sent

    async def _check_queue(self) -> bool:
        now = self.clock.now()
        async with self.sessions() as session:
            overdue = int(
                await session.scalar(
                    select(func.count())
                    .select_from(Publication)
                    .where(
                        Publication.status == PublicationStatus.PENDING,
                        Publication.next_attempt_at <= now - QUEUE_GRACE,
                    )
                )
                or 0
            )
        if overdue <= self.config.queue_alert_at:
            return False
        report = line("alert.queue", count=overdue)
        return await self._raise(AlertKind.QUEUE, None, [report], brand_id=None)

    async def _check_silence(self) -> int:
        """A brand whose last publication is older than NEXUS_SILENCE_ALERT_HOURS (a brand that
        never published has nothing that went quiet)."""
        silence = self.config.silence
        if silence is None:
            return 0
        now = self.clock.now()
        async with self.sessions() as session:
            rows = (
                await session.execute(
                    select(Post.brand_id, func.max(Publication.published_at))
                    .join(Publication, Publication.post_id == Post.id)
                    .where(Publication.status == PublicationStatus.PUBLISHED)
                    .group_by(Post.brand_id)
                    .order_by(Post.brand_id)
                )
            ).all()
        hours = int(silence.total_seconds() // 3600)
        sent = 0
        for brand_id, last in rows:
            if last is None or now - last < silence:
                continue
            report = line("alert.silence", hours=hours, when=last)
            # one alert per silence period is enough: a quiet channel stays quiet for a while
            sent += await self._raise(
                AlertKind.SILENCE, None, [report], brand_id=brand_id, at_least=silence
            )
        return sent

    async def _check_engagement(self) -> int:
        """Per brand, yesterday's median engagement per post (in the brand's zone) fell by more
        than half against the median of the 7 days before (the digest's numbers); at most one
        alert a day per brand."""
        now = self.clock.now()
        async with self.sessions() as session:
            brands = list(await session.scalars(select(Brand).order_by(Brand.id)))
        sent = 0
        for brand in brands:
            last = self._engagement_checked.get(brand.id)
            if last is not None and now - last < ENGAGEMENT_EVERY:
                continue
            self._engagement_checked[brand.id] = now
            sent += await self._engagement_of(brand, now)
        return sent

    async def _engagement_of(self, brand: Brand, now: datetime) -> bool:
        tz = ZoneInfo(brand.timezone) if brand.timezone else self.config.tz
        async with self.sessions() as session:
            numbers = await digest_numbers(session, now=now, tz=tz, brand_id=brand.id)
        change, median = numbers.change, numbers.yesterday.median_engagement
        if change is None or median is None or numbers.baseline is None:
            return False
        if change >= -ENGAGEMENT_DROP:
            return False
        report = line(
            "alert.engagement",
            median=format_number(median),
            change=format_change(change),
            baseline=format_number(numbers.baseline),
        )
        return await self._raise(
            AlertKind.ENGAGEMENT,
            numbers.day.isoformat(),
            [report],
            brand_id=brand.id,
            at_least=timedelta(days=1),
        )

    # --- the guards ----------------------------------------------------------------------------

    async def _raise(
        self,
        kind: AlertKind,
        subject: str | None,
        lines: list[ReportLine],
        *,
        brand_id: int | None,
        at_least: timedelta | None = None,
    ) -> bool:
        """Send an alert to the owners of ``brand_id`` (None: the install's, the first brand's)
        unless its kind is muted for that brand or its key is cooling down."""
        kind_key = _kind_key(kind, brand_id)
        key = kind_key if subject is None else f"{kind_key}:{subject}"[:_KEY_LIMIT]
        cooldown = max(self.config.cooldown, at_least or timedelta(0))
        now = self.clock.now()
        async with self.sessions() as session:
            if not await _claim(session, key, kind_key, now, cooldown):
                await session.rollback()
                return False
            await session.commit()
            owners = await teams.member_ids(session, brand_id or FIRST_BRAND_ID, [Role.OWNER])
            known = set(await session.scalars(select(User.id).where(User.id.in_(owners))))
        owners = [owner for owner in owners if owner in known]  # who has talked to the bot
        report = OwnerReport(tuple(lines), mute=kind, brand_id=brand_id)
        delivered = [await self.notifier.send_report(owner, report) for owner in owners]
        if not any(delivered):
            log.warning("alert %s reached no owner", key)
        self.observe(kind.value)
        return True


def _kind_key(kind: AlertKind, brand_id: int | None) -> str:
    """The row a kind's mute lives in: "auth@2" for brand 2's, "budget" for the install's."""
    return kind.value if brand_id is None else f"{kind.value}@{brand_id}"


async def _claim(
    session: AsyncSession, key: str, kind_key: str, now: datetime, cooldown: timedelta
) -> bool:
    """Claim the right to send alert `key` now: its kind not muted (``kind_key``), and not sent
    within `cooldown`. Atomic across workers (conditional UPDATE, else INSERT that fails on the
    primary key)."""
    muted_until = await session.scalar(
        select(AlertState.muted_until).where(AlertState.key == kind_key)
    )
    if muted_until is not None and muted_until > now:
        return False
    result: CursorResult[object] = await session.execute(  # type: ignore[assignment]
        update(AlertState)
        .where(
            AlertState.key == key,
            or_(AlertState.last_sent_at.is_(None), AlertState.last_sent_at <= now - cooldown),
        )
        .values(last_sent_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 1:
        return True
    try:
        async with session.begin_nested():
            session.add(AlertState(key=key, last_sent_at=now))
    except IntegrityError:  # the row exists: sent within the cooldown, or by another worker
        return False
    return True
