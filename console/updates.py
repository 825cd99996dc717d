"""Stakeholder status updates: `sunrelay update KEY TEXT`.

An update is an `update` op on the incident (on its timeline, and the SLA's
update clock restarts from it: the engine's adapter reads it as the last
update) plus one outbox row per channel of every `[[stakeholders]]` entry
matching the incident, written in the same transaction, so the dispatcher
delivers it with the same retries and records each delivery as a `notify` op,
even when the incident is resolved before the delivery succeeds.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from console.cli import AsOpt, DbOpt, KeyArg, actor, opened
from console.domain.commands import MAX_NOTE, Change, IllegalTransition
from console.domain.state import IncidentState
from console.domain.vocabulary import Kind
from console.i18n import _, _l
from console.notify.outbox import UPDATE, Notification, insert, message
from console.policies_cli import PoliciesOpt, _load
from console.store.store import Store
from policies import PolicySet


def decide(state: IncidentState, text: str) -> Change:
    body = text.strip()
    if not body:
        raise IllegalTransition(_("the update is empty"))
    if len(body) > MAX_NOTE:
        raise IllegalTransition(_("the update is longer than {limit} characters").format(limit=MAX_NOTE))
    if not state.is_open:
        # An update belongs to the response: the closing one is posted before resolving.
        raise IllegalTransition(_("{key} is resolved: post the closing update before resolving").format(
            key=state.key))
    return Change(Kind.UPDATE, {"text": body})


def post(store: Store, ps: PolicySet, key: str, who: str, text: str,
         now: datetime) -> tuple[IncidentState, list[Notification]]:
    """Record the update and queue it for the incident's stakeholders, in one transaction."""
    with store.writing() as w:
        state = w.act(key, who, lambda s: decide(s, text))
        body = _("{key} update ({status}, {stage}): {text}").format(
            key=state.key, status=state.status.value, stage=state.stage, text=text.strip())
        out = [
            Notification(channel=c.channel, person=None, address=c.address, at=now,
                         cause=f"update:{group.id}", urgency="low",
                         message=message(state, UPDATE, body, author=who, stakeholders=group.id))
            for group in ps.stakeholders_for(state.team, state.service, state.priority)
            for c in group.channels
        ]
        insert(w.conn, [(state.id, state.epoch, n) for n in out], now)
    return state, out


# `update` is mounted on the root command by console.cli, hence its help there.
HELP = _l("Post a status update: on the timeline, and to the incident's stakeholder channels.")


def update(
    key: KeyArg,
    text: Annotated[str, typer.Argument(help=_l("The update, for people outside the response"))],
    policies_dir: PoliciesOpt = None, as_: AsOpt = None, db: DbOpt = None,
) -> None:
    ps = _load(policies_dir)
    with opened(db) as store:
        state, sent = post(store, ps, key, actor(as_), text, datetime.now(UTC))
    where = ", ".join(dict.fromkeys(f"{n.channel} {n.address}" for n in sent))
    print(_("{key} update recorded; sending to {where}").format(key=state.key, where=where) if sent else
          _("{key} update recorded; no [[stakeholders]] in the policies match it").format(key=state.key))
