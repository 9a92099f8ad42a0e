"""How posts and outcomes look in the owner's chat (Telegram HTML)."""

from __future__ import annotations

import html
from datetime import date, datetime
from zoneinfo import ZoneInfo

from ai.errors import (
    AIAuthError,
    AIBadAnswer,
    AIError,
    AIOverloaded,
    AIRateLimited,
    AIRequestRejected,
    AITimeout,
    AIUnavailable,
)
from ai.models import BrandVoice
from ai.plans import Plan
from ai.wordiff import word_ops
from publishers.check import VariantCheck
from publishers.errors import TextTooLong
from publishers.quota import Usage
from publishers.registry import account_label, platform_name
from publishers.text import TELEGRAM_TEXT_LIMIT, split_text, utf16_len
from scheduler.lifecycle import Progress
from scheduler.notify import Link, OwnerReport, PublishReport, ReportValue, TargetMoved
from scheduler.recurrence import RepeatRule
from storage.models import Account, Post
from ui import dates
from ui.fit import TEXT_LIMIT, clip, fit_html, is_clipped, parts, visible_len
from ui.texts import Html, Texts

#: Room for the "… (N more characters)" note of a clipped post text, and the least of the post
#: text a preview shows however long its heading and footer.
_TRUNCATION_NOTE = 60
_MIN_BODY = 500

_AI_ERROR_KEYS: tuple[tuple[type[AIError], str], ...] = (
    (AIAuthError, "ai.err.auth"),
    (AIRequestRejected, "ai.err.rejected"),
    (AIRateLimited, "ai.err.rate_limited"),
    (AIOverloaded, "ai.err.overloaded"),
    (AITimeout, "ai.err.timeout"),
    (AIUnavailable, "ai.err.unavailable"),
    (AIBadAnswer, "ai.err.bad_answer"),
)


def _clip(text: str, budget: int, t: Texts) -> str:
    """Escaped `text`, cut at a word boundary if it would not fit in `budget` UTF-16 units."""
    if utf16_len(text) <= budget:
        return html.escape(text, quote=False)
    cut = text[:budget]
    while utf16_len(cut) > budget:
        cut = cut[:-1]
    head = cut.rsplit(None, 1)[0] if " " in cut.strip() else cut
    hidden = utf16_len(text) - utf16_len(head)
    return html.escape(head, quote=False) + "\n" + t.n("preview.truncated", hidden)


def length_line(t: Texts, text: str) -> str:
    length = utf16_len(text)
    if length <= TELEGRAM_TEXT_LIMIT:
        return t("preview.fits", length=length, limit=TELEGRAM_TEXT_LIMIT)
    try:
        parts = split_text(text, TELEGRAM_TEXT_LIMIT)
    except TextTooLong as exc:
        return t("preview.too_long", reason=exc.reason)
    return t("preview.split", length=length, parts=len(parts))


def target_name(account: Account) -> str:
    """ "X @nexus", "Telegram @nexus_channel": the platform, then the account."""
    return account_label(account)


def target_line(
    t: Texts,
    account: Account,
    check: VariantCheck | None,
    *,
    own_text: bool = False,
    usage: Usage | None = None,
) -> str:
    """One target of a draft: its count against the limit, whether it can go out, and what it
    will cost or use (``usage``); ``check`` is None for a target switched off. ``own_text``
    marks a text the owner chose for this target alone (edited or rewritten): it differs from
    the main text shown above."""
    name = target_name(account)
    if check is None:
        return t("preview.target_off", name=name)
    figures = {"name": name, "count": check.count, "limit": check.limit}
    if check.problems:
        line = t("preview.target_bad", **figures, reason="; ".join(check.problems))
    elif check.parts > 1:
        line = t("preview.target_thread", **figures, parts=check.parts)
    else:
        line = t("preview.target_ok", **figures)
    if usage is not None and not check.problems:
        line += usage_note(t, usage)
    return line + t("preview.own_text") if own_text else line


#: How many words of an unchanged run a word diff keeps on each side of a change.
DIFF_CONTEXT_WORDS = 3
#: The most visible characters a word diff takes in a preview (the post text gets the rest).
DIFF_BUDGET = 700


def word_diff(before: str, after: str, *, budget: int = DIFF_BUDGET) -> str:
    """What changed from `before` to `after`, as compact Telegram HTML: removed words struck
    through, added words bold, long unchanged runs cut to a few words around each change with
    "…"; pieces past `budget` visible characters are dropped for a final "…" (tags stay
    balanced: a piece is shown whole or not at all)."""
    pieces = word_ops(before, after)
    if all(piece.op == "same" for piece in pieces):
        return ""
    shown: list[str] = []
    used = 0
    for index, piece in enumerate(pieces):
        words = list(piece.words)
        if piece.op == "same":
            first, last = index == 0, index == len(pieces) - 1
            keep = DIFF_CONTEXT_WORDS
            if len(words) > keep * (1 if first or last else 2) + 1:
                head = [] if first else words[:keep]
                tail = [] if last else words[-keep:]
                words = [*head, "…", *tail]
        text = " ".join(words)
        if used + len(text) + 1 > budget:
            shown.append("…")
            break
        used += len(text) + 1
        escaped = html.escape(text, quote=False)
        if piece.op == "removed":
            escaped = f"<s>{escaped}</s>"
        elif piece.op == "added":
            escaped = f"<b>{escaped}</b>"
        shown.append(escaped)
    return " ".join(shown)


def number(t: Texts, value: int) -> str:
    """A count with its thousands grouped as the language writes them: 5,000 or 5 000."""
    grouped = f"{value:,}"
    return grouped if t.language == "en" else grouped.replace(",", "\u00a0")


def money(usd: float) -> str:
    """Dollars with two decimals, or more where a price needs them: 0.20, 0.015, 4.56."""
    text = f"{usd:.4f}".rstrip("0")
    whole, _dot, cents = text.partition(".")
    return f"{whole}.{cents.ljust(2, '0')}"


def usage_note(t: Texts, usage: Usage) -> str:
    """What a target will cost or use, as the end of its line on the approval card:
    " · $0.20 (link)", " · 12/250 today", " · 3 of 5,000 points/h", " · quota unknown"."""
    if usage.unknown:
        return t("usage.unknown")
    if usage.cost is not None:
        cost = usage.cost
        if cost.parts > 1:
            return t.n("usage.cost_thread", cost.parts, cost=money(cost.usd))
        return t("usage.cost_link" if cost.links else "usage.cost", cost=money(cost.usd))
    quota = usage.quota
    if quota is None:
        return ""
    if quota.used > quota.limit:
        return t("usage.full")
    key = f"usage.{quota.unit}_{quota.window}"
    return t(
        key if t.has(key) else "usage.posts_day",
        used=number(t, quota.used),
        limit=number(t, quota.limit),
    )


def target_moved(t: Texts, move: TargetMoved, target: str, post_id: int, tz: ZoneInfo) -> str:
    """The owner's message about a target moved past a used-up quota, in plain words."""
    key = f"quota.{move.unit}.{move.window}"
    if move.limit and t.has_n(key):
        quota = t.n(key, move.limit)
    else:
        quota = t(
            f"quota.any.{move.window}" if t.has(f"quota.any.{move.window}") else "quota.any.day"
        )
    return t(
        "quota.moved",
        target=target,
        quota=Html(quota),
        post_id=post_id,
        when=when(t, move.when, tz),
    )


def preview(
    t: Texts,
    post: Post,
    targets: list[str],
    target_lines: list[str] | None = None,
    *,
    changes: str | None = None,
) -> str:
    """The draft as it will appear, where it goes, and each target's count against its limit
    (or, with a single Telegram target, the length against Telegram's); `changes` (a
    :func:`word_diff`) says what the owner's last reply changed."""
    title = t(
        "preview.title",
        post_id=post.id,
        targets=", ".join(targets) if targets else t.plain("preview.no_target"),
    )
    head = [title]
    if post.campaign_id is not None and post.campaign is not None:
        head.append(t("plan.preview_campaign", title=post.campaign.title))
    if post.offline:
        head.append(t("preview.offline"))
    if post.media:
        head.append(t.n("preview.images", len(post.media)))
    if changes is not None:
        head += ["", t("steer.changes", changes=Html(changes or t.plain("steer.same")))]
    tail = target_lines or [length_line(t, post.text)]
    return _around(t, head, post.text, tail)


def _around(t: Texts, head: list[str], text: str, tail: list[str]) -> str:
    """``text`` between its heading lines and its footer lines, clipped to the room they leave
    in one message (many targets with long names leave less); the whole fits Telegram's limit."""
    footer = ["", *tail] if tail else []
    chrome = visible_len("\n".join([*head, "", "", *footer]))
    room = max(TELEGRAM_TEXT_LIMIT - chrome - _TRUNCATION_NOTE, _MIN_BODY)
    return fit_html("\n".join([*head, "", _clip(text, room, t), *footer]))


def variant(
    t: Texts, post: Post, account: Account, text: str, line: str, index: int, total: int
) -> str:
    """One target's variant on its own: which target, its check, and the text as it will go."""
    head = t("variant.title", post_id=post.id, name=target_name(account), index=index, total=total)
    return _around(t, [head, line], text, [])


def images(t: Texts, post: Post) -> str:
    """A draft's images, numbered in the order they go out, with size and format."""
    if not post.media:
        return t("images.none", post_id=post.id)
    lines = [t.n("images.title", len(post.media), post_id=post.id)]
    for number, media in enumerate(post.media, start=1):
        kind = media.mime.removeprefix("image/").upper()
        lines.append(
            t(
                "images.line",
                number=number,
                width=media.width,
                height=media.height,
                kind=kind,
                size=max(1, round(media.size / 1024)),
            )
        )
    return "\n".join([*lines, "", t("images.hint")])


def publish_report(t: Texts, report: PublishReport, post: Post) -> str:
    """The preview turned into a record: what went where, with links, then the post itself."""
    lines = []
    for outcome in report.outcomes:
        if outcome.published and outcome.url:
            link = Html(f'<a href="{html.escape(outcome.url)}">{t("publish.link")}</a>')
            lines.append(t("publish.line_ok", target=outcome.target, link=link))
        elif outcome.published:
            lines.append(t("publish.line_ok_nolink", target=outcome.target))
        else:
            lines.append(t("publish.line_failed", target=outcome.target, reason=outcome.error))
    key = {"published": "publish.done", "partial": "publish.partial"}.get(
        report.status, "publish.failed"
    )
    head = t(key, post_id=report.post_id, lines=Html("\n".join(lines)))
    return _around(t, [head], post.text, [])


def taken_down(t: Texts, post: Post) -> str:
    """The record of a post once it is deleted from every platform: no dead links left."""
    return _around(t, [t("takedown.record", post_id=post.id)], post.text, [])


def ai_error(t: Texts, exc: AIError) -> str:
    for cls, key in _AI_ERROR_KEYS:
        if isinstance(exc, cls):
            return t("ai.failed", reason=t.plain(key))
    return t("ai.failed", reason=exc.user_message)


def status_name(t: Texts, post: Post) -> str:
    """Where a post stands, in words ("being published" for an approved post on its way)."""
    if post.status == "scheduled" and post.immediate:
        return t.plain("status.publishing")
    return t.plain(f"status.{post.status}")


def when(t: Texts, moment: datetime, tz: ZoneInfo) -> str:
    """An absolute local date, weekday and time, e.g. "Fri 25 Dec 2026, 10:00 (Europe/Berlin)"."""
    return dates.moment(t, moment, tz)


def short_when(moment: datetime, tz: ZoneInfo) -> str:
    """A compact local time for buttons, e.g. "25.12 10:00"."""
    return moment.astimezone(tz).strftime("%d.%m %H:%M")


def under_way(t: Texts, post_id: int, progress: Progress, *, plain: bool = False) -> list[str]:
    """What of a post is being sent right now or waits for the owner's answer, in words (as
    plain text for a tap's answer when `plain`)."""
    say = t.plain if plain else t
    lines = []
    if progress.sending:
        lines.append(say("post.sending", post_id=post_id, targets=", ".join(progress.sending)))
    if progress.asking:
        targets = ", ".join(target for _pub, target in progress.asking)
        lines.append(say("post.asking", post_id=post_id, targets=targets))
    return lines


def scheduled(
    t: Texts, post: Post, targets: list[str], tz: ZoneInfo, progress: Progress | None = None
) -> str:
    """The card of a scheduled post: when, where, what is under way, and the text."""
    assert post.scheduled_at is not None
    lines = [
        t(
            "sched.done",
            post_id=post.id,
            when=when(t, post.scheduled_at, tz),
            targets=", ".join(targets) if targets else t.plain("preview.no_target"),
        )
    ]
    if progress is not None:
        lines += under_way(t, post.id, progress)
    if post.repeat_rule:
        rule = dates.repeat_rule(t, RepeatRule.from_json(post.repeat_rule))
        lines.append(t("repeat.line", rule=rule))
    if post.evergreen:
        lines.append(t("evergreen.line"))
    return _around(t, lines, post.text, [])


def _report_value(t: Texts, tz: ZoneInfo, value: ReportValue) -> object:
    if isinstance(value, Link):
        url = html.escape(value.url)
        return Html(f'<a href="{url}">{html.escape(value.text, quote=False)}</a>')
    if isinstance(value, datetime):
        return when(t, value, tz)
    if isinstance(value, date):
        return dates.day(t, value)
    return value


def owner_report(t: Texts, tz: ZoneInfo, report: OwnerReport) -> list[str]:
    """A job's report in the owner's words: one HTML line per report line."""
    return [
        t(item.key, **{name: _report_value(t, tz, v) for name, v in item.values.items()})
        for item in report.lines
    ]


#: How much of each brand-voice field /voice shows; "📄 Show whole" sends the rest. The five
#: fields at their longest (4 × 500 + 4,000) would not fit one message.
VOICE_FIELD_SHOWN = 300
VOICE_EXAMPLE_SHOWN = 1500


def voice_shown(field: str) -> int:
    return VOICE_EXAMPLE_SHOWN if field == "example" else VOICE_FIELD_SHOWN


def is_clipped_voice(field: str, value: str) -> bool:
    """Whether /voice shows brand-voice ``field`` clipped (its whole is a tap away)."""
    return is_clipped(value, voice_shown(field))


def voice(t: Texts, brand: BrandVoice) -> tuple[str, list[str]]:
    """/voice: each field clipped to what the view shows; and the fields that were clipped."""
    unset = t.plain("voice.unset")
    values, clipped = {}, []
    for name, value in brand.model_dump().items():
        limit = voice_shown(name)
        values[name] = clip(value, limit) if value else unset
        if is_clipped_voice(name, value):
            clipped.append(name)
    return fit_html(t("voice.show", **values)), clipped


def whole_field(t: Texts, name: str, value: str) -> list[str]:
    """One long field as messages of its own: a heading, then the text in pieces that fit."""
    head = t("whole.head", name=name, length=utf16_len(value))
    pieces = parts(value, TEXT_LIMIT - visible_len(head) - 1)
    return [
        head + "\n" + html.escape(piece, quote=False) if i == 0 else html.escape(piece, quote=False)
        for i, piece in enumerate(pieces)
    ]


#: How much of each post's text the /plan card shows.
PLAN_SNIPPET_CHARS = 160


def plan_card(t: Texts, plan: Plan, tz: ZoneInfo) -> str:
    """The proposed plan: one line per post with its slot, platforms, angle and opening."""
    posts = []
    for number, post in enumerate(plan.posts, start=1):
        snippet = " ".join(post.text.split())
        if len(snippet) > PLAN_SNIPPET_CHARS:
            snippet = snippet[:PLAN_SNIPPET_CHARS].rsplit(" ", 1)[0] + "…"
        posts.append(
            t(
                "plan.card_post",
                number=number,
                when=when(t, post.at, tz),
                platforms=", ".join(platform_name(p) for p in post.platforms),
                angle=post.angle,
                snippet=snippet,
            )
        )
    head = t.n("plan.card_title", len(plan.posts), title=plan.title)
    return "\n\n".join([head, *posts, t("plan.card_hint")])


def queue_campaigns(t: Texts, tz: ZoneInfo, posts: list[Post]) -> str:
    """/queue's campaign groups: each campaign's title over its posts on this page."""
    groups: dict[int, list[Post]] = {}
    for post in posts:
        if post.campaign_id is not None and post.campaign is not None:
            groups.setdefault(post.campaign_id, []).append(post)
    lines = []
    for members in groups.values():
        items = ", ".join(
            f"#{p.id} {short_when(p.scheduled_at, tz)}" if p.scheduled_at else f"#{p.id}"
            for p in members
        )
        campaign = members[0].campaign
        assert campaign is not None
        lines.append(t("plan.queue_group", title=campaign.title, items=items))
    return "\n".join(lines)
