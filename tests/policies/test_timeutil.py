from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from policies.timeutil import format_duration, localize, parse_duration, parse_instant, zone

BERLIN = zone("Europe/Berlin")
NY = zone("America/New_York")


def test_ambiguous_wall_time_is_its_first_occurrence() -> None:
    # 2026-10-25 02:30 happens twice in Berlin: first at 00:30 UTC (CEST).
    assert localize(datetime(2026, 10, 25, 2, 30), BERLIN) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    # 2026-11-01 01:30 happens twice in New York: first at 05:30 UTC (EDT).
    assert localize(datetime(2026, 11, 1, 1, 30), NY) == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)


def test_missing_wall_time_is_the_instant_the_clocks_jump() -> None:
    # Berlin jumps 02:00 -> 03:00 on 2026-03-29 at 01:00 UTC.
    jump = datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    for minute in (0, 1, 30, 59):
        assert localize(datetime(2026, 3, 29, 2, minute), BERLIN) == jump
    assert localize(datetime(2026, 3, 29, 3, 0), BERLIN) == jump
    # New York jumps 02:00 -> 03:00 on 2026-03-08 at 07:00 UTC.
    assert localize(datetime(2026, 3, 8, 2, 30), NY) == datetime(2026, 3, 8, 7, 0, tzinfo=UTC)


def test_localize_is_monotonic_across_changes() -> None:
    for tz, day in ((BERLIN, datetime(2026, 3, 29)), (BERLIN, datetime(2026, 10, 25)),
                    (NY, datetime(2026, 3, 8)), (NY, datetime(2026, 11, 1))):
        prev = None
        for m in range(0, 24 * 60, 5):
            got = localize(day + timedelta(minutes=m), tz)
            if prev is not None:
                assert got >= prev
            prev = got


def test_durations_round_trip() -> None:
    assert parse_duration("1h30m") == timedelta(minutes=90)
    assert parse_duration("2d") == timedelta(days=2)
    assert parse_duration("0") == timedelta(0)
    assert format_duration(timedelta(minutes=90)) == "1h30m"
    for bad in ("", "5", "5x", "m5", "1h 3"):
        with pytest.raises(ValueError):
            parse_duration(bad)


def test_parse_instant_with_zone_name() -> None:
    got = parse_instant("2026-12-06 03:00 Asia/Jakarta")
    assert got == datetime(2026, 12, 5, 20, 0, tzinfo=UTC)
    assert parse_instant("2026-12-06T03:00:00+07:00") == got
    with pytest.raises(ValueError):
        parse_instant("2026-12-06 03:00 Mars/Olympus")
