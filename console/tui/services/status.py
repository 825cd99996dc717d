"""The header line's facts: site, region, who I am, on call or not, local time
and UTC, and the state of the engine and sync services."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from policies.timeutil import zone

from ..model import HeaderInfo
from .queue import Me

if TYPE_CHECKING:
    from console.node import NodeState
    from console.replication import PeerView


@dataclass(frozen=True, slots=True)
class Services:
    """What runs beside the console, as the header and the Peers screen show it:
    made from the Node's state once a second (`from_node`), injected by tests.
    Without a Node (`--no-serve`, or before a policy set is in force) it reads as
    not running and not configured, and every screen says so instead of failing."""

    engine: str = "not running"
    sync: str = "not configured"
    sync_short: str = "sync not configured"
    http: str = "not serving"
    peers: tuple[PeerView, ...] = ()
    local_seq: int | None = None


def from_node(state: NodeState, http: str) -> Services:
    engine = "failing" if state.engine_error else state.engine
    return Services(engine, sync_text(state.peers), sync_text(state.peers, short=True), http,
                    state.peers, state.local_seq)


def sync_text(peers: tuple[PeerView, ...], *, short: bool = False) -> str:
    """`online`, `offline since 03:02Z`, `NYC offline since 03:02Z`, each with the
    ops of this console that a peer still lacks. `short` fits 80 columns:
    `NYC offline 03:02Z, 3 waiting`, `sync online`."""
    label = "sync " if short else ""
    if not peers:
        return f"{label}no peers"
    offline = [p for p in peers if p.status.online is False]
    if not offline:
        text = label + ("online" if all(p.status.online for p in peers) else "connecting")
    else:
        since = min(p.status.since or 0.0 for p in offline)
        names = "" if len(offline) == len(peers) else ", ".join(p.status.name for p in offline) + " "
        text = f"{names}offline {'' if short else 'since '}{datetime.fromtimestamp(since, UTC):%H:%MZ}"
    waiting = max(p.waiting or 0 for p in peers)
    return f"{text}, {waiting} {'' if short else 'ops '}waiting" if waiting else text


def header(site: str, region: str | None, me: Me, on_call: bool, now: datetime,
           services: Services, readonly: bool) -> HeaderInfo:
    local = now.astimezone(zone(me.time_zone)) if me.time_zone else now.astimezone()
    return HeaderInfo(site, region, me.person or me.actor, on_call, f"{local:%a %H:%M}",
                      f"{now:%H:%MZ}", services.engine, services.sync, services.sync_short, readonly)
