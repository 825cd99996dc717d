"""Keeping a console in sync with its peers, in the background.

Each peer gets a loop: pull what it has, push what it lacks, then wait a
jittered 5–15 s, or less when the peer pokes us or a local op is made. A peer
that does not answer is retried with exponential backoff and full jitter,
and every change of a peer's state is reported (the console shows it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from sync.client import PeerClient, PeerRefused, PeerUnavailable, pull_all, stream_all
from sync.oplog import BadOpError
from sync.protocol import BATCH_BYTES, BATCH_OPS
from sync.replica import Replica

log = logging.getLogger("sunrelay.sync")
INTERVAL_S = (5.0, 15.0)
# A peer this far ahead (a new console joining, or one back from a long outage)
# sends a snapshot: one stream instead of a round trip per 500 ops.
SNAPSHOT_LAG = 10 * BATCH_OPS
BACKOFF_BASE_S = 1.0
BACKOFF_CAP_S = 60.0


@dataclass(frozen=True, slots=True)
class PeerStatus:
    name: str
    online: bool | None = None  # None until the first attempt
    since: float | None = None  # when `online` last changed (Unix seconds)
    last_ok: float | None = None
    error: str | None = None
    failures: int = 0
    lag: int = 0  # ops the peer holds that we do not, as of the last round
    offset_ms: float | None = None  # the peer's clock minus ours, estimated


def lacking(theirs: dict[str, int], ours: dict[str, int]) -> int:
    """How many ops the holder of `theirs` has that the holder of `ours` lacks."""
    return sum(max(0, seq - ours.get(site, 0)) for site, seq in theirs.items())


def backoff(failures: int, rng: random.Random) -> float:
    """Full jitter: uniform in [0, min(cap, base * 2^(failures-1))]."""
    return rng.uniform(0.0, min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** max(0, failures - 1)))


class SyncService:
    def __init__(
        self, replica: Replica, clients: dict[str, PeerClient], *,
        now: Callable[[], float] = time.time, rng: random.Random | None = None,
        on_status: Callable[[PeerStatus], None] | None = None,
        interval: tuple[float, float] = INTERVAL_S,
    ) -> None:
        self.replica = replica
        self.interval = interval
        self.clients = clients
        self.now = now
        self.rng = rng or random.Random()
        self.on_status = on_status
        self.status = {name: PeerStatus(name) for name in clients}
        self._wake = {name: asyncio.Event() for name in clients}
        self._loop: asyncio.AbstractEventLoop | None = None

    async def sync_once(self, name: str) -> int:
        """One round with one peer; returns how many new ops we took. Never raises
        for a peer problem: it becomes the peer's status."""
        client = self.clients[name]
        try:
            sent_at = self.now()
            info = await client.info()
            answered_at = self.now()
            if info.get("name") == self.replica.name and info.get("site") != self.replica.site:
                raise PeerRefused(409, "same_name", (
                    f"the peer is another console named {self.replica.name}: the keys of "
                    "their incidents would collide with ours; give one of them another "
                    "SUNRELAY_SITE (on a new store)"))
            taken = await self._take(name, client, dict(info.get("vector", {})))
            await self._push_missing(client, dict(info.get("vector", {})))
        except PeerUnavailable as exc:
            self._update(name, online=False, error=str(exc), failures=self.status[name].failures + 1)
            return 0
        except PeerRefused as exc:  # it answered: up, but something needs a person
            self._update(name, online=True, error=str(exc), failures=self.status[name].failures + 1)
            return 0
        except BadOpError as exc:  # it relays a bad origin, now quarantined here
            self._update(name, online=True, error=f"refused ops of site {exc.site}: {exc}",
                         failures=self.status[name].failures + 1)
            return 0
        ours = await asyncio.to_thread(self.replica.vector)
        lag = lacking(dict(info.get("vector", {})), ours)
        offset = float(info.get("phys_now_ms", 0)) - (sent_at + answered_at) * 500
        self._update(name, online=True, error=None, failures=0, last_ok=answered_at, lag=lag,
                     offset_ms=offset)
        return taken

    async def _take(self, name: str, client: PeerClient, theirs: dict[str, int]) -> int:
        """Take what the peer has for us: by snapshot when far behind (a peer that
        does not serve one answers 404), then by pull for the rest; returns how
        many ops were new. When its `info` shows nothing we lack, no pull: a
        round started to push our fresh op takes two round trips instead of
        three (an op the peer makes meanwhile, it pushes or pokes us about)."""
        accepted = 0
        behind = lacking(theirs, await asyncio.to_thread(self.replica.vector))
        if not behind:
            return 0
        if behind >= SNAPSHOT_LAG:
            log.info("snapshot from %s: %d ops behind", name, behind)
            started = time.perf_counter()
            try:
                accepted = (await stream_all(client, self.replica))["accepted"]
            except PeerRefused as exc:
                if exc.status != 404:
                    raise
            log.info("snapshot from %s: took %d ops in %.1f s", name, accepted,
                     time.perf_counter() - started)
        pulled = await pull_all(client, self.replica)
        return accepted + sum(1 for o in pulled if o.status == "accepted")

    async def _push_missing(self, client: PeerClient, theirs: dict[str, int]) -> None:
        """Push what the peer lacks when it fits one batch: that is the fresh op the
        peer should see now. A peer further behind is poked to pull instead, so one
        backlog is not carried both ways at once."""
        ops, more = await asyncio.to_thread(self.replica.ops_after, theirs, BATCH_OPS, BATCH_BYTES)
        if more:
            await client.poke()
        elif ops:
            await client.push(ops)

    def _update(self, name: str, **changes: object) -> None:
        before = self.status[name]
        after = replace(before, **changes)  # type: ignore[arg-type]
        if after.online != before.online:
            after = replace(after, since=self.now())
        self.status[name] = after
        if self.on_status is not None and after != before:
            self.on_status(after)

    def poked(self, name: str) -> None:
        """A peer told us it has new ops: go now. Safe from any thread."""
        if name in self._wake:
            self._set(self._wake[name])

    def local_change(self) -> None:
        """We made an op: every peer should hear of it now. Safe from any thread
        (the ingest writer calls it after each commit)."""
        for event in self._wake.values():
            self._set(event)

    def _set(self, event: asyncio.Event) -> None:
        if self._loop is None:
            event.set()
        else:
            with contextlib.suppress(RuntimeError):  # the loop has closed: shutting down
                self._loop.call_soon_threadsafe(event.set)

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        await asyncio.gather(*(self._peer_loop(name) for name in self.clients))

    async def _peer_loop(self, name: str) -> None:
        while True:
            await self.sync_once(name)
            failures = self.status[name].failures
            delay = backoff(failures, self.rng) if failures else self.rng.uniform(*self.interval)
            wake = self._wake[name]
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), delay)
            wake.clear()
