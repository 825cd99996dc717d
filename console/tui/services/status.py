"""The header line's facts: site, region, who I am, on call or not, local time
and UTC, and the state of the engine and sync services."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from console import i18n
from console.i18n import _, _l, ngettext

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
    sync: str = field(default_factory=lambda: _("not configured"))
    sync_short: str = field(default_factory=lambda: _("sync not configured"))
    http: str = field(default_factory=lambda: _("not serving"))
    peers: tuple[PeerView, ...] = ()
    local_seq: int | None = None


# The engine's states (`Services.engine`) as people read them; the values stay English.
ENGINE_STATES = {"not running": _l("not running"), "off": _l("off"), "starting": _l("starting"),
                 "running": _l("running"), "standby": _l("standby"), "behind": _l("behind"),
                 "failing": _l("failing")}


def engine_text(state: str) -> str:
    return str(ENGINE_STATES.get(state, state))


def from_node(state: NodeState, http: str) -> Services:
    engine = "failing" if state.engine_error else state.engine
    return Services(engine, sync_text(state.peers), sync_text(state.peers, short=True), http,
                    state.peers, state.local_seq)


def sync_text(peers: tuple[PeerView, ...], *, short: bool = False) -> str:
    """`online`, `offline since 03:02Z`, `NYC offline since 03:02Z`, each with the
    ops of this console that a peer still lacks. `short` fits 80 columns:
    `NYC offline 03:02Z, 3 waiting`, `sync online`."""
    if not peers:
        return _("sync no peers") if short else _("no peers")
    offline = [p for p in peers if p.status.online is False]
    if not offline:
        online = all(p.status.online for p in peers)
        if short:
            text = _("sync online") if online else _("sync connecting")
        else:
            text = _("online") if online else _("connecting")
    else:
        since = min(p.status.since or 0.0 for p in offline)
        at = i18n.moment(datetime.fromtimestamp(since, UTC), UTC, None) + "Z"
        names = "" if len(offline) == len(peers) else ", ".join(p.status.name for p in offline) + " "
        text = names + (_("offline {time}") if short else _("offline since {time}")).format(time=at)
    waiting = max(p.waiting or 0 for p in peers)
    if not waiting:
        return text
    return (_("{state}, {n} waiting") if short else ngettext(
        "{state}, {n} op waiting", "{state}, {n} ops waiting", waiting)).format(state=text, n=waiting)


def header(site: str, region: str | None, me: Me, on_call: bool, now: datetime,
           services: Services, readonly: bool) -> HeaderInfo:
    # A zone the policy set has checked: ZoneInfo, not `policies.timeutil`, whose import
    # brings the whole policy package before the first frame.
    local = now.astimezone(ZoneInfo(me.time_zone)) if me.time_zone else now.astimezone()
    return HeaderInfo(site, region, me.person or me.actor, on_call,
                      i18n.moment(local, local.tzinfo or UTC, None, "EHm"),
                      i18n.moment(now, UTC, None) + "Z", services.engine, services.sync,
                      services.sync_short, readonly)

