"""A loaded, merged policy directory with lookups and a content digest."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .models import (
    Calendar,
    Defaults,
    EscalationPolicy,
    FollowTheSun,
    HandoffRules,
    Integration,
    Maintenance,
    Person,
    PriorityMatrixTable,
    Route,
    Schedule,
    SlaTarget,
    Stakeholders,
    Team,
)
from .problems import format_path
from .tomlmap import Key, locate

# The table name of each kind of object and how it is keyed.
KINDS = (
    "people",
    "teams",
    "schedules",
    "follow_the_sun",
    "escalation_policies",
    "calendars",
    "maintenance",
    "integrations",
    "sla",
    "routes",
    "stakeholders",
    "handoffs",
)


@dataclass(frozen=True, slots=True)
class Origin:
    """Where an object was defined: file and the key path of its table."""

    file: str
    path: Key


@dataclass
class PolicySet:
    people: dict[str, Person] = field(default_factory=dict)
    teams: dict[str, Team] = field(default_factory=dict)
    schedules: dict[str, Schedule] = field(default_factory=dict)
    follow_the_sun: dict[str, FollowTheSun] = field(default_factory=dict)
    escalation_policies: dict[str, EscalationPolicy] = field(default_factory=dict)
    routes: list[Route] = field(default_factory=list)
    priority_matrix: PriorityMatrixTable | None = None
    sla: dict[str, SlaTarget] = field(default_factory=dict)
    calendars: dict[str, Calendar] = field(default_factory=dict)
    maintenance: dict[str, Maintenance] = field(default_factory=dict)
    integrations: dict[str, Integration] = field(default_factory=dict)
    defaults: Defaults = field(default_factory=Defaults)
    stakeholders: dict[str, Stakeholders] = field(default_factory=dict)
    handoffs: dict[str, HandoffRules] = field(default_factory=dict)  # by group id
    origins: dict[tuple[str, str], Origin] = field(default_factory=dict)
    line_maps: dict[str, dict[Key, int]] = field(default_factory=dict)
    source_dir: str = ""
    _logins: dict[str, str] = field(default_factory=dict)
    _digest: str | None = None
    # Compiled routing table (routing.py), rebuilt when `routes` is replaced.
    _route_table: Any = None

    def __post_init__(self) -> None:
        self.reindex()

    def reindex(self) -> None:
        """Rebuild derived lookups (after editing the dicts programmatically)."""
        self._logins = {login: p.id for p in self.people.values() for login in p.logins}
        self._digest = None

    # --- lookups ------------------------------------------------------------

    def person_by_login(self, login: str) -> Person | None:
        """Recognise who runs the console from an OS or SSH login name."""
        pid = self._logins.get(login)
        if pid is None:
            return self.people.get(login)
        return self.people[pid]

    def integration(self, routing_key: str) -> Integration | None:
        return self.integrations.get(routing_key)

    def sla_for(self, priority: str | None) -> SlaTarget | None:
        return self.sla.get(priority) if priority is not None else None

    def stakeholders_for(self, team: str | None, service: str,
                         priority: str | None) -> list[Stakeholders]:
        return [s for s in self.stakeholders.values() if s.matches(team, service, priority)]

    def handoff_rules(self, group: str) -> HandoffRules:
        """The group's handoff rules, or the defaults when the set names none."""
        return self.handoffs.get(group) or HandoffRules(group=group)

    def locate(self, kind: str, ident: str, *sub: str | int) -> tuple[str, int | None, str]:
        """(file, line, key path) of an object or one of its keys, for problem reports."""
        origin = self.origins.get((kind, ident))
        if origin is None:
            return (self.source_dir or "<policies>", None, format_path((kind, *sub)))
        path = (*origin.path, *sub)
        line = locate(self.line_maps.get(origin.file, {}), path)
        return origin.file, line, format_path(path)

    # --- identity ------------------------------------------------------------

    @property
    def digest(self) -> str:
        """sha256 of the canonical content, independent of file layout and key order."""
        if self._digest is None:
            self._digest = hashlib.sha256(canonical_json(self).encode()).hexdigest()
        return self._digest


def _dump(items: Iterable[Any]) -> list[Any]:
    return [x.model_dump(mode="json", by_alias=True) for x in items]


def canonical_json(ps: PolicySet) -> str:
    doc = {
        "people": _dump(sorted(ps.people.values(), key=lambda x: x.id)),
        "teams": _dump(sorted(ps.teams.values(), key=lambda x: x.id)),
        "schedules": _dump(sorted(ps.schedules.values(), key=lambda x: x.id)),
        "follow_the_sun": _dump(sorted(ps.follow_the_sun.values(), key=lambda x: x.id)),
        "escalation_policies": _dump(
            sorted(ps.escalation_policies.values(), key=lambda x: x.id)
        ),
        "routes": _dump(ps.routes),
        "priority_matrix": ps.priority_matrix,
        "sla": _dump(sorted(ps.sla.values(), key=lambda x: x.priority)),
        "calendars": _dump(sorted(ps.calendars.values(), key=lambda x: x.id)),
        "maintenance": _dump(sorted(ps.maintenance.values(), key=lambda x: x.id)),
        "integrations": _dump(sorted(ps.integrations.values(), key=lambda x: x.key)),
        "defaults": ps.defaults.model_dump(mode="json"),
    }
    # Tables added later enter the digest only when present, so a set without
    # them keeps the digest older consoles compute for it.
    if ps.stakeholders:
        doc["stakeholders"] = _dump(sorted(ps.stakeholders.values(), key=lambda x: x.id))
    if ps.handoffs:
        doc["handoffs"] = _dump(sorted(ps.handoffs.values(), key=lambda x: x.group))
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
