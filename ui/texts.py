"""Every text the bot says, from the gettext catalogues in `ui/locales/` (English, Russian,
Ukrainian; README "Languages" says how to add one).

A text's key ("draft.gone") is its msgid, in every catalogue. Messages are Telegram HTML.
`Texts.__call__` escapes every value it inserts, so user and AI text can never break the markup; a
value that is already HTML is wrapped in `Html` to pass through. Texts that depend on a number are
plural entries (`t.n("key", count)`) whose form each catalogue's Plural-Forms rule picks. The
language follows the user's Telegram client (`language_for`).
"""

from __future__ import annotations

import html

from ui.catalogues import DEFAULT, catalogues

#: Clients in a language without a catalogue that read another one better than English.
CLOSEST = {"be": "ru", "kk": "ru"}


class Html(str):
    """A string that is already safe Telegram HTML."""


def languages() -> tuple[str, ...]:
    """Every language there is a catalogue for, English first."""
    found = catalogues().available_locales
    return (DEFAULT, *sorted(set(found) - {DEFAULT}))


def language_for(language_code: str | None) -> str:
    """The catalogue for a Telegram client's language ("uk-UA" → "uk"): its own if there is
    one, else the closest (`CLOSEST`), else English."""
    base = (language_code or "").split("-")[0].lower()
    if base in catalogues().locales:
        return base
    return CLOSEST.get(base, DEFAULT)


def _escaped(values: dict[str, object]) -> dict[str, object]:
    """Every value made safe for Telegram HTML, except those already marked `Html`."""
    return {
        name: value if isinstance(value, Html) else html.escape(str(value), quote=False)
        for name, value in values.items()
    }


class Texts:
    """The catalogue in one language: `t("key", name=value)`.

    A key missing from the catalogue raises KeyError (gettext would quietly show the key)."""

    def __init__(self, language: str) -> None:
        self._i18n = catalogues()
        self.language = language if language in self._i18n.locales else DEFAULT

    def _template(self, key: str) -> str:
        text = self._i18n.gettext(key, locale=self.language)
        if text == key:
            raise KeyError(f"no text {key!r} in the {self.language} catalogue")
        return text

    def __call__(self, key: str, **values: object) -> str:
        return self._template(key).format(**_escaped(values))

    def _plural(self, key: str, count: int) -> str:
        template = self._i18n.gettext(key, key, count, locale=self.language)
        if template == key:
            raise KeyError(f"no plural text {key!r} in the {self.language} catalogue")
        return template

    def n(self, key: str, count: int, **values: object) -> str:
        """A text with a number, in the form the number takes (`t.n("k", 3)` fills `{count}`)."""
        return self._plural(key, count).format(**_escaped({"count": count, **values}))

    def plain_n(self, key: str, count: int, **values: object) -> str:
        """`n` for plain-text places: nothing is escaped."""
        return self._plural(key, count).format(count=count, **values)

    def has(self, key: str) -> bool:
        return self._i18n.gettext(key, locale=self.language) != key

    def has_n(self, key: str) -> bool:
        """Whether the catalogue has plural text `key` (for `n`)."""
        return self._i18n.gettext(key, key, 2, locale=self.language) != key

    def plain(self, key: str, **values: object) -> str:
        """For plain-text places (buttons, alerts, command menus): nothing is escaped."""
        return self._template(key).format(**values)
