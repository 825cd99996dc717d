"""Translations and locale-aware formatting for everything people read.

One process speaks one language, chosen once at start (`--lang`, then
SUNRELAY_LANG, then the POSIX locale) and falling back to English, the
language of the msgids. Strings evaluated at import time (typer help texts,
Textual BINDINGS descriptions, class attributes) must use `_l` (lazy_gettext),
so they are translated when shown rather than when the module was imported,
which may be before the language is known. A lazy string is a proxy, not a
str: whatever checks isinstance(x, str) (Textual widget content, notify())
must get `_()` called at that moment instead.

Machine interfaces (JSON keys, CSV headers, op kinds, ops log lines) are never
passed through here.
"""

from __future__ import annotations

import gettext
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import Literal, cast

from babel import Locale, dates, lists, numbers, units
from babel.support import LazyProxy

DOMAIN = "sunrelay"
LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = ("en", "id")
DEFAULT = "en"
# Read in this order, as gettext does; the first one set decides (LANGUAGE may list several).
LOCALE_VARS = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")

_language: str | None = None
_translations: gettext.NullTranslations = gettext.NullTranslations()
_machine: ContextVar[bool] = ContextVar("sunrelay_untranslated", default=False)


class UnknownLanguage(ValueError):
    pass


def normalize(tag: str) -> str | None:
    """'id_ID.UTF-8', 'id-ID', 'ID' -> 'id'; None for a language we do not ship."""
    code = tag.split(".")[0].split("@")[0].replace("-", "_").split("_")[0].strip().lower()
    return code if code in LANGUAGES else None


def from_environment(environ: dict[str, str] | None = None) -> str:
    """SUNRELAY_LANG, else the POSIX locale variables; English when none names a shipped language."""
    env = os.environ if environ is None else environ
    explicit = env.get("SUNRELAY_LANG", "").strip()
    if explicit:
        return normalize(explicit) or DEFAULT
    for name in LOCALE_VARS:
        value = env.get(name, "").strip()
        if not value:
            continue
        for tag in value.split(":"):
            if tag in ("C", "POSIX") or tag.startswith("C."):
                return DEFAULT
            found = normalize(tag)
            if found:
                return found
        if name != "LANGUAGE":  # an unshipped LANGUAGE entry defers to the locale; anything else is final
            return DEFAULT
    return DEFAULT


def select(lang: str | None = None) -> str:
    """Set the process's language: `lang` (as given to --lang) or the environment's."""
    global _language, _translations
    if lang:
        code = normalize(lang)
        if code is None:
            raise UnknownLanguage(lang)
    else:
        code = from_environment()
    _translations = gettext.translation(DOMAIN, LOCALE_DIR, languages=[code], fallback=True)
    _language = code
    # The policy package's messages have their own catalogs. It starts in English, so it is imported
    # (a fifth of a second: pydantic) only for another language or when it is loaded already.
    if code != DEFAULT or "policies" in sys.modules:
        from policies import i18n as policies_i18n

        policies_i18n.use(code)
    return code


def language() -> str:
    """The selected language, chosen from the environment on first use if nobody chose."""
    return _language if _language is not None else select()


def locale() -> Locale:
    return Locale.parse(language())


@contextmanager
def untranslated() -> Iterator[None]:
    """Text rendered into machine output (JSON) in English whatever the language,
    since scripts match on it; a context variable, so other threads keep theirs."""
    token = _machine.set(True)
    try:
        yield
    finally:
        _machine.reset(token)


def _active() -> gettext.NullTranslations:
    if _machine.get():
        return _ENGLISH
    if _language is None:
        select()
    return _translations


def gettext_(message: str) -> str:
    return _active().gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _active().ngettext(singular, plural, n)


def lazy_gettext(message: str) -> str:
    """A string translated each time it is used; typed as str because typer and
    Textual take it where they take a str (it behaves as one)."""
    return cast(str, LazyProxy(gettext_, message, enable_cache=False))


_ENGLISH = gettext.NullTranslations()  # the msgids are the English text
_ = gettext_
_l = lazy_gettext


# Formatting: durations, relative times and dates as a person reads them in the selected language.

Length = Literal["long", "short", "narrow"]
_LIST_STYLE: dict[Length, Literal["unit", "unit-short", "unit-narrow"]] = {
    "long": "unit", "short": "unit-short", "narrow": "unit-narrow"}
_UNITS = (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))


def duration(value: timedelta, *, parts: int = 2, length: Length = "long") -> str:
    """'2 hours, 30 minutes' / '2 jam, 30 menit': the `parts` largest units from the first
    that fits, rounded to the last of them; Babel's format_timedelta alone says 2h30m is 3 hours."""
    seconds = abs(round(value.total_seconds()))
    start = next((i for i, (_, size) in enumerate(_UNITS) if seconds >= size), len(_UNITS) - 1)
    chosen = _UNITS[start:start + parts]
    smallest = chosen[-1][1]
    seconds = round(seconds / smallest) * smallest
    loc = locale()
    shown: list[str] = []
    for unit, size in chosen:
        count, seconds = divmod(seconds, size)
        if count:
            shown.append(units.format_unit(count, f"duration-{unit}", length=length, locale=loc))
    if not shown:
        return units.format_unit(0, f"duration-{chosen[-1][0]}", length=length, locale=loc)
    return lists.format_list(shown, style=_LIST_STYLE[length], locale=loc)


def relative(delta: timedelta) -> str:
    """'in 2 hours, 30 minutes' / 'dalam 2 jam, 30 menit', or '... ago' / '... yang lalu' when past.
    Babel's format_timedelta(add_direction=True) would say 'in 3 hours' for the same delta."""
    template = _("in {duration}") if delta >= timedelta(0) else _("{duration} ago")
    return template.format(duration=duration(delta))


def moment(value: datetime, tz: tzinfo, day: str | None = "yMMMEd", hour: str = "Hm") -> str:
    """`value` in `tz` by CLDR skeletons for the day and the time, so each language orders and
    spells it its own way: 'Sat, Dec 5, 2026, 15:00' / 'Sab, 5 Des 2026 15.00'; `day=None` for
    the time alone, 'EHm' for 'Sat 15:00' / 'Sab 15.00'."""
    loc = locale()
    clock = dates.format_skeleton(hour, value, tzinfo=tz, locale=loc)
    if day is None:
        return clock
    calendar = dates.format_skeleton(day, value, tzinfo=tz, locale=loc)
    return str(loc.datetime_formats["medium"]).replace("{1}", calendar).replace("{0}", clock)


def decimal(value: float, digits: int = 1) -> str:
    """'4.7' / '4,7'."""
    return numbers.format_decimal(round(value, digits), format="#,##0." + "0" * digits, locale=locale())
