"""iCalendar export of a schedule's final shifts (for calendar subscriptions)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime

from icalendar import Calendar, Event

from .i18n import _
from .policyset import PolicySet
from .schedule import ShiftOverride, shifts


def schedule_ics(
    ps: PolicySet,
    schedule_id: str,
    start: datetime,
    end: datetime,
    overrides: Iterable[ShiftOverride] = (),
) -> bytes:
    """One VEVENT per stretch of the final schedule, in UTC; stable UIDs per shift."""
    sched = ps.schedules[schedule_id]
    cal = Calendar()
    cal.add("prodid", "-//Sunrelay//policies//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", _("On call: {schedule}").format(schedule=sched.name or sched.id))
    cal.add("x-wr-timezone", sched.time_zone)
    for shift in shifts(sched, start, end, overrides):
        names = [ps.people[p].name if p in ps.people else p for p in shift.people]
        ev = Event()
        uid = hashlib.sha256(
            f"{sched.id}|{shift.start.isoformat()}|{'+'.join(shift.people)}".encode()
        ).hexdigest()[:32]
        ev.add("uid", f"{uid}@sunrelay")
        ev.add("dtstamp", start)
        ev.add("dtstart", shift.start)
        ev.add("dtend", shift.end)
        ev.add("summary", _("On call ({schedule}): {people}").format(
            schedule=sched.id, people=", ".join(names)))
        ev.add("description", _("Schedule {schedule} in {zone}").format(
            schedule=sched.id, zone=sched.time_zone))
        cal.add_component(ev)
    data: bytes = cal.to_ical()
    return data
