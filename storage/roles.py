"""Who may do what in a brand: the one table every handler and job checks a member's role in.

- **Owner:** everything, including accounts, keys, the team, settings and taking published posts
  down.
- **Editor:** drafts, edits, regenerates and schedules; what an editor approves or schedules goes
  to review first, unless the brand lets editors publish (`needs_review`).
- **Reviewer:** approves or rejects drafts under review, and may edit them before approving.
- **Viewer:** sees the queue, stats and digests.
"""

from __future__ import annotations

from enum import StrEnum

from storage.models import Brand, Role


class Can(StrEnum):
    """A capability a role grants; a handler is flagged with the one it needs."""

    VIEW = "view"  # /queue, /stats, /log, digests
    DRAFT = "draft"  # briefs, edits, regenerations, variants, images, scheduling a draft
    REVIEW = "review"  # approving, rejecting or requesting changes to a draft under review
    MANAGE = "manage"  # accounts, keys, voice, slots, rules, sources, team, brand settings


GRANTS: dict[Role, frozenset[Can]] = {
    Role.OWNER: frozenset(Can),
    Role.EDITOR: frozenset({Can.VIEW, Can.DRAFT}),
    Role.REVIEWER: frozenset({Can.VIEW, Can.REVIEW}),
    Role.VIEWER: frozenset({Can.VIEW}),
}

#: Roles from the most to the least powerful (how /team lists people).
RANKED = (Role.OWNER, Role.EDITOR, Role.REVIEWER, Role.VIEWER)


def can(role: Role | str | None, capability: Can) -> bool:
    """Whether ``role`` grants ``capability`` (no role, or an unknown one, grants nothing)."""
    try:
        return role is not None and capability in GRANTS[Role(role)]
    except ValueError:
        return False


def needs_review(role: Role | str, brand: Brand) -> bool:
    """Whether what this member approves or schedules waits for a reviewer: an editor's does,
    unless the brand lets editors publish; an owner's and a reviewer's never do."""
    return Role(role) is Role.EDITOR and not brand.editors_publish
