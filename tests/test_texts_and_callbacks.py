"""The catalogues and the button payloads: every language says the same things with the same
blanks and as many plural forms as it has, user text can never break a message's markup, and
every button fits Telegram's 64 bytes."""

from __future__ import annotations

import enum
import gettext
import inspect
import io
import os
import shutil
import string
import types
import typing
from pathlib import Path
from typing import Any
from zoneinfo import available_timezones

import pytest
from aiogram.filters.callback_data import CallbackData
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from pydantic.fields import FieldInfo

from publishers.registry import PLATFORMS
from tests.fakes.telegram import parse_html
from ui import callbacks
from ui.catalogues import LOCALES, Catalogues, compile_po
from ui.texts import Html, Texts, language_for, languages

#: Keys shown as plain text only (command menu descriptions and button labels), which Telegram
#: never parses as HTML.
PLAIN_ONLY = ("cmd.", "btn.")
HOSTILE = "<b>1 & 2</b> <script>"
BIGGEST_ID = 2**53
#: Numbers that reach every plural form of English, Russian and Ukrainian (1, 2-4, 5-20, 21...).
COUNTS = (0, 1, 2, 4, 5, 11, 12, 14, 21, 22, 25, 101, 111, 1000001)


def placeholders(template: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(template) if field is not None}


def read(language: str) -> Catalog:
    with (LOCALES / language / "LC_MESSAGES" / "nexus.po").open("rb") as fp:
        return read_po(fp, locale=language, abort_invalid=True)


CATALOGUES = {language: read(language) for language in ("en", "ru", "uk")}
#: msgid → its text (str) or plural forms (tuple), per language.
ENTRIES: dict[str, dict[str, str | tuple[str, ...]]] = {
    language: {m.id[0] if m.pluralizable else m.id: m.string for m in catalog if m.id}
    for language, catalog in CATALOGUES.items()
}
EN = ENTRIES["en"]


def test_every_language_has_its_catalogue() -> None:
    assert languages() == ("en", "ru", "uk")
    assert {p.name for p in LOCALES.iterdir() if p.is_dir()} == set(CATALOGUES)


@pytest.mark.parametrize("language", sorted(CATALOGUES))
def test_every_message_is_in_every_language(language: str) -> None:
    entries = ENTRIES[language]
    assert set(EN) - set(entries) == set(), f"missing in {language}"
    assert set(entries) - set(EN) == set(), f"in {language} only"
    untranslated = [k for k, v in entries.items() if not v or (isinstance(v, tuple) and not all(v))]
    assert untranslated == [], f"empty in {language}"
    fuzzy = [m.id for m in CATALOGUES[language] if m.id and m.fuzzy]
    assert fuzzy == [], f"fuzzy (left out when compiled) in {language}"


@pytest.mark.parametrize("key", sorted(EN))
def test_languages_have_the_same_placeholders_in_every_form(key: str) -> None:
    def forms(value: str | tuple[str, ...]) -> tuple[str, ...]:
        return value if isinstance(value, tuple) else (value,)

    expected = placeholders(forms(EN[key])[0])
    for language, entries in ENTRIES.items():
        assert isinstance(entries[key], tuple) == isinstance(EN[key], tuple), (language, key)
        for form in forms(entries[key]):
            assert placeholders(form) == expected, (language, key, form)
    if isinstance(EN[key], tuple):
        assert "count" in expected, key


@pytest.mark.parametrize("language", sorted(CATALOGUES))
def test_plural_entries_have_as_many_forms_as_the_language(language: str) -> None:
    catalog = CATALOGUES[language]
    assert catalog.num_plurals == {"en": 2, "ru": 3, "uk": 3}[language]
    for message in catalog:
        if message.pluralizable:
            assert len(message.string) == catalog.num_plurals, (language, message.id)


@pytest.mark.parametrize(
    ("count", "en", "ru", "uk"),
    [
        (1, "1 image attached", "1 изображение", "1 зображення"),
        (3, "3 images attached", "3 изображения", "3 зображення"),
        (5, "5 images attached", "5 изображений", "5 зображень"),
        (11, "11 images attached", "11 изображений", "11 зображень"),
        (21, "21 images attached", "21 изображение", "21 зображення"),
        (0, "0 images attached", "0 изображений", "0 зображень"),
    ],
)
def test_plural_forms_follow_the_catalogues_rule(count: int, en: str, ru: str, uk: str) -> None:
    for language, expected in (("en", en), ("ru", ru), ("uk", uk)):
        assert Texts(language).n("preview.images", count) == f"🖼 {expected}"


@pytest.mark.parametrize("language", sorted(CATALOGUES))
def test_every_message_is_valid_telegram_html_even_with_hostile_values(language: str) -> None:
    t = Texts(language)
    for key, template in ENTRIES[language].items():
        if key.startswith(PLAIN_ONLY):
            continue
        if isinstance(template, tuple):
            values = dict.fromkeys(placeholders(template[0]) - {"count"}, HOSTILE)
            rendered = [t.n(key, count, **values) for count in COUNTS]
        else:
            values = dict.fromkeys(placeholders(template), HOSTILE)
            rendered = [t(key, **values)]
        for text in rendered:
            visible, _ = parse_html(text)  # raises like Telegram's "can't parse entities"
            if values:
                assert HOSTILE in visible, key


def test_the_compiled_catalogue_says_what_the_po_says() -> None:
    """What build_catalogues.py writes into a wheel is what the .po holds, plural rule too."""
    for language, entries in ENTRIES.items():
        compiled = compile_po(LOCALES / language / "LC_MESSAGES" / "nexus.po")
        mo = gettext.GNUTranslations(io.BytesIO(compiled))
        for key, value in entries.items():
            if isinstance(value, tuple):  # 1, 2 and 5 take forms one, few/other, many/other
                expected = [value[0], value[1], value[-1]]
                assert [mo.ngettext(key, key, c) for c in (1, 2, 5)] == expected, key
            else:
                assert mo.gettext(key) == value, key


def test_a_missing_or_stale_mo_gives_way_to_the_po(tmp_path: Path) -> None:
    """A fresh checkout has no .mo and an edited .po is newer than its .mo: both read the .po."""
    folder = tmp_path / "uk" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    po, mo = folder / "nexus.po", folder / "nexus.mo"
    shutil.copy2(LOCALES / "uk" / "LC_MESSAGES" / "nexus.po", po)
    current = ENTRIES["uk"]["draft.gone"]

    def says() -> str:
        return Catalogues(path=tmp_path, domain="nexus").gettext("draft.gone", locale="uk")

    assert says() == current  # no .mo at all
    old = read("uk")
    old["draft.gone"].string = "old words"
    with mo.open("wb") as fp:
        write_mo(fp, old)
    written = po.stat().st_mtime
    os.utime(mo, (written - 60, written - 60))
    assert says() == current  # stale: the .po wins
    os.utime(mo, (written + 60, written + 60))
    assert says() == "old words"  # compiled after the .po was last changed: it is used


def test_a_missing_key_is_an_error_not_a_key_shown_to_the_owner() -> None:
    with pytest.raises(KeyError):
        Texts("uk")("no.such.text")
    with pytest.raises(KeyError):
        Texts("uk").n("no.such.text", 2)
    assert not Texts("uk").has("no.such.text") and Texts("uk").has("draft.gone")


def test_values_are_escaped_and_show_as_text() -> None:
    rendered = Texts("en")("ai.failed", reason="<b>bold</b> & <i>")
    assert "<b>bold</b>" not in rendered
    visible, entities = parse_html(rendered)
    assert "<b>bold</b> & <i>" in visible
    assert entities == []


def test_plural_values_are_escaped_too() -> None:
    rendered = Texts("uk").n("src.last_error", 2, error="<i>x</i> & y")
    visible, entities = parse_html(rendered)
    assert visible == "⚠️ <i>x</i> & y (2 помилки поспіль)" and entities == []


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
        ("uk", "uk"),
        ("uk-UA", "uk"),
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
    assert Texts("ru")("draft.gone") == ENTRIES["ru"]["draft.gone"]
    assert Texts("uk")("draft.gone") == ENTRIES["uk"]["draft.gone"] != ENTRIES["ru"]["draft.gone"]


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


def ui_field_metadata(annotation: Any) -> list[Any]:
    """The constraints an ``Annotated[int, Field(...)]`` alias puts on a field."""
    return FieldInfo.from_annotation(annotation).metadata


@pytest.mark.parametrize("cls", CALLBACK_CLASSES, ids=lambda c: c.__name__)
def test_every_number_on_a_button_fits_a_32_bit_column(cls: type[CallbackData]) -> None:
    """A forged id past PostgreSQL's `integer` fails to unpack (the fallback answers the tap)
    instead of reaching the database; a Telegram user id (`TgId`) is bounded by its BIGINT."""
    for name, field in cls.model_fields.items():
        if field.annotation is not int:
            continue
        high = next((m.le for m in field.metadata if hasattr(m, "le")), None)
        low = next((m.ge for m in field.metadata if hasattr(m, "ge")), None)
        widest = callbacks.INT64_MAX if field.metadata == ui_field_metadata(callbacks.TgId) else 0
        assert high is not None and high <= max(callbacks.INT32_MAX, widest), (cls.__name__, name)
        assert low is not None and low >= -callbacks.INT32_MAX - 1, (cls.__name__, name)
