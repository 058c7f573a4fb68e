"""Pools (`pg_pool_t`): PG counts, flags, and object -> PG arithmetic.

A pool turns an object name into a *raw* PG (the full 32-bit name hash as the seed),
folds it into `pg_num` (`raw_pg_to_pg`) and computes the CRUSH input of a PG
(`raw_pg_to_pps`), exactly as `osd_types.cc` does.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from radospy.common.errors import InvalidArgument
from radospy.crush.hash import crush_hash32_2
from radospy.crush.map import HASH_RJENKINS1
from radospy.osdmap.hash import StrHash, ceph_str_hash, str_hash_name
from radospy.osdmap.pg import PgId, ceph_stable_mod, pg_num_mask

_MASK32 = 0xFFFFFFFF
NAMESPACE_SEPARATOR = b"\x1f"
"""Ceph joins a namespace and a key with '\\037' before hashing."""


class PoolType(enum.IntEnum):
    """`pg_pool_t::TYPE_*`."""

    REPLICATED = 1
    ERASURE = 3


class PoolFlag(enum.IntFlag):
    """`pg_pool_t::FLAG_*` (Pacific)."""

    HASHPSPOOL = 1 << 0
    FULL = 1 << 1
    EC_OVERWRITES = 1 << 2
    INCOMPLETE_CLONES = 1 << 3
    NODELETE = 1 << 4
    NOPGCHANGE = 1 << 5
    NOSIZECHANGE = 1 << 6
    WRITE_FADVISE_DONTNEED = 1 << 7
    NOSCRUB = 1 << 8
    NODEEP_SCRUB = 1 << 9
    FULL_QUOTA = 1 << 10
    NEARFULL = 1 << 11
    BACKFILLFULL = 1 << 12
    SELFMANAGED_SNAPS = 1 << 13
    POOL_SNAPS = 1 << 14
    CREATING = 1 << 15
    EIO = 1 << 16
    BULK = 1 << 17


POOL_FLAG_NAMES: dict[int, str] = {
    PoolFlag.HASHPSPOOL: "hashpspool",
    PoolFlag.FULL: "full",
    PoolFlag.EC_OVERWRITES: "ec_overwrites",
    PoolFlag.INCOMPLETE_CLONES: "incomplete_clones",
    PoolFlag.NODELETE: "nodelete",
    PoolFlag.NOPGCHANGE: "nopgchange",
    PoolFlag.NOSIZECHANGE: "nosizechange",
    PoolFlag.WRITE_FADVISE_DONTNEED: "write_fadvise_dontneed",
    PoolFlag.NOSCRUB: "noscrub",
    PoolFlag.NODEEP_SCRUB: "nodeep-scrub",
    PoolFlag.FULL_QUOTA: "full_quota",
    PoolFlag.NEARFULL: "nearfull",
    PoolFlag.BACKFILLFULL: "backfillfull",
    PoolFlag.SELFMANAGED_SNAPS: "selfmanaged_snaps",
    PoolFlag.POOL_SNAPS: "pool_snaps",
    PoolFlag.CREATING: "creating",
    PoolFlag.EIO: "eio",
    PoolFlag.BULK: "bulk",
}


_TYPE_NAMES: dict[int, str] = {PoolType.REPLICATED: "replicated", PoolType.ERASURE: "erasure"}


def pool_flags_string(flags: int) -> str:
    """`pg_pool_t::get_flags_string`: set flags by name, lowest bit first, comma-joined."""
    names = []
    for bit in range(64):
        if flags & (1 << bit):
            names.append(POOL_FLAG_NAMES.get(1 << bit, "???"))
    return ",".join(names)


def pool_flag_by_name(name: str) -> int:
    """`pg_pool_t::get_flag_by_name`; InvalidArgument for an unknown name."""
    for flag, flag_name in POOL_FLAG_NAMES.items():
        if flag_name == name:
            return flag
    raise InvalidArgument(f"unknown pool flag '{name}'")


def default_min_size(size: int) -> int:
    """`osd_pool_default_min_size` = 0 means `size - size / 2`."""
    return size - size // 2


@dataclass
class Pool:
    """One pool of an OSDMap, with the fields `osdmaptool --print` and placement use."""

    id: int
    name: str
    type: int = PoolType.REPLICATED
    size: int = 3
    min_size: int = 2
    crush_rule: int = 0
    object_hash: int = StrHash.RJENKINS
    pg_num: int = 8
    pgp_num: int = 8
    pg_num_target: int | None = None
    """Where `pg_num` is heading; None means it is there (printed only when it differs)."""
    pgp_num_target: int | None = None
    """Where `pgp_num` is heading; None means it is there."""
    flags: int = PoolFlag.HASHPSPOOL
    erasure_code_profile: str = ""
    application_metadata: dict[str, dict[str, str]] = field(default_factory=dict)
    stripe_width: int = 0
    quota_max_bytes: int = 0
    quota_max_objects: int = 0
    last_change: int = 0
    autoscale_mode: str = "on"

    def copy(self) -> Pool:
        """A copy sharing nothing mutable with this pool."""
        # Not copy.copy: its __reduce_ex__ round trip costs several times more.
        new = object.__new__(Pool)
        new.__dict__.update(self.__dict__)
        new.application_metadata = {k: dict(v) for k, v in self.application_metadata.items()}
        return new

    @property
    def pg_num_mask(self) -> int:
        return pg_num_mask(self.pg_num)

    @property
    def pgp_num_mask(self) -> int:
        return pg_num_mask(self.pgp_num)

    @property
    def is_erasure(self) -> bool:
        return self.type == PoolType.ERASURE

    @property
    def type_name(self) -> str:
        return _TYPE_NAMES.get(self.type, "???")

    def can_shift_osds(self) -> bool:
        """Replicated sets may close gaps; erasure shards are positional."""
        return self.type == PoolType.REPLICATED

    def has_flag(self, flag: int) -> bool:
        return bool(self.flags & flag)

    def set_flag(self, flag: int) -> None:
        self.flags |= flag

    def unset_flag(self, flag: int) -> None:
        self.flags &= ~flag

    def hash_key(self, key: bytes | str, namespace: bytes | str = b"") -> int:
        """`pg_pool_t::hash_key`: hash `namespace + '\\037' + key`, or `key` alone."""
        key_bytes = _as_bytes(key)
        ns_bytes = _as_bytes(namespace)
        if ns_bytes:
            key_bytes = ns_bytes + NAMESPACE_SEPARATOR + key_bytes
        return ceph_str_hash(self.object_hash, key_bytes)

    def object_locator_to_pg(
        self, name: bytes | str, key: bytes | str = b"", namespace: bytes | str = b""
    ) -> PgId:
        """The raw PG of an object: a locator key, when given, is hashed instead of the name."""
        return PgId(self.id, self.hash_key(key if key else name, namespace))

    def raw_pg_to_pg(self, pg: PgId) -> PgId:
        """Fold a raw PG's seed into `[0, pg_num)`."""
        return PgId(pg.pool, ceph_stable_mod(pg.seed, self.pg_num, self.pg_num_mask))

    def raw_pg_to_pps(self, pg: PgId) -> int:
        """The placement seed handed to CRUSH for a (raw) PG, using `pgp_num`."""
        seed = ceph_stable_mod(pg.seed, self.pgp_num, self.pgp_num_mask)
        if self.flags & PoolFlag.HASHPSPOOL:
            return crush_hash32_2(HASH_RJENKINS1, seed, pg.pool & _MASK32)
        # Legacy pools add the pool id, so their PGs overlap those of other pools.
        return (seed + pg.pool) & _MASK32

    def describe(self) -> str:
        """The text after `pool ID 'NAME' ` in `osdmaptool --print` (`operator<<`)."""
        parts = [self.type_name]
        if self.is_erasure:
            parts.append(f"profile {self.erasure_code_profile}")
        parts += [
            f"size {self.size}",
            f"min_size {self.min_size}",
            f"crush_rule {self.crush_rule}",
            f"object_hash {str_hash_name(self.object_hash)}",
            f"pg_num {self.pg_num}",
            f"pgp_num {self.pgp_num}",
        ]
        if self.pg_num_target not in (None, self.pg_num):
            parts.append(f"pg_num_target {self.pg_num_target}")
        if self.pgp_num_target not in (None, self.pgp_num):
            parts.append(f"pgp_num_target {self.pgp_num_target}")
        parts += [f"autoscale_mode {self.autoscale_mode}", f"last_change {self.last_change}"]
        if self.flags:
            parts.append(f"flags {pool_flags_string(self.flags)}")
        if self.quota_max_bytes:
            parts.append(f"max_bytes {self.quota_max_bytes}")
        if self.quota_max_objects:
            parts.append(f"max_objects {self.quota_max_objects}")
        parts.append(f"stripe_width {self.stripe_width}")
        if self.application_metadata:
            parts.append("application " + ",".join(sorted(self.application_metadata)))
        return " ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict; keys follow `ceph osd dump` where Ceph has the field."""
        return {
            "pool": self.id,
            "pool_name": self.name,
            "type": int(self.type),
            "size": self.size,
            "min_size": self.min_size,
            "crush_rule": self.crush_rule,
            "object_hash": int(self.object_hash),
            "pg_num": self.pg_num,
            "pg_placement_num": self.pgp_num,
            "pg_num_target": self.pg_num_target,
            "pg_placement_num_target": self.pgp_num_target,
            "flags": int(self.flags),
            "flags_names": pool_flags_string(self.flags),
            "erasure_code_profile": self.erasure_code_profile,
            "application_metadata": {k: dict(v) for k, v in self.application_metadata.items()},
            "stripe_width": self.stripe_width,
            "quota_max_bytes": self.quota_max_bytes,
            "quota_max_objects": self.quota_max_objects,
            "last_change": self.last_change,
            "pg_autoscale_mode": self.autoscale_mode,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Pool:
        """Read `to_dict` output, or a `ceph osd dump` pool entry (missing keys default)."""
        return cls(
            id=int(d["pool"]),
            name=str(d["pool_name"]),
            type=int(d.get("type", PoolType.REPLICATED)),
            size=int(d.get("size", 3)),
            min_size=int(d.get("min_size", 2)),
            crush_rule=int(d.get("crush_rule", 0)),
            object_hash=int(d.get("object_hash", StrHash.RJENKINS)),
            pg_num=int(d["pg_num"]),
            pgp_num=int(d["pg_placement_num"]),
            pg_num_target=_opt_int(d.get("pg_num_target")),
            pgp_num_target=_opt_int(d.get("pg_placement_num_target")),
            flags=int(d.get("flags", 0)),
            erasure_code_profile=str(d.get("erasure_code_profile", "")),
            application_metadata={k: dict(v) for k, v in d.get("application_metadata", {}).items()},
            stripe_width=int(d.get("stripe_width", 0)),
            quota_max_bytes=int(d.get("quota_max_bytes", 0)),
            quota_max_objects=int(d.get("quota_max_objects", 0)),
            last_change=int(d.get("last_change", 0)),
            autoscale_mode=str(d.get("pg_autoscale_mode", "on")),
        )


def _as_bytes(value: bytes | str) -> bytes:
    return value.encode() if isinstance(value, str) else value


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)
