"""A sync killed with SIGKILL in the middle of a large pull loses nothing."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from console.store.store import Store
from console.sync_replica import StoreReplica
from sync.client import PeerClient, pull_all
from tests.console.test_peers_cli import berlin_server
from tests.sync.conftest import KEY

CHILD = textwrap.dedent("""
    import asyncio, sys
    from console.store.store import Store
    from console.sync_replica import StoreReplica
    from sync.auth import Key
    from sync.client import PeerClient, pull_all
    store = Store.open(sys.argv[1], site_name="NYC")
    client = PeerClient(sys.argv[2], Key(sys.argv[3], "team", sys.argv[4].encode()), store.site.site)
    asyncio.run(pull_all(client, StoreReplica(store), limit=100))
""")


def killed_mid_sync(child: str, target: Path, url: str, at_least: int) -> int:
    """Run `child` syncing into `target` from `url`, SIGKILL it once `at_least` ops are
    in, check the file's integrity, and return how many ops it had committed."""
    proc = subprocess.Popen([sys.executable, "-c", child, f"sqlite:///{target}", url,
                             KEY.key_id, KEY.secret.decode()], env=os.environ.copy())
    deadline = time.monotonic() + 60
    while ops_in(target) < at_least and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    with sqlite3.connect(target) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    return ops_in(target)


def ops_in(path: Path) -> int:
    try:
        with sqlite3.connect(path, timeout=5) as conn:
            return int(conn.execute("SELECT count(*) FROM op_log").fetchone()[0])
    except sqlite3.DatabaseError:
        return 0


def test_sigkill_mid_pull_then_restart_completes(tmp_path: Path) -> None:
    source = Store.open(f"sqlite:///{tmp_path / 'jkt.db'}", site_name="JKT")
    with source.writing() as writes:
        for n in range(1500):
            writes.trigger("feed", title=f"alert {n}", service=f"svc-{n % 9}", severity="sev3")
    target = tmp_path / "nyc.db"
    with berlin_server(source, KEY) as url:
        held = killed_mid_sync(CHILD, target, url, 300)
        assert 0 < held < 1500, held  # killed mid-way, after some batches committed
        restarted = Store.open(f"sqlite:///{target}")
        try:
            assert restarted.verify() == []
            assert restarted.count_ops() % 100 == 0  # whole batches only, never part of one
            client = PeerClient(url, KEY, restarted.site.site)
            asyncio.run(pull_all(client, StoreReplica(restarted)))
            assert restarted.projection() == source.projection()
        finally:
            restarted.close()
    source.close()
