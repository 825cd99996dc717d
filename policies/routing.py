"""Routing: an alert in, a decision out (policy, team, priority, urgency, dedup key).

Rules are tried in order.  A matching rule sets the fields it names that no
earlier matching rule has set, then stops the walk unless it says
`continue = true`.  So the first matching rule wins every field it sets, and
`continue` lets later rules fill in the rest (e.g. a VIP rule forces P1 and
continues; the service rule then picks the team and policy).
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, Literal

from .calendars import is_open
from .models import (
    Impact,
    Maintenance,
    Match,
    Priority,
    PriorityMatrixTable,
    RepeatRaise,
    Severity,
    Urgency,
    parse_matcher,
)
from .policyset import PolicySet

ITIL_MATRIX: PriorityMatrixTable = {
    # impact -> urgency -> priority (ITIL's P5 "planning" folds into P4)
    "high": {"high": "P1", "medium": "P2", "low": "P3"},
    "medium": {"high": "P2", "medium": "P3", "low": "P4"},
    "low": {"high": "P3", "medium": "P4", "low": "P4"},
}
SEVERITY_IMPACT: dict[str, Impact] = {"sev1": "high", "sev2": "high", "sev3": "medium", "sev4": "low"}
SEVERITY_URGENCY: dict[str, Impact] = {
    "sev1": "high", "sev2": "medium", "sev3": "medium", "sev4": "low",
}
_SEV_RANK = {"sev1": 1, "sev2": 2, "sev3": 3, "sev4": 4}
DEDUP_MAX = 255


@dataclass(frozen=True, slots=True)
class Alert:
    """An incoming alert, reduced to what routing needs."""

    service: str
    severity: Severity = "sev3"
    summary: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    source: str = ""


@dataclass(frozen=True, slots=True)
class RouteDecision:
    """How an alert is handled. Its `dedup_key` is derived from the alert when first
    read: ingest of an event that names its own key never reads it, so never hashes."""

    policy: str | None
    team: str | None
    priority: Priority
    severity: Severity
    urgency: Urgency
    # What the dedup key is derived from: the alert, and the matching route's template
    # or else the identifying labels (None: all of them).
    _alert: Alert = field(repr=False, hash=False)
    _template: str | None = field(default=None, repr=False)
    _identifying: Sequence[str] | None = field(default=None, repr=False, hash=False)
    suppressed_by_maintenance: str | None = None
    maintenance_mode: Literal["record_only", "drop"] | None = None
    matched: tuple[str, ...] = ()
    raised_by_repeat: bool = False
    _dedup_key: str | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def dedup_key(self) -> str:
        key = self._dedup_key
        if key is None:
            key = (render_dedup(self._template, self._alert) if self._template
                   else fingerprint(self._alert, self._identifying))
            object.__setattr__(self, "_dedup_key", key)
        return key


def priority(
    impact: Impact, urgency: Impact, matrix: PriorityMatrixTable | None = None
) -> Priority:
    """Impact x urgency -> P1..P4 (ITIL's matrix unless the policy set gives one)."""
    m = matrix or ITIL_MATRIX
    try:
        return m[impact][urgency]
    except KeyError:
        return ITIL_MATRIX[impact][urgency]


# --- matching ---------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


@dataclass(frozen=True, slots=True)
class _Compiled:
    services: re.Pattern[str] | None
    source: re.Pattern[str] | None
    labels: tuple[tuple[str, str, str, re.Pattern[str] | None], ...]
    severities: frozenset[str]
    text: re.Pattern[str] | None


def _globs(patterns: Sequence[str]) -> re.Pattern[str] | None:
    if not patterns:
        return None
    return re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns))


Compiled = tuple[tuple[str, str, str, re.Pattern[str] | None], ...]


@lru_cache(maxsize=4096)
def compile_matchers(matchers: tuple[str, ...]) -> Compiled:
    """Parse 'name=value' / '!=' / '=~' / '!~' matchers once."""
    out = []
    for m in matchers:
        name, op, value = parse_matcher(m)
        rx = re.compile(f"(?:{value})\\Z") if op in ("=~", "!~") else None
        out.append((name, op, value, rx))
    return tuple(out)


def _compiled(match: Match) -> _Compiled:
    c: _Compiled | None = match._compiled
    if c is None:
        c = _Compiled(
            services=_globs(match.services()),
            source=_globs([match.source] if match.source else []),
            labels=compile_matchers(tuple(match.labels)),
            severities=frozenset(match.severity),
            text=_regex(match.text) if match.text else None,
        )
        match._compiled = c
    return c


def labels_match(
    matchers: Iterable[tuple[str, str, str, re.Pattern[str] | None]], labels: Mapping[str, str]
) -> bool:
    """Alertmanager semantics: a missing label is the empty string."""
    for name, op, value, rx in matchers:
        got = labels.get(name, "")
        if op == "=":
            ok = got == value
        elif op == "!=":
            ok = got != value
        else:
            assert rx is not None
            ok = (rx.match(got) is not None) == (op == "=~")
        if not ok:
            return False
    return True


def matches(match: Match, alert: Alert) -> bool:
    return _matches(_compiled(match), alert)


def _matches(c: _Compiled, alert: Alert) -> bool:
    if c.services is not None and not c.services.match(alert.service):
        return False
    if c.severities and alert.severity not in c.severities:
        return False
    if c.source is not None and not c.source.match(alert.source):
        return False
    if c.labels and not labels_match(c.labels, alert.labels):
        return False
    return not (c.text is not None and not c.text.search(alert.summary))


# --- maintenance ------------------------------------------------------------------------


def maintenance_applies(
    window: Maintenance, service: str, labels: Mapping[str, str], at: datetime
) -> bool:
    """Whether a window covers this service/labels at `at` (services OR'd, labels AND'd)."""
    if not (window.start <= at < window.end):
        return False
    if window.services and not any(fnmatch.fnmatchcase(service, p) for p in window.services):
        return False
    return labels_match(compile_matchers(tuple(window.labels)), labels)


def active_maintenance(
    ps: PolicySet, service: str, labels: Mapping[str, str], at: datetime
) -> Maintenance | None:
    for w in ps.maintenance.values():
        if maintenance_applies(w, service, labels, at):
            return w
    return None


# --- dedup ------------------------------------------------------------------------------------


class _Labels(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


def fingerprint(alert: Alert, identifying: Sequence[str] | None = None) -> str:
    """Default dedup key: a hash of the service and the identifying labels (never summary alone)."""
    labels = alert.labels
    if identifying is not None:
        labels = {k: labels[k] for k in identifying if k in labels}
    if labels:
        basis = "\x00".join([alert.service, *(f"{k}={labels[k]}" for k in sorted(labels))])
    else:
        basis = "\x00".join([alert.service, alert.source, alert.summary])
    return "fp-" + hashlib.sha256(basis.encode()).hexdigest()[:24]


class _Fields(dict[str, Any]):
    """A dedup template's fields; the fingerprint (a hash) only if the template names it."""

    def __init__(self, alert: Alert) -> None:
        super().__init__(service=alert.service, severity=alert.severity, source=alert.source,
                         summary=alert.summary, labels=_Labels(alert.labels))
        self.alert = alert

    def __missing__(self, key: str) -> str:
        if key != "fingerprint":
            raise KeyError(key)
        return fingerprint(self.alert)


def render_dedup(template: str, alert: Alert) -> str:
    """Fill a dedup template: {service} {severity} {source} {summary} {labels[name]} {fingerprint}."""
    return string.Formatter().vformat(template, (), _Fields(alert))[:DEDUP_MAX]


# --- the decision ------------------------------------------------------------------------------


def route(
    alert: Alert,
    policy_set: PolicySet,
    now: datetime,
    history: Sequence[datetime] = (),
) -> RouteDecision:
    """Decide how an alert is handled.

    `history` holds the arrival times of earlier alerts with the same dedup key;
    a rule's `repeat` raises severity when enough of them fall in its window.
    """
    got: dict[str, Any] = {}
    matched: list[str] = []
    raised = False
    severity: Severity = alert.severity
    for name, compiled, sets, cont, repeat in _table(policy_set):
        if not _matches(compiled, alert):
            continue
        matched.append(name)
        for key, value in sets:
            if key not in got:
                got[key] = value
        if repeat is not None:
            since = now - repeat.window
            count = 1 + sum(1 for t in history if since < t <= now)
            target = repeat.raise_to
            if count >= repeat.count and _SEV_RANK[target] < _SEV_RANK[severity]:
                severity = target
                raised = True
        if not cont:
            break
    if "severity" in got and not raised:
        severity = got["severity"]
    defaults = policy_set.defaults
    team: str | None = got.get("team", defaults.team)
    policy: str | None = got.get("policy")
    if policy is None and team is not None and team in policy_set.teams:
        policy = policy_set.teams[team].escalation_policy
    if policy is None:
        policy = defaults.escalation_policy
    prio: Priority | None = got.get("priority")
    if prio is None:
        impact: Impact = got.get("impact", SEVERITY_IMPACT[severity])
        prio = priority(impact, SEVERITY_URGENCY[severity], policy_set.priority_matrix)
    urgency = _urgency(got.get("urgency", defaults.urgency), policy, policy_set, now)
    window = active_maintenance(policy_set, alert.service, alert.labels, now)
    return RouteDecision(
        policy=policy,
        team=team,
        priority=prio,
        severity=severity,
        urgency=urgency,
        _alert=alert,
        _template=got.get("dedup_key"),
        _identifying=defaults.dedup_labels,
        suppressed_by_maintenance=window.id if window else None,
        maintenance_mode=window.mode if window else None,
        matched=tuple(matched),
        raised_by_repeat=raised,
    )


_Row = tuple[str, _Compiled, tuple[tuple[str, Any], ...], bool, RepeatRaise | None]


def _table(ps: PolicySet) -> list[_Row]:
    """The routes compiled once per policy set (pydantic attribute access is slow)."""
    cached = ps._route_table
    if cached is not None and cached[0] is ps.routes and cached[1] == len(ps.routes):
        rows: list[_Row] = cached[2]
        return rows
    rows = [
        (
            r.name,
            _compiled(r.match),
            tuple((k, v) for k, v in r.set_ if v is not None),
            r.continue_,
            r.repeat,
        )
        for r in ps.routes
    ]
    ps._route_table = (ps.routes, len(ps.routes), rows)
    return rows


def _urgency(value: str, policy: str | None, ps: PolicySet, now: datetime) -> Urgency:
    if value == "high":
        return "high"
    if value == "low":
        return "low"
    pol = ps.escalation_policies.get(policy) if policy else None
    cal = ps.calendars.get(pol.support_hours) if pol and pol.support_hours else None
    if cal is None:
        return "high"
    return "high" if is_open(cal, now) else "low"
