"""Drafting in the background: a brief or a regeneration becomes a tracked job, and the handler
returns at once.

The chat's event lock (`SimpleEventIsolation`) is held only while a job is recorded and started;
Claude then writes outside it, so the owner's taps, /cancel, other commands and a second brief
are answered meanwhile. Each job:

1. is recorded in `draft_jobs` (committed) before the AI is asked: a crash from here on is
   reported at the next start (`report_interrupted`). A new draft from the offline drafter is
   not (an insert, a delete and a commit less per brief): it is written at once, locally, so
   there is no wait worth cancelling, and a crash before it is stored loses only briefs that
   were still waiting for their turn (`ai.tasks.MAX_WRITING`), not a draft;
2. shows "✍️ Drafting…" with ✖️ Cancel (a new brief: as a reply, once drafting takes longer than
   a moment, so an instant offline draft arrives directly; a regeneration: in the preview);
3. stores its result in the transaction that deletes its row. A cancel deletes the row first,
   a shutdown marks it interrupted first: the result then rolls back, and no half draft is left.

`Drafting.shutdown` (from `Nexus.aclose`) waits a bounded time for running jobs, then interrupts
the rest and tells the owner; the next start reminds them with ↻ Retry.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest, TelegramForbiddenError
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message, ReplyParameters
from aiogram.utils.chat_action import ChatActionSender
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ai.drafter import Drafter
from ai.errors import AIError
from ai.offline import OfflineDrafter
from ai.service import (
    DraftChanged,
    JobEnded,
    TooManyImages,
    attach_images,
    create_draft,
    regenerate_draft,
    regenerate_variant,
)
from ai.tasks import DraftTasks, JobInfo
from handlers.previews import remember_preview, send_new_preview, show, show_preview
from handlers.routing import TappedMessage, needs
from handlers.variants import show_variant, target_of
from publishers.errors import Permanent
from publishers.text import TELEGRAM_TEXT_LIMIT
from scheduler.clock import Clock
from scheduler.dispatcher import PublisherFor
from storage import draft_jobs, scope, teams
from storage import repositories as repo
from storage.models import FIRST_BRAND_ID, DraftJob, Post, PostStatus
from storage.roles import Can
from ui import views
from ui.callbacks import DraftJobCb, RegenCb, RetryDraftCb
from ui.keyboards import single_button
from ui.texts import Texts

log = logging.getLogger(__name__)

#: A draft that takes longer than this gets a "drafting…" reply and the typing indicator (an
#: instant offline draft needs neither, and skipping them saves two Telegram calls).
PROGRESS_AFTER_S = 0.3
#: How long a shutdown waits for drafts being written before it interrupts them.
SHUTDOWN_GRACE_S = 10.0
#: How much of a brief names it in the "was interrupted" reminder.
ABOUT_CHARS = 60

NEW, REGEN = "new", "regen"


@dataclass
class Photos:
    """Images that go with a new draft. An album's later items arrive while the first one's
    draft is still being written: they are added here until the job takes them (`close`), and
    attached to the stored draft (`post_id`) after that."""

    images: list[bytes] = field(default_factory=list)
    taken: bool = False
    post_id: int | None = None
    #: Set once the job's images are attached (or the job ended without a draft).
    settled: asyncio.Event = field(default_factory=asyncio.Event)

    def add(self, image: bytes) -> bool:
        """Hand an image to the job; False once the job has taken its images."""
        if self.taken:
            return False
        self.images.append(image)
        return True

    def close(self) -> list[bytes]:
        self.taken = True
        return list(self.images)

    def settle(self, post_id: int | None) -> None:
        self.taken, self.post_id = True, post_id
        self.settled.set()


@dataclass
class _Live:
    """What a running job needs to be shown, cancelled or interrupted without the database."""

    t: Texts
    kind: str
    chat_id: int
    #: The message that says "drafting…" (a reply to the brief, or the draft's preview).
    progress: int | None = None
    post_id: int | None = None
    #: The brand's time zone (the preview's forecast speaks of its time of day).
    tz: ZoneInfo | None = None
    #: Whether the job has a `draft_jobs` row (an instant draft has none, and a negative id).
    recorded: bool = True
    #: The brand the job drafts for, and its name as the preview shows it (`storage.scope`).
    brand_id: int | None = None
    brand_shown: str | None = None

    def within(self, session: AsyncSession) -> _Live:
        """Take the time zone and brand of ``session`` (the update's), for the job's own."""
        self.tz = session.info.get("tz")
        self.brand_id, self.brand_shown = scope.brand_of(session), scope.shown_name(session)
        return self


async def attach_or_explain(
    session: AsyncSession,
    t: Texts,
    post: Post,
    images: Sequence[bytes],
    data_dir: Path,
    source: Message,
) -> Post:
    """Attach `images` to the draft; on a bad file or too many, tell the owner why and keep
    the draft as it was."""
    try:
        return await attach_images(session, post, images, data_dir=data_dir)
    except Permanent as exc:
        await source.reply(t("media.bad", reason=exc.reason))
    except TooManyImages:
        await source.reply(t("media.too_many", post_id=post.id, count=len(post.media)))
    except DraftChanged:
        await source.reply(t("draft.changed", post_id=post.id))
    fresh = await repo.get_post(session, post.id)
    return fresh or post


def cancel_button(t: Texts, job_id: int) -> InlineKeyboardMarkup:
    return single_button(t.plain("bg.btn.cancel"), DraftJobCb(job=job_id))


def about(brief: str) -> str:
    words = " ".join(brief.split())
    return words if len(words) <= ABOUT_CHARS else words[: ABOUT_CHARS - 1] + "…"


class Drafting:
    """Starts, cancels and stops the drafting jobs of one app (in ``workflow_data`` as
    ``drafting``)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        drafter: Drafter,
        *,
        data_dir: Path,
        publisher_for: PublisherFor | None = None,
        clock: Clock | None = None,
        default_tz: str = "UTC",
        grace: float = SHUTDOWN_GRACE_S,
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.default_tz = default_tz
        self.drafter = drafter
        self.data_dir = data_dir
        self.publisher_for = publisher_for
        self.grace = grace
        self.tasks = DraftTasks()
        #: The offline drafter is local and instant: its drafts get no "drafting…" message (a
        #: busy moment would otherwise cost three Telegram calls per brief for nothing).
        self.instant = isinstance(drafter, OfflineDrafter)
        self._live: dict[int, _Live] = {}
        self._unrecorded_ids = itertools.count(-1, -1)

    def _session(self, live: _Live | None = None) -> AsyncSession:
        session = self.sessions()
        session.info["publisher_for"] = self.publisher_for  # previews check each target's text
        session.info["clock"] = self.clock  # and tell the forecast the time, in the owner's zone
        session.info["tz"] = live.tz if live else None
        if live is not None and live.brand_id is not None:
            scope.enter(session, live.brand_id, live.brand_shown)
        session.info["default_tz"] = self.default_tz
        return session

    def _start(self, job: DraftJob, live: _Live, work: Coroutine[Any, Any, None]) -> None:
        self._live[job.id] = live
        task = self.tasks.start(JobInfo(job.id, live.chat_id, live.post_id), work)
        task.add_done_callback(lambda _: self._live.pop(job.id, None))

    def kind_of(self, job_id: int) -> tuple[str, int | None] | None:
        """A running job's kind and draft id (None for a job that does not run)."""
        live = self._live.get(job_id)
        return (live.kind, live.post_id) if live else None

    # --- new drafts ------------------------------------------------------------------------

    async def start_new(
        self,
        session: AsyncSession,
        bot: Bot,
        t: Texts,
        *,
        brief: str,
        author_id: int,
        source: Message,
        progress: Message | None = None,
        photos: Photos | None = None,
    ) -> int:
        """Record and start drafting from ``brief``, in the brand of ``session`` (the update's,
        scoped to the author's current brand); the job's id. ``progress`` is a message to turn
        into "drafting…" (a Retry), otherwise one is replied to ``source`` if it takes a while.
        ``session`` is committed."""
        job = DraftJob(
            brand_id=scope.brand_of(session) or FIRST_BRAND_ID,
            kind=NEW,
            chat_id=source.chat.id,
            author_id=author_id,
            language=t.language,
            brief=brief,
            source_message_id=source.message_id,
            progress_message_id=progress.message_id if progress else None,
        )
        live = _Live(t, NEW, source.chat.id, progress.message_id if progress else None)
        live.within(session)
        if self.instant and progress is None:
            job.id, live.recorded = next(self._unrecorded_ids), False
        else:
            job = await draft_jobs.begin(session, job)
        if progress is not None:
            await progress.edit_text(t("drafting"), reply_markup=cancel_button(t, job.id))
        self._start(job, live, self._write_new(bot, job, live, source, progress, photos))
        return job.id

    async def _write_new(
        self,
        bot: Bot,
        job: DraftJob,
        live: _Live,
        source: Message,
        progress: Message | None,
        photos: Photos | None,
    ) -> None:
        try:
            await self._write_new_photos(bot, job, live, source, progress, photos)
        finally:
            if photos is not None and not photos.settled.is_set():
                photos.settle(None)  # no draft to attach an album's later items to

    async def _write_new_photos(
        self,
        bot: Bot,
        job: DraftJob,
        live: _Live,
        source: Message,
        progress: Message | None,
        photos: Photos | None,
    ) -> None:
        t = live.t

        async def write() -> Post:
            async with self._session(live) as session:
                return await create_draft(
                    session,
                    self.drafter,
                    author_id=job.author_id,
                    brief=job.brief,
                    max_chars=TELEGRAM_TEXT_LIMIT,
                    job_id=job.id if live.recorded else None,
                    brand_id=job.brand_id,
                )

        writing = asyncio.ensure_future(write())
        try:
            if progress is None and not self.instant:
                await asyncio.wait({writing}, timeout=PROGRESS_AFTER_S)
                if not writing.done():
                    progress = await source.reply(
                        t("drafting"), reply_markup=cancel_button(t, job.id)
                    )
                    live.progress = progress.message_id
                    async with self._session() as session:
                        await draft_jobs.set_progress(session, job.id, progress.message_id)
            if not writing.done() and not self.instant:
                async with ChatActionSender.typing(bot=bot, chat_id=live.chat_id):
                    await asyncio.wait({writing})
            post = await writing
        except AIError as exc:
            log.warning("drafting failed: %s", exc)
            if live.recorded:
                await self._forget(job.id)
            text = views.ai_error(t, exc)
            markup = single_button(t.plain("btn.retry"), RetryDraftCb())
            if progress is not None:
                await progress.edit_text(text, reply_markup=markup)
            else:
                await source.reply(text, reply_markup=markup)
            return
        except JobEnded:
            return  # cancelled or interrupted: whoever ended it tells the owner
        finally:
            if not writing.done():
                writing.cancel()
        async with self._session(live) as session:
            if photos is not None:
                images = photos.close()
                if images:
                    post = await attach_or_explain(session, t, post, images, self.data_dir, source)
                photos.settle(post.id)
            if progress is not None:
                await remember_preview(session, post, progress.chat.id, progress.message_id)
            await show_preview(bot, session, t, post, chat_id=live.chat_id)

    # --- regeneration ----------------------------------------------------------------------

    async def start_regenerate(
        self,
        session: AsyncSession,
        bot: Bot,
        t: Texts,
        post: Post,
        *,
        instruction: str | None,
        chat_id: int,
        source: Message,
        retry: RegenCb,
        steered: bool = False,
    ) -> bool:
        """Record and start rewriting ``post`` (or only its target ``retry.acc``); False if it
        is being rewritten already. An AI failure is a reply to ``source`` with Retry. A rewrite
        the owner asked for by replying to the preview (``steered``) comes as a new preview at
        the bottom of the chat, with what changed."""
        if self.tasks.for_post(post.id) is not None:
            return False
        job = await draft_jobs.begin(
            session,
            DraftJob(
                brand_id=post.brand_id,
                kind=REGEN,
                chat_id=chat_id,
                author_id=post.author_id,
                language=t.language,
                brief=instruction or "",
                post_id=post.id,
                account_id=retry.acc,
                preset=retry.preset,
                source_message_id=source.message_id,
                progress_message_id=post.preview_message_id,
            ),
        )
        variant = target_of(post, retry.acc) if retry.acc else None
        text = (
            t("regenerating_variant", post_id=post.id, name=views.target_name(variant.account))
            if variant
            else t("regenerating", post_id=post.id)
        )
        await show(bot, session, post, text, cancel_button(t, job.id), chat_id=chat_id)
        live = _Live(t, REGEN, chat_id, post.preview_message_id, post.id).within(session)
        rewrite = self._rewrite(bot, job, live, post, source, retry, steered=steered)
        self._start(job, live, rewrite)
        return True

    async def _rewrite(
        self,
        bot: Bot,
        job: DraftJob,
        live: _Live,
        post: Post,
        source: Message,
        retry: RegenCb,
        *,
        steered: bool,
    ) -> None:
        t, account, chat_id = live.t, retry.acc, live.chat_id
        before = post.text
        instruction = job.brief or None
        async with (
            self._session(live) as session,
            ChatActionSender.typing(bot=bot, chat_id=chat_id),
        ):
            try:
                if account:
                    post = await regenerate_variant(
                        session,
                        self.drafter,
                        post,
                        account,
                        instruction=instruction,
                        max_chars=TELEGRAM_TEXT_LIMIT,
                        job_id=job.id,
                    )
                else:
                    post = await regenerate_draft(
                        session,
                        self.drafter,
                        post,
                        instruction=instruction,
                        max_chars=TELEGRAM_TEXT_LIMIT,
                        job_id=job.id,
                    )
            except AIError as exc:
                log.warning("regenerating post %s failed: %s", post.id, exc)
                await draft_jobs.forget(session, job.id)
                await self._show_draft(bot, session, t, post.id, account, chat_id)
                await source.reply(
                    views.ai_error(t, exc), reply_markup=single_button(t.plain("btn.retry"), retry)
                )
                return
            except DraftChanged:
                await draft_jobs.forget(session, job.id)
                await bot.send_message(chat_id, t("draft.changed", post_id=post.id))
                await self._show_draft(bot, session, t, post.id, 0, chat_id)
                return
            except JobEnded:
                return
        async with self._session(live) as session:
            fresh = await repo.get_post(session, post.id)
            if steered and not account and fresh is not None:
                changes = views.word_diff(before, fresh.text)
                await send_new_preview(bot, session, t, fresh, chat_id=chat_id, changes=changes)
                return
            await self._show_draft(bot, session, t, post.id, account, chat_id)

    @staticmethod
    async def _show_draft(
        bot: Bot, session: AsyncSession, t: Texts, post_id: int, account: int, chat_id: int
    ) -> None:
        """The preview, or target ``account``'s view when a single target was rewritten."""
        post = await repo.get_post(session, post_id)
        if post is None:
            return
        if account and post.status == PostStatus.DRAFT and target_of(post, account):
            await show_variant(bot, session, t, post, account, chat_id=chat_id)
        else:
            await show_preview(bot, session, t, post, chat_id=chat_id)

    async def _forget(self, job_id: int) -> None:
        async with self._session() as session:
            await draft_jobs.forget(session, job_id)

    # --- cancel ----------------------------------------------------------------------------

    async def cancel(self, session: AsyncSession, bot: Bot, job_id: int) -> bool | None:
        """The owner's cancel of job ``job_id``: True if it stopped before its result was
        stored (the "drafting…" message then says so), False if too late, None if no such job
        runs."""
        live = self._live.get(job_id)
        if live is None:
            return None
        if not live.recorded:  # an instant draft: being stored as we speak
            return False
        if not await draft_jobs.cancel(session, job_id):
            return False
        await self.tasks.stop(job_id)
        await self._after_cancel(session, bot, live)
        return True

    async def cancel_chat(self, session: AsyncSession, bot: Bot, chat_id: int) -> int:
        """/cancel: stop every job of the chat still writing; how many were stopped."""
        stopped = 0
        for info in self.tasks.for_chat(chat_id):
            stopped += bool(await self.cancel(session, bot, info.job_id))
        return stopped

    async def _after_cancel(self, session: AsyncSession, bot: Bot, live: _Live) -> None:
        t = live.t
        if live.kind == REGEN and live.post_id is not None:
            await self._show_draft(bot, session, t, live.post_id, 0, live.chat_id)
        elif live.progress is not None:
            with contextlib.suppress(TelegramBadRequest):
                await bot.edit_message_text(
                    t("bg.cancelled"), chat_id=live.chat_id, message_id=live.progress
                )
        else:
            await bot.send_message(live.chat_id, t("bg.cancelled"))

    # --- shutdown and the next start -------------------------------------------------------

    async def shutdown(self, bot: Bot) -> int:
        """Wait up to ``grace`` seconds for running jobs, then interrupt the rest (marked in the
        database; the owner is told now and reminded at the next start). How many were
        interrupted."""
        interrupted = 0
        for info in await self.tasks.wait(self.grace):
            live = self._live.get(info.job_id)
            if live is not None and not live.recorded:
                continue  # an instant draft: let it be stored and shown
            async with self._session() as session:
                if not await draft_jobs.interrupt(session, info.job_id):
                    continue  # its result was stored meanwhile: let it be shown
            interrupted += 1
            await self.tasks.stop(info.job_id)
            if live is not None and live.progress is not None:
                with contextlib.suppress(TelegramAPIError):
                    await bot.edit_message_text(
                        live.t("bg.stopping"), chat_id=live.chat_id, message_id=live.progress
                    )
        for info in await self.tasks.wait(self.grace):  # results stored at the last moment
            await self.tasks.stop(info.job_id)
        return interrupted

    async def report_interrupted(self, bot: Bot) -> int:
        """At start-up: tell the owner of every draft a shutdown or a crash interrupted, with
        ↻ Retry; how many were reported. A job stays recorded if Telegram cannot be reached,
        for the next start."""
        async with self._session() as session:
            jobs = await draft_jobs.left_over(session)
            named = {
                job.id: await teams.brand_to_name(session, job.author_id, job.brand_id)
                for job in jobs
            }
        reported = 0
        for job in jobs:
            brand = named[job.id]
            try:
                await _remind(bot, job, brand.name if brand else None)
            except TelegramAPIError as exc:
                log.warning("could not remind chat %s of job %s: %s", job.chat_id, job.id, exc)
                if not isinstance(exc, TelegramBadRequest | TelegramForbiddenError):
                    continue  # Telegram is unreachable: remind at the next start
            reported += 1
            async with self._session() as session:
                await draft_jobs.forget(session, job.id)
                if job.kind == REGEN and job.post_id is not None:  # its preview said "stopping"
                    with contextlib.suppress(TelegramAPIError):
                        await self._show_draft(
                            bot, session, Texts(job.language), job.post_id, 0, job.chat_id
                        )
        return reported


async def _remind(bot: Bot, job: DraftJob, brand: str | None) -> None:
    """The reminder of an interrupted job, naming its ``brand`` for someone in several."""
    t = Texts(job.language)
    retry: CallbackData
    if job.kind == REGEN and job.post_id is not None:
        text = t("bg.interrupted_regen", post_id=job.post_id)
        retry = RegenCb(post=job.post_id, preset=job.preset or 0, acc=job.account_id)
    else:
        text = t("bg.interrupted", about=about(job.brief))
        retry = RetryDraftCb()
    if brand is not None:
        text = f"{t('brandjobs.brand', name=brand)}\n{text}"
    if job.progress_message_id and job.kind == NEW:
        with contextlib.suppress(TelegramBadRequest):  # its ✖️ Cancel no longer applies
            await bot.edit_message_text(
                t("bg.stopping"), chat_id=job.chat_id, message_id=job.progress_message_id
            )
    reply = (
        ReplyParameters(message_id=job.source_message_id, allow_sending_without_reply=True)
        if job.source_message_id
        else None
    )
    await bot.send_message(
        job.chat_id,
        text,
        reply_markup=single_button(t.plain("bg.btn.retry"), retry),
        reply_parameters=reply,
    )


# --- the ✖️ Cancel button ------------------------------------------------------------------


async def on_cancel_job(
    query: CallbackQuery,
    callback_data: DraftJobCb,
    message: Message,
    bot: Bot,
    session: AsyncSession,
    drafting: Drafting,
    t: Texts,
) -> None:
    job = drafting.kind_of(callback_data.job)
    outcome = await drafting.cancel(session, bot, callback_data.job)
    if outcome is None:
        await query.answer(t.plain("bg.not_running"))
        with contextlib.suppress(TelegramBadRequest):
            await message.edit_reply_markup(reply_markup=None)
    elif outcome is False:
        await query.answer(t.plain("bg.too_late"))
    elif job is not None and job[0] == REGEN and job[1] is not None:
        await query.answer(t.plain("bg.regen_cancelled", post_id=job[1]))
    else:
        await query.answer(t.plain("bg.cancelled"))


def router() -> Router:
    r = Router(name="drafting")
    r.callback_query.filter(TappedMessage())
    r.callback_query.register(on_cancel_job, DraftJobCb.filter(), flags=needs(Can.DRAFT))
    return r
