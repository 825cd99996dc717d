"""Checks shared by the catalog tests of each gettext domain (console's sunrelay, policies'
sunrelay_policies): extraction as the documented cycle runs it, and what a catalog lacks."""

from __future__ import annotations

import gettext
import io
import string
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.frontend import CommandLineInterface
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]


def extract(source: Path, keyword: str, pot: Path) -> Catalog:
    """Babel's own command line with pyproject.toml's [tool.babel] mapping, as the cycle runs it."""
    CommandLineInterface().run(["pybabel", "-q", "extract", "-F", str(ROOT / "pyproject.toml"),
                                "-k", keyword, "-o", str(pot), str(source)])
    with pot.open("rb") as f:
        return read_po(f)


def read_catalog(locale_dir: Path, domain: str, lang: str) -> Catalog:
    with (locale_dir / lang / "LC_MESSAGES" / f"{domain}.po").open("rb") as f:
        return read_po(f, locale=lang)


def where(message: Message) -> str:
    return ", ".join(f"{path}:{line}" for path, line in message.locations)


def fields(text: str) -> set[str]:
    """The str.format fields of a message: a translation must keep them all, and add none."""
    return {f"{name}!{conv}:{spec}" for _, name, spec, conv in string.Formatter().parse(text)
            if name is not None}


def wanted(extracted: Catalog) -> list[Message]:
    return [m for m in extracted if m.id]


def missing(extracted: Catalog, shipped: Catalog) -> list[str]:
    return [f"{m.id!r} ({where(m)})" for m in wanted(extracted) if m.id not in shipped]


def not_ready(extracted: Catalog, shipped: Catalog) -> list[str]:
    """Messages present but fuzzy, untranslated, or with other placeholders than the msgid."""
    bad = []
    for m in wanted(extracted):
        found = shipped.get(m.id)
        if found is None:
            continue  # reported by missing()
        ids = list(m.id) if isinstance(m.id, tuple) else [m.id]
        forms = list(found.string) if isinstance(found.string, tuple) else [found.string]
        if found.fuzzy or not all(forms):
            bad.append(f"{ids[0]!r} ({where(m)}): {'fuzzy' if found.fuzzy else 'untranslated'}")
        elif any(fields(form) != fields(ids[0]) | fields(ids[-1]) for form in forms):
            bad.append(f"{ids[0]!r} ({where(m)}): placeholders differ in {forms!r}")
    return bad


def mo_is_fresh(locale_dir: Path, domain: str, lang: str) -> bool:
    """The .mo is shipped (so an install needs no build step): it must say what the .po says."""
    compiled = io.BytesIO()
    write_mo(compiled, read_catalog(locale_dir, domain, lang))
    compiled.seek(0)
    with (locale_dir / lang / "LC_MESSAGES" / f"{domain}.mo").open("rb") as f:
        shipped = gettext.GNUTranslations(f)
    return bool(shipped._catalog == gettext.GNUTranslations(compiled)._catalog)
