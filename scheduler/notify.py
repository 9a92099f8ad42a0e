"""What the scheduler tells the owner, as an interface that `bot/` implements.

The scheduler (and `metrics/`) never import aiogram: jobs report outcomes through a `Notifier`,
and the bot's implementation turns them into chat messages with buttons.

Reports that jobs compose themselves (the daily digest, alerts) travel as an `OwnerReport`: a
list of catalogue keys with their values, an optional picture and the alert kind its 🔕 Mute
buttons silence. The job decides *what* to say; the bot decides *how*: the owner's language,
dates in the owner's time zone, HTML escaping, and Telegram's caption limit. That keeps every
word in one catalogue (`ui/texts.py`) without the jobs importing `bot/`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol

from publishers.errors import AuthExpired

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TargetOutcome:
    publication_id: int
    target: str
    published: bool
    url: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class PublishReport:
    """A post whose every target is done: published, failed for good, or dropped."""

    post_id: int
    status: str
    outcomes: tuple[TargetOutcome, ...]


@dataclass(frozen=True)
class TargetMoved:
    """A target whose posting quota was used up, moved to ``when`` (the first free slot after
    the quota ``resets``). ``limit`` ``unit`` ("posts", "points") per ``window`` ("day",
    "hour", "month") say which quota; ``limit`` is None where the platform did not say."""

    publication_id: int
    when: datetime
    resets: datetime
    limit: int | None
    window: str
    unit: str = "posts"


class AlertKind(StrEnum):
    """What an alert is about. Muting silences one kind; the value goes into callback data, so
    it stays short."""

    AUTH = "auth"
    EXPIRY = "expiry"
    RISK = "risk"
    QUEUE = "queue"
    SILENCE = "silence"
    ENGAGEMENT = "engage"
    AUTOMATION = "rule"
    BUDGET = "budget"


@dataclass(frozen=True)
class Link:
    """A value shown as a link: `text` pointing at `url`."""

    text: str
    url: str


#: What a report line may carry: datetimes and dates are shown in the owner's time zone and
#: language, links as links, everything else as escaped text.
ReportValue = str | int | float | datetime | date | Link


@dataclass(frozen=True)
class ReportLine:
    """One line of a report: a catalogue key and the values it is formatted with."""

    key: str
    values: Mapping[str, ReportValue] = field(default_factory=dict)


def line(key: str, **values: ReportValue) -> ReportLine:
    return ReportLine(key, values)


@dataclass(frozen=True)
class OwnerReport:
    """A message a job composes for the owner (a digest, an alert).

    `photo` (PNG bytes) goes out with the text as its caption when the text fits a caption;
    `mute` adds 🔕 Mute buttons that silence that kind of alert for a while. `brand_id` is the
    brand it is about: its time zone dates the report, its name heads it for someone in several
    brands, and its mute buttons silence that brand's alerts alone; None is the whole install
    (the AI budget, the dispatcher's backlog).
    """

    lines: tuple[ReportLine, ...]
    photo: bytes | None = None
    mute: AlertKind | None = None
    brand_id: int | None = None


class Notifier(Protocol):
    async def post_settled(self, report: PublishReport) -> None:
        """Every target of a post is done; failures need a decision from the people who can act
        on the post's brand (its owners and editors) or its author."""

    async def post_overdue(self, post_id: int, due_at: datetime) -> None:
        """A post fell due longer ago than the misfire grace: publish now, reschedule or drop?"""

    async def publication_unsure(self, publication_id: int) -> None:
        """A publication was interrupted mid-send: did it go out?"""

    async def target_moved(self, move: TargetMoved) -> None:
        """A target's posting quota was used up: it waits for a slot after the reset."""

    async def send_report(self, user_id: int, report: OwnerReport) -> bool:
        """Deliver a composed report to one owner; False if it could not be delivered (the
        owner blocked the bot, Telegram is down), so callers can log or count it."""

    async def draft_ready(self, post_id: int) -> None:
        """A draft made without a person (a rule, a feed) waits for approval: show its preview
        with the usual buttons to its brand's owners and editors."""

    async def tell_brand(self, brand_id: int, text: str) -> None:
        """A plain-text message to a brand's owners and editors (a rule's notify action); not
        parsed as HTML."""

    async def review_requested(self, post_id: int) -> None:
        """A draft made without anyone (a rule, a feed) waits for the brand's reviewers: post
        its review card."""

    async def review_lapsed(self, post_id: int, fallback: str) -> None:
        """A draft waited longer than its brand's review timeout and its ``fallback`` (remind,
        skip, publish) was applied: remind the reviewers, or say so on its cards and to its
        author."""


class SilentNotifier:
    """For runs with nobody to tell (benchmarks)."""

    async def post_settled(self, report: PublishReport) -> None:
        return None

    async def post_overdue(self, post_id: int, due_at: datetime) -> None:
        return None

    async def publication_unsure(self, publication_id: int) -> None:
        return None

    async def target_moved(self, move: TargetMoved) -> None:
        return None

    async def send_report(self, user_id: int, report: OwnerReport) -> bool:
        return False

    async def draft_ready(self, post_id: int) -> None:
        return None

    async def tell_brand(self, brand_id: int, text: str) -> None:
        return None

    async def review_requested(self, post_id: int) -> None:
        return None

    async def review_lapsed(self, post_id: int, fallback: str) -> None:
        return None


#: Told when a platform refused an account's credentials while publishing or syncing metrics
#: (the account's id, the reason): `Alerts.account_refused` marks the account and sends the 🔑
#: alert, so an auth refusal is never silent.
AuthRefused = Callable[[int, str], Awaitable[object]]


async def report_refusals(
    told: AuthRefused | None, failures: Iterable[tuple[int, BaseException | None]]
) -> None:
    """Tell ``told`` once per account whose credentials were refused (``AuthExpired`` among the
    (account id, error) ``failures``); a failure to tell is logged, never raised into the job."""
    if told is None:
        return
    refused = {a: e.reason for a, e in failures if isinstance(e, AuthExpired)}
    for account_id, reason in refused.items():
        try:
            await told(account_id, reason)
        except Exception:
            log.exception("could not report the refused credentials of account %s", account_id)
