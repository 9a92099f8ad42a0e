"""Views fit Telegram's limits: long fields are clipped with "…" and can be read whole, and
nothing the bot sends is refused for its length, whatever the owner typed (hypothesis)."""

from __future__ import annotations

import html

from hypothesis import given, settings
from hypothesis import strategies as st

from ai.models import BrandVoice
from bot.app import Nexus
from publishers.text import utf16_len
from storage.models import Post
from tests.conftest import OWNER
from tests.fakes.telegram import FakeTelegram, parse_html
from ui import views
from ui.callbacks import INT32_MAX
from ui.fit import CAPTION_LIMIT, TEXT_LIMIT, clip, fit_html, parts, visible_len
from ui.texts import Texts, languages

#: Owner text at its worst: markup look-alikes, entities, emoji (2 UTF-16 units), newlines.
hostile = st.lists(
    st.sampled_from([*"ab <>&;#/\"'\n", "😀", "ё", "&amp;", "<b>", "</i>", "word " * 40]),
    max_size=400,
).map("".join)
TAGS = ["b", "i", "u", "s", "code", "pre", "tg-spoiler", 'a href="https://example.com/?a=1&amp;b"']


@st.composite
def telegram_html(draw: st.DrawFn) -> str:
    """Well-formed Telegram HTML of escaped owner text, with nested tags."""
    out = []
    for _ in range(draw(st.integers(0, 12))):
        text = html.escape(draw(hostile), quote=False)
        tag = draw(st.sampled_from([None, *TAGS]))
        if tag is None:
            out.append(text)
        else:
            name = tag.split()[0]
            out.append(f"<{tag}>{text}</{name}>")
    return "".join(out)


@settings(max_examples=150, deadline=None)
@given(source=telegram_html(), limit=st.sampled_from([TEXT_LIMIT, CAPTION_LIMIT, 50]))
def test_fit_html_keeps_valid_html_within_the_limit(source: str, limit: int) -> None:
    fitted = fit_html(source, limit)
    text, _ = parse_html(fitted)  # raises as Telegram's "can't parse entities" would
    assert utf16_len(text) <= limit
    assert visible_len(fitted) == utf16_len(text)
    if visible_len(source) <= limit:
        assert fitted == source
    else:
        assert text.endswith("…")
        assert parse_html(source)[0].startswith(text[:-1].rstrip())


@settings(max_examples=100, deadline=None)
@given(text=hostile, limit=st.integers(2, 5000))
def test_clip_keeps_the_head_and_marks_the_cut(text: str, limit: int) -> None:
    clipped = clip(text, limit)
    assert utf16_len(clipped) <= limit
    if utf16_len(text) <= limit:
        assert clipped == text
    else:
        assert clipped.endswith("…") and text.startswith(clipped[:-1])


@settings(max_examples=100, deadline=None)
@given(text=hostile, limit=st.integers(2, 4096))
def test_parts_cover_the_whole_text_and_each_fits(text: str, limit: int) -> None:
    pieces = parts(text, limit)
    assert all(0 < utf16_len(p) <= limit for p in pieces)
    assert "".join("".join(p.split()) for p in pieces) == "".join(text.split())


@settings(max_examples=60, deadline=None)
@given(
    fields=st.fixed_dictionaries(
        {
            "tone": hostile.map(lambda s: s[:500]),
            "audience": hostile.map(lambda s: s[:500]),
            "do": hostile.map(lambda s: s[:500]),
            "dont": hostile.map(lambda s: s[:500]),
            "example": hostile.map(lambda s: s[:4000]),
        }
    ),
    language=st.sampled_from(languages()),
)
def test_the_voice_view_fits_one_message_and_each_field_can_be_read_whole(
    fields: dict[str, str], language: str
) -> None:
    t = Texts(language)
    brand = BrandVoice(**fields)
    text, clipped = views.voice(t, brand)
    shown, _ = parse_html(text)
    assert utf16_len(shown) <= TEXT_LIMIT and "…" not in shown[-1:]  # clipped per field only
    for name in clipped:
        value = getattr(brand, name)
        messages = views.whole_field(t, name, value)
        seen = ""
        for message in messages:
            visible, _ = parse_html(message)
            assert utf16_len(visible) <= TEXT_LIMIT
            seen += visible
        assert "".join(value.split()) in "".join(seen.split())


async def test_an_oversized_text_is_clipped_on_its_way_out_not_refused(
    tg: FakeTelegram, nexus: Nexus
) -> None:
    """The last line: a view nobody sized still shows (clipped, tags balanced)."""
    long = "<b>" + html.escape("R&D <beta> " * 1000) + "</b>"
    await nexus.bot.send_message(OWNER, long)
    await nexus.bot.send_message(OWNER, "x" * 5000, parse_mode=None)
    html_message, plain_message = tg.messages(OWNER)[-2:]
    assert len(html_message.text) <= TEXT_LIMIT and html_message.text.endswith("…")
    assert html_message.text.startswith("R&D <beta> R&D")
    assert html_message.entities[0]["type"] == "bold"
    assert len(plain_message.text) == TEXT_LIMIT


@settings(max_examples=60, deadline=None)
@given(
    text=hostile.map(lambda s: s[:4096] or "x"),
    targets=st.lists(hostile.map(lambda s: s[:120]), max_size=12),
    lines=st.lists(hostile.map(lambda s: html.escape(s[:300], quote=False)), max_size=12),
    offline=st.booleans(),
)
def test_a_preview_and_its_records_fit_one_message_whatever_the_text_and_targets(
    text: str, targets: list[str], lines: list[str], offline: bool
) -> None:
    t = Texts("en")
    post = Post(id=INT32_MAX, text=text, offline=offline)
    for rendered in (
        views.preview(t, post, targets, lines or None),
        views.taken_down(t, post),
    ):
        shown, _ = parse_html(rendered)
        assert utf16_len(shown) <= TEXT_LIMIT
        assert f"#{INT32_MAX}" in shown  # the heading survives whatever the body
