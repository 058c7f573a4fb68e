"""Text lines Ceph prints about placements, shared by the tools and the monitor.

`osd_map_line` is the answer of `ceph osd map POOL OBJECT`:

    osdmap e537 pool 'mytest' (1) object 'test-object-1' -> pg 1.d1743484 (1.4)
    -> up ([1,0], p1) acting ([1,0], p1)

(one line), with the raw PG (the full object hash as seed) first and the PG it folds
into in parentheses. An object in a namespace prints as `NAMESPACE/NAME`.
"""

from __future__ import annotations

from radospy.osdmap.osdmap import OSDMap
from radospy.osdmap.pg import PgId


def osd_list(osds: list[int]) -> str:
    """An OSD vector as Ceph prints it: `[1,0,2147483647]`."""
    return "[" + ",".join(str(o) for o in osds) + "]"


def format_osd_map(
    epoch: int,
    pool_name: str,
    pool_id: int,
    object_name: str,
    raw_pg: PgId,
    pg: PgId,
    up: list[int],
    up_primary: int,
    acting: list[int],
    acting_primary: int,
    namespace: str = "",
) -> str:
    """The `ceph osd map` line from already computed parts (no trailing newline)."""
    full_name = f"{namespace}/{object_name}" if namespace else object_name
    return (
        f"osdmap e{epoch} pool '{pool_name}' ({pool_id}) object '{full_name}' ->"
        f" pg {raw_pg} ({pg})"
        f" -> up ({osd_list(up)}, p{up_primary}) acting ({osd_list(acting)}, p{acting_primary})"
    )


def osd_map_line(osdmap: OSDMap, pool_id: int, object_name: str, namespace: str = "") -> str:
    """`ceph osd map` for `object_name` in pool `pool_id` of `osdmap`.

    Raises NotFound (from `OSDMap.pool`) when the pool does not exist.
    """
    pool = osdmap.pool(pool_id)
    raw_pg = osdmap.object_locator_to_pg(pool_id, object_name, namespace=namespace)
    pg = osdmap.raw_pg_to_pg(raw_pg)
    mapping = osdmap.pg_to_up_acting_osds(pg)
    return format_osd_map(
        osdmap.epoch,
        pool.name,
        pool_id,
        object_name,
        raw_pg,
        pg,
        mapping.up,
        mapping.up_primary,
        mapping.acting,
        mapping.acting_primary,
        namespace,
    )
