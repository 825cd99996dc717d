"""The incident actions the console offers, as data: which domain command each
key records, what the toast says, and which ones ask before acting; and
recording one decision on many incidents in one transaction.

Confirmation rules: acting on more than one incident asks, saying how many;
resolving a P1 asks; resolving or escalating a high-risk incident (see
`incident.is_high_risk`) needs its key typed, one dialog per such incident.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from console.domain import commands
from console.domain.commands import Change, IllegalTransition
from console.domain.state import IncidentState
from console.domain.vocabulary import VocabularyError
from console.i18n import _, ngettext
from console.store.store import NotFound, Store

Decide = Callable[[IncidentState], Change | Sequence[Change]]
# The reasons recorded when none is given: English in the op, which every console reads
# whatever its language; the timeline translates them when it shows them.
REOPENED = "reopened from the console"
ESCALATED = "escalated from the console"



@dataclass(frozen=True, slots=True)
class Target:
    """The incident an action applies to, as the screen sees it."""

    key: str
    severity: str
    priority: str | None
    high_risk: bool


@dataclass(frozen=True, slots=True)
class Checks:
    """What to ask before `action` goes ahead: a yes/no `question` (None: none),
    then the keys of the high-risk incidents, each to be typed."""

    question: str | None
    type_keys: tuple[str, ...]


def checks(action: str, verb: str, targets: Sequence[Target]) -> Checks:
    """`verb`: the action as the question says it ("Resolve")."""
    risky = tuple(t.key for t in targets if action in ("resolve", "escalate") and t.high_risk)
    p1 = [t.key for t in targets if action == "resolve" and t.priority == "P1"]
    question = None
    if len(targets) > 1:
        question = ngettext("{verb} {n} incident?", "{verb} {n} incidents?", len(targets)).format(
            verb=verb, n=len(targets))
        if p1:
            question += " " + _("P1: {keys}.").format(keys=", ".join(p1))
    elif p1 and not risky:
        question = _("{verb} {key} ({priority})?").format(verb=verb, key=p1[0], priority="P1")
    return Checks(question, risky)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What an action on several incidents did: the keys it was recorded on, and
    those refused with the domain's reason (nothing was written for them)."""

    done: list[str]
    refused: list[tuple[str, str]]


def act_many(store: Store, keys: Sequence[str], actor: str, decide: Decide) -> Outcome:
    """Record `decide` on each incident as it stands, in one transaction; a refusal
    skips that incident only."""
    done: list[str] = []
    refused: list[tuple[str, str]] = []
    with store.writing() as w:
        for key in keys:
            try:
                w.act(key, actor, decide)
            except (IllegalTransition, NotFound, VocabularyError) as exc:
                refused.append((key, str(exc.args[0]) if exc.args else type(exc).__name__))
            else:
                done.append(key)
    return Outcome(done, refused)


def summary(outcome: Outcome, done: str) -> str:
    """The toast: `JKT-4 acknowledged`, or `12 incidents acknowledged; 1 refused: …`."""
    if not outcome.refused and len(outcome.done) == 1:
        return f"{outcome.done[0]} {done}"
    if not outcome.done and len(outcome.refused) == 1:
        return outcome.refused[0][1]
    text = ngettext("{n} incident {done}", "{n} incidents {done}", len(outcome.done)).format(
        n=len(outcome.done), done=done)
    if outcome.refused:
        text += "; " + ngettext("{n} refused", "{n} refused", len(outcome.refused)).format(
            n=len(outcome.refused))
        text += ": " + "; ".join(f"{key}: {why}" for key, why in outcome.refused[:3])
        if len(outcome.refused) > 3:
            text += " …"
    return text


def ack() -> Decide:
    return commands.ack


def resolve() -> Decide:
    return commands.resolve


def reopen() -> Decide:
    return lambda s: commands.reopen(s, REOPENED)


def escalate(reason: str) -> Decide:
    return lambda s: commands.escalate(s, reason or ESCALATED)



def note(text: str) -> Decide:
    return lambda s: commands.note(s, text)


def update(stage: str | None, text: str) -> Decide:
    """A status update: the stage if it changed, and the message as an `update:` note
    (the SLA update clock counts from the last one)."""
    def decide(state: IncidentState) -> list[Change]:
        changes = []
        if stage and stage != state.stage:
            changes.append(commands.set_stage(state, stage))
        changes.append(commands.note(state, f"update: {text}"))
        return changes
    return decide


def set_priority(value: str) -> Decide:
    return lambda s: commands.set_priority(s, value)


def set_severity(value: str) -> Decide:
    return lambda s: commands.set_severity(s, value)


def reassign(field: str, value: str) -> Decide:
    if field == "team":
        return lambda s: commands.reassign(s, team=value)
    if field == "policy":
        return lambda s: commands.reassign(s, policy=value)
    return lambda s: commands.reassign(s, assignee=value)
