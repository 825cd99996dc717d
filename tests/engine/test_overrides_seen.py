"""The engine asks the override log again only when override ops were written: a look
costs no read transaction of its own otherwise, and a take is still honoured at the next page."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import policies
from console.domain.vocabulary import Kind
from console.engine.cycle import Engine
from console.overrides import OverrideLog, cancel, take
from console.store.store import Store
from policies import ShiftOverride

EXAMPLES = Path(policies.__file__).parent / "examples"
NOW = datetime(2026, 3, 10, 3, 10, tzinfo=UTC)  # budi holds sre-jakarta that week


class Counted:
    """The store's override log, counting how often the engine asks it."""

    def __init__(self, log: OverrideLog) -> None:
        self.log = log
        self.asked = 0

    def __call__(self) -> Sequence[ShiftOverride]:
        self.asked += 1
        return self.log()


def paged(store: Store, engine: Engine, n: int) -> set[str]:
    """Open an incident, let the engine page it; whom level 1 paged."""
    opened = store.trigger("alertmanager", title=f"5xx above 2% ({n})", service="api-gateway",
                           severity="sev2", priority="P2", team="sre", policy="sre",
                           dedup_key=f"5xx-{n}")
    engine.tick(NOW)
    pages = [op.payload["pages"] for op in store.timeline(opened.state.id) if op.kind == Kind.ESCALATE]
    return {person for person, _ in pages[0]}


def test_a_take_is_honoured_at_the_next_page_and_quiet_looks_do_not_ask(tmp_path: Path) -> None:
    ps = policies.load(EXAMPLES)
    with Store.open(f"sqlite:///{tmp_path / 'a.db'}", site_name="JKT",
                    physical=lambda: int(NOW.timestamp() * 1000)) as store:
        log = OverrideLog(store.engine)
        counted = Counted(log)
        engine = Engine(store, lambda: ps, overrides=counted)
        assert [paged(store, engine, n) for n in range(4)] == [{"budi"}] * 4
        assert counted.asked == 2  # the first two looks; none since, with no override op
        made = take(store, ps, "citra", "sre-jakarta", NOW - timedelta(minutes=5), NOW + timedelta(hours=2),
                    "citra")
        assert paged(store, engine, 4) == {"citra"}
        asked = counted.asked
        assert paged(store, engine, 5) == {"citra"}  # asked once more: the look after the take's
        assert counted.asked == asked + 1
        assert paged(store, engine, 6) == {"citra"} and counted.asked == asked + 1
        cancel(store, log, "citra", made.id)
        assert paged(store, engine, 7) == {"budi"}
