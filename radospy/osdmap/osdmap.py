"""The OSDMap: OSD states, pools, the CRUSH map and the exceptions to CRUSH.

`pg_to_up_acting_osds` is the placement every daemon and client agrees on. It follows
`OSDMap.cc` step by step: CRUSH with the in/out weights (`_pg_to_raw_osds`), nonexistent
OSDs removed, `pg_upmap` / `pg_upmap_items` (`_apply_upmap`), down OSDs dropped or turned
into holes (`_raw_to_up_osds`), primary affinity (`_apply_primary_affinity`), and
finally `pg_temp` / `primary_temp` for the acting set (`_get_temp_osds`).
"""

from __future__ import annotations

import copy
import enum
from dataclasses import dataclass, field
from typing import Any

from radospy.common.errors import Exists, NotFound
from radospy.crush.builder import derive
from radospy.crush.dump import bucket_array_size, from_dump, to_dump
from radospy.crush.hash import crush_hash32_2
from radospy.crush.map import (
    ALL_BUCKET_ALGS,
    DEFAULT_CHOOSE_ARGS,
    HASH_RJENKINS1,
    ITEM_NONE,
    WEIGHT_ONE,
    Bucket,
    BucketAlg,
    CrushMap,
    Op,
    Rule,
    RuleStep,
    RuleType,
    Tunables,
)
from radospy.crush.mapper import do_rule
from radospy.osdmap.pg import PgId
from radospy.osdmap.pool import Pool, PoolFlag, PoolType, default_min_size

WEIGHT_IN = 0x10000
"""CEPH_OSD_IN: reweight 1.0 (16.16)."""

WEIGHT_OUT = 0
"""CEPH_OSD_OUT: reweight 0, the OSD gets no data."""

DEFAULT_PRIMARY_AFFINITY = 0x10000
"""CEPH_OSD_DEFAULT_PRIMARY_AFFINITY (and the maximum): always eligible as primary."""

ZERO_UUID = "00000000-0000-0000-0000-000000000000"


class OsdStateFlag(enum.IntFlag):
    """CEPH_OSD_* state bits."""

    EXISTS = 1 << 0
    UP = 1 << 1
    AUTOOUT = 1 << 2
    NEW = 1 << 3
    FULL = 1 << 4
    NEARFULL = 1 << 5
    BACKFILLFULL = 1 << 6
    DESTROYED = 1 << 7
    NOUP = 1 << 8
    NODOWN = 1 << 9
    NOIN = 1 << 10
    NOOUT = 1 << 11
    STOP = 1 << 12


# Plain ints: ``int & OsdStateFlag.UP`` goes through the enum machinery, ~10x slower,
# and the monitor asks up/exists of every OSD for every epoch it applies.
_EXISTS = OsdStateFlag.EXISTS.value
_EXISTS_UP = (OsdStateFlag.EXISTS | OsdStateFlag.UP).value

OSD_STATE_NAMES: dict[int, str] = {
    OsdStateFlag.EXISTS: "exists",
    OsdStateFlag.UP: "up",
    OsdStateFlag.AUTOOUT: "autoout",
    OsdStateFlag.NEW: "new",
    OsdStateFlag.FULL: "full",
    OsdStateFlag.NEARFULL: "nearfull",
    OsdStateFlag.BACKFILLFULL: "backfillfull",
    OsdStateFlag.DESTROYED: "destroyed",
    OsdStateFlag.NOUP: "noup",
    OsdStateFlag.NODOWN: "nodown",
    OsdStateFlag.NOIN: "noin",
    OsdStateFlag.NOOUT: "noout",
    OsdStateFlag.STOP: "stop",
}


class MapFlag(enum.IntFlag):
    """CEPH_OSDMAP_* cluster flags."""

    NEARFULL = 1 << 0
    FULL = 1 << 1
    PAUSERD = 1 << 2
    PAUSEWR = 1 << 3
    PAUSEREC = 1 << 4
    NOUP = 1 << 5
    NODOWN = 1 << 6
    NOOUT = 1 << 7
    NOIN = 1 << 8
    NOBACKFILL = 1 << 9
    NORECOVER = 1 << 10
    NOSCRUB = 1 << 11
    NODEEP_SCRUB = 1 << 12
    NOTIERAGENT = 1 << 13
    NOREBALANCE = 1 << 14
    SORTBITWISE = 1 << 15
    REQUIRE_JEWEL = 1 << 16
    REQUIRE_KRAKEN = 1 << 17
    REQUIRE_LUMINOUS = 1 << 18
    RECOVERY_DELETES = 1 << 19
    PURGED_SNAPDIRS = 1 << 20
    NOSNAPTRIM = 1 << 21
    PGLOG_HARDLIMIT = 1 << 22
    NOAUTOSCALE = 1 << 23


MAP_FLAG_NAMES: dict[int, str] = {
    # In the order OSDMap::get_flag_string prints them.
    MapFlag.NEARFULL: "nearfull",
    MapFlag.FULL: "full",
    MapFlag.PAUSERD: "pauserd",
    MapFlag.PAUSEWR: "pausewr",
    MapFlag.PAUSEREC: "pauserec",
    MapFlag.NOUP: "noup",
    MapFlag.NODOWN: "nodown",
    MapFlag.NOOUT: "noout",
    MapFlag.NOIN: "noin",
    MapFlag.NOBACKFILL: "nobackfill",
    MapFlag.NOREBALANCE: "norebalance",
    MapFlag.NORECOVER: "norecover",
    MapFlag.NOSCRUB: "noscrub",
    MapFlag.NODEEP_SCRUB: "nodeep-scrub",
    MapFlag.NOTIERAGENT: "notieragent",
    MapFlag.NOSNAPTRIM: "nosnaptrim",
    MapFlag.SORTBITWISE: "sortbitwise",
    MapFlag.REQUIRE_JEWEL: "require_jewel_osds",
    MapFlag.REQUIRE_KRAKEN: "require_kraken_osds",
    MapFlag.REQUIRE_LUMINOUS: "require_luminous_osds",
    MapFlag.RECOVERY_DELETES: "recovery_deletes",
    MapFlag.PURGED_SNAPDIRS: "purged_snapdirs",
    MapFlag.PGLOG_HARDLIMIT: "pglog_hardlimit",
    MapFlag.NOAUTOSCALE: "noautoscale",
}


def map_flags_string(flags: int) -> str:
    """`OSDMap::get_flag_string`: the set flags by name, comma-joined."""
    return ",".join(name for flag, name in MAP_FLAG_NAMES.items() if flags & flag)


def osd_state_names(state: int) -> list[str]:
    """The names of the set state bits, sorted as Ceph's `set<string>` prints them."""
    return sorted(name for bit, name in OSD_STATE_NAMES.items() if state & bit)


@dataclass
class OsdInfo:
    """Everything the OSDMap records about one OSD id.

    `weight` is the 16.16 reweight (`osd_weight`, 0 = out) that CRUSH sees; the CRUSH
    weight of the device lives in the CRUSH map.
    """

    state: int = 0
    weight: int = WEIGHT_OUT
    primary_affinity: int = DEFAULT_PRIMARY_AFFINITY
    up_from: int = 0
    up_thru: int = 0
    down_at: int = 0
    last_clean_begin: int = 0
    last_clean_end: int = 0
    lost_at: int = 0
    uuid: str = ZERO_UUID
    public_addr: str = ""
    """`HOST:PORT` the OSD serves clients and peers on, as its last boot reported it;
    empty for an OSD that never booted (Ceph's `osd_addrs->client_addrs`)."""
    hb_addr: str = ""
    """`HOST:PORT` of the OSD's heartbeat listener, a connection apart from client and
    replication traffic (Ceph's `hb_back_addrs`); empty if it never said."""
    down_stamp: float = 0.0
    """When it was last marked down, seconds since the epoch; 0 never (Ceph's
    `osd_xinfo_t::down_stamp`)."""
    laggy_probability: float = 0.0
    """How likely a mark-down of it is a false alarm (`osd_xinfo_t`; radospy.mon.laggy)."""
    laggy_interval: int = 0
    """Seconds it stayed down when it was laggy, a moving average (`osd_xinfo_t`)."""

    def copy(self) -> OsdInfo:
        """A copy (every field is an immutable value); several times faster than
        `copy.copy`, and a map copy makes one per OSD."""
        new = object.__new__(OsdInfo)
        new.__dict__.update(self.__dict__)
        return new

    def to_dict(self, osd: int) -> dict[str, Any]:
        fields = {name: getattr(self, name) for name in _OSD_INFO_FIELDS}
        # Omitted when unset, so maps without addresses or laggy history encode as they
        # always did.
        for name in ("public_addr", "hb_addr", *_XINFO_FIELDS):
            if not fields[name]:
                del fields[name]
        return {"osd": osd, **fields}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> OsdInfo:
        return cls(**{name: d[name] for name in _OSD_INFO_FIELDS if name in d})


_OSD_INFO_FIELDS = (
    "state",
    "weight",
    "primary_affinity",
    "up_from",
    "up_thru",
    "down_at",
    "last_clean_begin",
    "last_clean_end",
    "lost_at",
    "uuid",
    "public_addr",
    "hb_addr",
    "down_stamp",
    "laggy_probability",
    "laggy_interval",
)
_XINFO_FIELDS = ("down_stamp", "laggy_probability", "laggy_interval")


@dataclass
class PgMapping:
    """Where a PG lives: the up set (what CRUSH and the upmaps say) and the acting set
    (what serves I/O, which `pg_temp` may override). A primary of -1 means none."""

    up: list[int]
    up_primary: int
    acting: list[int]
    acting_primary: int


@dataclass
class OSDMap:
    """A full OSDMap: epoch, cluster flags, per-OSD state, pools, CRUSH and overrides."""

    epoch: int = 0
    fsid: str = ZERO_UUID
    created: str = ""
    modified: str = ""
    flags: int = 0
    crush: CrushMap = field(default_factory=CrushMap)
    crush_version: int = 1
    osds: list[OsdInfo] = field(default_factory=list)
    """Indexed by OSD id; its length is `max_osd`."""
    pools: dict[int, Pool] = field(default_factory=dict)
    pool_max: int = 0
    erasure_code_profiles: dict[str, dict[str, str]] = field(default_factory=dict)
    pg_temp: dict[PgId, list[int]] = field(default_factory=dict)
    primary_temp: dict[PgId, int] = field(default_factory=dict)
    pg_upmap: dict[PgId, list[int]] = field(default_factory=dict)
    pg_upmap_items: dict[PgId, list[tuple[int, int]]] = field(default_factory=dict)
    full_ratio: float = 0.0
    backfillfull_ratio: float = 0.0
    nearfull_ratio: float = 0.0
    require_min_compat_client: str = ""
    """Empty means unknown (not printed)."""
    require_osd_release: str = ""
    """Empty means unknown (not printed)."""

    def copy(self, crush: bool = True) -> OSDMap:
        """A copy that shares no mutable part with this map, except the CRUSH map when
        `crush` is False; several times faster than `copy.deepcopy`."""
        new = copy.copy(self)
        new.crush = copy.deepcopy(self.crush) if crush else self.crush
        new.osds = [info.copy() for info in self.osds]
        new.pools = {pid: pool.copy() for pid, pool in self.pools.items()}
        new.erasure_code_profiles = {k: dict(v) for k, v in self.erasure_code_profiles.items()}
        new.pg_temp = {pg: list(osds) for pg, osds in self.pg_temp.items()}
        new.primary_temp = dict(self.primary_temp)
        new.pg_upmap = {pg: list(osds) for pg, osds in self.pg_upmap.items()}
        new.pg_upmap_items = {pg: list(pairs) for pg, pairs in self.pg_upmap_items.items()}
        return new

    # -- OSD state -------------------------------------------------------------------

    @property
    def max_osd(self) -> int:
        return len(self.osds)

    def set_max_osd(self, max_osd: int) -> None:
        """Grow (new ids do not exist and are out) or shrink the OSD table."""
        del self.osds[max_osd:]
        self.osds.extend(OsdInfo() for _ in range(max_osd - len(self.osds)))

    def exists(self, osd: int) -> bool:
        return 0 <= osd < len(self.osds) and bool(self.osds[osd].state & _EXISTS)

    def is_up(self, osd: int) -> bool:
        return 0 <= osd < len(self.osds) and self.osds[osd].state & _EXISTS_UP == _EXISTS_UP

    def is_down(self, osd: int) -> bool:
        return not self.is_up(osd)

    def is_in(self, osd: int) -> bool:
        return self.exists(osd) and self.osds[osd].weight != WEIGHT_OUT

    def is_out(self, osd: int) -> bool:
        return not self.is_in(osd)

    def _osd(self, osd: int) -> OsdInfo:
        if not 0 <= osd < len(self.osds):
            raise NotFound(f"osd.{osd} does not exist")
        return self.osds[osd]

    def create_osd(self, osd: int, uuid: str = ZERO_UUID) -> None:
        """Make an OSD id exist (state `exists,new`, down and out), growing `max_osd`."""
        if osd >= self.max_osd:
            self.set_max_osd(osd + 1)
        info = self._osd(osd)
        info.state |= OsdStateFlag.EXISTS | OsdStateFlag.NEW
        info.uuid = uuid

    def mark_up(self, osd: int) -> None:
        """Set the up bit (as `osdmaptool --mark-up`: it does not create the OSD)."""
        self._osd(osd).state |= OsdStateFlag.UP

    def mark_down(self, osd: int) -> None:
        self._osd(osd).state &= ~OsdStateFlag.UP

    def set_reweight(self, osd: int, weight: int) -> None:
        """Set the 16.16 reweight; like `OSDMap::set_weight`, a non-zero one implies exists."""
        info = self._osd(osd)
        info.weight = weight
        if weight:
            info.state |= OsdStateFlag.EXISTS

    def mark_in(self, osd: int) -> None:
        self.set_reweight(osd, WEIGHT_IN)

    def mark_out(self, osd: int) -> None:
        self.set_reweight(osd, WEIGHT_OUT)

    def set_primary_affinity(self, osd: int, affinity: int) -> None:
        """Set the 16.16 primary affinity (0 = never primary unless nobody else can be)."""
        self._osd(osd).primary_affinity = affinity

    # -- pools -----------------------------------------------------------------------

    def pool(self, pool_id: int) -> Pool:
        """The pool with this id; NotFound if there is none."""
        try:
            return self.pools[pool_id]
        except KeyError:
            raise NotFound(f"pool {pool_id} does not exist") from None

    def pool_by_name(self, name: str) -> Pool:
        """The pool with this name; NotFound if there is none."""
        for pool in self.pools.values():
            if pool.name == name:
                return pool
        raise NotFound(f"pool '{name}' does not exist")

    def add_pool(
        self,
        name: str,
        pg_num: int,
        pgp_num: int | None = None,
        *,
        pool_type: int = PoolType.REPLICATED,
        size: int = 3,
        min_size: int | None = None,
        crush_rule: int = 0,
        flags: int = PoolFlag.HASHPSPOOL,
        erasure_code_profile: str = "",
        stripe_width: int = 0,
        application: str | None = None,
        autoscale_mode: str = "on",
    ) -> Pool:
        """Create a pool with the next pool id (`pool_max + 1`); Exists if the name is taken."""
        if any(pool.name == name for pool in self.pools.values()):
            raise Exists(f"pool '{name}' already exists")
        self.pool_max += 1
        pool = Pool(
            id=self.pool_max,
            name=name,
            type=pool_type,
            size=size,
            min_size=default_min_size(size) if min_size is None else min_size,
            crush_rule=crush_rule,
            pg_num=pg_num,
            pgp_num=pg_num if pgp_num is None else pgp_num,
            flags=flags,
            erasure_code_profile=erasure_code_profile,
            stripe_width=stripe_width,
            application_metadata={application: {}} if application else {},
            last_change=self.epoch,
            autoscale_mode=autoscale_mode,
        )
        self.pools[pool.id] = pool
        return pool

    # -- object -> PG ----------------------------------------------------------------

    def object_locator_to_pg(
        self,
        pool_id: int,
        name: bytes | str,
        key: bytes | str = b"",
        namespace: bytes | str = b"",
        hash_position: int = -1,
    ) -> PgId:
        """The raw PG of an object (`object_locator_to_pg`).

        A non-negative `hash_position` (the locator's explicit hash) is used as the seed
        as is; otherwise the key (or the name) is hashed within its namespace.
        """
        pool = self.pool(pool_id)
        if hash_position >= 0:
            return PgId(pool_id, hash_position)
        return pool.object_locator_to_pg(name, key, namespace)

    def raw_pg_to_pg(self, pg: PgId) -> PgId:
        """Fold a raw PG into its pool's `pg_num`."""
        return self.pool(pg.pool).raw_pg_to_pg(pg)

    def object_to_pg(
        self,
        pool_id: int,
        name: bytes | str,
        key: bytes | str = b"",
        namespace: bytes | str = b"",
    ) -> PgId:
        """The (folded) PG an object lives in: what `osdmaptool --test-map-object` prints."""
        return self.raw_pg_to_pg(self.object_locator_to_pg(pool_id, name, key, namespace))

    # -- PG -> OSDs ------------------------------------------------------------------

    def crush_weights(self) -> list[int]:
        """The weight vector CRUSH gets: every OSD's reweight, indexed by id (out = 0)."""
        return [info.weight for info in self.osds]

    def _remove_nonexistent_osds(self, pool: Pool, osds: list[int]) -> list[int]:
        if pool.can_shift_osds():
            return [osd for osd in osds if self.exists(osd)]
        return [osd if self.exists(osd) else ITEM_NONE for osd in osds]

    def _pg_to_raw_osds(self, pool: Pool, pg: PgId) -> tuple[list[int], int]:
        """CRUSH's answer for a PG with nonexistent OSDs removed, and the placement seed."""
        pps = pool.raw_pg_to_pps(pg)
        # A missing rule maps to nothing; CRUSH falls back to the compat weight set
        # when the pool has none of its own.
        osds = do_rule(self.crush, pool.crush_rule, pps, pool.size, self.crush_weights(), pg.pool)
        return self._remove_nonexistent_osds(pool, osds), pps

    def _is_out_target(self, osd: int) -> bool:
        """An upmap target that is a valid OSD id marked out (ids past max_osd are not)."""
        return osd != ITEM_NONE and 0 <= osd < self.max_osd and self.osds[osd].weight == 0

    def _apply_upmap(self, pool: Pool, raw_pg: PgId, raw: list[int]) -> list[int]:
        pg = pool.raw_pg_to_pg(raw_pg)
        explicit = self.pg_upmap.get(pg)
        if explicit is not None:
            if any(self._is_out_target(osd) for osd in explicit):
                # An explicit mapping onto an out OSD is ignored entirely, items too.
                return raw
            raw = list(explicit)
        result = list(raw)
        for source, target in self.pg_upmap_items.get(pg, []):
            if target in result:
                continue
            if self._is_out_target(target):
                continue
            if source in result:
                result[result.index(source)] = target
        return result

    def _raw_to_up_osds(self, pool: Pool, raw: list[int]) -> list[int]:
        if pool.can_shift_osds():
            return [osd for osd in raw if self.is_up(osd)]
        return [osd if self.is_up(osd) else ITEM_NONE for osd in raw]

    @staticmethod
    def _pick_primary(osds: list[int]) -> int:
        return next((osd for osd in osds if osd != ITEM_NONE), -1)

    def _apply_primary_affinity(
        self, seed: int, pool: Pool, osds: list[int], primary: int
    ) -> tuple[list[int], int]:
        """Let OSDs with affinity < 1 decline the primary role for a share of their PGs."""
        members = [osd for osd in osds if osd != ITEM_NONE]
        if all(self.osds[osd].primary_affinity == DEFAULT_PRIMARY_AFFINITY for osd in members):
            return osds, primary
        pos = -1
        for i, osd in enumerate(osds):
            if osd == ITEM_NONE:
                continue
            affinity = self.osds[osd].primary_affinity
            declines = (
                affinity < DEFAULT_PRIMARY_AFFINITY
                and (crush_hash32_2(HASH_RJENKINS1, seed, osd) >> 16) >= affinity
            )
            if not declines:
                pos = i
                break
            if pos < 0:
                # Remember the first candidate in case every OSD declines.
                pos = i
        if pos < 0:
            return osds, primary
        primary = osds[pos]
        if pool.can_shift_osds() and pos > 0:
            osds = [primary, *osds[:pos], *osds[pos + 1 :]]
        return osds, primary

    def _get_temp_osds(self, pool: Pool, raw_pg: PgId) -> tuple[list[int], int]:
        pg = pool.raw_pg_to_pg(raw_pg)
        temp: list[int] = []
        for osd in self.pg_temp.get(pg, []):
            if self.is_up(osd):
                temp.append(osd)
            elif not pool.can_shift_osds():
                temp.append(ITEM_NONE)
        if pg in self.primary_temp:
            return temp, self.primary_temp[pg]
        return temp, self._pick_primary(temp)

    def pg_to_raw_osds(self, pg: PgId) -> tuple[list[int], int]:
        """CRUSH's OSDs for a PG (nonexistent ones removed) and their first as primary."""
        pool = self.pools.get(pg.pool)
        if pool is None:
            return [], -1
        raw, _ = self._pg_to_raw_osds(pool, pg)
        return raw, self._pick_primary(raw)

    def pg_to_raw_upmap(self, pg: PgId) -> tuple[list[int], list[int]]:
        """The raw OSDs of a PG, and the same after `pg_upmap` / `pg_upmap_items`."""
        pool = self.pools.get(pg.pool)
        if pool is None:
            return [], []
        raw, _ = self._pg_to_raw_osds(pool, pg)
        return raw, self._apply_upmap(pool, pg, raw)

    def _pg_to_up(self, pool: Pool, pg: PgId) -> tuple[list[int], int]:
        raw, pps = self._pg_to_raw_osds(pool, pg)
        up = self._raw_to_up_osds(pool, self._apply_upmap(pool, pg, raw))
        return self._apply_primary_affinity(pps, pool, up, self._pick_primary(up))

    def pg_to_up_acting_osds(self, pg: PgId) -> PgMapping:
        """Up and acting sets of a PG (raw or folded), as `osdmaptool --test-map-pg` shows."""
        pool = self.pools.get(pg.pool)
        if pool is None:
            return PgMapping([], -1, [], -1)
        up, up_primary = self._pg_to_up(pool, pg)
        acting, acting_primary = self._get_temp_osds(pool, pg)
        if not acting:
            acting = list(up)
            if acting_primary == -1:
                acting_primary = up_primary
        return PgMapping(up, up_primary, acting, acting_primary)

    # -- printing --------------------------------------------------------------------

    def min_compat_client(self) -> str:
        """`OSDMap::get_min_compat_client`: the oldest client release that can use this map."""
        features = self._client_features()
        for release, needs in _COMPAT_RELEASES:
            if features & needs:
                return release
        return "argonaut"

    def _client_features(self) -> int:
        features = self._crush_features()
        if self.pg_upmap or self.pg_upmap_items:
            features |= _Feature.PG_UPMAP
        for pool in self.pools.values():
            if pool.has_flag(PoolFlag.HASHPSPOOL):
                features |= _Feature.HASHPSPOOL
            rule = self.crush.rules.get(pool.crush_rule)
            ops = {step.op for step in rule.steps} if rule else set()
            if Op.SET_CHOOSELEAF_VARY_R in ops:
                features |= _Feature.TUNABLES3
            if Op.SET_CHOOSELEAF_STABLE in ops:
                features |= _Feature.TUNABLES5
        if any(info.primary_affinity != DEFAULT_PRIMARY_AFFINITY for info in self.osds):
            features |= _Feature.PRIMARY_AFFINITY
        return features

    def _crush_features(self) -> int:
        t = self.crush.tunables
        tries = (t.choose_local_tries, t.choose_local_fallback_tries, t.choose_total_tries)
        features = 0
        if tries != _LEGACY_TRIES:
            features |= _Feature.TUNABLES
        if t.chooseleaf_descend_once:
            features |= _Feature.TUNABLES2
        if t.chooseleaf_vary_r:
            features |= _Feature.TUNABLES3
        if t.chooseleaf_stable:
            features |= _Feature.TUNABLES5
        if any(b.alg == BucketAlg.STRAW2 for b in self.crush.buckets.values()):
            features |= _Feature.CRUSH_V4
        if self._has_incompat_choose_args():
            features |= _Feature.CHOOSE_ARGS
        return features

    def _has_incompat_choose_args(self) -> bool:
        """Only a compat weight set with one position and no ids is readable by jewel."""
        args = self.crush.choose_args
        if not args:
            return False
        if list(args) != [DEFAULT_CHOOSE_ARGS]:
            return True
        return any(len(arg.weight_set) > 1 or arg.ids for arg in args[DEFAULT_CHOOSE_ARGS].values())

    def print_osd_line(self, osd: int) -> str:
        """One `osd.N ...` line of `osdmaptool --print` (without the newline)."""
        info = self.osds[osd]
        line = f"osd.{osd}{' up  ' if self.is_up(osd) else ' down'}"
        line += f"{' in ' if self.is_in(osd) else ' out'} weight {_fixed_to_text(info.weight)}"
        if info.primary_affinity != DEFAULT_PRIMARY_AFFINITY:
            line += f" primary_affinity {_fixed_to_text(info.primary_affinity)}"
        line += (
            f" up_from {info.up_from} up_thru {info.up_thru} down_at {info.down_at}"
            f" last_clean_interval [{info.last_clean_begin},{info.last_clean_end})"
        )
        # Ceph prints the public and cluster address vectors here; we have none.
        line += "   " + ",".join(osd_state_names(info.state))
        if info.uuid != ZERO_UUID:
            line += f" {info.uuid}"
        return line

    def print_text(self) -> str:
        """`osdmaptool --print` / `OSDMap::print`, line for line."""
        lines = [
            f"epoch {self.epoch}",
            f"fsid {self.fsid}",
            f"created {self.created}",
            f"modified {self.modified}",
            f"flags {map_flags_string(self.flags)}",
            f"crush_version {self.crush_version}",
            f"full_ratio {self.full_ratio:g}",
            f"backfillfull_ratio {self.backfillfull_ratio:g}",
            f"nearfull_ratio {self.nearfull_ratio:g}",
        ]
        if self.require_min_compat_client:
            lines.append(f"require_min_compat_client {self.require_min_compat_client}")
        lines.append(f"min_compat_client {self.min_compat_client()}")
        if self.require_osd_release:
            lines.append(f"require_osd_release {self.require_osd_release}")
        lines += ["stretch_mode_enabled false", ""]
        lines += [
            f"pool {pid} '{self.pools[pid].name}' {self.pools[pid].describe()}"
            for pid in sorted(self.pools)
        ]
        lines += ["", f"max_osd {self.max_osd}"]
        lines += [self.print_osd_line(osd) for osd in range(self.max_osd) if self.exists(osd)]
        lines.append("")
        lines += [f"pg_upmap {pg} {_int_list(osds)}" for pg, osds in sorted(self.pg_upmap.items())]
        lines += [
            f"pg_upmap_items {pg} {_int_list([osd for pair in pairs for osd in pair])}"
            for pg, pairs in sorted(self.pg_upmap_items.items())
        ]
        lines += [f"pg_temp {pg} {_int_list(osds)}" for pg, osds in sorted(self.pg_temp.items())]
        lines += [f"primary_temp {pg} {osd}" for pg, osd in sorted(self.primary_temp.items())]
        return "\n".join(lines) + "\n"

    # -- construction ----------------------------------------------------------------

    @classmethod
    def build_simple(
        cls,
        num_osd: int,
        pg_bits: int = 6,
        pgp_bits: int = 6,
        with_default_pool: bool = False,
        pool_size: int = 3,
        hashpspool: bool = True,
        fsid: str = ZERO_UUID,
    ) -> OSDMap:
        """The map `osdmaptool --createsimple NUM_OSD` makes (`OSDMap::build_simple`).

        Epoch 0, `max_osd = num_osd` OSD ids that do not exist yet (down and out), the
        simple CRUSH map (every OSD in host 'localhost' in rack 'localrack' in root
        'default', rule 0 'replicated_rule') and, with `with_default_pool`, pool 1 'rbd'
        with `num_osd << pg_bits` PGs and `num_osd << pgp_bits` placement groups.
        """
        osdmap = cls(fsid=fsid, crush=build_simple_crush(num_osd))
        osdmap.set_max_osd(num_osd)
        osdmap.erasure_code_profiles["default"] = dict(DEFAULT_ERASURE_CODE_PROFILE)
        if with_default_pool:
            poolbase = num_osd if num_osd else 1
            osdmap.add_pool(
                "rbd",
                poolbase << pg_bits,
                poolbase << min(pgp_bits, pg_bits),
                size=pool_size,
                flags=PoolFlag.HASHPSPOOL if hashpspool else 0,
                application="rbd",
            )
        return osdmap

    # -- serialisation ---------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict of the whole map (our own format; CRUSH as a crushtool dump)."""
        return {
            "epoch": self.epoch,
            "fsid": self.fsid,
            "created": self.created,
            "modified": self.modified,
            "flags": self.flags,
            "crush_version": self.crush_version,
            "full_ratio": self.full_ratio,
            "backfillfull_ratio": self.backfillfull_ratio,
            "nearfull_ratio": self.nearfull_ratio,
            "require_min_compat_client": self.require_min_compat_client,
            "require_osd_release": self.require_osd_release,
            "max_osd": self.max_osd,
            "osds": [info.to_dict(osd) for osd, info in enumerate(self.osds)],
            "pool_max": self.pool_max,
            "pools": [self.pools[pid].to_dict() for pid in sorted(self.pools)],
            "erasure_code_profiles": {
                k: dict(v) for k, v in sorted(self.erasure_code_profiles.items())
            },
            "pg_temp": [
                {"pgid": str(pg), "osds": list(osds)} for pg, osds in sorted(self.pg_temp.items())
            ],
            "primary_temp": [
                {"pgid": str(pg), "osd": osd} for pg, osd in sorted(self.primary_temp.items())
            ],
            "pg_upmap": [
                {"pgid": str(pg), "osds": list(osds)} for pg, osds in sorted(self.pg_upmap.items())
            ],
            "pg_upmap_items": [
                {"pgid": str(pg), "mappings": [{"from": a, "to": b} for a, b in pairs]}
                for pg, pairs in sorted(self.pg_upmap_items.items())
            ],
            "crush": to_dump(self.crush),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> OSDMap:
        """Read what `to_dict` wrote."""
        osdmap = cls(
            epoch=int(d["epoch"]),
            fsid=str(d["fsid"]),
            created=str(d.get("created", "")),
            modified=str(d.get("modified", "")),
            flags=int(d.get("flags", 0)),
            crush=from_dump(d["crush"]),
            crush_version=int(d.get("crush_version", 1)),
            pool_max=int(d.get("pool_max", 0)),
            full_ratio=float(d.get("full_ratio", 0.0)),
            backfillfull_ratio=float(d.get("backfillfull_ratio", 0.0)),
            nearfull_ratio=float(d.get("nearfull_ratio", 0.0)),
            require_min_compat_client=str(d.get("require_min_compat_client", "")),
            require_osd_release=str(d.get("require_osd_release", "")),
            erasure_code_profiles={
                k: dict(v) for k, v in d.get("erasure_code_profiles", {}).items()
            },
        )
        osdmap.set_max_osd(int(d["max_osd"]))
        for entry in d.get("osds", []):
            osdmap.osds[int(entry["osd"])] = OsdInfo.from_dict(entry)
        for entry in d.get("pools", []):
            pool = Pool.from_dict(entry)
            osdmap.pools[pool.id] = pool
        osdmap.pg_temp = {PgId.parse(e["pgid"]): list(e["osds"]) for e in d.get("pg_temp", [])}
        osdmap.primary_temp = {
            PgId.parse(e["pgid"]): int(e["osd"]) for e in d.get("primary_temp", [])
        }
        osdmap.pg_upmap = {PgId.parse(e["pgid"]): list(e["osds"]) for e in d.get("pg_upmap", [])}
        osdmap.pg_upmap_items = {
            PgId.parse(e["pgid"]): [(int(m["from"]), int(m["to"])) for m in e["mappings"]]
            for e in d.get("pg_upmap_items", [])
        }
        return osdmap


class _Feature(enum.IntFlag):
    """The client-visible CEPH_FEATURE_* bits `get_min_compat_client` looks at."""

    TUNABLES = enum.auto()
    TUNABLES2 = enum.auto()
    TUNABLES3 = enum.auto()
    TUNABLES5 = enum.auto()
    CRUSH_V4 = enum.auto()
    CHOOSE_ARGS = enum.auto()
    PG_UPMAP = enum.auto()
    HASHPSPOOL = enum.auto()
    PRIMARY_AFFINITY = enum.auto()


_LEGACY_TRIES = (2, 5, 19)
"""choose_local_tries, choose_local_fallback_tries, choose_total_tries of argonaut."""

_COMPAT_RELEASES: tuple[tuple[str, int], ...] = (
    ("luminous", _Feature.PG_UPMAP | _Feature.CHOOSE_ARGS),
    ("jewel", _Feature.TUNABLES5),
    ("hammer", _Feature.CRUSH_V4),
    ("firefly", _Feature.PRIMARY_AFFINITY | _Feature.TUNABLES3),
    ("dumpling", _Feature.TUNABLES2 | _Feature.HASHPSPOOL),
    ("argonaut", _Feature.TUNABLES),
)
"""Newest first: the first release whose features the map uses is the minimum."""


def _fixed_to_text(value: int) -> str:
    """A 16.16 value as C++ `ostream << float` prints it (6 significant digits)."""
    return f"{value / 0x10000:g}"


def _int_list(values: list[int]) -> str:
    return "[" + ",".join(str(v) for v in values) + "]"


DEFAULT_ERASURE_CODE_PROFILE: dict[str, str] = {
    "k": "2",
    "m": "2",
    "plugin": "jerasure",
    "technique": "reed_sol_van",
}
"""`osd_pool_default_erasure_code_profile`, stored by build_simple as profile 'default'."""

_SIMPLE_CRUSH_TYPES = (
    "osd",
    "host",
    "chassis",
    "rack",
    "row",
    "pdu",
    "pod",
    "room",
    "datacenter",
    "zone",
    "region",
    "root",
)


def build_simple_crush(num_osd: int) -> CrushMap:
    """`OSDMap::build_simple_crush_map`: one host in one rack in root 'default'.

    Bucket ids follow the order CrushWrapper creates them (root first, then the host and
    rack `insert_item` adds for osd.0); every bucket is straw2 and the tunables are the
    jewel (optimal) profile a new CrushWrapper starts with.
    """
    cmap = CrushMap(
        tunables=Tunables(
            choose_local_tries=0,
            choose_local_fallback_tries=0,
            choose_total_tries=50,
            chooseleaf_descend_once=1,
            chooseleaf_vary_r=1,
            chooseleaf_stable=1,
            straw_calc_version=1,
            allowed_bucket_algs=ALL_BUCKET_ALGS,
        ),
        types=dict(enumerate(_SIMPLE_CRUSH_TYPES)),
        device_names={osd: f"osd.{osd}" for osd in range(num_osd)},
        max_devices=num_osd,
    )
    host_type, rack_type, root_type = 1, 3, len(_SIMPLE_CRUSH_TYPES) - 1
    osds = list(range(num_osd))
    host = _straw2_bucket(-2, "localhost", host_type, osds, [WEIGHT_ONE] * num_osd)
    buckets = [_straw2_bucket(-1, "default", root_type, [], [])]
    if num_osd:
        rack = _straw2_bucket(-3, "localrack", rack_type, [host.id], [host.weight])
        buckets[0] = _straw2_bucket(-1, "default", root_type, [rack.id], [rack.weight])
        buckets += [host, rack]
    cmap.buckets = {bucket.id: bucket for bucket in buckets}
    cmap.max_buckets = bucket_array_size(len(buckets))
    cmap.rules = {
        0: Rule(
            id=0,
            name="replicated_rule",
            type=RuleType.REPLICATED,
            min_size=1,
            max_size=10,
            steps=[
                RuleStep(Op.TAKE, -1),
                RuleStep(Op.CHOOSELEAF_FIRSTN, 0, host_type),
                RuleStep(Op.EMIT),
            ],
        )
    }
    return cmap


def _straw2_bucket(
    bucket_id: int, name: str, type_id: int, items: list[int], weights: list[int]
) -> Bucket:
    bucket = Bucket(
        id=bucket_id,
        name=name,
        type_id=type_id,
        alg=BucketAlg.STRAW2,
        items=list(items),
        item_weights=list(weights),
    )
    derive(bucket, straw_calc_version=1)
    return bucket
