"""A status update reaches the stakeholders' channel through the outbox and the dispatcher,
and restarts the SLA's update clock."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from console.engine.adapter import adapt
from console.notify.channels import SlackChannel
from console.notify.dispatcher import Dispatcher
from console.store.store import Store
from console.updates import post
from tests.handoff.conftest import Clock, load, policy_text
from tests.notify.servers import WebhookReceiver


async def test_an_update_is_delivered_to_the_stakeholders(tmp_path: Path, store: Store, clock: Clock,
                                                         receiver: WebhookReceiver) -> None:
    ps = load(tmp_path / "p", policy_text() + f"""
[[stakeholders]]
id = "status"
priorities = ["P1"]
channels = [{{ channel = "slack", address = "{receiver.url}" }}]
""")
    clock.at(10)
    key = store.trigger("mon", title="checkout 5xx", service="checkout", severity="sev1",
                        priority="P1").state.key
    clock.at(10, 20)
    state, queued = post(store, ps, key, "anna", "Mitigated; monitoring.", clock.now)
    assert [(n.channel, n.person) for n in queued] == [("slack", None)]
    async with httpx.AsyncClient(timeout=5) as client:
        await Dispatcher(store, {"slack": SlackChannel(client)}).run_once(clock.now)
    [hook] = receiver.ok()
    assert "Mitigated; monitoring." in json.loads(hook.body)["text"]
    ops = store.timeline(state.id)
    assert [(op.kind, op.payload.get("outcome")) for op in ops][-2:] == [("update", None), ("notify", "sent")]
    adapted = adapt(ops)
    assert adapted is not None and adapted.view.last_update_at == clock.now
