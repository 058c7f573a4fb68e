"""What PG placement reads from an OSDMap, to tell when two maps place every PG alike.

`OSDMap.pg_to_up_acting_osds` reads the CRUSH map, each OSD's existence, up state,
reweight and primary affinity, each pool's placement fields (type, size, CRUSH rule,
``pg_num``, ``pgp_num``, the ``hashpspool`` flag) and the override tables (``pg_temp``,
``primary_temp``, ``pg_upmap``, ``pg_upmap_items``). Most epochs change none of these:
an ``up_thru``, an address, a cluster or pool flag (full, noout), a quota. An OSD that
walks every epoch it missed (hundreds after a restart) then need not place every PG again
for each of them.
"""

from __future__ import annotations

from radospy.osdmap.osdmap import OsdInfo, OSDMap, OsdStateFlag
from radospy.osdmap.pool import Pool, PoolFlag

_PLACING_STATE = OsdStateFlag.EXISTS | OsdStateFlag.UP
"""The state bits placement reads (`OSDMap.exists`, `OSDMap.is_up`)."""


def _osd_key(info: OsdInfo) -> tuple[int, int, int]:
    return info.state & _PLACING_STATE, info.weight, info.primary_affinity


def _pool_key(pool: Pool) -> tuple[int, int, int, int, int, int]:
    return (
        pool.type,
        pool.size,
        pool.crush_rule,
        pool.pg_num,
        pool.pgp_num,
        pool.flags & PoolFlag.HASHPSPOOL,
    )


def placement_unchanged(old: OSDMap, new: OSDMap) -> bool:
    """Whether ``new`` places every PG of every pool exactly as ``old`` does (same up
    and acting sets and primaries): True only when nothing placement reads differs."""
    if new.crush is not old.crush and new.crush != old.crush:
        return False
    if len(new.osds) != len(old.osds):
        return False
    if any(
        a is not b and _osd_key(a) != _osd_key(b) for a, b in zip(old.osds, new.osds, strict=True)
    ):
        return False
    if new.pools.keys() != old.pools.keys():
        return False
    if any(
        pool is not old.pools[pid] and _pool_key(pool) != _pool_key(old.pools[pid])
        for pid, pool in new.pools.items()
    ):
        return False
    return (
        new.pg_temp == old.pg_temp
        and new.primary_temp == old.primary_temp
        and new.pg_upmap == old.pg_upmap
        and new.pg_upmap_items == old.pg_upmap_items
    )
