"""On-call overrides made from the console ("I'll take this shift") as ops.

An override is its own entity in the op log (a uuid7), so it syncs to every
peer like an incident or a handoff does: `override_take` says who covers a
schedule from when to when, `override_cancel` withdraws it. Folding them is
order-free (an override is active when its take is held and no cancel is),
so every console holding the same ops sees the same overrides.

They need no table: `OverrideLog` reads the op log past a per-site cursor,
only the ops that are new since its last look, and keeps the fold in memory.
A look when nothing arrived costs one read of the version vector, so the
engine may ask on every cycle; the first look scans the log once.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, bindparam, literal, select

from console.domain.vocabulary import OverrideKind
from console.i18n import _, ngettext
from console.store import db
from console.store.projection import ms_to_dt
from console.store.store import Store
from policies import PolicySet, ShiftOverride
from sync import oplog
from sync.oplog import Draft, Prepared, op_from_row
from sync.ops import Op
from sync.tables import OpLogRow

OPS = OpLogRow.__table__  # type: ignore[attr-defined]
KINDS = sorted(k.value for k in OverrideKind)
# Kinds as constants, not an expanding list, so the statement is compiled once (`Prepared`).
_NEW = Prepared(select(OPS).where(
    OPS.c.site == bindparam("b_site"), OPS.c.seq > bindparam("b_after"), OPS.c.seq <= bindparam("b_upto"),
    OPS.c.kind.in_([literal(kind) for kind in KINDS])).order_by(OPS.c.seq))


class OverrideError(ValueError):
    """The override makes no sense (unknown schedule or person, an empty span); nothing was recorded."""


@dataclass(frozen=True, slots=True)
class Override:
    """One override as recorded: `user` covers `schedule` over [start, end), in place
    of `replaces` only (None: whoever is on call, and any gap)."""

    id: str
    schedule: str
    start: datetime
    end: datetime
    user: str
    replaces: str | None
    by: str  # who recorded it
    site: str

    @property
    def shift(self) -> ShiftOverride:
        return ShiftOverride(self.schedule, self.start, self.end, self.user, self.replaces)


def _override(op: Op) -> Override:
    p = op.payload
    replaces = p.get("replaces")
    return Override(op.entity, str(p["schedule"]), ms_to_dt(int(p["start_ms"])),
                    ms_to_dt(int(p["end_ms"])), str(p["user"]),
                    None if replaces is None else str(replaces), op.actor, op.site)


class OverrideLog:
    """The overrides of one store, folded from its op log and kept up to date on
    each look. Safe to share between threads (the engine's and the console's)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._lock = threading.Lock()
        self._cursor: dict[str, int] = {}
        self._taken: dict[str, Override] = {}
        self._cancelled: set[str] = set()
        self._active: tuple[Override, ...] = ()
        self._shifts: tuple[ShiftOverride, ...] = ()

    def _take_in(self, ops: Iterable[Op]) -> None:
        for op in ops:
            if op.kind == OverrideKind.TAKE:
                self._taken.setdefault(op.entity, _override(op))
            elif op.kind == OverrideKind.CANCEL:
                self._cancelled.add(op.entity)
        active = [o for e, o in self._taken.items() if e not in self._cancelled]
        self._active = tuple(sorted(active, key=lambda o: (o.start, o.schedule, o.id)))
        self._shifts = tuple(o.shift for o in self._active)

    def refresh(self) -> bool:
        """Fold in the override ops recorded or received since the last look (blocking);
        True when there were any."""
        with self._lock, db.reading(self.engine) as conn:
            upto = oplog.version_vector(conn)
            if upto == self._cursor:
                return False
            new = [op_from_row(row) for site, seq in upto.items()
                   if seq > self._cursor.get(site, 0)
                   for row in _NEW.rows(conn, {"b_site": site, "b_after": self._cursor.get(site, 0),
                                               "b_upto": seq})]
            self._take_in(new)
            self._cursor = upto
            return bool(new)

    def __call__(self) -> Sequence[ShiftOverride]:
        """The active overrides as the policy functions take them (the engine's
        `overrides`): looks for new ones first."""
        self.refresh()
        return self._shifts

    @property
    def active(self) -> tuple[Override, ...]:
        """As of the last look, without touching the store (for the UI thread)."""
        return self._active

    @property
    def shifts(self) -> tuple[ShiftOverride, ...]:
        """`active` as `ShiftOverride`s, without touching the store."""
        return self._shifts


def take(store: Store, ps: PolicySet, actor: str, schedule: str, start: datetime, end: datetime,
         user: str, replaces: str | None = None) -> Override:
    """Record that `user` covers `schedule` over [start, end)."""
    if schedule not in ps.schedules:
        raise OverrideError(_("no schedule {schedule!r} in the policies: {known}").format(
            schedule=schedule, known=", ".join(sorted(ps.schedules)) or _("none")))
    for who in (user, replaces):
        if who is not None and who not in ps.people:
            raise OverrideError(_("no person {who!r} in the policies").format(who=who))
    if end <= start:
        raise OverrideError(_("the override ends ({end:%Y-%m-%d %H:%M}Z) before it starts "
                              "({start:%Y-%m-%d %H:%M}Z)").format(end=end, start=start))
    payload = {"schedule": schedule, "start_ms": round(start.timestamp() * 1000),
               "end_ms": round(end.timestamp() * 1000), "user": user, "replaces": replaces}
    with store.writing() as w:
        op = store.log.append(w.conn, Draft(actor, oplog.new_op_id(), OverrideKind.TAKE.value, payload))
    return _override(op)


def cancel(store: Store, log: OverrideLog, actor: str, ref: str) -> Override:
    """Withdraw an active override, by id or the end of it (`list` shows the last 8)."""
    log.refresh()
    wanted = ref.strip().lower()
    found = [o for o in log.active if wanted and o.id.endswith(wanted)]
    if len(found) != 1:
        raise OverrideError(ngettext("{ref!r} matches {n} active override",
                                     "{ref!r} matches {n} active overrides", len(found))
                            .format(ref=ref, n=len(found))
                            + (_(": give more of the id") if found else ""))
    with store.writing() as w:
        store.log.append(w.conn, Draft(actor, found[0].id, OverrideKind.CANCEL.value, {}))
    return found[0]
