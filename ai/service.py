"""The drafting workflow: brief → AI draft → stored draft post, and regeneration.

Reads what the prompt needs (brand voice, recent posts) in one short transaction, calls the
drafter with no transaction open (an AI call can take seconds), then writes in another. Errors
from the drafter (`ai.errors.AIError`) propagate untouched: the handler shows them with a Retry
button, and nothing is stored for a failed draft.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn

from sqlalchemy.ext.asyncio import AsyncSession

from ai.adapt import adapt, rules_for, variant_for
from ai.drafter import Drafter
from ai.links import keep_link, link_of
from ai.models import BrandVoice, Draft, DraftRequest, Target
from ai.pricing import estimate_cost
from publishers.base import MediaLimits
from publishers.images import fit, probe
from publishers.registry import PLATFORMS
from storage import draft_jobs, learning
from storage import repositories as repo
from storage.files import write_media
from storage.models import FIRST_BRAND_ID, Account, DecisionKind, Post, PostStatus

#: How many of the best-performing approved posts the prompt shows as examples of the voice.
BEST_POSTS_IN_PROMPT = 3
#: How a photo from the chat is kept: large enough for every platform, fitted again per target
#: on the way out. Telegram albums hold at most 10, and so does a draft.
STORED_IMAGES = MediaLimits(
    max_count=10, max_bytes=10 * 1024 * 1024, max_side=4096, formats=("image/jpeg", "image/png")
)


class TooManyImages(Exception):
    """The draft already has ``STORED_IMAGES.max_count`` images."""


class DraftChanged(Exception):
    """The draft was changed (edited, approved, rejected) while the new text was being made."""


class JobEnded(Exception):
    """The drafting job was cancelled or interrupted while the AI was writing: its result is
    not stored (`storage.draft_jobs`)."""


async def _claim_result(session: AsyncSession, job_id: int | None) -> None:
    """Before a drafting job's result is committed: end the job in the same transaction, or roll
    back and raise ``JobEnded`` if it was cancelled or interrupted meanwhile."""
    if job_id is not None and not await draft_jobs.finish(session, job_id):
        await session.rollback()
        raise JobEnded(job_id)


async def load_voice(session: AsyncSession, brand_id: int = FIRST_BRAND_ID) -> BrandVoice:
    row = await repo.get_voice(session, brand_id)
    if row is None:
        return BrandVoice()
    return BrandVoice(
        tone=row.tone, audience=row.audience, do=row.do, dont=row.dont, example=row.example
    )


MAIN_PLATFORM = "telegram"


def _targets(accounts: Sequence[Account]) -> list[Target]:
    """One target per platform of the enabled accounts, besides the main (Telegram) post."""
    targets: dict[str, Target] = {}
    for account in accounts:
        if account.platform == MAIN_PLATFORM or account.platform not in PLATFORMS:
            continue
        rules = rules_for(account.platform)
        targets[account.platform] = Target(
            platform=account.platform,
            title=PLATFORMS[account.platform].title,
            limit=rules.limit,
            threads=rules.threads,
            hashtags=rules.hashtags,
        )
    return list(targets.values())


async def _request(
    session: AsyncSession,
    brief: str,
    max_chars: int,
    brand_id: int = FIRST_BRAND_ID,
    **regeneration: str | None,
) -> tuple[DraftRequest, Sequence[Account]]:
    """What the drafter is asked, with the brand's enabled accounts (one variant each)."""
    accounts = await repo.enabled_accounts(session, brand_id)
    texts = await learning.prompt_texts(session, BEST_POSTS_IN_PROMPT, brand_id)
    request = DraftRequest(
        brief=brief,
        voice=await load_voice(session, brand_id),
        recent_posts=example_posts(texts),
        learned=texts.preferences,
        max_chars=max_chars,
        targets=_targets(accounts),
        **regeneration,
    )
    await session.commit()  # end the read transaction before the slow AI call
    return request, accounts


def example_posts(texts: learning.PromptTexts) -> list[str]:
    """The approved posts shown to the drafter: those that did best by synced engagement, or
    the latest ones while no metrics are in."""
    return texts.best or texts.recent


def _variants(draft: Draft, accounts: Sequence[Account]) -> list[tuple[Account, str]]:
    """Each target account with the text for it: the main post on Telegram, the platform's
    variant elsewhere."""
    main = draft.compose()
    return [
        (account, main if account.platform == MAIN_PLATFORM else variant_for(draft, platform))
        for account in accounts
        if (platform := account.platform) in PLATFORMS
    ]


def _variant_texts(draft: Draft, accounts: Sequence[Account]) -> dict[int, str]:
    """account id → the text for it (`_variants`)."""
    return {account.id: text for account, text in _variants(draft, accounts)}


def _with_link(draft: Draft, brief: str) -> Draft:
    """The draft with the link its brief came from (ai.links), wherever the model dropped it:
    a post about a page links to it."""
    link = link_of(brief)
    if link is None:
        return draft
    return draft.model_copy(
        update={
            "text": keep_link(draft.text, link),
            "variants": {p: keep_link(text, link) for p, text in draft.variants.items()},
        }
    )


async def _record_usage(session: AsyncSession, draft: Draft, purpose: str, brand_id: int) -> None:
    """The call's tokens and cost, counted against the brand it drafted for."""
    if draft.offline or not draft.model:
        return
    await repo.record_ai_usage(
        session,
        brand_id=brand_id,
        at=datetime.now(UTC),
        model=draft.model,
        purpose=purpose,
        input_tokens=draft.input_tokens,
        output_tokens=draft.output_tokens,
        cost_usd=estimate_cost(draft.model, draft.input_tokens, draft.output_tokens),
    )


async def create_draft(
    session: AsyncSession,
    drafter: Drafter,
    *,
    author_id: int,
    brief: str,
    max_chars: int,
    origin: str | None = None,
    origin_key: str | None = None,
    job_id: int | None = None,
    brand_id: int = FIRST_BRAND_ID,
) -> Post:
    """Draft a post of ``brand_id`` from the brief and store it as a draft, with one variant per
    enabled target account of the brand; `origin` says which rule or feed asked for it (None:
    the chat), `origin_key` which run of which automation action (unique: a re-run cannot draft
    twice); `job_id` the drafting job (`storage.draft_jobs`) that ends with it."""
    request, accounts = await _request(session, brief, max_chars, brand_id)
    draft = _with_link(await drafter.draft(request), brief)
    post = await repo.create_draft(
        session,
        brand_id=brand_id,
        author_id=author_id,
        brief=brief,
        text=draft.compose(),
        offline=draft.offline,
        origin=origin,
        origin_key=origin_key,
        variants=_variants(draft, accounts),
    )
    await _record_usage(session, draft, "draft", brand_id)
    await _claim_result(session, job_id)
    await session.commit()
    return post  # whole as stored (`repo.create_draft`): no need to read it back


async def regenerate_draft(
    session: AsyncSession,
    drafter: Drafter,
    post: Post,
    *,
    instruction: str | None,
    max_chars: int,
    job_id: int | None = None,
) -> Post:
    """A new version of a draft, optionally following an instruction such as "shorter"."""
    request, accounts = await _request(
        session,
        post.brief,
        max_chars,
        post.brand_id,
        previous_draft=post.text,
        instruction=instruction,
    )
    draft = _with_link(await drafter.draft(request), post.brief)
    if not await repo.replace_draft_text(
        session, post.id, post.version, draft.compose(), offline=draft.offline
    ):
        await _changed(session, post)
    await learning.record_decision(
        session,
        post,
        DecisionKind.REGENERATED,
        after=draft.compose(),
        instruction=instruction,
        ai_drafted=not draft.offline,
    )
    await repo.save_variants(session, post.id, _variant_texts(draft, accounts))
    await _record_usage(session, draft, "regenerate", post.brand_id)
    await _claim_result(session, job_id)
    return await _committed(session, post.id)


async def regenerate_variant(
    session: AsyncSession,
    drafter: Drafter,
    post: Post,
    account_id: int,
    *,
    instruction: str | None,
    max_chars: int,
    job_id: int | None = None,
) -> Post:
    """A new text for one target alone, rewritten from its current one; the main text and the
    other targets stay as they are, and this target then keeps its text when the main one is
    edited (as after an edit by hand)."""
    variant = next((v for v in post.variants if v.account_id == account_id), None)
    if variant is None:
        raise DraftChanged(post.id)
    platform = variant.account.platform
    title = PLATFORMS[platform].title if platform in PLATFORMS else platform
    scope = f"This is the {title} version of the post; rewrite it for {title}."
    request, _accounts = await _request(
        session,
        post.brief,
        max_chars,
        post.brand_id,
        previous_draft=variant.text,
        instruction=f"{scope} {instruction}" if instruction else scope,
    )
    only_this = [target for target in request.targets if target.platform == platform]
    draft = await drafter.draft(request.model_copy(update={"targets": only_this}))
    text = draft.compose() if platform == MAIN_PLATFORM else variant_for(draft, platform)
    if not await repo.bump_draft(session, post.id, post.version) or not await repo.update_variant(
        session, post.id, account_id, text=text, edited=True
    ):
        await _changed(session, post)
    await _record_usage(session, draft, "regenerate", post.brand_id)
    await _claim_result(session, job_id)
    return await _committed(session, post.id)


async def edit_draft(
    session: AsyncSession,
    post: Post,
    text: str,
    *,
    offline: bool | None = None,
    status: str = PostStatus.DRAFT,
) -> Post:
    """Replace a draft's main text (a draft under review's, with ``status``: a reviewer's edit
    before approving), if nobody changed the draft since `post` was read; the variants the
    owner did not edit by hand follow it. The edit is recorded as a lesson."""
    if not await repo.replace_draft_text(
        session, post.id, post.version, text, offline=offline, status=status
    ):
        await _changed(session, post)
    await learning.record_decision(session, post, DecisionKind.EDITED, after=text)
    for variant in await repo.unedited_variants(session, post.id):
        platform = variant.account.platform
        new_text = text if platform == MAIN_PLATFORM else adapt(Draft(text=text), platform)
        await repo.update_variant(session, post.id, variant.account_id, text=new_text)
    return await _committed(session, post.id)


async def edit_variant(session: AsyncSession, post: Post, account_id: int, text: str) -> Post:
    """Replace one target's text by hand (it then stays as written when the main text
    changes)."""
    if not await repo.bump_draft(session, post.id, post.version) or not await repo.update_variant(
        session, post.id, account_id, text=text, edited=True
    ):
        await _changed(session, post)
    return await _committed(session, post.id)


async def toggle_target(session: AsyncSession, post: Post, account_id: int) -> Post:
    """Leave a target out of this post, or take it back in."""
    variant = next((v for v in post.variants if v.account_id == account_id), None)
    if variant is None or not await repo.bump_draft(session, post.id, post.version):
        await _changed(session, post)
    await repo.update_variant(session, post.id, account_id, enabled=not variant.enabled)
    return await _committed(session, post.id)


async def _changed(session: AsyncSession, post: Post) -> NoReturn:
    """Give up a change the draft moved past: roll back and raise ``DraftChanged`` (the id is
    read first: the rollback expires the loaded post, and an async session cannot reload it
    implicitly)."""
    post_id = post.id
    await session.rollback()
    raise DraftChanged(post_id)


async def _committed(session: AsyncSession, post_id: int) -> Post:
    await session.commit()
    fresh = await repo.get_post(session, post_id)
    assert fresh is not None
    return fresh


async def detach_images(
    session: AsyncSession, post: Post, media_ids: Sequence[int] | None = None
) -> Post:
    """Take images off a draft: those with ``media_ids``, or all of them. Raises
    ``DraftChanged`` if the draft moved on, or if one of them is no longer attached."""
    wanted = None if media_ids is None else set(media_ids)
    expected = len(post.media) if wanted is None else len(wanted)
    if not await repo.bump_draft(session, post.id, post.version) or (
        await repo.remove_media(session, post.id, wanted) != expected
    ):
        await _changed(session, post)
    return await _committed(session, post.id)


async def attach_images(
    session: AsyncSession, post: Post, images: Sequence[bytes], *, data_dir: Path
) -> Post:
    """Store photos from the chat under the data dir and attach them to a draft, in order.

    Raises ``publishers.errors.Permanent`` for a file that is not a usable image, and
    ``TooManyImages`` past ten; nothing is attached then.
    """
    if len(post.media) + len(images) > STORED_IMAGES.max_count:
        raise TooManyImages(post.id)
    stored = []
    for image in images:
        data, mime = await asyncio.to_thread(fit, image, STORED_IMAGES)
        width, height, _ = await asyncio.to_thread(probe, data)
        path = await asyncio.to_thread(write_media, data_dir, data, mime)
        stored.append((path, mime, width, height, len(data)))
    if not await repo.bump_draft(session, post.id, post.version):
        await _changed(session, post)
    for path, mime, width, height, size in stored:
        await repo.add_media(
            session, post.id, path=path, mime=mime, width=width, height=height, size=size
        )
    return await _committed(session, post.id)
