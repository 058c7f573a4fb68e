"""The PG stats service: what the OSDs last reported, kept in memory on the leader.

Ceph's manager keeps its PGMap in memory and rebuilds it from the OSDs' next reports
after a restart; so does this one. Every OSD reports its store usage and the stats of
the PGs it is primary for every ``osd_mon_report_interval``; a monitor that does not
lead passes the report on to the leader (so one map sees every report), and a monitor
that becomes leader starts from an empty map. Nothing here is replicated through Raft:
the figures are a cache of what the OSDs know. What the leader decides from them (full
flags, see `radospy.mon.full_status`) is replicated, as an OSDMap change.

Besides the last stat of every PG, the map keeps when each OSD last reported (a PG
whose primary is down or silent for ``mon_osd_report_timeout`` is shown ``stale``, as
Ceph's manager shows it) and the growth of the PGs' I/O and recovery counters over the
last `RATE_WINDOW` seconds, from which `ceph -s`, `ceph pg stat` and `ceph osd pool
stats` print client and recovery rates.

The map is a pure value: `apply_report` and `prune` change it; everything else reads.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field

import msgspec

from radospy.mon.messages import OsdStat, OsdStatReport, PgStat
from radospy.osdmap.osdmap import OSDMap
from radospy.osdmap.pg import PgId

UNKNOWN = "unknown"
"""The state of a PG no primary has reported yet, as `ceph -s` shows it."""

RATE_WINDOW = 10.0
"""Seconds of counter growth the I/O rates average over (Ceph's manager smooths over
``mon_stat_smooth_intervals`` reports)."""

COUNTERS = (
    "num_read",
    "num_read_kb",
    "num_write",
    "num_write_kb",
    "num_objects_recovered",
    "num_bytes_recovered",
    "num_keys_recovered",
)
"""The `PgStat` counters whose growth makes the rates."""


@dataclass(frozen=True)
class IoRates:
    """Per-second client and recovery rates (`pool_stat_t` deltas over their span)."""

    read_ops: float = 0.0
    read_bytes: float = 0.0
    write_ops: float = 0.0
    write_bytes: float = 0.0
    recovered_objects: float = 0.0
    recovered_bytes: float = 0.0
    recovered_keys: float = 0.0

    @property
    def client(self) -> bool:
        """Whether any client op counted (Ceph prints the client line only then)."""
        return bool(self.read_ops or self.write_ops)

    @property
    def recovery(self) -> bool:
        """Whether anything was recovered."""
        return bool(self.recovered_objects or self.recovered_bytes or self.recovered_keys)


def _rates(sums: list[int], span: float) -> IoRates:
    rd, rd_kb, wr, wr_kb, objects, nbytes, keys = (v / span for v in sums)
    return IoRates(rd, rd_kb * 1024, wr, wr_kb * 1024, objects, nbytes, keys)


def primary_of(pg: PgStat) -> int:
    """The reporting primary of a stat (older reports name only the acting set)."""
    if pg.acting_primary >= 0:
        return pg.acting_primary
    return pg.acting[0] if pg.acting else -1


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
    started: float = 0.0
    """When this map began (a new leader starts a new one): PGs nobody has reported
    count as stuck from then on at the earliest."""
    report_timeout: float = 900.0
    """``mon_osd_report_timeout``: a PG whose primary is silent this long is stale."""
    stuck_threshold: float = 60.0
    """``mon_pg_stuck_threshold``: seconds in a bad state before a PG counts as stuck."""
    version: int = 0
    """Reports taken (`ceph pg dump`'s ``version``)."""
    stamp: float = 0.0
    """When the last report was taken."""
    report_stamps: dict[int, float] = field(default_factory=dict)
    """When each OSD last reported."""
    _counters: dict[tuple[int, int, int], tuple[int, ...]] = field(default_factory=dict)
    """The last counters of each (pool, seed, primary)."""
    _deltas: deque[tuple[float, int, tuple[int, ...]]] = field(default_factory=deque)
    """(when, pool, counter growth) of the reports within `RATE_WINDOW`."""
    _first_seen: dict[tuple[int, int], float] = field(default_factory=dict)
    """When `note_pgs` first saw each PG in the map (an unreported PG is stuck from then)."""
    _placement: tuple[int, dict[int, set[int]]] = field(default=(0, {}), repr=False)
    """The last `pool_osds` result and the epoch it is for."""

    def note_pgs(self, osdmap: OSDMap, now: float) -> None:
        """Note the PGs of ``osdmap`` not seen before as created at ``now`` (the leader
        calls this every tick), and forget those that are gone."""
        keys = {(p.id, seed) for p in osdmap.pools.values() for seed in range(p.pg_num)}
        self._first_seen = {k: self._first_seen.get(k, max(now, self.started)) for k in keys}

    def apply_report(self, report: OsdStatReport, now: float = 0.0) -> None:
        """Take one OSD's report, received at ``now``. A PG's stat is replaced only by
        one reported under the same or a newer map epoch, so a late report from a
        former primary cannot undo its successor's."""
        self.osd_stats[report.osd] = report.stat
        self.report_stamps[report.osd] = now
        self.version += 1
        self.stamp = now
        for pg in report.pgs:
            key = (pg.pool, pg.seed)
            old = self.pg_stats.get(key)
            if old is None or pg.reported_epoch >= old.reported_epoch:
                self.pg_stats[key] = pg
            self._count(pg, report.osd, now)
        while self._deltas and self._deltas[0][0] <= now - RATE_WINDOW:
            self._deltas.popleft()

    def _count(self, pg: PgStat, osd: int, now: float) -> None:
        """Note the growth of a PG's counters on one primary. The first report of a
        primary is its baseline; counters that went back (the OSD restarted) start a
        new one."""
        counters = tuple(getattr(pg, name) for name in COUNTERS)
        key = (pg.pool, pg.seed, osd)
        last = self._counters.get(key)
        self._counters[key] = counters
        if last is None or any(n < o for n, o in zip(counters, last, strict=True)):
            return
        delta = tuple(n - o for n, o in zip(counters, last, strict=True))
        if any(delta):
            self._deltas.append((now, pg.pool, delta))

    def rates(self, now: float, pool: int | None = None) -> IoRates:
        """Client and recovery rates over the last `RATE_WINDOW` seconds (of one pool)."""
        sums = [0] * len(COUNTERS)
        for when, pool_id, delta in self._deltas:
            if when > now - RATE_WINDOW and (pool is None or pool_id == pool):
                sums = [a + b for a, b in zip(sums, delta, strict=True)]
        return _rates(sums, RATE_WINDOW)

    def is_stale(self, pg: PgStat, osdmap: OSDMap, now: float) -> bool:
        """Whether a reported PG's primary is down or silent too long to trust it."""
        primary = primary_of(pg)
        if primary < 0 or not osdmap.exists(primary) or not osdmap.is_up(primary):
            return True
        reported = self.report_stamps.get(primary)
        return reported is None or now - reported > self.report_timeout

    def current(self, osdmap: OSDMap, now: float) -> list[PgStat]:
        """Every PG of the map in pgid order as operators see it now: its last stat,
        ``stale+`` when its primary is down or silent, or an ``unknown`` placeholder
        (placed by the map, stamped when `note_pgs` first saw it, else ``now``) when
        nobody has reported it."""
        rows = []
        for pool_id in sorted(osdmap.pools):
            for seed in range(osdmap.pools[pool_id].pg_num):
                pg = self.pg_stats.get((pool_id, seed))
                if pg is None:
                    since = self._first_seen.get((pool_id, seed), now)
                    rows.append(self._unknown(osdmap, pool_id, seed, since))
                elif self.is_stale(pg, osdmap, now) and not pg.state.startswith("stale"):
                    rows.append(msgspec.structs.replace(pg, state="stale+" + pg.state))
                else:
                    rows.append(pg)
        return rows

    def _unknown(self, osdmap: OSDMap, pool: int, seed: int, t: float) -> PgStat:
        mapping = osdmap.pg_to_up_acting_osds(PgId(pool, seed))
        return PgStat(
            pool, seed, UNKNOWN, 0, acting=list(mapping.acting), up=list(mapping.up),
            up_primary=mapping.up_primary, acting_primary=mapping.acting_primary,
            last_fresh=t, last_change=t, last_active=t, last_peered=t, last_clean=t,
            last_unstale=t, last_undegraded=t, last_fullsized=t,
        )  # fmt: skip

    def prune(self, osdmap: OSDMap) -> None:
        """Forget the PGs of deleted pools (or beyond ``pg_num``) and OSDs that no
        longer exist."""
        self.pg_stats = {
            key: pg
            for key, pg in self.pg_stats.items()
            if key[0] in osdmap.pools and key[1] < osdmap.pools[key[0]].pg_num
        }
        self.osd_stats = {o: s for o, s in self.osd_stats.items() if osdmap.exists(o)}
        self._counters = {
            key: c
            for key, c in self._counters.items()
            if key[0] in osdmap.pools and key[1] < osdmap.pools[key[0]].pg_num
        }

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

    def pgs_by_state(self, osdmap: OSDMap, now: float) -> list[tuple[str, int]]:
        """(state, count) over every PG of the map, most common first (ties by name);
        a PG without a report is `unknown`, one whose primary is gone ``stale+...``."""
        counts = Counter(pg.state for pg in self.current(osdmap, now))
        return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))

    def pgs_by_osd(self) -> Counter[int]:
        """How many reported PGs each OSD is in the acting set of."""
        counts: Counter[int] = Counter()
        for pg in self.pg_stats.values():
            counts.update(set(pg.acting))
        return counts
