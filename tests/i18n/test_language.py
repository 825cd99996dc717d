"""Choosing the language, and dates and durations as each language says them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from console import i18n


@pytest.fixture
def lang() -> Iterator[None]:
    """Tests choose a language; the process's choice is put back for the tests after them."""
    before = i18n.language()
    yield
    i18n.select(before)


@pytest.mark.parametrize(("environ", "expected"), [
    ({}, "en"),
    ({"LANG": "id_ID.UTF-8"}, "id"),
    ({"LANG": "en_US.UTF-8", "LC_MESSAGES": "id_ID"}, "id"),
    ({"LANG": "id_ID.UTF-8", "LC_ALL": "C"}, "en"),  # C is English, whatever LANG says
    ({"LANG": "id_ID.UTF-8", "LC_ALL": "de_DE.UTF-8"}, "en"),  # LC_ALL decides; we have no German
    ({"LANGUAGE": "fr:id", "LANG": "en_US"}, "id"),  # the first shipped entry of the list
    ({"LANGUAGE": "fr", "LANG": "id_ID"}, "id"),  # nothing shipped in LANGUAGE: the locale decides
    ({"SUNRELAY_LANG": "en", "LANG": "id_ID"}, "en"),
    ({"SUNRELAY_LANG": "id-ID"}, "id"),
])
def test_language_from_the_environment(environ: dict[str, str], expected: str) -> None:
    assert i18n.from_environment(environ) == expected


def test_an_unknown_language_is_refused_and_changes_nothing(lang: None) -> None:
    i18n.select("id")
    with pytest.raises(i18n.UnknownLanguage):
        i18n.select("xx")
    assert i18n.language() == "id"


def test_lazy_strings_follow_the_language_chosen_after_them(lang: None) -> None:
    later = i18n.lazy_gettext("Root cause")
    i18n.select("en")
    assert str(later) == "Root cause"
    i18n.select("id")
    assert str(later) == "Akar masalah" and f"## {later}" == "## Akar masalah"


@pytest.mark.parametrize(("code", "two_hours", "mixed", "ahead", "ago", "short"), [
    ("en", "2 hours", "1 day, 18 hours", "in 2 hours, 30 minutes", "5 minutes ago", "2 hr, 5 min"),
    ("id", "2 jam", "1 hari, 18 jam", "dalam 2 jam, 30 menit", "5 menit yang lalu", "2 j, 5 mnt"),
])
def test_durations_read_naturally(lang: None, code: str, two_hours: str, mixed: str, ahead: str,
                                  ago: str, short: str) -> None:
    i18n.select(code)
    assert i18n.duration(timedelta(hours=2)) == two_hours
    assert i18n.duration(timedelta(hours=2, minutes=5), length="short") == short  # narrow columns
    assert i18n.duration(timedelta(days=1, hours=18, minutes=4)) == mixed  # two units, the rest rounded
    assert i18n.relative(timedelta(hours=2, minutes=30)) == ahead
    assert i18n.relative(-timedelta(minutes=5)) == ago


def test_a_duration_rounds_into_the_larger_unit(lang: None) -> None:
    i18n.select("en")
    assert i18n.duration(timedelta(hours=1, minutes=59, seconds=40)) == "2 hours"
    assert i18n.duration(timedelta(0)) == "0 seconds"


@pytest.mark.parametrize(("code", "full", "clock", "number"), [
    ("en", "Sat, Dec 5, 2026, 15:00", "Sat 15:00", "4.7"),
    ("id", "Sab, 5 Des 2026 15.00", "Sab 15.00", "4,7"),
])
def test_dates_and_numbers_read_naturally(lang: None, code: str, full: str, clock: str, number: str) -> None:
    i18n.select(code)
    at = datetime(2026, 12, 5, 20, 0, tzinfo=UTC)
    new_york = ZoneInfo("America/New_York")
    assert i18n.moment(at, new_york) == full
    assert i18n.moment(at, new_york, None, "EHm") == clock
    assert i18n.decimal(4.66) == number
