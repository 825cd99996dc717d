"""This console as a sync peer: the endpoints it serves and the loops that pull and push."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from console.store.store import Store
from console.sync_replica import StoreReplica
from sync import peers
from sync.auth import Verifier
from sync.client import PeerClient
from sync.server import router
from sync.service import INTERVAL_S, PeerStatus, SyncService

log = logging.getLogger("sunrelay.sync")


def log_status(status: PeerStatus) -> None:
    if status.online:
        log.info("peer %s online (lag %d ops, clock offset %+.0f ms)", status.name, status.lag,
                 status.offset_ms or 0)
    else:
        log.warning("peer %s offline: %s (failures: %d)", status.name, status.error, status.failures)


class Replication:
    """Built from peers.toml: every configured peer is both pulled from and allowed in,
    under the key shared with it. Raises `peers.PeersError` for a bad peers.toml."""

    def __init__(self, store: Store, peers_file: Path, policy_digest: Callable[[], str | None],
                 *, on_new_ops: Callable[[], None] | None = None,
                 on_status: Callable[[PeerStatus], None] = log_status,
                 interval: tuple[float, float] = INTERVAL_S) -> None:
        entries = peers.load(peers_file)
        keys = peers.keyring(entries)
        self.replica = StoreReplica(store, policy_digest, on_new_ops)
        self.clients = {e.name: PeerClient(e.url, keys[e.key_id], store.site.site) for e in entries}
        self.service = SyncService(self.replica, self.clients, on_status=on_status, interval=interval)
        self.router = router(self.replica, Verifier(keys), poked=self.service.poked)
