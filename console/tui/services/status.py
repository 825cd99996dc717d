"""The header line's facts: site, region, who I am, on call or not, local time
and UTC, and the state of the engine and sync services."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from policies.timeutil import zone

from ..model import HeaderInfo
from .queue import Me


@dataclass(frozen=True, slots=True)
class Services:
    """What runs beside the console. The engine (issue 4) and sync (issue 5) are
    started by the app when they exist; until then they read as not running and
    not configured, and every screen says so instead of failing."""

    engine: str = "not running"
    sync: str = "not configured"


def header(site: str, region: str | None, me: Me, on_call: bool, now: datetime,
           services: Services, readonly: bool) -> HeaderInfo:
    local = now.astimezone(zone(me.time_zone)) if me.time_zone else now.astimezone()
    return HeaderInfo(site, region, me.person or me.actor, on_call, f"{local:%a %H:%M}",
                      f"{now:%H:%MZ}", services.engine, services.sync, readonly)
