"""What the scheduler tells the owner, as an interface that `bot/` implements.

The scheduler never imports aiogram: jobs report outcomes through a `Notifier`, and the bot's
implementation turns them into chat messages with buttons.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


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


class Notifier(Protocol):
    async def post_settled(self, report: PublishReport) -> None:
        """Every target of a post is done; failures need the owner's decision."""

    async def post_overdue(self, post_id: int, due_at: datetime) -> None:
        """A post fell due longer ago than the misfire grace: publish now, reschedule or drop?"""

    async def publication_unsure(self, publication_id: int) -> None:
        """A publication was interrupted mid-send: did it go out?"""

    async def draft_ready(self, post_id: int) -> None:
        """A draft made without the owner (a rule, a feed) waits for approval: show its preview
        with the usual buttons."""

    async def tell_owner(self, text: str) -> None:
        """A plain-text message to the owner(s) (a rule's notify action); not parsed as HTML."""

    async def automation_failed(self, name: str, reason: str) -> None:
        """A rule or a feed failed (the default `automation.engine.FailureSink`)."""


class SilentNotifier:
    """For runs with nobody to tell (benchmarks)."""

    async def post_settled(self, report: PublishReport) -> None:
        return None

    async def post_overdue(self, post_id: int, due_at: datetime) -> None:
        return None

    async def publication_unsure(self, publication_id: int) -> None:
        return None

    async def draft_ready(self, post_id: int) -> None:
        return None

    async def tell_owner(self, text: str) -> None:
        return None

    async def automation_failed(self, name: str, reason: str) -> None:
        return None
