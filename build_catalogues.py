"""The setuptools build step that compiles the gettext catalogues (`ui/locales/*/LC_MESSAGES/
*.po`) to `.mo`: into the wheel for `pip install .` and the Docker image, and next to the sources
for `pip install -e .`. `ui/catalogues.py` compiles in memory whatever is missing or stale, so a
fresh checkout works without this step; with it, a start reads the compiled files.

Named in pyproject.toml under [tool.setuptools.cmdclass]; needs Babel at build time
([build-system] requires).
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from setuptools.command.build_py import build_py


def compile_catalogues(root: Path) -> list[Path]:
    """Compile every `.po` under `root` next to itself; the `.mo` files written."""
    written = []
    for po in sorted(root.glob("ui/locales/*/LC_MESSAGES/*.po")):
        with po.open("rb") as fp:
            catalog = read_po(fp, locale=po.parent.parent.name, abort_invalid=True)
        mo = po.with_suffix(".mo")
        with mo.open("wb") as fp:
            write_mo(fp, catalog)
        written.append(mo)
    return written


class BuildPy(build_py):
    """build_py, then the catalogues compiled where the package is built (or, editable, where
    it lives)."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:
            compile_catalogues(Path(__file__).resolve().parent)
        else:
            compile_catalogues(Path(self.build_lib))
