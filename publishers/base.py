"""The protocol every platform publisher implements, and what publishing returns.

Publishers are pure adapters: given an injected ``httpx.AsyncClient``, credentials and a base
URL, they talk to one platform. They know nothing of the database or aiogram; failures are
raised as :mod:`publishers.errors` subclasses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class PublishResult:
    """Where a post went.

    ``external_id`` identifies the post (the first message of a split post); ``part_ids`` lists
    every message that makes up the post, in order (``(external_id,)`` when not split).
    """

    external_id: str
    url: str | None
    part_ids: tuple[str, ...]


@runtime_checkable
class Publisher(Protocol):
    platform: str
    """Platform key, e.g. ``"telegram"``."""
    name: str
    """Human label of the target, e.g. ``"@nexus_channel"``."""

    def validate(self, text: str) -> list[str]:
        """Problems with ``text`` in plain words; an empty list means it can be published."""
        ...

    async def publish(self, text: str, *, already_posted: Sequence[str] = ()) -> PublishResult:
        """Publish plain ``text``; raise a ``PublishError`` subclass on failure.

        ``already_posted`` holds the parts of a split post that went out before a failure
        (``PublishError.posted_part_ids``): only the rest is sent.
        """
        ...

    async def delete(self, external_id: str) -> None:
        """Delete a published message by its id; deleting a missing message is not an error."""
        ...

    async def verify(self) -> str:
        """Make a cheap authenticated call; return a human description of the target."""
        ...
