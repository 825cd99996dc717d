"""The console as a full peer: the same Node as `sunrelay serve` (console/node.py),
run in a worker thread with an event loop of its own, so HTTP, sync and the engine
never wait on a repaint and a repaint never waits on them.

`console.node` pulls in the HTTP stack; it is imported when the Node is built,
after the first frame, never when the console starts.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import socket

    from console.node import Node, NodeState
    from console.store.store import Store
    from policies import PolicySet
    from sync.service import PeerStatus

STATE_EVERY_S = 1.0


@dataclass(frozen=True, slots=True)
class ServeOptions:
    """How the console runs its Node (`sunrelay --host/--port/--no-engine/--peers`)."""

    peers_file: Path | None  # None: next to the store
    host: str = "127.0.0.1"
    port: int = 8765
    engine: bool = True
    sync_every: float = 10.0
    lease_seconds: float = 15.0
    regions: tuple[str, ...] | None = None  # None: handoffs of every region


class NodeRuntime:
    """Builds the Node, binds its port and runs it until `stop`. The callbacks run on
    the Node's thread: `on_state` once a second, `on_status` on each peer change."""

    def __init__(self, options: ServeOptions, store: Store, policy_set: PolicySet, *,
                 on_state: Callable[[NodeState], None],
                 on_status: Callable[[PeerStatus], None]) -> None:
        self.options = options
        self.store = store
        self.policy_set = policy_set  # replaced by the console when an edit is in force
        self.on_state = on_state
        self.on_status = on_status
        self.node: Node | None = None
        self.sock: socket.socket | None = None
        self.serving: str | None = None
        self.finished = threading.Event()
        self._stopping = False

    def open(self) -> str | None:
        """Build the Node and bind its port (blocking). Returns why it cannot serve HTTP
        (the port is taken), in which case the engine and sync still run: the other
        console on this port's host probably shares the store. Raises
        `sync.peers.PeersError` for a bad peers.toml, ValueError for a bad
        SUNRELAY_SMTP (the mail relay, as for `sunrelay serve`)."""
        from console.node import BindError, Node, NodeOptions, bind, webhook_secret
        from console.notify.channels import SmtpConfig
        from console.peers_cli import peers_path

        o = self.options
        smtp = os.environ.get("SUNRELAY_SMTP")
        self.node = Node(self.store, lambda: self.policy_set,
                         NodeOptions(peers_path(o.peers_file), engine=o.engine, lease_seconds=o.lease_seconds,
                                     smtp=SmtpConfig.from_url(smtp) if smtp else None,
                                     webhook_secret=webhook_secret(), sync_every=o.sync_every,
                                     regions=o.regions),
                         background=[self._report], on_status=self.on_status)
        try:
            self.sock = bind(o.host, o.port)
        except BindError as exc:
            return str(exc)
        host, port = self.sock.getsockname()[:2]
        self.serving = f"{host}:{port}"
        return None

    def run(self) -> None:
        """Blocks until `stop`; the Node's loop lives and dies in this call."""
        assert self.node is not None
        try:
            if not self._stopping:
                asyncio.run(self.node.run(self.sock, embedded=True))
        finally:
            self.finished.set()

    def stop(self, timeout: float) -> None:
        """Stop gracefully (the engine lease is released) and wait for it."""
        self._stopping = True
        if self.node is not None:
            self.node.stop()
            self.finished.wait(timeout)

    def changed(self) -> None:
        """Someone wrote to the store: peers and the engine hear of it now."""
        if self.node is not None:
            self.node.changed()

    async def _report(self) -> None:
        assert self.node is not None
        while True:
            self.on_state(await asyncio.to_thread(self.node.state))
            await asyncio.sleep(STATE_EVERY_S)
