"""What the dispatcher drops when the incident moves on: pages yes, posted stakeholder updates no."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from console.domain import commands
from console.notify.channels import SlackChannel
from console.notify.dispatcher import Backoff, Dispatcher
from console.notify.outbox import Notification, insert, message
from console.store.store import Store
from console.updates import post
from tests.handoff.conftest import Clock, load, policy_text
from tests.notify.servers import WebhookReceiver


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver(fail_first=1).start()  # the update's first delivery fails
    yield server
    server.stop()


@pytest.mark.parametrize("then", ["resolved", "resolved and reopened"])
async def test_a_posted_update_is_delivered_after_the_incident_moves_on_a_page_is_not(
        tmp_path: Path, receiver: WebhookReceiver, then: str) -> None:
    clock = Clock()
    ps = load(tmp_path / "p", policy_text() + f"""
[[stakeholders]]
id = "status"
priorities = ["P1"]
channels = [{{ channel = "slack", address = "{receiver.url}" }}]
""")
    with Store.open(f"sqlite:///{tmp_path / 'jkt.db'}", site_name="JKT", physical=clock.ms) as store:
        clock.at(10)
        state = store.trigger("mon", title="checkout 5xx", service="checkout", severity="sev1",
                              priority="P1").state
        with store.writing() as w:  # a page due in 10 minutes, as the engine queues a later level
            insert(w.conn, [(state.id, state.epoch, Notification(
                channel="slack", person="anna", address=receiver.url, at=clock.now + timedelta(minutes=10),
                cause="escalation", message=message(state, "page", "JKT-1: checkout 5xx")))], clock.now)
        clock.at(10, 5)
        post(store, ps, state.key, "ayu", "Fixed; closing.", clock.now)
        backoff = Backoff(base=timedelta(seconds=15))
        async with httpx.AsyncClient(timeout=5) as client:
            dispatcher = Dispatcher(store, {"slack": SlackChannel(client)}, backoff=backoff)
            assert (await dispatcher.run_once(clock.now)).failed == 1  # the update will be retried
            clock.at(10, 6)
            store.act(state.key, "ayu", commands.resolve)
            if then == "resolved and reopened":
                store.act(state.key, "ayu", lambda s: commands.reopen(s, "back"))
            clock.at(10, 20)  # the retry and the page are both due
            report = await dispatcher.run_once(clock.now)
        assert (report.sent, report.cancelled) == (1, 1)
        [hook] = receiver.ok()
        assert "Fixed; closing." in json.loads(hook.body)["text"]
        outcomes = [(op.payload["cause"], op.payload["outcome"], op.payload.get("error"))
                    for op in store.timeline(state.id) if op.kind == "notify"]
        reason = ("the incident was resolved" if then == "resolved"
                  else "the incident was re-triggered since")
        assert sorted(outcomes[-2:]) == [("escalation", "cancelled", reason), ("update:status", "sent", None)]
