"""The Reports screen's figures: `console.reports.figures.report` over the op log,
the same numbers `sunrelay report --by severity` prints for the window, and the
incidents opened per day (their triggers) for the sparkline."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from babel import dates
from sqlalchemy import Engine

from console import i18n
from console.domain.fold import wall_ms
from console.domain.vocabulary import Kind
from console.engine.adapter import to_datetime
from console.reports.figures import report
from console.reports.render import render
from console.store import db
from policies import PolicySet
from sync import oplog
from sync.ops import Op

WINDOWS = (timedelta(days=7), timedelta(days=30), timedelta(days=1))


@dataclass(frozen=True, slots=True)
class Report:
    since: datetime
    now: datetime
    figures: dict[str, Any]  # as `report` returns them
    text: str  # the table `sunrelay report --by severity` prints
    days: list[str]
    opened_per_day: list[int]


def build(engine: Engine, ps: PolicySet, now: datetime, window: timedelta) -> Report:
    histories: dict[str, list[Op]] = defaultdict(list)
    with db.reading(engine) as conn:
        for op in oplog.iter_ops_by_entity(conn):
            histories[op.entity].append(op)
    since = now - window
    figures = report(histories, ps, since, now, "severity")
    days = max(1, round(window / timedelta(days=1)))
    start = (now - timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    opened = [0] * days
    for ops in histories.values():
        first = ops[0]
        if first.kind == Kind.TRIGGER:
            at = to_datetime(wall_ms(first.hlc))
            if start <= at < now:
                opened[min(days - 1, (at - start).days)] += 1
    labels = [dates.format_skeleton("MMMd", start + timedelta(days=d), locale=i18n.locale())
              for d in range(days)]

    return Report(since, now, figures, render(figures, "table"), labels, opened)
