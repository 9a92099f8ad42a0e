"""The catalogue and the button payloads: both languages say the same things with the same
blanks, user text can never break a message's markup, and every button fits Telegram's 64 bytes."""

from __future__ import annotations

import enum
import inspect
import string
import types
import typing
from typing import Any
from zoneinfo import available_timezones

import pytest
from aiogram.filters.callback_data import CallbackData

from publishers.registry import PLATFORMS
from tests.fakes.telegram import parse_html
from ui import callbacks
from ui.texts import CATALOGUE, EN, RU, Html, Texts, language_for

#: Keys shown as plain text only (command menu descriptions and button labels), which Telegram
#: never parses as HTML.
PLAIN_ONLY = ("cmd.", "btn.")
HOSTILE = "<b>1 & 2</b> <script>"
BIGGEST_ID = 2**53


def placeholders(template: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(template) if field is not None}


def test_languages_have_the_same_keys() -> None:
    assert set(EN) - set(RU) == set(), "missing in Russian"
    assert set(RU) - set(EN) == set(), "missing in English"
    assert set(CATALOGUE) == {"en", "ru"}


@pytest.mark.parametrize("key", sorted(EN))
def test_languages_have_the_same_placeholders(key: str) -> None:
    assert placeholders(EN[key]) == placeholders(RU.get(key, "")), key


@pytest.mark.parametrize("language", sorted(CATALOGUE))
def test_every_message_is_valid_telegram_html_even_with_hostile_values(language: str) -> None:
    t = Texts(language)
    for key, template in CATALOGUE[language].items():
        if key.startswith(PLAIN_ONLY):
            continue
        rendered = t(key, **dict.fromkeys(placeholders(template), HOSTILE))
        visible, _ = parse_html(rendered)  # raises like Telegram's "can't parse entities"
        if placeholders(template):
            assert HOSTILE in visible, key


def test_values_are_escaped_and_show_as_text() -> None:
    rendered = Texts("en")("ai.failed", reason="<b>bold</b> & <i>")
    assert "<b>bold</b>" not in rendered
    visible, entities = parse_html(rendered)
    assert "<b>bold</b> & <i>" in visible
    assert entities == []


def test_html_values_pass_through() -> None:
    rendered = Texts("en")("ai.failed", reason=Html("<b>bold</b>"))
    assert "<b>bold</b>" in rendered
    visible, entities = parse_html(rendered)
    assert "bold" in visible and "<b>" not in visible
    assert [e["type"] for e in entities] == ["bold"]


def test_non_string_values_are_rendered() -> None:
    assert "#42" in Texts("en")("regenerating", post_id=42)


def test_plain_inserts_values_verbatim_for_buttons() -> None:
    assert Texts("en").plain("btn.open", post_id=7, snippet="a < b & c") == "#7 a < b & c"


@pytest.mark.parametrize(
    ("code", "language"),
    [
        ("ru", "ru"),
        ("ru-RU", "ru"),
        ("uk", "ru"),
        ("be", "ru"),
        ("kk", "ru"),
        ("en", "en"),
        ("en-GB", "en"),
        ("de", "en"),
        ("", "en"),
        (None, "en"),
    ],
)
def test_language_follows_the_client(code: str | None, language: str) -> None:
    assert language_for(code) == language


def test_unknown_language_falls_back_to_english() -> None:
    assert Texts("de")("draft.gone") == EN["draft.gone"]
    assert Texts("ru")("draft.gone") == RU["draft.gone"]


# --- callback data -----------------------------------------------------------------------------

CALLBACK_CLASSES = [
    cls
    for _, cls in inspect.getmembers(callbacks, inspect.isclass)
    if issubclass(cls, CallbackData) and cls is not CallbackData
]


#: The longest realistic value of each free-text field, by (class name, field name).
LONGEST_TEXT: dict[tuple[str, str], str] = {
    ("TimezoneCb", "name"): max(sorted(available_timezones()), key=len),
    ("PlatformCb", "key"): max(sorted(PLATFORMS), key=len),
    ("StatsCb", "pf"): max(sorted(PLATFORMS), key=len),
}


def largest_values(annotation: Any, where: tuple[str, str]) -> list[Any]:
    """The candidate values of a field whose packed form is longest."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [v for arg in typing.get_args(annotation) for v in largest_values(arg, where)]
    if annotation is type(None):
        return [None]
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return list(annotation)
    if annotation is int:
        return [BIGGEST_ID, -BIGGEST_ID]
    if annotation is bool:
        return [True, False]
    if annotation is str and where in LONGEST_TEXT:
        return [LONGEST_TEXT[where]]
    raise AssertionError(f"no realistic largest value known for {where}: add one above")


def bounded(candidates: list[Any], metadata: list[Any]) -> list[Any]:
    """The candidates moved inside a field's declared bounds (``ge``/``le``)."""
    low = next((m.ge for m in metadata if hasattr(m, "ge")), None)
    high = next((m.le for m in metadata if hasattr(m, "le")), None)
    if low is None and high is None:
        return candidates
    return [
        min(max(c, low if low is not None else c), high if high is not None else c)
        if isinstance(c, int) and not isinstance(c, bool)
        else c
        for c in candidates
    ]


def widest_instance(cls: type[CallbackData]) -> CallbackData:
    values: dict[str, Any] = {}
    for name, field in cls.model_fields.items():
        candidates = largest_values(field.annotation, (cls.__name__, name))
        candidates = bounded(candidates, field.metadata)
        values[name] = max(candidates, key=lambda v: len(str(getattr(v, "value", v))))
    return cls(**values)


def test_every_callback_class_is_covered() -> None:
    names = {cls.__name__ for cls in CALLBACK_CLASSES}
    assert {"DraftCb", "RegenCb", "OpenDraftCb", "DraftsPageCb", "VoiceCb"} <= names


def test_callback_prefixes_are_unique() -> None:
    prefixes = [cls.__prefix__ for cls in CALLBACK_CLASSES]
    assert len(prefixes) == len(set(prefixes)), prefixes


@pytest.mark.parametrize("cls", CALLBACK_CLASSES, ids=lambda c: c.__name__)
def test_largest_callback_fits_64_bytes_and_round_trips(cls: type[CallbackData]) -> None:
    widest = widest_instance(cls)
    packed = widest.pack()
    assert len(packed.encode("utf-8")) <= 64, packed
    assert cls.unpack(packed) == widest


@pytest.mark.parametrize("cls", CALLBACK_CLASSES, ids=lambda c: c.__name__)
def test_a_button_is_only_understood_by_its_own_class(cls: type[CallbackData]) -> None:
    packed = widest_instance(cls).pack()
    for other in CALLBACK_CLASSES:
        if other is cls:
            continue
        with pytest.raises((ValueError, TypeError)):
            other.unpack(packed)


@pytest.mark.parametrize("cls", CALLBACK_CLASSES, ids=lambda c: c.__name__)
def test_every_number_on_a_button_fits_a_32_bit_column(cls: type[CallbackData]) -> None:
    """A forged id past PostgreSQL's `integer` fails to unpack (the fallback answers the tap)
    instead of reaching the database."""
    for name, field in cls.model_fields.items():
        if field.annotation is not int:
            continue
        high = next((m.le for m in field.metadata if hasattr(m, "le")), None)
        low = next((m.ge for m in field.metadata if hasattr(m, "ge")), None)
        assert high is not None and high <= callbacks.INT32_MAX, (cls.__name__, name)
        assert low is not None and low >= -callbacks.INT32_MAX - 1, (cls.__name__, name)


def test_the_idioms_texts_say_the_same_in_every_language() -> None:
    from ui import texts_idioms

    assert set(texts_idioms.EN) == set(texts_idioms.RU) == set(texts_idioms.UK)
    for key, template in texts_idioms.EN.items():
        assert placeholders(template) == placeholders(texts_idioms.RU[key])
        assert placeholders(template) == placeholders(texts_idioms.UK[key])
