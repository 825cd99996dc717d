"""Who is on call now and next for every schedule and follow-the-sun group, in
each person's local time, the time to each hand-off, a 24-hour coverage strip
per region, the overrides in force, "I'll take this shift" (`t`) and cancelling an
override (`c`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Static

from console import overrides
from console.i18n import _, _l

from ..model import Lane
from ..services import oncall
from ..widgets.coverage import Coverage
from .base import ConsoleScreen
from .modals import ChoiceScreen, ConfirmScreen


def rota_table(rotas: list[oncall.Rota], me: str | None) -> Table:
    table = Table(expand=True, box=None, padding=(0, 1), header_style="bold")
    table.add_column(_("SCHEDULE"), no_wrap=True, ratio=2)
    table.add_column(_("NOW"), ratio=3)
    table.add_column(_("NEXT"), ratio=3)
    table.add_column(_("IN"), no_wrap=True, width=7)
    for r in rotas:
        def people(ps: list[oncall.Person]) -> Text:
            text = Text()
            for i, p in enumerate(ps):
                if i:
                    text.append(", ")
                text.append(p.name, style="bold reverse" if p.id == me else "bold")
                text.append(f" {p.local.rsplit(' ', 1)[0]}" if p.local else "", style="dim")
            return text if ps else Text(_("NOBODY"), style="bold reverse")
        name = Text(r.id)
        if r.region:
            name.append(f" ({r.region}→{r.next_region})", style="dim")
        table.add_row(name, people(r.now), people(r.next), r.handoff_in)
    return table


def until(at: datetime) -> str:
    """An end of shift as the dialogs say it: 'Tue 09:00' in UTC."""
    return oncall.weekday_time(at.astimezone(UTC))


class OnCallScreen(ConsoleScreen):
    """Refreshed once a minute: hand-offs move on minutes, not seconds."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("t", "take", _l("Take a shift"), id="oncall.take"),
        Binding("c", "cancel_override", _l("Cancel an override"), id="oncall.cancel"),
    ]
    DEFAULT_CSS = """
    OnCallScreen #oncall { height: 1fr; padding: 0 1; }
    OnCallScreen .section { text-style: bold; color: $accent; margin-top: 1; }
    OnCallScreen #overrides { color: $text-muted; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.shown_minute: datetime | None = None

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="oncall"):
            yield Static(id="rotas")
            yield Static(_("Overrides (t: I'll take this shift, c: cancel one)"), classes="section")
            yield Static(id="overrides")
            yield Static(_("Next 24 hours, by region (hours are local)"), classes="section")
            yield Coverage(id="coverage")

    def reload(self) -> None:
        ps, now = self.ctx.policies, self.ctx.clock.now()
        if ps is None:
            self.query_one("#rotas", Static).update(
                Text(_("no policy set loaded: see the Policies screen (6)"), style="bold"))
            self.query_one(Coverage).show([])
            return
        self.shown_minute = now.replace(second=0, microsecond=0)
        log = self.ctx.overrides

        def work() -> tuple[list[oncall.Rota], list[str], list[Lane]]:
            shifts = log()
            return (oncall.rotas(ps, now, shifts), oncall.override_lines(ps, log.active, now),
                    oncall.lanes(ps, now))

        self.background("oncall-load", work, self.show)

    def show(self, data: tuple[list[oncall.Rota], list[str], list[Lane]]) -> None:
        rotas, lines, lanes = data
        self.query_one("#rotas", Static).update(rota_table(rotas, self.ctx.me.person))
        self.query_one("#overrides", Static).update(
            Text("\n".join(lines) if lines else _("none"), no_wrap=True, overflow="ellipsis"))
        self.query_one(Coverage).show(lanes)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (action in ("take", "cancel_override") and self.ctx.readonly)

    def action_take(self) -> None:
        """Pick a schedule, confirm, and record an override putting me on call for
        it from now until its people next change."""
        ctx = self.ctx
        ps, me, now = ctx.policies, ctx.me, ctx.clock.now()
        if ps is None or me.person is None:
            self.notify(_("Taking a shift needs a policy set that knows you ({actor})")
                        .format(actor=ctx.actor), severity="error", markup=False)
            return
        shifts = [s for s in oncall.takeable(ps, me, now, ctx.overrides.shifts) if not s.mine]
        if not shifts:
            self.notify(_("No shift to take: you are on call for every schedule"),
                        severity="warning")
            return
        by_id = {s.schedule: s for s in shifts}

        def label(s: oncall.Takeable) -> str:
            who = ", ".join(ps.people[p].name if p in ps.people else p for p in s.now)
            return _("{schedule}  now {who}, until {until}Z").format(
                schedule=s.schedule, who=who or _("nobody"), until=until(s.until))

        def chosen(sid: str | None) -> None:
            if sid is None:
                return
            shift = by_id[sid]
            question = _("Take {schedule} from now until {until}Z? You will be paged "
                         "for it.").format(schedule=sid, until=until(shift.until))
            self.app.push_screen(ConfirmScreen(question),
                                 lambda yes: self._take(shift, now) if yes else None)

        self.app.push_screen(ChoiceScreen(_("I'll take this shift"),
                                          [(s.schedule, label(s)) for s in shifts]), chosen)

    def _take(self, shift: oncall.Takeable, now: datetime) -> None:
        ctx = self.ctx
        store, ps, actor, person, log = ctx.store, ctx.policies, ctx.actor, ctx.me.person, ctx.overrides
        assert ps is not None and person is not None

        def work() -> overrides.Override:
            made = overrides.take(store, ps, actor, shift.schedule, now, shift.until, person)
            log.refresh()
            return made

        def done(made: overrides.Override) -> None:
            self.notify(_("You are on call for {schedule} until {until}Z")
                        .format(schedule=made.schedule, until=until(made.end)), markup=False)
            self.ctx.recheck_duty()
            self.reload()

        self.background("act", work, done)

    def action_cancel_override(self) -> None:
        """Pick an override in force or ahead, confirm, and withdraw it: its schedule
        goes back to its rota, on every console."""
        ctx = self.ctx
        ps, now = ctx.policies, ctx.clock.now()
        active = [o for o in ctx.overrides.active if o.end > now]
        if ps is None or not active:
            self.notify(_("No override to cancel"), severity="warning")
            return
        by_id = {o.id: o for o in active}

        def name(pid: str) -> str:
            return ps.people[pid].name if pid in ps.people else pid

        def chosen(oid: str | None) -> None:
            if oid is None:
                return
            o = by_id[oid]
            question = _("Cancel the override putting {who} on call for {schedule} until "
                         "{until}Z?").format(who=name(o.user), schedule=o.schedule, until=until(o.end))
            self.app.push_screen(ConfirmScreen(question),
                                 lambda yes: self._cancel(o) if yes else None)

        self.app.push_screen(ChoiceScreen(_("Cancel an override"), [
            (o.id, _("{schedule}  {who} until {until}Z, by {by}").format(
                schedule=o.schedule, who=name(o.user), until=until(o.end), by=o.by))
            for o in active]), chosen)

    def _cancel(self, chosen: overrides.Override) -> None:
        store, actor, log = self.ctx.store, self.ctx.actor, self.ctx.overrides

        def work() -> overrides.Override:
            gone = overrides.cancel(store, log, actor, chosen.id)
            log.refresh()
            return gone

        def done(gone: overrides.Override) -> None:
            self.notify(_("Override cancelled: {schedule} is back on its rota")
                        .format(schedule=gone.schedule), markup=False)
            self.ctx.recheck_duty()
            self.reload()

        self.background("act", work, done)

    def tick(self) -> None:
        super().tick()
        minute = self.ctx.clock.now().replace(second=0, microsecond=0)
        if self.shown_minute is not None and minute != self.shown_minute:
            self.reload()
