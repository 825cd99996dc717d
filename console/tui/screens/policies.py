"""Policies: the loaded set, its problems (kept live by hot reload), and the
simulator of `sunrelay policies simulate` as a form."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Input, Static

import policies
from console.i18n import _, _l, ngettext
from policies.simulate import render as render_simulation
from policies.timeutil import parse_duration

from .base import ConsoleScreen


def simulate(ps: policies.PolicySet, service: str, severity: str, labels: str, ack_after: str,
             now: datetime, tz: str) -> list[str]:
    """The simulator's timeline, or one line saying what is wrong with the form."""
    label_map: dict[str, str] = {}
    for item in labels.replace(",", " ").split():
        k, sep, v = item.partition("=")
        if not sep:
            return [_("label {item!r} is not key=value").format(item=item)]
        label_map[k] = v
    if severity not in ("sev1", "sev2", "sev3", "sev4"):
        return [_("severity {severity!r}: use sev1..sev4").format(severity=severity)]
    try:
        ack = parse_duration(ack_after) if ack_after.strip() else None
    except ValueError as exc:
        return [_("ack after: {problem}").format(problem=exc)]
    alert = policies.Alert(service=service or "unknown", severity=severity,  # type: ignore[arg-type]
                           summary="simulated from the console", labels=label_map,
                           source="console")
    sim = policies.simulate(ps, alert, now, ack_after=ack, horizon=timedelta(hours=6))
    d = sim.decision
    head = _("routed to policy {policy}, team {team}, {priority}, {severity}, urgency {urgency}").format(
        policy=d.policy, team=d.team, priority=d.priority, severity=d.severity, urgency=d.urgency)
    return [head, *render_simulation(sim, tz)]


class PoliciesScreen(ConsoleScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+r", "simulate", _l("Simulate"), id="policies.simulate")]
    DEFAULT_CSS = """
    PoliciesScreen #policies { height: 1fr; padding: 0 1; }
    PoliciesScreen .section { text-style: bold; color: $accent; margin-top: 1; }
    PoliciesScreen Horizontal { height: auto; }
    PoliciesScreen Input { width: 1fr; }
    PoliciesScreen #sim-service { width: 2fr; }
    PoliciesScreen Label { padding: 1 1 0 0; }
    """

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="policies"):
            yield Static(id="summary")
            yield Static(id="problems")
            yield Static(_("Simulator (ctrl+r or enter runs it)"), classes="section")
            with Horizontal():
                yield Input(placeholder=_("service, e.g. checkout"), id="sim-service")
                yield Input(value="sev2", placeholder="sev1..sev4", id="sim-severity")
            with Horizontal():
                yield Input(placeholder=_("labels k=v,k=v"), id="sim-labels")
                yield Input(placeholder=_("ack after, e.g. 20m"), id="sim-ack")
                yield Button(_("Simulate"), id="sim-run")
            yield Static(id="sim-output")

    def reload(self) -> None:
        ctx = self.ctx
        ps = ctx.policies
        summary = Text()
        if ps is None:
            summary.append(_("No policy set in force"), style="bold reverse")
            summary.append("\n" + _("Directory: {path}").format(path=ctx.policy_dir or _("none")))
        else:
            summary.append(f"{ps.source_dir}\n", style="bold")
            counts = (
                ngettext("{n} person", "{n} people", len(ps.people)),
                ngettext("{n} team", "{n} teams", len(ps.teams)),
                ngettext("{n} schedule", "{n} schedules", len(ps.schedules)),
                ngettext("{n} follow-the-sun", "{n} follow-the-sun", len(ps.follow_the_sun)),
                ngettext("{n} escalation policy", "{n} escalation policies",
                         len(ps.escalation_policies)),
                ngettext("{n} route", "{n} routes", len(ps.routes)),
                ngettext("{n} SLA target", "{n} SLA targets", len(ps.sla)))
            sizes = (len(ps.people), len(ps.teams), len(ps.schedules), len(ps.follow_the_sun),
                     len(ps.escalation_policies), len(ps.routes), len(ps.sla))
            summary.append(" · ".join(c.format(n=n) for c, n in zip(counts, sizes, strict=True))
                           + "\n" + _("digest {digest} · reloaded on every edit; a broken edit "
                                      "keeps this set").format(digest=ps.digest[:16]))
        self.query_one("#summary", Static).update(summary)
        problems = Text()
        if not ctx.problems:
            problems.append(_("No problems"), style="dim")
        for p in ctx.problems:
            problems.append(f"{p}\n", style="bold" if p.severity == "error" else "")
        self.query_one("#problems", Static).update(problems)

    @on(Input.Submitted)
    @on(Button.Pressed, "#sim-run")
    def action_simulate(self) -> None:
        ps = self.ctx.policies
        if ps is None:
            self.query_one("#sim-output", Static).update(_("no policy set loaded"))

            return
        service, severity, labels, ack = (self.query_one(f"#sim-{name}", Input).value.strip()
                                          for name in ("service", "severity", "labels", "ack"))
        now, tz = self.ctx.clock.now(), self.ctx.me.time_zone or "UTC"
        self.background("simulate",
                        lambda: simulate(ps, service, severity, labels, ack, now, tz),
                        lambda lines: self.query_one("#sim-output", Static).update(
                            Text("\n".join(lines), no_wrap=True, overflow="ellipsis")))
