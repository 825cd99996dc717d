"""Translations of what the policy package tells people: validation problems,
PolicyError texts, `simulate`'s timeline and the iCalendar export's titles.

`policies` imports nothing else of Sunrelay, so it keeps its own gettext domain
(`sunrelay_policies`, catalogs in policies/locale) and its own process-wide
choice, which whoever picks the process's language passes to `use` (the
console does in console.i18n.select). Until then it speaks English, the
language of the msgids. Messages are whole sentences with named placeholders:
`_("unknown person {name!r}").format(name=...)`.
"""

from __future__ import annotations

import gettext
from pathlib import Path

DOMAIN = "sunrelay_policies"
LOCALE_DIR = Path(__file__).parent / "locale"

_translations: gettext.NullTranslations = gettext.NullTranslations()


def use(lang: str | None) -> None:
    """Speak `lang` ('en', 'id') from now on; None, or a language without a catalog, is English."""
    global _translations
    _translations = gettext.translation(DOMAIN, LOCALE_DIR, languages=[lang or "en"], fallback=True)


def _(message: str) -> str:
    return _translations.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _translations.ngettext(singular, plural, n)
