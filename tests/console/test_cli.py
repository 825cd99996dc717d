"""The CLI as a script sees it: a real subprocess against a temp store."""

from __future__ import annotations

import json
import os
import pty
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from console.store.db import SCHEMA_HEAD


class Cli:
    def __init__(self, db: Path) -> None:
        self.db = db
        self.env = {**os.environ, "SUNRELAY_DB": str(db), "SUNRELAY_SITE": "JKT",
                    "SUNRELAY_USER": "alice"}

    def run(self, *args: str, ok: bool = True, **env: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([sys.executable, "-m", "console", *args], capture_output=True,
                              text=True, env={**self.env, **env}, timeout=60)
        if ok:
            assert done.returncode == 0, done.stderr
        return done

    def json(self, *args: str, **env: str) -> Any:
        return json.loads(self.run(*args, "--json", **env).stdout)

    def fails(self, *args: str, match: str) -> str:
        before = self.ops()
        done = self.run(*args, ok=False)
        assert done.returncode != 0
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, done.stderr
        assert match in lines[0], lines[0]
        assert self.ops() == before  # nothing changed
        return lines[0]

    def ops(self) -> int:
        if not self.db.exists():
            return -1
        with sqlite3.connect(self.db) as conn:
            try:
                return int(conn.execute("SELECT count(*) FROM op_log").fetchone()[0])
            except sqlite3.DatabaseError:
                return -1


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path / "store.db")


def test_trigger_dedups_and_lists(cli: Cli) -> None:
    made = cli.json("trigger", "Checkout 500s", "--service", "payments", "--severity", "critical",
                    "--dedup-key", "pd-42", "--label", "tier=vip", "--label", "region=jkt")
    assert made["created"] is True
    assert (made["key"], made["severity"], made["status"], made["labels"]) == (
        "JKT-1", "sev1", "triggered", {"tier": "vip", "region": "jkt"})
    again = cli.run("trigger", "Checkout 500s", "--service", "payments", "--dedup-key", "pd-42")
    assert again.stdout.strip() == "JKT-1 retriggered (2 alerts)"
    cli.run("trigger", "Disk 91%", "--service", "db", "--severity", "sev3")
    listing = cli.json("list")
    assert listing["version"] == 1
    assert [(i["key"], i["alert_count"]) for i in listing["incidents"]] == [("JKT-1", 2), ("JKT-2", 1)]
    text = cli.run("list").stdout
    assert "JKT-1" in text and "Checkout 500s" in text and text.splitlines()[0].startswith("KEY")


def test_the_json_shape_is_stable(cli: Cli) -> None:
    cli.run("trigger", "x", "--service", "svc")
    incident = cli.json("list")["incidents"][0]
    assert list(incident) == [
        "key", "id", "title", "service", "severity", "priority", "status", "stage", "epoch",
        "team", "policy", "assignee", "dedup_key", "alert_count", "labels", "escalation",
        "created_at", "updated_at", "acknowledged_at", "acknowledged_by", "resolved_at",
        "resolved_by", "next_due_at", "conflicted",
    ]
    assert incident["created_at"].endswith("Z")


def test_json_is_indented_on_a_terminal_and_one_line_in_a_pipe(cli: Cli) -> None:
    cli.run("trigger", "x", "--service", "svc")
    piped = cli.run("list", "--json").stdout
    assert piped.count("\n") == 1 and json.loads(piped)["incidents"][0]["key"] == "JKT-1"
    master, slave = pty.openpty()
    try:
        subprocess.run([sys.executable, "-m", "console", "list", "--json"], stdout=slave,
                       env=cli.env, check=True, timeout=60)
        shown = os.read(master, 1 << 20).decode().replace("\r\n", "\n")
    finally:
        os.close(master)
        os.close(slave)
    assert shown.startswith('{\n  "version": 1,\n  "incidents": [\n    {\n      "key": "JKT-1",')
    assert json.loads(shown) == json.loads(piped)


def test_every_action_and_show(cli: Cli) -> None:
    cli.run("trigger", "Queue backlog", "--service", "jobs", "--severity", "sev2")
    assert cli.json("ack", "JKT-1", "--as", "bob")["acknowledged_by"] == "bob"
    assert cli.json("unack", "JKT-1")["status"] == "triggered"
    assert cli.json("note", "jkt-1", "scaled the workers to 40")["key"] == "JKT-1"
    assert cli.json("escalate", "JKT-1", "--reason", "needs db")["escalation"] == {"loop": 0, "level": 2}
    assert cli.json("escalate", "JKT-1", "--level", "4")["escalation"]["level"] == 4
    assert cli.json("severity", "JKT-1", "sev1")["severity"] == "sev1"
    assert cli.json("priority", "JKT-1", "P1")["priority"] == "P1"
    assert cli.json("stage", "JKT-1", "mitigating")["stage"] == "mitigating"
    assert cli.json("reassign", "JKT-1", "--team", "database")["team"] == "database"
    resolved = cli.json("resolve", "JKT-1")
    assert resolved["status"] == "resolved" and resolved["resolved_by"] == "alice"
    assert cli.json("reopen", "JKT-1", "--reason", "came back")["status"] == "triggered"
    shown = cli.json("show", "JKT-1")
    assert shown["epoch"] == 2
    assert [n["text"] for n in shown["notes"]] == ["scaled the workers to 40"]
    assert [t["kind"] for t in shown["timeline"]] == [
        "trigger", "ack", "unack", "note", "escalate", "escalate", "set_severity",
        "set_priority", "set_stage", "reassign", "resolve", "reopen"]
    assert shown["timeline"][1]["actor"] == "bob"
    text = cli.run("show", "JKT-1").stdout
    assert "escalated to level 2: needs db" in text and "reopened: came back" in text


def test_the_actor_comes_from_as_then_env_then_login(cli: Cli) -> None:
    cli.run("trigger", "a", "--service", "s")
    cli.run("trigger", "b", "--service", "s")
    cli.run("trigger", "c", "--service", "s")
    assert cli.json("ack", "JKT-1", "--as", "bob")["acknowledged_by"] == "bob"
    assert cli.json("ack", "JKT-2")["acknowledged_by"] == "alice"
    env = {k: v for k, v in cli.env.items() if k != "SUNRELAY_USER"}
    done = subprocess.run([sys.executable, "-m", "console", "ack", "JKT-3", "--json"],
                          capture_output=True, text=True, env=env, check=True)
    import getpass
    assert json.loads(done.stdout)["acknowledged_by"] == getpass.getuser()


def test_errors_are_one_line_exit_non_zero_and_change_nothing(cli: Cli) -> None:
    cli.run("trigger", "x", "--service", "svc")
    cli.fails("ack", "JKT-9", match="no incident 'JKT-9'")
    cli.run("resolve", "JKT-1")
    cli.fails("ack", "JKT-1", match="JKT-1 is resolved: reopen it before acknowledging")
    cli.fails("resolve", "JKT-1", match="already resolved")
    cli.fails("escalate", "JKT-1", match="resolved")
    cli.run("reopen", "JKT-1")
    cli.fails("reopen", "JKT-1", match="only a resolved incident reopens")
    cli.fails("note", "JKT-1", "   ", match="the note is empty")
    cli.fails("severity", "JKT-1", "sev9", match="unknown severity 'sev9'")
    cli.fails("trigger", "y", "--service", "svc", "--label", "novalue", match="not key=value")
    cli.fails("list", "--status", "closed", match="--status must be open or all")


def test_an_unreadable_database_is_refused(cli: Cli) -> None:
    cli.db.write_bytes(b"this is not a database" * 100)
    line = cli.fails("list", match="cannot open database")
    assert "file is not a database" in line
    assert cli.db.read_bytes() == b"this is not a database" * 100


def test_a_database_from_a_newer_sunrelay_is_refused(cli: Cli) -> None:
    cli.run("trigger", "x", "--service", "svc")
    with sqlite3.connect(cli.db) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    cli.fails("list", match="schema revision '9999', newer than this Sunrelay")
    cli.fails("db", "upgrade", match="upgrade Sunrelay to open it")


def test_db_upgrade_rebuild_verify(cli: Cli) -> None:
    assert cli.run("db", "upgrade").stdout.strip() == f"schema at {SCHEMA_HEAD} (was empty)"
    assert cli.run("db", "upgrade").stdout.strip() == f"schema at {SCHEMA_HEAD}"
    cli.run("trigger", "x", "--service", "svc")
    cli.run("note", "JKT-1", "hello")
    assert cli.run("db", "rebuild").stdout.strip() == "rebuilt 1 incidents from 2 ops"
    assert cli.run("db", "verify").stdout.strip() == "op log intact: 2 ops"
    with sqlite3.connect(cli.db) as conn:
        conn.execute("UPDATE op_log SET payload = '{\"text\": \"goodbye\"}' WHERE kind = 'note'")
    done = cli.run("db", "verify", ok=False)
    assert done.returncode == 1
    assert "seq 2: altered: content does not match its hash" in done.stderr
    assert "op log damaged: 1 problem(s) in 2 ops" in done.stderr


def test_the_policy_tools_are_mounted_on_sunrelay(cli: Cli) -> None:
    env = {"XDG_DATA_HOME": str(cli.db.parent / "xdg")}  # no user policies: the examples
    checked = cli.run("policies", "check", **env)
    assert "0 error(s), 0 warning(s)" in checked.stdout
    who = cli.run("who", "--at", "2026-12-06 03:00 Asia/Jakarta", **env).stdout
    assert "follow-the-sun sre" in who
    assert "policies" in cli.run("--help").stdout
