"""Full ratios and pool quotas: which OSDs and pools the leader marks full.

From the PG stats (`radospy.mon.pgmap`) and the OSDMap, as Ceph's monitors decide:

* an OSD whose used raw space is above the map's ``full_ratio`` is ``full``, else above
  ``backfillfull_ratio`` ``backfillfull``, else above ``nearfull_ratio`` ``nearfull``
  (the OSD state bits `osd dump` shows);
* a pool whose objects or bytes reached ``quota_max_objects``/``quota_max_bytes`` gets
  ``full_quota`` and ``full`` (OSDMonitor::update_pools_status);
* otherwise a pool whose PGs map to a full OSD is ``full``, to a backfillfull one
  ``backfillfull``, to a nearfull one ``nearfull`` (OSDMonitor::encode_pending).

What the stats do not cover is left as the map has it: an OSD that has not reported
since this monitor became leader keeps its bits, and so does the quota bit of a pool
whose PGs have not all been reported, so a new leader with an empty PG map never clears
a flag it cannot judge.

`changes` returns only what differs from the map; the leader proposes that as one
`osd full-status` command, so every monitor applies the same decision.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from radospy.common.units import byte_u
from radospy.mon.messages import OsdStat
from radospy.mon.pgmap import PGMap, used_ratio
from radospy.osdmap.osdmap import OSDMap, OsdStateFlag
from radospy.osdmap.pool import Pool, PoolFlag

OSD_FULL_BITS = OsdStateFlag.FULL | OsdStateFlag.BACKFILLFULL | OsdStateFlag.NEARFULL
POOL_FULL_BITS = PoolFlag.FULL | PoolFlag.FULL_QUOTA | PoolFlag.BACKFILLFULL | PoolFlag.NEARFULL


@dataclass(frozen=True)
class FullChanges:
    """New full bits for the OSDs and pools whose bits change (other bits untouched)."""

    osds: dict[int, int] = field(default_factory=dict)
    pools: dict[int, int] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.osds or self.pools)

    def to_words(self) -> list[str]:
        """The `states` argument of `osd full-status`: `osd.3=full`, `pool.1=` (none)."""
        words = [f"osd.{o}={_names(b, _OSD_NAMES)}" for o, b in sorted(self.osds.items())]
        words += [f"pool.{p}={_names(b, _POOL_NAMES)}" for p, b in sorted(self.pools.items())]
        return words


_OSD_NAMES = {
    "full": OsdStateFlag.FULL,
    "backfillfull": OsdStateFlag.BACKFILLFULL,
    "nearfull": OsdStateFlag.NEARFULL,
}
_POOL_NAMES = {
    "full": PoolFlag.FULL,
    "full_quota": PoolFlag.FULL_QUOTA,
    "backfillfull": PoolFlag.BACKFILLFULL,
    "nearfull": PoolFlag.NEARFULL,
}


def _names(bits: int, names: dict[str, int]) -> str:
    return ",".join(n for n, b in names.items() if bits & b)


def parse_word(word: str) -> tuple[str, int, int]:
    """One `states` word back to (`osd`|`pool`, id, bits); ValueError when malformed."""
    who, eq, flags = word.partition("=")
    kind, dot, ident = who.partition(".")
    if not eq or not dot or kind not in ("osd", "pool") or not ident.isdigit():
        raise ValueError(f"bad full-status item '{word}'")
    names = _OSD_NAMES if kind == "osd" else _POOL_NAMES
    bits = 0
    for name in filter(None, flags.split(",")):
        if name not in names:
            raise ValueError(f"unknown {kind} full flag '{name}'")
        bits |= names[name]
    return kind, int(ident), bits


def osd_full_bits(stat: OsdStat, osdmap: OSDMap) -> int:
    """The full state an OSD's usage puts it in under the map's ratios."""
    ratio = used_ratio(stat)
    if ratio > osdmap.full_ratio:
        return int(OsdStateFlag.FULL)
    if ratio > osdmap.backfillfull_ratio:
        return int(OsdStateFlag.BACKFILLFULL)
    if ratio > osdmap.nearfull_ratio:
        return int(OsdStateFlag.NEARFULL)
    return 0


def quota_reached(pool: Pool, num_objects: int, num_bytes: int) -> bool:
    """Whether a pool's usage reached one of its quotas (0 means no quota)."""
    return bool(
        (pool.quota_max_objects and num_objects >= pool.quota_max_objects)
        or (pool.quota_max_bytes and num_bytes >= pool.quota_max_bytes)
    )


def changes(osdmap: OSDMap, pgmap: PGMap, placement: dict[int, set[int]]) -> FullChanges:
    """The full bits to change in `osdmap`, given the stats and each pool's OSDs."""
    osd_bits: dict[int, int] = {}
    for osd in range(osdmap.max_osd):
        if not osdmap.exists(osd):
            continue
        current = osdmap.osds[osd].state & OSD_FULL_BITS
        stat = pgmap.osd_stats.get(osd)
        osd_bits[osd] = osd_full_bits(stat, osdmap) if stat is not None else current
    osds = {o: b for o, b in osd_bits.items() if b != osdmap.osds[o].state & OSD_FULL_BITS}
    sums = pgmap.pool_stats()
    pools: dict[int, int] = {}
    for pool_id, pool in sorted(osdmap.pools.items()):
        current = pool.flags & POOL_FULL_BITS
        if pgmap.pool_complete(osdmap, pool_id):
            s = sums[pool_id]
            over_quota = quota_reached(pool, s.num_objects, s.num_bytes)
        else:
            over_quota = bool(current & PoolFlag.FULL_QUOTA)
        space = 0
        for osd in placement.get(pool_id, set()):
            space |= osd_bits.get(osd, 0)
        if over_quota:
            wanted = PoolFlag.FULL | PoolFlag.FULL_QUOTA
        elif space & OsdStateFlag.FULL:
            wanted = PoolFlag.FULL
        elif space & OsdStateFlag.BACKFILLFULL:
            wanted = PoolFlag.BACKFILLFULL
        elif space & OsdStateFlag.NEARFULL:
            wanted = PoolFlag.NEARFULL
        else:
            wanted = PoolFlag(0)
        if int(wanted) != current:
            pools[pool_id] = int(wanted)
    return FullChanges(osds, pools)


def usage_summary(pgmap: PGMap) -> str:
    """The reported fill of every OSD, for the log line of a full-status change:
    ``osd.0 95.2% osd.1 40.0%``."""
    return " ".join(
        f"osd.{osd} {100 * used_ratio(stat):.1f}%" for osd, stat in sorted(pgmap.osd_stats.items())
    )


def describe(before: OSDMap, after: OSDMap, pgmap: PGMap) -> list[str]:
    """The cluster-log lines Ceph writes when quota flags change between two maps."""
    sums = pgmap.pool_stats()
    lines: list[str] = []
    for pool_id, pool in sorted(after.pools.items()):
        old = before.pools.get(pool_id)
        was = bool(old is not None and old.flags & PoolFlag.FULL_QUOTA)
        now = bool(pool.flags & PoolFlag.FULL_QUOTA)
        if was and not now:
            lines.append(f"pool '{pool.name}' no longer out of quota; removing NO_QUOTA flag")
        elif now and not was and pool_id in sums:
            s = sums[pool_id]
            if pool.quota_max_bytes and s.num_bytes >= pool.quota_max_bytes:
                lines.append(
                    f"pool '{pool.name}' is full (reached quota's max_bytes: "
                    f"{byte_u(pool.quota_max_bytes)})"
                )
            if pool.quota_max_objects and s.num_objects >= pool.quota_max_objects:
                lines.append(
                    f"pool '{pool.name}' is full (reached quota's max_objects: "
                    f"{pool.quota_max_objects})"
                )
    return lines
