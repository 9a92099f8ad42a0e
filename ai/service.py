"""The drafting workflow: brief → AI draft → stored draft post, and regeneration.

Reads what the prompt needs (brand voice, recent posts) in one short transaction, calls the
drafter with no transaction open (an AI call can take seconds), then writes in another. Errors
from the drafter (`ai.errors.AIError`) propagate untouched: the handler shows them with a Retry
button, and nothing is stored for a failed draft.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from ai.drafter import Drafter
from ai.models import BrandVoice, DraftRequest
from storage import repositories as repo
from storage.models import Post

RECENT_POSTS_IN_PROMPT = 3


class DraftChanged(Exception):
    """The draft was changed (edited, approved, rejected) while the new text was being made."""


async def load_voice(session: AsyncSession) -> BrandVoice:
    row = await repo.get_voice(session)
    if row is None:
        return BrandVoice()
    return BrandVoice(
        tone=row.tone, audience=row.audience, do=row.do, dont=row.dont, example=row.example
    )


async def _request(
    session: AsyncSession, brief: str, max_chars: int, **regeneration: str | None
) -> DraftRequest:
    request = DraftRequest(
        brief=brief,
        voice=await load_voice(session),
        recent_posts=await repo.recent_published_texts(session, RECENT_POSTS_IN_PROMPT),
        max_chars=max_chars,
        **regeneration,
    )
    await session.commit()  # end the read transaction before the slow AI call
    return request


async def create_draft(
    session: AsyncSession,
    drafter: Drafter,
    *,
    author_id: int,
    brief: str,
    max_chars: int,
    origin: str | None = None,
) -> Post:
    """Draft a post from the owner's brief and store it as a draft; `origin` says which rule or
    feed asked for it (None: the chat)."""
    request = await _request(session, brief, max_chars)
    draft = await drafter.draft(request)
    post = await repo.create_draft(
        session,
        author_id=author_id,
        brief=brief,
        text=draft.compose(),
        offline=draft.offline,
        origin=origin,
    )
    await session.commit()
    return post


async def regenerate_draft(
    session: AsyncSession,
    drafter: Drafter,
    post: Post,
    *,
    instruction: str | None,
    max_chars: int,
) -> Post:
    """A new version of a draft, optionally following an instruction such as "shorter"."""
    request = await _request(
        session, post.brief, max_chars, previous_draft=post.text, instruction=instruction
    )
    draft = await drafter.draft(request)
    return await edit_draft(session, post, draft.compose(), offline=draft.offline)


async def edit_draft(
    session: AsyncSession, post: Post, text: str, *, offline: bool | None = None
) -> Post:
    """Replace a draft's text, if nobody changed the draft since `post` was read."""
    if not await repo.replace_draft_text(session, post.id, post.version, text, offline=offline):
        await session.rollback()
        raise DraftChanged(post.id)
    await session.commit()
    fresh = await repo.get_post(session, post.id)
    assert fresh is not None
    return fresh
