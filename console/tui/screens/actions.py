"""The incident actions, shared by the queue and the incident screen: the keys,
the dialogs that ask for what an action needs, confirmation, and recording the
op in a thread worker. A refused action (acknowledging a resolved incident)
comes back as a toast with the domain's own sentence, and nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.binding import Binding

from console.domain.vocabulary import PRIORITIES, SEVERITIES, STAGES

from ..services import actions
from ..services.actions import Decide, Target
from .base import ConsoleScreen
from .modals import ChoiceScreen, ConfirmScreen, PromptScreen, TypeKeyScreen

ACTION_BINDINGS = [
    Binding("a", "ack", "Ack", id="incident.ack"),
    Binding("r", "resolve", "Resolve", id="incident.resolve"),
    Binding("e", "escalate", "Escalate", id="incident.escalate"),
    Binding("n", "note", "Note", id="incident.note"),
    Binding("t", "reassign", "Reassign", show=False, id="incident.reassign"),
    Binding("u", "update", "Update", show=False, id="incident.update"),
    Binding("p", "priority", "Priority", show=False, id="incident.priority"),
    Binding("S", "severity", "Severity", show=False, id="incident.severity"),
    Binding("o", "reopen", "Reopen", show=False, id="incident.reopen"),
]
MUTATING = frozenset(b.action for b in ACTION_BINDINGS)


class IncidentActions(ConsoleScreen):
    """A screen showing one current incident gets these actions for it."""

    def target(self) -> Target | None:
        """The incident the actions apply to; None when there is none."""
        raise NotImplementedError

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (action in MUTATING and self.ctx.readonly)

    def _with_target(self, run: Callable[[Target], None]) -> None:
        target = self.target()
        if target is None:
            self.notify("No incident selected", severity="warning")
            return
        run(target)

    def record(self, target: Target, decide: Decide, done: str) -> None:
        """Record the decision on the incident as it stands in the store now."""
        store, actor = self.ctx.store, self.ctx.actor

        def work() -> str:
            store.act(target.key, actor, decide)
            return f"{target.key} {done}"

        def finished(message: str) -> None:
            self.notify(message, markup=False)
            self.reload()

        self.background("act", work, finished)

    def _confirmed(self, action: str, target: Target, question: str,
                   then: Callable[[], None]) -> None:
        need = actions.confirmation(action, target)
        if need == "type-key":
            self.app.push_screen(TypeKeyScreen(target.key, action),
                                 lambda typed: then() if typed else None)
        elif need == "confirm":
            self.app.push_screen(ConfirmScreen(question), lambda yes: then() if yes else None)
        else:
            then()

    def action_ack(self) -> None:
        self._with_target(lambda t: self.record(t, actions.ack(), "acknowledged"))

    def action_resolve(self) -> None:
        def run(t: Target) -> None:
            self._confirmed("resolve", t, f"Resolve {t.key} ({t.priority})?",
                            lambda: self.record(t, actions.resolve(), "resolved"))
        self._with_target(run)

    def action_reopen(self) -> None:
        self._with_target(lambda t: self.record(t, actions.reopen(), "reopened"))

    def action_escalate(self) -> None:
        def run(t: Target) -> None:
            def ask() -> None:
                self.app.push_screen(
                    PromptScreen(f"Escalate {t.key}: why?", "reason (optional)"),
                    lambda reason: None if reason is None else
                    self.record(t, actions.escalate(reason), "escalated"))
            self._confirmed("escalate", t, f"Escalate {t.key}?", ask)
        self._with_target(run)

    def action_note(self) -> None:
        def run(t: Target) -> None:
            self.app.push_screen(
                PromptScreen(f"Note on {t.key}", "what you found, did or decided"),
                lambda text: self.record(t, actions.note(text), "noted") if text else None)
        self._with_target(run)

    def action_update(self) -> None:
        def run(t: Target) -> None:
            def with_stage(stage: str | None) -> None:
                if stage is None:
                    return
                self.app.push_screen(
                    PromptScreen(f"Status update on {t.key} ({stage})", "what is happening now"),
                    lambda text: self.record(t, actions.update(stage, text), "updated")
                    if text else None)
            self.app.push_screen(ChoiceScreen(f"Stage of {t.key}", [(s, s) for s in STAGES]),
                                 with_stage)
        self._with_target(run)

    def action_priority(self) -> None:
        def run(t: Target) -> None:
            self.app.push_screen(
                ChoiceScreen(f"Priority of {t.key}", [(p, p) for p in PRIORITIES], t.priority),
                lambda p: self.record(t, actions.set_priority(p), f"priority {p}") if p else None)
        self._with_target(run)

    def action_severity(self) -> None:
        def run(t: Target) -> None:
            self.app.push_screen(
                ChoiceScreen(f"Severity of {t.key}", [(s, s) for s in SEVERITIES], t.severity),
                lambda s: self.record(t, actions.set_severity(s), f"severity {s}") if s else None)
        self._with_target(run)

    def action_reassign(self) -> None:
        ps = self.ctx.policies
        choices: list[tuple[str, str]] = []
        if ps is not None:
            choices += [(f"team:{t.id}", f"team  {t.id}  {t.name}") for t in ps.teams.values()]
            choices += [(f"policy:{p.id}", f"policy  {p.id}  {p.name}")
                        for p in ps.escalation_policies.values()]
            choices += [(f"assignee:{p.id}", f"person  {p.id}  {p.name}")
                        for p in ps.people.values()]

        def run(t: Target) -> None:
            if not choices:
                self.app.push_screen(
                    PromptScreen(f"Reassign {t.key} to", "team:NAME, policy:NAME or assignee:NAME"),
                    lambda text: self._reassign(t, text))
                return
            self.app.push_screen(ChoiceScreen(f"Reassign {t.key} to", choices),
                                 lambda choice: self._reassign(t, choice))
        self._with_target(run)

    def _reassign(self, target: Target, choice: str | None) -> None:
        if not choice:
            return
        field, sep, value = choice.partition(":")
        if not sep or field not in ("team", "policy", "assignee") or not value.strip():
            self.notify(f"reassign to team:NAME, policy:NAME or assignee:NAME, not {choice!r}",
                        severity="error", markup=False)
            return
        self.record(target, actions.reassign(field, value.strip()), f"reassigned to {field} {value}")
