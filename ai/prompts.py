"""Prompt text for Claude, built from a :class:`~ai.models.DraftRequest` by pure functions.

Kept apart from the client so the wording can be read, reviewed and unit-tested without a
network. The system prompt carries what stays the same across a conversation with the owner
(brand voice, preferences learned from the owner's decisions, the approved posts that did best,
platform rules); the user message carries the brief and,
for a regeneration, the previous draft and the owner's instruction ("shorter").

Sections are wrapped in XML-style tags, which Claude reads reliably as boundaries between the
owner's material and our instructions.
"""

from __future__ import annotations

from ai.models import BrandVoice, DraftRequest

# Name of the one tool Claude is forced to call; its input is the structured draft.
DRAFT_TOOL_NAME = "submit_draft"
# How many recent approved posts are shown as examples of the voice, and how much of each.
MAX_EXAMPLE_POSTS = 5
MAX_EXAMPLE_CHARS = 1500

_PLATFORM_NAMES = {"telegram": "a Telegram channel"}

_VOICE_LABELS = (
    ("tone", "Tone"),
    ("audience", "Audience"),
    ("do", "Always"),
    ("dont", "Never"),
    ("example", "Example of the voice"),
)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def voice_section(voice: BrandVoice) -> str:
    """The brand voice as labelled lines inside ``<brand_voice>``; empty when nothing is set."""
    if voice.is_empty():
        return ""
    lines = [
        f"{label}: {getattr(voice, field)}"
        for field, label in _VOICE_LABELS
        if getattr(voice, field)
    ]
    return "<brand_voice>\n" + "\n".join(lines) + "\n</brand_voice>"


def examples_section(recent_posts: list[str]) -> str:
    """A few approved posts (the best-performing ones, best last; or the latest while no
    metrics are in), as examples of the voice, not of the topic."""
    posts = recent_posts[-MAX_EXAMPLE_POSTS:]
    if not posts:
        return ""
    body = "\n".join(f"<post>\n{_clip(post, MAX_EXAMPLE_CHARS)}\n</post>" for post in posts)
    return "<posts_that_did_well>\n" + body + "\n</posts_that_did_well>"


def learned_section(learned: list[str]) -> str:
    """Preferences distilled from the owner's past decisions, one per line."""
    if not learned:
        return ""
    body = "\n".join(f"- {rule}" for rule in learned)
    return "<learned_preferences>\n" + body + "\n</learned_preferences>"


def rules_section(request: DraftRequest) -> str:
    """Platform rules: plain text, the length limit, language of the brief, hashtags apart."""
    return "\n".join(
        (
            "<rules>",
            "- Plain text only: no HTML, no Markdown (no **bold**, _italics_, # headings or"
            " [links](url)). Emoji and line breaks are fine; paste links as bare URLs.",
            f"- The whole post, including the hashtag line, must fit in {request.max_chars}"
            " characters. Shorter is usually better.",
            "- Write in the language of the brief, even if the example posts use another one.",
            "- Put 0 to 3 hashtags in the hashtags field, without '#', and not in the text.",
            "- No preamble, no commentary, no quotes around the post: only the post itself.",
            "- Do not invent facts, numbers, dates or links that the brief does not give.",
            f"- Always answer by calling the {DRAFT_TOOL_NAME} tool.",
            "</rules>",
        )
    )


def targets_section(request: DraftRequest) -> str:
    """One line per extra platform: its limit and conventions, for the ``variants`` field."""
    if not request.targets:
        return ""
    lines = ["<targets>"]
    for target in request.targets:
        shape = (
            f"up to {target.limit} characters per post; if the idea needs more, write it as a"
            " thread: paragraphs separated by blank lines, each fitting the limit"
            if target.threads
            else f"at most {target.limit} characters in all (no threads there)"
        )
        tags = "1 to 3 relevant hashtags inline at the end" if target.hashtags else "no hashtags"
        lines.append(f"- {target.platform} ({target.title}): {shape}; {tags}.")
    lines.append("</targets>")
    return (
        "The post also goes to these platforms. In the variants field, write one variant per"
        " platform listed, same facts and voice, in the shape that platform wants (plain text,"
        " no markup):\n" + "\n".join(lines)
    )


def build_system_prompt(request: DraftRequest) -> str:
    """System prompt: who Claude writes for, the voice, example posts and the rules."""
    where = _PLATFORM_NAMES.get(request.platform, f"{request.platform}")
    parts = [
        f"You write posts for {where} on behalf of its owner, in the owner's brand voice.",
    ]
    voice = voice_section(request.voice)
    if voice:
        parts.append("The owner describes the brand voice like this:\n" + voice)
    learned = learned_section(request.learned)
    if learned:
        parts.append(
            "Learned preferences: what the owner's edits, rewrites and rejections of earlier"
            " drafts show. Follow them unless the brief asks otherwise:\n" + learned
        )
    examples = examples_section(request.recent_posts)
    if examples:
        parts.append(
            "Posts that did well: approved posts of the owner's that readers engaged with most."
            " Match their voice, length and formatting habits; do not repeat their content:\n"
            + examples
        )
    parts.append(rules_section(request))
    targets = targets_section(request)
    if targets:
        parts.append(targets)
    return "\n\n".join(parts)


def build_user_message(request: DraftRequest) -> str:
    """The brief first, then the task: a new post, or a rewrite of the previous draft."""
    brief = f"Brief: {request.brief}"
    if request.previous_draft is None:
        return f"{brief}\n\nWrite a new post for this brief."
    previous = f"<previous_draft>\n{request.previous_draft}\n</previous_draft>"
    if request.instruction:
        task = (
            f"<instruction>\n{request.instruction}\n</instruction>\n\n"
            "Rewrite the previous draft following the owner's instruction. Keep what the"
            " instruction does not ask to change."
        )
    else:
        task = "Write a different version of the previous draft: same facts, fresh wording."
    return f"{brief}\n\n{previous}\n\n{task}"


def too_long_feedback(length: int, max_chars: int) -> str:
    """What Claude is told when its draft is over the limit (it gets one more try)."""
    return (
        f"The post is {length} characters including the hashtag line; the limit is {max_chars}."
        f" Call {DRAFT_TOOL_NAME} again with a shorter version that fits, keeping the main point."
    )
