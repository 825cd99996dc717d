"""This console as a sync peer: the endpoints it serves and the loops that pull and push."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from console.store.store import Store
from console.sync_replica import StoreReplica
from sync import peers
from sync.auth import Verifier
from sync.client import PeerClient
from sync.ops import Op
from sync.server import router
from sync.service import INTERVAL_S, PeerStatus, SyncService

log = logging.getLogger("sunrelay.sync")


def log_status(status: PeerStatus) -> None:
    if status.online:
        log.info("peer %s online (lag %d ops, clock offset %+.0f ms)", status.name, status.lag,
                 status.offset_ms or 0)
    else:
        log.warning("peer %s offline: %s (failures: %d)", status.name, status.error, status.failures)


class ObservedClient(PeerClient):
    """A peer client that keeps what the peer last said of itself: its policy digest
    and its version vector (from `info`, and after each push), which the sync loop
    reads and drops. They tell the console about a different policy set and about
    its own ops still waiting for that peer."""

    policy_digest: str | None = None
    vector: dict[str, int] | None = None
    peer_site: str | None = None

    async def info(self) -> dict[str, Any]:
        answer = await super().info()
        self.peer_site = answer.get("site")
        self.policy_digest = answer.get("policy_digest")
        self.vector = dict(answer.get("vector", {}))
        return answer

    async def push(self, ops: list[Op]) -> dict[str, Any]:
        answer = await super().push(ops)
        self.vector = dict(answer.get("vector", {}))
        return answer


@dataclass(frozen=True, slots=True)
class PeerView:
    """One peer as the console shows it."""

    status: PeerStatus
    url: str
    policy_digest: str | None  # None until it has answered
    waiting: int | None  # this console's ops the peer lacks; None until it has answered


class Replication:
    """Built from peers.toml: every configured peer is both pulled from and allowed in,
    under the key shared with it. Raises `peers.PeersError` for a bad peers.toml."""

    def __init__(self, store: Store, peers_file: Path, policy_digest: Callable[[], str | None],
                 *, on_new_ops: Callable[[], None] | None = None,
                 on_status: Callable[[PeerStatus], None] = log_status,
                 interval: tuple[float, float] = INTERVAL_S) -> None:
        entries = peers.load(peers_file)
        keys = peers.keyring(entries)
        self.urls = {e.name: e.url for e in entries}
        self.replica = StoreReplica(store, policy_digest, on_new_ops)
        self.clients = {e.name: ObservedClient(e.url, keys[e.key_id], store.site.site, verify=e.verify())
                        for e in entries}
        self.service = SyncService(self.replica, dict(self.clients), on_status=on_status, interval=interval)
        self.router = router(self.replica, Verifier(keys), poked=self.service.poked)

    def peers(self, local_seq: int) -> tuple[PeerView, ...]:
        """Every configured peer, given how many ops this console has made."""
        site = self.replica.site
        return tuple(
            PeerView(self.service.status[name], self.urls[name], client.policy_digest,
                     None if client.vector is None else max(0, local_seq - client.vector.get(site, 0)))
            for name, client in sorted(self.clients.items()))

    def last_heard(self, site: str) -> datetime | None:
        """When a sync round with that console last succeeded (None: not a peer, or not
        yet): the engine holds back from the incidents it owns while this is recent."""
        times = [self.service.status[name].last_ok for name, client in self.clients.items()
                 if client.peer_site == site]
        latest = max((t for t in times if t is not None), default=None)
        return None if latest is None else datetime.fromtimestamp(latest, UTC)

    async def aclose(self) -> None:
        for client in self.clients.values():
            await client.aclose()
