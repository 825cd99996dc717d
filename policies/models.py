"""The policy language as pydantic models: one class per TOML table.

Field names (or their aliases) are the TOML keys, so a validation error's
location is the key path in the file.  Models validate only what a single
object can know; references between objects are checked in `check.py`.
"""

from __future__ import annotations

import fnmatch
import re
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)

from .i18n import _
from .timeutil import UTC, parse_clock, parse_duration, parse_instant, zone

Severity = Literal["sev1", "sev2", "sev3", "sev4"]
Priority = Literal["P1", "P2", "P3", "P4"]
Urgency = Literal["high", "low"]
Impact = Literal["high", "medium", "low"]
Channel = Literal["console", "email", "webhook", "slack", "command"]
TargetKind = Literal["person", "schedule", "team", "follow_the_sun", "policy"]

SEVERITIES: tuple[Severity, ...] = ("sev1", "sev2", "sev3", "sev4")
DayName = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[DayName, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
_MATCHER_RE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_.\-]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$")


def _duration(v: Any) -> Any:
    return parse_duration(v) if isinstance(v, str) else v


def _clock(v: Any) -> Any:
    return parse_clock(v) if isinstance(v, (str, time)) else v


def _tz(v: str) -> str:
    zone(v)
    return v


def _ident(v: str) -> str:
    if not _ID_RE.match(v):
        raise ValueError(_("bad id {id!r}: use letters, digits, '_', '.', '-'").format(id=v))
    return v


def _instant(v: Any) -> Any:
    """Accept a TOML offset datetime or a string with an offset or a zone name."""
    if isinstance(v, str):
        return parse_instant(v)
    if isinstance(v, datetime):
        if v.tzinfo is None:
            raise ValueError(_("give an offset (2026-12-06T03:00:00+07:00) or a zone name"))
        return v.astimezone(UTC)
    return v


def _weekday(v: Any) -> Any:
    if isinstance(v, str):
        key = v.strip().lower()[:3]
        if key not in WEEKDAYS:
            raise ValueError(_("bad day {day!r}: use mon..sun").format(day=v))
        return key
    return v


def _regex(v: str) -> str:
    try:
        re.compile(v)
    except re.error as exc:
        raise ValueError(_("bad regular expression {regex!r}: {error}").format(regex=v, error=exc)) from exc
    return v


def _bad_matcher(text: str) -> str:
    return _("bad label matcher {matcher!r}: use name=value, !=, =~ or !~").format(matcher=text)


def _matcher(v: str) -> str:
    m = _MATCHER_RE.match(v)
    if not m:
        raise ValueError(_bad_matcher(v))
    if m.group(2) in ("=~", "!~"):
        _regex(m.group(3))
    return v


def _target(v: str) -> str:
    kind, sep, ident = v.partition(":")
    kind = {"fts": "follow_the_sun", "user": "person"}.get(kind, kind)
    if not sep or kind not in ("person", "schedule", "team", "follow_the_sun", "policy"):
        raise ValueError(
            _("bad target {target!r}: use person:ID, schedule:ID, team:ID, follow_the_sun:ID or policy:ID")
            .format(target=v))
    _ident(ident)
    return f"{kind}:{ident}"


Duration = Annotated[timedelta, BeforeValidator(_duration)]
Clock = Annotated[time, BeforeValidator(_clock)]
TimeZone = Annotated[str, AfterValidator(_tz)]
Ident = Annotated[str, AfterValidator(_ident)]
Instant = Annotated[datetime, BeforeValidator(_instant)]
Weekday = Annotated[DayName, BeforeValidator(_weekday)]
Regex = Annotated[str, AfterValidator(_regex)]
Matcher = Annotated[str, AfterValidator(_matcher)]
Target = Annotated[str, AfterValidator(_target)]


def parse_matcher(text: str) -> tuple[str, str, str]:
    """Split 'name=~value' into (name, op, value)."""
    m = _MATCHER_RE.match(text)
    if not m:
        raise ValueError(_bad_matcher(text))
    return m.group(1), m.group(2), m.group(3).strip('"')


def _not_url(value: str) -> str:
    return _("not an http(s) URL: {value!r}").format(value=value)


def _not_email(value: str) -> str:
    return _("not an email address: {value!r}").format(value=value)


class Model(BaseModel):
    """Base: unknown keys are errors (typos must not be silently ignored)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


# --- people and teams -------------------------------------------------------


class Contacts(Model):
    email: str | None = None
    webhook: str | None = None
    slack: str | None = None
    command: str | None = None

    @field_validator("webhook", "slack")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^https?://\S+$", v):
            raise ValueError(_not_url(v))
        return v

    @field_validator("email")
    @classmethod
    def _email(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^[^@\s]+@[^@\s]+$", v):
            raise ValueError(_not_email(v))
        return v


class NotificationRule(Model):
    model_config = ConfigDict(frozen=True)  # people without rules of their own share _AT_ONCE's

    channel: Channel
    after: Duration = timedelta(0)


# The rules of a person without explicit ones, each at once: built once, not for every page.
_AT_ONCE: dict[Channel, NotificationRule] = {
    ch: NotificationRule(channel=ch) for ch in ("console", "email", "webhook", "slack", "command")}


class NotificationRules(Model):
    high: list[NotificationRule] | None = None
    low: list[NotificationRule] | None = None


class Person(Model):
    id: Ident
    name: str
    time_zone: TimeZone
    logins: list[str] = []
    contacts: Contacts = Contacts()
    notify: NotificationRules = NotificationRules()

    def rules_for(self, urgency: Urgency) -> list[NotificationRule]:
        """Rules for an urgency; by default high reaches every contact at once, low the console."""
        explicit = self.notify.high if urgency == "high" else self.notify.low
        if explicit is not None:
            return explicit
        rules = [_AT_ONCE["console"]]
        if urgency == "high":
            c = self.contacts
            channels: tuple[Channel, ...] = ("email", "webhook", "slack", "command")
            for ch in channels:
                if getattr(c, ch):
                    rules.append(_AT_ONCE[ch])
        return rules

    def address(self, channel: Channel) -> str | None:
        """Where a channel delivers for this person (console: the person id)."""
        if channel == "console":
            return self.id
        value: str | None = getattr(self.contacts, channel)
        return value


class Team(Model):
    id: Ident
    name: str = ""
    members: list[Ident] = []
    lead: Ident | None = None
    escalation_policy: Ident | None = None


# --- calendars and holidays -------------------------------------------------


class HolidaySpec(Model):
    """Public holidays of one country (the `holidays` package) plus explicit dates."""

    country: str | None = None
    subdivision: str | None = None
    dates: list[date] = []

    @model_validator(mode="after")
    def _known_country(self) -> HolidaySpec:
        if self.country is not None:
            import holidays

            try:
                holidays.country_holidays(self.country, subdiv=self.subdivision, years=2026)
            except (NotImplementedError, KeyError) as exc:
                raise ValueError(_("unknown holiday calendar {country!r}/{subdivision!r}").format(
                    country=self.country, subdivision=self.subdivision)) from exc
        return self


class Window(Model):
    """Days of the week and a time-of-day span; `to` <= `from` wraps past midnight."""

    days: list[Weekday] = list(WEEKDAYS)
    start: Clock = Field(alias="from")
    end: Clock = Field(alias="to")


class Calendar(Model):
    """Business hours: weekly windows in a zone, minus holidays."""

    id: Ident
    time_zone: TimeZone
    hours: list[Window]
    holidays: HolidaySpec | None = None


# --- schedules ----------------------------------------------------------------


class Layer(Model):
    name: str = ""
    rotation: Literal["hourly", "daily", "weekly", "custom"]
    length: int = Field(default=1, ge=1)
    shift_length: Duration | None = None
    start: date | datetime
    handoff: Clock = time(0)
    end: date | datetime | None = None
    members: list[Ident] = Field(min_length=1)
    restrictions: list[Window] = []
    holidays: Literal["ignore", "skip", "only"] = "ignore"

    @model_validator(mode="after")
    def _shape(self) -> Layer:
        if self.rotation == "custom":
            if self.shift_length is None or self.shift_length < timedelta(minutes=1):
                raise ValueError(_("a custom rotation needs shift_length of at least 1m"))
        elif self.shift_length is not None:
            raise ValueError(_("shift_length is only for rotation = 'custom' (use length)"))
        for name in ("start", "end"):
            v = getattr(self, name)
            if isinstance(v, datetime) and v.tzinfo is not None:
                raise ValueError(_("{key} is a local date/time in the schedule's zone: no offset")
                                 .format(key=name))
        return self

    def turn(self) -> timedelta:
        """The nominal wall-clock length of one shift."""
        if self.rotation == "custom":
            assert self.shift_length is not None
            return self.shift_length
        unit = {"hourly": timedelta(hours=1), "daily": timedelta(days=1),
                "weekly": timedelta(days=7)}[self.rotation]
        return unit * self.length

    def anchor(self) -> datetime:
        """The local wall time of the first hand-off."""
        if isinstance(self.start, datetime):
            return self.start
        return datetime.combine(self.start, self.handoff)

    def until(self) -> datetime | None:
        if self.end is None:
            return None
        if isinstance(self.end, datetime):
            return self.end
        return datetime.combine(self.end, self.handoff)


class Override(Model):
    """Replace someone (or, without `replaces`, everyone) by `user` for a span."""

    start: Instant
    end: Instant
    user: Ident
    replaces: Ident | None = None

    @model_validator(mode="after")
    def _order(self) -> Override:
        if self.end <= self.start:
            raise ValueError(_("end must be after start"))
        return self


class FixedShift(Model):
    start: Instant
    end: Instant
    people: list[Ident] = Field(min_length=1)


class TemporarySchedule(Model):
    """A fixed list of shifts that replaces every layer for [start, end)."""

    start: Instant
    end: Instant
    shifts: list[FixedShift] = []

    @model_validator(mode="after")
    def _inside(self) -> TemporarySchedule:
        if self.end <= self.start:
            raise ValueError(_("end must be after start"))
        for s in self.shifts:
            if s.start < self.start or s.end > self.end or s.end <= s.start:
                raise ValueError(_("each shift must lie inside the temporary schedule's span"))
        return self


class Schedule(Model):
    id: Ident
    name: str = ""
    time_zone: TimeZone
    holidays: HolidaySpec | None = None
    layers: list[Layer] = []
    overrides: list[Override] = []
    temporary: list[TemporarySchedule] = []
    # Memoised final-schedule chunks (see schedule.py); not part of the content.
    _timeline: Any = PrivateAttr(default=None)


# --- follow the sun -------------------------------------------------------------


class Region(Model):
    name: Ident
    time_zone: TimeZone
    working_hours: Window
    schedule: Ident


class FollowTheSun(Model):
    id: Ident
    name: str = ""
    regions: list[Region] = Field(min_length=1)

    @field_validator("regions")
    @classmethod
    def _unique(cls, v: list[Region]) -> list[Region]:
        names = [r.name for r in v]
        if len(set(names)) != len(names):
            raise ValueError(_("region names must be unique"))
        return v


# --- escalation -------------------------------------------------------------------


class Level(Model):
    targets: list[Target] = Field(min_length=1)
    delay: Duration | dict[str, Duration] = timedelta(minutes=15)
    condition: Literal["not_acknowledged", "not_resolved"] = "not_acknowledged"

    @field_validator("delay")
    @classmethod
    def _keys(cls, v: timedelta | dict[str, timedelta]) -> timedelta | dict[str, timedelta]:
        if isinstance(v, dict):
            bad = set(v) - {*SEVERITIES, "default"}
            if bad:
                raise ValueError(_("delay keys are sev1..sev4 or default, not {keys}")
                                 .format(keys=sorted(bad)))
            if "default" not in v and set(v) != set(SEVERITIES):
                raise ValueError(_("give a default delay or one for every severity"))
        return v

    def delay_for(self, severity: str) -> timedelta:
        if isinstance(self.delay, dict):
            return self.delay.get(severity, self.delay.get("default", timedelta(0)))
        return self.delay

    def parsed_targets(self) -> list[tuple[str, str]]:
        return [(t.split(":", 1)[0], t.split(":", 1)[1]) for t in self.targets]


class EscalationPolicy(Model):
    id: Ident
    name: str = ""
    levels: list[Level] = Field(min_length=1)
    repeat: int = Field(default=0, ge=0, le=20)
    repeat_from_level: int = Field(default=1, ge=1)
    on_exhausted: Literal["stop", "keep_last", "fallback"] = "stop"
    fallback: Ident | None = None
    skip_empty_levels: bool = False
    ack_timeout: Duration | None = None
    support_hours: Ident | None = None

    @model_validator(mode="after")
    def _consistent(self) -> EscalationPolicy:
        if self.repeat_from_level > len(self.levels):
            raise ValueError(_("repeat_from_level {level} > number of levels {count}").format(
                level=self.repeat_from_level, count=len(self.levels)))
        if (self.on_exhausted == "fallback") != (self.fallback is not None):
            raise ValueError(_("set fallback exactly when on_exhausted = 'fallback'"))
        if self.on_exhausted == "keep_last":
            last = self.levels[-1]
            if any(last.delay_for(s) <= timedelta(0) for s in SEVERITIES):
                raise ValueError(_("keep_last needs a positive delay on the last level"))
        if self.ack_timeout is not None and self.ack_timeout <= timedelta(0):
            raise ValueError(_("ack_timeout must be positive"))
        return self


# --- routing ------------------------------------------------------------------------


class Match(Model):
    service: str | list[str] | None = None
    source: str | None = None
    labels: list[Matcher] = []
    severity: list[Severity] = []
    text: Regex | None = None

    # Compiled matchers (see routing.py); not part of the content.
    _compiled: Any = PrivateAttr(default=None)

    def services(self) -> list[str]:
        if self.service is None:
            return []
        return [self.service] if isinstance(self.service, str) else list(self.service)


class RouteSet(Model):
    policy: Ident | None = None
    team: Ident | None = None
    priority: Priority | None = None
    impact: Impact | None = None
    severity: Severity | None = None
    urgency: Literal["high", "low", "support_hours"] | None = None
    dedup_key: str | None = None


class RepeatRaise(Model):
    """Metadata-based escalation: `count` alerts within `window` raise severity."""

    count: int = Field(ge=2)
    window: Duration
    raise_to: Severity


class Route(Model):
    name: str
    match: Match = Match()
    set_: RouteSet = Field(default=RouteSet(), alias="set")
    continue_: bool = Field(default=False, alias="continue")
    repeat: RepeatRaise | None = None


# --- priorities and SLAs ----------------------------------------------------------------


class SlaTarget(Model):
    priority: Priority
    ack: Duration | None = None
    resolve: Duration | None = None
    update_interval: Duration | None = None
    warn_at: float = Field(default=0.8, gt=0, lt=1)
    calendar: Ident | None = None
    pause_states: list[str] = []


class Maintenance(Model):
    id: Ident
    reason: str = ""
    services: list[str] = []
    labels: list[Matcher] = []
    start: Instant
    end: Instant
    mode: Literal["record_only", "drop"] = "record_only"

    @model_validator(mode="after")
    def _sane(self) -> Maintenance:
        if self.end <= self.start:
            raise ValueError(_("end must be after start"))
        if not self.services and not self.labels:
            raise ValueError(_("a maintenance window needs services or labels"))
        return self


class Integration(Model):
    key: str = Field(min_length=8)
    service: str
    name: str = ""
    rate_limit_per_minute: int | None = Field(default=None, ge=1)


class StakeholderChannel(Model):
    """One place stakeholder updates go: a Slack-style webhook, a webhook, an address, a command."""

    channel: Literal["email", "webhook", "slack", "command"]
    address: str = Field(min_length=1)

    @model_validator(mode="after")
    def _address(self) -> StakeholderChannel:
        if self.channel in ("webhook", "slack") and not re.match(r"^https?://\S+$", self.address):
            raise ValueError(_not_url(self.address))
        if self.channel == "email" and not re.match(r"^[^@\s]+@[^@\s]+$", self.address):
            raise ValueError(_not_email(self.address))
        return self


class Stakeholders(Model):
    """Who hears the status updates of the incidents that match (every given key must match)."""

    id: Ident
    name: str = ""
    teams: list[Ident] = []
    services: list[str] = []
    priorities: list[Priority] = []
    channels: list[StakeholderChannel] = Field(min_length=1)

    def matches(self, team: str | None, service: str, priority: str | None) -> bool:
        return (
            (not self.teams or team in self.teams)
            and (not self.services or any(fnmatch.fnmatchcase(service, g) for g in self.services))
            and (not self.priorities or priority in self.priorities)
        )


class HandoffRules(Model):
    """Follow-the-sun handoffs of one group: when the draft appears, how long the
    incoming region has to acknowledge, and whom to page when it does not."""

    group: Ident
    draft_before: Duration = timedelta(minutes=30)
    ack_timeout: Duration = timedelta(minutes=30)
    leads: dict[str, Ident] = {}

    @field_validator("draft_before", "ack_timeout")
    @classmethod
    def _positive(cls, v: timedelta) -> timedelta:
        if v <= timedelta(0):
            raise ValueError(_("must be positive"))
        return v


class Defaults(Model):
    escalation_policy: Ident | None = None
    team: Ident | None = None
    urgency: Literal["high", "low", "support_hours"] = "high"
    dedup_labels: list[str] | None = None


PriorityMatrixTable = dict[Impact, dict[Impact, Priority]]


class PolicyFile(Model):
    """Everything one TOML file may hold; a directory's files are merged."""

    people: list[Person] = []
    teams: list[Team] = []
    schedules: list[Schedule] = []
    follow_the_sun: list[FollowTheSun] = []
    escalation_policies: list[EscalationPolicy] = []
    routes: list[Route] = []
    priority_matrix: PriorityMatrixTable | None = None
    sla: list[SlaTarget] = []
    calendars: list[Calendar] = []
    maintenance: list[Maintenance] = []
    integrations: list[Integration] = []
    defaults: Defaults | None = None
    stakeholders: list[Stakeholders] = []
    handoffs: list[HandoffRules] = []
