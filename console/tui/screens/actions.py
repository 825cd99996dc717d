"""The incident actions, shared by the queue and the incident screen: the keys,
the dialogs that ask for what an action needs, confirmation, and recording the
ops in a thread worker. An action applies to the marked incidents when there
are any (queue), else to the current one. A refused action (acknowledging a
resolved incident) comes back as a toast with the domain's own sentence, and
nothing is written for that incident.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from textual.binding import Binding

from console.domain.vocabulary import PRIORITIES, SEVERITIES, STAGES
from console.i18n import _, _l, ngettext

from ..services import actions
from ..services.actions import Decide, Target
from .base import ConsoleScreen
from .modals import ChoiceScreen, ConfirmScreen, PromptScreen, TypeKeyScreen

ACTION_BINDINGS = [
    Binding("a", "ack", _l("Ack"), id="incident.ack"),
    Binding("r", "resolve", _l("Resolve"), id="incident.resolve"),
    Binding("e", "escalate", _l("Escalate"), id="incident.escalate"),
    Binding("n", "note", _l("Note"), id="incident.note"),
    Binding("t", "reassign", _l("Reassign"), show=False, id="incident.reassign"),
    Binding("u", "update", _l("Update"), show=False, id="incident.update"),
    Binding("p", "priority", _l("Priority"), show=False, id="incident.priority"),
    Binding("S", "severity", _l("Severity"), show=False, id="incident.severity"),
    Binding("o", "reopen", _l("Reopen"), show=False, id="incident.reopen"),
]
MUTATING = frozenset(b.action for b in ACTION_BINDINGS)


class IncidentActions(ConsoleScreen):
    """A screen showing one current incident (or a marked set) gets these actions for it."""

    def targets(self) -> list[Target]:
        """The incidents the actions apply to; empty when there are none."""
        raise NotImplementedError

    def acted(self) -> None:
        """An action was recorded: show the store as it is now."""
        self.reload()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (action in MUTATING and self.ctx.readonly)

    def _with_targets(self, run: Callable[[list[Target], str], None]) -> None:
        """`run(targets, what)`: `what` names them in dialogs (`JKT-4`, `12 incidents`)."""
        targets = self.targets()
        if not targets:
            self.notify(_("No incident selected"), severity="warning")
            return
        what = targets[0].key if len(targets) == 1 else ngettext(
            "{n} incident", "{n} incidents", len(targets)).format(n=len(targets))
        run(targets, what)

    def record(self, targets: Sequence[Target], decide: Decide, done: str) -> None:
        """Record the decision on each incident as it stands in the store now."""
        store, actor, keys = self.ctx.store, self.ctx.actor, [t.key for t in targets]

        def finished(outcome: actions.Outcome) -> None:
            if not outcome.refused:
                self.notify(actions.summary(outcome, done), markup=False)
            else:
                self.notify(actions.summary(outcome, done), markup=False, timeout=8,
                            severity="warning" if outcome.done else "error")
            self.acted()

        self.background("act", lambda: actions.act_many(store, keys, actor, decide), finished)

    def _confirmed(self, action: str, verb: str, targets: Sequence[Target],
                   then: Callable[[], None]) -> None:
        """Ask what `actions.checks` says to ask, in turn; any no or wrong key stops it."""
        need = actions.checks(action, verb, targets)

        def type_keys(keys: Sequence[str]) -> None:
            if not keys:
                then()
                return
            self.app.push_screen(TypeKeyScreen(keys[0], verb.lower()),
                                 lambda typed: type_keys(keys[1:]) if typed else None)

        if need.question is not None:
            self.app.push_screen(ConfirmScreen(need.question),
                                 lambda yes: type_keys(need.type_keys) if yes else None)
        else:
            type_keys(need.type_keys)

    def _simple(self, action: str, verb: str, decide: Decide, done: str) -> None:
        self._with_targets(lambda ts, _what: self._confirmed(
            action, verb, ts, lambda: self.record(ts, decide, done)))

    def action_ack(self) -> None:
        self._simple("ack", _("Acknowledge"), actions.ack(), _("acknowledged"))

    def action_resolve(self) -> None:
        self._simple("resolve", _("Resolve"), actions.resolve(), _("resolved"))

    def action_reopen(self) -> None:
        self._simple("reopen", _("Reopen"), actions.reopen(), _("reopened"))

    def action_escalate(self) -> None:
        def run(ts: list[Target], what: str) -> None:
            def ask() -> None:
                self.app.push_screen(
                    PromptScreen(_("Escalate {what}: why?").format(what=what),
                                 _("reason (optional)")),
                    lambda reason: None if reason is None else
                    self.record(ts, actions.escalate(reason), _("escalated")))
            self._confirmed("escalate", _("Escalate"), ts, ask)
        self._with_targets(run)

    def action_note(self) -> None:
        def run(ts: list[Target], what: str) -> None:
            self.app.push_screen(
                PromptScreen(_("Note on {what}").format(what=what),
                             _("what you found, did or decided")),
                lambda text: self._confirmed(
                    "note", _("Note"), ts, lambda: self.record(ts, actions.note(text), _("noted")))
                if text else None)
        self._with_targets(run)

    def action_update(self) -> None:
        def run(ts: list[Target], what: str) -> None:
            def with_stage(stage: str | None) -> None:
                if stage is None:
                    return
                self.app.push_screen(
                    PromptScreen(_("Status update on {what} ({stage})").format(what=what, stage=stage),
                                 _("what is happening now")),
                    lambda text: self._confirmed(
                        "update", _("Update"), ts,
                        lambda: self.record(ts, actions.update(stage, text), _("updated")))
                    if text else None)
            self.app.push_screen(
                ChoiceScreen(_("Stage of {what}").format(what=what), [(s, s) for s in STAGES]),
                with_stage)
        self._with_targets(run)

    def _choose(self, action: str, verb: str, title: str, values: Sequence[str],
                current: Callable[[Target], str | None],
                decide: Callable[[str], Decide], done: Callable[[str], str]) -> None:
        def run(ts: list[Target], what: str) -> None:
            self.app.push_screen(
                ChoiceScreen(title.format(what=what), [(v, v) for v in values], current(ts[0])),
                lambda v: self._confirmed(action, verb, ts,
                                          lambda: self.record(ts, decide(v), done(v)))
                if v else None)
        self._with_targets(run)

    def action_priority(self) -> None:
        self._choose("priority", _("Set the priority of"), _("Priority of {what}"), PRIORITIES,
                     lambda t: t.priority, actions.set_priority,
                     lambda p: _("priority {value}").format(value=p))

    def action_severity(self) -> None:
        self._choose("severity", _("Set the severity of"), _("Severity of {what}"), SEVERITIES,
                     lambda t: t.severity, actions.set_severity,
                     lambda s: _("severity {value}").format(value=s))

    def action_reassign(self) -> None:
        ps = self.ctx.policies
        choices: list[tuple[str, str]] = []
        if ps is not None:
            choices += [(f"team:{t.id}", _("team  {id}  {name}").format(id=t.id, name=t.name))
                        for t in ps.teams.values()]
            choices += [(f"policy:{p.id}", _("policy  {id}  {name}").format(id=p.id, name=p.name))
                        for p in ps.escalation_policies.values()]
            choices += [(f"assignee:{p.id}", _("person  {id}  {name}").format(id=p.id, name=p.name))
                        for p in ps.people.values()]

        def run(ts: list[Target], what: str) -> None:
            title = _("Reassign {what} to").format(what=what)
            if not choices:
                self.app.push_screen(
                    PromptScreen(title, _("team:NAME, policy:NAME or assignee:NAME")),
                    lambda text: self._reassign(ts, text))
                return
            self.app.push_screen(ChoiceScreen(title, choices),
                                 lambda choice: self._reassign(ts, choice))
        self._with_targets(run)

    def _reassign(self, targets: list[Target], choice: str | None) -> None:
        if not choice:
            return
        field, sep, value = choice.partition(":")
        if not sep or field not in ("team", "policy", "assignee") or not value.strip():
            self.notify(_("reassign to team:NAME, policy:NAME or assignee:NAME, not {choice!r}")
                        .format(choice=choice), severity="error", markup=False)
            return
        self._confirmed("reassign", _("Reassign"), targets, lambda: self.record(
            targets, actions.reassign(field, value.strip()),
            _("reassigned to {field} {value}").format(field=field, value=value)))
