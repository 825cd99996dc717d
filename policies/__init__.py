"""Sunrelay policy as code: TOML policies in, pure decisions out.

Imports nothing else of Sunrelay.  Every function that needs the time takes
`now` (or `at`) as an argument.
"""

from __future__ import annotations

from .calendars import is_holiday
from .check import check, static_problems
from .escalation import (
    Action,
    DueResult,
    Escalate,
    Exhausted,
    IncidentView,
    Page,
    RaiseUrgency,
    RetriggerStaleAck,
    SlaBreach,
    SlaWarning,
    UpdateReminder,
    due,
    pages_for,
    resolve_target,
)
from .followthesun import GroupOnCall, duties, group_on_call
from .loader import load
from .models import (
    Calendar,
    EscalationPolicy,
    FollowTheSun,
    Integration,
    Maintenance,
    Person,
    Route,
    Schedule,
    SlaTarget,
    Team,
)
from .policyset import PolicySet
from .problems import PolicyError, Problem
from .routing import Alert, RouteDecision, fingerprint, priority, route
from .schedule import Shift, ShiftOverride, gaps, next_change, on_call, shifts
from .simulate import Simulation, simulate
from .sla import SlaClock, sla_clock
from .timeutil import localize, parse_duration, parse_instant
from .watch import ReloadResult, awatch, reload, watch

__all__ = [
    "Action",
    "Alert",
    "Calendar",
    "DueResult",
    "Escalate",
    "EscalationPolicy",
    "Exhausted",
    "FollowTheSun",
    "GroupOnCall",
    "IncidentView",
    "Integration",
    "Maintenance",
    "Page",
    "Person",
    "PolicyError",
    "PolicySet",
    "Problem",
    "RaiseUrgency",
    "ReloadResult",
    "RetriggerStaleAck",
    "Route",
    "RouteDecision",
    "Schedule",
    "Shift",
    "ShiftOverride",
    "Simulation",
    "SlaBreach",
    "SlaClock",
    "SlaTarget",
    "SlaWarning",
    "Team",
    "UpdateReminder",
    "awatch",
    "check",
    "due",
    "duties",
    "fingerprint",
    "gaps",
    "group_on_call",
    "is_holiday",
    "load",
    "localize",
    "next_change",
    "on_call",
    "pages_for",
    "parse_duration",
    "parse_instant",
    "priority",
    "reload",
    "resolve_target",
    "route",
    "shifts",
    "simulate",
    "sla_clock",
    "static_problems",
    "watch",
]
