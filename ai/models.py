"""Validated data that goes into and comes out of a drafter.

Every drafter (Claude or offline) takes a :class:`DraftRequest` and returns a :class:`Draft`, so
handlers never see a raw model answer. The validation lives here, in one place, because a draft
that reaches the chat must already be safe to show and to publish: non-empty plain text, tidy
hashtags, and a length the drafter has checked against ``DraftRequest.max_chars``.

Lengths are counted in UTF-16 code units (:func:`text_length`), the unit Telegram uses for its
4096-character limit. It is never smaller than ``len()``, so a draft that fits here fits in any
platform that counts code points.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, field_validator

from publishers.blank import visible

# Telegram's limit for one text message; the default for a draft.
TELEGRAM_TEXT_LIMIT = 4096

_HASHTAG_JUNK = re.compile(r"[^\w]+", re.UNICODE)


def text_length(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji outside the BMP counts 2)."""
    return len(text.encode("utf-16-le")) // 2


def clean_hashtag(tag: str) -> str:
    """``"#Dark Mode!"`` -> ``"DarkMode"``: no ``#``, only letters, digits and underscores.

    Models (and people) hand hashtags back with or without ``#`` and with stray punctuation;
    normalising them once here means the UI and the publishers can trust them.
    """
    tag = unicodedata.normalize("NFC", tag)
    return _HASHTAG_JUNK.sub("", tag.strip().lstrip("#"))


def _required(text: str, what: str) -> str:
    """``text`` without invisible edges; ValueError when nothing visible is left."""
    text = visible(text)
    if not text:
        raise ValueError(f"{what} is empty")
    return text


class BrandVoice(BaseModel):
    """How the owner wants to sound. Every field is optional free text typed in the chat."""

    model_config = ConfigDict(str_strip_whitespace=True)

    tone: str = ""
    audience: str = ""
    do: str = ""
    dont: str = ""
    example: str = ""

    def is_empty(self) -> bool:
        """True when the owner has not described a voice yet (prompts then skip the section)."""
        return not any((self.tone, self.audience, self.do, self.dont, self.example))


class Target(BaseModel):
    """A platform the post will also go to, with the shape that suits it there."""

    platform: str
    title: str
    limit: int = Field(ge=1)
    #: A longer text is posted as a thread (or several messages) rather than refused.
    threads: bool = False
    hashtags: bool = True


class DraftRequest(BaseModel):
    """Everything a drafter needs for one new draft or one regeneration.

    A regeneration carries ``previous_draft`` and usually an ``instruction`` ("shorter",
    "add a call to action"); a new draft carries neither.
    """

    model_config = ConfigDict(str_strip_whitespace=True)

    brief: str = Field(min_length=1)
    voice: BrandVoice = Field(default_factory=BrandVoice)
    #: Approved posts shown as examples of the voice: the best-performing ones, else the latest.
    recent_posts: list[str] = Field(default_factory=list)
    #: Preferences learned from the owner's decisions ("no more than two emoji").
    learned: list[str] = Field(default_factory=list)
    previous_draft: str | None = None
    instruction: str | None = None
    # The whole post (text plus the hashtag line) must fit; counted by text_length().
    max_chars: int = Field(default=TELEGRAM_TEXT_LIMIT, ge=20, le=100_000)
    platform: str = "telegram"
    #: Other platforms to write a variant for (one each), besides the main post.
    targets: list[Target] = Field(default_factory=list)

    @field_validator("brief")
    @classmethod
    def _brief_visible(cls, brief: str) -> str:
        return _required(brief, "the brief")

    @field_validator("recent_posts", "learned")
    @classmethod
    def _drop_blank_posts(cls, posts: list[str]) -> list[str]:
        return [text for text in map(visible, posts) if text]

    @field_validator("previous_draft", "instruction")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return visible(value) or None

    @property
    def is_regeneration(self) -> bool:
        return self.previous_draft is not None


class Draft(BaseModel):
    """A post ready to show the owner: plain text plus hashtags kept apart.

    ``offline=True`` marks a draft from the offline drafter; the UI shows that as a label instead
    of the label being written into the post, so an approved offline draft publishes cleanly.
    Hashtags are stored without ``#``; :meth:`compose` gives the text as it will be posted.
    """

    text: str
    hashtags: list[str] = Field(default_factory=list)
    offline: bool = False
    model: str | None = None
    input_tokens: int = Field(default=0, ge=0)
    output_tokens: int = Field(default=0, ge=0)
    #: platform → the post as written for it (hashtags inline where they help). Platforms the
    #: drafter skipped are adapted from the main post by ``ai.adapt``.
    variants: dict[str, str] = Field(default_factory=dict)

    @field_validator("text")
    @classmethod
    def _text_not_blank(cls, text: str) -> str:
        return _required(text, "draft text")

    @field_validator("hashtags")
    @classmethod
    def _tidy_hashtags(cls, tags: list[str]) -> list[str]:
        seen: set[str] = set()
        tidy: list[str] = []
        for tag in tags:
            clean = clean_hashtag(tag)
            if clean and clean.casefold() not in seen:
                seen.add(clean.casefold())
                tidy.append(clean)
        return tidy

    def compose(self) -> str:
        """The post as published: the text, then a blank line and the hashtags, if any."""
        if not self.hashtags:
            return self.text
        return self.text + "\n\n" + " ".join("#" + tag for tag in self.hashtags)

    def length(self) -> int:
        """Length of :meth:`compose` in UTF-16 code units, the figure checked against max_chars."""
        return text_length(self.compose())


@dataclass(frozen=True)
class ToolAnswer:
    """The input Claude gave a forced tool (unvalidated: the caller validates), with the id of
    that call (to answer it with a tool_result), the model and what it cost."""

    input: object
    tool_use_id: str
    model: str
    input_tokens: int
    output_tokens: int


@runtime_checkable
class ToolCaller(Protocol):
    """A drafter that can force one tool call for a structured answer other than a draft (the
    learning distillation, a /plan): Claude can, the offline drafter cannot."""

    model: str

    async def call_tool(
        self, *, system: str, messages: list[dict[str, Any]], tool: dict[str, Any], max_tokens: int
    ) -> ToolAnswer: ...
