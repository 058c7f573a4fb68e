"""`ceph osd tree` / `osdmaptool --tree`: the CRUSH hierarchy beside each OSD's state."""

from __future__ import annotations

from collections.abc import Collection

from radospy.crush import treedump
from radospy.crush.map import WEIGHT_ONE
from radospy.osdmap.osdmap import OSDMap, OsdStateFlag

TREE_STATES = ("up", "down", "in", "out", "destroyed")
"""The states `ceph osd tree` can be limited to."""


def tree_text(osdmap: OSDMap, states: Collection[str] = ()) -> str:
    """`ceph osd tree [STATES...]`: the CRUSH hierarchy plus STATUS, REWEIGHT and PRI-AFF,
    then the OSDs CRUSH does not place (strays) at depth 0; see `tree_items` for
    `states`."""
    cmap = osdmap.crush
    names = {pid: pool.name for pid, pool in osdmap.pools.items()}
    columns = treedump.base_columns(cmap, names)
    columns += [
        treedump.Column(heading, treedump.Align.LEFT, treedump.Align.RIGHT)
        for heading in ("STATUS", "REWEIGHT", "PRI-AFF")
    ]
    table = treedump.TextTable(columns)
    keys = sorted(cmap.choose_args)
    for item in tree_items(osdmap, states):
        table.add_row(_tree_row(osdmap, item, keys))
    return table.render()


def tree_items(osdmap: OSDMap, states: Collection[str] = ()) -> list[treedump.Item]:
    """The rows of the tree: CRUSH's walk (no shadow buckets), then the stray OSDs.

    With `states` (names from TREE_STATES), only the OSDs in any of them and the buckets
    above such an OSD (Ceph's `should_dump`: empty buckets go too)."""
    items = list(treedump.walk(osdmap.crush, show_shadow=False))
    placed = {item.id for item in items}
    items += [
        treedump.Item(osd, 0, 0, 0)
        for osd in range(osdmap.max_osd)
        if osdmap.exists(osd) and osd not in placed
    ]
    if not states:
        return items
    return [item for item in items if shown(osdmap, item.id, states)]


def shown(osdmap: OSDMap, item: int, states: Collection[str]) -> bool:
    """Whether `osd tree STATES` shows CRUSH item `item` (every item without states)."""
    if not states:
        return True
    if item >= 0:
        return osdmap.exists(item) and any(_in_state(osdmap, item, s) for s in states)
    bucket = osdmap.crush.buckets.get(item)
    return bucket is not None and any(shown(osdmap, child, states) for child in bucket.items)


def _in_state(osdmap: OSDMap, osd: int, state: str) -> bool:
    if state == "up":
        return osdmap.is_up(osd)
    if state == "down":
        return not osdmap.is_up(osd)
    if state == "in":
        return osdmap.is_in(osd)
    if state == "out":
        return osdmap.is_out(osd)
    return bool(osdmap.osds[osd].state & OsdStateFlag.DESTROYED)


def osd_status(osdmap: OSDMap, osd: int) -> str:
    """The STATUS column of `osd tree`: up, destroyed (down and destroyed) or down."""
    if osdmap.is_up(osd):
        return "up"
    return "destroyed" if osdmap.osds[osd].state & OsdStateFlag.DESTROYED else "down"


def _tree_row(osdmap: OSDMap, item: treedump.Item, keys: list[int]) -> list[str]:
    cmap = osdmap.crush
    cells = [
        str(item.id),
        treedump.class_cell(cmap, item.id),
        treedump.weightf(item.weight),
        *treedump.choose_args_cells(cmap, item, keys),
        treedump.type_name_cell(cmap, item),
    ]
    if item.id >= 0:
        if not osdmap.exists(item.id):
            cells += ["DNE", "0"]
        else:
            info = osdmap.osds[item.id]
            cells += [
                osd_status(osdmap, item.id),
                treedump.weightf_float(info.weight / WEIGHT_ONE),
                treedump.weightf_float(info.primary_affinity / WEIGHT_ONE),
            ]
    return cells
