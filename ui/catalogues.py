"""Loading the gettext catalogues (`ui/locales/<lang>/LC_MESSAGES/nexus.po`).

The `.po` files are the source; `.mo` files are compiled from them when the package is built or
installed (`build_catalogues.py`, a setuptools build step: wheels, `pip install .`, the Docker
image, and `pip install -e .`, which compiles next to the sources). A `.mo` that is missing or
older than its `.po` (a fresh checkout, a catalogue just edited) is never trusted: the `.po` is
compiled in memory instead, so the texts shown are always the ones in the `.po`.

Loading goes through aiogram's `I18n` (its `find_locales` insists on a compiled `.mo`; ours falls
back to the `.po`), and plural forms follow each catalogue's `Plural-Forms` header.
"""

from __future__ import annotations

import gettext
import io
from functools import cache
from pathlib import Path

from aiogram.utils.i18n import I18n
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALES = Path(__file__).resolve().parent / "locales"
DOMAIN = "nexus"
DEFAULT = "en"


def compile_po(po: Path) -> bytes:
    """A `.po` file compiled to `.mo` bytes (fuzzy entries left out, as msgfmt does)."""
    with po.open("rb") as fp:
        catalog = read_po(fp, locale=po.parent.parent.name, abort_invalid=True)
    out = io.BytesIO()
    write_mo(out, catalog)
    return out.getvalue()


class Catalogues(I18n):
    """aiogram's I18n over our locales, reading a `.po` whose `.mo` is missing or stale."""

    def find_locales(self) -> dict[str, gettext.GNUTranslations]:
        translations: dict[str, gettext.GNUTranslations] = {}
        for folder in sorted(self.path.iterdir()):
            po = folder / "LC_MESSAGES" / f"{self.domain}.po"
            mo = po.with_suffix(".mo")
            if po.is_file() and not (mo.is_file() and mo.stat().st_mtime >= po.stat().st_mtime):
                translations[folder.name] = gettext.GNUTranslations(io.BytesIO(compile_po(po)))
            elif mo.is_file():
                with mo.open("rb") as fp:
                    translations[folder.name] = gettext.GNUTranslations(fp)
        return translations


@cache
def catalogues() -> Catalogues:
    """The one set of catalogues of the process, loaded on first use."""
    return Catalogues(path=LOCALES, default_locale=DEFAULT, domain=DOMAIN)
