"""A handoff sent in Jakarta syncs to Berlin (real sync over the ASGI endpoints), is
acknowledged there, and the acknowledgement syncs back."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from console.handoff import store as handoffs
from console.handoff.draft import HandoffNote, Shift
from sync.client import pull_all
from tests.sync.conftest import Console, console


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[Console, Console]]:
    jkt = console(f"sqlite:///{tmp_path / 'jkt.db'}", "JKT")
    ber = console(f"sqlite:///{tmp_path / 'ber.db'}", "BER")
    yield jkt, ber
    jkt.store.close()
    ber.store.close()


async def test_send_syncs_to_the_incoming_console_which_acknowledges(pair: tuple[Console, Console]) -> None:
    jkt, ber = pair
    end = datetime.now(UTC).replace(microsecond=0)
    shift = Shift("sre", "jakarta", end - timedelta(hours=8), end, "berlin", end + timedelta(hours=16))
    row = handoffs.open_draft(jkt.store, "ayu", shift, HandoffNote({}, "# Handoff\n\nAll quiet.\n"))
    handoffs.send(jkt.store, row.id, "ayu", "# Handoff\n\nAll quiet; watch JKT-7.\n")

    await pull_all(ber.client_to(jkt), ber.replica)
    [seen] = handoffs.handoffs(ber.store, status="sent")
    assert (seen.id, seen.from_region, seen.to_region, seen.sent_by) == (row.id, "jakarta", "berlin", "ayu")
    assert seen.markdown == "# Handoff\n\nAll quiet; watch JKT-7.\n"
    assert seen.origin_site == jkt.store.site.site and seen.handoff_at == end

    handoffs.ack(ber.store, seen.id[-8:], "anna")
    await pull_all(jkt.client_to(ber), jkt.replica)
    back = handoffs.get(jkt.store, row.id)
    assert (back.status, back.acknowledged_by) == ("acknowledged", "anna")
    # Both consoles hold the same ops, so both fold the same handoff.
    assert handoffs.get(ber.store, row.id).model_dump() == back.model_dump()
