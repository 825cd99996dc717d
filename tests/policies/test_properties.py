"""Property tests: gap-free schedules never resolve to nobody; shifts == on_call."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policies import ShiftOverride, on_call, shifts
from policies.models import Layer, Schedule

ZONES = ["Europe/Berlin", "America/New_York", "Asia/Jakarta", "Australia/Lord_Howe", "UTC"]
PEOPLE = ["p1", "p2", "p3", "p4", "p5"]
START = datetime(2026, 1, 1, tzinfo=UTC)
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


@st.composite
def layers(draw: st.DrawFn, restricted: bool) -> Layer:
    kind = draw(st.sampled_from(["hourly", "daily", "weekly", "custom"]))
    extra: dict[str, object] = {}
    if kind == "custom":
        extra["shift_length"] = f"{draw(st.integers(1, 72))}h{draw(st.sampled_from([0, 30]))}m"
    else:
        extra["length"] = draw(st.integers(1, 3))
    if restricted:
        h1, h2 = draw(st.integers(0, 23)), draw(st.integers(0, 23))
        extra["restrictions"] = [{
            "days": draw(st.lists(st.sampled_from(DAYS), min_size=1, max_size=7, unique=True)),
            "from": f"{h1:02d}:{draw(st.sampled_from([0, 30])):02d}", "to": f"{h2:02d}:00",
        }]
    return Layer(
        rotation=kind,
        start=date(2025, 12, 1) + timedelta(days=draw(st.integers(0, 20))),
        handoff=f"{draw(st.integers(0, 23)):02d}:{draw(st.sampled_from([0, 15, 30])):02d}",
        members=draw(st.lists(st.sampled_from(PEOPLE), min_size=1, max_size=4)),
        **extra,
    )


@st.composite
def gap_free_schedules(draw: st.DrawFn) -> tuple[Schedule, list[ShiftOverride]]:
    """A 24/7 base layer under any restricted layers; overrides only replace people."""
    base = draw(layers(restricted=False))
    upper = draw(st.lists(layers(restricted=True), max_size=3))
    sched = Schedule(id="s", time_zone=draw(st.sampled_from(ZONES)), layers=[base, *upper])
    overrides = []
    for _ in range(draw(st.integers(0, 3))):
        s = START + timedelta(minutes=draw(st.integers(0, 60 * 24 * 300)))
        e = s + timedelta(minutes=draw(st.integers(1, 60 * 24 * 5)))
        rep = draw(st.one_of(st.none(), st.sampled_from(PEOPLE)))
        overrides.append(ShiftOverride("s", s, e, draw(st.sampled_from(PEOPLE)), rep))
    return sched, overrides


instants = st.integers(0, 365 * 24 * 3600 - 1).map(lambda s: START + timedelta(seconds=s))
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(gap_free_schedules(), st.lists(instants, min_size=1, max_size=30))
def test_gap_free_schedule_never_resolves_to_nobody(
    case: tuple[Schedule, list[ShiftOverride]], ats: list[datetime]
) -> None:
    sched, overrides = case
    for at in ats:
        assert on_call(sched, at, overrides), at


@FAST
@given(gap_free_schedules(), st.lists(instants, min_size=1, max_size=30), st.booleans())
def test_shifts_agree_with_on_call(
    case: tuple[Schedule, list[ShiftOverride]], ats: list[datetime], restrict_base: bool
) -> None:
    sched, overrides = case
    if restrict_base:  # also with gaps: shifts omit them, on_call says nobody
        sched.layers[0].restrictions = sched.layers[-1].restrictions or sched.layers[0].restrictions
    window_start = min(ats) - timedelta(days=3)
    window_end = max(ats) + timedelta(days=3)
    final = shifts(sched, window_start, window_end, overrides)
    for at in ats:
        covering = [s for s in final if s.start <= at < s.end]
        assert len(covering) <= 1
        expect = covering[0].people if covering else ()
        assert on_call(sched, at, overrides) == expect
