"""The catalogs against the source: every message id translated into Indonesian,
placeholders intact, and the compiled .mo files what their .po files say.

Extraction runs exactly as the documented cycle does (Babel's own command line,
with the mapping in pyproject.toml's [tool.babel]), over all of console/, the
TUI included, so a string wrapped anywhere fails here until it is translated.
"""

from __future__ import annotations

import gettext
import io
import string
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.frontend import CommandLineInterface
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from console import i18n

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    pot = tmp_path_factory.mktemp("i18n") / "sunrelay.pot"
    CommandLineInterface().run(["pybabel", "-q", "extract", "-F", str(ROOT / "pyproject.toml"), "-k", "_l",
                                "-o", str(pot), str(ROOT / "console")])
    with pot.open("rb") as f:
        return read_po(f)


def catalog(lang: str) -> Catalog:
    with (i18n.LOCALE_DIR / lang / "LC_MESSAGES" / f"{i18n.DOMAIN}.po").open("rb") as f:
        return read_po(f, locale=lang)


def where(message: Message) -> str:
    return ", ".join(f"{path}:{line}" for path, line in message.locations)


def fields(text: str) -> set[str]:
    """The str.format fields of a message: a translation must keep them all, and add none."""
    return {f"{name}!{conv}:{spec}" for _, name, spec, conv in string.Formatter().parse(text)
            if name is not None}


def wanted(extracted: Catalog) -> list[Message]:
    return [m for m in extracted if m.id]


def test_extraction_finds_the_cli_messages(extracted: Catalog) -> None:
    ids = {m.id if isinstance(m.id, str) else m.id[0] for m in wanted(extracted)}
    assert {"sunrelay: error: {message}", "Open incidents ({count})", "Root cause", "in {duration}"} <= ids


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_every_message_is_in_the_catalog(extracted: Catalog, lang: str) -> None:
    shipped = catalog(lang)
    missing = [f"{m.id!r} ({where(m)})" for m in wanted(extracted) if m.id not in shipped]
    assert not missing, (f"{len(missing)} message(s) missing from the {lang} catalog; run the "
                         "extract/update cycle of docs/cli.md:\n" + "\n".join(missing))


def test_every_message_is_translated_into_indonesian(extracted: Catalog) -> None:
    shipped = catalog("id")
    bad = []
    for m in wanted(extracted):
        found = shipped.get(m.id)
        if found is None:
            continue  # reported by test_every_message_is_in_the_catalog
        ids = list(m.id) if isinstance(m.id, tuple) else [m.id]
        forms = list(found.string) if isinstance(found.string, tuple) else [found.string]
        if found.fuzzy or not all(forms):
            bad.append(f"{ids[0]!r} ({where(m)}): {'fuzzy' if found.fuzzy else 'untranslated'}")
        elif any(fields(form) != fields(ids[0]) | fields(ids[-1]) for form in forms):
            bad.append(f"{ids[0]!r} ({where(m)}): placeholders differ in {forms!r}")
    assert not bad, f"{len(bad)} message(s) not ready in the id catalog:\n" + "\n".join(bad)


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_the_compiled_catalog_is_fresh(lang: str) -> None:
    """The .mo is shipped (so an install needs no build step): it must say what the .po says."""
    compiled = io.BytesIO()
    write_mo(compiled, catalog(lang))
    compiled.seek(0)
    mo = i18n.LOCALE_DIR / lang / "LC_MESSAGES" / f"{i18n.DOMAIN}.mo"
    with mo.open("rb") as f:
        shipped = gettext.GNUTranslations(f)
    expected = gettext.GNUTranslations(compiled)
    assert shipped._catalog == expected._catalog, (
        f"{mo} is stale: pybabel compile -D sunrelay -d console/locale")
