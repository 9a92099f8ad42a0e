"""The one interface handlers use to get a draft, whichever drafter is behind it.

Handlers and the CLI depend on this protocol only; :func:`ai.make_drafter` picks Claude when an
API key is configured and the offline drafter otherwise, so the draft/approve loop works out of
the box and tests can use either.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from ai.models import Draft, DraftRequest


@runtime_checkable
class Drafter(Protocol):
    async def draft(self, request: DraftRequest) -> Draft:
        """Return a validated draft that fits ``request.max_chars``; raise ``ai.errors.AIError``."""
        ...

    async def check(self) -> str:
        """Cheap reachability/auth check for ``nexus check``: a one-line description, or raise."""
        ...

    async def aclose(self) -> None:
        """Release network resources (call from the shutdown hook); safe to call twice."""
        ...
