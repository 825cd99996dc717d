"""Every action and screen of the console, driven by Pilot against a real store."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import policies
from console.domain import commands
from console.store.store import Store
from console.tui.model import countdown
from console.tui.screens.incident import IncidentScreen
from console.tui.screens.queue import QueueScreen
from console.tui.services.clock import FixedClock
from console.tui.widgets.incident_table import IncidentTable

from .conftest import EXAMPLES, ME, NOW, make_app, settle, texts


def table(app: object) -> IncidentTable:
    screen = app.screen  # type: ignore[attr-defined]
    assert isinstance(screen, QueueScreen)
    return screen.table


def toasts(app: object) -> list[str]:
    return [str(n.message) for n in app._notifications]  # type: ignore[attr-defined]


async def select(pilot: object, app: object, key: str) -> None:
    rows = table(app).rows
    table(app).cursor = [r.key for r in rows].index(key)
    await settle(pilot)  # type: ignore[arg-type]


async def test_queue_most_urgent_first_with_live_countdowns(
        store: Store, policy_set: policies.PolicySet) -> None:
    clock = FixedClock(NOW)
    app = make_app(store, policy_set, clock=clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        rows = table(app).rows
        assert [r.key for r in rows] == ["JKT-1", "JKT-2", "JKT-3", "JKT-4", "JKT-5"]
        first = rows[1]  # JKT-2: resolve SLA due in the future
        assert first.deadline is not None and first.deadline > NOW
        left = (first.deadline - NOW).total_seconds()
        assert f"{first.deadline_kind} {countdown(left)}" in table(app).render_line(2).text
        clock.advance(timedelta(hours=13))  # now past the deadline: negative, computed at render
        table(app).tick()
        assert f"{first.deadline_kind} {countdown(left - 13 * 3600)}" in table(app).render_line(2).text
        assert countdown(left - 13 * 3600).startswith("-")


async def test_ack_note_and_refusal(store: Store, policy_set: policies.PolicySet) -> None:
    app = make_app(store, policy_set)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await settle(pilot)
        await select(pilot, app, "JKT-4")
        await pilot.press("a")
        await settle(pilot)
        assert store.get("JKT-4").status.value == "acknowledged"
        assert "JKT-4 acknowledged" in toasts(app)
        await pilot.press("a")  # already acknowledged: refused with the domain's sentence
        await settle(pilot)
        assert any("already acknowledged" in t for t in toasts(app))
        await pilot.press("n")
        await pilot.press(*"restarted the exporter")
        await pilot.press("enter")
        await settle(pilot)
        notes = store.notes(store.find("JKT-4").id)
        assert [n.text for n in notes] == ["restarted the exporter"]
        assert notes[0].author == ME


async def test_resolve_p1_high_risk_needs_the_key_typed(store: Store, policy_set: policies.PolicySet) -> None:
    app = make_app(store, policy_set)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await select(pilot, app, "JKT-1")
        await pilot.press("r")
        await pilot.press(*"JKT-2", "enter")  # the wrong key changes nothing
        await settle(pilot)
        assert store.get("JKT-1").status.value == "triggered"
        await pilot.press("r")
        await pilot.press(*"jkt-1", "enter")
        await settle(pilot)
        assert store.get("JKT-1").status.value == "resolved"
        assert "JKT-1" not in [r.key for r in table(app).rows]


async def test_resolve_p1_asks_and_no_keeps_it_open(store: Store, policy_set: policies.PolicySet) -> None:
    store.act("JKT-2", ME, lambda s: commands.set_priority(s, "P1"))
    app = make_app(store, policy_set)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await select(pilot, app, "JKT-2")
        await pilot.press("r", "n")
        await settle(pilot)
        assert store.get("JKT-2").status.value == "acknowledged"
        await pilot.press("r", "y")
        await settle(pilot)
        assert store.get("JKT-2").status.value == "resolved"


async def test_escalate_update_priority_severity_reassign(
        store: Store, policy_set: policies.PolicySet) -> None:
    app = make_app(store, policy_set)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await select(pilot, app, "JKT-4")
        await pilot.press("e", *"nobody answers", "enter")
        await settle(pilot)
        assert store.get("JKT-4").escalation == (0, 2)
        await select(pilot, app, "JKT-4")
        await pilot.press("u", "down", "down", "enter")  # stage: investigating
        await pilot.press(*"rolling back", "enter")
        await settle(pilot)
        state = store.get("JKT-4")
        assert state.stage == "investigating"
        assert store.notes(state.id)[-1].text == "update: rolling back"
        await select(pilot, app, "JKT-4")
        await pilot.press("p", "up", "enter")  # P3 -> P2
        await settle(pilot)
        assert store.get("JKT-4").priority == "P2"
        await select(pilot, app, "JKT-4")
        await pilot.press("S", "up", "enter")  # sev3 -> sev2
        await settle(pilot)
        assert store.get("JKT-4").severity == "sev2"
        await select(pilot, app, "JKT-4")
        await pilot.press("t", "down", "enter")  # the second choice: team payments
        await settle(pilot)
        assert store.get("JKT-4").team == "payments"


async def test_reopen_from_resolved_today(store: Store, policy_set: policies.PolicySet) -> None:
    app = make_app(store, policy_set)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for _ in range(3):
            await pilot.press("v")
        assert [r.key for r in table(app).rows] == ["JKT-6"]
        await pilot.press("o")
        await settle(pilot)
        assert store.get("JKT-6").status.value == "triggered"


async def test_filter_and_views(store: Store, policy_set: policies.PolicySet) -> None:
    app = make_app(store, policy_set)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"s:sev2")
        assert [r.key for r in table(app).rows] == ["JKT-2", "JKT-3"]
        await pilot.press("enter")
        assert "2 of 5 shown" in texts(app)
        await pilot.press("slash")
        await pilot.press(*" svc:api*")
        assert [r.key for r in table(app).rows] == ["JKT-3"]
        await pilot.press("escape")
        assert len(table(app).rows) == 5
        await pilot.press("slash", *"me", "enter")
        assert [r.key for r in table(app).rows] == ["JKT-3"]
        await pilot.press("escape", "v")  # mine
        assert [r.key for r in table(app).rows] == ["JKT-3"]
        await pilot.press("v")  # my teams (sre)
        assert [r.key for r in table(app).rows] == ["JKT-3", "JKT-4", "JKT-5"]


async def test_incident_screen_and_back(store: Store, policy_set: policies.PolicySet) -> None:
    app = make_app(store, policy_set)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await select(pilot, app, "JKT-2")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, IncidentScreen)
        shown = texts(app)
        assert "Replication lag" in shown and "failover of db-3 started" in shown
        assert "SLA" in shown and "acknowledged" in shown
        await pilot.press("a")  # acting from the incident screen: refused, it is acked
        await settle(pilot)
        await pilot.press("escape")
        assert isinstance(app.screen, QueueScreen)
        await pilot.press("2")  # screen 2 opens the highlighted incident
        await settle(pilot)
        assert isinstance(app.screen, IncidentScreen) and app.screen.key == "JKT-2"


async def test_every_screen_renders(store: Store, policy_set: policies.PolicySet) -> None:
    app = make_app(store, policy_set)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        expected = {"3": "Budi Santoso", "4": "This shift: jakarta → berlin", "5": "not configured",
                    "6": "No problems", "7": "Last 7 days: 6 incidents"}
        for key, text in expected.items():
            await pilot.press(key)
            await settle(pilot)
            shown = texts(app)
            assert text in shown, (key, shown)
        assert "eng not running · sync not configured" in texts(app)  # 80 columns: the short header
        await pilot.press("1")
        assert isinstance(app.screen, QueueScreen)


async def test_policy_simulator(store: Store, policy_set: policies.PolicySet) -> None:
    app = make_app(store, policy_set)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await pilot.press("6")
        await settle(pilot)
        app.screen.query_one("#sim-service").value = "checkout"  # type: ignore[attr-defined]
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert "routed to policy payments" in texts(app)


async def test_help_and_command_palette(store: Store, policy_set: policies.PolicySet) -> None:
    app = make_app(store, policy_set)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        rows = list(app.help_rows())
        assert ("a", "Ack", "incident.ack") in rows
        await pilot.press("question_mark")
        assert type(app.screen).__name__ == "HelpScreen"
        await pilot.press("escape", "colon")
        await pilot.press(*"JKT-4")
        await asyncio.sleep(0.5)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, IncidentScreen) and app.screen.key == "JKT-4"


async def test_readonly_has_no_action_keys(store: Store, policy_set: policies.PolicySet) -> None:
    app = make_app(store, policy_set, readonly=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        assert store.get("JKT-1").status.value == "triggered"
        assert "READONLY" in texts(app)


async def test_keys_remapped_by_id(store: Store, policy_set: policies.PolicySet) -> None:
    app = make_app(store, policy_set, keymap={"incident.ack": "A"})
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("A")
        await settle(pilot)
        assert store.get("JKT-1").status.value == "acknowledged"


async def test_without_policies_the_console_still_works(store: Store) -> None:
    app = make_app(store, None)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert len(table(app).rows) == 5
        await pilot.press("3")
        await settle(pilot)
        assert "no policy set loaded" in texts(app)


async def test_another_process_write_appears_in_the_queue(
        db_path: Path, store: Store, policy_set: policies.PolicySet) -> None:
    app = make_app(store, policy_set)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        env = {**os.environ, "SUNRELAY_DB": str(db_path)}
        subprocess.run([sys.executable, "-m", "console", "trigger", "Queue depth 40k on mail",
                        "--service", "mail", "--severity", "sev1", "--as", "someone-else"],
                       env=env, check=True, capture_output=True, timeout=60)
        for _ in range(100):
            await asyncio.sleep(0.05)
            if "JKT-7" in [r.key for r in table(app).rows]:
                break
        assert "JKT-7" in [r.key for r in table(app).rows]


async def test_policy_edit_is_shown_live(tmp_path: Path, store: Store) -> None:
    import shutil

    directory = tmp_path / "policies"
    shutil.copytree(EXAMPLES, directory)
    ps = policies.load(directory)
    app = make_app(store, ps)
    app.ctx.policy_dir = directory
    app.watch_policies = True
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("6")
        await settle(pilot)
        await asyncio.sleep(0.5)
        (directory / "teams.toml").write_text("[[teams]]\nid = 'x'\nmembers = ['nobody']\n")
        for _ in range(100):
            await asyncio.sleep(0.1)
            if app.ctx.problems:
                break
        await settle(pilot)
        assert "nobody" in texts(app)
        assert app.ctx.policies is not None and app.ctx.policies.digest == ps.digest


async def test_take_a_shift_and_cancel_it_from_the_on_call_screen(
        store: Store, policy_set: policies.PolicySet) -> None:
    from console.overrides import OverrideLog

    app = make_app(store, policy_set)
    async with app.run_test(size=(100, 40), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("3")
        await settle(pilot)
        assert "Overrides" in texts(app) and "none" in texts(app)
        await pilot.press("t", "enter", "n")  # the first schedule I am not on call for; then no
        await settle(pilot)
        assert OverrideLog(store.engine)() == ()
        await pilot.press("t", "enter", "y")
        await settle(pilot)
        log = OverrideLog(store.engine)
        log.refresh()
        taken = log.active
        assert [(o.schedule, o.user, o.by, o.start) for o in taken] == [
            ("database-primary", ME, ME, NOW)]
        assert taken[0].end > NOW
        assert any("You are on call for database-primary" in t for t in toasts(app))
        assert "database-primary: Budi Santoso" in texts(app)
        assert "Budi Santoso" in texts(app).split("database-primary", 1)[1].split("\n", 1)[0]
        await pilot.press("c", "enter", "n")  # the one override; then no
        await settle(pilot)
        assert OverrideLog(store.engine)() != ()
        await pilot.press("c", "enter", "y")
        await settle(pilot)
        assert OverrideLog(store.engine)() == ()
        assert any("Override cancelled: database-primary" in t for t in toasts(app))
        assert "database-primary: Budi Santoso" not in texts(app)


async def test_mark_many_and_act_on_them(store: Store, policy_set: policies.PolicySet) -> None:
    app = make_app(store, policy_set)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await settle(pilot)
        await select(pilot, app, "JKT-3")
        await pilot.press("space", "space")  # JKT-3 and JKT-4; the cursor moves on
        assert table(app).marked == {"JKT-3", "JKT-4"}
        assert "2 marked" in texts(app)
        assert table(app).render_line(3).text.startswith("*")
        await pilot.press("a")  # asks, saying how many
        assert "Acknowledge 2 incidents?" in str(app.screen.query_one("Label").content)
        await pilot.press("n")
        await settle(pilot)
        assert store.get("JKT-4").status.value == "triggered"
        await pilot.press("a", "y")
        await settle(pilot)
        # JKT-3 was acknowledged already: refused with the domain's reason, JKT-4 done.
        assert store.get("JKT-4").status.value == "acknowledged"
        assert any(t.startswith("1 incident acknowledged; 1 refused: JKT-3:") for t in toasts(app))
        assert table(app).marked == set()


async def test_mark_all_shown_and_resolve_asks_for_p1_and_high_risk_keys(
        store: Store, policy_set: policies.PolicySet) -> None:
    app = make_app(store, policy_set)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"p:P1,P2", "enter", "asterisk")
        assert table(app).marked == {"JKT-1", "JKT-2", "JKT-3"}
        await pilot.press("r")
        assert "Resolve 3 incidents? P1: JKT-1." in str(app.screen.query_one("Label").content)
        await pilot.press("y", *"JKT-2", "enter")  # JKT-1 is high-risk: the wrong key stops it all
        await settle(pilot)
        assert {store.get(k).status.value for k in ("JKT-1", "JKT-2", "JKT-3")} != {"resolved"}
        assert store.get("JKT-2").status.value == "acknowledged"
        await pilot.press("r", "y", *"JKT-1", "enter")
        await settle(pilot)
        assert {store.get(k).status.value for k in ("JKT-1", "JKT-2", "JKT-3")} == {"resolved"}
        await pilot.press("escape")  # clears the filter; marks went with the resolved rows
        assert table(app).marked == set() and len(table(app).rows) == 2
        await pilot.press("asterisk", "asterisk")  # all, then none
        assert table(app).marked == set()


async def test_handoff_draft_edit_send_and_ack_through_the_handoff_service(
        store: Store, policy_set: policies.PolicySet) -> None:
    from datetime import timedelta

    from textual.widgets import TextArea

    from console.handoff import store as handoffs
    from console.handoff.draft import shifts_ending
    from console.handoff.runner import new_draft

    group = policy_set.follow_the_sun["sre"]
    before = next(s for s in shifts_ending(group, NOW - timedelta(days=1), NOW)
                  if s.next_region == "jakarta")
    received = handoffs.send(store, new_draft(store, policy_set, before, NOW, "james").id, "james")
    app = make_app(store, policy_set)
    async with app.run_test(size=(100, 40), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("4")
        await settle(pilot)
        assert "no draft yet" in texts(app) and received.id[-8:] in texts(app)
        await pilot.press("d")  # draft now, as `sunrelay handoff draft` would
        await settle(pilot)
        mine = handoffs.handoffs(store, status="draft")
        assert len(mine) == 1 and mine[0].from_region == "jakarta"
        editor = app.screen.query_one("#editor", TextArea)
        assert editor.text == mine[0].markdown and "Open incidents" in editor.text
        await pilot.press("e")
        editor.move_cursor(editor.document.end)
        await pilot.press(*"Watch JKT-1", "ctrl+s")
        await settle(pilot)
        assert handoffs.get(store, mine[0].id).markdown.endswith("Watch JKT-1")
        await pilot.press("escape", "s", "y")
        await settle(pilot)
        sent = handoffs.get(store, mine[0].id)
        assert (sent.status, sent.sent_by) == ("sent", ME)
        assert "Watch JKT-1" in sent.markdown
        await pilot.press("a")  # the one received from New York
        await settle(pilot)
        acked = handoffs.get(store, received.id)
        assert (acked.status, acked.acknowledged_by) == ("acknowledged", ME)
        assert f"{received.id[-8:]}  acknowledged" in texts(app)  # now in the history


async def test_reports_are_the_report_commands_figures(store: Store, policy_set: policies.PolicySet) -> None:
    from console.reports.figures import report
    from console.reports.render import render

    app = make_app(store, policy_set)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("7")
        await settle(pilot)
        histories: dict[str, list[object]] = {}
        for op in store.ops_after({}, 10_000, 1 << 30)[0]:
            histories.setdefault(op.entity, []).append(op)
        expected = render(report(histories, policy_set, NOW - timedelta(days=7), NOW,  # type: ignore[arg-type]
                                 "severity"), "table")
        assert str(app.screen.query_one("#table").content) == expected  # type: ignore[attr-defined]
        await pilot.press("w")  # 30 days
        await settle(pilot)
        assert "Last 30 days" in texts(app)
