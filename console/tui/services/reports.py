"""The report figures over the last days: incidents opened per day, time to
acknowledge and to resolve (medians), by severity and by service."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, select

from console.store import db
from console.store.tables import Incident

INCIDENTS = Incident.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Report:
    days: list[str]
    opened_per_day: list[int]
    resolved_per_day: list[int]
    mtta_minutes: float | None
    mttr_minutes: float | None
    by_severity: list[tuple[str, int]]
    by_service: list[tuple[str, int]]
    total: int
    open_now: int


def _median_minutes(spans: list[timedelta]) -> float | None:
    if not spans:
        return None
    return statistics.median(s.total_seconds() / 60 for s in spans)


def build(engine: Engine, now: datetime, days: int = 7) -> Report:
    start = (now - timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    cols = INCIDENTS.c
    with db.reading(engine) as conn:
        rows = list(conn.execute(
            select(cols.severity, cols.service, cols.status, cols.created_at,
                   cols.acknowledged_at, cols.resolved_at).where(cols.created_at >= start)))
    labels = [(start + timedelta(days=d)).strftime("%a") for d in range(days)]
    opened = [0] * days
    resolved = [0] * days
    for r in rows:
        opened[min(days - 1, (r.created_at - start).days)] += 1
        if r.resolved_at is not None and r.resolved_at >= start:
            resolved[min(days - 1, (r.resolved_at - start).days)] += 1
    return Report(
        days=labels, opened_per_day=opened, resolved_per_day=resolved,
        mtta_minutes=_median_minutes([r.acknowledged_at - r.created_at for r in rows
                                      if r.acknowledged_at is not None]),
        mttr_minutes=_median_minutes([r.resolved_at - r.created_at for r in rows
                                      if r.resolved_at is not None]),
        by_severity=sorted(Counter(r.severity for r in rows).items()),
        by_service=Counter(r.service for r in rows).most_common(6),
        total=len(rows), open_now=sum(1 for r in rows if r.status != "resolved"),
    )
