"""The real program in a real terminal: `q`, SIGTERM and SIGHUP exit 0 with the
terminal restored (the embedded HTTP server leaves those signals to the console),
`sunrelay demo` driven through tmux end to end, and the demo's two peer consoles
gone when it ends, whichever way it ends."""

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


def children(pid: int) -> list[int]:
    """Processes whose parent is `pid` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.parametrize("how", ["q", "SIGTERM", "SIGHUP"])
def test_exits_cleanly(tmp_path: Path, db_path: Path, how: str) -> None:
    master, slave = pty.openpty()
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "80", "LINES": "24",
           "SUNRELAY_POLICIES": str(EXAMPLES), "XDG_DATA_HOME": str(tmp_path)}
    proc = subprocess.Popen([*SUNRELAY, "--db", str(db_path), "--as", "budi", "--port", "0"], stdin=slave,
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
        top = re.search(r"SEV1 P1 (JKT-\d+)\s+Checkout p99", screen)
        assert top, screen
        key = top.group(1)
        demo = int(tmux("display-message", "-p", "-t", session, "#{pane_pid}"))
        regions = [p for shell in [demo, *children(demo)] for p in children(shell)
                   if b"serve" in Path(f"/proc/{p}/cmdline").read_bytes()]
        assert len(regions) == 2, regions
        tmux("send-keys", "-t", session, "5")
        for _ in range(150):
            screen = tmux("capture-pane", "-p", "-t", session)
            if re.search(r"BER\s+online since", screen) and re.search(r"NYC\s+online since", screen):
                break
            time.sleep(0.2)
        assert re.search(r"NYC\s+online since", screen), screen
        tmux("send-keys", "-t", session, "1")
        time.sleep(1)
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
        assert not [p for p in regions if alive(p)]
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
    shown = subprocess.run([*SUNRELAY, "show", key, "--db", str(db), "--json"],
                           check=True, capture_output=True, text=True).stdout
    incident = json.loads(shown)
    assert incident["status"] == "acknowledged"
    assert incident["acknowledged_by"] in ("ayu", "budi", "citra")
    assert [n["text"] for n in incident["notes"]] == ["rolled back the deploy"]


def test_demo_hung_up_leaves_no_process_behind(tmp_path: Path) -> None:
    """An SSH drop in the middle of the demo: the console exits 0 and stops Berlin and
    New York; nothing of the demo stays running, its temporary directory is gone."""
    master, slave = pty.openpty()
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "100", "LINES": "30",
           "TMPDIR": str(tmp_path)}
    proc = subprocess.Popen([*SUNRELAY, "demo", "--interval", "0.5"], stdin=slave, stdout=slave,
                            stderr=slave, env=env, start_new_session=True)
    os.close(slave)
    try:
        assert b"Checkout p99" in read_until(master, b"Checkout p99", 60)
        deadline = time.monotonic() + 30
        while len(regions := children(proc.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(regions) == 2
        proc.send_signal(signal.SIGHUP)
        drain(master, proc, 20)
        assert proc.wait(timeout=20) == 0
        assert not [p for p in regions if alive(p)]
        assert not list(tmp_path.glob("sunrelay-demo-*"))
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
