"""What an accepted event does: route it (pure), then record it through group commit.

Everything that can refuse a request (validation, an unknown key, the rate
limit, a drop window) happens before anything is queued for writing, so a
refused request never changes state.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from console.domain import commands
from console.domain.commands import IllegalTransition
from console.domain.vocabulary import VocabularyError
from console.domain.vocabulary import severity as parse_severity
from console.engine import queries
from console.engine.incidents import open_or_repeat
from console.engine.metrics import Counter, Metrics
from console.ingest.commit import GroupCommitter
from console.ingest.models import PD_SEVERITY, AmAlert, AmWebhook, HeartbeatPing, PdEvent
from console.store.store import Store, Writes
from console.store.tables import Heartbeat
from policies import Alert, Integration, PolicySet, fingerprint, parse_duration, route

HEARTBEATS = Heartbeat.__table__  # type: ignore[attr-defined]
MAX_LABELS = 64
MAX_LABEL_VALUE = 512
HEARTBEAT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,199}$")
MIN_INTERVAL = timedelta(seconds=10)
MAX_INTERVAL = timedelta(days=31)
AM_SEVERITY = {"critical": "sev1", "page": "sev1", "error": "sev2", "high": "sev2",
               "warning": "sev3", "medium": "sev3", "info": "sev4", "low": "sev4", "none": "sev4"}


class Refused(Exception):
    """A request that is well-formed JSON but cannot be accepted; nothing was written."""

    def __init__(self, status: int, kind: str, message: str, errors: Sequence[str] = (),
                 retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.message = message
        self.errors = list(errors)
        self.retry_after = retry_after


class RateLimiter:
    """A token bucket per integration: a minute's allowance, refilled continuously."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}

    def allow(self, key: str, per_minute: int | None) -> int | None:
        """None when allowed, else the seconds to wait before a token is free."""
        if per_minute is None:
            return None
        now = self.clock()
        rate = per_minute / 60.0
        with self._lock:
            tokens, last = self._buckets.get(key, (float(per_minute), now))
            tokens = min(float(per_minute), tokens + (now - last) * rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                return max(1, int((1.0 - tokens) / rate + 0.999))
            self._buckets[key] = (tokens - 1.0, now)
            return None


class RepeatHistory:
    """Recent arrival times per dedup key, for routes that raise severity on repeats."""

    def __init__(self, keys: int = 10_000, per_key: int = 64, keep: timedelta = timedelta(hours=2)) -> None:
        self.keys = keys
        self.per_key = per_key
        self.keep = keep
        self._lock = threading.Lock()
        self._times: OrderedDict[str, deque[datetime]] = OrderedDict()

    def seen(self, key: str, now: datetime) -> tuple[datetime, ...]:
        """The earlier arrivals, then record this one. Arrivals are kept in the order they
        came, so those older than `keep` are dropped from the front, not filtered out of all."""
        with self._lock:
            times = self._times.pop(key, None)
            earlier: tuple[datetime, ...] = ()
            if times is None:
                times = deque(maxlen=self.per_key)
            else:
                horizon = now - self.keep
                while times and times[0] < horizon:
                    times.popleft()
                earlier = tuple(times)
            times.append(now)
            self._times[key] = times
            while len(self._times) > self.keys:
                self._times.popitem(last=False)
            return earlier


@dataclass(frozen=True, slots=True)
class Outcome:
    key: str | None
    created: bool


class IngestService:
    def __init__(
        self, store: Store, policy_set: Callable[[], PolicySet], committer: GroupCommitter, *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC), metrics: Metrics | None = None,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.store = store
        self.policy_set = policy_set
        self.committer = committer
        self.clock = clock
        self.metrics = metrics or Metrics()
        self.limiter = limiter or RateLimiter()
        self.history = RepeatHistory()
        self._counters: dict[tuple[str, str, str], Counter] = {}

    def _count(self, source: str, action: str, outcome: str) -> None:
        counter = self._counters.get((source, action, outcome))
        if counter is None:
            counter = self._counters[source, action, outcome] = self.metrics.counter(
                "sunrelay_ingest_events_total", source=source, action=action, outcome=outcome)
        counter.inc()

    def integration(self, key: str, *, status: int, source: str) -> Integration:
        found = self.policy_set().integration(key)
        if found is None:
            self._count(source, "any", "unknown_key")
            raise Refused(status, "unknown routing key" if status == 401 else "not found",
                          "no integration has this key: add it to the policies' [[integrations]]")
        wait = self.limiter.allow(found.key, found.rate_limit_per_minute)
        if wait is not None:
            self._count(source, "any", "throttled")
            raise Refused(429, "throttle event",
                          f"integration {found.name or found.service} allows "
                          f"{found.rate_limit_per_minute} events a minute; retry later",
                          retry_after=wait)
        return found

    # -- PagerDuty Events API v2 -------------------------------------------------------

    async def pagerduty(self, event: PdEvent) -> str:
        integ = self.integration(event.routing_key, status=401, source="events_v2")
        now = self.clock()
        actor = f"events-v2:{integ.service}"
        if event.event_action == "trigger":
            assert event.payload is not None
            p = event.payload
            labels = _labels({"source": p.source, "component": p.component, "group": p.group,
                              "class": p.class_},
                             p.custom_details if isinstance(p.custom_details, dict) else {})
            alert = Alert(service=integ.service, severity=PD_SEVERITY[p.severity],  # type: ignore[arg-type]
                          summary=p.summary, labels=labels, source=p.source)
            dedup, decision = self._route(alert, event.dedup_key, now)
            if decision.maintenance_mode == "drop":
                self._count("events_v2", "trigger", "dropped")
                return dedup
            details = _pd_details(event)
            await self.committer.submit(lambda w: open_or_repeat(
                w, actor, alert=alert, decision=decision, dedup_key=dedup, now=now, details=details))
            self._count("events_v2", "trigger", "accepted")
            return dedup
        assert event.dedup_key is not None
        dedup = event.dedup_key
        decide = commands.ack if event.event_action == "acknowledge" else commands.resolve
        await self.committer.submit(lambda w: _act_by_dedup(w, dedup, actor, decide))
        self._count("events_v2", event.event_action, "accepted")
        return dedup

    def _route(self, alert: Alert, dedup: str | None, now: datetime) -> tuple[str, Any]:
        """The dedup key and the decision, with the key's earlier arrivals: routed once
        when the event names its key, twice when routing must name it first."""
        ps = self.policy_set()
        if dedup is None:
            decision = route(alert, ps, now)
            dedup = decision.dedup_key
            history = self.history.seen(dedup, now)
            return dedup, route(alert, ps, now, history) if history else decision
        return dedup, route(alert, ps, now, self.history.seen(dedup, now))

    # -- Alertmanager webhook v4 ---------------------------------------------------------------

    async def alertmanager(self, key: str, hook: AmWebhook) -> tuple[list[str], list[str]]:
        integ = self.integration(key, status=404, source="alertmanager")
        now = self.clock()
        actor = f"alertmanager:{integ.service}"
        firing: list[tuple[Alert, Any, str, str | None]] = []
        resolved: list[str] = []
        for a in hook.alerts:
            alert = _am_alert(a, hook, integ.service)
            dedup = f"am-{a.fingerprint}" if a.fingerprint else fingerprint(alert)
            if a.status == "resolved":
                resolved.append(dedup)
                continue
            _, decision = self._route(alert, dedup, now)
            if decision.maintenance_mode == "drop":
                continue
            details = a.annotations.get("description") or hook.commonAnnotations.get("description")
            firing.append((alert, decision, dedup, details))

        def work(w: Writes) -> tuple[list[str], list[str]]:
            opened = [open_or_repeat(w, actor, alert=alert, decision=decision, dedup_key=dedup,
                                     now=now, details=details).state.key
                      for alert, decision, dedup, details in firing]
            closed = [k for k in (_act_by_dedup(w, d, actor, commands.resolve) for d in resolved) if k]
            return opened, closed

        result = await self.committer.submit(work)
        if firing:
            self._count("alertmanager", "firing", "accepted")
        if resolved:
            self._count("alertmanager", "resolved", "accepted")
        return result

    # -- heartbeats ----------------------------------------------------------------------------

    async def heartbeat(self, name: str, ping: HeartbeatPing) -> tuple[int, datetime, str | None]:
        if not HEARTBEAT_NAME.match(name):
            raise Refused(400, "invalid event", "a heartbeat name is 1-200 letters, digits, '_', '.' or '-'")
        integ = self.integration(ping.routing_key, status=401, source="heartbeat")
        interval: int | None = None
        if ping.interval is not None:
            try:
                span = parse_duration(ping.interval)
            except ValueError as exc:
                raise Refused(400, "invalid event", f"interval: {exc}") from None
            if not MIN_INTERVAL <= span <= MAX_INTERVAL:
                raise Refused(400, "invalid event", "interval must be between 10s and 31d")
            interval = int(span.total_seconds())
        now = self.clock()

        def work(w: Writes) -> tuple[int, datetime, str | None]:
            row = w.conn.execute(HEARTBEATS.select().where(HEARTBEATS.c.name == name)).first()
            if row is not None and row.routing_key != integ.key:
                raise Refused(409, "conflict", f"heartbeat {name} belongs to another integration")
            every = interval or (row.interval_s if row is not None else None)
            if every is None:
                raise Refused(400, "invalid event", "interval is required on a heartbeat's first ping")
            values = {"routing_key": integ.key, "service": integ.service, "interval_s": every,
                      "severity": ping.severity, "last_ping_at": now,
                      "expires_at": now + timedelta(seconds=every), "incident_id": None}
            closed = None
            if row is None:
                w.conn.execute(HEARTBEATS.insert().values(name=name, **values))
            else:
                w.conn.execute(HEARTBEATS.update().where(HEARTBEATS.c.name == name).values(**values))
                if row.incident_id:
                    closed = _resolve_quietly(w, row.incident_id, f"heartbeat:{name}")
            return every, now + timedelta(seconds=every), closed

        result = await self.committer.submit(work)
        self._count("heartbeat", "ping", "accepted")
        return result


def _act_by_dedup(w: Writes, dedup: str, actor: str, decide: Any) -> str | None:
    """Acknowledge or resolve the open incident with this dedup key; a no-op if none (as PagerDuty)."""
    incident_id = queries.open_by_dedup(w.conn, dedup)
    if incident_id is None:
        return None
    try:
        return w.act(incident_id, actor, decide).key
    except IllegalTransition:  # already acknowledged: the event changes nothing
        return None


def _resolve_quietly(w: Writes, incident_id: str, actor: str) -> str | None:
    try:
        return w.act(incident_id, actor, commands.resolve).key
    except IllegalTransition:
        return None


# What a label value may be (a tuple: isinstance takes it faster than a union).
_SCALARS = (str, int, float, bool)


def _labels(fixed: dict[str, str | None], extra: dict[str, Any]) -> dict[str, str]:
    labels = {k: v[:MAX_LABEL_VALUE] for k, v in fixed.items() if v}
    for k, v in extra.items():
        if len(labels) >= MAX_LABELS:
            break
        if isinstance(v, _SCALARS) and k not in labels:
            labels[str(k)[:100]] = str(v)[:MAX_LABEL_VALUE]
    return labels


def _all_labels(details: dict[str, Any] | str) -> bool:
    """Flat details already became labels: a note repeating them would only cost a write."""
    return isinstance(details, dict) and len(details) <= MAX_LABELS - 4 and all(
        isinstance(v, _SCALARS) and len(str(v)) <= MAX_LABEL_VALUE for v in details.values())


def _pd_details(event: PdEvent) -> str | None:
    parts: list[str] = []
    p = event.payload
    if p is not None and p.custom_details and not _all_labels(p.custom_details):
        details = p.custom_details if isinstance(p.custom_details, str) else json.dumps(
            p.custom_details, ensure_ascii=False, sort_keys=True)
        parts.append(f"details: {details}")
    if event.links:
        parts += [f"link: {link.text + ' ' if link.text else ''}<{link.href}>" for link in event.links]
    if event.images:
        parts += [f"image: {img.alt + ' ' if img.alt else ''}<{img.href or img.src}>" for img in event.images]
    if event.client:
        parts.append(f"from {event.client}" + (f" <{event.client_url}>" if event.client_url else ""))
    return "\n".join(parts) or None


def _am_alert(a: AmAlert, hook: AmWebhook, service: str) -> Alert:
    labels = {**hook.commonLabels, **a.labels}
    raw = labels.get("severity", "").strip().lower()
    sev = AM_SEVERITY.get(raw)
    if sev is None:
        try:
            sev = parse_severity(raw) if raw else "sev3"
        except VocabularyError:
            sev = "sev3"
    summary = (a.annotations.get("summary") or hook.commonAnnotations.get("summary")
               or labels.get("alertname") or "Alertmanager alert")
    return Alert(service=service, severity=sev, summary=summary[:1024],  # type: ignore[arg-type]
                 labels=_labels({}, dict(labels)), source="alertmanager")
