"""Planning a week of posts (/plan): the owner's ask, the plan Claude proposes, and its checks.

``/plan launch of v2.3, next week, 5 posts`` is read by :func:`parse_ask` into a theme, a
horizon (two dates) and a count; with no theme the plan is made from recent events and feed
items instead. The planner is offered the free slots of the horizon, numbered, and the
platforms connected; it answers with one JSON plan (through a forced tool, like drafts) naming
for each post its angle, text, platforms and the number of its slot. The answer is parsed
strictly (:class:`PlanAnswer`) and validated as a whole (:func:`problems`: the number of posts,
every slot offered and used once, every platform connected, every text within each of its
platforms' limits); Claude gets one more try with the problems listed, then the owner is told.

Without an API key, :func:`offline_plan` spreads the posts over the slots with a fixed set of
angles and offline drafts, so /plan works out of the box.

Errors::

    PlanAskError    the /plan argument can't be read; ``key`` names the text that explains it
    ai.errors.AIError
    └── AIBadAnswer
        └── PlanInvalid     the plan still did not hold after the retry; ``problems`` lists why
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from ai.adapt import adapt
from ai.errors import AIBadAnswer
from ai.models import BrandVoice, Draft, DraftRequest, ToolCaller
from ai.offline import OfflineDrafter
from ai.prompts import voice_section
from publishers.errors import TextTooLong
from publishers.registry import PLATFORMS, platform_name
from storage.models import Account

PLAN_TOOL_NAME = "submit_plan"
MAX_PLAN_POSTS = 14
DEFAULT_PLAN_POSTS = 5
DEFAULT_HORIZON_DAYS = 7
MAX_HORIZON_DAYS = 8 * 7
_MAX_PLAN_TOKENS = 8000


class PlanAskError(ValueError):
    """The /plan argument can't be read; ``key`` is the text that says why."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


class PlanInvalid(AIBadAnswer):
    """Claude's plan still had ``problems`` after the retry."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("plan invalid after a retry: " + "; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class PlanAsk:
    """What the owner asked for: a theme (None: plan from recent events), the first and last
    day of the horizon (inclusive, local dates) and how many posts (None: the default)."""

    theme: str | None
    start: date
    end: date
    count: int | None


_WEEKS = r"(\d{1,2})\s*(?:weeks?|wks?|недел[ьяюи]\w*|тижн\w*)"
_DAYS = r"(\d{1,2})\s*(?:days?|дн(?:я|ей|і|ів)|день|сут\w*)"
_HORIZONS: tuple[tuple[str, str], ...] = (
    (
        "next_week",
        r"(?:the\s+)?next\s+week|(?:на\s+)?следующей\s+неделе|следующ\w*\s+недел\w*"
        r"|наступн\w*\s+тижн\w*|на\s+наступному\s+тижні",
    ),
    (
        "this_week",
        r"(?:the\s+)?this\s+week|(?:на\s+)?этой\s+неделе|эт\w*\s+недел\w*"
        r"|цього\s+тижня|на\s+цьому\s+тижні|цей\s+тиждень",
    ),
    ("weeks", r"(?:in|within|over|for|the|next|через|за|на|протягом|впродовж|\s)*" + _WEEKS),
    ("days", r"(?:in|within|over|for|the|next|через|за|на|протягом|впродовж|\s)*" + _DAYS),
)
_COUNT = re.compile(
    r"(\d{1,3})\s*(?:posts?|пост(?:а|ов|ів|и)?|публикаци\w*|публікаці\w*)(?!\w)", re.IGNORECASE
)
_SEPARATORS = " ,;:.—–-\t\n"


def _horizon(kind: str, number: int, today: date) -> tuple[date, date]:
    if kind == "next_week":
        start = today + timedelta(days=7 - today.weekday())
        return start, start + timedelta(days=6)
    if kind == "this_week":
        return today, today + timedelta(days=6 - today.weekday())
    days = number * 7 if kind == "weeks" else number
    if not 1 <= days <= MAX_HORIZON_DAYS:
        raise PlanAskError("plan.bad_horizon", limit=MAX_HORIZON_DAYS // 7)
    return today, today + timedelta(days=days - 1)


def parse_ask(text: str, today: date) -> PlanAsk:
    """Read "theme, horizon, count" in any order (commas optional), in English, Russian or
    Ukrainian: "launch of v2.3, next week, 5 posts", "запуск, на следующей неделе, 3 поста",
    "webinar in 2 weeks". The horizon defaults to the coming seven days."""
    rest = " " + " ".join(text.split()) + " "
    count: int | None = None
    if match := _COUNT.search(rest):
        count = int(match[1])
        rest = rest[: match.start()] + " , " + rest[match.end() :]
        if not 1 <= count <= MAX_PLAN_POSTS:
            raise PlanAskError("plan.bad_count", limit=MAX_PLAN_POSTS)
    start, end = today, today + timedelta(days=DEFAULT_HORIZON_DAYS - 1)
    for kind, pattern in _HORIZONS:
        found = re.search(rf"(?<!\w){pattern}(?!\w)", rest, re.IGNORECASE)
        if found:
            number = int(found[1]) if found.lastindex else 0
            start, end = _horizon(kind, number, today)
            rest = rest[: found.start()] + " , " + rest[found.end() :]
            break
    theme = " ".join(rest.split())
    theme = re.sub(r"\s*([,;])(\s*[,;])*", r"\1", theme).strip(_SEPARATORS)
    theme = re.sub(r"([,;])(?=\S)", r"\1 ", theme)
    return PlanAsk(theme=theme or None, start=start, end=end, count=count)


# --- the plan ------------------------------------------------------------------------------------


class PlannedPostAnswer(BaseModel):
    """One post of the ``submit_plan`` tool input."""

    angle: str = Field(min_length=1, max_length=200, description="The post's angle, in a line.")
    text: str = Field(
        min_length=1, description="The finished post: plain text, no HTML or Markdown."
    )
    platforms: list[str] = Field(
        min_length=1, description="Platform keys exactly as listed in <platforms>."
    )
    slot: int = Field(description="The number of its slot in <free_slots>; each used once.")


class PlanAnswer(BaseModel):
    """The ``submit_plan`` tool input: what Claude must hand back."""

    title: str = Field(min_length=1, max_length=120, description="A short campaign title.")
    posts: list[PlannedPostAnswer] = Field(min_length=1)


@dataclass(frozen=True)
class PlanRequest:
    """What a planner needs: the theme (or recent material), how many posts, the free slots
    (labels in the owner's time zone, in order) and the connected platforms (keys)."""

    count: int
    slots: list[str]
    platforms: list[str]
    theme: str | None = None
    material: tuple[str, ...] = ()
    voice: BrandVoice = field(default_factory=BrandVoice)


class PlannedPost(BaseModel):
    angle: str
    text: str
    platforms: list[str]
    at: datetime


class Plan(BaseModel):
    """A validated plan, as the campaign keeps it until the owner decides."""

    title: str
    posts: list[PlannedPost]
    #: Written by the offline planner: its drafts carry the offline label.
    offline: bool = False


def problems(answer: PlanAnswer, request: PlanRequest) -> list[str]:
    """Everything wrong with a plan as a whole (empty: it can be shown)."""
    found: list[str] = []
    if len(answer.posts) != request.count:
        found.append(f"the plan has {len(answer.posts)} posts; {request.count} were asked for")
    used: set[int] = set()
    for number, post in enumerate(answer.posts, start=1):
        if not 1 <= post.slot <= len(request.slots):
            found.append(f"post {number}: slot {post.slot} is not one of the free slots listed")
        elif post.slot in used:
            found.append(f"post {number}: slot {post.slot} is already used by another post")
        used.add(post.slot)
        for platform in dict.fromkeys(post.platforms):
            if platform not in request.platforms or platform not in PLATFORMS:
                found.append(
                    f"post {number}: {platform!r} is not a connected platform"
                    f" (use {', '.join(request.platforms)})"
                )
                continue
            rules = PLATFORMS[platform].text
            length = rules.measure(post.text)
            if length > rules.limit and not rules.threads:
                found.append(
                    f"post {number}: the text is {length} characters, over the"
                    f" {platform_name(platform)} limit of {rules.limit}"
                )
                continue
            try:
                rules.parts(post.text)
            except TextTooLong as exc:
                found.append(f"post {number}: on {platform_name(platform)}, {exc.reason}")
    return found


def resolve(answer: PlanAnswer, slots: list[datetime]) -> Plan:
    """A valid answer with its slot numbers turned into times, in time order."""
    posts = [
        PlannedPost(
            angle=" ".join(p.angle.split()),
            text=p.text.strip(),
            platforms=list(dict.fromkeys(p.platforms)),
            at=slots[p.slot - 1],
        )
        for p in answer.posts
    ]
    return Plan(title=" ".join(answer.title.split()), posts=sorted(posts, key=lambda p: p.at))


def plan_system_prompt(request: PlanRequest) -> str:
    """Who Claude plans for and the rules of a plan (kept apart from the draft prompt)."""
    limits = "\n".join(
        f"- {key} ({platform_name(key)}): "
        + (
            f"up to {PLATFORMS[key].text.limit} characters per post, longer becomes a thread"
            if PLATFORMS[key].text.threads
            else f"at most {PLATFORMS[key].text.limit} characters"
        )
        for key in request.platforms
    )
    parts = [
        "You plan a campaign of social media posts for the owner of a channel, in the owner's"
        " brand voice.",
        voice_section(request.voice),
        f"<platforms>\n{limits}\n</platforms>",
        "<rules>\n"
        f"- Exactly {request.count} posts, each with its own angle; together they tell one"
        " story (tease, announce, explain, show, remind...).\n"
        "- Give each post one slot number from <free_slots>, each number at most once, in an"
        " order that makes sense for the story.\n"
        "- Choose each post's platforms from <platforms> (keys exactly as written); its text"
        " must fit every platform chosen for it.\n"
        "- Plain text only, no HTML or Markdown; hashtags inline if they help.\n"
        "- Write in the language of the theme. Do not invent facts, numbers, dates or links.\n"
        f"- Always answer by calling the {PLAN_TOOL_NAME} tool.\n"
        "</rules>",
    ]
    return "\n\n".join(part for part in parts if part)


def plan_user_message(request: PlanRequest) -> str:
    slots = "\n".join(f"{n}. {label}" for n, label in enumerate(request.slots, start=1))
    if request.theme:
        subject = f"Theme: {request.theme}"
    else:
        items = "\n".join(f"- {item}" for item in request.material)
        subject = (
            "No theme was given: plan from what happened recently.\n"
            f"<recent_events>\n{items}\n</recent_events>"
        )
    return f"{subject}\n\n<free_slots>\n{slots}\n</free_slots>\n\nPlan {request.count} posts."


def plan_tool() -> dict[str, Any]:
    return {
        "name": PLAN_TOOL_NAME,
        "description": "Submit the whole campaign plan for the owner to review, in one call.",
        "input_schema": PlanAnswer.model_json_schema(),
    }


@dataclass(frozen=True)
class PlanOutcome:
    plan: Plan
    model: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0


def _parse(tool_input: object) -> PlanAnswer | list[str]:
    try:
        return PlanAnswer.model_validate(tool_input)
    except ValidationError as exc:
        return [
            f"{'.'.join(map(str, err['loc'])) or 'input'}: {err['msg']}" for err in exc.errors()
        ]


async def claude_plan(
    caller: ToolCaller, request: PlanRequest, slots: list[datetime]
) -> PlanOutcome:
    """Ask Claude for the plan; an invalid one goes back once with its problems listed."""
    messages: list[dict[str, Any]] = [{"role": "user", "content": plan_user_message(request)}]
    system, tool = plan_system_prompt(request), plan_tool()
    tokens_in = tokens_out = 0
    found: list[str] = []
    for attempt in range(2):
        answer = await caller.call_tool(
            system=system, messages=messages, tool=tool, max_tokens=_MAX_PLAN_TOKENS
        )
        tokens_in += answer.input_tokens
        tokens_out += answer.output_tokens
        parsed = _parse(answer.input)
        found = parsed if isinstance(parsed, list) else problems(parsed, request)
        if not found and isinstance(parsed, PlanAnswer):
            return PlanOutcome(resolve(parsed, slots), answer.model, tokens_in, tokens_out)
        if attempt == 0:
            messages += [
                {
                    "role": "assistant",
                    "content": [
                        {
                            "type": "tool_use",
                            "id": answer.tool_use_id,
                            "name": PLAN_TOOL_NAME,
                            "input": answer.input,
                        }
                    ],
                },
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "tool_result",
                            "tool_use_id": answer.tool_use_id,
                            "is_error": True,
                            "content": "The plan can't be used: "
                            + "; ".join(found)
                            + f". Call {PLAN_TOOL_NAME} again with a corrected plan.",
                        }
                    ],
                },
            ]
    raise PlanInvalid(found)


#: The offline planner's angles, in story order.
OFFLINE_ANGLES = (
    "Teaser",
    "Announcement",
    "How it works",
    "Behind the scenes",
    "Questions and answers",
    "Reminder",
    "Thank you",
)


async def offline_plan(request: PlanRequest, slots: list[datetime]) -> PlanOutcome:
    """A plan with no network: fixed angles over the theme, spread evenly over the slots,
    each post to every platform its offline draft fits."""
    drafter = OfflineDrafter()
    subject = request.theme or (request.material[0] if request.material else "our news")
    step = len(slots) / request.count
    posts = []
    for index in range(request.count):
        angle = OFFLINE_ANGLES[index % len(OFFLINE_ANGLES)]
        draft = await drafter.draft(
            DraftRequest(brief=f"{angle}: {subject}", voice=request.voice, max_chars=1000)
        )
        text = draft.compose()
        fitting = [
            key
            for key in request.platforms
            if PLATFORMS[key].text.threads
            or PLATFORMS[key].text.measure(text) <= PLATFORMS[key].text.limit
        ]
        posts.append(
            PlannedPost(
                angle=angle,
                text=text,
                platforms=fitting or request.platforms[:1],
                at=slots[int(index * step)],
            )
        )
    title = (request.theme or "Recent news")[:120]
    return PlanOutcome(Plan(title=title, posts=posts, offline=True))


async def make_plan(drafter: object, request: PlanRequest, slots: list[datetime]) -> PlanOutcome:
    """Claude's plan when the drafter is Claude, the offline plan otherwise."""
    if isinstance(drafter, ToolCaller):
        return await claude_plan(drafter, request, slots)
    return await offline_plan(request, slots)


def variant_texts(text: str, accounts: Sequence[Account]) -> dict[int, str]:
    """account id → a planned post's text shaped for that account's platform."""
    return {
        account.id: text
        if account.platform == "telegram"
        else adapt(Draft(text=text), account.platform)
        for account in accounts
        if account.platform in PLATFORMS
    }


#: Payload fields that say what an event is about, in the order they are looked for.
_EVENT_FIELDS = ("title", "name", "tag_name", "summary", "description", "message", "link", "url")
MAX_EVENT_CHARS = 300


def event_line(kind: str, payload: str) -> str:
    """One recent event for the planner: its type and what its payload says it is about."""
    try:
        data = json.loads(payload)
    except ValueError:
        data = None
    found: list[str] = []
    stack = [data]
    while stack and len(found) < 4:
        item = stack.pop(0)
        if isinstance(item, dict):
            found += [str(item[k]) for k in _EVENT_FIELDS if isinstance(item.get(k), str | int)]
            stack += [v for v in item.values() if isinstance(v, dict)]
    text = " — ".join(" ".join(part.split()) for part in dict.fromkeys(found) if part.strip())
    line = f"{kind}: {text}" if text else kind
    return line if len(line) <= MAX_EVENT_CHARS else line[: MAX_EVENT_CHARS - 1] + "…"
