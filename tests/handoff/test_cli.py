"""`sunrelay handoff`, `update` and `report` as a person runs them, in subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.handoff.conftest import policy_text

STAKEHOLDERS = """
[[stakeholders]]
id = "status-page"
services = ["checkout"]
channels = [{ channel = "slack", address = "https://hooks.example.org/status" }]
"""


class Cli:
    def __init__(self, tmp: Path) -> None:
        policies = tmp / "policies"
        policies.mkdir()
        (policies / "main.toml").write_text(policy_text() + STAKEHOLDERS)
        editor = tmp / "editor.py"
        editor.write_text("import sys\n"
                          "with open(sys.argv[1], 'a') as f:\n    f.write('Watch the canary.\\n')\n")
        self.env = {**os.environ, "SUNRELAY_DB": str(tmp / "jkt.db"), "SUNRELAY_SITE": "JKT",
                    "SUNRELAY_USER": "ayu", "SUNRELAY_POLICIES": str(policies),
                    "EDITOR": f"{sys.executable} {editor}"}

    def __call__(self, *args: str, ok: bool = True, **env: str) -> str:
        done = subprocess.run([sys.executable, "-m", "console", *args], capture_output=True, text=True,
                              env={**self.env, **env}, timeout=60)
        assert (done.returncode == 0) == ok, done.stderr
        return done.stdout if ok else done.stderr


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path)


def test_draft_edit_send_show_ack(cli: Cli) -> None:
    out = cli("handoff", "draft", "--at", "2026-03-02T08:35:00+00:00")
    assert "jakarta → berlin at 2026-03-02 09:00Z: draft" in out
    ref = out.split()[1]
    listed = cli("handoff", "list")
    assert ref in listed and "draft" in listed
    assert "has not been sent yet" in cli("handoff", "ack", ref, ok=False)
    assert f"handoff {ref} sent to berlin" in cli("handoff", "send")
    shown = cli("handoff", "show", ref)
    assert shown.startswith("# Handoff: jakarta → berlin (sre)")
    assert "Watch the canary.\n" in shown  # the edit made in $EDITOR went out
    assert "- sent " in shown and "by ayu" in shown
    assert f"handoff {ref} from jakarta acknowledged" in cli("handoff", "ack", SUNRELAY_USER="anna")
    assert "acknowledged" in cli("handoff", "show", ref).splitlines()[-1]
    assert "already acknowledged by anna" in cli("handoff", "ack", ref, ok=False)


def test_update_is_recorded_and_queued_for_stakeholders_then_reported(cli: Cli) -> None:
    cli("trigger", "checkout 5xx", "--service", "checkout", "--severity", "sev1", "--priority", "P1")
    out = cli("update", "JKT-1", "Mitigated; monitoring.")
    assert out.strip() == "JKT-1 update recorded; sending to slack https://hooks.example.org/status"
    timeline = json.loads(cli("show", "JKT-1", "--json"))["timeline"]
    assert timeline[-1]["kind"] == "update"
    assert timeline[-1]["text"] == "status update: Mitigated; monitoring."
    cli("resolve", "JKT-1")
    assert "post the closing update before resolving" in cli("update", "JKT-1", "done", ok=False)
    csv = cli("report", "--since", "1d", "--by", "service", "--format", "csv").splitlines()
    assert csv[0].startswith("service,incidents") and csv[1].startswith("checkout,1,")
    md = cli("report", "incident", "JKT-1")
    assert md.startswith("# Post-incident report: JKT-1 — checkout 5xx")
    assert "status update: Mitigated; monitoring." in md and "## Root cause" in md
