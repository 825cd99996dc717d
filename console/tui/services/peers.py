"""What the Peers screen can show before sync exists: every site whose ops this
store holds, with its head (seq and last stamp), and this console's own ops,
all of which wait for a peer to take them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select

from console.domain.fold import wall_ms
from console.store import db
from console.store.projection import ms_to_dt
from sync.tables import SiteHead

from .incident import site_names

HEADS = SiteHead.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class SiteRow:
    site: str
    name: str
    seq: int
    last_op_at: datetime | None
    local: bool


def sites(engine: Engine, local_site: str, local_name: str) -> list[SiteRow]:
    names = site_names(engine)
    names[local_site] = local_name
    with db.reading(engine) as conn:
        heads = list(conn.execute(select(HEADS.c.site, HEADS.c.seq, HEADS.c.hlc)))
    rows = [SiteRow(site, names.get(site, site[:8]), seq,
                    ms_to_dt(wall_ms(hlc)) if hlc else None, site == local_site)
            for site, seq, hlc in heads]
    rows.sort(key=lambda r: (not r.local, r.name))
    return rows
