"""Learning from the owner's decisions: distil them into a short list of preferences.

Every approval, edit, regeneration and rejection of a draft is stored (``storage.learning``,
written in the same transaction as the change). Now and then (``learn_due``: after
``LEARN_AFTER`` new decisions, or a day after the oldest unread one) and on demand (/voice,
"Learn from my decisions now"), :func:`learn_now` shows Claude the recent decisions with the
current and the dropped preferences, and Claude answers through a forced tool with the full new
list. The answer is validated strictly (a list of at most ``MAX_RULES`` short one-line rules);
a bad answer changes nothing. Rules the owner dropped never come back.

Without an API key, :func:`offline_rules` finds the plainest lessons by counting: drafts cut
shorter, emoji or hashtags taken out.

The new list replaces the old one in one transaction, with the decisions it read marked
learned; a lease keeps two distillations (a periodic one and a tap) from running at once.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ai.drafter import Drafter
from ai.errors import AIBadAnswer, AIError
from ai.models import ToolAnswer, ToolCaller
from ai.preferences import count_emoji
from ai.pricing import estimate_cost
from storage import learning
from storage import repositories as repo
from storage.models import DecisionKind, DraftDecision

log = logging.getLogger(__name__)

LEARN_TOOL_NAME = "submit_preferences"
MAX_RULES = 8
MAX_RULE_CHARS = 120
#: How many of the latest decisions a distillation reads, and how much of each text.
DECISIONS_READ = 60
DECISION_TEXT_CHARS = 600
#: A periodic distillation runs after this many new decisions, or a day after the oldest one.
LEARN_AFTER = 10
LEARN_EVERY = timedelta(days=1)
LEASE = timedelta(minutes=10)
_LEASE_KEY = "learn"

Rule = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=3, max_length=MAX_RULE_CHARS, pattern=r"^[^\n\r]+$"
    ),
]


class LearnedAnswer(BaseModel):
    """The ``submit_preferences`` tool input, validated strictly."""

    model_config = ConfigDict(extra="forbid")

    rules: list[Rule] = Field(max_length=MAX_RULES)


class LearningBusy(Exception):
    """Another distillation is running right now."""


@dataclass(frozen=True)
class Learned:
    """What a distillation did: the new list, how many decisions it read, who distilled it."""

    rules: tuple[str, ...]
    decisions: int
    source: str


def learn_tool() -> dict[str, Any]:
    return {
        "name": LEARN_TOOL_NAME,
        "description": (
            "Submit the complete list of the owner's preferences (it replaces the current one)."
        ),
        "input_schema": {
            "type": "object",
            "properties": {
                "rules": {
                    "type": "array",
                    "maxItems": MAX_RULES,
                    "items": {"type": "string", "maxLength": MAX_RULE_CHARS},
                    "description": "Short one-line rules, most important first.",
                }
            },
            "required": ["rules"],
            "additionalProperties": False,
        },
    }


SYSTEM = f"""You study how the owner of a social media channel treats the drafts an AI writes \
for them, and distil what they want into a short list of preferences for future drafts.

<rules>
- At most {MAX_RULES} rules, each one line under {MAX_RULE_CHARS} characters, most important first.
- Only what several decisions show; say nothing about one-off topics.
- Be concrete and checkable: numbers for length ("Keep posts under 400 characters"), emoji
  ("No more than two emoji") and hashtags ("No hashtags"); quote phrases to avoid in single
  quotes ("Never say 'excited to announce'"). Name a platform when a rule is about one.
- Keep current preferences that the decisions still support; drop those they contradict.
- Never propose a preference the owner removed, nor one with the same meaning.
- Answer by calling {LEARN_TOOL_NAME} with the complete list (it may be empty).
</rules>"""


def _clip(text: str | None) -> str:
    text = (text or "").strip()
    return text if len(text) <= DECISION_TEXT_CHARS else text[: DECISION_TEXT_CHARS - 1] + "…"


def _decision(d: DraftDecision) -> str:
    if d.kind == DecisionKind.EDITED:
        before, after = d.before or "", d.after or ""
        return (
            f'<decision kind="edited" chars_before="{len(before)}" chars_after="{len(after)}">\n'
            f"<before>{_clip(before)}</before>\n<after>{_clip(after)}</after>\n</decision>"
        )
    if d.kind == DecisionKind.REGENERATED:
        return (
            f'<decision kind="regenerated">\n<instruction>{_clip(d.instruction) or "(none)"}'
            f"</instruction>\n<draft>{_clip(d.before)}</draft>\n</decision>"
        )
    if d.kind == DecisionKind.REJECTED:
        reason = f' reason="{d.reason}"' if d.reason else ""
        return f'<decision kind="rejected"{reason}>\n<draft>{_clip(d.before)}</draft>\n</decision>'
    as_written = (d.before or "") == (d.after or "")
    kind = "approved as written" if as_written else "approved after changes"
    return f'<decision kind="{kind}">\n<post>{_clip(d.after)}</post>\n</decision>'


def build_user_message(
    decisions: Sequence[DraftDecision], current: Sequence[str], dropped: Sequence[str]
) -> str:
    """The decisions, oldest first, then the current and the removed preferences."""
    parts = ["<decisions>\n" + "\n".join(_decision(d) for d in decisions) + "\n</decisions>"]
    listed = "\n".join(f"- {rule}" for rule in current) or "(none yet)"
    parts.append(f"<current_preferences>\n{listed}\n</current_preferences>")
    if dropped:
        removed = "\n".join(f"- {rule}" for rule in dropped)
        parts.append(f"<removed_by_owner>\n{removed}\n</removed_by_owner>")
    parts.append("Distil the owner's preferences from these decisions.")
    return "\n\n".join(parts)


def parse_answer(tool_input: object) -> list[str]:
    """The rules of Claude's answer, or AIBadAnswer (nothing is changed then)."""
    try:
        answer = LearnedAnswer.model_validate(tool_input)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, err['loc'])) or 'input'}: {err['msg']}" for err in exc.errors()
        )
        raise AIBadAnswer(
            f"invalid {LEARN_TOOL_NAME} input: {problems}",
            user_message=(
                "Claude's answer was not a short list of rules, so nothing was changed."
                " Try again in a moment."
            ),
        ) from exc
    return answer.rules


def _keep(rules: Sequence[str], dropped: Sequence[str]) -> list[str]:
    """The rules without repeats and without any the owner dropped."""
    gone = {" ".join(rule.casefold().split()) for rule in dropped}
    kept: list[str] = []
    for rule in rules:
        key = " ".join(rule.casefold().split())
        if key not in gone:
            gone.add(key)
            kept.append(" ".join(rule.split()))
    return kept[:MAX_RULES]


#: The offline distiller speaks only when at least this many drafts show the same habit.
OFFLINE_MIN_EVIDENCE = 3


def offline_rules(decisions: Sequence[DraftDecision]) -> list[str]:
    """Lessons found by counting, without Claude: the owner cuts drafts shorter (a length
    limit from what they kept), takes emoji out, or takes hashtags out."""
    by_post: dict[int, tuple[str, str]] = {}  # an edit and its approval are one lesson
    for d in decisions:
        if d.kind in (DecisionKind.EDITED, DecisionKind.APPROVED):
            first = by_post.get(d.post_id, (d.before or "", ""))[0]
            by_post[d.post_id] = (first, d.after or "")
    changed = [(before, after) for before, after in by_post.values() if before != after]
    shorter = [after for before, after in changed if len(after) <= 0.8 * len(before)]
    rules: list[str] = []
    if len(shorter) >= OFFLINE_MIN_EVIDENCE and len(shorter) * 2 > len(changed):
        limit = -(-max(len(after) for after in shorter) // 10) * 10 + 10
        rules.append(f"Keep posts under {limit} characters")
    no_emoji = [1 for before, after in changed if count_emoji(before) and not count_emoji(after)]
    if len(no_emoji) >= OFFLINE_MIN_EVIDENCE:
        rules.append("No emoji")
    no_tags = [1 for before, after in changed if "#" in before and "#" not in after]
    if len(no_tags) >= OFFLINE_MIN_EVIDENCE:
        rules.append("No hashtags")
    return rules


async def learn_now(
    session: AsyncSession, drafter: Drafter, now: datetime, brand_id: int
) -> Learned:
    """Distil the brand's recent decisions into its new list of preferences, and store it.

    Raises :class:`LearningBusy` when another distillation of the brand holds the lease, and
    ``ai.errors.AIError`` when Claude fails (nothing is changed then)."""
    lease = f"{_LEASE_KEY}:{brand_id}"
    if not await repo.take_lease(session, lease, now, LEASE):
        await session.rollback()
        raise LearningBusy
    await session.commit()
    try:
        return await _distil(session, drafter, now, brand_id)
    finally:
        await session.rollback()
        await repo.release_lease(session, lease, now)
        await session.commit()


async def _distil(session: AsyncSession, drafter: Drafter, now: datetime, brand_id: int) -> Learned:
    decisions = await learning.recent_decisions(session, DECISIONS_READ, brand_id)
    current = [p.text for p in await learning.active_preferences(session, brand_id)]
    dropped = await learning.dropped_preferences(session, 3 * MAX_RULES, brand_id)
    await session.commit()  # no transaction open during the AI call
    if not decisions:
        return Learned(tuple(current), 0, "")
    answer: ToolAnswer | None = None
    if isinstance(drafter, ToolCaller):
        user = build_user_message(decisions, current, dropped)
        answer = await drafter.call_tool(
            system=SYSTEM,
            messages=[{"role": "user", "content": user}],
            tool=learn_tool(),
            max_tokens=1024,
        )
        rules, source = parse_answer(answer.input), answer.model
    else:
        rules, source = offline_rules(decisions), "offline"
    rules = _keep(rules, dropped)
    await learning.replace_preferences(session, rules, source=source, now=now, brand_id=brand_id)
    await learning.mark_learned(session, decisions[-1].id, now, brand_id)
    if answer is not None:
        await repo.record_ai_usage(
            session,
            brand_id=brand_id,
            at=now,
            model=answer.model,
            purpose="learn",
            input_tokens=answer.input_tokens,
            output_tokens=answer.output_tokens,
            cost_usd=estimate_cost(answer.model, answer.input_tokens, answer.output_tokens),
        )
    await session.commit()
    return Learned(tuple(rules), len(decisions), source)


def due(count: int, oldest: datetime | None, now: datetime) -> bool:
    """Whether a periodic distillation is due: enough new decisions, or old enough ones."""
    if count >= LEARN_AFTER:
        return True
    return count > 0 and oldest is not None and now - oldest >= LEARN_EVERY


async def learn_due(
    sessions: async_sessionmaker[AsyncSession], drafter: Drafter, now: datetime
) -> dict[int, Learned]:
    """The periodic job: distil each brand's decisions when :func:`due`; what each brand whose
    distillation ran learned (a brand that was not due, or whose distillation another worker
    runs, is left out)."""
    async with sessions() as session:
        waiting = await learning.unlearned(session)
        await session.rollback()
    learned: dict[int, Learned] = {}
    for brand_id, (count, oldest) in waiting.items():
        if not due(count, oldest, now):
            continue
        async with sessions() as session:
            try:
                learned[brand_id] = await learn_now(session, drafter, now, brand_id)
            except LearningBusy:
                continue
            except AIError as exc:  # one brand's failure must not keep the others from learning
                log.warning("learning of brand %s failed: %s", brand_id, exc)
                continue
        log.info(
            "brand %s learned %d preferences from %d decisions",
            brand_id,
            len(learned[brand_id].rules),
            learned[brand_id].decisions,
        )
    return learned


async def note_reject_reason(session: AsyncSession, post_id: int, reason: str) -> bool:
    """The owner's optional reason for rejecting a draft; False if it is no longer rejected."""
    done = await learning.set_reject_reason(session, post_id, reason)
    await (session.commit() if done else session.rollback())
    return done


async def drop_preference(
    session: AsyncSession, preference_id: int, now: datetime, brand_id: int
) -> bool:
    """An owner's 🗑 on a learned preference of their brand; False when it was already gone
    (or is another brand's)."""
    done = await learning.drop_preference(session, preference_id, now, brand_id)
    await (session.commit() if done else session.rollback())
    return done
