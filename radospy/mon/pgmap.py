"""The PG stats service: what the OSDs last reported, kept in memory on the leader.

Ceph's manager keeps its PGMap in memory and rebuilds it from the OSDs' next reports
after a restart; so does this one. Every OSD reports its store usage and the stats of
the PGs it is primary for every ``osd_mon_report_interval``; a monitor that does not
lead passes the report on to the leader (so one map sees every report), and a monitor
that becomes leader starts from an empty map. Nothing here is replicated through Raft:
the figures are a cache of what the OSDs know. What the leader decides from them (full
flags, see `radospy.mon.full_status`) is replicated, as an OSDMap change.

The map is a pure value: `apply_report` and `prune` change it; everything else reads.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from radospy.mon.messages import OsdStat, OsdStatReport, PgStat
from radospy.osdmap.osdmap import OSDMap
from radospy.osdmap.pg import PgId

UNKNOWN = "unknown"
"""The state of a PG no primary has reported yet, as `ceph -s` shows it."""


@dataclass(frozen=True)
class PoolStats:
    """A pool's sums over its reported PGs (`pool_stat_t`, the part we keep)."""

    num_objects: int = 0
    num_bytes: int = 0
    num_pgs: int = 0
    """PGs that have a reported stat."""


@dataclass(frozen=True)
class OsdSum:
    """Usage summed over OSDs (`osd_sum.statfs`)."""

    total: int = 0
    available: int = 0
    data: int = 0
    omap: int = 0
    num_osds: int = 0

    @property
    def used_raw(self) -> int:
        """Raw space in use: ``total - available`` (Ceph's `get_used_raw`)."""
        return max(0, self.total - self.available)

    @property
    def used_raw_ratio(self) -> float:
        return self.used_raw / self.total if self.total else 0.0


def used_raw(stat: OsdStat) -> int:
    """One OSD's raw space in use."""
    return max(0, stat.total - stat.available)


def used_ratio(stat: OsdStat) -> float:
    """One OSD's fill ratio, 0 for an OSD that reports no capacity."""
    return used_raw(stat) / stat.total if stat.total else 0.0


@dataclass
class PGMap:
    """The last reported stats per OSD and per PG."""

    osd_stats: dict[int, OsdStat] = field(default_factory=dict)
    pg_stats: dict[tuple[int, int], PgStat] = field(default_factory=dict)
    _placement: tuple[int, dict[int, set[int]]] = field(default=(0, {}), repr=False)
    """The last `pool_osds` result and the epoch it is for."""

    def apply_report(self, report: OsdStatReport) -> None:
        """Take one OSD's report. A PG's stat is replaced only by one reported under the
        same or a newer map epoch, so a late report from a former primary cannot undo
        its successor's."""
        self.osd_stats[report.osd] = report.stat
        for pg in report.pgs:
            key = (pg.pool, pg.seed)
            old = self.pg_stats.get(key)
            if old is None or pg.reported_epoch >= old.reported_epoch:
                self.pg_stats[key] = pg

    def prune(self, osdmap: OSDMap) -> None:
        """Forget the PGs of deleted pools (or beyond ``pg_num``) and OSDs that no
        longer exist."""
        self.pg_stats = {
            key: pg
            for key, pg in self.pg_stats.items()
            if key[0] in osdmap.pools and key[1] < osdmap.pools[key[0]].pg_num
        }
        self.osd_stats = {o: s for o, s in self.osd_stats.items() if osdmap.exists(o)}

    def pool_osds(self, osdmap: OSDMap) -> dict[int, set[int]]:
        """The OSDs each pool's PGs map to (up and acting), computed once per epoch:
        placing every PG costs CPU, so the leader precomputes it off its event loop."""
        epoch, cached = self._placement
        if epoch == osdmap.epoch and epoch:
            return cached
        out: dict[int, set[int]] = {}
        for pool in osdmap.pools.values():
            osds: set[int] = set()
            for seed in range(pool.pg_num):
                mapping = osdmap.pg_to_up_acting_osds(PgId(pool.id, seed))
                osds.update(o for o in (*mapping.up, *mapping.acting) if o >= 0)
            out[pool.id] = osds
        self._placement = (osdmap.epoch, out)
        return out

    # --- aggregates ---------------------------------------------------------------------

    def pool_stats(self) -> dict[int, PoolStats]:
        """Sums per pool, for every pool with at least one reported PG."""
        objects: Counter[int] = Counter()
        size: Counter[int] = Counter()
        pgs: Counter[int] = Counter()
        for (pool, _), pg in self.pg_stats.items():
            objects[pool] += pg.num_objects
            size[pool] += pg.num_bytes
            pgs[pool] += 1
        return {p: PoolStats(objects[p], size[p], pgs[p]) for p in sorted(pgs)}

    def pool_complete(self, osdmap: OSDMap, pool_id: int) -> bool:
        """Whether every PG of the pool has a reported stat (its sums are exact)."""
        pool = osdmap.pools.get(pool_id)
        if pool is None:
            return False
        return all((pool_id, seed) in self.pg_stats for seed in range(pool.pg_num))

    def osd_sum(self, osds: set[int] | None = None) -> OsdSum:
        """Usage summed over the reporting OSDs (those in ``osds`` when given)."""
        stats = [s for o, s in self.osd_stats.items() if osds is None or o in osds]
        return OsdSum(
            total=sum(s.total for s in stats),
            available=sum(s.available for s in stats),
            data=sum(s.data for s in stats),
            omap=sum(s.omap for s in stats),
            num_osds=len(stats),
        )

    def num_objects(self) -> int:
        """Objects in all PGs (replicas not counted)."""
        return sum(pg.num_objects for pg in self.pg_stats.values())

    def num_bytes(self) -> int:
        """Logical bytes in all PGs (replicas not counted)."""
        return sum(pg.num_bytes for pg in self.pg_stats.values())

    def pgs_by_state(self, osdmap: OSDMap) -> list[tuple[str, int]]:
        """(state, count) over every PG of the map, most common first (ties by name);
        a PG without a report is `unknown`."""
        counts: Counter[str] = Counter()
        for pool in osdmap.pools.values():
            for seed in range(pool.pg_num):
                pg = self.pg_stats.get((pool.id, seed))
                counts[pg.state if pg is not None else UNKNOWN] += 1
        return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))

    def pgs_by_osd(self) -> Counter[int]:
        """How many reported PGs each OSD is in the acting set of."""
        counts: Counter[int] = Counter()
        for pg in self.pg_stats.values():
            counts.update(set(pg.acting))
        return counts
