"""`sunrelay policies check|simulate` and `sunrelay who` through typer."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from icalendar import Calendar
from typer.testing import CliRunner

from console.policies_cli import app, default_policies_dir, who

from .conftest import PEOPLE
from .test_check import POLICY, SCHEDULES

main = typer.Typer()
main.add_typer(app, name="policies")
main.command("who")(who)
runner = CliRunner()
AT = "2026-12-06 03:00 Asia/Jakarta"


@pytest.fixture(autouse=True)
def _no_user_policies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("SUNRELAY_POLICIES", raising=False)


def test_default_dir_falls_back_to_examples_then_prefers_the_store_side(tmp_path: Path) -> None:
    assert default_policies_dir().name == "examples"
    store_side = tmp_path / "xdg" / "sunrelay" / "policies"
    store_side.mkdir(parents=True)
    assert default_policies_dir() == store_side


def test_check_clean_examples_exit_0() -> None:
    res = runner.invoke(main, ["policies", "check", "--at", "2026-11-22 00:00 UTC"])
    assert res.exit_code == 0, res.output
    assert "0 error(s), 0 warning(s)" in res.output


def test_check_reports_errors_and_exits_1(tmp_path: Path) -> None:
    d = tmp_path / "p"
    d.mkdir()
    (d / "people.toml").write_text(PEOPLE)
    (d / "schedules.toml").write_text(SCHEDULES)
    (d / "escalation.toml").write_text(POLICY)
    res = runner.invoke(main, ["policies", "check", str(d), "--days", "7", "--at", "2026-11-22 00:00 UTC"])
    assert res.exit_code == 1
    assert f"{d / 'escalation.toml'}:10: error: escalation_policies[0].levels[1].targets[1]:" in res.output
    assert "warning:" in res.output
    # the env var works as well, and schema errors exit 1 with file:line
    (d / "people.toml").write_text(PEOPLE + "\n[[people]]\nid = 'zed'\n")
    res = runner.invoke(main, ["policies", "check"], env={"SUNRELAY_POLICIES": str(d)})
    assert res.exit_code == 1 and "people.toml:" in res.output


def test_simulate_prints_the_timeline() -> None:
    res = runner.invoke(main, [
        "policies", "simulate", "--service", "payments-api", "--severity", "sev1",
        "--labels", "customer_tier=vip,alertname=X", "--at", AT, "--ack-after", "20m",
        "--horizon", "1h",
    ])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert lines[0].startswith("2026-12-06 03:00  +   0m  route")
    assert any("+   5m  escalate" in line and "level 2" in line for line in lines)
    assert any("+  20m  ack" in line for line in lines)
    assert lines[-1] == "outcome: horizon"


def test_who_now_and_next_and_ics(tmp_path: Path) -> None:
    res = runner.invoke(main, ["who", "--at", AT])
    assert res.exit_code == 0, res.output
    assert "follow-the-sun sre: region new-york" in res.output
    assert "Maria Garcia (Sat 15:00 America/New_York)" in res.output
    res = runner.invoke(main, ["who", "--at", AT, "--schedule", "payments-primary"])
    assert "schedule payments-primary" in res.output and "sre" not in res.output
    out = tmp_path / "p.ics"
    res = runner.invoke(main, ["who", "--at", AT, "--ics", "payments-primary", "--out", str(out),
                               "--days", "14"])
    assert res.exit_code == 0, res.output
    cal = Calendar.from_ical(out.read_bytes())
    events = list(cal.walk("VEVENT"))
    assert len(events) >= 14  # office-hours layer splits each working day
    assert all("On call (payments-primary)" in str(e["SUMMARY"]) for e in events)
