"""Follow-the-sun: regions hand over at their local start times, never a gap."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta

from policies import PolicySet, duties, group_on_call
from policies.followthesun import out_of_hours
from policies.models import FollowTheSun
from policies.timeutil import zone


def test_examples_cover_every_hour_of_every_day_for_a_year(examples: PolicySet) -> None:
    group = examples.follow_the_sun["sre"]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    end = datetime(2027, 1, 1, tzinfo=UTC)
    ds = duties(group, start, end)
    assert ds[0].start == start and ds[-1].end == end
    for a, b in itertools.pairwise(ds):
        assert a.end == b.start and a.region != b.region
    # every hour of every day has someone on call (schedules included)
    t = start
    while t < end:
        assert group_on_call(group, examples.schedules, t).people, t
        t += timedelta(hours=1)


def test_handoffs_follow_each_regions_local_clock(examples: PolicySet) -> None:
    group = examples.follow_the_sun["sre"]
    starts = {"jakarta": ("Asia/Jakarta", time(8)), "berlin": ("Europe/Berlin", time(10)),
              "new-york": ("America/New_York", time(12))}
    for d in duties(group, datetime(2026, 1, 2, tzinfo=UTC), datetime(2026, 12, 30, tzinfo=UTC))[1:]:
        tz, local = starts[d.region]
        assert d.start.astimezone(zone(tz)).time() == local
    # Between the US and EU spring changes (2026-03-08 .. 03-29) Berlin's day is an hour shorter.
    mismatch = [d for d in duties(group, datetime(2026, 3, 16, tzinfo=UTC),
                                  datetime(2026, 3, 17, tzinfo=UTC)) if d.region == "berlin"]
    assert mismatch[0].end - mismatch[0].start == timedelta(hours=7)
    assert out_of_hours(group, datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)) == []


def test_group_answers_now_and_next_handoff(examples: PolicySet) -> None:
    group = examples.follow_the_sun["sre"]
    at = datetime(2026, 12, 5, 20, 0, tzinfo=UTC)  # 15:00 in New York
    g = group_on_call(group, examples.schedules, at)
    assert g.region == "new-york"
    assert g.people == ("maria",)
    assert g.handoff_at == datetime(2026, 12, 6, 1, 0, tzinfo=UTC)  # 08:00 Jakarta
    assert g.next_region == "jakarta"


def test_out_of_hours_reported_when_dst_stretches_a_region() -> None:
    group = FollowTheSun(id="g", regions=[
        {"name": "berlin", "time_zone": "Europe/Berlin", "schedule": "x",
         "working_hours": {"from": "09:00", "to": "17:00"}},
        {"name": "ny", "time_zone": "America/New_York", "schedule": "y",
         "working_hours": {"from": "11:00", "to": "03:00"}},
    ])
    # In winter and summer New York hands over at 03:00 its time (09:00 Berlin).
    # Between the US change (Mar 8) and the EU change (Mar 29) Berlin's 09:00
    # is 04:00 in New York: New York holds the pager an hour past its hours,
    # every morning of those three weeks (and likewise Oct 25 .. Oct 31).
    spans = out_of_hours(group, datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
    assert {r for r, _ in spans} == {"ny"}
    assert all(e - s == 3600.0 for _, (s, e) in spans)
    ny = zone("America/New_York")
    days = sorted({datetime.fromtimestamp(s, ny).date() for _, (s, _) in spans})
    assert days[0] == date(2026, 3, 8) and days[-1] == date(2026, 10, 31)
    assert len(days) == 21 + 7
    assert date(2026, 3, 29) not in days and date(2026, 11, 1) not in days
