"""The real program in a real terminal: `q`, SIGTERM and SIGHUP exit 0 with the
terminal restored, and `sunrelay demo` driven through tmux end to end."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import EXAMPLES

SUNRELAY = [sys.executable, "-m", "console"]
LEAVE_ALT_SCREEN = b"\x1b[?1049l"


def read_until(fd: int, needle: bytes, timeout: float) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and needle not in seen:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                seen += os.read(fd, 65536)
            except OSError:
                break
    return seen


def drain(fd: int, proc: subprocess.Popen[bytes], timeout: float) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
        elif proc.poll() is not None:
            break
    return seen


@pytest.mark.parametrize("how", ["q", "SIGTERM", "SIGHUP"])
def test_exits_cleanly(db_path: Path, how: str) -> None:
    master, slave = pty.openpty()
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "80", "LINES": "24",
           "SUNRELAY_POLICIES": str(EXAMPLES)}
    proc = subprocess.Popen([*SUNRELAY, "--db", str(db_path), "--as", "budi"], stdin=slave,
                            stdout=slave, stderr=slave, env=env, start_new_session=True)
    os.close(slave)
    try:
        first = read_until(master, b"JKT-5", 30)
        assert b"JKT-5" in first, first[-500:]
        if how == "q":
            os.write(master, b"q")
        else:
            proc.send_signal(getattr(signal, how))
        rest = drain(master, proc, 15)
        assert proc.wait(timeout=15) == 0
        assert LEAVE_ALT_SCREEN in first + rest
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], check=True, capture_output=True, text=True).stdout


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_demo_end_to_end(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    session = f"sunrelay-e2e-{os.getpid()}"
    command = " ".join([*SUNRELAY, "demo", "--db", str(db), "--no-feed"])
    tmux("new-session", "-d", "-s", session, "-x", "100", "-y", "30",
         f"cd {Path.cwd()} && {command}; echo EXIT=$?; sleep 30")
    try:
        screen = ""
        for _ in range(150):
            screen = tmux("capture-pane", "-p", "-t", session)
            if "Checkout p99" in screen:
                break
            time.sleep(0.2)
        top = re.search(r"SEV1 P1 (JKT-\d+)\s+Checkout p99.*TRIG", screen)
        assert top, screen
        key = top.group(1)
        tmux("send-keys", "-t", session, "a")
        time.sleep(1)
        tmux("send-keys", "-t", session, "n")
        time.sleep(1)
        tmux("send-keys", "-t", session, "-l", "rolled back the deploy")
        tmux("send-keys", "-t", session, "Enter")
        time.sleep(1.5)
        tmux("send-keys", "-t", session, "q")
        for _ in range(50):
            screen = tmux("capture-pane", "-p", "-t", session)
            if "EXIT=" in screen:
                break
            time.sleep(0.2)
        assert "EXIT=0" in screen, screen
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
    shown = subprocess.run([*SUNRELAY, "show", key, "--db", str(db), "--json"],
                           check=True, capture_output=True, text=True).stdout
    incident = json.loads(shown)
    assert incident["status"] == "acknowledged"
    assert incident["acknowledged_by"] in ("ayu", "budi", "citra")
    assert [n["text"] for n in incident["notes"]] == ["rolled back the deploy"]
