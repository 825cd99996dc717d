"""The catalogs against the source: every message id translated into Indonesian,
placeholders intact, and the compiled .mo files what their .po files say.

Extraction runs exactly as the documented cycle does (Babel's own command line,
with the mapping in pyproject.toml's [tool.babel]), over all of console/, the
TUI included, so a string wrapped anywhere fails here until it is translated.
"""

from __future__ import annotations

import pytest
from babel.messages.catalog import Catalog

from console import i18n
from tests.catalogs import ROOT, extract, missing, mo_is_fresh, not_ready, read_catalog, wanted


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    return extract(ROOT / "console", "_l", tmp_path_factory.mktemp("i18n") / "sunrelay.pot")


def catalog(lang: str) -> Catalog:
    return read_catalog(i18n.LOCALE_DIR, i18n.DOMAIN, lang)


def test_extraction_finds_the_cli_messages(extracted: Catalog) -> None:
    ids = {m.id if isinstance(m.id, str) else m.id[0] for m in wanted(extracted)}
    assert {"sunrelay: error: {message}", "Open incidents ({count})", "Root cause", "in {duration}"} <= ids


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_every_message_is_in_the_catalog(extracted: Catalog, lang: str) -> None:
    lacking = missing(extracted, catalog(lang))
    assert not lacking, (f"{len(lacking)} message(s) missing from the {lang} catalog; run the "
                         "extract/update cycle of docs/cli.md:\n" + "\n".join(lacking))


def test_every_message_is_translated_into_indonesian(extracted: Catalog) -> None:
    bad = not_ready(extracted, catalog("id"))
    assert not bad, f"{len(bad)} message(s) not ready in the id catalog:\n" + "\n".join(bad)


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_the_compiled_catalog_is_fresh(lang: str) -> None:
    assert mo_is_fresh(i18n.LOCALE_DIR, i18n.DOMAIN, lang), (
        f"the {lang} .mo is stale: pybabel compile -D sunrelay -d console/locale")
